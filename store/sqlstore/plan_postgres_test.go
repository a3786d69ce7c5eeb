package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/ingest/testfixtures"
	"github.com/stopscope/stopscope/store"
)

// TestRareFilterPlansPostgres checks, with PostgreSQL's EXPLAIN over an
// analysed table of 20,000 records of a usual mix, that List finds rare
// values through their partial indexes and common ones by the time index.
// It runs when STOPSCOPE_TEST_POSTGRES names a server.
func TestRareFilterPlansPostgres(t *testing.T) {
	admin := os.Getenv("STOPSCOPE_TEST_POSTGRES")
	if admin == "" {
		testfixtures.Skip(t, "PostgreSQL plan test (store/sqlstore)", "STOPSCOPE_TEST_POSTGRES is not set (see README)")
	}
	ctx := context.Background()
	adb, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatal(err)
	}
	defer adb.Close()
	b := make([]byte, 8)
	rand.Read(b)
	name := "stopscope_test_" + hex.EncodeToString(b)
	if _, err := adb.Exec(`CREATE DATABASE "` + name + `"`); err != nil {
		t.Fatal(err)
	}
	defer adb.Exec(`DROP DATABASE IF EXISTS "` + name + `" WITH (FORCE)`)
	u, _ := url.Parse(admin)
	u.Path = "/" + name
	db, err := sql.Open("pgx", u.String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(ctx, Config{Writer: db, Dialect: Dialect{Name: "postgres", NumberedPlaceholders: true, MaxParams: 65535}, Migrations: os.DirFS("../postgres/migrations")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var recs []*analytics.Record
	for i := range 20000 {
		r := &analytics.Record{Time: t0.Add(time.Duration(i) * time.Second), Source: "api", App: "chat", Environment: "prod",
			Kind: analytics.KindMessage, Model: "claude-sonnet-4-5", StopReason: analytics.StopEndTurn}
		switch {
		case i%200 == 7:
			r.StopReason = analytics.StopRefusal
			r.StopDetails = &analytics.StopDetails{Type: "refusal", Category: "cyber"}
		case i%100 == 3:
			r.Kind, r.StopReason, r.ErrorType, r.HTTPStatus = analytics.KindError, analytics.StopNull, "overloaded_error", 529
		case i%3 == 0:
			r.StopReason = analytics.StopToolUse
		}
		if i%2 == 0 {
			r.App = "agent"
		}
		analytics.Classify(r)
		recs = append(recs, r)
	}
	for lo := 0; lo < len(recs); lo += 1000 {
		if err := s.Insert(ctx, recs[lo:lo+1000]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec("ANALYZE records"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		f     store.Filter
		index string
	}{
		{"refusals", store.Filter{HasStopReason: true, StopReason: analytics.StopRefusal}, "records_rare_stop_reason_time"},
		{"refusal category", store.Filter{HasRefusalCategory: true, RefusalCategory: "cyber"}, "records_rare_stop_reason_time|records_refusal_category_time"},
		{"errors", store.Filter{Kind: analytics.KindError}, "records_rare_kind_time"},
		{"error type", store.Filter{ErrorType: "overloaded_error"}, "records_error_type_time"},
		{"flag", store.Filter{Flag: analytics.FlagRefusal}, "records_flagged_time"},
		{"end_turn", store.Filter{HasStopReason: true, StopReason: analytics.StopEndTurn}, "records_time"},
		{"app", store.Filter{App: "chat"}, "records_time"},
		{"model", store.Filter{Model: "claude-sonnet-4-5"}, "records_time"},
	}
	for _, tc := range tests {
		q, args, err := s.d.listQuery(&tc.f, "", 50)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := db.QueryContext(ctx, "EXPLAIN "+s.d.rebind(q), args...)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var plan []string
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, strings.TrimSpace(line))
		}
		rows.Close()
		got := strings.Join(plan, "; ")
		used := false
		for _, index := range strings.Split(tc.index, "|") {
			used = used || strings.Contains(got, " on "+index+" ") || strings.Contains(got, "using "+index+" ")
		}
		if !used {
			t.Errorf("%s: plan %q, want it to use %s", tc.name, got, tc.index)
		}
	}
}
