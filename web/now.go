package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"github.com/stopscope/stopscope/alert"
	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/query"
)

// DefaultLiveEvery is how often a page refreshes its live parts by default.
const DefaultLiveEvery = 30 * time.Second

// pageInfo is what the page frame needs to know of a dashboard request.
type pageInfo struct {
	// LiveEvery is how often app.js refreshes the live parts of a page.
	LiveEvery time.Duration
	// NowStrip is set on dashboard pages, which show the now strip; not on
	// the login page, whose visitor may see none of it.
	NowStrip bool
}

// pageKey is the context key of a request's pageInfo.
type pageKey struct{}

// pageOf returns the pageInfo of a request (the zero one outside the
// dashboard).
func pageOf(ctx context.Context) pageInfo {
	p, _ := ctx.Value(pageKey{}).(pageInfo)
	return p
}

// liveEverySeconds is the refresh period as the page frame writes it.
func liveEverySeconds(ctx context.Context) string {
	d := pageOf(ctx).LiveEvery
	if d <= 0 {
		d = DefaultLiveEvery
	}
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
}

// pageContext marks the requests of dashboard routes, after
// authentication, so that their pages show the now strip.
func (s *Server) pageContext(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if classify(r.URL.Path) == classDashboard {
			p := pageInfo{LiveEvery: s.LiveEvery, NowStrip: true}
			c.SetRequest(r.WithContext(context.WithValue(r.Context(), pageKey{}, p)))
		}
		return next(c)
	}
}

// now computes the now strip's answer: alerts from the alert store when
// there is one.
func (s *Server) now(ctx context.Context) (query.NowResult, error) {
	var src query.AlertSource
	if s.Alerts != nil {
		src = alert.Active(s.Alerts, s.Now)
	}
	return s.Query.Now(ctx, src, query.NowConfig{})
}

// uiNow answers GET /ui/now: the now strip, which every page loads after
// itself and refreshes.
func (s *Server) uiNow(c echo.Context) error {
	res, err := s.now(c.Request().Context())
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return render(c, http.StatusOK, nowStrip(res))
}

// apiNow answers GET /api/v1/now: what is broken right now.
func (s *Server) apiNow(c echo.Context) error {
	res, err := s.now(c.Request().Context())
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, res)
}

// agoText says how long before at t was, in minutes, or hours and
// minutes.
func agoText(at, t time.Time) string {
	d := at.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + " min ago"
	}
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	if m == 0 {
		return strconv.Itoa(h) + " h ago"
	}
	return strconv.Itoa(h) + " h " + strconv.Itoa(m) + " min ago"
}

// spikeState says whether a spike goes on or when it ended.
func spikeState(at time.Time, sp analytics.Spike) string {
	if sp.Ongoing {
		return "ongoing"
	}
	return "ended " + agoText(at, sp.WindowEnd)
}

// scopeText names a spike's or alert's scope for people.
func scopeText(sc analytics.Scope) string {
	var parts []string
	if sc.App != "" {
		parts = append(parts, "app "+sc.App)
	}
	if sc.Environment != "" {
		parts = append(parts, "environment "+sc.Environment)
	}
	if sc.Model != "" {
		parts = append(parts, "model "+sc.Model)
	}
	if len(parts) == 0 {
		return "all traffic"
	}
	return joinStrings(parts)
}

// metricFilter is the list filter of the records a metric counts.
func metricFilter(m analytics.Metric) map[string]string {
	if m == analytics.MetricError {
		return map[string]string{"kind": "error"}
	}
	if r, ok := m.StopReason(); ok {
		return map[string]string{"stop_reason": r.Key()}
	}
	for _, f := range analytics.AllFlags {
		if i, ok := analytics.FlagInfoOf(f); ok && i.Metric == m {
			return map[string]string{"flag": string(f)}
		}
	}
	return map[string]string{}
}

// spikeRecordsHref is the list of the records a spike counted: its scope,
// its windows and its metric's records.
func spikeRecordsHref(sp analytics.Spike) string {
	return withQuery("/responses", url.Values{}, spikeRecordsSet(sp))
}

// spikeRecordsLink is spikeRecordsHref within the scope of v, which an
// all-traffic spike of a filtered view keeps.
func spikeRecordsLink(v filterView, sp analytics.Spike) string {
	return v.scopeLink("/responses", spikeRecordsSet(sp))
}

// spikeRecordsSet is the list filter of a spike's records: its metric's
// records in its windows, in its scope where the scope names one.
func spikeRecordsSet(sp analytics.Spike) map[string]string {
	set := metricFilter(sp.Metric)
	for k, val := range map[string]string{"app": sp.Scope.App, "environment": sp.Scope.Environment, "model": sp.Scope.Model} {
		if val != "" {
			set[k] = val
		}
	}
	set["range"] = ""
	set["from"] = sp.WindowStart.UTC().Format(time.RFC3339)
	set["to"] = sp.WindowEnd.UTC().Format(time.RFC3339)
	return set
}

// alertHref is the alerts page, at the alert's event when it fired.
func alertHref(a query.ActiveAlert) string {
	if a.EventID != 0 {
		return "/alerts?event=" + strconv.FormatInt(a.EventID, 10) + "#event-" + strconv.FormatInt(a.EventID, 10)
	}
	return "/alerts"
}

// silentRecordsHref lists a silent app's records up to its last call.
func silentRecordsHref(p query.SilentProducer) string {
	return withQuery("/responses", url.Values{}, map[string]string{"app": p.App})
}

// liveAttrs are the attributes of a part of a page that refreshes itself
// on a live range: app.js sends it the "live" event every LiveEvery, and
// htmx swaps in a fresh copy from get, the element select when set (a
// page's part is taken from the whole page, read afresh). Off a live range
// the part stays as it is.
func liveAttrs(live bool, get, sel string) templ.Attributes {
	if !live {
		return templ.Attributes{}
	}
	a := templ.Attributes{"hx-get": get, "hx-trigger": "live", "hx-swap": "outerHTML", "data-live-fragment": true}
	if sel != "" {
		a["hx-select"] = sel
	}
	return a
}

// pageLink is the page itself with its whole query, a cursor left out:
// where a live part of it is read again.
func (v filterView) pageLink() string { return v.link(v.Path, nil) }

// overviewSpikeState says whether a spike of the overview goes on: at now
// on a live range, at the end of a range that ended before.
func overviewSpikeState(v filterView, at time.Time, sp analytics.Spike) string {
	switch {
	case v.Live:
		return spikeState(at, sp)
	case sp.Ongoing:
		return "still going on when the range ends"
	}
	return "ended"
}

// oobAttrs adds to a live part the parts, elsewhere on the page, that
// its request brings along (hx-select-oob): one request for both.
func oobAttrs(live bool, sel string) templ.Attributes {
	if !live {
		return templ.Attributes{}
	}
	return templ.Attributes{"hx-select-oob": sel}
}

// detectedAt is when a spike was first detected: the end of its first
// significant window, or now when that window is the one still filling.
func detectedAt(at time.Time, sp analytics.Spike) time.Time {
	if sp.FirstDetected.After(at) {
		return at.UTC()
	}
	return sp.FirstDetected.UTC()
}

// spikeSpan is the time a spike's windows cover, "now" for the end of one
// that goes on in a live range.
func spikeSpan(v filterView, sp analytics.Spike) string {
	end := sp.WindowEnd.UTC().Format("15:04") + " UTC"
	if v.Live && sp.Ongoing {
		end = "now"
	}
	return sp.WindowStart.UTC().Format("Jan 2 15:04") + " – " + end
}

// changeCompareHref is the comparison behind a regression: the value a
// change replaced, over the calls it was measured on, against the new one
// since it started.
func changeCompareHref(c query.Change, at time.Time) string {
	dim := string(c.Dim)
	v := url.Values{}
	v.Set("a.app", c.App)
	v.Set("a."+dim, c.Previous)
	v.Set("a.from", c.BaselineFrom.UTC().Format(time.RFC3339))
	v.Set("a.to", c.Started.UTC().Format(time.RFC3339))
	v.Set("b.app", c.App)
	v.Set("b."+dim, c.Value)
	v.Set("b.from", c.Started.UTC().Format(time.RFC3339))
	v.Set("b.to", at.UTC().Add(time.Minute).Truncate(time.Minute).Format(time.RFC3339))
	return "/compare?" + v.Encode()
}

// spanText writes a duration string such as "1h0m0s" as people say it
// ("1 hour", "6 hours", "15 minutes"); anything else is left as it is.
func spanText(s string) string {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return s
	}
	plural := func(n int64, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return strconv.FormatInt(n, 10) + " " + unit + "s"
	}
	switch {
	case d%time.Hour == 0:
		return plural(int64(d/time.Hour), "hour")
	case d%time.Minute == 0:
		return plural(int64(d/time.Minute), "minute")
	}
	return s
}
