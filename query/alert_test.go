package query_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stopscope/stopscope/analytics"
)

// The error rate narrowed to one error type counts the failures of that
// type out of every call of the scope, answered ones included; other
// metrics cannot be narrowed so.
func TestTallyErrorType(t *testing.T) {
	s, st := newService(t, nil)
	fail := func(app, typ string, status, i int) *analytics.Record {
		return &analytics.Record{Time: now.Add(-time.Hour), Source: "native", App: app, Environment: "prod", Model: "claude-x",
			Kind: analytics.KindError, ErrorType: typ, HTTPStatus: status, RequestID: fmt.Sprintf("req_%s_%d", app, i)}
	}
	recs := []*analytics.Record{
		fail("a", "overloaded_error", 529, 1), fail("b", "overloaded_error", 529, 2), fail("c", "overloaded_error", 529, 3),
		fail("a", "rate_limit_error", 429, 4),
	}
	for range 6 {
		recs = append(recs, msg(now.Add(-time.Hour), "b", analytics.StopEndTurn))
	}
	insertAll(t, st, recs)
	ctx := context.Background()
	for _, c := range []struct {
		typ, app string
		want     analytics.Tally
	}{
		{"overloaded_error", "", analytics.Tally{K: 3, N: 10}},
		{"rate_limit_error", "", analytics.Tally{K: 1, N: 10}},
		{"api_error", "", analytics.Tally{K: 0, N: 10}},
		{"overloaded_error", "b", analytics.Tally{K: 1, N: 7}},
		{"", "", analytics.Tally{K: 4, N: 10}},
	} {
		f := lastHours(24)
		f.ErrorType, f.App = c.typ, c.app
		got, err := s.Tally(ctx, f, analytics.MetricError)
		if err != nil || got != c.want {
			t.Errorf("error type %q app %q: %+v, %v; want %+v", c.typ, c.app, got, err, c.want)
		}
	}
	f := lastHours(24)
	f.ErrorType = "overloaded_error"
	if _, err := s.Tally(ctx, f, analytics.MetricRefusal); analytics.ErrorCode(err) != analytics.EInvalid {
		t.Errorf("refusal rate narrowed to an error type: %v, want invalid", err)
	}
}
