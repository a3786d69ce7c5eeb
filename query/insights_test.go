package query_test

import (
	"context"
	"fmt"
	"github.com/stopscope/stopscope/query"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
	"github.com/stopscope/stopscope/store/sqlite"
)

// now is the fixed clock of these tests: a Monday, 12:00 UTC.
var now = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

// newService returns a query.Service over a fresh SQLite store with the clock
// at *clock, or fixed at now when clock is nil.
func newService(t *testing.T, clock *time.Time) (*query.Service, store.Store) {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "stopscope.db"))
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	if clock == nil {
		c := now
		clock = &c
	}
	return query.New(st, func() time.Time { return *clock }), st
}

// lastHours is the filter of the n hours before now.
func lastHours(n int) store.Filter {
	return store.Filter{From: now.Add(-time.Duration(n) * time.Hour), To: now}
}

func insertAll(t *testing.T, st store.Store, recs []*analytics.Record) {
	t.Helper()
	for len(recs) > 0 {
		n := min(len(recs), 2000)
		if err := st.Insert(context.Background(), recs[:n]); err != nil {
			t.Fatalf("Insert: %v", err)
		}
		recs = recs[n:]
	}
}

// msg makes a message record.
func msg(at time.Time, app string, stop analytics.StopReason, flags ...analytics.Flag) *analytics.Record {
	r := &analytics.Record{Time: at, Source: "native", App: app, Environment: "prod", Model: "claude-x", Kind: analytics.KindMessage, StopReason: stop}
	for _, f := range flags {
		r.Flags = r.Flags.With(f)
	}
	return r
}

func errRec(at time.Time, app string) *analytics.Record {
	return &analytics.Record{Time: at, Source: "native", App: app, Environment: "prod", Model: "claude-x", Kind: analytics.KindError, HTTPStatus: 529, ErrorType: "overloaded_error"}
}

// fixture is a small known mix in the hour before now: app "a" has 10
// responses (2 refusals, 1 truncation, 1 empty turn) and 2 errors, app "b"
// 4 end_turn responses, one of them 3 hours earlier.
func fixture() []*analytics.Record {
	at := func(m int) time.Time { return now.Add(-time.Duration(m) * time.Minute) }
	recs := []*analytics.Record{
		msg(at(50), "a", analytics.StopRefusal, analytics.FlagRefusal),
		msg(at(40), "a", analytics.StopRefusal, analytics.FlagRefusal),
		msg(at(30), "a", analytics.StopMaxTokens, analytics.FlagTruncated),
		msg(at(20), "a", analytics.StopEndTurn, analytics.FlagEmptyTurn),
		errRec(at(15), "a"),
		errRec(at(5), "a"),
		msg(at(59), "b", analytics.StopEndTurn),
		msg(at(1), "b", analytics.StopEndTurn),
		msg(at(2), "b", analytics.StopEndTurn),
		msg(at(180), "b", analytics.StopEndTurn),
	}
	for i := range 6 {
		recs = append(recs, msg(at(10+i), "a", analytics.StopToolUse))
	}
	return recs
}

func TestRates(t *testing.T) {
	s, st := newService(t, nil)
	insertAll(t, st, fixture())
	ctx := context.Background()

	f := lastHours(1)
	f.App = "a"
	got, err := s.Rates(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	if got.Calls != 12 || got.Responses != 10 || got.Errors != 2 {
		t.Fatalf("calls/responses/errors = %d/%d/%d, want 12/10/2", got.Calls, got.Responses, got.Errors)
	}
	wilson := func(k, n int64) analytics.Rate {
		lo, hi := analytics.Wilson(k, n, analytics.Z95)
		return analytics.Rate{Num: k, Den: n, Value: float64(k) / float64(n), Low: lo, High: hi}
	}
	tests := []struct {
		name string
		got  analytics.Rate
		want analytics.Rate
	}{
		{"refusal", got.Refusal, wilson(2, 10)},
		{"empty_turn", got.EmptyTurn, wilson(1, 10)},
		{"truncation", got.Truncation, wilson(1, 10)},
		{"error", got.Error, wilson(2, 12)},
	}
	for _, tc := range tests {
		tc.want.Metric = tc.name
		if !closeRate(tc.got, tc.want) {
			t.Errorf("%s = %+v, want %+v", tc.name, tc.got, tc.want)
		}
	}
	share := map[string]int64{}
	for _, r := range got.StopReasons {
		share[r.Metric] = r.Num
		if r.Den != 10 {
			t.Errorf("%s over %d, want over the 10 responses", r.Metric, r.Den)
		}
	}
	// Every known stop reason and null has a share, zero if unseen.
	want := map[string]int64{"stop_reason:null": 0}
	for _, r := range analytics.KnownStopReasons {
		want[string(analytics.StopReasonMetric(r))] = 0
	}
	want["stop_reason:end_turn"], want["stop_reason:max_tokens"], want["stop_reason:tool_use"], want["stop_reason:refusal"] = 1, 1, 6, 2
	if fmt.Sprint(share) != fmt.Sprint(want) {
		t.Errorf("stop reason shares = %v, want %v", share, want)
	}

	// By app: a has more calls, so it comes first; b's record of 3 hours
	// ago is out of range.
	scopes, err := s.RatesBy(ctx, lastHours(1), []store.Dim{store.DimApp})
	if err != nil {
		t.Fatal(err)
	}
	if len(scopes) != 2 || scopes[0].Scope.App != "a" || scopes[1].Scope.App != "b" ||
		scopes[0].Calls != 12 || scopes[1].Calls != 3 {
		t.Errorf("by app = %+v", scopes)
	}

	// Shares: the refusal rate per app, highest first, a leading.
	shares, more, err := s.Shares(ctx, lastHours(1), store.DimApp, analytics.MetricRefusal)
	if err != nil {
		t.Fatal(err)
	}
	if len(shares) != 2 || more != 0 || shares[0].Key != "a" || !shares[0].Top || shares[0].Rate.Num != 2 || shares[1].Top {
		t.Errorf("refusal shares = %+v", shares)
	}
}

func closeRate(a, b analytics.Rate) bool {
	near := func(x, y float64) bool { return math.Abs(x-y) < 1e-12 }
	return a.Metric == b.Metric && a.Num == b.Num && a.Den == b.Den && near(a.Value, b.Value) && near(a.Low, b.Low) && near(a.High, b.High)
}

func TestTimeseries(t *testing.T) {
	s, st := newService(t, nil)
	insertAll(t, st, fixture())
	ctx := context.Background()

	got, err := s.Timeseries(ctx, lastHours(6), time.Hour, analytics.MetricRefusal)
	if err != nil {
		t.Fatal(err)
	}
	if got.Bucket != "1h" || len(got.Points) != 6 || got.Metric != analytics.MetricRefusal {
		t.Fatalf("bucket %s, %d points, metric %s; want 1h, 6, refusal", got.Bucket, len(got.Points), got.Metric)
	}
	// 09:00 holds b's early record, 11:00 the rest; other buckets are empty.
	calls := []int64{}
	for _, p := range got.Points {
		calls = append(calls, p.Calls)
	}
	if fmt.Sprint(calls) != "[0 0 0 1 0 15]" {
		t.Errorf("calls per bucket = %v", calls)
	}
	last := got.Points[5]
	if !last.Bucket.Equal(now.Add(-time.Hour)) || last.Responses != 13 || last.Errors != 2 ||
		last.StopReasons["refusal"] != 2 || last.StopReasons["tool_use"] != 6 || last.StopReasons["end_turn"] != 4 ||
		last.Flags[analytics.FlagRefusal] != 2 || last.Flags[analytics.FlagTruncated] != 1 ||
		last.Flags[analytics.FlagEmptyTurn] != 1 || last.Value.Num != 2 || last.Value.Den != 13 ||
		math.Abs(last.Refusal-2.0/13) > 1e-12 || math.Abs(last.Error-2.0/15) > 1e-12 {
		t.Errorf("last point = %+v", last)
	}
	if got.Total.Calls != 16 || got.Total.Refusal.Num != 2 {
		t.Errorf("total = %+v", got.Total)
	}

	// A share metric, in minutes over an hour, scoped to an app.
	f := lastHours(1)
	f.App = "b"
	got, err = s.Timeseries(ctx, f, 0, analytics.StopReasonMetric(analytics.StopEndTurn))
	if err != nil {
		t.Fatal(err)
	}
	if got.Bucket != "1m" || len(got.Points) != 60 || got.Total.Calls != 3 {
		t.Fatalf("bucket %s, %d points, %d calls; want 1m, 60, 3", got.Bucket, len(got.Points), got.Total.Calls)
	}
	var ends int64
	for _, p := range got.Points {
		ends += p.Value.Num
	}
	if ends != 3 {
		t.Errorf("end_turn share numerators sum to %d, want 3", ends)
	}
}

// TestIntervalShown checks the rule that decides where a chart draws a
// bucket's 95% interval.
func TestIntervalShown(t *testing.T) {
	for _, tt := range []struct {
		n       int64
		overall float64
		want    bool
	}{
		{0, 0.5, false},
		{29, 0.5, false},     // too few calls
		{30, 0.5, true},      // 15 expected each way
		{170, 0.003, false},  // a rare reason per hour: 0.5 expected
		{1700, 0.003, true},  // 5.1 expected
		{100, 0.02, false},   // 2 expected refusals
		{250, 0.02, true},    // 5
		{1000, 0.998, false}, // 2 expected non-events
		{1000, 0, false},
	} {
		if got := query.IntervalShown(tt.n, tt.overall); got != tt.want {
			t.Errorf("IntervalShown(%d, %g) = %v, want %v", tt.n, tt.overall, got, tt.want)
		}
	}
}

// TestChart checks that the chart series add up to the counts.
func TestChart(t *testing.T) {
	s, st := newService(t, nil)
	insertAll(t, st, fixture())
	ctx := context.Background()
	d, err := s.Chart(ctx, lastHours(1), query.ChartVolume, "")
	if err != nil {
		t.Fatal(err)
	}
	if d.Bucket != time.Minute || len(d.X) != 60 || d.X[0] != now.Add(-time.Hour).Unix() {
		t.Errorf("bucket %s, %d x from %d", d.Bucket, len(d.X), d.X[0])
	}
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
	if fmt.Sprint(sums) != fmt.Sprint(want) {
		t.Errorf("volume = %v, want %v", sums, want)
	}
	d, err = s.Chart(ctx, lastHours(1), query.ChartMetric, analytics.MetricRefusal)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Series) != 1 || d.Series[0].Key != "refusal" || len(d.Low) != len(d.X) || len(d.High) != len(d.X) {
		t.Errorf("metric chart: %d series, %d low, %d high for %d x", len(d.Series), len(d.Low), len(d.High), len(d.X))
	}
	var n int64
	for i := range d.X {
		n += d.N[i]
		if d.Interval[i] != query.IntervalShown(d.N[i], 2.0/13) {
			t.Errorf("bucket %d: interval shown %v for n %d", i, d.Interval[i], d.N[i])
		}
	}
	if len(d.N) != len(d.X) || n != 13 {
		t.Errorf("metric chart: %d denominators summing to %d, want %d summing to 13 (the responses)", len(d.N), n, len(d.X))
	}
	if got := query.ChartBucket(now.Add(-7*24*time.Hour), now); got != time.Hour {
		t.Errorf("query.ChartBucket(7d) = %s, want 1h", got)
	}
	// The longest range draws, without spikes: there are too many minutes
	// to look for them in.
	long := store.Filter{From: now.Add(-query.MaxRange), To: now}
	if d, err = s.Chart(ctx, long, query.ChartVolume, ""); err != nil || d.Bucket != 24*time.Hour || len(d.Spikes) != 0 {
		t.Errorf("chart of %s: bucket %s, %d spikes, %v", query.MaxRange, d.Bucket, len(d.Spikes), err)
	}
}

func TestAutoBucket(t *testing.T) {
	tests := []struct {
		span time.Duration
		want time.Duration
	}{
		{15 * time.Minute, time.Minute},
		{24 * time.Hour, time.Minute},
		{26 * time.Hour, time.Hour},
		{30 * 24 * time.Hour, time.Hour},
		{90 * 24 * time.Hour, 24 * time.Hour},
	}
	for _, tc := range tests {
		if got := query.AutoBucket(now.Add(-tc.span), now); got != tc.want {
			t.Errorf("query.AutoBucket(%s) = %s, want %s", tc.span, got, tc.want)
		}
	}
}

// TestBadParameters checks that what the read model refuses is an
// EInvalid error naming the parameter.
func TestBadParameters(t *testing.T) {
	s, _ := newService(t, nil)
	ctx := context.Background()
	day := lastHours(24)
	with := func(set func(*store.Filter)) store.Filter {
		f := day
		set(&f)
		return f
	}
	def := analytics.DefaultSpikeConfig()
	tests := []struct {
		name  string
		err   error
		param string
	}{
		{"rates flag", func() error {
			_, err := s.Rates(ctx, with(func(f *store.Filter) { f.Flag = analytics.FlagRefusal }))
			return err
		}(), "parameter flag"},
		{"rates session", func() error {
			_, err := s.Rates(ctx, with(func(f *store.Filter) { f.SessionID = "s1" }))
			return err
		}(), "parameter session_id"},
		{"rates by", func() error { _, err := s.RatesBy(ctx, day, []store.Dim{store.DimKind}); return err }(), "parameter by"},
		{"bucket width", func() error { _, err := s.Timeseries(ctx, day, 5*time.Minute, ""); return err }(), "parameter bucket"},
		{"too many points", func() error { _, err := s.Timeseries(ctx, lastHours(30*24), time.Minute, ""); return err }(), "parameter bucket"},
		{"metric", func() error { _, err := s.Timeseries(ctx, day, 0, "latency"); return err }(), "parameter metric"},
		{"spike scope", func() error { _, err := s.Spikes(ctx, day, []store.Dim{store.DimModel, "user"}, nil, def); return err }(), "parameter scope"},
		{"short window", func() error {
			cfg := def
			cfg.Window = 30 * time.Second
			_, err := s.Spikes(ctx, day, nil, nil, cfg)
			return err
		}(), "parameter window"},
		{"long range", func() error {
			cfg := def
			cfg.Baseline = 30 * 24 * time.Hour
			_, err := s.Spikes(ctx, lastHours(30*24), nil, nil, cfg)
			return err
		}(), "parameter range"},
		{"patterns limit", func() error {
			_, err := s.Patterns(ctx, day, analytics.DefaultPatternConfig(), store.MaxRecords)
			return err
		}(), "parameter limit"},
		{"refusers by", func() error {
			_, err := s.FrequentRefusers(ctx, day, "team", analytics.DefaultRefuserConfig(), 0)
			return err
		}(), "parameter by"},
		{"refusers text", func() error {
			_, err := s.FrequentRefusers(ctx, with(func(f *store.Filter) { f.Text = "hello" }), query.RefusersByApp, analytics.DefaultRefuserConfig(), 0)
			return err
		}(), "parameter q"},
	}
	for _, tc := range tests {
		if analytics.ErrorCode(tc.err) != analytics.EInvalid || !strings.HasPrefix(analytics.ErrorMessage(tc.err), tc.param+":") {
			t.Errorf("%s: %v, want EInvalid naming %q", tc.name, tc.err, tc.param)
		}
	}
}

// traffic makes stationary random traffic of one app from start to end:
// perMin calls a minute on average, each an error with probability 2%,
// else a refusal with probability refusal(t), else truncated 3%, empty 1%.
func traffic(rng *rand.Rand, app string, start, end time.Time, perMin int, refusal func(time.Time) float64) []*analytics.Record {
	var recs []*analytics.Record
	for m := start; m.Before(end); m = m.Add(time.Minute) {
		n := perMin/2 + rng.IntN(perMin+1)
		for range n {
			at := m.Add(time.Duration(rng.Int64N(int64(time.Minute))))
			u := rng.Float64()
			switch {
			case u < 0.02:
				recs = append(recs, errRec(at, app))
			case rng.Float64() < refusal(at):
				recs = append(recs, msg(at, app, analytics.StopRefusal, analytics.FlagRefusal))
			case u < 0.05:
				recs = append(recs, msg(at, app, analytics.StopMaxTokens, analytics.FlagTruncated))
			case u < 0.06:
				recs = append(recs, msg(at, app, analytics.StopEndTurn, analytics.FlagEmptyTurn))
			default:
				recs = append(recs, msg(at, app, analytics.StopEndTurn))
			}
		}
	}
	return recs
}

func TestSpikes(t *testing.T) {
	s, st := newService(t, nil)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(2026, 3))
	// 27 hours of two apps at 2% refusals; app "b" jumps to 25% for the 20
	// minutes from 11:00.
	plantStart, plantEnd := now.Add(-time.Hour), now.Add(-40*time.Minute)
	flat := func(time.Time) float64 { return 0.02 }
	planted := func(at time.Time) float64 {
		if !at.Before(plantStart) && at.Before(plantEnd) {
			return 0.25
		}
		return 0.02
	}
	start := now.Add(-27 * time.Hour)
	insertAll(t, st, traffic(rng, "a", start, now, 10, flat))
	insertAll(t, st, traffic(rng, "b", start, now, 10, planted))
	def := analytics.DefaultSpikeConfig()
	spikes := func(f store.Filter, scope []store.Dim, metrics ...analytics.Metric) query.SpikesResult {
		t.Helper()
		res, err := s.Spikes(ctx, f, scope, metrics, def)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}

	window := 15 * time.Minute
	got := spikes(lastHours(6), []store.Dim{store.DimApp})
	if got.Config != query.SettingsOf(def) || len(got.Metrics) != 4 {
		t.Errorf("config %+v, metrics %v: want the defaults and the 4 headline metrics", got.Config, got.Metrics)
	}
	if len(got.Spikes) != 1 {
		t.Fatalf("found %d spikes, want 1: %+v", len(got.Spikes), got.Spikes)
	}
	sp := got.Spikes[0]
	if sp.Scope.App != "b" || sp.Metric != analytics.MetricRefusal {
		t.Errorf("spike of %s %s, want b refusal", sp.Scope, sp.Metric)
	}
	// Found within two windows of its start, and over it.
	if sp.FirstDetected.Before(plantStart) || sp.FirstDetected.After(plantStart.Add(2*window)) {
		t.Errorf("first detected at %s, want within two windows after %s", sp.FirstDetected, plantStart)
	}
	if sp.WindowStart.After(plantEnd) || sp.WindowEnd.Before(plantStart) || sp.Observed.Value < 0.1 || sp.Baseline.Value > 0.05 || sp.PValue >= 1e-5 {
		t.Errorf("spike = %+v", sp)
	}

	// Without scopes, the jump is diluted by app a but still found.
	got = spikes(lastHours(6), nil, analytics.MetricRefusal)
	if len(got.Spikes) != 1 || got.Spikes[0].Scope != (analytics.Scope{}) || len(got.Scope) != 0 || got.Scope == nil {
		t.Errorf("unscoped: %+v (scope %v), want one spike of all traffic", got.Spikes, got.Scope)
	}

	// Stationary traffic at the default settings: app a alone, over the
	// whole day and every headline metric, raises nothing.
	f := lastHours(24)
	f.App = "a"
	if got = spikes(f, nil); len(got.Spikes) != 0 {
		t.Errorf("stationary traffic raised %+v", got.Spikes)
	}
	// Before the plant, app b is stationary too.
	if got = spikes(store.Filter{From: now.Add(-25 * time.Hour), To: plantStart}, []store.Dim{store.DimApp, store.DimEnvironment, store.DimModel}); len(got.Spikes) != 0 {
		t.Errorf("stationary traffic raised %+v", got.Spikes)
	}
}

// conversation returns a two-call tool conversation at t in session sess:
// a tool_use, then the answer to the tool result. With textAfter the
// tool result is followed by a text block and the answer is an empty
// end_turn; without it (the corrected twin) the answer has text.
func conversation(at time.Time, app, sess string, textAfter bool) []*analytics.Record {
	ask := analytics.Message{Role: "user", Blocks: []analytics.Block{{Type: "text", Text: "Weather in " + sess + "?"}}}
	call := analytics.Message{Role: "assistant", Blocks: []analytics.Block{{Type: "tool_use", Name: "get_weather"}}}
	result := analytics.Message{Role: "user", Blocks: []analytics.Block{{Type: "tool_result", Text: "72F"}}}
	first := msg(at, app, analytics.StopToolUse)
	first.SessionID = sess
	first.Req = &analytics.Request{Model: "claude-x", MaxTokens: 1024, Messages: []analytics.Message{ask}}
	first.Content = call.Blocks
	first.Tools = []string{"get_weather"}
	second := msg(at.Add(2*time.Second), app, analytics.StopEndTurn)
	second.SessionID = sess
	if textAfter {
		result.Blocks = append(result.Blocks, analytics.Block{Type: "text", Text: "Thanks, and?"})
		second.Flags = second.Flags.With(analytics.FlagEmptyTurn)
		second.Causes = []analytics.Cause{analytics.CauseTextAfterToolResult}
	} else {
		second.Content = []analytics.Block{{Type: "text", Text: "It is 72F."}}
	}
	second.Req = &analytics.Request{Model: "claude-x", MaxTokens: 1024, Messages: []analytics.Message{ask, call, result}}
	return []*analytics.Record{first, second}
}

func TestPatterns(t *testing.T) {
	s, st := newService(t, nil)
	ctx := context.Background()
	bad := conversation(now.Add(-30*time.Minute), "a", "s-bad", true)
	good := conversation(now.Add(-20*time.Minute), "a", "s-good", false)
	insertAll(t, st, slices.Concat(bad, good))
	patterns := func(f store.Filter, limit int) query.PatternsResult {
		t.Helper()
		res, err := s.Patterns(ctx, f, analytics.DefaultPatternConfig(), limit)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}

	got := patterns(lastHours(1), 0)
	if got.Records != 4 || got.Truncated || got.Limit != query.DefaultRecordLimit {
		t.Errorf("records %d truncated %v limit %d; want 4, false, %d", got.Records, got.Truncated, got.Limit, query.DefaultRecordLimit)
	}
	var found *analytics.Pattern
	for i, p := range got.Patterns {
		if p.Kind == analytics.PatternEmptyTurnTextAfterToolResult {
			found = &got.Patterns[i]
		}
	}
	if found == nil || found.Count != 1 || !slices.Equal(found.ExampleIDs, []int64{bad[1].ID}) || found.Remediation == "" {
		t.Fatalf("patterns = %+v, want %s once at record %d", got.Patterns, analytics.PatternEmptyTurnTextAfterToolResult, bad[1].ID)
	}

	// The corrected twin alone shows no pattern.
	got = patterns(store.Filter{From: now.Add(-25 * time.Minute), To: now}, 0)
	if len(got.Patterns) != 0 || got.Patterns == nil || got.Records != 2 {
		t.Errorf("corrected twin: %d records, patterns %+v; want 2 and none", got.Records, got.Patterns)
	}

	// The bound: the newest 2 records are the twin's.
	got = patterns(lastHours(1), 2)
	if got.Records != 2 || !got.Truncated || len(got.Patterns) != 0 {
		t.Errorf("limit 2: %d records, truncated %v, patterns %+v", got.Records, got.Truncated, got.Patterns)
	}
}

// TestThread checks that a record's conversation is its session's
// records, or those linked by message history, oldest first.
func TestThread(t *testing.T) {
	s, st := newService(t, nil)
	ctx := context.Background()
	sess := conversation(now.Add(-30*time.Minute), "a", "s1", true)
	linked := conversation(now.Add(-20*time.Minute), "a", "", false)
	alone := msg(now.Add(-10*time.Minute), "a", analytics.StopEndTurn)
	insertAll(t, st, slices.Concat(sess, linked, []*analytics.Record{alone}))
	ids := func(recs []*analytics.Record) []int64 {
		var out []int64
		for _, r := range recs {
			out = append(out, r.ID)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		rec  *analytics.Record
		want []int64
	}{
		{"session", sess[1], ids(sess)},
		{"linked", linked[1], ids(linked)},
		{"alone", alone, nil},
	} {
		got, err := s.Thread(ctx, tc.rec)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids(got), tc.want) {
			t.Errorf("%s: thread %v, want %v", tc.name, ids(got), tc.want)
		}
	}
}

func TestRefusers(t *testing.T) {
	s, st := newService(t, nil)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 7))
	var recs []*analytics.Record
	// Apps a and c refuse 2% of 1000 responses, b 20% of 200; within a,
	// session s9 and user u9 refuse half of their 60.
	add := func(app string, n int, p func(int) float64, sess, user func(i int) string) {
		for i := range n {
			at := now.Add(-time.Duration(rng.Int64N(int64(time.Hour))))
			var r *analytics.Record
			if rng.Float64() < p(i) {
				r = msg(at, app, analytics.StopRefusal, analytics.FlagRefusal)
			} else {
				r = msg(at, app, analytics.StopEndTurn)
			}
			r.SessionID, r.UserID = sess(i), user(i)
			recs = append(recs, r)
		}
	}
	key := func(prefix string) func(int) string {
		return func(i int) string { return fmt.Sprintf("%s%d", prefix, i%8) }
	}
	add("a", 1000, func(int) float64 { return 0.02 }, key("s"), key("u"))
	add("a", 60, func(int) float64 { return 0.5 }, func(int) string { return "s9" }, func(int) string { return "u9" })
	add("b", 200, func(int) float64 { return 0.2 }, key("s"), key("u"))
	add("c", 1000, func(int) float64 { return 0.02 }, key("s"), key("u"))
	recs = append(recs, errRec(now.Add(-time.Minute), "c"))
	insertAll(t, st, recs)
	cfg := analytics.DefaultRefuserConfig()

	tests := []struct {
		by    string
		want  string
		cands int
	}{
		{query.RefusersByApp, "b", 3},
		{query.RefusersByModel, "", 1},
		{query.RefusersBySession, "s9", 9},
		{query.RefusersByUser, "u9", 9},
	}
	for _, tc := range tests {
		t.Run(tc.by, func(t *testing.T) {
			got, err := s.FrequentRefusers(ctx, lastHours(1), tc.by, cfg, 0)
			if err != nil {
				t.Fatal(err)
			}
			keys := []string{}
			for _, r := range got.Refusers {
				keys = append(keys, r.Key)
			}
			want := []string{}
			if tc.want != "" {
				want = append(want, tc.want)
			}
			if !slices.Equal(keys, want) || got.Candidates != tc.cands {
				t.Errorf("refusers %v of %d candidates, want %v of %d", keys, got.Candidates, want, tc.cands)
			}
			if len(got.Refusers) > 0 {
				r := got.Refusers[0]
				if r.Lift == nil || *r.Lift < 2 || r.Rate.Value <= r.Rest.Value || r.PValue >= 0.001 {
					t.Errorf("refuser %+v (lift %v)", r, r.Lift)
				}
			}
			bounded := tc.by == query.RefusersBySession || tc.by == query.RefusersByUser
			if bounded != (got.Limit == query.DefaultRecordLimit) || (bounded && (got.Records != 2260 || got.LimitReached)) {
				t.Errorf("records %d of limit %d (reached %v)", got.Records, got.Limit, got.LimitReached)
			}
			if got.Config.Window != "" || got.Config.Bucket != "" {
				t.Errorf("config %+v: refusers compare whole ranges, without windows", got.Config)
			}
		})
	}
	got, err := s.FrequentRefusers(ctx, lastHours(1), query.RefusersByUser, cfg, 100)
	if err != nil {
		t.Fatal(err)
	}
	if got.Records != 100 || !got.LimitReached {
		t.Errorf("limit 100: %d records, reached %v", got.Records, got.LimitReached)
	}
}

// TestScopeValuesCache checks that the lists of apps, environments and
// models are reused on live ranges for query.ScopeValuesTTL only, never on
// fixed ones.
func TestScopeValuesCache(t *testing.T) {
	clock := now
	s, st := newService(t, &clock)
	ctx := context.Background()
	apps := func(live bool) []string {
		t.Helper()
		o, err := s.ScopeValues(ctx, now, live)
		if err != nil {
			t.Fatal(err)
		}
		return o.Apps
	}
	insertAll(t, st, []*analytics.Record{msg(now.Add(-time.Hour), "a", analytics.StopEndTurn)})
	if got := apps(true); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("apps = %v, want [a]", got)
	}
	insertAll(t, st, []*analytics.Record{msg(now.Add(-time.Hour), "b", analytics.StopEndTurn)})
	if got := apps(true); !slices.Equal(got, []string{"a"}) {
		t.Errorf("live, within the TTL: apps = %v, want the cached [a]", got)
	}
	if got := apps(false); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("fixed range: apps = %v, want [a b] read afresh", got)
	}
	clock = clock.Add(query.ScopeValuesTTL)
	if got := apps(true); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("live, after the TTL: apps = %v, want [a b]", got)
	}
}

// TestPageFigures checks the figures of the overview and the focused
// pages against the fixture.
func TestPageFigures(t *testing.T) {
	s, st := newService(t, nil)
	insertAll(t, st, fixture())
	ctx := context.Background()

	o, err := s.Overview(ctx, lastHours(1))
	if err != nil {
		t.Fatal(err)
	}
	if o.Summary.Total != 15 || o.Headline.Now.Calls != 15 || o.Headline.Previous.Calls != 0 ||
		len(o.Apps) != 2 || o.Apps[0].Scope.App != "a" || len(o.Models) != 1 {
		t.Errorf("overview = %+v", o)
	}
	// Two hours back, the previous hour holds b's early record.
	hl, err := s.Headline(ctx, store.Filter{From: now.Add(-2 * time.Hour), To: now.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if hl.Now.Calls != 0 || hl.Previous.Calls != 1 {
		t.Errorf("headline = %d calls, previous %d; want 0 and 1", hl.Now.Calls, hl.Previous.Calls)
	}
	empty, err := s.Overview(ctx, store.Filter{From: now.Add(-48 * time.Hour), To: now.Add(-24 * time.Hour)})
	if err != nil || empty.Summary.Total != 0 || empty.Apps != nil {
		t.Errorf("empty overview = %+v, %v", empty, err)
	}

	fo, err := s.FlagFocus(ctx, lastHours(1), analytics.MetricTruncation, analytics.FlagTruncated)
	if err != nil {
		t.Fatal(err)
	}
	if fo.Rate.Num != 1 || fo.Rate.Den != 13 || len(fo.Apps) != 2 || len(fo.Latest) != 1 || fo.Latest[0].StopReason != analytics.StopMaxTokens {
		t.Errorf("truncation focus = %+v", fo)
	}
	fo, err = s.StopReasonFocus(ctx, lastHours(1), analytics.StopToolUse, false)
	if err != nil {
		t.Fatal(err)
	}
	if fo.Rate.Num != 6 || fo.Rate.Den != 13 || len(fo.Latest) != 6 || fo.Patterns.Patterns != nil {
		t.Errorf("tool_use focus = %+v", fo)
	}

	runs := []*analytics.Record{}
	for i, sub := range []string{analytics.SubtypeSuccess, analytics.SubtypeSuccess, "error_max_turns", "brand_new"} {
		r := msg(now.Add(-time.Duration(i+1)*time.Minute), "a", analytics.StopEndTurn)
		r.Kind, r.Subtype = analytics.KindAgentResult, sub
		runs = append(runs, r)
	}
	insertAll(t, st, runs)
	ar, err := s.AgentRuns(ctx, lastHours(1))
	if err != nil {
		t.Fatal(err)
	}
	var subs []string
	for _, r := range ar.Subtypes {
		subs = append(subs, fmt.Sprintf("%s:%d", r.Subtype, r.ByStop["end_turn"]))
	}
	if fmt.Sprint(subs) != "[success:2 error_max_turns:1 brand_new:1]" || fmt.Sprint(ar.StopKeys) != "[end_turn]" ||
		ar.Failed.Num != 2 || ar.Failed.Den != 4 {
		t.Errorf("agent runs = %v, stops %v, failed %+v", subs, ar.StopKeys, ar.Failed)
	}

	a, err := s.Arrivals(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if a.Last == nil || a.Last.Time != now.Add(-time.Minute) || a.Last24h != 20 {
		t.Errorf("arrivals = %+v", a)
	}
}
