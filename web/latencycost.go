package web

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/query"
	"github.com/stopscope/stopscope/store"
)

// lcOnlyScope refuses the filters the latency and cost figures cannot
// answer, rather than ignore them and show figures of more records.
func lcOnlyScope(f store.Filter) error {
	if f.Kind != "" || f.HasStopReason || f.Flag != "" || f.ErrorType != "" || f.HasRefusalCategory || f.SessionID != "" || f.Text != "" || f.Release != "" || f.PromptVersion != "" {
		return analytics.Errorf(analytics.EInvalid, "latency and cost take only from, to, range, app, environment and model")
	}
	return nil
}

// apiLatencyCost answers GET /api/v1/latency-cost: query.LatencyCost.
func (s *Server) apiLatencyCost(c echo.Context) error {
	f, err := s.parseFilter(c)
	if err != nil {
		return err
	}
	if err := lcOnlyScope(f); err != nil {
		return err
	}
	d, err := s.Query.LatencyCost(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}

// latencyCostData is what the Latency and cost page shows.
type latencyCostData struct {
	Filter filterView
	query.LatencyCost
}

func (s *Server) pageLatencyCost(c echo.Context) error {
	v, err := s.filterView(c)
	if err != nil {
		return err
	}
	d, err := s.Query.LatencyCost(c.Request().Context(), v.Scope())
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, latencyCostPage(latencyCostData{Filter: v, LatencyCost: d}))
}

// formatMSPtr writes a percentile in milliseconds, "—" when there is none.
func formatMSPtr(p *int64) string {
	if p == nil {
		return "—"
	}
	return formatInt(*p) + "\u00a0ms" // a number stays whole with its unit
}

// formatCost writes a cost in dollars and says how many records' cost is
// unknown: "unknown" when nothing is known, "—" for no record.
func formatCost(c analytics.Cost, records int64) string {
	switch {
	case records == 0:
		return "—"
	case c.UnknownN == 0:
		return "$" + formatMoney(c.USD)
	case c.UnknownN >= records && c.USD == 0:
		return "unknown"
	default:
		return "$" + formatMoney(c.USD) + " + " + formatInt(c.UnknownN) + " unknown"
	}
}

// formatMean writes sum/n with one decimal, "—" when n is 0.
func formatMean(sum, n int64) string {
	if n == 0 {
		return "—"
	}
	return strconv.FormatFloat(float64(sum)/float64(n), 'f', 1, 64)
}

// userLabel names a user row.
func userLabel(u query.UserCost) string {
	switch {
	case u.Other:
		return "Other users"
	case u.User == "":
		return "No user id"
	}
	return u.User
}
