package web

import (
	"net/url"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/query"
	"github.com/stopscope/stopscope/store"
)

// defaultRange is the time range a view shows when none is given.
const defaultRange = 24 * time.Hour

// parseFilter reads the filter parameters shared by the API and the pages
// and checks them against query's limits (query.CheckFilter). A bad value
// is an EInvalid error that names its parameter.
func (s *Server) parseFilter(c echo.Context) (store.Filter, error) {
	return s.filterOf(c.QueryParams())
}

// filterOf is parseFilter of the parameters q: also what reads each cohort
// of a comparison, so that every filter parameter works there too.
func (s *Server) filterOf(q url.Values) (store.Filter, error) {
	var f store.Filter
	now := s.Now().UTC()
	var err error
	if f.To, err = parseTime(q, "to", now); err != nil {
		return f, err
	}
	if f.From, err = parseTime(q, "from", f.To.Add(-defaultRange)); err != nil {
		return f, err
	}
	// "custom" is the filter bar's choice of from and to.
	if r := q.Get("range"); r != "" && r != "custom" && q.Get("from") == "" {
		d, ok := rangePresets[r]
		if !ok {
			return f, analytics.Errorf(analytics.EInvalid, "parameter range: %q is not one of 15m, 1h, 6h, 24h, 7d, 30d", r)
		}
		f.From = f.To.Add(-d)
	}
	f.App = q.Get("app")
	f.Environment = q.Get("environment")
	f.Model = q.Get("model")
	f.ErrorType = q.Get("error_type")
	f.SessionID = q.Get("session_id")
	f.Release = q.Get("release")
	f.PromptVersion = q.Get("prompt_version")
	f.Text = q.Get("q")
	if k := q.Get("kind"); k != "" {
		if !validKind(analytics.Kind(k)) {
			return f, analytics.Errorf(analytics.EInvalid, "parameter kind: %q is not one of %s", k, joinKeys(analytics.Kinds))
		}
		f.Kind = analytics.Kind(k)
	}
	if q.Has("stop_reason") && q.Get("stop_reason") != "" {
		f.StopReason = analytics.ParseStopReasonKey(q.Get("stop_reason"))
		f.HasStopReason = true
	}
	if rc := q.Get("refusal_category"); rc != "" {
		c := analytics.ParseRefusalCategoryKey(rc)
		if _, ok := analytics.RefusalCategoryInfoOf(c); !ok {
			keys := make([]string, len(analytics.RefusalCategories))
			for i, k := range analytics.RefusalCategories {
				keys[i] = k.Key()
			}
			return f, analytics.Errorf(analytics.EInvalid, "parameter refusal_category: %q is not one of %s", rc, joinKeys(keys))
		}
		f.RefusalCategory, f.HasRefusalCategory = c, true
	}
	if fl := q.Get("flag"); fl != "" {
		if !analytics.Flag(fl).Valid() {
			return f, analytics.Errorf(analytics.EInvalid, "parameter flag: %q is not one of %s", fl, joinKeys(analytics.AllFlags))
		}
		f.Flag = analytics.Flag(fl)
	}
	if ca := q.Get("cause"); ca != "" {
		if _, ok := analytics.CauseInfoOf(analytics.Cause(ca)); !ok {
			return f, analytics.Errorf(analytics.EInvalid, "parameter cause: %q is not one of %s", ca, joinKeys(analytics.AllCauses))
		}
		f.Cause = analytics.Cause(ca)
	}
	// The limits are checked before any work, so that an absurd range is a
	// quick 400 rather than a long read.
	if err := query.CheckFilter(f, now); err != nil {
		return f, err
	}
	return f, nil
}

// rangeChoices are the filter bar's range choices in display order.
var rangeChoices = []string{"15m", "1h", "6h", "24h", "7d", "30d", "custom"}

func rangeChoiceLabel(p string) string {
	if p == "custom" {
		return "Custom…"
	}
	return "Last " + presetLabel(p)
}

// rangePresets are the time ranges the filter bar offers.
var rangePresets = map[string]time.Duration{
	"15m": 15 * time.Minute, "1h": time.Hour, "6h": 6 * time.Hour,
	"24h": 24 * time.Hour, "7d": 7 * 24 * time.Hour, "30d": 30 * 24 * time.Hour,
}

func parseTime(q url.Values, name string, def time.Time) (time.Time, error) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		// The filter bar's datetime-local inputs send minutes without a
		// zone; the bar labels them UTC.
		for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05"} {
			if lt, lerr := time.Parse(layout, v); lerr == nil {
				return lt.UTC(), nil
			}
		}
	}
	if err != nil {
		return t, analytics.Errorf(analytics.EInvalid, "parameter %s: %q is not an RFC 3339 time such as 2026-01-02T15:04:05Z", name, v)
	}
	return t.UTC(), nil
}

func parseLimit(c echo.Context, def, max int) (int, error) {
	v := c.QueryParam("limit")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		return 0, analytics.Errorf(analytics.EInvalid, "parameter limit: %q is not a whole number from 1 to %d", v, max)
	}
	return n, nil
}

func validKind(k analytics.Kind) bool {
	for _, x := range analytics.Kinds {
		if k == x {
			return true
		}
	}
	return false
}
