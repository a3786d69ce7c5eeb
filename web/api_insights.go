package web

import (
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/query"
	"github.com/stopscope/stopscope/store"
)

// parseBucket reads bucket=1m|1h|1d; "" is 0, for query.AutoBucket.
func parseBucket(q url.Values) (time.Duration, error) {
	switch v := q.Get("bucket"); v {
	case "":
		return 0, nil
	case "1m":
		return time.Minute, nil
	case "1h":
		return time.Hour, nil
	case "1d":
		return 24 * time.Hour, nil
	default:
		return 0, analytics.Errorf(analytics.EInvalid, "parameter bucket: %q is not 1m, 1h or 1d", v)
	}
}

// parseMetrics reads metric, a comma-separated list of metrics; "" is none.
func parseMetrics(q url.Values) ([]analytics.Metric, error) {
	v := q.Get("metric")
	if v == "" {
		return nil, nil
	}
	var out []analytics.Metric
	for _, s := range strings.Split(v, ",") {
		m := analytics.Metric(strings.TrimSpace(s))
		if !m.Valid() {
			return nil, analytics.Errorf(analytics.EInvalid, "parameter metric: %q is not refusal, empty_turn, truncation, error or stop_reason:<value>", s)
		}
		out = append(out, m)
	}
	return out, nil
}

// parseScope reads a comma-separated list of app, environment and model
// from parameter name; "" and "all" are none.
func parseScope(q url.Values, name string) ([]store.Dim, error) {
	v := q.Get(name)
	if v == "" || v == "all" {
		return nil, nil
	}
	var out []store.Dim
	for _, s := range strings.Split(v, ",") {
		d := store.Dim(strings.TrimSpace(s))
		if d != store.DimApp && d != store.DimEnvironment && d != store.DimModel {
			return nil, analytics.Errorf(analytics.EInvalid, "parameter %s: %q is not all, app, environment or model", name, s)
		}
		out = append(out, d)
	}
	return out, nil
}

// parseDuration reads a positive Go duration ("15m", "24h") or a number
// of days ("7d") of at most maxDur.
func parseDuration(q url.Values, name string, def, maxDur time.Duration) (time.Duration, error) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	var d time.Duration
	var err error
	if days, ok := strings.CutSuffix(v, "d"); ok {
		var n int64
		// Days are counted before they are multiplied, which could overflow.
		n, err = strconv.ParseInt(days, 10, 64)
		d = time.Duration(min(n, int64(maxDur/(24*time.Hour))+1)) * 24 * time.Hour
	} else {
		d, err = time.ParseDuration(v)
	}
	if err != nil || d <= 0 {
		return 0, analytics.Errorf(analytics.EInvalid, "parameter %s: %q is not a positive duration such as 15m, 24h or 7d", name, v)
	}
	if d > maxDur {
		return 0, analytics.Errorf(analytics.EInvalid, "parameter %s: %q is longer than %s", name, v, maxDur)
	}
	return d, nil
}

func parseCount(q url.Values, name string, def int64) (int64, error) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, analytics.Errorf(analytics.EInvalid, "parameter %s: %q is not a whole number of 0 or more", name, v)
	}
	return n, nil
}

// parseFraction reads a number in [lo, hi].
func parseFraction(q url.Values, name string, def, lo, hi float64) (float64, error) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	x, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(x) || x < lo || x > hi {
		return 0, analytics.Errorf(analytics.EInvalid, "parameter %s: %q is not a number from %g to %g", name, v, lo, hi)
	}
	return x, nil
}

// parseSpikeConfig reads the spike test's parameters over def: window,
// baseline and bucket (durations), min_calls, min_events and
// min_baseline_calls (counts), alpha (0 < alpha < 1) and min_increase
// (0 to 1).
func parseSpikeConfig(q url.Values, def analytics.SpikeConfig) (analytics.SpikeConfig, error) {
	cfg := def
	var err error
	if cfg.Window, err = parseDuration(q, "window", def.Window, query.MaxWindow); err != nil {
		return cfg, err
	}
	if cfg.Baseline, err = parseDuration(q, "baseline", def.Baseline, query.MaxBaseline); err != nil {
		return cfg, err
	}
	b, err := parseBucket(q)
	if err != nil {
		return cfg, err
	}
	if b != 0 {
		cfg.Bucket = b
	}
	if cfg.MinCalls, err = parseCount(q, "min_calls", def.MinCalls); err != nil {
		return cfg, err
	}
	if cfg.MinEvents, err = parseCount(q, "min_events", def.MinEvents); err != nil {
		return cfg, err
	}
	if cfg.MinBaselineCalls, err = parseCount(q, "min_baseline_calls", def.MinBaselineCalls); err != nil {
		return cfg, err
	}
	if cfg.Alpha, err = parseFraction(q, "alpha", def.Alpha, 0, 1); err != nil {
		return cfg, err
	}
	if cfg.Alpha <= 0 || cfg.Alpha >= 1 {
		return cfg, analytics.Errorf(analytics.EInvalid, "parameter alpha: %q is not a number between 0 and 1", q.Get("alpha"))
	}
	if cfg.MinIncrease, err = parseFraction(q, "min_increase", def.MinIncrease, 0, 1); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// parseRecordLimit reads limit for the endpoints that read raw records.
func parseRecordLimit(q url.Values) (int, error) {
	v := q.Get("limit")
	if v == "" {
		return query.DefaultRecordLimit, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n >= store.MaxRecords {
		return 0, analytics.Errorf(analytics.EInvalid, "parameter limit: %q is not a whole number from 1 to %d", v, store.MaxRecords-1)
	}
	return n, nil
}

// ratesAnswer is GET /api/v1/rates.
type ratesAnswer struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	analytics.RateSet
	// Scopes is set when by= asks for a breakdown.
	Scopes []query.ScopeRates `json:"scopes,omitempty"`
}

// apiRates answers GET /api/v1/rates: the rates of the filter's scope and
// range with 95% intervals and, with by=app,environment,model, per scope.
func (s *Server) apiRates(c echo.Context) error {
	f, err := s.parseFilter(c)
	if err != nil {
		return err
	}
	by, err := parseScope(c.QueryParams(), "by")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	rs, err := s.Query.Rates(ctx, f)
	if err != nil {
		return err
	}
	ans := ratesAnswer{From: f.From, To: f.To, RateSet: rs}
	if len(by) > 0 {
		if ans.Scopes, err = s.Query.RatesBy(ctx, f, by); err != nil {
			return err
		}
		if ans.Scopes == nil {
			ans.Scopes = []query.ScopeRates{}
		}
	}
	return c.JSON(http.StatusOK, ans)
}

// apiTimeseries answers GET /api/v1/timeseries.
func (s *Server) apiTimeseries(c echo.Context) error {
	f, err := s.parseFilter(c)
	if err != nil {
		return err
	}
	q := c.QueryParams()
	bucket, err := parseBucket(q)
	if err != nil {
		return err
	}
	metrics, err := parseMetrics(q)
	if err != nil {
		return err
	}
	var metric analytics.Metric
	switch len(metrics) {
	case 0:
	case 1:
		metric = metrics[0]
	default:
		return analytics.Errorf(analytics.EInvalid, "parameter metric: a time series has one metric, not %d", len(metrics))
	}
	ts, err := s.Query.Timeseries(c.Request().Context(), f, bucket, metric)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ts)
}

// apiSpikes answers GET /api/v1/spikes.
func (s *Server) apiSpikes(c echo.Context) error {
	f, err := s.parseFilter(c)
	if err != nil {
		return err
	}
	q := c.QueryParams()
	scope, err := parseScope(q, "scope")
	if err != nil {
		return err
	}
	metrics, err := parseMetrics(q)
	if err != nil {
		return err
	}
	cfg, err := parseSpikeConfig(q, analytics.DefaultSpikeConfig())
	if err != nil {
		return err
	}
	res, err := s.Query.Spikes(c.Request().Context(), f, scope, metrics, cfg)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}

// apiPatterns answers GET /api/v1/patterns.
func (s *Server) apiPatterns(c echo.Context) error {
	f, err := s.parseFilter(c)
	if err != nil {
		return err
	}
	q := c.QueryParams()
	limit, err := parseRecordLimit(q)
	if err != nil {
		return err
	}
	cfg := analytics.DefaultPatternConfig()
	for _, p := range []struct {
		name string
		dst  *int
	}{
		{"tool_use_loop", &cfg.ToolUseLoop},
		{"pause_turn_max_retries", &cfg.PauseTurnMaxRetries},
		{"max_examples", &cfg.MaxExamples},
	} {
		n, err := parseCount(q, p.name, int64(*p.dst))
		if err != nil {
			return err
		}
		if n < 1 || n > 1000 {
			return analytics.Errorf(analytics.EInvalid, "parameter %s: %q is not a whole number from 1 to 1000", p.name, q.Get(p.name))
		}
		*p.dst = int(n)
	}
	res, err := s.Query.Patterns(c.Request().Context(), f, cfg, limit)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}

// apiRefusers answers GET /api/v1/refusers.
func (s *Server) apiRefusers(c echo.Context) error {
	f, err := s.parseFilter(c)
	if err != nil {
		return err
	}
	q := c.QueryParams()
	by := q.Get("by")
	if by == "" {
		by = query.RefusersByApp
	}
	limit, err := parseRecordLimit(q)
	if err != nil {
		return err
	}
	for _, name := range []string{"window", "baseline", "bucket"} {
		if q.Has(name) {
			return analytics.Errorf(analytics.EInvalid, "parameter %s: not used by refusers, which compare whole ranges", name)
		}
	}
	cfg, err := parseSpikeConfig(q, analytics.DefaultRefuserConfig())
	if err != nil {
		return err
	}
	res, err := s.Query.FrequentRefusers(c.Request().Context(), f, by, cfg, limit)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}
