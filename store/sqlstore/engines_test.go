package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	msqlite "modernc.org/sqlite"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/ingest/testfixtures"
	"github.com/stopscope/stopscope/store"
)

// testEngine is one engine to run a test of this package's SQL on: its
// dialect, its migrations, and a function that opens a new handle on the
// one database the test uses each time it is called.
type testEngine struct {
	name       string
	dialect    Dialect
	migrations fs.FS
	open       func() *sql.DB
}

// testSearchFunc is the TextSearch of sqliteEngine's dialect, as
// store/sqlite registers its own, which this package cannot import.
const testSearchFunc = "stopscope_test_contains"

func init() {
	msqlite.MustRegisterDeterministicScalarFunction(testSearchFunc, 3, func(_ *msqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		return ContainsValue(args)
	})
}

// testSQLiteDialect is store/sqlite's dialect, which this package cannot
// import, with testSearchFunc.
var testSQLiteDialect = Dialect{Name: "sqlite", MaxParams: 32766, InsertRecords: "INSERT OR IGNORE INTO", RecordApp: "+app",
	CompressBodies: true, TextSearch: testSearchFunc}

// sqliteEngine returns SQLite on a new file; the dialect is
// store/sqlite's, which this package cannot import.
func sqliteEngine(t *testing.T) testEngine {
	path := filepath.Join(t.TempDir(), "s.db")
	return testEngine{
		name:       "sqlite",
		dialect:    testSQLiteDialect,
		migrations: os.DirFS("../sqlite/migrations"),
		open: func() *sql.DB {
			db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_txlock=immediate")
			if err != nil {
				t.Fatal(err)
			}
			db.SetMaxOpenConns(1)
			return db
		},
	}
}

// postgresEngine returns PostgreSQL on a new database, dropped when the
// test ends, or skips the test when STOPSCOPE_TEST_POSTGRES is not set.
func postgresEngine(t *testing.T) testEngine {
	admin := os.Getenv("STOPSCOPE_TEST_POSTGRES")
	if admin == "" {
		testfixtures.Skip(t, "PostgreSQL tests of store/sqlstore", "STOPSCOPE_TEST_POSTGRES is not set (see README)")
	}
	adb, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 8)
	rand.Read(b)
	name := "stopscope_test_" + hex.EncodeToString(b)
	if _, err := adb.Exec(`CREATE DATABASE "` + name + `"`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := adb.Exec(`DROP DATABASE IF EXISTS "` + name + `" WITH (FORCE)`); err != nil {
			t.Errorf("dropping %s: %v", name, err)
		}
		adb.Close()
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return testEngine{
		name:       "postgres",
		dialect:    Dialect{Name: "postgres", NumberedPlaceholders: true, MaxParams: 65535},
		migrations: os.DirFS("../postgres/migrations"),
		open: func() *sql.DB {
			db, err := sql.Open("pgx", u.String())
			if err != nil {
				t.Fatal(err)
			}
			return db
		},
	}
}

// migrationsWithout returns the migrations of fsys but version: the schema
// before it, with the later migrations that add the columns Insert writes
// (Migrate applies a version it has not applied yet even after newer ones).
func migrationsWithout(t *testing.T, fsys fs.FS, version int64) fs.FS {
	ms, err := ReadMigrations(fsys)
	if err != nil {
		t.Fatal(err)
	}
	out := fstest.MapFS{}
	for _, m := range ms {
		if m.Version != version {
			out[fmt.Sprintf("%04d_%s.sql", m.Version, m.Name)] = &fstest.MapFile{Data: []byte(m.SQL)}
		}
	}
	return out
}

// mixRecords returns n records a second apart of a usual mix: two apps,
// mostly end_turn and tool_use, about one in a hundred a failed request,
// one in two hundred a refusal (half of them with a category), a few cut
// streams and Agent SDK results.
func mixRecords(n int) []*analytics.Record {
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	recs := make([]*analytics.Record, 0, n)
	for i := range n {
		r := &analytics.Record{Time: t0.Add(time.Duration(i) * time.Second), Source: "api", App: "chat", Environment: "prod",
			Kind: analytics.KindMessage, Model: "claude-sonnet-4-5", StopReason: analytics.StopEndTurn}
		switch {
		case i%400 == 7:
			r.StopReason = analytics.StopRefusal
			r.StopDetails = &analytics.StopDetails{Type: "refusal", Category: "cyber"}
		case i%400 == 207:
			r.StopReason = analytics.StopRefusal // no category
		case i%500 == 3:
			r.Kind, r.StopReason, r.HTTPStatus = analytics.KindError, analytics.StopNull, 500 // no error type
		case i%100 == 3:
			r.Kind, r.StopReason, r.ErrorType, r.HTTPStatus = analytics.KindError, analytics.StopNull, "overloaded_error", 529
		case i%300 == 11:
			r.StopReason, r.Streamed = analytics.StopNull, true // a cut stream
		case i%50 == 9:
			r.Kind, r.Subtype = analytics.KindAgentResult, "success"
		case i%3 == 0:
			r.StopReason = analytics.StopToolUse
		}
		if i%3 == 0 {
			r.App = "agent"
		}
		if i%7 == 0 {
			r.Model = "claude-opus-4-1"
		}
		analytics.Classify(r)
		recs = append(recs, r)
	}
	return recs
}

// planFilters are the filters the plan tests and the migration test check:
// rare values, which partial indexes serve, and common ones.
var planFilters = []struct {
	name  string
	f     store.Filter
	index string // the index List must use, or either of two ("a|b")
}{
	{"refusals", store.Filter{HasStopReason: true, StopReason: analytics.StopRefusal}, "records_rare_stop_reason_time"},
	{"null stop reason", store.Filter{HasStopReason: true, StopReason: analytics.StopNull}, "records_rare_stop_reason_time"},
	// Either partial index serves: both hold only refusals.
	{"refusal category", store.Filter{HasRefusalCategory: true, RefusalCategory: "cyber"}, "records_rare_stop_reason_time|records_refusal_category_time"},
	{"uncategorised refusals", store.Filter{HasRefusalCategory: true, RefusalCategory: analytics.RefusalCategoryNull}, "records_rare_stop_reason_time"},
	{"errors", store.Filter{Kind: analytics.KindError}, "records_rare_kind_time"},
	{"agent results", store.Filter{Kind: analytics.KindAgentResult}, "records_rare_kind_time"},
	{"error without type", store.Filter{ErrorType: store.None}, "records_rare_kind_time"},
	{"error type", store.Filter{ErrorType: "overloaded_error"}, "records_error_type_time"},
	{"flag", store.Filter{Flag: analytics.FlagRefusal}, "records_flagged_time"},
	{"end_turn", store.Filter{HasStopReason: true, StopReason: analytics.StopEndTurn}, "records_time"},
	{"messages", store.Filter{Kind: analytics.KindMessage}, "records_time"},
	{"app", store.Filter{App: "chat"}, "records_time"},
	{"model", store.Filter{Model: "claude-opus-4-1"}, "records_time"},
	{"app and refusals", store.Filter{App: "agent", HasStopReason: true, StopReason: analytics.StopRefusal}, "records_rare_stop_reason_time"},
}

// TestMigration0016 fills a store of the schema before migration 0016
// (full indexes on app, environment, model, kind and stop reason), opens
// it with every migration, and checks that every filter selects the same
// records, in the same order, as before, on both engines.
func TestMigration0016(t *testing.T) {
	for _, mk := range []func(*testing.T) testEngine{sqliteEngine, postgresEngine} {
		e := mk(t)
		t.Run(e.name, func(t *testing.T) {
			ctx := context.Background()
			old, err := New(ctx, Config{Writer: e.open(), Dialect: e.dialect, Migrations: migrationsWithout(t, e.migrations, 16)})
			if err != nil {
				t.Fatal(err)
			}
			var n int
			if err := old.w.QueryRow("SELECT COUNT(*) FROM schema_migrations WHERE version = 16").Scan(&n); err != nil || n != 0 {
				t.Fatalf("old schema has migration 16 %d times, %v", n, err)
			}
			if err := old.Insert(ctx, mixRecords(3000)); err != nil {
				t.Fatal(err)
			}
			type result struct {
				ids   []int64
				count int
			}
			read := func(s *Store) map[string]result {
				out := map[string]result{}
				for _, tc := range planFilters {
					var ids []int64
					var after store.Cursor
					for {
						page, next, err := s.List(ctx, tc.f, MaxListLimit, after)
						if err != nil {
							t.Fatalf("%s: %v", tc.name, err)
						}
						for _, r := range page {
							ids = append(ids, r.ID)
						}
						if next == "" {
							break
						}
						after = next
					}
					c, err := s.Count(ctx, tc.f, 1<<30)
					if err != nil {
						t.Fatal(err)
					}
					if c != len(ids) || c == 0 {
						t.Errorf("%s: Count %d, List %d records; want equal and some", tc.name, c, len(ids))
					}
					out[tc.name] = result{ids, c}
				}
				return out
			}
			before := read(old)
			old.Close()
			s, err := New(ctx, Config{Writer: e.open(), Dialect: e.dialect, Migrations: e.migrations})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			indexes := `SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'records' ORDER BY name`
			if e.name == "postgres" {
				indexes = `SELECT indexname FROM pg_indexes WHERE tablename = 'records' ORDER BY indexname`
			}
			var names []string
			rows, err := s.r.QueryContext(ctx, indexes)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var name string
				if err := rows.Scan(&name); err != nil {
					t.Fatal(err)
				}
				if !strings.HasSuffix(name, "_pkey") && !strings.HasPrefix(name, "sqlite_autoindex_") && !strings.HasSuffix(name, "_key") {
					names = append(names, name)
				}
			}
			rows.Close()
			want := []string{"records_error_type_time", "records_flagged_time", "records_prompt_version_time", "records_rare_kind_time",
				"records_rare_stop_reason_time", "records_refusal_category_time", "records_release_time", "records_session_time", "records_time"}
			if !reflect.DeepEqual(names, want) {
				t.Errorf("indexes on records after migration 0016: %q, want %q", names, want)
			}
			after := read(s)
			for _, tc := range planFilters {
				if !reflect.DeepEqual(before[tc.name], after[tc.name]) {
					t.Errorf("%s: %d records before migration 0016, %d after, or in another order", tc.name, before[tc.name].count, after[tc.name].count)
				}
			}
		})
	}
}
