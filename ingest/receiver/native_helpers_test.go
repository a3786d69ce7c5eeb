package receiver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stopscope/stopscope/web"

	"github.com/labstack/echo/v4"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/ingest/receiver"
	"github.com/stopscope/stopscope/ingest/testfixtures"
)

// testNow is the clock of the native tests: records without a time get it.
var testNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// expectedKinds is how package ingest says what a record may be.
const expectedKinds = "expected a Messages API response (type message), an Agent SDK result (type result), an error body (type error) or an envelope with one of response, stream, error, result"

// fixture returns a shared fixture.
func fixture(tb testing.TB, name string) []byte { return testfixtures.Read(tb, name) }

// compact returns a fixture on one line, as NDJSON needs.
func compact(t *testing.T, name string) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, fixture(t, name)); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

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

// newEcho returns an echo serving h at POST /v1/responses, with an error
// handler that answers {"code", "error"}.
func newEcho(h *receiver.Handler) *echo.Echo {
	e := echo.New()
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		_ = c.JSON(web.StatusOf(err), map[string]string{"code": analytics.ErrorCode(err), "error": analytics.ErrorMessage(err)})
	}
	e.POST("/v1/responses", h.PostResponses)
	return e
}
