package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"

	_ "modernc.org/sqlite"
)

func TestRebind(t *testing.T) {
	tests := []struct {
		numbered bool
		in, want string
	}{
		{false, "a = ? AND b = ?", "a = ? AND b = ?"},
		{true, "a = ? AND b = ?", "a = $1 AND b = $2"},
		{true, "no params", "no params"},
		{true, "(?, ?), (?, ?), (?, ?), (?, ?), (?, ?), (?, ?)", "($1, $2), ($3, $4), ($5, $6), ($7, $8), ($9, $10), ($11, $12)"},
	}
	for _, tc := range tests {
		d := Dialect{NumberedPlaceholders: tc.numbered}
		if got := d.rebind(tc.in); got != tc.want {
			t.Errorf("rebind(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestChunkSizes(t *testing.T) {
	tests := []struct {
		n, most int
		want    []int
	}{
		{0, 128, nil},
		{1, 128, []int{1}},
		{128, 128, []int{128}},
		{137, 128, []int{128, 8, 1}},
		{1000, 128, []int{128, 128, 128, 128, 128, 128, 128, 64, 32, 8}},
		{255, 128, []int{128, 64, 32, 16, 8, 4, 2, 1}},
		{3, 1, []int{1, 1, 1}},
	}
	for _, tc := range tests {
		got := chunkSizes(tc.n, tc.most)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("chunkSizes(%d, %d) = %v, want %v", tc.n, tc.most, got, tc.want)
		}
		sum := 0
		for _, n := range got {
			sum += n
		}
		if sum != tc.n {
			t.Errorf("chunkSizes(%d, %d) sums to %d", tc.n, tc.most, sum)
		}
	}
}

// TestCover checks how a range is read: whole buckets of the widest level
// that fits, and each ragged edge from narrower levels or as its whole
// bucket minus the rest, whichever is the shorter span before now.
func TestCover(t *testing.T) {
	const (
		s = int64(1e9)
		m = 60 * s
		h = 60 * m
		d = 24 * h
	)
	day := 20000 * d // some UTC midnight
	never := int64(1) << 62
	lD, lH, lM := &levels[0], &levels[1], &levels[2]
	pos := func(l *rollupLevel, lo, hi int64) segment { return segment{l, lo, hi, false} }
	neg := func(l *rollupLevel, lo, hi int64) segment { return segment{l, lo, hi, true} }
	tests := []struct {
		name   string
		lo, hi int64
		lvs    []rollupLevel
		now    int64
		want   []segment
	}{
		{"empty", day, day, levels, never, nil},
		{"sub-minute", day + s, day + 2*s, levels, never, []segment{pos(nil, day+s, day+2*s)}},
		{"one whole day", day, day + d, levels, never, []segment{pos(lD, day, day+d)}},
		{"ragged everywhere", day - h - m - s, day + d + h + m + s, levels, never, []segment{
			pos(lD, day, day+d),
			pos(lH, day-h, day),
			pos(lM, day-h-m, day-h),
			pos(nil, day-h-m-s, day-h-m),
			pos(lH, day+d, day+d+h),
			pos(lM, day+d+h, day+d+h+m),
			pos(nil, day+d+h+m, day+d+h+m+s),
		}},
		{"within an hour", day + 10*m + 5*s, day + 20*m + 7*s, levels, never, []segment{
			pos(lM, day+11*m, day+20*m),
			pos(lM, day+10*m, day+11*m), // 55 s of it: the minute minus 5 s
			neg(nil, day+10*m, day+10*m+5*s),
			pos(nil, day+20*m, day+20*m+7*s),
		}},
		{"most of a minute: the minute minus the rest", day + 5*s, day + m, levels, never, []segment{
			pos(lM, day, day+m),
			neg(nil, day, day+5*s),
		}},
		{"most of an hour: the hour minus the rest", day, day + 50*m + 50*s, levels, never, []segment{
			pos(lH, day, day+h),
			neg(lM, day+51*m, day+h),
			neg(nil, day+50*m+50*s, day+51*m),
		}},
		{"ends now: the day, the hour and the minute whole", day, day + 13*h + 20*m + 10*s, levels, day + 13*h + 20*m + 10*s, []segment{
			pos(lD, day, day+d),
			neg(lH, day+14*h, day+d),
			neg(lM, day+13*h+21*m, day+14*h),
			neg(nil, day+13*h+20*m+10*s, day+13*h+21*m),
		}},
		{"a minute now, read whole", day + m, day + m + 10*s, levels, day + m + 10*s, []segment{
			pos(lM, day+m, day+2*m),
			neg(nil, day+m+10*s, day+2*m),
		}},
		{"a little of a minute, long ago", day, day + 10*s, levels, never, []segment{pos(nil, day, day+10*s)}},
		{"minute levels only", day, day + d, levels[2:], never, []segment{pos(lM, day, day+d)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := cover(tc.lo, tc.hi, tc.lvs, false, tc.now, nil)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d segments %+v, want %+v", len(got), got, tc.want)
			}
			for i := range got {
				g, w := got[i], tc.want[i]
				if g.lo != w.lo || g.hi != w.hi || g.neg != w.neg || (g.level == nil) != (w.level == nil) ||
					(g.level != nil && g.level.table != w.level.table) {
					t.Errorf("segment %d = %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

func TestFloorCeilDiv(t *testing.T) {
	tests := []struct{ a, b, floor, ceil int64 }{
		{7, 2, 3, 4}, {-7, 2, -4, -3}, {6, 2, 3, 3}, {-6, 2, -3, -3}, {0, 5, 0, 0},
	}
	for _, tc := range tests {
		if f, c := floorDiv(tc.a, tc.b), ceilDiv(tc.a, tc.b); f != tc.floor || c != tc.ceil {
			t.Errorf("floor/ceil(%d/%d) = %d/%d, want %d/%d", tc.a, tc.b, f, c, tc.floor, tc.ceil)
		}
	}
}

func TestCursor(t *testing.T) {
	for _, tc := range []struct{ t, id int64 }{{0, 1}, {1741000000123456789, 42}, {-5, 9}} {
		gt, gid, err := decodeCursor(encodeCursor(tc.t, tc.id))
		if err != nil || gt != tc.t || gid != tc.id {
			t.Errorf("cursor (%d, %d) came back as (%d, %d), %v", tc.t, tc.id, gt, gid, err)
		}
	}
	for _, bad := range []string{"", "***", "MTIz", "YS5i"} { // "123", "a.b"
		if _, _, err := decodeCursor(store.Cursor(bad)); err == nil {
			t.Errorf("decodeCursor(%q) succeeded", bad)
		}
	}
}

func TestEscapeLike(t *testing.T) {
	if got, want := escapeLike(`50%_off\now`), `50\%\_off\\now`; got != want {
		t.Errorf("escapeLike = %q, want %q", got, want)
	}
}

func TestClean(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"nul\x00here", "nul\uFFFDhere"},
		{"bad\xffbyte", "bad\uFFFDbyte"},
		{"", ""},
	}
	for _, tc := range tests {
		if got := clean(tc.in); got != tc.want {
			t.Errorf("clean(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestReadMigrations(t *testing.T) {
	tests := []struct {
		name    string
		fsys    fstest.MapFS
		want    []int64
		wantErr string
	}{
		{"ordered", fstest.MapFS{
			"0002_b.sql": {Data: []byte("B")}, "0001_a.sql": {Data: []byte("A")}, "0010_c.sql": {Data: []byte("C")},
		}, []int64{1, 2, 10}, ""},
		{"bad name", fstest.MapFS{"1_a.sql": {}}, nil, "not named"},
		{"duplicate version", fstest.MapFS{"0001_a.sql": {}, "0001_b.sql": {}}, nil, "share version"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := ReadMigrations(tc.fsys)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, m := range ms {
				got = append(got, m.Version)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("versions %v, want %v", got, tc.want)
			}
		})
	}
}

func TestMigrate(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "m.db")+"?_pragma=busy_timeout(5000)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	d := &Dialect{Name: "sqlite"}
	good := fstest.MapFS{
		"0001_t.sql": {Data: []byte("CREATE TABLE t (x INTEGER);\nINSERT INTO t VALUES (1);")},
		"0002_u.sql": {Data: []byte("CREATE TABLE u (y INTEGER);")},
	}
	applied, err := Migrate(ctx, db, d, good)
	if err != nil || !reflect.DeepEqual(applied, []int64{1, 2}) {
		t.Fatalf("first Migrate = %v, %v", applied, err)
	}
	applied, err = Migrate(ctx, db, d, good)
	if err != nil || len(applied) != 0 {
		t.Fatalf("second Migrate = %v, %v; want nothing applied", applied, err)
	}
	// A failing migration leaves neither its changes nor its version.
	bad := fstest.MapFS{
		"0001_t.sql": good["0001_t.sql"], "0002_u.sql": good["0002_u.sql"],
		"0003_bad.sql": {Data: []byte("CREATE TABLE v (z INTEGER); INSERT INTO nowhere VALUES (1);")},
	}
	if _, err := Migrate(ctx, db, d, bad); err == nil || !strings.Contains(err.Error(), "0003_bad") {
		t.Fatalf("Migrate with a bad migration: %v", err)
	}
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM sqlite_master WHERE name = 'v'").Scan(&n); err != nil || n != 0 {
		t.Errorf("table of the failed migration exists: %d, %v", n, err)
	}
	if err := db.QueryRow("SELECT COUNT(*) FROM schema_migrations").Scan(&n); err != nil || n != 2 {
		t.Errorf("schema_migrations has %d rows, %v; want 2", n, err)
	}
	if err := db.QueryRow("SELECT COUNT(*) FROM t").Scan(&n); err != nil || n != 1 {
		t.Errorf("migration 1 ran again: t has %d rows, %v", n, err)
	}
}

// TestJSONColumns checks the hand-written JSON of the tools, causes,
// content and req columns against encoding/json: the same fields in the
// same order, the same values once read back (escapes may differ: HTML
// characters and U+2028 are left as they are).
func TestJSONColumns(t *testing.T) {
	odd := []string{"", "plain", `quote " and \ backslash`, "<b>&amp;</b>", "tab\tnewline\n\x00nul\x1f",
		"\u2028\u2029", "ünïcödé 🙂", "bad \xff utf-8", "\ufffd"}
	var blocks []analytics.Block
	for i, s := range odd {
		blocks = append(blocks, analytics.Block{Type: s, Text: odd[(i+1)%len(odd)], Name: odd[(i+2)%len(odd)]})
	}
	reqs := []*analytics.Request{
		{},
		{Model: "claude-x", MaxTokens: 1024, StopSequences: odd, Messages: []analytics.Message{
			{Role: "user", Blocks: blocks}, {Role: "assistant"}, {Role: "user", Blocks: []analytics.Block{}},
		}},
		{MaxTokens: -3},
		{StopSequences: []string{"x"}},
		{Messages: []analytics.Message{{Role: "user"}}},
	}
	want := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	// canon re-encodes JSON text with encoding/json, object keys in their
	// order: the same for equal values.
	canon := func(s string) string {
		t.Helper()
		var out strings.Builder
		dec := json.NewDecoder(strings.NewReader(s))
		for {
			tok, err := dec.Token()
			if err != nil {
				if err != io.EOF {
					t.Fatalf("%s: %v", s, err)
				}
				return out.String()
			}
			b, _ := json.Marshal(tok)
			out.Write(b)
			out.WriteByte(' ')
		}
	}
	check := func(name, got, want string) {
		t.Helper()
		if canon(got) != canon(want) {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want)
		}
	}
	check("strings", string(appendStrings(nil, odd)), want(odd))
	check("causes", string(appendStrings(nil, []analytics.Cause{analytics.CauseTextAfterToolResult})), want([]analytics.Cause{analytics.CauseTextAfterToolResult}))
	check("blocks", string(appendBlocks(nil, blocks)), want(blocks))
	for i, r := range reqs {
		check(fmt.Sprintf("request %d", i), string(appendRequest(nil, r)), want(r))
	}
	// A request with every field of every type set, so that a field added
	// to analytics.Request, Message or Block and not to appendRequest fails.
	full := &analytics.Request{}
	fillAll(reflect.ValueOf(full).Elem())
	check("every field", string(appendRequest(nil, full)), want(full))
}

// fillAll sets every field of v, recursively, to a value that is not zero.
func fillAll(v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			fillAll(v.Field(i))
		}
	case reflect.String:
		v.SetString("s")
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(7)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fillAll(v.Index(0))
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fillAll(v.Elem())
	default:
		panic("fillAll: no value for " + v.Type().String())
	}
}

// TestRareFilterPlans checks, with SQLite's EXPLAIN QUERY PLAN, that List
// finds records of a rare value through its partial index, and records of
// a common one by walking the time index, without a sort: the queries must
// repeat each partial index's WHERE condition for SQLite to use it.
func TestRareFilterPlans(t *testing.T) {
	ctx := context.Background()
	e := sqliteEngine(t)
	s, err := New(ctx, Config{Writer: e.open(), Dialect: e.dialect, Migrations: e.migrations})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, tc := range planFilters {
		q, args, err := s.d.listQuery(&tc.f, "", 50)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		rows, err := s.r.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q, args...)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		got := strings.Join(plan, "; ")
		used := false
		for _, index := range strings.Split(tc.index, "|") {
			used = used || strings.Contains(strings.ReplaceAll(got, ";", " ")+" ", "INDEX "+index+" ")
		}
		if !used || strings.Contains(got, "TEMP B-TREE") {
			t.Errorf("%s: plan %q, want it to use %s and no sort", tc.name, got, tc.index)
		}
	}
}
