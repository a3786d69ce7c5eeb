package sqlstore

import (
	"context"
	"strings"
	"testing"
)

// TestRareFilterPlansPostgres checks, with PostgreSQL's EXPLAIN over 20,000
// analysed records of a usual mix (mixRecords), that List finds rare values
// through their partial indexes and common ones by the time index.
func TestRareFilterPlansPostgres(t *testing.T) {
	ctx := context.Background()
	e := postgresEngine(t)
	s, err := New(ctx, Config{Writer: e.open(), Dialect: e.dialect, Migrations: e.migrations})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	recs := mixRecords(20000)
	for lo := 0; lo < len(recs); lo += 1000 {
		if err := s.Insert(ctx, recs[lo:lo+1000]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.w.ExecContext(ctx, "ANALYZE records"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range planFilters {
		q, args, err := s.d.listQuery(&tc.f, "", 50)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := s.r.QueryContext(ctx, "EXPLAIN "+s.d.rebind(q), args...)
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
