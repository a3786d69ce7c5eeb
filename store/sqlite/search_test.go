package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
	"github.com/stopscope/stopscope/store/sqlite"
	"github.com/stopscope/stopscope/store/sqlstore"
)

// searchContents are contents whose search text is easy to get wrong:
// non-ASCII case, invalid UTF-8 and NUL (stored as U+FFFD), several blocks
// (joined by a newline), blocks without text, LIKE's special characters,
// a text long enough to be compressed, and a content whose frame would not
// be smaller, kept as it is in content_z: with the dictionary even a
// one-letter text block compresses, but a block of an unheard-of type,
// random characters, does not.
var searchContents = [][]analytics.Block{
	{{Type: "text", Text: "The QUICK Brown fox"}},
	{{Type: "text", Text: "ÜBER die Straße"}, {Type: "tool_use", Name: "Search"}},
	{{Type: "text", Text: "Kelvin \u212a and \u01c5 title"}},
	{{Type: "text", Text: "bad \xff\xfe utf8 and nul \x00 here"}},
	{{Type: "text", Text: "end of one"}, {Type: "text", Text: "Start of two"}},
	{{Type: "text", Text: strings.Repeat(`long answer with 100% and e_t and back\slash `, 50)}},
	{{Type: "tool_use", Name: "needle_tool"}},
	{{Type: "thinking", Text: "Deep thought"}, {Type: "text", Text: "ok"}},
	{{Type: "text", Text: "x"}},
	{{Type: "nf]VGup!>#nZBWxpw|fF&_mulupK-$p_", Text: "Rare Word"}},
	nil,
}

var searchTexts = []string{
	"quick brown", "QUICK", "über", "ÜBER DIE", "strasse", "straße", "k and",
	"kelvin k", "\u01c6", "\u01c5", "\ufffd", "\x00", "\xff", "one\nstart", "one start",
	"100%", "e_t", `k\s`, "%", "_", `\`, "needle", "search", "deep thought\nok",
	"slash long answer", "x", "rare word", "zebra", " ",
}

// openDialect opens a store on the SQLite file at path with dialect d.
func openDialect(t *testing.T, path string, d sqlstore.Dialect) *sqlstore.Store {
	t.Helper()
	w, err := sql.Open("sqlite", sqlite.DSN(path, true))
	if err != nil {
		t.Fatal(err)
	}
	w.SetMaxOpenConns(1)
	s, err := sqlstore.New(context.Background(), sqlstore.Config{Writer: w, Dialect: d, Migrations: sqlite.Migrations()})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func searchRecords(from, n int) []*analytics.Record {
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var recs []*analytics.Record
	for i := from; i < from+n; i++ {
		r := &analytics.Record{Time: t0.Add(time.Duration(i%17) * time.Minute), Source: "api", App: "a", Environment: "prod",
			Kind: analytics.KindMessage, Model: "m", StopReason: analytics.StopEndTurn, Content: searchContents[i%len(searchContents)]}
		if i%3 == 0 {
			r.Req = &analytics.Request{Model: "m", MaxTokens: 100, Messages: []analytics.Message{
				{Role: "user", Blocks: []analytics.Block{{Type: "text", Text: strings.Repeat("a needle in the request ", 1+i%40)}}}}}
		}
		analytics.Classify(r)
		recs = append(recs, r)
	}
	return recs
}

// TestTextSearchAsLike checks that SQLite's search of compressed content
// selects exactly the records, in the same order, that content_text LIKE
// selected before, and that content and requests read back the same: a
// control store is written as before compression (LIKE on content_text),
// the other half before and half after it, as a store upgraded in place.
func TestTextSearchAsLike(t *testing.T) {
	ctx := context.Background()
	plain := sqlite.Dialect
	plain.CompressBodies, plain.TextSearch = false, ""
	const n = 200

	control := openDialect(t, filepath.Join(t.TempDir(), "control.db"), plain)
	defer control.Close()
	if err := control.Insert(ctx, searchRecords(0, n)); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "mixed.db")
	before := openDialect(t, path, plain)
	if err := before.Insert(ctx, searchRecords(0, n/2)); err != nil {
		t.Fatal(err)
	}
	before.Close()
	mixed := openDialect(t, path, sqlite.Dialect)
	defer mixed.Close()
	if err := mixed.Insert(ctx, searchRecords(n/2, n/2)); err != nil {
		t.Fatal(err)
	}

	// The test is only worth something if both forms are there: plain
	// rows, and rows with content_z and no content_text.
	var plainRows, zRows, framed int
	if err := mixed.Writer().QueryRow(`SELECT
		COUNT(*) FILTER (WHERE content_z IS NULL AND content_text <> ''),
		COUNT(*) FILTER (WHERE content_z IS NOT NULL AND content_text = '' AND content = ''),
		COUNT(*) FILTER (WHERE substr(content_z, 1, 4) = x'28b52ffd')
		FROM record_content`).Scan(&plainRows, &zRows, &framed); err != nil {
		t.Fatal(err)
	}
	if plainRows == 0 || zRows == 0 || framed == 0 || framed == zRows {
		t.Fatalf("%d plain rows, %d with content_z (%d of them frames); want some of each", plainRows, zRows, framed)
	}

	for _, text := range searchTexts {
		f := store.Filter{Text: text}
		want, _, err := control.List(ctx, f, 1000, "")
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := mixed.List(ctx, f, 1000, "")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("text %q: %d records (ids %v), want %d (ids %v)", text, len(got), ids(got), len(want), ids(want))
		}
		nw, err := control.Count(ctx, f, 1000)
		if err != nil {
			t.Fatal(err)
		}
		ng, err := mixed.Count(ctx, f, 1000)
		if err != nil || ng != nw {
			t.Errorf("text %q: Count %d, %v; want %d", text, ng, err, nw)
		}
		if text == "zebra" && nw != 0 || text == "quick brown" && nw == 0 {
			t.Errorf("text %q: the control store counts %d", text, nw)
		}
	}
	wantRecs, err := control.Records(ctx, store.Filter{}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	gotRecs, err := mixed.Records(ctx, store.Filter{}, 1000)
	if err != nil || !reflect.DeepEqual(gotRecs, wantRecs) {
		t.Errorf("Records differ (%v)", err)
	}
	for id := int64(1); id <= n; id += 7 {
		want, err := control.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		got, err := mixed.Get(ctx, id)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("Get(%d) = %+v, %v; want %+v", id, got, err, want)
		}
	}
}

func ids(rs []*analytics.Record) []int64 {
	var out []int64
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}
