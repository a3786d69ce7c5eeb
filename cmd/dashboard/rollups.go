package main

import (
	"context"
	"flag"
	"fmt"
	"io"
)

// runRollups is "dashboard rollups rebuild": recompute every rollup from
// the raw records, for after a restore or a bug fix in classification.
func runRollups(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "rebuild" {
		return fmt.Errorf("usage: dashboard rollups rebuild [--db PATH|postgres://…]")
	}
	db := "./data/stopscope.db"
	if v := getenv("STOPSCOPE_DB"); v != "" {
		db = v
	}
	fs := flag.NewFlagSet("rollups rebuild", flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.StringVar(&db, "db", db, "SQLite file path, or a postgres:// URL (env STOPSCOPE_DB)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	st, err := openStore(ctx, db)
	if err != nil {
		return fmt.Errorf("open store %s: %w", db, err)
	}
	defer st.Close()
	if err := st.RebuildRollups(ctx); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "rollups rebuilt from the raw records")
	return nil
}
