package web

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
)

// apiSummary answers GET /api/v1/summary.
func (s *Server) apiSummary(c echo.Context) error {
	f, err := s.parseFilter(c)
	if err != nil {
		return err
	}
	sum, err := s.Query.Summary(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, sum)
}

// listItem is one record in GET /api/v1/responses.
type listItem struct {
	ID          int64           `json:"id"`
	Time        string          `json:"time"`
	App         string          `json:"app"`
	Environment string          `json:"environment"`
	Model       string          `json:"model"`
	Kind        analytics.Kind  `json:"kind"`
	StopReason  *string         `json:"stop_reason"`
	Flags       analytics.Flags `json:"flags"`
	Usage       analytics.Usage `json:"usage"`
	// LatencyMS and TTFTMS are null when the producer reported none.
	LatencyMS  *int64 `json:"latency_ms"`
	TTFTMS     *int64 `json:"ttft_ms"`
	HTTPStatus int    `json:"http_status,omitempty"`
	ErrorType  string `json:"error_type,omitempty"`
	Subtype    string `json:"subtype,omitempty"`
	// NumTurns, CostUSD and DurationMS are an Agent SDK run's (CostUSD
	// also a call's whose producer reports its cost), null when unknown.
	NumTurns   *int64   `json:"num_turns"`
	CostUSD    *float64 `json:"cost_usd"`
	DurationMS *int64   `json:"duration_ms"`
	SessionID  string   `json:"session_id,omitempty"`
	// Release and PromptVersion are the record's own values.
	Release       string `json:"release,omitempty"`
	PromptVersion string `json:"prompt_version,omitempty"`
	// StopDetails is the response's stop_details, when it had any.
	StopDetails *analytics.StopDetails `json:"stop_details,omitempty"`
	// ServiceTier is the tier the call was served on, when known.
	ServiceTier string `json:"service_tier,omitempty"`
}

// known is &n, or nil for the zero a record keeps for a number nobody
// reported.
func known[N int64 | float64](n N) *N {
	if n == 0 {
		return nil
	}
	return &n
}

func toListItem(r *analytics.Record) listItem {
	it := listItem{
		ID: r.ID, Time: r.Time.UTC().Format("2006-01-02T15:04:05.000Z07:00"), App: r.App,
		Environment: r.Environment, Model: r.Model, Kind: r.Kind, Flags: r.Flags,
		Usage: r.Usage, LatencyMS: known(r.LatencyMS), TTFTMS: known(r.TTFTMS), HTTPStatus: r.HTTPStatus,
		ErrorType: r.ErrorType, Subtype: r.Subtype, NumTurns: known(r.NumTurns), CostUSD: known(r.CostUSD),
		DurationMS: known(r.DurationMS), SessionID: r.SessionID, StopDetails: r.StopDetails,
		Release: r.Release, PromptVersion: r.PromptVersion,
		ServiceTier: r.ServiceTier,
	}
	if r.Kind != analytics.KindError && r.StopReason != analytics.StopNull {
		sr := string(r.StopReason)
		it.StopReason = &sr
	}
	return it
}

// apiResponses answers GET /api/v1/responses: newest first, cursor-paginated.
func (s *Server) apiResponses(c echo.Context) error {
	f, err := s.parseFilter(c)
	if err != nil {
		return err
	}
	limit, err := parseLimit(c, 50, 1000)
	if err != nil {
		return err
	}
	recs, next, err := s.Store.List(c.Request().Context(), f, limit, store.Cursor(c.QueryParam("cursor")))
	if err != nil {
		return err
	}
	items := make([]listItem, len(recs))
	for i, r := range recs {
		items[i] = toListItem(r)
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items, "next_cursor": string(next)})
}

// apiResponse answers GET /api/v1/responses/{id}: one record, everything.
func (s *Server) apiResponse(c echo.Context) error {
	rec, err := s.record(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, rec)
}

func (s *Server) record(c echo.Context) (*analytics.Record, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id < 1 {
		return nil, analytics.Errorf(analytics.ENotFound, "no record with id %q", c.Param("id"))
	}
	return s.Store.Get(c.Request().Context(), id)
}
