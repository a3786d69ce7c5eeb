package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc/credentials"

	"github.com/stopscope/stopscope/ingest/otelclaude"
	"github.com/stopscope/stopscope/store"
)

// selfSigned writes a self-signed certificate for 127.0.0.1 and its key to
// dir, and returns their paths and a pool that trusts the certificate.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "stopscope test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// apiSpans builds an export as a Claude telemetry destination receives it
// (service.name claude-platform, scope com.anthropic.claude-platform). The
// names are the documented ones; the attributes of the API's
// anthropic.messages.create SERVER span are inferred from the SDK's (the
// API's tables are not published): see docs/opentelemetry.md.
func apiSpans(spans ...func(ptrace.Span)) []byte {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "claude-platform")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("com.anthropic.claude-platform")
	for _, f := range spans {
		s := ss.Spans().AppendEmpty()
		s.SetKind(ptrace.SpanKindServer)
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(time.Now().Add(-time.Second)))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(time.Now()))
		s.Attributes().PutStr("gen_ai.provider.name", "anthropic")
		s.Attributes().PutStr("anthropic.organization.id", "org_test")
		s.Attributes().PutStr("anthropic.workspace.id", "wrkspc_test")
		f(s)
	}
	b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		panic(err)
	}
	return b
}

// messagesSpan fills the API's span of a Messages call answered end_turn.
func messagesSpan(trace pcommon.TraceID, span, parent pcommon.SpanID, requestID, messageID string) func(ptrace.Span) {
	return func(s ptrace.Span) {
		s.SetName("anthropic.messages.create")
		s.SetTraceID(trace)
		s.SetSpanID(span)
		s.SetParentSpanID(parent)
		a := s.Attributes()
		a.PutStr("gen_ai.operation.name", "chat")
		a.PutStr("gen_ai.request.model", "claude-sonnet-4-6")
		a.PutStr("gen_ai.response.model", "claude-sonnet-4-6")
		a.PutStr("anthropic.request.id", requestID)
		a.PutStr("gen_ai.response.id", messageID)
		a.PutStr("anthropic.message.stop_reason", "end_turn")
		a.PutInt("gen_ai.usage.input_tokens", 12)
		a.PutInt("gen_ai.usage.output_tokens", 9)
		a.PutInt("http.response.status_code", 200)
		a.PutStr("gen_ai.output.messages", `[{"role":"assistant","parts":[{"type":"text","content":"Paris is the capital of France."}],"finish_reason":"end_turn"}]`)
		s.Status().SetCode(ptrace.StatusCodeOk)
	}
}

// TestTelemetryDestination: stopscope as a Claude API telemetry destination.
// Over HTTPS (--tls-cert, --tls-key) with the ingest key in the authorization
// header the destination was registered with, the API's protobuf exports are
// answered 200 (never a redirect, which would disable the destination); the
// destination test's anthropic.test span is acknowledged and not stored; a
// call the app's Go SDK traced itself and the API traced too is one record
// of the app; a call seen only by the API is counted; a delivery repeated
// (at least once) counts nothing twice.
func TestTelemetryDestination(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	db := filepath.Join(dir, "s.db")
	var out bytes.Buffer
	if err := run(ctx, []string{"keys", "create", "--app", "checkout", "--db", db}, noEnv, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	key, _, _ := strings.Cut(out.String(), "\n")

	m := NewMain(io.Discard, io.Discard)
	if err := m.ParseFlags([]string{"--addr", "127.0.0.1:0", "--otlp-grpc-addr=", "--db", db, "--require-keys",
		"--tls-cert", certFile, "--tls-key", keyFile}, noEnv); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	if !strings.HasPrefix(m.URL(), "https://") {
		t.Fatalf("URL %s", m.URL())
	}
	client := &http.Client{
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	deliver := func(path string, body []byte, authorization string) int {
		t.Helper()
		req, _ := http.NewRequest("POST", m.URL()+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/x-protobuf")
		if authorization != "" {
			req.Header.Set("authorization", authorization)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 300 && resp.StatusCode < 400 {
			t.Errorf("POST %s answered %d: one redirect disables a destination", path, resp.StatusCode)
		}
		return resp.StatusCode
	}

	// The Console's "test" button: one anthropic.test span.
	test := apiSpans(func(s ptrace.Span) {
		s.SetName("anthropic.test")
		s.SetTraceID(pcommon.TraceID{9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9})
		s.SetSpanID(pcommon.SpanID{9, 9, 9, 9, 9, 9, 9, 9})
	})
	if st := deliver("/v1/traces", test, ""); st != http.StatusUnauthorized {
		t.Errorf("without the registered header: %d, want 401", st)
	}
	if st := deliver("/v1/traces", test, "Bearer "+key); st != 200 {
		t.Errorf("destination test: %d, want 200", st)
	}
	for _, path := range []string{"/v1/traces/", "/v1/traces?x=1", "/otlp/v1/traces"} {
		deliver(path, test, "Bearer "+key) // any status but a redirect
	}

	// The app: the Go SDK tracing itself, metadata only, exporting to the
	// same HTTPS receiver with its key. The stand-in API notes the trace
	// context the SDK propagates, as the real API's span would be its child.
	var mu sync.Mutex
	var traceparent string
	inner := messagesStandIn(t)
	defer inner.Close()
	api := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		traceparent = r.Header.Get("traceparent")
		mu.Unlock()
		w.Header().Set("request-id", "req_joined")
		inner.Config.Handler.ServeHTTP(w, r)
	})}
	apiLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go api.Serve(apiLn)
	defer api.Close()

	// What otelclaude.Setup registers besides the provider.
	prev := otel.GetTextMapPropagator()
	otel.SetTextMapPropagator(propagation.TraceContext{})
	defer otel.SetTextMapPropagator(prev)
	tp, err := otelclaude.NewTracerProvider(ctx, otelclaude.WithServiceName("checkout"),
		otelclaude.WithExporterOptions(otlptracehttp.WithEndpointURL(m.URL()+"/v1/traces"),
			otlptracehttp.WithTLSClientConfig(&tls.Config{RootCAs: pool}),
			otlptracehttp.WithHeaders(map[string]string{"authorization": "Bearer " + key})))
	if err != nil {
		t.Fatal(err)
	}
	sdk := anthropic.NewClient(option.WithBaseURL("http://"+apiLn.Addr().String()), option.WithAPIKey("test"),
		option.WithMaxRetries(0), option.WithTracerProvider(tp))
	msg, err := sdk.Messages.New(ctx, anthropic.MessageNewParams{Model: "claude-sonnet-4-6", MaxTokens: 1024,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("fixture:messages/end_turn.json"))}})
	if err != nil {
		t.Fatal(err)
	}
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	parts := strings.Split(traceparent, "-")
	mu.Unlock()
	if len(parts) != 4 {
		t.Fatalf("the SDK propagated no trace context: %q", traceparent)
	}
	var trace pcommon.TraceID
	var parent pcommon.SpanID
	tb, _ := hex.DecodeString(parts[1])
	pb, _ := hex.DecodeString(parts[2])
	copy(trace[:], tb)
	copy(parent[:], pb)

	// The API's spans: the joined call, and one of an app that was never
	// instrumented; delivered twice, as at-least-once delivery may.
	delivery := apiSpans(
		messagesSpan(trace, pcommon.SpanID{1, 1, 1, 1, 1, 1, 1, 1}, parent, "req_joined", msg.ID),
		messagesSpan(pcommon.TraceID{7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7}, pcommon.SpanID{2, 2, 2, 2, 2, 2, 2, 2}, pcommon.SpanID{}, "req_api_only", "msg_api_only"),
	)
	for range 2 {
		if st := deliver("/v1/traces", delivery, "Bearer "+key); st != 200 {
			t.Fatalf("delivery: %d", st)
		}
	}

	var got summary
	getJSONWith(t, client, m.URL()+"/api/v1/summary?app=checkout", key, &got)
	if got.Total != 2 || got.StopReasons["end_turn"] != 2 {
		t.Errorf("summary %+v, want 2 end_turn calls (one seen from both sides, one from the API only)", got)
	}
	var all summary
	getJSONWith(t, client, m.URL()+"/api/v1/summary", key, &all)
	if all.Total != 2 {
		t.Errorf("%d records in all, want 2: the test span is no call, and nothing counts twice", all.Total)
	}

	// The SDK's span was metadata only; the API's span had the answer's
	// text: the one record keeps both.
	t.Run("joined record keeps what each side knows", func(t *testing.T) {
		recs, _, err := m.Store.List(ctx, store.Filter{App: "checkout"}, 10, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if r.MessageID == msg.ID && (r.ContentUnrecorded || len(r.Content) == 0 || r.RequestID != "req_joined") {
				t.Errorf("joined record %+v: want the API's content and the request id", r)
			}
		}
	})
}

// getJSONWith is getJSON with a client and an ingest key.
func getJSONWith(t *testing.T, c *http.Client, url, key string, v any) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: %v in %s", url, err, b)
	}
}

// TestTLSGRPC: with --tls-cert and --tls-key, OTLP/gRPC is served over TLS
// too; the real Go SDK's spans arrive through a gRPC exporter trusting the
// certificate.
func TestTLSGRPC(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	m := NewMain(io.Discard, io.Discard)
	if err := m.ParseFlags([]string{"--addr", "127.0.0.1:0", "--otlp-grpc-addr", "127.0.0.1:0", "--db", filepath.Join(dir, "s.db"),
		"--tls-cert", certFile, "--tls-key", keyFile}, noEnv); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(m.grpcLn.Addr().String()),
		otlptracegrpc.WithTLSCredentials(credentials.NewClientTLSFromCert(pool, "")))
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "grpc-tls"))))
	api := withRequestIDs(t, "grpc")
	sdk := anthropic.NewClient(option.WithBaseURL(api.URL), option.WithAPIKey("test"), option.WithMaxRetries(0), option.WithTracerProvider(tp))
	if _, err := sdk.Messages.New(ctx, anthropic.MessageNewParams{Model: "claude-sonnet-4-6", MaxTokens: 1024,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("fixture:messages/max_tokens.json"))}}); err != nil {
		t.Fatal(err)
	}
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatalf("export over gRPC with TLS: %v", err)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	var got summary
	getJSONWith(t, client, m.URL()+"/api/v1/summary?app=grpc-tls", "", &got)
	if got.Total != 1 || got.StopReasons["max_tokens"] != 1 {
		t.Errorf("summary %+v, want one max_tokens call", got)
	}
}
