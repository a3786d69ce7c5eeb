package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/stopscope/stopscope/analytics"
)

// testNow is the clock of every test: records without a time get it.
var testNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

var testOpts = Options{Now: testNow}

// fixture returns a file under testdata/fixtures.
func fixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "fixtures", filepath.FromSlash(name)))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// fixtureNames lists the response fixtures: every file of the folders that
// expected.json describes.
func fixtureNames(tb testing.TB) []string {
	tb.Helper()
	var names []string
	for _, dir := range []string{"messages", "streams", "agent_sdk", "errors"} {
		entries, err := os.ReadDir(filepath.Join("testdata", "fixtures", dir))
		if err != nil {
			tb.Fatal(err)
		}
		for _, e := range entries {
			names = append(names, dir+"/"+e.Name())
		}
	}
	return names
}

// envelope wraps a fixture in an envelope under the key its kind needs.
func envelope(tb testing.TB, name string, extra map[string]any) []byte {
	tb.Helper()
	data := fixture(tb, name)
	env := map[string]any{}
	for k, v := range extra {
		env[k] = v
	}
	switch filepath.Dir(name) {
	case "messages":
		env["response"] = json.RawMessage(data)
	case "streams":
		env["stream"] = string(data)
	case "agent_sdk":
		env["result"] = json.RawMessage(data)
	case "errors":
		var status int
		if _, err := fmtSscan(filepath.Base(name), &status); err != nil {
			tb.Fatal(err)
		}
		env["error"] = map[string]any{"status": status, "body": json.RawMessage(data)}
	default:
		tb.Fatalf("no envelope for %s", name)
	}
	b, err := json.Marshal(env)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// fmtSscan reads the status a fixture of errors/ is named after.
func fmtSscan(s string, v *int) (int, error) { return fmt.Sscan(strings.TrimSuffix(s, ".json"), v) }

// sliceSink keeps what it is given; err makes Insert fail.
type sliceSink struct {
	mu   sync.Mutex
	recs []*analytics.Record
	err  error
}

func (s *sliceSink) Insert(_ context.Context, recs []*analytics.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.recs = append(s.recs, recs...)
	return nil
}

// statusFor is the test's own map of error codes to statuses; the real one
// lives in package web.
func statusFor(err error) int {
	var he *echo.HTTPError
	if errors.As(err, &he) {
		return he.Code
	}
	switch analytics.ErrorCode(err) {
	case analytics.EInvalid:
		return http.StatusBadRequest
	case analytics.ENotFound:
		return http.StatusNotFound
	case analytics.ETooLarge:
		return http.StatusRequestEntityTooLarge
	case analytics.EUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// newEcho returns an echo serving h at POST /v1/responses, with an error
// handler that answers {"code", "error"}.
func newEcho(h *Handler) *echo.Echo {
	e := echo.New()
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		_ = c.JSON(statusFor(err), map[string]string{"code": analytics.ErrorCode(err), "error": analytics.ErrorMessage(err)})
	}
	e.POST("/v1/responses", h.PostResponses)
	return e
}
