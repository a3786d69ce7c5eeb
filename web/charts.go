package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
)

// chartSeries is one line or layer of a chart: a stop reason key ("null"
// for none, "error" for failed requests) or a metric, and one value per x.
type chartSeries struct {
	Key    string    `json:"key"`
	Values []float64 `json:"values"`
}

// chartSpike is a spike drawn as a band over the x axis.
type chartSpike struct {
	From   int64            `json:"from"`
	To     int64            `json:"to"`
	Metric analytics.Metric `json:"metric"`
	Label  string           `json:"label"`
}

// chartData is what app.js turns into a uPlot chart: x in Unix seconds,
// the series, and the spikes to shade.
type chartData struct {
	Bucket int64         `json:"bucket"`
	X      []int64       `json:"x"`
	Series []chartSeries `json:"series"`
	// Low and High bound the 95% interval of a metric chart's one series.
	Low    []float64    `json:"low,omitempty"`
	High   []float64    `json:"high,omitempty"`
	Spikes []chartSpike `json:"spikes"`
}

// chartBucket picks the bucket of a chart: fine enough to show a spike,
// coarse enough to stay readable and fast (at most 400 points).
func chartBucket(from, to time.Time) time.Duration {
	for _, b := range []time.Duration{time.Minute, time.Hour} {
		if bucketCount(from, to, b) <= 400 {
			return b
		}
	}
	return 24 * time.Hour
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
	f := store.Filter{From: v.From, To: v.To, App: v.App, Environment: v.Environment, Model: v.Model}
	ctx := c.Request().Context()
	kind := c.Param("kind")
	metric := analytics.Metric(c.QueryParam("metric"))
	if kind == "metric" && !metric.Valid() {
		return analytics.Errorf(analytics.EInvalid, "parameter metric: %q is not refusal, empty_turn, truncation, error or stop_reason:<value>", metric)
	}
	if kind != "volume" && kind != "metric" {
		return analytics.Errorf(analytics.ENotFound, "no chart %q", kind)
	}
	b := chartBucket(f.From, f.To)
	ts, err := s.Timeseries(ctx, f, b, metric)
	if err != nil {
		return err
	}
	d := chartData{Bucket: int64(b / time.Second), X: make([]int64, len(ts.Points)), Spikes: []chartSpike{}}
	for i, p := range ts.Points {
		d.X[i] = p.Bucket.Unix()
	}
	switch kind {
	case "volume":
		for _, key := range seriesKeys(ts.Total) {
			vals := make([]float64, len(ts.Points))
			for i, p := range ts.Points {
				if key == "error" {
					vals[i] = float64(p.Errors)
				} else {
					vals[i] = float64(p.StopReasons[key])
				}
			}
			d.Series = append(d.Series, chartSeries{Key: key, Values: vals})
		}
	case "metric":
		vals, lo, hi := make([]float64, len(ts.Points)), make([]float64, len(ts.Points)), make([]float64, len(ts.Points))
		for i, p := range ts.Points {
			vals[i], lo[i], hi[i] = p.Value.Value, p.Value.Low, p.Value.High
		}
		d.Series, d.Low, d.High = []chartSeries{{Key: string(metric), Values: vals}}, lo, hi
	}
	metrics := HeadlineMetrics
	if kind == "metric" {
		metrics = []analytics.Metric{metric}
	}
	sp, err := s.Spikes(ctx, f, []store.Dim{store.DimApp}, metrics, analytics.DefaultSpikeConfig())
	if err != nil {
		return err
	}
	for _, x := range sp.Spikes {
		d.Spikes = append(d.Spikes, chartSpike{From: x.WindowStart.Unix(), To: x.WindowEnd.Unix(), Metric: x.Metric, Label: spikeLabel(x)})
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, d)
}

// seriesKeys lists the stop reasons seen in display order, then "error"
// when there were failed requests.
func seriesKeys(rs analytics.RateSet) []string {
	var keys []string
	for _, r := range rs.StopReasons {
		if r.Num > 0 {
			sr, _ := analytics.Metric(r.Metric).StopReason()
			keys = append(keys, sr.Key())
		}
	}
	if rs.Errors > 0 {
		keys = append(keys, "error")
	}
	return keys
}

// spikeLabel says what a spike was in one line.
func spikeLabel(sp analytics.Spike) string {
	who := sp.Scope.App
	if who == "" {
		who = "all apps"
	}
	return metricLabel(sp.Metric) + " spike in " + who + ": " + formatPct(sp.Observed.Value) +
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
