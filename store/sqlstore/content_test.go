package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
)

// contentRecords returns mixRecords(n) with content of every kind: block
// texts to search (with non-ASCII and escaped characters), tool calls,
// request summaries and request, response and stream bodies, and one
// record in ten (and every failed request) with none.
func contentRecords(n int) []*analytics.Record {
	recs := mixRecords(n)
	for i, r := range recs {
		r.MessageID = fmt.Sprintf("msg_%05d", i)
		if i%10 == 9 || r.Kind == analytics.KindError {
			continue
		}
		r.Content = []analytics.Block{{Type: "text", Text: fmt.Sprintf("Answer %d: \"Zürich\" is %s", i, strings.Repeat("MILD ", i%40))}}
		if i%4 == 0 {
			r.Content = append(r.Content, analytics.Block{Type: "tool_use", Name: "get_weather"})
		}
		if i%3 == 0 {
			r.Req = &analytics.Request{Model: r.Model, MaxTokens: 1024, Messages: []analytics.Message{
				{Role: "user", Blocks: []analytics.Block{{Type: "text", Text: fmt.Sprintf("Question %d", i)}}}}}
		}
		if i%5 == 0 {
			r.ResponseBody = fmt.Appendf(nil, `{"id":"msg_%05d","content":[{"type":"text","text":%q}]}`, i, strings.Repeat("body ", i%50+1))
		}
		if i%7 == 0 {
			r.RequestBody = fmt.Appendf(nil, `{"model":%q,"max_tokens":1024,"messages":[{"role":"user","content":%q}]}`, r.Model, strings.Repeat("ask ", i%30+1))
		}
		if i%11 == 0 {
			r.StreamBody = "event: message_start\ndata: {}\n\n" + strings.Repeat("event: ping\ndata: {\"type\": \"ping\"}\n\n", i%9)
		}
		analytics.Classify(r)
	}
	return recs
}

// contentFilters are the filters whose results the content tests compare:
// planFilters, and free-text searches.
func contentFilters() map[string]store.Filter {
	out := map[string]store.Filter{}
	for _, tc := range planFilters {
		out[tc.name] = tc.f
	}
	for _, text := range []string{"zürich", "ZÜRICH", "answer 12", "mild mild mild mild", `"zürich" is`, "get_weather", "no such text"} {
		out["text "+text] = store.Filter{Text: text}
	}
	out["text and app"] = store.Filter{Text: "answer 1", App: "agent"}
	out["all"] = store.Filter{}
	return out
}

// storeSnapshot is what a store reads: every record, the ids and count
// each contentFilters filter selects, and every row of the rollup tables.
type storeSnapshot struct {
	records map[int64]*analytics.Record
	lists   map[string][]int64
	counts  map[string]int
	tables  map[string][]string
}

// snapshot reads s's storeSnapshot.
func snapshot(t *testing.T, s *Store) storeSnapshot {
	t.Helper()
	ctx := context.Background()
	snap := storeSnapshot{records: map[int64]*analytics.Record{}, lists: map[string][]int64{}, counts: map[string]int{}, tables: map[string][]string{}}
	for name, f := range contentFilters() {
		var ids []int64
		var after store.Cursor
		for {
			page, next, err := s.List(ctx, f, MaxListLimit, after)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			for _, r := range page {
				ids = append(ids, r.ID)
				if name == "all" {
					full, err := s.Get(ctx, r.ID)
					if err != nil {
						t.Fatal(err)
					}
					if !reflect.DeepEqual(full.Content, r.Content) {
						t.Fatalf("record %d: List read content %v, Get %v", r.ID, r.Content, full.Content)
					}
					snap.records[r.ID] = full
				}
			}
			if next == "" {
				break
			}
			after = next
		}
		n, err := s.Count(ctx, f, 1<<30)
		if err != nil {
			t.Fatal(err)
		}
		snap.lists[name], snap.counts[name] = ids, n
	}
	// Records (the export) reads content and request summaries too.
	exported, err := s.Records(ctx, store.Filter{Text: "answer"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range exported {
		if full := snap.records[r.ID]; full == nil || !reflect.DeepEqual(r.Req, full.Req) || !reflect.DeepEqual(r.Content, full.Content) {
			t.Fatalf("record %d: Records read %v, %v; Get %v", r.ID, r.Req, r.Content, full)
		}
	}
	tables := []string{}
	for _, lv := range levels {
		tables = append(tables, lv.table)
	}
	for _, lv := range lcLevels {
		tables = append(tables, lv.latency, lv.usage)
	}
	for _, table := range tables {
		snap.tables[table] = dumpTable(t, s.r, table)
	}
	return snap
}

// dumpTable returns every row of table, printed and sorted.
func dumpTable(t *testing.T, db *sql.DB, table string) []string {
	t.Helper()
	rows, err := db.Query("SELECT * FROM " + table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprint(vals...))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// compareSnapshots fails t where got differs from want.
func compareSnapshots(t *testing.T, when string, got, want storeSnapshot) {
	t.Helper()
	if len(got.records) != len(want.records) {
		t.Errorf("%s: %d records, want %d", when, len(got.records), len(want.records))
	}
	for id, w := range want.records {
		if g := got.records[id]; !reflect.DeepEqual(g, w) {
			t.Errorf("%s: record %d reads\n%+v\nwant\n%+v", when, id, g, w)
		}
	}
	for name, w := range want.lists {
		if !slices.Equal(got.lists[name], w) || got.counts[name] != want.counts[name] {
			t.Errorf("%s: %s selects %d records (count %d), want %d (count %d), or in another order", when, name,
				len(got.lists[name]), got.counts[name], len(w), want.counts[name])
		}
	}
	for table, w := range want.tables {
		if !slices.Equal(got.tables[table], w) {
			t.Errorf("%s: %s has %d rows, want %d, or others", when, table, len(got.tables[table]), len(w))
		}
	}
}

// toSchema0017 turns s's database back into what the release before
// migration 0018 stored: every record's content in its row, the content
// table and the migration gone. With compressed set, the dialect
// compresses, and records of even id are taken back further, to what it
// stored before migration 0017: content, request summary and bodies as
// they came, and the search text in content_text.
func toSchema0017(t *testing.T, s *Store) {
	t.Helper()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := s.w.Exec(s.d.rebind(q), args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	set := make([]string, len(contentCols))
	for i, c := range contentCols {
		set[i] = c + " = c." + c
	}
	exec(`UPDATE records SET ` + strings.Join(set, ", ") + ` FROM record_content c WHERE c.record_id = records.id`)
	if s.d.CompressBodies {
		rows, err := s.w.Query(`SELECT id, content_z, req_z, request_body, response_body, stream_body FROM records WHERE id % 2 = 0`)
		if err != nil {
			t.Fatal(err)
		}
		type plain struct {
			id                   int64
			content, text, req   string
			reqB, respB, streamB []byte
		}
		var olds []plain
		for rows.Next() {
			var id int64
			var cz, rz, rb, pb, sb []byte
			if err := rows.Scan(&id, &cz, &rz, &rb, &pb, &sb); err != nil {
				t.Fatal(err)
			}
			p := plain{id: id}
			dec := func(b []byte) []byte {
				out, err := decompressBody(b)
				if err != nil {
					t.Fatal(err)
				}
				return out
			}
			if cz != nil {
				p.content = string(dec(cz))
				var blocks []analytics.Block
				if err := decodeStoredJSON(p.content, nil, &blocks); err != nil {
					t.Fatal(err)
				}
				p.text = contentText(blocks)
			}
			if rz != nil {
				p.req = string(dec(rz))
			}
			p.reqB, p.respB, p.streamB = dec(rb), dec(pb), dec(sb)
			olds = append(olds, p)
		}
		rows.Close()
		for _, p := range olds {
			exec(`UPDATE records SET content = ?, content_z = NULL, content_text = ?, req = ?, req_z = NULL,
				request_body = ?, response_body = ?, stream_body = ? WHERE id = ?`,
				p.content, p.text, p.req, p.reqB, p.respB, p.streamB, p.id)
		}
	}
	exec(`DROP TABLE record_content`)
	exec(`DELETE FROM schema_migrations WHERE version = 18`)
}

// moveState returns how many records still keep content in their row,
// how many rows record_content has, and the move's cursor (-1 when no
// move is pending).
func moveState(t *testing.T, s *Store) (old, moved, cursor int64) {
	t.Helper()
	if err := s.r.QueryRow(`SELECT COUNT(*) FROM records WHERE ` + hasOldContent).Scan(&old); err != nil {
		t.Fatal(err)
	}
	if err := s.r.QueryRow(`SELECT COUNT(*) FROM record_content`).Scan(&moved); err != nil {
		t.Fatal(err)
	}
	err := s.r.QueryRow(s.d.rebind(`SELECT value FROM store_meta WHERE key = ?`), moveCursorKey).Scan(&cursor)
	if errors.Is(err, sql.ErrNoRows) {
		cursor = -1
	} else if err != nil {
		t.Fatal(err)
	}
	return old, moved, cursor
}

var errKilled = errors.New("killed before the commit")

// TestMigration0018 writes records with content as the release before
// migration 0018 stored them (on SQLite also as the one before 0017),
// opens the store with every migration, and checks on both engines that
// every record, every filter's records and count and every rollup row
// read the same before the move of content, half-way through it, after a
// chunk that failed before its commit (as a process killed then), with
// records inserted while it is pending, and once the background move is
// done; and that the records table then keeps no content.
func TestMigration0018(t *testing.T) {
	for _, mk := range []func(*testing.T) testEngine{sqliteEngine, postgresEngine} {
		e := mk(t)
		t.Run(e.name, func(t *testing.T) {
			ctx := context.Background()
			var logged bytes.Buffer
			open := func(manual bool) *Store {
				t.Helper()
				s, err := New(ctx, Config{Writer: e.open(), Dialect: e.dialect, Migrations: e.migrations, ManualContentMove: manual,
					Logger: slog.New(slog.NewTextHandler(&logged, nil))})
				if err != nil {
					t.Fatal(err)
				}
				return s
			}
			recs := contentRecords(3000)
			s := open(true)
			if err := s.Insert(ctx, recs[:2500]); err != nil {
				t.Fatal(err)
			}
			want := snapshot(t, s)
			if old, moved, cursor := moveState(t, s); old != 0 || moved == 0 || cursor != -1 {
				t.Fatalf("new store: %d records keep content in their row, %d in record_content, cursor %d", old, moved, cursor)
			}
			toSchema0017(t, s)
			s.Close()

			s = open(true)
			old, moved, cursor := moveState(t, s)
			if old == 0 || moved != 0 || cursor != 0 {
				t.Fatalf("migrated: %d records keep content in their row, %d in record_content, cursor %d; want some, none, 0", old, moved, cursor)
			}
			compareSnapshots(t, "after migration 0018", snapshot(t, s), want)

			for range 3 {
				if done, err := s.MoveContent(ctx, 400); err != nil || done {
					t.Fatalf("MoveContent = %v, %v; want not done yet", done, err)
				}
			}
			_, _, cursor = moveState(t, s)
			s.moveHook = func() error { return errKilled }
			if _, err := s.MoveContent(ctx, 400); !errors.Is(err, errKilled) {
				t.Fatalf("MoveContent with a failing commit = %v", err)
			}
			s.moveHook = nil
			old2, moved2, cursor2 := moveState(t, s)
			if cursor2 != cursor || moved2 != 1200 || old2 != old-1200 {
				t.Errorf("after 3 chunks of 400 and a failed one: cursor %d (was %d), %d moved, %d left of %d", cursor2, cursor, moved2, old2, old)
			}
			compareSnapshots(t, "half-way", snapshot(t, s), want)

			// Records inserted while the move is pending, one of them
			// completing a record not moved yet (a merge).
			late := recs[2500:]
			again := *recs[2499]
			again.ID, again.ResponseBody = 0, []byte(`{"id":"msg_02499","late":true}`)
			if err := s.Insert(ctx, append(slices.Clone(late), &again)); err != nil {
				t.Fatal(err)
			}
			want = snapshot(t, s)
			if r := want.records[recs[2499].ID]; r == nil || string(r.ResponseBody) != `{"id":"msg_02499","late":true}` {
				t.Fatalf("merged record reads %+v", r)
			}
			s.Close()

			s = open(false)
			defer s.Close()
			deadline := time.Now().Add(time.Minute)
			for {
				old, _, cursor := moveState(t, s)
				if old == 0 && cursor == -1 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("background move: %d records left, cursor %d, after a minute", old, cursor)
				}
				time.Sleep(20 * time.Millisecond)
			}
			<-s.moveDone
			if !strings.Contains(logged.String(), "moved the content of the records stored before migration 0018") {
				t.Errorf("the store's logger got %q, want the move's end", logged.String())
			}
			compareSnapshots(t, "after the move", snapshot(t, s), want)
			var withContent, plain int64
			for _, r := range want.records {
				if len(r.Content) > 0 || r.Req != nil || r.RequestBody != nil || r.ResponseBody != nil || r.StreamBody != "" {
					withContent++
				}
			}
			if _, moved, _ := moveState(t, s); moved != withContent {
				t.Errorf("record_content has %d rows, want one per record with content: %d", moved, withContent)
			}
			if e.dialect.CompressBodies {
				// Every record stored before 0017 is compressed now.
				if err := s.r.QueryRow(`SELECT COUNT(*) FROM record_content WHERE content <> '' OR req <> '' OR content_text <> ''`).Scan(&plain); err != nil {
					t.Fatal(err)
				}
				if plain != 0 {
					t.Errorf("%d records keep plain content after the move", plain)
				}
			}
		})
	}
}

// TestMoveContentKilled kills, with SIGKILL, a process moving the content
// of a SQLite store in chunks, once it has committed a few, then opens the
// store again and checks that the move goes on from there to the end and
// that everything reads as before it began.
func TestMoveContentKilled(t *testing.T) {
	if path := os.Getenv("STOPSCOPE_MOVE_CHILD"); path != "" {
		moveChild(path)
		return
	}
	e := sqliteEngine(t)
	ctx := context.Background()
	s, err := New(ctx, Config{Writer: e.open(), Dialect: e.dialect, Migrations: e.migrations, ManualContentMove: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Insert(ctx, contentRecords(3000)); err != nil {
		t.Fatal(err)
	}
	want := snapshot(t, s)
	toSchema0017(t, s)
	var path string
	if err := s.r.QueryRow(`SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&path); err != nil {
		t.Fatal(err)
	}
	s.Close()

	cmd := exec.Command(os.Args[0], "-test.run=^TestMoveContentKilled$")
	cmd.Env = append(os.Environ(), "STOPSCOPE_MOVE_CHILD="+path)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Killed once a few chunks of 100 have committed, in the middle of
	// another.
	db := e.open()
	deadline := time.Now().Add(time.Minute)
	for {
		var cursor int64
		err := db.QueryRow(`SELECT value FROM store_meta WHERE key = ?`, moveCursorKey).Scan(&cursor)
		if err == nil && cursor >= 500 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("the child moved nothing in a minute (cursor %d, %v)", cursor, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	db.Close()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()

	s, err = New(ctx, Config{Writer: e.open(), Dialect: e.dialect, Migrations: e.migrations, ManualContentMove: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	old, moved, cursor := moveState(t, s)
	if cursor < 500 || moved == 0 || old == 0 {
		t.Fatalf("after the kill: cursor %d, %d moved, %d left; want a move half done", cursor, moved, old)
	}
	compareSnapshots(t, "after the kill", snapshot(t, s), want)
	for done := false; !done; {
		if done, err = s.MoveContent(ctx, 0); err != nil {
			t.Fatal(err)
		}
	}
	if old, _, cursor := moveState(t, s); old != 0 || cursor != -1 {
		t.Fatalf("after the move: %d records left, cursor %d", old, cursor)
	}
	compareSnapshots(t, "after the move", snapshot(t, s), want)
}

// moveChild is TestMoveContentKilled's child: it moves the content of the
// store at path in chunks of 100, slowly, until it is killed.
func moveChild(path string) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		panic(err)
	}
	db.SetMaxOpenConns(1)
	s, err := New(context.Background(), Config{Writer: db, Dialect: testSQLiteDialect, Migrations: os.DirFS("../sqlite/migrations"), ManualContentMove: true})
	if err != nil {
		panic(err)
	}
	for {
		if _, err := s.MoveContent(context.Background(), 100); err != nil {
			panic(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
