package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"reflect"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/cmd/dashboard/config"
	"github.com/stopscope/stopscope/ingest"
	"github.com/stopscope/stopscope/store"
)

// startMainWith runs the real service in process on a free port with a
// fresh SQLite store, after set has adjusted it.
func startMainWith(t *testing.T, set func(m *Main)) *Main {
	t.Helper()
	m := NewMain(io.Discard, io.Discard)
	m.Addr = "127.0.0.1:0"
	m.OTLPGRPCAddr = ""
	m.DB = filepath.Join(t.TempDir(), "stopscope.db")
	if set != nil {
		set(m)
	}
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Error(err)
		}
	})
	return m
}

func TestOperationsFlags(t *testing.T) {
	def := config.DefaultOperations()
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    func(o *config.Operations)
		wantErr string
	}{
		{name: "defaults", want: func(*config.Operations) {}},
		{
			name: "flags",
			args: []string{
				"--ingest-max-records=5", "--ingest-max-field-bytes=1000", "--ingest-max-id-bytes=64",
				"--ingest-max-body-bytes=2048", "--ingest-max-decompressed-bytes=4096",
				"--ingest-max-concurrent=3", "--ingest-max-queued-records=100", "--ingest-max-batch-records=10",
				"--metadata-only", "--redact", `sk-ant-\S+`, "--redact", `\d{3}-\d{2}-\d{4}`,
				"--retention-days=7", "--rollup-retention-days=90",
				"--ingest-body-timeout=3s", "--ingest-min-body-rate=1000", "--gc-percent=80",
			},
			want: func(o *config.Operations) {
				o.Limits = ingest.Limits{MaxRecords: 5, MaxFieldBytes: 1000, MaxIDBytes: 64, MaxBodyBytes: 2048, MaxDecompressedBytes: 4096}
				o.MaxConcurrentIngest = 3
				o.Batch.MaxQueued, o.Batch.MaxBatch = 100, 10
				o.MetadataOnly = true
				o.Redact = []string{`sk-ant-\S+`, `\d{3}-\d{2}-\d{4}`}
				o.RetentionDays, o.RollupRetentionDays = 7, 90
				o.IngestBodyTimeout, o.IngestMinBodyRate = 3*time.Second, 1000
				o.GCPercent = 80
			},
		},
		{
			name: "environment, flags added to it",
			env: map[string]string{
				"STOPSCOPE_INGEST_MAX_BODY_BYTES": "1024", "STOPSCOPE_METADATA_ONLY": "true",
				"STOPSCOPE_REDACT": "a{1,3}\nb+\r\n", "STOPSCOPE_RETENTION_DAYS": "0",
			},
			args: []string{"--redact", "c"},
			want: func(o *config.Operations) {
				o.Limits.MaxBodyBytes = 1024
				o.MetadataOnly = true
				o.Redact = []string{"a{1,3}", "b+", "c"}
				o.RetentionDays = 0
			},
		},
		{name: "bad environment number", env: map[string]string{"STOPSCOPE_RETENTION_DAYS": "thirty"}, wantErr: "STOPSCOPE_RETENTION_DAYS"},
		{name: "bad environment pattern", env: map[string]string{"STOPSCOPE_REDACT": "(x"}, wantErr: "redaction pattern"},
		{name: "bad pattern flag", args: []string{"--redact", "(x"}, wantErr: "regular expression"},
		{name: "negative", args: []string{"--retention-days=-1"}, wantErr: "negative"},
		{name: "negative body timeout", args: []string{"--ingest-body-timeout=-1s"}, wantErr: "negative"},
		{name: "negative gc percent", args: []string{"--gc-percent=-1"}, wantErr: "negative"},
		{name: "bad environment duration", env: map[string]string{"STOPSCOPE_INGEST_BODY_TIMEOUT": "soon"}, wantErr: "STOPSCOPE_INGEST_BODY_TIMEOUT"},
		{name: "rollups shorter than records", args: []string{"--retention-days=30", "--rollup-retention-days=7"}, wantErr: "shorter"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMain(io.Discard, io.Discard)
			err := m.ParseFlags(tc.args, func(k string) string { return tc.env[k] })
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseFlags = %v, want an error about %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := def
			want.Redact = nil
			tc.want(&want)
			if !reflect.DeepEqual(m.Ops, want) {
				t.Errorf("Ops = %+v\nwant %+v", m.Ops, want)
			}
		})
	}
}

// TestIngestLimitsFromFlags checks that the limits reach both ingest paths.
func TestIngestLimitsFromFlags(t *testing.T) {
	m := startMainWith(t, func(m *Main) {
		m.Ops.Limits.MaxBodyBytes = 512
		m.Ops.Limits.MaxRecords = 2
	})
	body, _ := batchBody("limits", "lim-")
	tests := []struct {
		name, path, ctype string
		body              []byte
		want              int
		msg               string
	}{
		{"native body", "/v1/responses", "application/json", body, 413, ingest.FlagMaxBodyBytes},
		{"native records", "/v1/responses", "application/x-ndjson", []byte("{}\n{}\n{}\n"), 413, ingest.FlagMaxRecords},
		{"otlp body", "/v1/traces", "application/json", bytes.Repeat([]byte(" "), 600), 413, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, b := post(t, m.URL()+tc.path, tc.ctype, tc.body)
			if status != tc.want || !strings.Contains(string(b), tc.msg) {
				t.Errorf("status %d %s, want %d naming %q", status, b, tc.want, tc.msg)
			}
		})
	}
}

// TestOverloadAnswers503 floods a service set to take little at once: the
// surplus is answered 503 with Retry-After at once, memory stays bounded,
// and every acknowledged record is stored and counted once.
func TestOverloadAnswers503(t *testing.T) {
	if testing.Short() {
		t.Skip("floods the service for two seconds")
	}
	m := startMainWith(t, func(m *Main) {
		m.Ops.MaxConcurrentIngest = 4
		m.Ops.Batch.MaxQueued = 100
	})
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	var acked, busy, retryAfter atomic.Int64
	var other sync.Map
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	for c := range 48 {
		wg.Go(func() {
			for k := 0; ; k++ {
				select {
				case <-stop:
					return
				default:
				}
				body, ids := batchBody("flood", fmt.Sprintf("flood-c%d-k%d-", c, k))
				resp, err := hc.Post(m.URL()+"/v1/responses", "application/json", bytes.NewReader(body))
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				switch resp.StatusCode {
				case 200:
					acked.Add(int64(len(ids)))
				case 503, 429:
					busy.Add(1)
					if resp.Header.Get("Retry-After") != "" {
						retryAfter.Add(1)
					}
				default:
					other.Store(resp.StatusCode, true)
				}
			}
		})
	}
	wg.Go(func() {
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(25 * time.Millisecond):
			}
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
		}
	})
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()

	other.Range(func(k, _ any) bool { t.Errorf("unexpected status %v under load", k); return true })
	if busy.Load() == 0 {
		t.Error("no request was answered 503 or 429: the flood did not exceed capacity")
	}
	if retryAfter.Load() != busy.Load() {
		t.Errorf("%d of %d busy answers carry Retry-After", retryAfter.Load(), busy.Load())
	}
	if acked.Load() == 0 {
		t.Error("nothing was acknowledged under load")
	}
	// 4 requests of about 6 KiB in flight and 100 queued records: the
	// bound is generous, and still far below what an unbounded queue of
	// two seconds of flood would hold.
	const bound = 96 << 20
	if grew := peak.Load() - min(peak.Load(), before.HeapInuse); grew > bound {
		t.Errorf("heap in use grew by %d MiB under the flood, bound %d MiB", grew>>20, bound>>20)
	}
	var sum summary
	getJSON(t, m.URL()+"/api/v1/summary", &sum)
	if sum.Total != acked.Load() {
		t.Errorf("summary counts %d records, %d were acknowledged", sum.Total, acked.Load())
	}
	t.Logf("acknowledged %d records, %d busy answers, heap peak %d MiB", acked.Load(), busy.Load(), peak.Load()>>20)
}

func TestReadyz(t *testing.T) {
	m := startMainWith(t, nil)
	get := func() int {
		resp, err := http.Get(m.URL() + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := get(); got != 200 {
		t.Errorf("GET /readyz = %d, want 200", got)
	}
	// A closing batcher means ingest is refused: not ready.
	m.batcher.Close()
	if got := get(); got != 503 {
		t.Errorf("GET /readyz with ingest closed = %d, want 503", got)
	}
}

const emptyTurnRecord = `{
	"app": "privacy", "environment": "test",
	"request": {"model": "claude-sonnet-4-6", "max_tokens": 64, "messages": [
		{"role": "user", "content": [
			{"type": "tool_result", "tool_use_id": "t1", "content": "card 4111-1111-1111-1111"},
			{"type": "text", "text": "my card is 4111-1111-1111-1111"}]}]},
	"response": {"id": "msg_priv_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-6",
		"content": [{"type": "text", "text": "  "}], "stop_reason": "end_turn", "stop_sequence": null,
		"usage": {"input_tokens": 10, "output_tokens": 2}}
}`

const textRecord = `{
	"app": "privacy", "environment": "test",
	"response": {"id": "msg_priv_2", "type": "message", "role": "assistant", "model": "claude-sonnet-4-6",
		"content": [{"type": "text", "text": "your card 4111-1111-1111-1111 is on file"}], "stop_reason": "end_turn",
		"stop_sequence": null, "usage": {"input_tokens": 10, "output_tokens": 9}}
}`

// TestPrivacy stores records with content stripped or redacted and checks
// what the API gives back: derived fields intact, content gone.
func TestPrivacy(t *testing.T) {
	tests := []struct {
		name string
		set  func(m *Main)
		// check looks at the stored records, by message id.
		check func(t *testing.T, recs map[string]*analytics.Record)
	}{
		{
			name: "metadata only",
			set:  func(m *Main) { m.Ops.MetadataOnly = true },
			check: func(t *testing.T, recs map[string]*analytics.Record) {
				r := recs["msg_priv_1"]
				if !r.Flags.Has(analytics.FlagEmptyTurn) || len(r.Causes) != 1 {
					t.Errorf("flags %v causes %v: classification must happen before stripping", r.Flags.List(), r.Causes)
				}
				for id, r := range recs {
					if len(r.RequestBody) != 0 || len(r.ResponseBody) != 0 || r.StreamBody != "" {
						t.Errorf("%s: bodies kept: %s %s %q", id, r.RequestBody, r.ResponseBody, r.StreamBody)
					}
					for _, b := range r.Content {
						if b.Text != "" {
							t.Errorf("%s: content text kept: %q", id, b.Text)
						}
					}
					if r.Usage.InputTokens != 10 || r.Kind != analytics.KindMessage {
						t.Errorf("%s: metadata lost: %+v", id, r)
					}
				}
			},
		},
		{
			name: "redaction",
			set:  func(m *Main) { m.Ops.Redact = []string{`\d{4}-\d{4}-\d{4}-\d{4}`} },
			check: func(t *testing.T, recs map[string]*analytics.Record) {
				r := recs["msg_priv_1"]
				if !r.Flags.Has(analytics.FlagEmptyTurn) {
					t.Errorf("flags %v, want empty_turn", r.Flags.List())
				}
				for id, r := range recs {
					all, _ := json.Marshal(r)
					if strings.Contains(string(all), "4111") {
						t.Errorf("%s: the card number survived: %s", id, all)
					}
					if !strings.Contains(string(r.RequestBody)+string(r.ResponseBody), analytics.Redacted) {
						t.Errorf("%s: bodies carry no %s: %s %s", id, analytics.Redacted, r.RequestBody, r.ResponseBody)
					}
				}
				if got := recs["msg_priv_2"].Content[0].Text; got != "your card [REDACTED] is on file" {
					t.Errorf("content text %q", got)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := startMainWith(t, tc.set)
			status, body := post(t, m.URL()+"/v1/responses", "application/json", []byte("["+emptyTurnRecord+","+textRecord+"]"))
			if status != 200 {
				t.Fatalf("POST: %d %s", status, body)
			}
			list, _, err := m.Store.List(context.Background(), store.Filter{App: "privacy"}, 10, "")
			if err != nil {
				t.Fatal(err)
			}
			recs := map[string]*analytics.Record{}
			for _, r := range list {
				full, err := m.Store.Get(context.Background(), r.ID)
				if err != nil {
					t.Fatal(err)
				}
				recs[full.MessageID] = full
			}
			if len(recs) != 2 {
				t.Fatalf("stored %d records, want 2", len(recs))
			}
			tc.check(t, recs)
		})
	}
}

// TestBusyIngest fills every ingest slot and checks each ingest path's
// answer: 503 with Retry-After over HTTP, UNAVAILABLE over gRPC, both of
// which OTLP exporters retry.
func TestBusyIngest(t *testing.T) {
	m := startMainWith(t, func(m *Main) {
		m.OTLPGRPCAddr = "127.0.0.1:0"
		m.Ops.MaxConcurrentIngest = 1
	})
	m.ingestSlots <- struct{}{} // the one slot, held
	defer func() { <-m.ingestSlots }()
	body, _ := batchBody("busy", "busy-")
	tests := []struct{ path, ctype string }{
		{"/v1/responses", "application/json"},
		{"/v1/traces", "application/json"},
		{"/v1/logs", "application/x-protobuf"},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			resp, err := http.Post(m.URL()+tc.path, tc.ctype, bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
				t.Errorf("status %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
			}
		})
	}
	t.Run("grpc", func(t *testing.T) {
		conn, err := grpc.NewClient(m.grpcLn.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_, err = ptraceotlp.NewGRPCClient(conn).Export(context.Background(), ptraceotlp.NewExportRequest())
		if status.Code(err) != codes.Unavailable {
			t.Errorf("Export = %v, want UNAVAILABLE", err)
		}
	})
}

// TestApplyGCPercent checks that serve sets the collector's target heap
// growth from -gc-percent, and leaves it alone when it is 0 or when GOGC
// is set (the runtime took that one at start).
func TestApplyGCPercent(t *testing.T) {
	before := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(before) })
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	log := slog.New(slog.DiscardHandler)

	applyGCPercent(config.DefaultGCPercent, env(nil), log)
	if got := debug.SetGCPercent(100); got != config.DefaultGCPercent {
		t.Errorf("GC percent %d after -gc-percent=%d, want it", got, config.DefaultGCPercent)
	}
	applyGCPercent(0, env(nil), log)
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GC percent %d after -gc-percent=0, want it left at 100", got)
	}
	applyGCPercent(config.DefaultGCPercent, env(map[string]string{"GOGC": "200"}), log)
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GC percent %d with GOGC set, want it left at 100", got)
	}
}
