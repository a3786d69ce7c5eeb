package postgres_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/ingest/testfixtures"
	"github.com/stopscope/stopscope/store"
	"github.com/stopscope/stopscope/store/postgres"
	"github.com/stopscope/stopscope/store/sqlstore"
	"github.com/stopscope/stopscope/store/storetest"
)

const envDSN = "STOPSCOPE_TEST_POSTGRES"

// freshDSN creates a database with a random name on the server of env
// STOPSCOPE_TEST_POSTGRES, drops it when the test ends, and returns its DSN.
func freshDSN(tb testing.TB) string {
	tb.Helper()
	admin := os.Getenv(envDSN)
	if admin == "" {
		skipPostgres(tb)
	}
	u, err := url.Parse(admin)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		tb.Fatalf("%s must be a postgres:// URL: %q", envDSN, admin)
	}
	db, err := sql.Open("pgx", admin)
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	b := make([]byte, 8)
	rand.Read(b)
	name := "stopscope_test_" + hex.EncodeToString(b)
	// A database name cannot be a parameter; it is random hex, quoted.
	ident := pgx.Identifier{name}.Sanitize()
	if _, err := db.Exec("CREATE DATABASE " + ident); err != nil {
		tb.Fatalf("creating %s: %v", name, err)
	}
	tb.Cleanup(func() {
		db, err := sql.Open("pgx", admin)
		if err != nil {
			tb.Error(err)
			return
		}
		defer db.Close()
		if _, err := db.Exec("DROP DATABASE IF EXISTS " + ident + " WITH (FORCE)"); err != nil {
			tb.Errorf("dropping %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}

// skipPostgres skips a test that needs a PostgreSQL server to test against.
func skipPostgres(tb testing.TB) {
	tb.Helper()
	testfixtures.Skip(tb, "PostgreSQL store suite (store/postgres)", envDSN+" is not set (see README)")
}

func open(tb testing.TB) store.Store {
	s, err := postgres.Open(context.Background(), freshDSN(tb))
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func TestStore(t *testing.T) {
	if os.Getenv(envDSN) == "" {
		skipPostgres(t)
	}
	storetest.Run(t, func(t *testing.T) store.Store { return open(t) })
}

func BenchmarkInsert(b *testing.B) {
	storetest.BenchInsert(b, func(b *testing.B) store.Store { return open(b) })
}

// Instances starting at once migrate the same database once, in turn.
func TestConcurrentMigrations(t *testing.T) {
	dsn := freshDSN(t)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := postgres.Open(context.Background(), dsn)
			if err != nil {
				errs <- err
				return
			}
			s.Close()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Open: %v", err)
	}
	s, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var versions int
	want, _ := sqlstore.ReadMigrations(postgres.Migrations())
	if err := s.Reader().QueryRow("SELECT COUNT(*) FROM schema_migrations").Scan(&versions); err != nil || versions != len(want) {
		t.Errorf("schema_migrations has %d rows, %v; want %d", versions, err, len(want))
	}
	rec := &analytics.Record{Time: time.Unix(1e9, 0), App: "a", Kind: analytics.KindMessage}
	if err := s.Insert(context.Background(), []*analytics.Record{rec}); err != nil || rec.ID == 0 {
		t.Errorf("Insert: id %d, %v", rec.ID, err)
	}
}

func TestOpenBadDSN(t *testing.T) {
	if _, err := postgres.Open(context.Background(), "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2"); err == nil {
		t.Error("Open of an unreachable server succeeded")
	}
}

// Two instances on one database: only one holds the evaluator lock at a
// time, and releasing it lets the other take it.
func TestEvaluatorLockExclusive(t *testing.T) {
	dsn := freshDSN(t)
	ctx := context.Background()
	a, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	release, ok, err := a.TryEvaluatorLock(ctx)
	if err != nil || !ok {
		t.Fatalf("a: %v, %v", ok, err)
	}
	if _, ok, err := b.TryEvaluatorLock(ctx); err != nil || ok {
		t.Fatalf("b took the lock a holds: %v, %v", ok, err)
	}
	release()
	releaseB, ok, err := b.TryEvaluatorLock(ctx)
	if err != nil || !ok {
		t.Fatalf("b after a released: %v, %v", ok, err)
	}
	releaseB()
}

// BenchmarkBytes reports the bytes per record of every table of the
// database, with its indexes and TOAST.
func BenchmarkBytes(b *testing.B) {
	storetest.BenchBytes(b, open, func(b *testing.B, s store.Store) int64 {
		var n int64
		if err := s.(*sqlstore.Store).Writer().QueryRow(`SELECT CAST(COALESCE(SUM(pg_total_relation_size(oid)), 0) AS BIGINT) FROM pg_class
			WHERE relkind = 'r' AND relnamespace = CAST('public' AS regnamespace)`).Scan(&n); err != nil {
			b.Fatal(err)
		}
		return n
	})
}
