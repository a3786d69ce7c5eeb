package sqlite_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
	"github.com/stopscope/stopscope/store/sqlite"
	"github.com/stopscope/stopscope/store/sqlstore"
	"github.com/stopscope/stopscope/store/storetest"
)

func open(tb testing.TB) store.Store {
	s, err := sqlite.Open(filepath.Join(tb.TempDir(), "db", "stopscope.db"))
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t) })
}

func BenchmarkInsert(b *testing.B) {
	storetest.BenchInsert(b, func(b *testing.B) store.Store { return open(b) })
}

func TestDSN(t *testing.T) {
	tests := []struct {
		path   string
		writer bool
		want   string
	}{
		{"/data/s.db", true, "file:/data/s.db?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=foreign_keys(1)&_pragma=cache_size(-16384)&_txlock=immediate"},
		{"/data/s.db", false, "file:/data/s.db?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=foreign_keys(1)&_pragma=cache_size(-8192)&_pragma=query_only(1)"},
		{"/odd?dir#/100%.db", true, "file:/odd%3fdir%23/100%25.db?_pragma=busy_timeout(5000)"},
	}
	for _, tc := range tests {
		got := sqlite.DSN(tc.path, tc.writer)
		if !strings.HasPrefix(got, tc.want) {
			t.Errorf("DSN(%q, %v) = %q, want prefix %q", tc.path, tc.writer, got, tc.want)
		}
	}
}

func TestOpenSetsUpFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "odd?dir#")
	path := filepath.Join(dir, "s.db")
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	rec := &analytics.Record{Time: time.Unix(1e9, 0), App: "a", Kind: analytics.KindMessage, MessageID: "m"}
	if err := s.Insert(context.Background(), []*analytics.Record{rec}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database file: %v", err)
	}
	var mode string
	if err := s.Reader().QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	var timeout int
	if err := s.Writer().QueryRow("PRAGMA busy_timeout").Scan(&timeout); err != nil || timeout != 5000 {
		t.Errorf("busy_timeout = %d, %v; want 5000", timeout, err)
	}
	if _, err := s.Reader().Exec("DELETE FROM records"); err == nil {
		t.Error("the read pool could write")
	}
	if got := s.Writer().Stats().MaxOpenConnections; got != 1 {
		t.Errorf("writer pool allows %d connections, want 1", got)
	}
	s.Close()

	// Reopening applies no migration twice and keeps the data.
	s, err = sqlite.Open(path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	var versions int
	want, _ := sqlstore.ReadMigrations(sqlite.Migrations())
	if err := s.Reader().QueryRow("SELECT COUNT(*) FROM schema_migrations").Scan(&versions); err != nil || versions != len(want) {
		t.Errorf("schema_migrations has %d rows, %v; want %d", versions, err, len(want))
	}
	again := &analytics.Record{Time: time.Unix(1e9, 0), App: "a", Kind: analytics.KindMessage, MessageID: "m"}
	if err := s.Insert(context.Background(), []*analytics.Record{again}); err != nil || again.ID != 0 {
		t.Errorf("retry after reopen: id %d, %v", again.ID, err)
	}
}

// The second process writing the same file waits for the first one's
// transaction (busy_timeout, IMMEDIATE) instead of failing.
func TestTwoWriters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	a, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	done := make(chan error, 2)
	for _, s := range []store.Store{a, b} {
		go func() {
			for j := 0; j < 50; j++ {
				rec := &analytics.Record{Time: time.Unix(1e9+int64(j), 0), App: "a", Kind: analytics.KindMessage}
				if err := s.Insert(context.Background(), []*analytics.Record{rec}); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	gs, err := a.Aggregate(context.Background(), store.Query{})
	if err != nil || len(gs) != 1 || gs[0].N != 100 {
		t.Errorf("Aggregate = %+v, %v", gs, err)
	}
}

// A new file gets 16 KiB pages; one that exists keeps the size it has.
func TestNewFilePageSize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var size int
	if err := s.Writer().QueryRow("PRAGMA page_size").Scan(&size); err != nil || size != 16384 {
		t.Errorf("page_size = %d, %v; want 16384", size, err)
	}
	var mode string
	if err := s.Writer().QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	s.Close()

	old := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", "file:"+old+"?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("CREATE TABLE t (x INTEGER)"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s, err = sqlite.Open(old)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Writer().QueryRow("PRAGMA page_size").Scan(&size); err != nil || size != 4096 {
		t.Errorf("existing file: page_size = %d, %v; want 4096, kept", size, err)
	}
}

// BenchmarkBytes reports the database file's bytes per record, the WAL
// checkpointed into it and free pages not counted.
func BenchmarkBytes(b *testing.B) {
	storetest.BenchBytes(b, open, func(b *testing.B, s store.Store) int64 {
		db := s.(*sqlstore.Store).Writer()
		if _, err := db.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
			b.Fatal(err)
		}
		var pages, free, size int64
		if err := db.QueryRow("SELECT (SELECT page_count FROM pragma_page_count), (SELECT freelist_count FROM pragma_freelist_count), (SELECT page_size FROM pragma_page_size)").Scan(&pages, &free, &size); err != nil {
			b.Fatal(err)
		}
		return (pages - free) * size
	})
}

// TestInsertKeepsTimeOrder: SQLite stores a batch in the order it came
// (the Batcher's time order), not in identity order, so that ids follow
// time and inserts append to the time index. Identities here sort the
// other way round from times.
func TestInsertKeepsTimeOrder(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	t0 := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	var recs []*analytics.Record
	for i := range 10 {
		r := &analytics.Record{Time: t0.Add(time.Duration(i) * time.Second), App: "a", Model: "m",
			Kind: analytics.KindMessage, StopReason: analytics.StopEndTurn, MessageID: "msg_" + string(rune('z'-i))}
		analytics.Classify(r)
		recs = append(recs, r)
	}
	if err := s.Insert(ctx, recs); err != nil {
		t.Fatal(err)
	}
	got, _, err := s.List(ctx, store.Filter{From: t0, To: t0.Add(time.Minute)}, 100, "")
	if err != nil || len(got) != len(recs) {
		t.Fatalf("List: %d records, %v", len(got), err)
	}
	// Newest first: each record's id is above the next (older) one's.
	for i := 1; i < len(got); i++ {
		if got[i-1].ID <= got[i].ID {
			t.Errorf("record at %s has id %d, the older one at %s id %d: ids do not follow time",
				got[i-1].Time.Format(time.TimeOnly), got[i-1].ID, got[i].Time.Format(time.TimeOnly), got[i].ID)
		}
	}
}

func BenchmarkRead(b *testing.B) {
	storetest.BenchRead(b, open)
}
