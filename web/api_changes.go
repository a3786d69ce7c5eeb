package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/query"
)

// apiChanges answers GET /api/v1/changes: the models, releases and prompt
// versions that started taking traffic within the lookback, each compared
// with what it replaced (query.Changes). Parameters: app, environment,
// lookback (default 24h, at most query.MaxWindow), prior (default 7d, at
// most query.MaxBaseline) and min_calls (default 200).
func (s *Server) apiChanges(c echo.Context) error {
	q := c.QueryParams()
	f, err := s.parseFilter(c)
	if err != nil {
		return err
	}
	d := analytics.DefaultChangeConfig()
	var cfg analytics.ChangeConfig
	if cfg.Lookback, err = parseDuration(q, "lookback", d.Lookback, query.MaxWindow); err != nil {
		return err
	}
	if cfg.Prior, err = parseDuration(q, "prior", d.Prior, query.MaxBaseline); err != nil {
		return err
	}
	if cfg.MinCalls, err = parseCount(q, "min_calls", d.MinCalls); err != nil {
		return err
	}
	if cfg.MinCalls < 1 {
		return analytics.Errorf(analytics.EInvalid, "parameter min_calls: %d is not a positive number", cfg.MinCalls)
	}
	res, err := s.Query.Changes(c.Request().Context(), f, cfg)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}
