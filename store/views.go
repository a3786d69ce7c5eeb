package store

import (
	"context"
	"time"
)

// SavedView is a filter or a comparison saved under a name: a dashboard
// URL (path and query) that /v/<slug> leads to.
type SavedView struct {
	// Slug names the view in its URL: lower-case letters, digits and
	// hyphens, unique.
	Slug string `json:"slug"`
	Name string `json:"name"`
	// URL is the dashboard path and query the view shows, such as
	// "/compare?a.model=x&b.model=y".
	URL     string    `json:"url"`
	Created time.Time `json:"created"`
}

// MaxSavedViews bounds how many views a store keeps, so that the
// navigation that lists them stays small.
const MaxSavedViews = 100

// ViewStore keeps saved views. The SQL stores are one.
type ViewStore interface {
	// ListSavedViews returns every view by name.
	ListSavedViews(ctx context.Context) ([]SavedView, error)
	// GetSavedView returns one view, or an analytics.ENotFound error.
	GetSavedView(ctx context.Context, slug string) (SavedView, error)
	// CreateSavedView stores v, checked by the caller; a slug already
	// taken is an analytics.EConflict error, a store that holds
	// MaxSavedViews an analytics.ETooLarge one.
	CreateSavedView(ctx context.Context, v SavedView) (SavedView, error)
	// DeleteSavedView deletes one view, or answers analytics.ENotFound.
	DeleteSavedView(ctx context.Context, slug string) error
}
