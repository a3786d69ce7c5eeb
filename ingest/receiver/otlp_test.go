package receiver

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	statuspb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/ingest/testfixtures"
)

// sliceSink keeps what it is given.
type sliceSink struct {
	mu   sync.Mutex
	recs []*analytics.Record
	err  error
}

func (s *sliceSink) Insert(_ context.Context, recs []*analytics.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.recs = append(s.recs, recs...)
	return nil
}

func (s *sliceSink) records() []*analytics.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*analytics.Record(nil), s.recs...)
}

// newServer hosts the receiver on an echo with a stand-in for the lead's
// central error handler (analytics codes to statuses).
func newServer(t *testing.T, r *Receiver) *httptest.Server {
	t.Helper()
	e := echo.New()
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		st := map[string]int{analytics.EInvalid: 400, analytics.ETooLarge: 413, analytics.EUnavailable: 503}[analytics.ErrorCode(err)]
		if st == 0 {
			st = 500
		}
		_ = c.String(st, analytics.ErrorMessage(err))
	}
	e.POST("/v1/traces", r.Traces)
	e.POST("/v1/logs", r.Logs)
	e.POST("/v1/metrics", r.Metrics)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv
}

// captureNow is a server clock the day after the capture was recorded, so
// that its spans' times are within the bounds.
var captureNow = time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)

func capture(t *testing.T) ptrace.Traces {
	t.Helper()
	b := testfixtures.Read(t, "otlp/openinference-js-anthropic-traces.pb")
	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalProto(b); err != nil {
		t.Fatal(err)
	}
	return req.Traces()
}

func gz(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func post(t *testing.T, url, ct, enc string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ct)
	if enc != "" {
		req.Header.Set("Content-Encoding", enc)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, out
}

func TestHTTPTraces(t *testing.T) {
	td := capture(t)
	// One more Claude span without ids: rejected, and said so.
	bad := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().AppendEmpty()
	bad.Attributes().PutStr("gen_ai.provider.name", "anthropic")
	req := ptraceotlp.NewExportRequestFromTraces(td)
	pb, _ := req.MarshalProto()
	js, _ := req.MarshalJSON()

	tests := []struct {
		name, ct, enc string
		body          []byte
		isJSON        bool
	}{
		{"protobuf", "application/x-protobuf", "", pb, false},
		{"protobuf gzip", "application/x-protobuf", "gzip", gz(t, pb), false},
		{"JSON", "application/json", "", js, true},
		{"JSON gzip with charset", "application/json; charset=utf-8", "gzip", gz(t, js), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := &sliceSink{}
			srv := newServer(t, &Receiver{Sink: sink})
			resp, body := post(t, srv.URL+"/v1/traces", tt.ct, tt.enc, tt.body)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			wantCT := "application/x-protobuf"
			if tt.isJSON {
				wantCT = "application/json"
			}
			if got := resp.Header.Get("Content-Type"); got != wantCT {
				t.Errorf("content type %q, want %q", got, wantCT)
			}
			out := ptraceotlp.NewExportResponse()
			var err error
			if tt.isJSON {
				err = out.UnmarshalJSON(body)
			} else {
				err = out.UnmarshalProto(body)
			}
			if err != nil {
				t.Fatal(err)
			}
			if ps := out.PartialSuccess(); ps.RejectedSpans() != 1 || ps.ErrorMessage() == "" {
				t.Errorf("partial success %d %q, want 1 rejected", ps.RejectedSpans(), ps.ErrorMessage())
			}
			if n := len(sink.records()); n != 11 {
				t.Errorf("stored %d records, want 11", n)
			}
		})
	}
}

func TestHTTPLogs(t *testing.T) {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "bot")
	lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetEventName("gen_ai.choice")
	lr.Attributes().PutStr("gen_ai.system", "anthropic")
	lr.SetSpanID(pcommon.SpanID{1})
	lr.Body().SetEmptyMap().PutStr("finish_reason", "length")
	req := plogotlp.NewExportRequestFromLogs(ld)
	for _, isJSON := range []bool{false, true} {
		sink := &sliceSink{}
		srv := newServer(t, &Receiver{Sink: sink})
		ct, body := "application/x-protobuf", []byte(nil)
		if isJSON {
			ct = "application/json"
			body, _ = req.MarshalJSON()
		} else {
			body, _ = req.MarshalProto()
		}
		resp, out := post(t, srv.URL+"/v1/logs", ct, "", body)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != ct {
			t.Fatalf("status %d %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), out)
		}
		recs := sink.records()
		if len(recs) != 1 || recs[0].StopReason != analytics.StopMaxTokens || recs[0].App != "bot" {
			t.Errorf("records %+v", recs)
		}
	}
}

func TestHTTPErrors(t *testing.T) {
	pb, _ := ptraceotlp.NewExportRequestFromTraces(capture(t)).MarshalProto()
	bomb := gz(t, make([]byte, 1<<20)) // 1 MiB of zeros, about 1 KiB gzipped
	tests := []struct {
		name, ct, enc string
		body          []byte
		recv          Receiver
		status        int
		statusBody    bool
		// message, when set, is a part of the Status body's message.
		message string
	}{
		{"body over the limit", "application/x-protobuf", "", pb, Receiver{MaxBodyBytes: 1000}, 413, false, ""},
		{"gzip bomb", "application/x-protobuf", "gzip", bomb, Receiver{MaxDecompressedBytes: 64 << 10}, 413, false, ""},
		{"garbage protobuf", "application/x-protobuf", "", []byte{0xff, 0xff, 0xff}, Receiver{}, 400, true, ""},
		{"garbage JSON", "application/json", "", []byte(`{"resourceSpans":[{`), Receiver{}, 400, true, ""},
		{"protobuf sent as JSON", "application/json", "", pb, Receiver{}, 400, true, "cannot decode the OTLP request"},
		{"invalid UTF-8 beside a JSON error", "application/json", "", []byte("{\"resourceSpans\":[\xff, {]"), Receiver{}, 400, true, "cannot decode the OTLP request"},
		{"invalid UTF-8 in a name", "application/json", "", []byte("{\"resourceSpans\":[{\"x\xff\":1}]"), Receiver{}, 400, true, "cannot decode the OTLP request"},
		{"JSON nested too deep", "application/json", "", []byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[` +
			strings.Repeat(`{"key":"a","value":{"kvlistValue":{"values":[`, 40) + strings.Repeat(`]}}}`, 40) + `]}]}]}]}`),
			Receiver{}, 400, true, "the JSON body nests deeper than 128 levels, the limit"},
		{"JSON nested too deep, gzipped", "application/json", "gzip", gz(t, []byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[`+
			strings.Repeat(`{"key":"a","value":{"kvlistValue":{"values":[`, 1<<20)+strings.Repeat(`]}}}`, 1<<20)+`]}]}]}]}`)),
			Receiver{MaxDecompressedBytes: 64 << 20}, 400, true, "the JSON body nests deeper than 128 levels, the limit"},
		{"JSON with too many elements", "application/json", "", []byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[` +
			strings.Repeat(`{},`, 400_001) + `{}]}]}]}]}`), Receiver{}, 400, true,
			"the JSON body holds more than 400000 array elements and object members, the limit"},
		{"broken gzip", "application/json", "gzip", []byte("not gzip"), Receiver{}, 400, true, ""},
		{"unsupported content type", "text/plain", "", []byte("x"), Receiver{}, 415, false, ""},
		{"unsupported encoding", "application/json", "br", []byte("x"), Receiver{}, 415, false, ""},
		{"sink unavailable", "application/x-protobuf", "", pb, Receiver{Sink: &sliceSink{err: analytics.Errorf(analytics.EUnavailable, "store down")}}, 503, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.recv
			if r.Sink == nil {
				r.Sink = &sliceSink{}
			}
			srv := newServer(t, &r)
			resp, body := post(t, srv.URL+"/v1/traces", tt.ct, tt.enc, tt.body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if !tt.statusBody {
				return
			}
			var st statuspb.Status
			var err error
			if tt.ct == "application/json" {
				err = protojson.Unmarshal(body, &st)
			} else {
				err = proto.Unmarshal(body, &st)
			}
			if err != nil || st.Code != 3 || st.Message == "" {
				t.Errorf("Status body %v (%v), want code 3 with a message", &st, err)
			}
			if !strings.Contains(st.Message, tt.message) {
				t.Errorf("message %q, want it to say %q", st.Message, tt.message)
			}
			if got := resp.Header.Get("Content-Type"); got != tt.ct {
				t.Errorf("content type %q, want %q", got, tt.ct)
			}
		})
	}
}

// genAISpan records one Claude call with the real OTel SDK.
func genAISpan(ctx context.Context, tp *sdktrace.TracerProvider, reason string) {
	_, span := tp.Tracer("test").Start(ctx, "chat claude-sonnet-4-6", trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		attribute.String("gen_ai.provider.name", "anthropic"),
		attribute.String("gen_ai.operation.name", "chat"),
		attribute.String("gen_ai.request.model", "claude-sonnet-4-6"),
		attribute.Int("gen_ai.request.max_tokens", 100),
		attribute.StringSlice("gen_ai.response.finish_reasons", []string{reason}),
		attribute.Int("gen_ai.usage.input_tokens", 1000),
		attribute.Int("gen_ai.usage.cache_read.input_tokens", 900),
		attribute.Int("gen_ai.usage.output_tokens", 100),
	))
	time.Sleep(2 * time.Millisecond)
	span.End()
	// A span without GenAI attributes is accepted and not stored.
	_, other := tp.Tracer("test").Start(ctx, "GET /")
	other.End()
}

func checkSDKRecords(t *testing.T, recs []*analytics.Record) {
	t.Helper()
	if len(recs) != 1 {
		t.Fatalf("stored %d records, want 1", len(recs))
	}
	r := recs[0]
	if r.App != "sdk-app" || r.StopReason != analytics.StopMaxTokens || !r.Flags.Has(analytics.FlagTruncated) ||
		r.Usage.InputTokens != 100 || r.Usage.CacheReadInputTokens != 900 || r.TraceID == "" || r.LatencyMS < 2 {
		t.Errorf("record %+v", r)
	}
}

func newProvider(exp sdktrace.SpanExporter) *sdktrace.TracerProvider {
	return sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "sdk-app"))))
}

// TestOTelSDKHTTPExporter exports with the standard OTLP/HTTP exporter
// configured only by OTEL_EXPORTER_OTLP_ENDPOINT, as an app would, then with gzip.
func TestOTelSDKHTTPExporter(t *testing.T) {
	for _, compress := range []bool{false, true} {
		sink := &sliceSink{}
		srv := newServer(t, &Receiver{Sink: sink})
		t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", srv.URL)
		ctx := context.Background()
		var opts []otlptracehttp.Option
		if compress {
			opts = append(opts, otlptracehttp.WithCompression(otlptracehttp.GzipCompression))
		}
		exp, err := otlptracehttp.New(ctx, opts...)
		if err != nil {
			t.Fatal(err)
		}
		tp := newProvider(exp)
		genAISpan(ctx, tp, "length")
		if err := tp.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		checkSDKRecords(t, sink.records())
	}
}

func TestOTelSDKGRPCExporter(t *testing.T) {
	sink := &sliceSink{}
	r := &Receiver{Sink: sink}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer(GRPCServerOption())
	r.RegisterGRPC(s)
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Stop)

	ctx := context.Background()
	exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(lis.Addr().String()), otlptracegrpc.WithInsecure(),
		otlptracegrpc.WithCompressor("gzip"))
	if err != nil {
		t.Fatal(err)
	}
	tp := newProvider(exp)
	genAISpan(ctx, tp, "max_tokens")
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	checkSDKRecords(t, sink.records())

	// Logs over gRPC, with the pdata client.
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetEventName("gen_ai.choice")
	lr.Attributes().PutStr("gen_ai.system", "anthropic")
	lr.Body().SetEmptyMap().PutStr("finish_reason", "content_filter")
	if _, err := plogotlp.NewGRPCClient(conn).Export(ctx, plogotlp.NewExportRequestFromLogs(ld)); err != nil {
		t.Fatal(err)
	}
	if recs := sink.records(); len(recs) != 2 || recs[1].StopReason != analytics.StopRefusal {
		t.Errorf("records after logs: %d", len(recs))
	}
}

func TestGRPCSinkUnavailable(t *testing.T) {
	r := &Receiver{Sink: &sliceSink{err: analytics.Errorf(analytics.EUnavailable, "store down")}}
	body, err := ptraceotlp.NewExportRequestFromTraces(capture(t)).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.grpcTraces(context.Background(), body)
	if err == nil || err.Error() != "rpc error: code = Unavailable desc = store down" {
		t.Errorf("error %v, want Unavailable", err)
	}
}

// TestGRPCMalformed checks that a malformed export is InvalidArgument, the
// client's to fix, not Internal, for traces and logs; that a well-formed one
// still goes through the interceptors; and that the interceptors run before
// the request is decoded.
func TestGRPCMalformed(t *testing.T) {
	sink := &sliceSink{}
	r := &Receiver{Sink: sink}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refuse := false
	s := grpc.NewServer(GRPCServerOption(), grpc.UnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if refuse {
			return nil, GRPCError(analytics.Errorf(analytics.EUnauthorized, "no key"))
		}
		return h(ctx, req)
	}))
	r.RegisterGRPC(s)
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	good, err := ptraceotlp.NewExportRequestFromTraces(capture(t)).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	invoke := func(method string, body []byte) (*rawMessage, error) {
		out := new(rawMessage)
		err := conn.Invoke(context.Background(), method, &rawMessage{b: body}, out, grpc.ForceCodecV2(rawCodec{}))
		return out, err
	}
	const traces, logs = "/opentelemetry.proto.collector.trace.v1.TraceService/Export", "/opentelemetry.proto.collector.logs.v1.LogsService/Export"
	for _, tc := range []struct {
		name, method string
		body         []byte
		refuse       bool
		want         codes.Code
	}{
		{"malformed traces", traces, []byte{0xff, 0xff, 0xff}, false, codes.InvalidArgument},
		{"truncated traces", traces, good[:len(good)/2], false, codes.InvalidArgument},
		{"malformed logs", logs, []byte{0x0a, 0x05, 0x01}, false, codes.InvalidArgument},
		{"malformed and refused", traces, []byte{0xff}, true, codes.Unauthenticated},
		{"well-formed", traces, good, false, codes.OK},
	} {
		refuse = tc.refuse
		out, err := invoke(tc.method, tc.body)
		if status.Code(err) != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
		if tc.want == codes.InvalidArgument && !strings.Contains(status.Convert(err).Message(), "cannot decode the OTLP request") {
			t.Errorf("%s: message %q", tc.name, status.Convert(err).Message())
		}
		if tc.want == codes.OK {
			resp := ptraceotlp.NewExportResponse()
			if err := resp.UnmarshalProto(out.b); err != nil || resp.PartialSuccess().RejectedSpans() != 0 {
				t.Errorf("%s: response %v", tc.name, err)
			}
		}
	}
	if n := len(sink.records()); n != 11 {
		t.Errorf("stored %d records, want 11", n)
	}
}
