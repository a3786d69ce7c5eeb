package analytics

import (
	"context"
	"slices"
)

type boundAppKey struct{}

// WithBoundApp returns a context that says the records of the request it
// carries may only belong to app: the request was authenticated with an
// ingest key bound to that app.
func WithBoundApp(ctx context.Context, app string) context.Context {
	return context.WithValue(ctx, boundAppKey{}, app)
}

// BoundApp returns the app the request of ctx is bound to, and whether it
// is bound at all.
func BoundApp(ctx context.Context) (string, bool) {
	app, ok := ctx.Value(boundAppKey{}).(string)
	return app, ok && app != ""
}

// ApplyBoundApp enforces the bound app of ctx, if any, on recs: a record
// that names no app (App is empty or one of unnamed: the name decoders give
// such records, and the app of calls seen only from the Claude API's side)
// is given the bound app, and a record that names another app
// makes the whole call fail with an EForbidden error that says which, so
// that a key cannot write as another team and a misconfigured client hears
// about it at once. Nothing is changed unless every record passes.
func ApplyBoundApp(ctx context.Context, recs []*Record, unnamed ...string) error {
	app, ok := BoundApp(ctx)
	if !ok {
		return nil
	}
	for _, r := range recs {
		if r.App != "" && !slices.Contains(unnamed, r.App) && r.App != app {
			return Errorf(EForbidden, "a record names app %q, but this ingest key is bound to app %q: send it with that app's key, or leave the app out", r.App, app)
		}
	}
	for _, r := range recs {
		r.App = app
	}
	return nil
}
