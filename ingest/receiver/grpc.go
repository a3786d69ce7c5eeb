package receiver

import (
	"context"
	"errors"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	_ "google.golang.org/grpc/encoding/gzip" // OTLP/gRPC exporters may compress with gzip
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/auth"
)

// RegisterGRPC registers the OTLP/gRPC trace, log and metric services on s. gRPC's
// own limits apply (grpc.MaxRecvMsgSize, default 4 MiB); gzip is accepted.
func (r *Receiver) RegisterGRPC(s *grpc.Server) {
	ptraceotlp.RegisterGRPCServer(s, &traceServer{r: r})
	plogotlp.RegisterGRPCServer(s, &logServer{r: r})
	pmetricotlp.RegisterGRPCServer(s, &metricServer{r: r})
}

type traceServer struct {
	ptraceotlp.UnimplementedGRPCServer
	r *Receiver
}

// Export receives one OTLP/gRPC trace export.
func (s *traceServer) Export(ctx context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	resp := ptraceotlp.NewExportResponse()
	rejected, msg, err := s.r.exportTraces(ctx, req)
	if err != nil {
		return resp, GRPCError(err)
	}
	if rejected > 0 {
		resp.PartialSuccess().SetRejectedSpans(int64(rejected))
		resp.PartialSuccess().SetErrorMessage(msg)
	}
	return resp, nil
}

type logServer struct {
	plogotlp.UnimplementedGRPCServer
	r *Receiver
}

// Export receives one OTLP/gRPC log export.
func (s *logServer) Export(ctx context.Context, req plogotlp.ExportRequest) (plogotlp.ExportResponse, error) {
	resp := plogotlp.NewExportResponse()
	rejected, msg, err := s.r.exportLogs(ctx, req)
	if err != nil {
		return resp, GRPCError(err)
	}
	if rejected > 0 {
		resp.PartialSuccess().SetRejectedLogRecords(int64(rejected))
		resp.PartialSuccess().SetErrorMessage(msg)
	}
	return resp, nil
}

type metricServer struct {
	pmetricotlp.UnimplementedGRPCServer
	r *Receiver
}

// Export receives one OTLP/gRPC metric export.
func (s *metricServer) Export(ctx context.Context, req pmetricotlp.ExportRequest) (pmetricotlp.ExportResponse, error) {
	resp := pmetricotlp.NewExportResponse()
	rejected, msg, err := s.r.exportMetrics(ctx, req)
	if err != nil {
		return resp, GRPCError(err)
	}
	if rejected > 0 {
		resp.PartialSuccess().SetRejectedDataPoints(int64(rejected))
		resp.PartialSuccess().SetErrorMessage(msg)
	}
	return resp, nil
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
