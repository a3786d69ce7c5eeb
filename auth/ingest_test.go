package auth_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/auth"
	"github.com/stopscope/stopscope/store/sqlite"
)

func openStore(t *testing.T) auth.Store {
	t.Helper()
	s, err := sqlite.Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func addKey(t *testing.T, as auth.Store, app string) (string, auth.APIKey) {
	t.Helper()
	key, hash, prefix, err := auth.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	k, err := as.CreateAPIKey(context.Background(), auth.APIKey{Name: app, App: app, Prefix: prefix, Hash: hash, Created: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return key, k
}

func code(err error) string {
	if err == nil {
		return ""
	}
	return analytics.ErrorCode(err)
}

func TestAuthenticate(t *testing.T) {
	ctx := context.Background()
	as := openStore(t)
	open := &auth.Ingest{Store: as}
	always := &auth.Ingest{Store: as, Always: true}

	// No key exists: open unless Always.
	if _, err := open.Authenticate(ctx, ""); err != nil {
		t.Errorf("no keys, no key sent: %v", err)
	}
	if _, err := always.Authenticate(ctx, ""); code(err) != analytics.EUnauthorized {
		t.Errorf("Always, no key sent: %v", err)
	}
	if _, err := open.Authenticate(ctx, "sk_ss_made_up"); code(err) != analytics.EUnauthorized {
		t.Errorf("an unknown key is refused even when none is required: %v", err)
	}

	bound, k := addKey(t, as, "checkout")
	anyApp, _ := addKey(t, as, "")
	tests := []struct {
		name, key, app, code string
	}{
		{"missing once a key exists", "", "", analytics.EUnauthorized},
		{"bound key", bound, "checkout", ""},
		{"unbound key", anyApp, "", ""},
		{"unknown key", "sk_ss_nope", "", analytics.EUnauthorized},
	}
	for _, tc := range tests {
		got, err := open.Authenticate(ctx, tc.key)
		app, _ := analytics.BoundApp(got)
		if code(err) != tc.code || app != tc.app {
			t.Errorf("%s: bound app %q, err %v; want %q, %q", tc.name, app, err, tc.app, tc.code)
		}
	}
	if err := as.RevokeAPIKey(ctx, k.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := open.Authenticate(ctx, bound); code(err) != analytics.EUnauthorized {
		t.Errorf("a revoked key is accepted: %v", err)
	}
}

type recorder struct{ got []*analytics.Record }

func (r *recorder) Insert(_ context.Context, recs []*analytics.Record) error {
	r.got = append(r.got, recs...)
	return nil
}

func TestBindApps(t *testing.T) {
	next := &recorder{}
	sink := auth.BindApps(next, "default")
	ctx := analytics.WithBoundApp(context.Background(), "checkout")
	if err := sink.Insert(ctx, []*analytics.Record{{App: "default"}, {App: "checkout"}}); err != nil {
		t.Fatal(err)
	}
	if err := sink.Insert(ctx, []*analytics.Record{{App: "checkout"}, {App: "billing"}}); code(err) != analytics.EForbidden {
		t.Errorf("another app: %v, want forbidden", err)
	}
	if len(next.got) != 2 || next.got[0].App != "checkout" || next.got[1].App != "checkout" {
		t.Errorf("stored %d records: %+v", len(next.got), next.got)
	}
}

type pointRecorder struct{ got []analytics.MetricPoint }

func (r *pointRecorder) InsertMetricPoints(_ context.Context, pts []analytics.MetricPoint) error {
	r.got = append(r.got, pts...)
	return nil
}

func TestBindMetricApps(t *testing.T) {
	next := &pointRecorder{}
	sink := auth.BindMetricApps(next, "default")
	if err := sink.InsertMetricPoints(context.Background(), []analytics.MetricPoint{{App: "claude-code"}}); err != nil {
		t.Fatal(err)
	}
	ctx := analytics.WithBoundApp(context.Background(), "checkout")
	if err := sink.InsertMetricPoints(ctx, []analytics.MetricPoint{{App: ""}, {App: "checkout"}}); err != nil {
		t.Fatal(err)
	}
	if err := sink.InsertMetricPoints(ctx, []analytics.MetricPoint{{App: "checkout"}, {App: "claude-code"}}); code(err) != analytics.EForbidden {
		t.Errorf("another app: %v, want forbidden", err)
	}
	if len(next.got) != 3 || next.got[0].App != "claude-code" || next.got[1].App != "checkout" || next.got[2].App != "checkout" {
		t.Errorf("stored %+v", next.got)
	}
}
