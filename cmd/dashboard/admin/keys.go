// Package admin is the dashboard's commands that manage access: "keys"
// for ingest keys and "users" for dashboard logins.
package admin

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/stopscope/stopscope/auth"
	"github.com/stopscope/stopscope/cmd/dashboard/cli"
	"github.com/stopscope/stopscope/store"
)

const keysUsage = `usage:
  dashboard keys create --app NAME [--name LABEL] [--db …]   print a new ingest key, once
  dashboard keys create --any-app [--name LABEL] [--db …]    a key that may write any app
  dashboard keys list [--db …]
  dashboard keys revoke ID [--db …]`

// Keys is "dashboard keys": create, list and revoke ingest keys.
func Keys(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer, now func() time.Time) error {
	if len(args) == 0 {
		return fmt.Errorf("%s", keysUsage)
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("keys "+sub, flag.ContinueOnError)
	fs.SetOutput(stdout)
	db := cli.DBFlag(fs, getenv)
	var app, name string
	var anyApp bool
	if sub == "create" {
		fs.StringVar(&app, "app", "", "the app the key may write records for")
		fs.BoolVar(&anyApp, "any-app", false, "let the key write records for any app")
		fs.StringVar(&name, "name", "", "a label for the key")
	}
	pos, err := cli.ParseInterspersed(fs, args)
	if err != nil {
		return err
	}
	withStore := func(fn func(auth.Store) error) error {
		st, as, err := openAuthStore(ctx, *db)
		if err != nil {
			return err
		}
		defer st.Close()
		return fn(as)
	}
	switch sub {
	case "create":
		if len(pos) != 0 || (app == "") == !anyApp {
			return fmt.Errorf("keys create needs exactly one of --app NAME or --any-app\n%s", keysUsage)
		}
		return withStore(func(as auth.Store) error {
			key, hash, prefix, err := auth.NewKey()
			if err != nil {
				return err
			}
			if name == "" {
				name = app
			}
			k, err := as.CreateAPIKey(ctx, auth.APIKey{Name: name, App: app, Prefix: prefix, Hash: hash, Created: now().UTC()})
			if err != nil {
				return err
			}
			scope := "app " + strconv.Quote(app)
			if app == "" {
				scope = "any app"
			}
			fmt.Fprintf(stdout, "%s\n", key)
			fmt.Fprintf(stdout, "Created ingest key %d (%s) for %s. It is shown only this once: store it now.\n", k.ID, name, scope)
			fmt.Fprintf(stdout, "Send it as \"Authorization: Bearer %s…\" or \"x-api-key\".\n", prefix)
			return nil
		})
	case "list":
		if len(pos) != 0 {
			return fmt.Errorf("%s", keysUsage)
		}
		return withStore(func(as auth.Store) error {
			keys, err := as.ListAPIKeys(ctx)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tPREFIX\tNAME\tAPP\tCREATED\tSTATUS")
			for _, k := range keys {
				app, status := k.App, "active"
				if app == "" {
					app = "(any)"
				}
				if !k.Active() {
					status = "revoked " + k.Revoked.Format(time.RFC3339)
				}
				fmt.Fprintf(tw, "%d\t%s…\t%s\t%s\t%s\t%s\n", k.ID, k.Prefix, k.Name, app, k.Created.Format(time.RFC3339), status)
			}
			return tw.Flush()
		})
	case "revoke":
		if len(pos) != 1 {
			return fmt.Errorf("keys revoke needs the ID of one key (see dashboard keys list)\n%s", keysUsage)
		}
		id, err := strconv.ParseInt(pos[0], 10, 64)
		if err != nil {
			return fmt.Errorf("keys revoke: %q is not a key ID (see dashboard keys list)", pos[0])
		}
		return withStore(func(as auth.Store) error {
			if err := as.RevokeAPIKey(ctx, id, now().UTC()); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "Revoked ingest key %d: it is refused from now on.\n", id)
			return nil
		})
	}
	return fmt.Errorf("unknown keys command %q\n%s", sub, keysUsage)
}

// openAuthStore opens the store for the key and user commands.
func openAuthStore(ctx context.Context, db string) (store.Store, auth.Store, error) {
	st, err := cli.OpenStore(ctx, db)
	if err != nil {
		return nil, nil, fmt.Errorf("open store %s: %w", db, err)
	}
	as, ok := st.(auth.Store)
	if !ok {
		st.Close()
		return nil, nil, fmt.Errorf("the store %T keeps no keys or users", st)
	}
	return st, as, nil
}
