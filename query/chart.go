package query

import (
	"context"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
)

// The kinds of Chart.
const (
	// ChartVolume is responses per bucket by stop reason, and failed
	// requests (key "error"), with the spikes of the headline metrics per
	// app.
	ChartVolume = "volume"
	// ChartMetric is one metric's rate per bucket with its 95% interval,
	// and that metric's spikes per app.
	ChartMetric = "metric"
)

// ChartSeries is one line or layer of a chart: a stop reason key ("null"
// for none, "error" for failed requests) or a metric, and one value per x.
type ChartSeries struct {
	Key    string    `json:"key"`
	Values []float64 `json:"values"`
}

// Chart is the data of one dashboard chart.
type Chart struct {
	// Bucket is the width of each point.
	Bucket time.Duration
	// X are the starts of the buckets in Unix seconds.
	X      []int64
	Series []ChartSeries
	// Low and High bound the 95% interval of a metric chart's one series;
	// N is each bucket's denominator (0: no data, not a rate of 0), and
	// Interval says whether the bucket holds enough for its interval to be
	// drawn (see IntervalShown).
	Low, High []float64
	N         []int64
	Interval  []bool
	// Spikes are the spikes to shade, at all traffic, per model and per
	// app (SpikeScopes); none on ranges too long
	// for Spikes with the default settings (about 33 days).
	Spikes []analytics.Spike
	// Markers are the releases that started in the range
	// (ReleaseMarkers); OtherReleases reports calls of releases past the
	// rollups' cap, which have none.
	Markers       []ChartMarker
	OtherReleases bool
}

// The least a bucket must hold for a chart to draw its 95% interval: a
// bucket's interval is drawn when it has at least MinIntervalN calls and
// at least MinIntervalExpected events are expected in it at the range's
// overall rate (and as many non-events). Below that the interval is
// mostly width (0 of 30 already spans 0–11%), so a chart shows the
// bucket's rate as a point with its count instead.
const (
	MinIntervalN        = 30
	MinIntervalExpected = 5
)

// IntervalShown says whether a bucket of n calls gets its 95% interval
// drawn on a chart of a metric whose rate over the whole range is overall.
func IntervalShown(n int64, overall float64) bool {
	nf := float64(n)
	return n >= MinIntervalN && nf*overall >= MinIntervalExpected && nf*(1-overall) >= MinIntervalExpected
}

// ChartBucket picks the bucket of a chart: fine enough to show a spike,
// coarse enough to stay readable and fast (at most 400 points).
func ChartBucket(from, to time.Time) time.Duration {
	for _, b := range []time.Duration{time.Minute, time.Hour} {
		if bucketCount(from, to, b) <= 400 {
			return b
		}
	}
	return 24 * time.Hour
}

// Chart computes a chart of kind ChartVolume or ChartMetric (of metric m)
// over f's scope and range, in ChartBucket buckets, from the rollups.
func (s *Service) Chart(ctx context.Context, f store.Filter, kind string, m analytics.Metric) (Chart, error) {
	b := ChartBucket(f.From, f.To)
	ts, err := s.Timeseries(ctx, f, b, m)
	if err != nil {
		return Chart{}, err
	}
	d := Chart{Bucket: b, X: make([]int64, len(ts.Points))}
	if d.Markers, d.OtherReleases, err = s.ReleaseMarkers(ctx, f, b); err != nil {
		return Chart{}, err
	}
	for i, p := range ts.Points {
		d.X[i] = p.Bucket.Unix()
	}
	switch kind {
	case ChartVolume:
		for _, key := range seriesKeys(ts.Total) {
			vals := make([]float64, len(ts.Points))
			for i, p := range ts.Points {
				if key == "error" {
					vals[i] = float64(p.Errors)
				} else {
					vals[i] = float64(p.StopReasons[key])
				}
			}
			d.Series = append(d.Series, ChartSeries{Key: key, Values: vals})
		}
	case ChartMetric:
		n := len(ts.Points)
		vals, lo, hi := make([]float64, n), make([]float64, n), make([]float64, n)
		d.N, d.Interval = make([]int64, n), make([]bool, n)
		var k, all int64
		for _, p := range ts.Points {
			k, all = k+p.Value.Num, all+p.Value.Den
		}
		overall := analytics.Tally{K: k, N: all}.Value()
		for i, p := range ts.Points {
			vals[i], lo[i], hi[i] = p.Value.Value, p.Value.Low, p.Value.High
			d.N[i], d.Interval[i] = p.Value.Den, IntervalShown(p.Value.Den, overall)
		}
		d.Series, d.Low, d.High = []ChartSeries{{Key: string(m), Values: vals}}, lo, hi
	}
	metrics := HeadlineMetrics
	if kind == ChartMetric {
		metrics = []analytics.Metric{m}
	}
	cfg := SpikeConfigFor(f, analytics.DefaultSpikeConfig())
	if bucketCount(f.From.Add(-cfg.Baseline), f.To, cfg.Bucket) > maxSpikeBuckets {
		// Too long a range to look for spikes minute by minute: the chart
		// is drawn without shading rather than refused.
		return d, nil
	}
	if d.Spikes, err = s.ScopeSpikes(ctx, f, metrics, cfg, false); err != nil {
		return Chart{}, err
	}
	return d, nil
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
