package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/query"
	"github.com/stopscope/stopscope/store"
)

// chartSpike is a spike drawn as a band over the x axis.
type chartSpike struct {
	From   int64            `json:"from"`
	To     int64            `json:"to"`
	Metric analytics.Metric `json:"metric"`
	Label  string           `json:"label"`
}

// chartData is what app.js turns into a uPlot chart: x in Unix seconds
// (the start of each bucket, Bucket seconds wide), the series, and the
// spikes to shade. From and To are the range: a bucket that starts before
// From or ends after To (the one still filling on a live range) holds only
// part of its time and is drawn marked partial.
type chartData struct {
	Bucket int64               `json:"bucket"`
	From   int64               `json:"from"`
	To     int64               `json:"to"`
	X      []int64             `json:"x"`
	Series []query.ChartSeries `json:"series"`
	// Low and High bound the 95% interval of a metric chart's one series,
	// N is each bucket's denominator and Interval whether its interval is
	// drawn (query.IntervalShown).
	Low      []float64 `json:"low,omitempty"`
	High     []float64 `json:"high,omitempty"`
	N        []int64   `json:"n,omitempty"`
	Interval []bool    `json:"interval,omitempty"`
	// MinN and MinExpected are the rule behind Interval, for the legend.
	MinN        int          `json:"min_n,omitempty"`
	MinExpected int          `json:"min_expected,omitempty"`
	Spikes      []chartSpike `json:"spikes"`
	// Markers are the releases that started in the range, drawn as
	// vertical lines at At (Unix seconds); OtherReleases says that calls
	// of releases past the cap per app have none.
	Markers       []chartMarker `json:"markers"`
	OtherReleases bool          `json:"other_releases,omitempty"`
}

// chartMarker is a vertical line with its label.
type chartMarker struct {
	At    int64  `json:"at"`
	Label string `json:"label"`
}

// uiChart answers GET /ui/chart/:kind for the dashboard's charts:
//   - volume: responses per bucket by stop reason, stacked, and failed
//     requests (key "error"), with the spikes of the headline metrics per
//     app shaded;
//   - errors: failed requests per bucket;
//   - metric: one metric's rate (?metric=refusal, stop_reason:max_tokens …)
//     with its 95% interval, and that metric's spikes.
func (s *Server) uiChart(c echo.Context) error {
	v, err := s.parseFilter(c)
	if err != nil {
		return err
	}
	f := store.Filter{From: v.From, To: v.To, App: v.App, Environment: v.Environment, Model: v.Model, Release: v.Release, PromptVersion: v.PromptVersion}
	ctx := c.Request().Context()
	kind := c.Param("kind")
	metric := analytics.Metric(c.QueryParam("metric"))
	if kind == "metric" && !metric.Valid() {
		return analytics.Errorf(analytics.EInvalid, "parameter metric: %q is not refusal, empty_turn, truncation, error or stop_reason:<value>", metric)
	}
	if kind != query.ChartVolume && kind != query.ChartMetric {
		return analytics.Errorf(analytics.ENotFound, "no chart %q", kind)
	}
	ch, err := s.Query.Chart(ctx, f, kind, metric)
	if err != nil {
		return err
	}
	d := chartData{Bucket: int64(ch.Bucket / time.Second), From: v.From.Unix(), To: v.To.Unix(), X: ch.X, Series: ch.Series,
		Low: ch.Low, High: ch.High, N: ch.N, Interval: ch.Interval, Spikes: []chartSpike{}}
	if kind == query.ChartMetric {
		d.MinN, d.MinExpected = query.MinIntervalN, query.MinIntervalExpected
	}
	for _, x := range ch.Spikes {
		d.Spikes = append(d.Spikes, chartSpike{From: x.WindowStart.Unix(), To: x.WindowEnd.Unix(), Metric: x.Metric, Label: spikeLabel(x)})
	}
	d.Markers, d.OtherReleases = []chartMarker{}, ch.OtherReleases
	for _, m := range ch.Markers {
		d.Markers = append(d.Markers, chartMarker{At: m.At.Unix(), Label: m.Label})
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, d)
}

// spikeLabel says what a spike was in one line.
func spikeLabel(sp analytics.Spike) string {
	return metricLabel(sp.Metric) + " spike in " + scopeText(sp.Scope) + ": " + formatPct(sp.Observed.Value) +
		" (baseline " + formatPct(sp.Baseline.Value) + "), " + strconv.FormatInt(sp.Observed.Num, 10) + " of " +
		strconv.FormatInt(sp.Observed.Den, 10)
}

// metricLabel names a metric for people.
func metricLabel(m analytics.Metric) string {
	switch m {
	case analytics.MetricRefusal:
		return "Refusal"
	case analytics.MetricEmptyTurn:
		return "Empty turn"
	case analytics.MetricTruncation:
		return "Truncation"
	case analytics.MetricError:
		return "Error"
	}
	if r, ok := m.StopReason(); ok {
		return r.Key() + " share"
	}
	return string(m)
}
