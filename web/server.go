// Package web serves stopscope's HTTP interface: the JSON read API, the
// browser dashboard (templ components, embedded static assets) and the
// routes of the ingest handlers, with one place that maps errors to
// HTTP statuses.
package web

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"github.com/stopscope/stopscope/alert"
	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/query"
	"github.com/stopscope/stopscope/store"
)

// Server holds what the HTTP handlers need. Set the fields, then call Handler.
type Server struct {
	Store store.Store
	// Query computes every figure the pages and the API show; when nil,
	// Handler makes one over Store with Now.
	Query  *query.Service
	Logger *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time

	// Telemetry, when set, counts ingest and serves /metrics.
	Telemetry *Telemetry
	// Metrics serves GET /metrics (Prometheus format) when set.
	Metrics http.Handler

	// Ingest handlers, wired by the caller so that this package never
	// decodes records itself. A nil handler leaves its route unregistered.
	PostResponses echo.HandlerFunc
	PostTraces    echo.HandlerFunc
	PostLogs      echo.HandlerFunc
	PostMetrics   echo.HandlerFunc

	// Received, when set, says when each producer last sent each signal
	// (producer → signal → time, as receiver.Seen.Last does), for the
	// Setup page.
	Received func() map[string]map[string]time.Time
	// OTLPGRPCAddr is the address OTLP/gRPC listens on, as bound; empty
	// when it is off. The Setup page shows it.
	OTLPGRPCAddr string

	// Ready, when set, is what GET /readyz checks beyond the store's ping:
	// an error (ingest saturated or shutting down) answers 503.
	Ready func(ctx context.Context) error

	// Alerts, when set, serves the alerting API and the Alerts page.
	Alerts alert.Store
	// Notifier sends test notifications to alert channels.
	Notifier Notifier
	// AlertDestinations is where alert channels may send; nil allows
	// public addresses only (see alert.Destinations). A channel's URL is
	// checked when it is created or changed.
	AlertDestinations *alert.Destinations

	// AllowedHosts are the host names, beyond IP addresses and localhost,
	// that requests may name in their Host header; any other is answered
	// 421, so that a DNS-rebinding page cannot reach the server under a
	// name of its own. "*.example.com" allows the subdomains of
	// example.com, "*" any name.
	AllowedHosts []string

	// Views keeps the saved views; when nil, Handler uses Store if it is
	// a store.ViewStore (the SQL stores are), and without one the views
	// are off.
	Views store.ViewStore

	// Auth, when set, requires ingest keys and a dashboard login (see
	// Auth for when) and checks CSRF tokens; nil serves everyone.
	Auth *Auth

	// LiveEvery is how often a page refreshes its live parts (the now
	// strip on every page; on a range that ends now, the cards, charts,
	// spikes, patterns and tables); DefaultLiveEvery when zero.
	LiveEvery time.Duration

	overload logLimiter
}

// Notifier sends a test notification to an alert channel and returns the
// first attempt (alert.Deliverer is one).
type Notifier interface {
	SendTest(ctx context.Context, channelID int64) (alert.Attempt, error)
}

// Handler returns the HTTP handler with every route registered.
func (s *Server) Handler() http.Handler {
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	if s.Query == nil {
		s.Query = query.New(s.Store, s.Now)
	}
	if vs, ok := s.Store.(store.ViewStore); ok && s.Views == nil {
		s.Views = vs
	}
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = s.handleError
	e.Use(securityHeaders)
	if s.Telemetry != nil {
		e.Use(s.Telemetry.Middleware)
	}
	e.Use(s.guard)
	if s.Auth != nil {
		s.Auth.init(s)
		e.Use(s.Auth.middleware)
		e.GET("/login", s.Auth.pageLogin)
		e.POST("/login", s.Auth.postLogin)
		e.POST("/logout", s.Auth.postLogout)
	}
	if s.Views != nil {
		e.Use(s.withViews)
	}
	e.Use(s.pageContext)
	if s.Metrics != nil {
		e.GET("/metrics", echo.WrapHandler(s.Metrics))
	}

	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)

	if s.PostResponses != nil {
		e.POST("/v1/responses", s.PostResponses)
	}
	if s.PostTraces != nil {
		e.POST("/v1/traces", s.PostTraces)
	}
	if s.PostLogs != nil {
		e.POST("/v1/logs", s.PostLogs)
	}
	if s.PostMetrics != nil {
		e.POST("/v1/metrics", s.PostMetrics)
	}

	api := e.Group("/api/v1")
	api.GET("/summary", s.apiSummary)
	api.GET("/responses", s.apiResponses)
	api.GET("/responses/:id", s.apiResponse)
	api.GET("/rates", s.apiRates)
	api.GET("/timeseries", s.apiTimeseries)
	api.GET("/spikes", s.apiSpikes)
	api.GET("/patterns", s.apiPatterns)
	api.GET("/refusers", s.apiRefusers)
	api.GET("/changes", s.apiChanges)
	api.GET("/latency-cost", s.apiLatencyCost)
	api.GET("/compare", s.apiCompare)
	e.GET("/compare", s.pageCompare)
	api.GET("/now", s.apiNow)

	s.dashboardRoutes(e)
	e.GET("/static/:name", serveStatic)
	s.registerAlerts(e, api)
	s.registerViews(e, api)
	return e
}

// securityHeaders sets the headers every answer carries: no framing, no
// sniffing, and a Content-Security-Policy that allows no inline script.
func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		return next(c)
	}
}

func (s *Server) healthz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := s.Store.Ping(ctx); err != nil {
		s.Logger.Error("store ping failed", "err", err)
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "store unavailable"})
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers 200 when the store answers and Ready (if set) agrees, so
// that a load balancer sends traffic only to an instance that can take it.
func (s *Server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := s.Store.Ping(ctx); err != nil {
		s.Logger.Error("store ping failed", "err", err)
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "store unavailable"})
	}
	if s.Ready != nil {
		if err := s.Ready(ctx); err != nil {
			c.Response().Header().Set("Retry-After", "1")
			return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": analytics.ErrorMessage(err)})
		}
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// StatusOf returns the HTTP status an error is answered with: the one
// place that maps error codes to statuses.
func StatusOf(err error) int {
	var he *echo.HTTPError
	if errors.As(err, &he) {
		return he.Code
	}
	switch analytics.ErrorCode(err) {
	case analytics.EInvalid:
		return http.StatusBadRequest
	case analytics.EUnauthorized:
		return http.StatusUnauthorized
	case analytics.EForbidden:
		return http.StatusForbidden
	case analytics.ENotFound:
		return http.StatusNotFound
	case analytics.EConflict:
		return http.StatusConflict
	case analytics.ETooLarge:
		return http.StatusRequestEntityTooLarge
	case analytics.EUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// handleError is echo's HTTPErrorHandler: codes become statuses, unknown
// errors become "internal error" for the user and a log line for us.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var status int
	var msg string
	var he *echo.HTTPError
	switch {
	case errors.As(err, &he):
		status = he.Code
		msg = http.StatusText(he.Code)
		if m, ok := he.Message.(string); ok && status < 500 {
			msg = m
		}
	default:
		status = StatusOf(err)
		msg = analytics.ErrorMessage(err)
	}
	switch {
	case status == http.StatusServiceUnavailable:
		// Overloaded or shutting down: the client is told to retry, as
		// designed; log it, but not once per refused request.
		if ok, n := s.overload.allow(s.Now(), overloadLogEvery); ok {
			s.Logger.Warn("request refused, client told to retry", "method", c.Request().Method, "path", c.Request().URL.Path, "status", status, "err", err, "suppressed_since_last", n)
		}
	case status >= 500:
		s.Logger.Error("request failed", "method", c.Request().Method, "path", c.Request().URL.Path, "status", status, "err", err)
	}
	if status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests {
		c.Response().Header().Set("Retry-After", "1")
	}
	if wantsJSON(c.Request()) {
		_ = c.JSON(status, map[string]string{"error": msg})
		return
	}
	_ = render(c, status, errorPage(status, msg))
}

// wantsJSON tells API and ingest callers, who get JSON errors, from
// browsers, who get a page.
func wantsJSON(r *http.Request) bool {
	p := r.URL.Path
	if strings.HasPrefix(p, "/api/") || strings.HasPrefix(p, "/v1/") {
		return true
	}
	return !strings.Contains(r.Header.Get("Accept"), "text/html")
}

// render renders a component into a buffer first, so that a failed render
// never sends half a page.
func render(c echo.Context, status int, comp templ.Component) error {
	var buf bytes.Buffer
	if err := comp.Render(c.Request().Context(), &buf); err != nil {
		return err
	}
	return c.HTMLBlob(status, buf.Bytes())
}
