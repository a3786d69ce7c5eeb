package receiver

import (
	"context"
	"net"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/stopscope/stopscope/ingest/internal/claudecodetest"
	"github.com/stopscope/stopscope/ingest/testfixtures"
)

// TestClaudeCodeFixtures sends Claude Code's real exports over each OTLP
// transport, in each of its modes (logs only, its default; traces only;
// both), and counts its calls exactly: the protobuf and gRPC bodies are the
// JSON fixtures converted with pdata's marshalers.
func TestClaudeCodeFixtures(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sink := &sliceSink{}
	gs := grpc.NewServer(GRPCServerOption())
	(&Receiver{Sink: sink}).RegisterGRPC(gs)
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	srv := newServer(t, &Receiver{Sink: sink})
	ctx := context.Background()

	type transport func(t *testing.T, e claudecodetest.Export, js []byte) (rejected int64, msg string)
	httpSend := func(asJSON bool) transport {
		return func(t *testing.T, e claudecodetest.Export, js []byte) (int64, string) {
			path, ct := "/v1/traces", "application/x-protobuf"
			if asJSON {
				ct = "application/json"
			}
			var body []byte
			if e.Logs {
				path = "/v1/logs"
				req := plogotlp.NewExportRequest()
				if err := req.UnmarshalJSON(js); err != nil {
					t.Fatal(err)
				}
				body = js
				if !asJSON {
					body, _ = req.MarshalProto()
				}
			} else {
				req := ptraceotlp.NewExportRequest()
				if err := req.UnmarshalJSON(js); err != nil {
					t.Fatal(err)
				}
				body = js
				if !asJSON {
					body, _ = req.MarshalProto()
				}
			}
			resp, out := post(t, srv.URL+path, ct, "", body)
			if resp.StatusCode != 200 {
				t.Fatalf("%s: status %d: %s", e.Path, resp.StatusCode, out)
			}
			if e.Logs {
				r := plogotlp.NewExportResponse()
				if asJSON {
					err = r.UnmarshalJSON(out)
				} else {
					err = r.UnmarshalProto(out)
				}
				if err != nil {
					t.Fatal(err)
				}
				return r.PartialSuccess().RejectedLogRecords(), r.PartialSuccess().ErrorMessage()
			}
			r := ptraceotlp.NewExportResponse()
			if asJSON {
				err = r.UnmarshalJSON(out)
			} else {
				err = r.UnmarshalProto(out)
			}
			if err != nil {
				t.Fatal(err)
			}
			return r.PartialSuccess().RejectedSpans(), r.PartialSuccess().ErrorMessage()
		}
	}
	grpcSend := func(t *testing.T, e claudecodetest.Export, js []byte) (int64, string) {
		if e.Logs {
			req := plogotlp.NewExportRequest()
			if err := req.UnmarshalJSON(js); err != nil {
				t.Fatal(err)
			}
			resp, err := plogotlp.NewGRPCClient(conn).Export(ctx, req)
			if err != nil {
				t.Fatalf("%s: %v", e.Path, err)
			}
			return resp.PartialSuccess().RejectedLogRecords(), resp.PartialSuccess().ErrorMessage()
		}
		req := ptraceotlp.NewExportRequest()
		if err := req.UnmarshalJSON(js); err != nil {
			t.Fatal(err)
		}
		resp, err := ptraceotlp.NewGRPCClient(conn).Export(ctx, req)
		if err != nil {
			t.Fatalf("%s: %v", e.Path, err)
		}
		return resp.PartialSuccess().RejectedSpans(), resp.PartialSuccess().ErrorMessage()
	}

	for _, tr := range []struct {
		name string
		send transport
	}{
		{"HTTP protobuf", httpSend(false)},
		{"HTTP JSON", httpSend(true)},
		{"gRPC", grpcSend},
	} {
		t.Run(tr.name, func(t *testing.T) {
			for _, run := range claudecodetest.Runs(t) {
				for _, mode := range claudecodetest.Modes {
					sink.mu.Lock()
					sink.recs = nil
					sink.mu.Unlock()
					for _, e := range run.Exports(mode) {
						js, err := testfixtures.FS.ReadFile(e.Path)
						if err != nil {
							t.Fatal(err)
						}
						if n, msg := tr.send(t, e, js); n != 0 {
							t.Errorf("%s: %d rejected: %s", e.Path, n, msg)
						}
					}
					claudecodetest.Check(t, run, mode, claudecodetest.Join(sink.records()))
				}
			}
		})
	}
}
