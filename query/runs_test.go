package query_test

import (
	"context"
	"encoding/json"
	"path"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/ingest"
	"github.com/stopscope/stopscope/ingest/otlp"
	"github.com/stopscope/stopscope/ingest/testfixtures"
	"github.com/stopscope/stopscope/store"
)

// The modes Claude Code's telemetry arrives in: logs only (its default),
// traces only, or both.
var ccModes = []string{"logs", "traces", "both"}

// ccNow is the clock the Claude Code fixtures (captured on 2026-12-01) are
// decoded by.
var ccNow = time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)

// claudeCodeRun decodes the exports of one claude_code fixture run that
// mode sends, in order, as the receiver would.
func claudeCodeRun(t *testing.T, dir, mode string) []*analytics.Record {
	t.Helper()
	var out []*analytics.Record
	for _, name := range testfixtures.Names(t, path.Join("claude_code", dir)) {
		logs := strings.HasSuffix(name, "_v1_logs.json")
		if !logs && !strings.HasSuffix(name, "_v1_traces.json") || mode == "logs" && !logs || mode == "traces" && logs {
			continue
		}
		b := testfixtures.Read(t, name)
		var recs []*analytics.Record
		var rejected int
		if logs {
			req := plogotlp.NewExportRequest()
			if err := req.UnmarshalJSON(b); err != nil {
				t.Fatal(err)
			}
			recs, rejected, _ = otlp.Logs(req.Logs(), ccNow)
		} else {
			req := ptraceotlp.NewExportRequest()
			if err := req.UnmarshalJSON(b); err != nil {
				t.Fatal(err)
			}
			recs, rejected, _ = otlp.Traces(req.Traces(), ccNow)
		}
		if rejected != 0 {
			t.Fatalf("%s: %d rejected", name, rejected)
		}
		out = append(out, recs...)
	}
	if len(out) == 0 {
		t.Fatalf("no exports of %s in mode %s", dir, mode)
	}
	return out
}

// claudeCodeResult is the result message a fixture run ended with
// (expected.json), decoded as POST /v1/responses would, in session.
func claudeCodeResult(t *testing.T, run, session string) *analytics.Record {
	t.Helper()
	var exp struct {
		Runs map[string]struct {
			Result json.RawMessage `json:"result"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(testfixtures.Read(t, "claude_code/expected.json"), &exp); err != nil {
		t.Fatal(err)
	}
	env, _ := json.Marshal(map[string]any{"app": "agent", "session_id": session, "result": exp.Runs[run].Result})
	r, err := ingest.DecodeRecord(env, ingest.Options{Now: ccNow})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// agentRecord returns the stored Agent SDK run of a session.
func agentRecord(t *testing.T, st store.Store, session string) *analytics.Record {
	t.Helper()
	recs, _, err := st.List(context.Background(), store.Filter{SessionID: session, Kind: analytics.KindAgentResult}, 10, "")
	if err != nil || len(recs) != 1 {
		t.Fatalf("agent runs of %s: %v %v", session, recs, err)
	}
	return recs[0]
}

// TestRunCalls: an Agent SDK run lists the calls the Claude Code it
// spawned reported under the same session id, in every mode, with the
// re-asks Claude Code made by itself named.
func TestRunCalls(t *testing.T) {
	tests := []struct {
		dir, session string
		result       string // a result message posted natively; "" when the run's own spans carry it
		requests     []string
		reasks       []analytics.Reask
	}{
		{"agent_sdk_error_max_turns", "03289cb6-92d9-4879-a9d1-8ef83400d458", "",
			[]string{"req_fake_mx5154l4_000155"}, []analytics.Reask{""}},
		{"cli_empty_end_turn", "ea583fce-c693-491d-a19a-1ac5cf88f96d", "cli_empty_end_turn",
			[]string{"req_fake_mx5154l4_000081", "req_fake_mx5154l4_000083"}, []analytics.Reask{"", analytics.ReaskEmptyTurn}},
		{"cli_max_tokens", "d83ba900-4aec-4dd1-8529-dceda651b639", "cli_max_tokens",
			[]string{"req_fake_mx5154l4_000085", "req_fake_mx5154l4_000087"}, []analytics.Reask{"", analytics.ReaskMaxTokens}},
		{"cli_refusal", "28f401cd-9c56-4fda-a946-488eb427ac7e", "cli_refusal",
			[]string{"req_fake_mx5154l4_000091", "req_fake_mx5154l4_000093"}, []analytics.Reask{"", analytics.ReaskRefusal}},
	}
	for _, tt := range tests {
		for _, mode := range ccModes {
			t.Run(tt.dir+"/"+mode, func(t *testing.T) {
				svc, st := newService(t, nil)
				var recs []*analytics.Record
				if tt.result == "" {
					recs = append(recs, claudeCodeRun(t, path.Join(tt.dir, "openinference"), "traces")...)
					recs = append(recs, claudeCodeRun(t, path.Join(tt.dir, "claude_code"), mode)...)
				} else {
					recs = append(recs, claudeCodeResult(t, tt.result, tt.session))
					recs = append(recs, claudeCodeRun(t, tt.dir, mode)...)
				}
				insertAll(t, st, recs)
				calls, err := svc.RunCalls(context.Background(), agentRecord(t, st, tt.session))
				if err != nil {
					t.Fatal(err)
				}
				var gotReq []string
				var gotReask []analytics.Reask
				for _, c := range calls {
					gotReq = append(gotReq, c.Record.RequestID)
					gotReask = append(gotReask, c.Reask)
				}
				if strings.Join(gotReq, " ") != strings.Join(tt.requests, " ") || len(gotReask) != len(tt.reasks) {
					t.Fatalf("calls %v, want %v", gotReq, tt.requests)
				}
				for i := range gotReask {
					if gotReask[i] != tt.reasks[i] {
						t.Errorf("call %d re-asked after %q, want %q", i, gotReask[i], tt.reasks[i])
					}
				}
			})
		}
	}
}

// TestRunCallsNone: a call is no run, and a run whose Claude Code sent
// nothing has no calls.
func TestRunCallsNone(t *testing.T) {
	svc, st := newService(t, nil)
	insertAll(t, st, []*analytics.Record{claudeCodeResult(t, "cli_end_turn", "lonely")})
	calls, err := svc.RunCalls(context.Background(), agentRecord(t, st, "lonely"))
	if err != nil || calls != nil {
		t.Errorf("RunCalls = %v, %v; want none", calls, err)
	}
	m := msg(now.Add(-time.Minute), "app", analytics.StopEndTurn)
	m.SessionID = "lonely"
	if calls, err := svc.RunCalls(context.Background(), m); err != nil || calls != nil {
		t.Errorf("RunCalls of a call = %v, %v; want none", calls, err)
	}
}

// answer makes the fixture's re-ask r a real answer, as if the stand-in
// had answered Claude Code's re-ask with text: end_turn, 9 output tokens.
func answer(r *analytics.Record) {
	r.Kind, r.StopReason, r.StopReasonUnrecorded = analytics.KindMessage, analytics.StopEndTurn, ""
	r.Content, r.ContentUnrecorded = []analytics.Block{{Type: "text", Text: "Hi! How can I help?"}}, false
	r.Usage.OutputTokens = 9
	r.Flags = 0
	analytics.Classify(r)
}

// TestClaudeCodeRecoveries counts Claude Code's own re-asks as the
// recoveries they are, in every mode: its continuation after max_tokens
// resolves the chain; an empty turn or a refusal that its re-ask in the
// same prompt answered is recovered, and one re-asked in vain is not; the
// counts and the records they list agree.
func TestClaudeCodeRecoveries(t *testing.T) {
	type want struct {
		kind, key string
		count     int
		detail    map[string]float64
		first     string // request id of the first example
	}
	tests := []struct {
		name, dir string
		answered  bool // the second call answered (answer)
		want      []want
		absent    []string
	}{
		{"max_tokens continued", "cli_max_tokens", false,
			[]want{{analytics.PatternTruncationChain, "", 1, map[string]float64{"continuations": 1, "completed": 1, "never_continued": 0}, "req_fake_mx5154l4_000085"}},
			[]string{analytics.PatternTruncationUnresolved}},
		{"empty turn re-asked in vain", "cli_empty_end_turn", false, nil,
			[]string{analytics.PatternEmptyTurnRecovered}},
		{"empty turn re-asked and answered", "cli_empty_end_turn", true,
			[]want{{analytics.PatternEmptyTurnRecovered, "", 1, map[string]float64{"claude_code_reasks": 1}, "req_fake_mx5154l4_000081"}}, nil},
		{"refusal re-asked in vain", "cli_refusal", false,
			[]want{{analytics.PatternRefusalsByModel, "claude-sonnet-4-6", 2, map[string]float64{"recovered": 0}, "req_fake_mx5154l4_000091"}}, nil},
		{"refusal re-asked and answered", "cli_refusal", true,
			[]want{{analytics.PatternRefusalsByModel, "claude-sonnet-4-6", 1, map[string]float64{"recovered": 1}, "req_fake_mx5154l4_000091"}}, nil},
	}
	for _, tt := range tests {
		for _, mode := range ccModes {
			t.Run(tt.name+"/"+mode, func(t *testing.T) {
				svc, st := newService(t, &ccNow)
				recs := analyticsJoin(claudeCodeRun(t, tt.dir, mode))
				if tt.answered {
					answer(recs[len(recs)-1])
				}
				insertAll(t, st, recs)
				res, err := svc.Patterns(context.Background(), store.Filter{From: ccNow.Add(-48 * time.Hour), To: ccNow}, analytics.DefaultPatternConfig(), 0)
				if err != nil {
					t.Fatal(err)
				}
				byKind := map[string]analytics.Pattern{}
				for _, p := range res.Patterns {
					byKind[p.Kind+"/"+p.Key] = p
				}
				for _, w := range tt.want {
					p, ok := byKind[w.kind+"/"+w.key]
					if !ok {
						t.Fatalf("no %s pattern in %+v", w.kind, res.Patterns)
					}
					if p.Count != w.count || len(p.ExampleIDs) != w.count {
						t.Errorf("%s: count %d, %d examples, want %d", w.kind, p.Count, len(p.ExampleIDs), w.count)
					}
					for k, v := range w.detail {
						if p.Detail[k] != v {
							t.Errorf("%s: %s = %v, want %v", w.kind, k, p.Detail[k], v)
						}
					}
					if len(p.ExampleIDs) > 0 {
						first, err := st.Get(context.Background(), p.ExampleIDs[0])
						if err != nil || first.RequestID != w.first {
							t.Errorf("%s: first example %v %v, want %s", w.kind, first, err, w.first)
						}
					}
				}
				for _, k := range tt.absent {
					for _, p := range res.Patterns {
						if p.Kind == k {
							t.Errorf("unexpected %s: %+v", k, p)
						}
					}
				}
			})
		}
	}
}

// analyticsJoin merges the records of one call, as the store does, so
// that a test can change the joined record before it is stored.
func analyticsJoin(recs []*analytics.Record) []*analytics.Record {
	idx := map[string]int{}
	var out []*analytics.Record
	for _, r := range recs {
		k := r.App + "\x00" + r.Identity()
		if i, ok := idx[k]; ok {
			out[i], _ = analytics.Merge(out[i], r)
			continue
		}
		idx[k] = len(out)
		out = append(out, r)
	}
	return out
}
