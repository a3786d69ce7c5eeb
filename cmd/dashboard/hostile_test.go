package main

import (
	"context"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/web"
)

// worstRecords are records with the worst numbers a store could hold from
// before ingest checked bounds, or from a bug: each is stored as it is.
func worstRecords(now time.Time) []*analytics.Record {
	huge := int64(1) << 62
	base := func(app string, i int) *analytics.Record {
		return &analytics.Record{
			Time: now.Add(-time.Duration(i+1) * time.Minute), Source: "otlp", App: app, Environment: "prod",
			// A model of its own: each record is alone in its rollup rows,
			// whose sums the store itself keeps within an int64.
			Kind: analytics.KindMessage, Model: "claude-x-" + strconv.Itoa(i), StopReason: analytics.StopEndTurn,
			MessageID: "msg_worst_" + app + "_" + strconv.Itoa(i),
		}
	}
	var out []*analytics.Record
	add := func(app string, set func(r *analytics.Record)) {
		r := base(app, len(out))
		set(r)
		out = append(out, r)
	}
	for _, app := range []string{"poison-a", "poison-b"} {
		// Two apps of huge counts: their sums overflow an int64.
		add(app, func(r *analytics.Record) {
			r.Usage = analytics.Usage{InputTokens: huge, OutputTokens: huge, CacheReadInputTokens: huge, CacheCreationInputTokens: huge,
				CompactionInputTokens: huge, CompactionOutputTokens: huge}
			r.LatencyMS, r.TTFTMS, r.Attempts = huge, huge, huge
		})
		add(app, func(r *analytics.Record) {
			r.Usage = analytics.Usage{InputTokens: math.MaxInt64, OutputTokens: math.MaxInt64}
			r.LatencyMS = math.MaxInt64
		})
		add(app, func(r *analytics.Record) {
			r.Usage = analytics.Usage{InputTokens: math.MinInt64, OutputTokens: -1}
			r.LatencyMS = math.MinInt64
		})
		for _, cost := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), 1e300, -1e300} {
			add(app, func(r *analytics.Record) {
				r.Kind, r.StopReason, r.Subtype = analytics.KindAgentResult, analytics.StopEndTurn, analytics.SubtypeSuccess
				r.CostUSD, r.NumTurns, r.DurationMS = cost, math.MaxInt64, math.MaxInt64
			})
		}
		add(app, func(r *analytics.Record) {
			r.Kind, r.StopReason, r.HTTPStatus, r.ErrorType = analytics.KindError, analytics.StopNull, math.MaxInt32, "overloaded_error"
		})
		add(app, func(r *analytics.Record) {
			r.Req = &analytics.Request{Model: "claude-x", MaxTokens: math.MaxInt64}
		})
	}
	// The store's own bounds on time, at both ends.
	edge := base("poison-a", len(out))
	edge.Time, edge.MessageID = time.Date(1970, 1, 1, 0, 0, 1, 0, time.UTC), "msg_worst_1970"
	out = append(out, edge)
	edge = base("poison-b", len(out))
	edge.Time, edge.MessageID = time.Date(2199, 12, 31, 0, 0, 0, 0, time.UTC), "msg_worst_2199"
	out = append(out, edge)
	return out
}

// getRoutes lists every GET route of the web server, its parameters filled
// with values that exist: a record id, a stop reason, a chart, a static file.
func getRoutes(t *testing.T, m *Main, id int64) []string {
	t.Helper()
	e, ok := (&web.Server{Store: m.Store}).Handler().(*echo.Echo)
	if !ok {
		t.Fatal("the web handler is not an echo")
	}
	static := ""
	if status, body := get(t, m.URL()+"/"); status == 200 {
		if i := strings.Index(body, "/static/"); i >= 0 {
			static = body[i : i+strings.IndexAny(body[i:], `"'`)]
		}
	}
	var out []string
	seen := map[string]bool{}
	for _, r := range e.Routes() {
		if r.Method != http.MethodGet || seen[r.Path] {
			continue
		}
		seen[r.Path] = true
		p := r.Path
		switch {
		case strings.Contains(p, "/alert-rules/:id"), strings.Contains(p, "/alert-channels/:id"), p == "/responses/export",
			strings.Contains(p, "/views/:slug"), p == "/v/:slug":
			continue // no rule, channel or saved view exists: 404 is their answer
		case p == "/static/:name":
			if static == "" {
				t.Fatal("the overview links no static file")
			}
			p = static
		case p == "/ui/chart/:kind":
			out = append(out, "/ui/chart/volume", "/ui/chart/metric?metric=refusal", "/ui/chart/metric?metric=stop_reason:end_turn")
			continue
		}
		p = strings.ReplaceAll(p, ":id", strconv.FormatInt(id, 10))
		p = strings.ReplaceAll(p, ":key", "end_turn")
		if strings.Contains(p, ":") {
			t.Fatalf("route %s has a parameter this test does not fill", r.Path)
		}
		out = append(out, p)
	}
	out = append(out, "/responses/export?format=csv", "/responses/export?format=json")
	return append(out, "/metrics", "/stop-reasons/null", "/stop-reasons/max_tokens")
}

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestReadsSurviveWorstStoredValues stores records with the worst numbers
// directly, bypassing ingest's checks, then asks every page and API route,
// for every app and for each poisoned one, and requires 200: a bad row must
// not take down the reads of every app.
func TestReadsSurviveWorstStoredValues(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { readsSurviveWorstStoredValues(t, startMain(t)) })
	t.Run("postgres", func(t *testing.T) {
		db := freshPostgres(t)
		readsSurviveWorstStoredValues(t, startMainWith(t, func(m *Main) { m.DB = db }))
	})
}

func readsSurviveWorstStoredValues(t *testing.T, m *Main) {
	now := time.Now().UTC()
	recs := worstRecords(now)
	for _, r := range recs {
		if err := m.Store.Insert(context.Background(), []*analytics.Record{r}); err != nil {
			t.Fatalf("insert %s: %v", r.MessageID, err)
		}
	}
	// And a good record, whose figures must still show.
	good := &analytics.Record{Time: now.Add(-time.Minute), Source: "native", App: "good", Kind: analytics.KindMessage,
		StopReason: analytics.StopEndTurn, MessageID: "msg_good", Usage: analytics.Usage{InputTokens: 12, OutputTokens: 9}}
	if err := m.Store.Insert(context.Background(), []*analytics.Record{good}); err != nil {
		t.Fatal(err)
	}
	wide := "from=" + url.QueryEscape(now.Add(-30*24*time.Hour).Format(time.RFC3339)) + "&to=" + url.QueryEscape(now.Add(time.Hour).Format(time.RFC3339))
	// SQLite keeps no NaN (its INSERT OR IGNORE drops a row whose NOT
	// NULL REAL column would be NULL); PostgreSQL keeps it.
	var stored []*analytics.Record
	for _, r := range recs {
		if r.ID != 0 {
			stored = append(stored, r)
		}
	}
	for _, id := range []int64{stored[0].ID, stored[3].ID, stored[len(stored)-1].ID} {
		for _, route := range getRoutes(t, m, id) {
			for _, q := range []string{"", "app=poison-a", "app=poison-b&" + wide, wide} {
				u := m.URL() + route
				if q != "" && !strings.HasPrefix(route, "/static/") && !strings.HasPrefix(route, "/responses/") && !strings.HasPrefix(route, "/api/v1/responses/") {
					if strings.Contains(u, "?") {
						u += "&" + q
					} else {
						u += "?" + q
					}
				}
				if status, body := get(t, u); status != 200 {
					t.Errorf("GET %s: %d %.300s", u, status, body)
				}
			}
		}
	}
	// Every record's own page and API answer, poisoned ones included.
	for _, r := range append(stored, good) {
		for _, p := range []string{"/responses/", "/api/v1/responses/"} {
			u := m.URL() + p + strconv.FormatInt(r.ID, 10)
			if status, body := get(t, u); status != 200 {
				t.Errorf("GET %s (%s): %d %.300s", u, r.MessageID, status, body)
			}
		}
	}
	var sum struct {
		Total int64 `json:"total"`
	}
	getJSON(t, m.URL()+"/api/v1/summary?app=good", &sum)
	if sum.Total != 1 {
		t.Errorf("the good app's total is %d, want 1", sum.Total)
	}
}

// hostileExport is an OTLP export of one good Claude span and one span of
// each hostile number.
func hostileExport(now time.Time) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "hostile")
	ss := rs.ScopeSpans().AppendEmpty()
	add := func(name string, set func(s ptrace.Span)) {
		s := ss.Spans().AppendEmpty()
		s.SetName(name)
		s.SetTraceID(pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
		s.SetSpanID(pcommon.SpanID{0, 0, 0, 0, 0, 0, 0, byte(ss.Spans().Len())})
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(now.Add(-time.Minute)))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(now.Add(-time.Minute + time.Second)))
		a := s.Attributes()
		a.PutStr("gen_ai.provider.name", "anthropic")
		a.PutStr("gen_ai.operation.name", "chat")
		a.PutStr("gen_ai.request.model", "claude-sonnet-4-6")
		a.PutStr("gen_ai.response.id", "msg_"+name)
		set(s)
	}
	add("good", func(s ptrace.Span) { s.Attributes().PutInt("gen_ai.usage.input_tokens", 12) })
	add("year-2300", func(s ptrace.Span) {
		t := pcommon.Timestamp(uint64(time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC).Unix()) * 1e9)
		s.SetStartTimestamp(t)
		s.SetEndTimestamp(t + 1e9)
	})
	add("negative", func(s ptrace.Span) { s.Attributes().PutInt("gen_ai.usage.input_tokens", -5) })
	add("huge", func(s ptrace.Span) { s.Attributes().PutInt("gen_ai.usage.output_tokens", 1<<62) })
	add("double", func(s ptrace.Span) { s.Attributes().PutDouble("gen_ai.usage.output_tokens", 1e300) })
	add("inf", func(s ptrace.Span) { s.Attributes().PutDouble("gen_ai.usage.output_tokens", math.Inf(1)) })
	add("nan-cost", func(s ptrace.Span) {
		s.Attributes().PutStr("gen_ai.operation.name", "invoke_agent")
		s.Attributes().PutDouble("gen_ai.usage.cost", math.NaN())
	})
	return td
}

// TestOTLPHostileNumbers posts one good span beside spans of every hostile
// number, as protobuf and as JSON: the export is answered 200, each bad span
// is rejected and named in partial_success, the good one is stored, and
// every read still answers.
func TestOTLPHostileNumbers(t *testing.T) {
	m := startMain(t)
	req := ptraceotlp.NewExportRequestFromTraces(hostileExport(time.Now()))
	pb, err := req.MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	js, err := req.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ctype string
		body  []byte
	}{{"application/x-protobuf", pb}, {"application/json", js}} {
		status, raw := post(t, m.URL()+"/v1/traces", tc.ctype, tc.body)
		if status != 200 {
			t.Fatalf("%s: POST /v1/traces: %d %s", tc.ctype, status, raw)
		}
		resp := ptraceotlp.NewExportResponse()
		if tc.ctype == "application/json" {
			err = resp.UnmarshalJSON(raw)
		} else {
			err = resp.UnmarshalProto(raw)
		}
		if err != nil {
			t.Fatal(err)
		}
		ps := resp.PartialSuccess()
		if ps.RejectedSpans() != 6 {
			t.Errorf("%s: %d spans rejected, want 6: %s", tc.ctype, ps.RejectedSpans(), ps.ErrorMessage())
		}
		for _, want := range []string{"usage.input_tokens is -5, below 0", "usage.output_tokens is 4611686018427387904",
			"gen_ai.usage.output_tokens is 1e+300", "; and 1 more", "time 2300-01-01T00:00:00Z is more than 24 hours after"} {
			if !strings.Contains(ps.ErrorMessage(), want) {
				t.Errorf("%s: partial_success %q does not say %q", tc.ctype, ps.ErrorMessage(), want)
			}
		}
	}
	var sum struct {
		Total int64 `json:"total"`
	}
	getJSON(t, m.URL()+"/api/v1/summary?app=hostile", &sum)
	if sum.Total != 1 {
		t.Errorf("stored %d records, want the good one (once)", sum.Total)
	}
	for _, p := range []string{"/api/v1/summary", "/api/v1/rates", "/api/v1/timeseries", "/", "/responses", "/api/v1/responses"} {
		if status, body := get(t, m.URL()+p); status != 200 {
			t.Errorf("GET %s: %d %.300s", p, status, body)
		}
	}
}
