package maint

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/stopscope/stopscope/cmd/dashboard/cli"
)

// Rollups is "dashboard rollups rebuild": recompute every rollup from the
// raw records, for after a restore or a bug fix in classification.
func Rollups(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "rebuild" {
		return fmt.Errorf("usage: dashboard rollups rebuild [--db PATH|postgres://…]")
	}
	fs := flag.NewFlagSet("rollups rebuild", flag.ContinueOnError)
	fs.SetOutput(stdout)
	db := cli.DBFlag(fs, getenv)
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	st, err := cli.OpenStore(ctx, *db)
	if err != nil {
		return fmt.Errorf("open store %s: %w", *db, err)
	}
	defer st.Close()
	if err := st.RebuildRollups(ctx); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "rollups rebuilt from the raw records")
	return nil
}
