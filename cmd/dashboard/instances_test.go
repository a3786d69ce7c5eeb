package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"github.com/stopscope/stopscope/ingest/testfixtures"
)

// freshPostgres creates a database with a random name on the server of
// STOPSCOPE_TEST_POSTGRES, drops it when the test ends, and returns its URL.
func freshPostgres(t *testing.T) string {
	t.Helper()
	admin := os.Getenv("STOPSCOPE_TEST_POSTGRES")
	if admin == "" {
		testfixtures.Skip(t, "PostgreSQL tests of cmd/dashboard", "STOPSCOPE_TEST_POSTGRES is not set (see README)")
	}
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	b := make([]byte, 8)
	rand.Read(b)
	name := "stopscope_test_" + hex.EncodeToString(b)
	// A database name cannot be a parameter; it is random hex, quoted.
	ident := pgx.Identifier{name}.Sanitize()
	if _, err := db.Exec("CREATE DATABASE " + ident); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", admin)
		if err != nil {
			t.Error(err)
			return
		}
		defer db.Close()
		if _, err := db.Exec("DROP DATABASE IF EXISTS " + ident + " WITH (FORCE)"); err != nil {
			t.Error(err)
		}
	})
	u.Path = "/" + name
	return u.String()
}

// TestTwoInstancesOnePostgres runs two real services on one fresh
// PostgreSQL database, started at once (so they migrate at once), ingests
// into both concurrently, the same identities into both, and checks that
// either one's summary equals the direct count of distinct records.
func TestTwoInstancesOnePostgres(t *testing.T) {
	dsn := freshPostgres(t)
	mains := make([]*Main, 2)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range mains {
		m := NewMain(io.Discard, io.Discard)
		m.Addr, m.OTLPGRPCAddr, m.DB = "127.0.0.1:0", "", dsn
		mains[i] = m
		wg.Go(func() { errs[i] = m.Run(context.Background()) })
	}
	wg.Wait()
	for i, m := range mains {
		t.Cleanup(func() { m.Close() })
		if errs[i] != nil {
			t.Fatalf("instance %d: %v", i, errs[i])
		}
	}

	// Each client posts its own batches to its instance, and a shared
	// batch to both instances at once: the shared identities must be
	// stored, and counted, once.
	const clients, batches = 4, 15
	want := map[string]bool{}
	var mu sync.Mutex
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		t.Errorf(format, args...)
	}
	postTo := func(m *Main, body []byte) {
		resp, err := http.Post(m.URL()+"/v1/responses", "application/json", bytes.NewReader(body))
		if err != nil {
			fail("%v", err)
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			fail("POST to %s: %d %s", m.URL(), resp.StatusCode, b)
		}
	}
	for c := range clients {
		for k := range batches {
			own, ids := batchBody("multi", fmt.Sprintf("own-c%d-k%d-", c, k))
			shared, sids := batchBody("multi", fmt.Sprintf("shared-c%d-k%d-", c, k))
			for _, id := range append(ids, sids...) {
				want[id] = true
			}
			m := mains[c%2]
			wg.Go(func() {
				postTo(m, own)
				var both sync.WaitGroup
				for _, m := range mains {
					both.Go(func() { postTo(m, shared) })
				}
				both.Wait()
			})
		}
	}
	wg.Wait()

	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var direct, distinct int64
	if err := db.QueryRow("SELECT COUNT(*), COUNT(DISTINCT message_id) FROM records").Scan(&direct, &distinct); err != nil {
		t.Fatal(err)
	}
	if direct != int64(len(want)) || distinct != direct {
		t.Errorf("records table holds %d rows, %d distinct; want %d", direct, distinct, len(want))
	}
	for _, table := range []string{"rollups_1m", "rollups_1h", "rollups_1d"} {
		var n int64
		if err := db.QueryRow("SELECT COALESCE(SUM(n), 0) FROM " + table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != direct {
			t.Errorf("%s counts %d records, the table holds %d", table, n, direct)
		}
	}
	for i, m := range mains {
		var sum summary
		getJSON(t, m.URL()+"/api/v1/summary", &sum)
		if sum.Total != direct {
			t.Errorf("instance %d's summary counts %d records, the database holds %d", i, sum.Total, direct)
		}
	}
}
