package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
)

var _ store.ViewStore = (*Store)(nil)

// ListSavedViews returns every saved view by name.
func (s *Store) ListSavedViews(ctx context.Context) ([]store.SavedView, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT slug, name, url, created_ns FROM saved_views ORDER BY name, slug`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: listing saved views: %w", err)
	}
	defer rows.Close()
	out := []store.SavedView{}
	for rows.Next() {
		var v store.SavedView
		var created int64
		if err := rows.Scan(&v.Slug, &v.Name, &v.URL, &created); err != nil {
			return nil, fmt.Errorf("sqlstore: reading saved views: %w", err)
		}
		v.Created = timeOf(created)
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: reading saved views: %w", err)
	}
	return out, nil
}

// GetSavedView returns one saved view, or an ENotFound error.
func (s *Store) GetSavedView(ctx context.Context, slug string) (store.SavedView, error) {
	v := store.SavedView{Slug: slug}
	var created int64
	err := s.r.QueryRowContext(ctx, s.d.rebind(`SELECT name, url, created_ns FROM saved_views WHERE slug = ?`), slug).
		Scan(&v.Name, &v.URL, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return v, analytics.Errorf(analytics.ENotFound, "no saved view %q", slug)
	}
	if err != nil {
		return v, fmt.Errorf("sqlstore: reading saved view: %w", err)
	}
	v.Created = timeOf(created)
	return v, nil
}

// CreateSavedView stores v: EConflict when its slug is taken, ETooLarge
// when the store already holds store.MaxSavedViews.
func (s *Store) CreateSavedView(ctx context.Context, v store.SavedView) (store.SavedView, error) {
	var n int
	if err := s.w.QueryRowContext(ctx, `SELECT COUNT(*) FROM saved_views`).Scan(&n); err != nil {
		return v, fmt.Errorf("sqlstore: counting saved views: %w", err)
	}
	if n >= store.MaxSavedViews {
		return v, analytics.Errorf(analytics.ETooLarge, "there are already %d saved views: delete one first", store.MaxSavedViews)
	}
	var id int64
	err := s.w.QueryRowContext(ctx, s.d.rebind(`INSERT INTO saved_views (slug, name, url, created_ns) VALUES (?, ?, ?, ?)
ON CONFLICT (slug) DO NOTHING RETURNING id`), v.Slug, v.Name, v.URL, nsOf(v.Created)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return v, analytics.Errorf(analytics.EConflict, "a saved view is already called %q: choose another name", v.Slug)
	}
	if err != nil {
		return v, fmt.Errorf("sqlstore: creating saved view: %w", err)
	}
	return v, nil
}

// DeleteSavedView deletes one saved view, or answers ENotFound.
func (s *Store) DeleteSavedView(ctx context.Context, slug string) error {
	res, err := s.w.ExecContext(ctx, s.d.rebind(`DELETE FROM saved_views WHERE slug = ?`), slug)
	if err != nil {
		return fmt.Errorf("sqlstore: deleting saved view: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return analytics.Errorf(analytics.ENotFound, "no saved view %q", slug)
	}
	return nil
}
