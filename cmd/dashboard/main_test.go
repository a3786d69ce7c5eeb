package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stopscope/stopscope/ingest/testfixtures"
)

// startMain runs the real service on a free port with a fresh SQLite store.
func startMain(t *testing.T) *Main {
	t.Helper()
	var out bytes.Buffer
	m := NewMain(&out, io.Discard)
	m.Addr = "127.0.0.1:0"
	m.OTLPGRPCAddr = ""
	m.DB = filepath.Join(t.TempDir(), "stopscope.db")
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Error(err)
		}
	})
	if !strings.Contains(out.String(), m.URL()) {
		t.Errorf("welcome message does not say where it listens: %q", out.String())
	}
	return m
}

type expectation = testfixtures.Expectation

func loadExpected(t *testing.T) map[string]expectation { return testfixtures.Expected(t) }

// fixtureRecord wraps a fixture file in an envelope with the given app.
func fixtureRecord(t *testing.T, name, app string) map[string]any {
	t.Helper()
	raw := testfixtures.Read(t, name)
	// Failed requests have no message id: the request id (the API's
	// request-id header) is their identity, as a real client would send it.
	env := map[string]any{"app": app, "environment": "test", "request_id": "req-" + app + "-" + name}
	switch {
	case strings.HasPrefix(name, "streams/"):
		env["stream"] = string(raw)
	case strings.HasPrefix(name, "agent_sdk/"):
		env["result"] = json.RawMessage(raw)
	case strings.HasPrefix(name, "errors/"):
		var status int
		for _, s := range []string{"429", "500", "529"} {
			if strings.Contains(name, s) {
				status = map[string]int{"429": 429, "500": 500, "529": 529}[s]
			}
		}
		env["error"] = map[string]any{"status": status, "body": json.RawMessage(raw)}
	default:
		env["response"] = json.RawMessage(raw)
	}
	return env
}

func post(t *testing.T, url, ctype string, body []byte) (int, []byte) {
	t.Helper()
	resp, err := http.Post(url, ctype, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
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

type summary struct {
	Total       int64            `json:"total"`
	Kinds       map[string]int64 `json:"kinds"`
	StopReasons map[string]int64 `json:"stop_reasons"`
	Flags       map[string]int64 `json:"flags"`
	Errors      struct {
		Total    int64            `json:"total"`
		ByType   map[string]int64 `json:"by_type"`
		ByStatus map[string]int64 `json:"by_status"`
	} `json:"errors"`
	AgentSubtypes map[string]int64 `json:"agent_subtypes"`
}

// TestIngestEveryFixture posts every fixture as NDJSON, then checks the
// summary against counts derived from expected.json, and that a retry of
// the same batch changes nothing.
func TestIngestEveryFixture(t *testing.T) {
	m := startMain(t)
	exp := loadExpected(t)
	names := make([]string, 0, len(exp))
	for name := range exp {
		names = append(names, name)
	}
	sort.Strings(names)

	var ndjson bytes.Buffer
	for _, name := range names {
		// One app per fixture: some stream fixtures share a message id
		// (a cut stream and a whole one), and identities are per app.
		line, _ := json.Marshal(fixtureRecord(t, name, "fx-"+name))
		ndjson.Write(line)
		ndjson.WriteByte('\n')
	}
	want := wantSummary(exp, names)
	for attempt := 0; attempt < 2; attempt++ {
		status, body := post(t, m.URL()+"/v1/responses", "application/x-ndjson", ndjson.Bytes())
		if status != 200 {
			t.Fatalf("attempt %d: status %d: %s", attempt, status, body)
		}
		var ans struct {
			Accepted int               `json:"accepted"`
			Rejected []json.RawMessage `json:"rejected"`
		}
		if err := json.Unmarshal(body, &ans); err != nil {
			t.Fatal(err)
		}
		if ans.Accepted != len(names) || len(ans.Rejected) != 0 {
			t.Fatalf("attempt %d: accepted %d of %d, rejected %s", attempt, ans.Accepted, len(names), body)
		}
	}
	var got summary
	getJSON(t, m.URL()+"/api/v1/summary", &got)
	compareSummary(t, got, want)

	// Drill down: the refusals listed are the refusals counted.
	var list struct {
		Items []struct {
			ID         int64   `json:"id"`
			StopReason *string `json:"stop_reason"`
		} `json:"items"`
	}
	getJSON(t, m.URL()+"/api/v1/responses?stop_reason=refusal&limit=100", &list)
	if int64(len(list.Items)) != want.StopReasons["refusal"] {
		t.Errorf("listed %d refusals, counted %d", len(list.Items), want.StopReasons["refusal"])
	}
	for _, it := range list.Items {
		var rec map[string]any
		getJSON(t, m.URL()+"/api/v1/responses/"+itoa(int(it.ID)), &rec)
		if rec["stop_reason"] != "refusal" {
			t.Errorf("record %d: stop_reason %v", it.ID, rec["stop_reason"])
		}
	}
}

// TestBadLinesKeepGoodOnes: a batch with bad lines stores the good ones and
// names each bad one by its index.
func TestBadLinesKeepGoodOnes(t *testing.T) {
	m := startMain(t)
	good, _ := json.Marshal(fixtureRecord(t, "messages/end_turn.json", "bad-lines"))
	body := strings.Join([]string{
		string(good),
		`{"type": "message", "stop_reason": `,
		`{"type": "banana"}`,
		`{"app": "bad-lines", "time": "yesterday", "response": {"type":"message","id":"msg_x","content":[],"stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":2}}}`,
	}, "\n")
	status, raw := post(t, m.URL()+"/v1/responses", "application/x-ndjson", []byte(body))
	if status != 200 {
		t.Fatalf("status %d: %s", status, raw)
	}
	var ans struct {
		Accepted int `json:"accepted"`
		Rejected []struct {
			Index int    `json:"index"`
			Error string `json:"error"`
		} `json:"rejected"`
	}
	if err := json.Unmarshal(raw, &ans); err != nil {
		t.Fatal(err)
	}
	if ans.Accepted != 1 {
		t.Errorf("accepted = %d, want 1", ans.Accepted)
	}
	idx := []int{}
	for _, r := range ans.Rejected {
		idx = append(idx, r.Index)
		if r.Error == "" {
			t.Errorf("record %d rejected without a reason", r.Index)
		}
	}
	if len(idx) != 3 || idx[0] != 1 || idx[1] != 2 || idx[2] != 3 {
		t.Errorf("rejected indexes %v, want [1 2 3]: %s", idx, raw)
	}
	var got summary
	getJSON(t, m.URL()+"/api/v1/summary?app=bad-lines", &got)
	if got.Total != 1 || got.StopReasons["end_turn"] != 1 {
		t.Errorf("summary after a batch with bad lines: total %d, end_turn %d; want 1 and 1", got.Total, got.StopReasons["end_turn"])
	}

	status, raw = post(t, m.URL()+"/v1/responses", "application/json", []byte("not json at all"))
	if status != 400 || !strings.Contains(string(raw), `"error"`) {
		t.Errorf("unreadable body: status %d %s, want 400 with an error", status, raw)
	}
}

// TestReadAPIErrors: a bad parameter is a 400 that names it.
func TestReadAPIErrors(t *testing.T) {
	m := startMain(t)
	for _, tc := range []struct {
		path, param string
		status      int
	}{
		{"/api/v1/summary?from=yesterday", "from", 400},
		{"/api/v1/summary?to=2026-13-01T00:00:00Z", "to", 400},
		{"/api/v1/responses?flag=sad", "flag", 400},
		{"/api/v1/responses?kind=x", "kind", 400},
		{"/api/v1/responses?limit=0", "limit", 400},
		{"/api/v1/responses/999999", "999999", 404},
		{"/api/v1/responses/abc", "abc", 404},
	} {
		resp, err := http.Get(m.URL() + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var e struct {
			Error string `json:"error"`
		}
		if resp.StatusCode != tc.status || json.Unmarshal(b, &e) != nil || !strings.Contains(e.Error, tc.param) {
			t.Errorf("GET %s = %d %s; want %d naming %q", tc.path, resp.StatusCode, b, tc.status, tc.param)
		}
	}
	resp, err := http.Get(m.URL() + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("healthz: %v %v", resp, err)
	}
}

// TestFlagsAndEnvironment: the address and database come from flags or
// from STOPSCOPE_ADDR and STOPSCOPE_DB, flags winning.
func TestFlagsAndEnvironment(t *testing.T) {
	env := map[string]string{"STOPSCOPE_ADDR": "127.0.0.1:9999", "STOPSCOPE_DB": "/tmp/x.db"}
	m := NewMain(io.Discard, io.Discard)
	if err := m.ParseFlags(nil, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if m.Addr != "127.0.0.1:9999" || m.DB != "/tmp/x.db" {
		t.Errorf("from env: addr %q db %q", m.Addr, m.DB)
	}
	m = NewMain(io.Discard, io.Discard)
	if err := m.ParseFlags([]string{"--addr", "127.0.0.1:7777", "--db", "/tmp/y.db"}, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if m.Addr != "127.0.0.1:7777" || m.DB != "/tmp/y.db" {
		t.Errorf("from flags: addr %q db %q", m.Addr, m.DB)
	}
	m = NewMain(io.Discard, io.Discard)
	if err := m.ParseFlags(nil, func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	if m.Addr != "127.0.0.1:8080" || m.DB != "./data/stopscope.db" {
		t.Errorf("defaults: addr %q db %q", m.Addr, m.DB)
	}
}

// wantSummary is the summary that expected.json implies for the named
// fixtures, each posted once.
func wantSummary(exp map[string]expectation, names []string) summary {
	want := summary{Kinds: map[string]int64{}, StopReasons: map[string]int64{}, Flags: map[string]int64{}, AgentSubtypes: map[string]int64{}}
	want.Errors.ByType = map[string]int64{}
	want.Errors.ByStatus = map[string]int64{}
	for _, name := range names {
		e := exp[name]
		want.Total++
		for _, f := range e.Flags {
			want.Flags[f]++
		}
		switch {
		case e.Error != nil:
			want.Kinds["error"]++
			want.Errors.Total++
			want.Errors.ByType[e.Error.Type]++
			if e.Error.Status != 0 {
				want.Errors.ByStatus[itoa(e.Error.Status)]++
			}
		default:
			k := "message"
			if e.Subtype != "" {
				k = "agent_result"
				want.AgentSubtypes[e.Subtype]++
			}
			want.Kinds[k]++
			sr := "null"
			if e.StopReason != nil {
				sr = *e.StopReason
			}
			want.StopReasons[sr]++
		}
	}
	return want
}

// compareSummary reports every count where got differs from want.
func compareSummary(t *testing.T, got, want summary) {
	t.Helper()
	if got.Total != want.Total {
		t.Errorf("total = %d, want %d", got.Total, want.Total)
	}
	compare := func(what string, got, want map[string]int64) {
		t.Helper()
		got, want = nonZero(got), nonZero(want)
		for k, n := range want {
			if got[k] != n {
				t.Errorf("%s[%s] = %d, want %d", what, k, got[k], n)
			}
		}
		for k, n := range got {
			if want[k] != n {
				t.Errorf("%s[%s] = %d, want %d", what, k, n, want[k])
			}
		}
	}
	compare("kinds", got.Kinds, want.Kinds)
	compare("stop_reasons", got.StopReasons, want.StopReasons)
	compare("flags", got.Flags, want.Flags)
	compare("errors.by_type", got.Errors.ByType, want.Errors.ByType)
	compare("errors.by_status", got.Errors.ByStatus, want.Errors.ByStatus)
	compare("agent_subtypes", got.AgentSubtypes, want.AgentSubtypes)
	if got.Errors.Total != want.Errors.Total {
		t.Errorf("errors.total = %d, want %d", got.Errors.Total, want.Errors.Total)
	}
}

func nonZero(m map[string]int64) map[string]int64 {
	out := map[string]int64{}
	for k, v := range m {
		if v != 0 {
			out[k] = v
		}
	}
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }

// The welcome message's curl command works as printed: its body is
// accepted and counted.
func TestWelcomeCurlWorks(t *testing.T) {
	var out bytes.Buffer
	m := NewMain(&out, io.Discard)
	m.Addr, m.OTLPGRPCAddr = "127.0.0.1:0", ""
	m.DB = filepath.Join(t.TempDir(), "stopscope.db")
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var line string
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.Contains(l, "curl ") {
			line = l
		}
	}
	i, j := strings.Index(line, "-d '"), strings.LastIndex(line, "'")
	if line == "" || i < 0 || j <= i+4 || !strings.Contains(line, "Content-Type: application/json") {
		t.Fatalf("no curl command with a JSON body in the welcome message:\n%s", out.String())
	}
	code, body := post(t, m.URL()+"/v1/responses", "application/json", []byte(line[i+4:j]))
	if code != 200 || !strings.Contains(string(body), `"accepted":1`) {
		t.Errorf("the welcome's curl body: %d %s", code, body)
	}
}
