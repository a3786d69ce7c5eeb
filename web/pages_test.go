package web

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"html"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/query"
	"github.com/stopscope/stopscope/store"
	"github.com/stopscope/stopscope/store/sqlite"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestPagesRender renders every dashboard page over a small known mix and
// checks what a user must find on it, and that no page carries inline
// script or style, which the Content-Security-Policy would block.
func TestPagesRender(t *testing.T) {
	ts, st := testServer(t)
	recs := fixture()
	odd := msg(now.Add(-25*time.Minute), "b", "some_future_reason", analytics.FlagUnknownStopReason)
	recs = append(recs, odd)
	insertAll(t, st, recs)
	rng := "?from=" + ts3339(now.Add(-time.Hour)) + "&to=" + ts3339(now)
	inlineStyle := regexp.MustCompile(`\sstyle=`)
	inlineScript := regexp.MustCompile(`<script(?:\s[^>]*)?>[^<]`)
	for _, tc := range []struct {
		path   string
		status int
		want   []string
	}{
		{"/" + rng, 200, []string{"Calls", "Refusal rate", "Calls by stop reason", "Apps by problem", `href="/stop-reasons/refusal?`}},
		{"/?range=7d&app=a", 200, []string{"Last 7 days", "app a"}},
		{"/responses" + rng + "&flag=refusal", 200, []string{"flag: refusal", "format=csv", "format=json"}},
		{"/responses" + rng + "&q=nothing-matches", 200, []string{"No records match"}},
		{"/stop-reasons/refusal" + rng, 200, []string{"Share of responses", "Share by app", "Claude declined"}},
		// null means a cut stream on a response, no API response on an
		// Agent SDK result: the page says both, each with its advice.
		{"/stop-reasons/null" + rng, 200, []string{"On a Messages API response:", "cut short", "On an Agent SDK result:",
			"No API response was received", "cached session", `class="docref" href="https://platform.claude.com/docs/en/agent-sdk/stop-reasons#available-stop-reasons"`}},
		{"/stop-reasons/some_future_reason" + rng, 200, []string{"does not know this stop reason", "update your client"}},
		{"/empty-turns" + rng, 200, []string{"Empty turn rate", "Causes", "Text right after a tool_result"}},
		{"/refusals" + rng, 200, []string{"Frequent refusers", "By app", "By session"}},
		{"/truncation" + rng, 200, []string{"Truncation rate", "max_tokens"}},
		{"/agent-runs" + rng, 200, []string{"No Agent SDK results in this range"}},
		{"/setup", 200, []string{"Data has arrived", "otelclaude.Middleware()", "OpenLLMetry", "OpenInference", "curl -sS"}},
		{"/ui/headline" + rng, 200, []string{`id="headline"`}},
		{"/" + rng + "&app=a", 200, []string{`hx-get="/ui/overview/spikes?`, `hx-get="/ui/overview/patterns?`, "app=a"}},
		{"/ui/overview/spikes" + rng, 200, []string{`id="overview-spikes"`}},
		{"/ui/overview/patterns" + rng, 200, []string{`id="overview-patterns"`, "Patterns found"}},
		{"/ui/overview/patterns?range=2w", 400, []string{"parameter range"}},
		{"/ui/setup-status", 200, []string{"Data has arrived"}},
		{"/?range=2w", 400, []string{"parameter range"}},
		{"/responses/999999", 404, []string{"no record with id"}},
	} {
		t.Run(tc.path, func(t *testing.T) {
			code, body := getHTML(t, ts.URL+tc.path)
			if code != tc.status {
				t.Fatalf("GET %s = %d, want %d\n%s", tc.path, code, tc.status, body)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("GET %s: no %q in the page", tc.path, w)
				}
			}
			if loc := inlineStyle.FindStringIndex(body); loc != nil {
				t.Errorf("GET %s: inline style at %q", tc.path, body[loc[0]:min(len(body), loc[1]+40)])
			}
			if inlineScript.MatchString(body) {
				t.Errorf("GET %s: inline script", tc.path)
			}
		})
	}
}

// TestRecordPageAdvice checks that a record's page gives the advice that
// fits its kind, with the documentation section of each piece: an Agent
// SDK result that is both flagged and an error subtype shows both advices,
// and a null stop reason on it is not called a cut stream.
func TestRecordPageAdvice(t *testing.T) {
	ts, st := testServer(t)
	truncated := &analytics.Record{Time: now.Add(-5 * time.Minute), Source: "native", App: "a", Model: "claude-x",
		Kind: analytics.KindAgentResult, Subtype: analytics.SubtypeErrorMaxTurns, StopReason: analytics.StopMaxTokens, NumTurns: 3}
	failed := &analytics.Record{Time: now.Add(-4 * time.Minute), Source: "native", App: "a", Model: "claude-x",
		Kind: analytics.KindAgentResult, Subtype: analytics.SubtypeErrorDuringExecution, StopReason: analytics.StopNull}
	cut := msg(now.Add(-3*time.Minute), "a", analytics.StopMaxTokens)
	window := msg(now.Add(-2*time.Minute), "a", analytics.StopModelContextWindowExceeded)
	for _, r := range []*analytics.Record{truncated, failed, cut, window} {
		analytics.Classify(r)
	}
	insertAll(t, st, []*analytics.Record{truncated, failed, cut, window})
	tests := []struct {
		name      string
		rec       *analytics.Record
		want, not []string
	}{
		{"flagged Agent SDK result with an error subtype", truncated,
			[]string{"SDK makes the requests", "Raise maxTurns", "How the run ended", `title="Source: Agent SDK: How the agent loop works, section Handle the result"`},
			[]string{"partial response back as the assistant turn", "prefill"}},
		{"Agent SDK result with no API response", failed,
			[]string{"No API response was received", "errors field", "[Available stop reasons]", "[Handle the result]"},
			[]string{"cut short"}},
		{"max_tokens response", cut,
			[]string{"partial response back as the assistant turn", "new user message", "[Handle truncated responses gracefully]",
				`href="https://platform.claude.com/docs/en/build-with-claude/handling-stop-reasons#handle-truncated-responses-gracefully"`, "[Ensuring complete responses]"},
			[]string{"prefill", "SDK makes the requests"}},
		{"context window response", window,
			[]string{"treat it as truncated", "not a fault", "[model_context_window_exceeded]"},
			[]string{"lower max_tokens"}},
	}
	for _, tc := range tests {
		code, body := getHTML(t, ts.URL+recordHref(tc.rec.ID))
		if code != 200 {
			t.Fatalf("%s: record page %d", tc.name, code)
		}
		body = html.UnescapeString(body)
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: the page lacks %q", tc.name, w)
			}
		}
		for _, w := range tc.not {
			if strings.Contains(body, w) {
				t.Errorf("%s: the page says %q", tc.name, w)
			}
		}
	}
}

// TestPatternDetailContextWindow checks that a max_tokens past the room
// the input left is told as the documented technique it is, not a fault.
func TestPatternDetailContextWindow(t *testing.T) {
	got := patternDetail(analytics.Pattern{Kind: analytics.PatternContextWindowExceeded,
		Detail: map[string]float64{"max_fill": 0.9, "mean_fill": 0.8, "input_plus_max_tokens_over": 3}})
	if strings.Contains(got, "more than fits") || !strings.Contains(got, "3 set max_tokens past the room the input left") || !strings.Contains(got, "documented") {
		t.Errorf("context window detail: %s", got)
	}
}

// TestRecordPage renders one response with its request, stream and
// conversation.
func TestRecordPage(t *testing.T) {
	ts, st := testServer(t)
	req := `{"model":"claude-x","max_tokens":100,"system":"Be brief.","messages":[{"role":"user","content":"add 1 and 2"},` +
		`{"role":"assistant","content":[{"type":"thinking","thinking":"easy sum"},{"type":"tool_use","id":"t1","name":"calculator","input":{"a":1,"b":2}}]},` +
		`{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"3"},{"type":"text","text":"Here you go"}]}]}`
	first := msg(now.Add(-10*time.Minute), "a", analytics.StopToolUse)
	first.SessionID = "s1"
	empty := msg(now.Add(-9*time.Minute), "a", analytics.StopEndTurn, analytics.FlagEmptyTurn)
	empty.SessionID, empty.Streamed = "s1", true
	empty.Release, empty.PromptVersion = "r42", "support@3"
	empty.Causes = []analytics.Cause{analytics.CauseTextAfterToolResult}
	empty.RequestBody = json.RawMessage(req)
	empty.StreamBody = "event: message_start\ndata: {\"type\":\"message_start\"}\n\nevent: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"}}\n\n"
	insertAll(t, st, []*analytics.Record{first, empty})
	code, body := getHTML(t, ts.URL+recordHref(empty.ID))
	if code != 200 {
		t.Fatalf("record page: %d\n%s", code, body)
	}
	for _, w := range []string{
		"Be brief.", "add 1 and 2", "easy sum", "calculator", "tool_result", "Here you go", // the request, readable
		"No content: the response was empty.", "text_after_tool_result", "What to do", // the response and its advice
		"Stream events (2)", "message_delta", // the stream
		"Conversation (2 calls)", recordHref(first.ID), // the thread
		"<dt>Release</dt>", "release=r42", "support@3", // the dimensions, linked
	} {
		if !strings.Contains(body, w) {
			t.Errorf("record page lacks %q", w)
		}
	}
}

// TestChartData checks the chart series add up to the counts.
func TestChartData(t *testing.T) {
	ts, st := testServer(t)
	insertAll(t, st, fixture())
	rng := "?from=" + ts3339(now.Add(-time.Hour)) + "&to=" + ts3339(now)
	var d chartData
	mustGet(t, ts, "/ui/chart/volume"+rng, &d)
	sums := map[string]float64{}
	for _, s := range d.Series {
		if len(s.Values) != len(d.X) {
			t.Errorf("series %s has %d values for %d x", s.Key, len(s.Values), len(d.X))
		}
		for _, v := range s.Values {
			sums[s.Key] += v
		}
	}
	want := map[string]float64{"refusal": 2, "max_tokens": 1, "end_turn": 4, "tool_use": 6, "error": 2}
	for k, w := range want {
		if sums[k] != w {
			t.Errorf("volume %s = %v, want %v (all: %v)", k, sums[k], w, sums)
		}
	}
	mustGet(t, ts, "/ui/chart/metric"+rng+"&metric=refusal", &d)
	if len(d.Series) != 1 || len(d.Low) != len(d.X) || len(d.High) != len(d.X) || len(d.N) != len(d.X) || len(d.Interval) != len(d.X) {
		t.Errorf("metric chart: %d series, %d low, %d high, %d n, %d interval for %d x", len(d.Series), len(d.Low), len(d.High), len(d.N), len(d.Interval), len(d.X))
	}
	if d.From != now.Add(-time.Hour).Unix() || d.To != now.Unix() || d.Bucket != 60 {
		t.Errorf("metric chart: range %d–%d in buckets of %d s, want %d–%d in 60", d.From, d.To, d.Bucket, now.Add(-time.Hour).Unix(), now.Unix())
	}
	if code, _ := get(t, ts, "/ui/chart/metric"+rng+"&metric=bogus", nil); code != 400 {
		t.Errorf("bad metric: %d, want 400", code)
	}
}

// TestExport checks that the CSV and JSON exports hold every record the
// list filters select, across pages, and pins the CSV format.
func TestExport(t *testing.T) {
	ts, st := testServer(t)
	insertAll(t, st, fixture())
	rng := "from=" + ts3339(now.Add(-time.Hour)) + "&to=" + ts3339(now)
	var list struct {
		Items []listItem `json:"items"`
	}
	mustGet(t, ts, "/api/v1/responses?"+rng+"&app=a&limit=1000", &list)
	var exported []listItem
	mustGet(t, ts, "/responses/export?format=json&"+rng+"&app=a", &exported)
	if len(exported) != len(list.Items) || len(exported) != 12 {
		t.Fatalf("JSON export has %d records, the list %d, want 12", len(exported), len(list.Items))
	}
	for i := range exported {
		if exported[i].ID != list.Items[i].ID {
			t.Errorf("export[%d] = %d, list %d", i, exported[i].ID, list.Items[i].ID)
		}
	}
	code, body := get(t, ts, "/responses/export?format=csv&"+rng+"&app=a", nil)
	if code != 200 {
		t.Fatalf("CSV export: %d %s", code, body)
	}
	golden := filepath.Join("testdata", "export.csv")
	if *update {
		if err := os.WriteFile(golden, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if body != string(want) {
		t.Errorf("CSV export differs from %s (go test -update to accept):\n%s", golden, body)
	}
	if code, _ := get(t, ts, "/responses/export?format=xml", nil); code != 400 {
		t.Errorf("bad format: %d, want 400", code)
	}
}

func TestParseSSE(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []sseEvent
	}{
		{"", nil},
		{"event: ping\ndata: {}\n\n", []sseEvent{{"ping", "{}"}}},
		{"event: a\r\ndata: 1\r\n\r\nevent: b\r\ndata: 2\r\n", []sseEvent{{"a", "1"}, {"b", "2"}}},
		{"data: x\ndata: y\n\n", []sseEvent{{"message", "x\ny"}}},
		{"event: a\ndata: 1\n: comment\nid: 7\n\nevent: b\ndata: 2", []sseEvent{{"a", "1"}, {"b", "2"}}},
		{"\n\n\n", nil},
	} {
		got := parseSSE(tc.in)
		if len(got) != len(tc.want) {
			t.Errorf("parseSSE(%q) = %v, want %v", tc.in, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("parseSSE(%q)[%d] = %v, want %v", tc.in, i, got[i], tc.want[i])
			}
		}
	}
}

func TestParseBlocks(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // type:text|name per block
	}{
		{`"hello"`, "text:hello|"},
		{`[{"type":"text","text":"a"},{"type":"thinking","thinking":"b"}]`, "text:a|thinking:b|"},
		{`[{"type":"tool_use","name":"calc","input":{}}]`, "tool_use:|calc"},
		{`[{"type":"tool_result","content":[{"type":"text","text":"3"}]}]`, "tool_result:3|"},
		{`[{"type":"server_tool_use","name":"web_search","input":{"query":"x"}}]`, "server_tool_use:|web_search"},
		{`[{"type":"redacted_thinking","data":"zzz"}]`, "redacted_thinking:(redacted by the API)|"},
		{`{"not":"a list"}`, "unknown:|"},
	} {
		var got strings.Builder
		for _, b := range parseBlocks(json.RawMessage(tc.in)) {
			got.WriteString(b.Type + ":" + b.Text + "|" + b.Name)
		}
		if got.String() != tc.want {
			t.Errorf("parseBlocks(%s) = %q, want %q", tc.in, got.String(), tc.want)
		}
	}
}

func TestParseTimeDatetimeLocal(t *testing.T) {
	ts, st := testServer(t)
	insertAll(t, st, fixture())
	code, body := getHTML(t, ts.URL+"/?range=custom&from=2026-03-02T11:00&to=2026-03-02T12:00:00")
	if code != 200 || !strings.Contains(body, "2026-03-02 11:00 – 2026-03-02 12:00 UTC") {
		t.Errorf("datetime-local range: %d\n%s", code, body)
	}
}

// getHTML fetches a page as a browser does.
func getHTML(t *testing.T, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestFilterOptionsSelected checks that the filter bar always lists a
// selected value, without changing the read model's cached lists.
func TestFilterOptionsSelected(t *testing.T) {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "stopscope.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := &Server{Store: st, Query: query.New(st, func() time.Time { return now })}
	ctx := context.Background()
	f := store.Filter{From: now.Add(-24 * time.Hour), To: now}
	apps := func(sel string) []string {
		t.Helper()
		f := f
		f.App = sel
		o, err := s.filterOptions(ctx, f, true)
		if err != nil {
			t.Fatal(err)
		}
		return o.Apps
	}
	insertAll(t, st, []*analytics.Record{msg(now.Add(-time.Hour), "b", analytics.StopEndTurn)})
	for _, tc := range []struct {
		sel  string
		want []string
	}{
		{"", []string{"b"}},
		{"c", []string{"b", "c"}},
		{"a", []string{"a", "b"}},
		{"b", []string{"b"}},
		{"", []string{"b"}},
	} {
		if got := apps(tc.sel); !slices.Equal(got, tc.want) {
			t.Errorf("with %q selected: apps = %v, want %v", tc.sel, got, tc.want)
		}
	}
}

// TestExportCSVFormulas: every text cell a producer can set is kept from
// being read as a formula, not only the model's text.
func TestExportCSVFormulas(t *testing.T) {
	rec := &analytics.Record{
		ID: 1, Time: now, Kind: analytics.KindError,
		App: "=HYPERLINK(\"http://evil.example\")", Environment: "+1+1", Model: "-2+3",
		ErrorType: "@SUM(A1)", Subtype: "\t=1", SessionID: "\r=1", RequestID: "=cmd|' /C calc'!A0",
		MessageID: "+msg", Content: []analytics.Block{{Type: "text", Text: "=1+1"}},
	}
	body, err := exportCSV([]*analytics.Record{rec})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil || len(rows) != 2 {
		t.Fatalf("CSV: %v, %d rows", err, len(rows))
	}
	for i, cell := range rows[1] {
		if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
			t.Errorf("column %s: %q starts a formula", rows[0][i], cell)
		}
	}
	for _, col := range []string{"app", "environment", "model", "error_type", "subtype", "session_id", "request_id", "message_id", "text"} {
		i := slices.Index(rows[0], col)
		if i < 0 || !strings.HasPrefix(rows[1][i], "'") {
			t.Errorf("column %s: %q is not escaped", col, rows[1][i])
		}
	}
}

// TestExportUnknownNumbers: a number no producer reported is an empty CSV
// cell and a JSON null, never 0; a reported one, a refusal's stop_details
// and an Agent SDK run's turns, cost and duration are written as they came,
// through the HTTP exports.
func TestExportUnknownNumbers(t *testing.T) {
	ts, st := testServer(t)
	recs := []*analytics.Record{
		{Time: now.Add(-3 * time.Minute), App: "x", Model: "m", Kind: analytics.KindMessage, StopReason: analytics.StopEndTurn},
		{Time: now.Add(-2 * time.Minute), App: "x", Model: "m", Kind: analytics.KindMessage, StopReason: analytics.StopRefusal,
			LatencyMS: 812, TTFTMS: 95, Usage: analytics.Usage{CacheReadInputTokens: 300, CacheCreationInputTokens: 120, CacheCreation1hInputTokens: 100},
			StopDetails: &analytics.StopDetails{Type: "refusal", Category: analytics.RefusalCategoryCyber, Explanation: "=why"}},
		{Time: now.Add(-time.Minute), App: "x", Model: "m", Kind: analytics.KindAgentResult, StopReason: analytics.StopEndTurn,
			Subtype: analytics.SubtypeSuccess, NumTurns: 7, CostUSD: 0.0123, DurationMS: 45000},
	}
	for _, r := range recs {
		analytics.Classify(r)
	}
	insertAll(t, st, recs)
	rng := "from=" + ts3339(now.Add(-time.Hour)) + "&to=" + ts3339(now) + "&app=x"
	code, body := get(t, ts, "/responses/export?format=csv&"+rng, nil)
	if code != 200 {
		t.Fatalf("CSV export: %d %s", code, body)
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || len(rows) != 4 {
		t.Fatalf("CSV: %v, %d rows", err, len(rows))
	}
	cell := func(row int, col string) string {
		i := slices.Index(rows[0], col)
		if i < 0 {
			t.Fatalf("no column %s in %v", col, rows[0])
		}
		return rows[row][i]
	}
	// Newest first: the agent run, the refusal, the plain message.
	for _, tc := range []struct {
		row       int
		col, want string
	}{
		{3, "latency_ms", ""}, {3, "ttft_ms", ""}, {3, "num_turns", ""}, {3, "cost_usd", ""}, {3, "duration_ms", ""},
		{3, "refusal_category", ""}, {3, "refusal_explanation", ""},
		{2, "latency_ms", "812"}, {2, "ttft_ms", "95"}, {2, "refusal_category", "cyber"}, {2, "refusal_explanation", "'=why"},
		{1, "num_turns", "7"}, {1, "cost_usd", "0.0123"}, {1, "duration_ms", "45000"}, {1, "latency_ms", ""},
		// Token counts are always known: 0 is a count, not a gap.
		{3, "cache_read_input_tokens", "0"}, {3, "cache_creation_1h_input_tokens", "0"},
		{2, "cache_read_input_tokens", "300"}, {2, "cache_creation_input_tokens", "120"}, {2, "cache_creation_1h_input_tokens", "100"},
	} {
		if got := cell(tc.row, tc.col); got != tc.want {
			t.Errorf("row %d %s = %q, want %q", tc.row, tc.col, got, tc.want)
		}
	}
	var items []map[string]any
	mustGet(t, ts, "/responses/export?format=json&"+rng, &items)
	if len(items) != 3 {
		t.Fatalf("JSON export has %d records, want 3", len(items))
	}
	for _, tc := range []struct {
		item  int
		field string
		want  any
	}{
		{2, "latency_ms", nil}, {2, "ttft_ms", nil}, {2, "num_turns", nil}, {2, "cost_usd", nil}, {2, "duration_ms", nil},
		{1, "latency_ms", 812.0}, {1, "ttft_ms", 95.0},
		{0, "num_turns", 7.0}, {0, "cost_usd", 0.0123}, {0, "duration_ms", 45000.0},
	} {
		got, ok := items[tc.item][tc.field]
		if !ok || got != tc.want {
			t.Errorf("item %d %s = %v (present %v), want %v", tc.item, tc.field, got, ok, tc.want)
		}
	}
	if sd, _ := items[1]["stop_details"].(map[string]any); sd["category"] != "cyber" {
		t.Errorf("JSON export lost stop_details: %v", items[1]["stop_details"])
	}
}

func TestListTotal(t *testing.T) {
	for _, tc := range []struct {
		shown, total int
		want         string
	}{
		{0, 0, "0 records"}, {1, 1, "1 record"}, {12, 12, "12 records"},
		{50, 1234, "showing 50 of 1,234 records"},
		{50, MaxListTotal, "showing 50 of more than 100,000 records"},
	} {
		if got := listTotal(tc.shown, tc.total); got != tc.want {
			t.Errorf("listTotal(%d, %d) = %q, want %q", tc.shown, tc.total, got, tc.want)
		}
	}
}
