package receiver

import (
	"context"
	"errors"
	"strings"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/gzip" // OTLP/gRPC exporters may compress with gzip
	grpcproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/auth"
)

// RegisterGRPC registers the OTLP/gRPC trace, log and metric services on s, which
// must have been made with GRPCServerOption. gRPC's own limits apply
// (grpc.MaxRecvMsgSize, default 4 MiB); gzip is accepted.
//
// The services decode their requests themselves, after the interceptors:
// gRPC answers a message its codec cannot decode with Internal, a server
// fault that exporters may report and retry, when a malformed export is
// the client's to fix (InvalidArgument, which they drop). It also spares
// decoding a request that authentication refuses.
func (r *Receiver) RegisterGRPC(s *grpc.Server) {
	s.RegisterService(&traceServiceDesc, r)
	s.RegisterService(&logsServiceDesc, r)
	s.RegisterService(&metricsServiceDesc, r)
}

// GRPCServerOption is the option the gRPC server given to RegisterGRPC
// must be made with: its codec hands the OTLP services their requests'
// bytes undecoded, and is gRPC's protobuf codec for every other message.
func GRPCServerOption() grpc.ServerOption {
	return grpc.ForceServerCodecV2(rawCodec{})
}

// rawMessage is a message's bytes, passed through by rawCodec.
type rawMessage struct{ b []byte }

// rawCodec passes rawMessages through as they are and leaves every other
// message to gRPC's protobuf codec.
type rawCodec struct{}

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	if m, ok := v.(*rawMessage); ok {
		return mem.BufferSlice{mem.SliceBuffer(m.b)}, nil
	}
	return encoding.GetCodecV2(grpcproto.Name).Marshal(v)
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if m, ok := v.(*rawMessage); ok {
		// A copy: gRPC frees data once this returns.
		m.b = data.Materialize()
		return nil
	}
	return encoding.GetCodecV2(grpcproto.Name).Unmarshal(data, v)
}

func (rawCodec) Name() string { return grpcproto.Name }

// The OTLP services, as their generated code describes them, with handlers
// that decode the request themselves.
var (
	traceServiceDesc = grpc.ServiceDesc{
		ServiceName: "opentelemetry.proto.collector.trace.v1.TraceService",
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{MethodName: "Export", Handler: exportHandler(
			"/opentelemetry.proto.collector.trace.v1.TraceService/Export", (*Receiver).grpcTraces)}},
		Metadata: "opentelemetry/proto/collector/trace/v1/trace_service.proto",
	}
	logsServiceDesc = grpc.ServiceDesc{
		ServiceName: "opentelemetry.proto.collector.logs.v1.LogsService",
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{MethodName: "Export", Handler: exportHandler(
			"/opentelemetry.proto.collector.logs.v1.LogsService/Export", (*Receiver).grpcLogs)}},
		Metadata: "opentelemetry/proto/collector/logs/v1/logs_service.proto",
	}
	metricsServiceDesc = grpc.ServiceDesc{
		ServiceName: "opentelemetry.proto.collector.metrics.v1.MetricsService",
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{MethodName: "Export", Handler: exportHandler(
			"/opentelemetry.proto.collector.metrics.v1.MetricsService/Export", (*Receiver).grpcMetrics)}},
		Metadata: "opentelemetry/proto/collector/metrics/v1/metrics_service.proto",
	}
)

// exportHandler is a gRPC method handler that reads the request's bytes,
// runs the interceptors, then export.
func exportHandler(method string, export func(*Receiver, context.Context, []byte) ([]byte, error)) func(any, context.Context, func(any) error, grpc.UnaryServerInterceptor) (any, error) {
	return func(srv any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
		in := new(rawMessage)
		if err := dec(in); err != nil {
			return nil, err
		}
		r := srv.(*Receiver)
		handle := func(ctx context.Context, req any) (any, error) {
			out, err := export(r, ctx, req.(*rawMessage).b)
			if err != nil {
				return nil, err
			}
			return &rawMessage{b: out}, nil
		}
		if ic == nil {
			return handle(ctx, in)
		}
		return ic(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: method}, handle)
	}
}

// decodeError is the gRPC error of an export that cannot be decoded.
func decodeError(err error) error {
	return status.Error(codes.InvalidArgument, strings.ToValidUTF8("cannot decode the OTLP request: "+err.Error(), "\uFFFD"))
}

// grpcTraces serves one OTLP/gRPC trace export.
func (r *Receiver) grpcTraces(ctx context.Context, body []byte) ([]byte, error) {
	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalProto(body); err != nil {
		return nil, decodeError(err)
	}
	rejected, msg, err := r.exportTraces(ctx, req)
	if err != nil {
		return nil, GRPCError(err)
	}
	resp := ptraceotlp.NewExportResponse()
	if rejected > 0 {
		resp.PartialSuccess().SetRejectedSpans(int64(rejected))
		resp.PartialSuccess().SetErrorMessage(msg)
	}
	return resp.MarshalProto()
}

// grpcLogs serves one OTLP/gRPC log export.
func (r *Receiver) grpcLogs(ctx context.Context, body []byte) ([]byte, error) {
	req := plogotlp.NewExportRequest()
	if err := req.UnmarshalProto(body); err != nil {
		return nil, decodeError(err)
	}
	rejected, msg, err := r.exportLogs(ctx, req)
	if err != nil {
		return nil, GRPCError(err)
	}
	resp := plogotlp.NewExportResponse()
	if rejected > 0 {
		resp.PartialSuccess().SetRejectedLogRecords(int64(rejected))
		resp.PartialSuccess().SetErrorMessage(msg)
	}
	return resp.MarshalProto()
}

// grpcMetrics serves one OTLP/gRPC metric export.
func (r *Receiver) grpcMetrics(ctx context.Context, body []byte) ([]byte, error) {
	req := pmetricotlp.NewExportRequest()
	if err := req.UnmarshalProto(body); err != nil {
		return nil, decodeError(err)
	}
	rejected, msg, err := r.exportMetrics(ctx, req)
	if err != nil {
		return nil, GRPCError(err)
	}
	resp := pmetricotlp.NewExportResponse()
	if rejected > 0 {
		resp.PartialSuccess().SetRejectedDataPoints(int64(rejected))
		resp.PartialSuccess().SetErrorMessage(msg)
	}
	return resp.MarshalProto()
}

// grpcCodes is the one table of gRPC codes: what each analytics error code
// is answered with over gRPC (and in the google.rpc.Status bodies of
// OTLP/HTTP). OTLP exporters retry Unavailable and drop the rest. A code
// that is not here is Internal.
var grpcCodes = map[string]codes.Code{
	analytics.EInvalid:      codes.InvalidArgument,
	analytics.ETooLarge:     codes.ResourceExhausted,
	analytics.EUnauthorized: codes.Unauthenticated,
	// An ingest key bound to another app (analytics.ApplyBoundApp).
	analytics.EForbidden:   codes.PermissionDenied,
	analytics.EUnavailable: codes.Unavailable,
}

// grpcCode returns the gRPC code of an analytics error code.
func grpcCode(code string) codes.Code {
	if c, ok := grpcCodes[code]; ok {
		return c
	}
	return codes.Internal
}

// GRPCError turns an error of ingest, of the sink or of a check before
// either into the gRPC status error it is answered with: its code from the
// table, its message as it is; a canceled call is Canceled.
func GRPCError(err error) error {
	if errors.Is(err, context.Canceled) {
		return status.Error(codes.Canceled, "canceled")
	}
	return status.Error(grpcCode(analytics.ErrorCode(err)), analytics.ErrorMessage(err))
}

// Authenticator checks the raw ingest key a request carried ("" for
// none) and returns the context to serve the request with; an
// EUnauthorized error refuses it. auth.Ingest is one.
type Authenticator interface {
	Authenticate(ctx context.Context, key string) (context.Context, error)
}

// AuthInterceptor returns a gRPC interceptor that authenticates every call
// with the key its "authorization: Bearer …" or "x-api-key" metadata
// carries, for the OTLP/gRPC server. A call refused is Unauthenticated; a
// key that cannot be checked (the store failed) is Unavailable.
func AuthInterceptor(a Authenticator) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		md, _ := metadata.FromIncomingContext(ctx)
		ctx, err := a.Authenticate(ctx, auth.KeyFromHeaders(first(md, "authorization"), first(md, "x-api-key")))
		if err != nil {
			if analytics.ErrorCode(err) != analytics.EUnauthorized {
				err = analytics.Errorf(analytics.EUnavailable, "cannot check the ingest key now")
			}
			return nil, GRPCError(err)
		}
		return handler(ctx, req)
	}
}

func first(md metadata.MD, key string) string {
	if v := md.Get(key); len(v) > 0 {
		return v[0]
	}
	return ""
}

// LimitInterceptor returns a gRPC interceptor that lets a call in only
// when admit does, answering admit's error otherwise, and calls the
// release admit returned once the call is done: the OTLP/gRPC side of a
// limit on the ingest requests served at once.
func LimitInterceptor(admit func() (release func(), err error)) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		release, err := admit()
		if err != nil {
			return nil, GRPCError(err)
		}
		defer release()
		return handler(ctx, req)
	}
}
