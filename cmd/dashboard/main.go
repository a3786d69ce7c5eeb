// Command dashboard runs stopscope: the ingest endpoints, the OTLP
// receiver, the JSON API and the browser dashboard, over one store.
//
//	dashboard [serve] [--addr ADDR] [--db PATH|postgres://…]
//	dashboard rollups rebuild [--db …]
//	dashboard demo [--db …] [--force]
//	dashboard keys create --app NAME | list | revoke ID [--db …]
//	dashboard users add NAME --password-stdin | passwd | list | delete NAME [--db …]
//	dashboard bench [--quick] [--sizes 10000,1000000,10000000] [--out FILE]
//
// This package is the wiring: serve's flags and Main, and the dispatch to
// the other commands, which live in the packages below it (admin, bench,
// demo, maint).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/stopscope/stopscope/cmd/dashboard/admin"
	"github.com/stopscope/stopscope/cmd/dashboard/bench"
	"github.com/stopscope/stopscope/cmd/dashboard/demo"
	"github.com/stopscope/stopscope/cmd/dashboard/maint"
)

func main() { os.Exit(exitCode()) }

// exitCode runs the command and returns its exit status once every
// deferred call has run: os.Exit would skip them (the bench's profile of
// its server is written by one).
func exitCode() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	defer bench.Profile()()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "dashboard:", err)
		}
		return 2
	}
	return 0
}

// run dispatches the subcommands. The plain command is serve.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		m := NewMain(stdout, stderr)
		if err := m.ParseFlags(args, getenv); err != nil {
			return err
		}
		applyGCPercent(m.Ops.GCPercent, getenv, m.Logger)
		if err := m.Run(ctx); err != nil {
			m.Close()
			return err
		}
		<-ctx.Done()
		fmt.Fprintln(stdout, "stopscope: shutting down")
		return m.Close()
	case "keys":
		return admin.Keys(ctx, args, getenv, stdout, time.Now)
	case "users":
		return admin.Users(ctx, args, getenv, os.Stdin, stdout, time.Now)
	case "rollups":
		return maint.Rollups(ctx, args, getenv, stdout)
	case "demo":
		return demo.Run(ctx, args, getenv, stdout, time.Now)
	case "bench":
		return bench.Run(ctx, args, stdout)
	case "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return fmt.Errorf("unknown command %q\n%s", cmd, usage)
}

// usage lists the commands; serve's -h and --help print commands before
// its flags.
const usage = commands + `
Run "dashboard serve -h" for the flags of serve.
`

const commands = `Usage:
  dashboard [serve] [flags]      run the service (the default command)
  dashboard rollups rebuild      recompute the rollups from the raw records
  dashboard demo [--db PATH]     fill a fresh database with a week of demo traffic
  dashboard keys create --app NAME   print a new ingest key (once); keys list, keys revoke ID
  dashboard users add NAME --password-stdin   add a dashboard user; users passwd, list, delete NAME
  dashboard bench [--quick]      measure ingest throughput, read latency, memory and disk use
`
