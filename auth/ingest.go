package auth

import (
	"context"
	"strings"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
)

// Ingest checks the keys of ingest requests. A key is required when
// Always is set (stopscope listens beyond loopback) or as soon as one
// active key exists; until then, requests without a key are let through,
// so that a local set-up needs none. A key that is sent is always checked,
// required or not. Every check reads the store, so a revoked key is
// refused at once.
type Ingest struct {
	Store Store
	// Always makes a key required even while none exists.
	Always bool
}

// Authenticate checks key, the raw key a request carried ("" for none),
// and returns the context to serve the request with: one that carries the
// key's bound app (analytics.WithBoundApp) when it has one. A missing,
// unknown or revoked key, when one is required, is an EUnauthorized error.
func (in *Ingest) Authenticate(ctx context.Context, key string) (context.Context, error) {
	if key == "" {
		required := in.Always
		if !required {
			n, err := in.Store.CountActiveAPIKeys(ctx)
			if err != nil {
				return ctx, err
			}
			required = n > 0
		}
		if required {
			return ctx, analytics.Errorf(analytics.EUnauthorized, "an ingest key is required: send it as \"Authorization: Bearer sk_ss_…\" or \"x-api-key: sk_ss_…\" (create one with: dashboard keys create --app NAME)")
		}
		return ctx, nil
	}
	k, err := in.Store.APIKeyByHash(ctx, HashSecret(key))
	if analytics.ErrorCode(err) == analytics.ENotFound || (err == nil && !k.Active()) {
		return ctx, analytics.Errorf(analytics.EUnauthorized, "the ingest key is unknown or revoked")
	}
	if err != nil {
		return ctx, err
	}
	if k.App != "" {
		ctx = analytics.WithBoundApp(ctx, k.App)
	}
	return ctx, nil
}

// BindApps wraps next so that every Insert enforces the bound app of its
// context (analytics.ApplyBoundApp): records that name no app, or name one
// of unnamed (the app decoders give such records, the app of the Claude
// API's own spans), get the key's app, and a
// call with a record of another app is refused whole with EForbidden.
// Put it outermost, where the context is still the request's.
func BindApps(next store.Inserter, unnamed ...string) store.Inserter {
	return bindApps{next: next, unnamed: unnamed}
}

type bindApps struct {
	next    store.Inserter
	unnamed []string
}

func (b bindApps) Insert(ctx context.Context, recs []*analytics.Record) error {
	if err := analytics.ApplyBoundApp(ctx, recs, b.unnamed...); err != nil {
		return err
	}
	return b.next.Insert(ctx, recs)
}

// BindMetricApps is BindApps for producer totals: points that name no app,
// or name unnamed, get the key's app, and a call with a point of another
// app is refused whole with EForbidden, so that a key bound to one app
// cannot write another's totals.
func BindMetricApps(next store.MetricInserter, unnamed string) store.MetricInserter {
	return bindMetricApps{next: next, unnamed: unnamed}
}

type bindMetricApps struct {
	next    store.MetricInserter
	unnamed string
}

func (b bindMetricApps) InsertMetricPoints(ctx context.Context, pts []analytics.MetricPoint) error {
	app, ok := analytics.BoundApp(ctx)
	if !ok {
		return b.next.InsertMetricPoints(ctx, pts)
	}
	for _, p := range pts {
		if p.App != "" && p.App != b.unnamed && p.App != app {
			return analytics.Errorf(analytics.EForbidden, "a metric point names app %q, but this ingest key is bound to app %q: send it with that app's key, or leave the app out", p.App, app)
		}
	}
	bound := make([]analytics.MetricPoint, len(pts))
	for i, p := range pts {
		p.App = app
		bound[i] = p
	}
	return b.next.InsertMetricPoints(ctx, bound)
}

// IsLoopback reports whether a listen address only accepts connections
// from this machine: a loopback IP or "localhost". An empty host (":8080")
// listens everywhere.
func IsLoopback(host string) bool {
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := parseIP(host)
	return err == nil && ip.IsLoopback()
}
