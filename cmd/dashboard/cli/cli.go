// Package cli holds what the dashboard's commands share: the --db setting
// and the store it names, and flags with defaults from the environment.
package cli

import (
	"context"
	"flag"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/stopscope/stopscope/store"
	"github.com/stopscope/stopscope/store/postgres"
	"github.com/stopscope/stopscope/store/sqlite"
	"github.com/stopscope/stopscope/store/sqlstore"
)

// DefaultDB is the --db of every command when STOPSCOPE_DB is not set.
const DefaultDB = "./data/stopscope.db"

// OpenStore opens the store a DB setting names: a postgres:// URL or a
// SQLite file path.
func OpenStore(ctx context.Context, db string, opts ...sqlstore.Option) (store.Store, error) {
	if strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://") {
		return postgres.Open(ctx, db, opts...)
	}
	return sqlite.Open(db, opts...)
}

// DB is the default of --db: STOPSCOPE_DB, or DefaultDB.
func DB(getenv func(string) string) string {
	if v := getenv("STOPSCOPE_DB"); v != "" {
		return v
	}
	return DefaultDB
}

// DBFlag adds --db to fs, defaulting to STOPSCOPE_DB or DefaultDB.
func DBFlag(fs *flag.FlagSet, getenv func(string) string) *string {
	return fs.String("db", DB(getenv), "SQLite file path, or a postgres:// URL (env STOPSCOPE_DB)")
}

// ParseInterspersed parses flags that may come before or after the
// positional arguments, and returns the positional ones.
func ParseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// EnvFlags registers flags whose defaults come from the environment and
// remembers the first environment value that does not parse.
type EnvFlags struct {
	FS     *flag.FlagSet
	Getenv func(string) string
	// Err is the first environment value that did not parse.
	Err error
}

// Int adds an int flag whose default is the variable env when set.
func (e *EnvFlags) Int(p *int, name, env, usage string) {
	if v := e.Getenv(env); v != "" {
		n, err := strconv.Atoi(v)
		e.fail(err, env, v)
		if err == nil {
			*p = n
		}
	}
	e.FS.IntVar(p, name, *p, usage+" (env "+env+")")
}

// Int64 adds an int64 flag whose default is the variable env when set.
func (e *EnvFlags) Int64(p *int64, name, env, usage string) {
	if v := e.Getenv(env); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		e.fail(err, env, v)
		if err == nil {
			*p = n
		}
	}
	e.FS.Int64Var(p, name, *p, usage+" (env "+env+")")
}

// Duration adds a time.Duration flag whose default is the variable env
// when set.
func (e *EnvFlags) Duration(p *time.Duration, name, env, usage string) {
	if v := e.Getenv(env); v != "" {
		d, err := time.ParseDuration(v)
		e.fail(err, env, v)
		if err == nil {
			*p = d
		}
	}
	e.FS.DurationVar(p, name, *p, usage+" (env "+env+")")
}

func (e *EnvFlags) fail(err error, env, v string) {
	if err != nil && e.Err == nil {
		e.Err = fmt.Errorf("%s=%q: %v", env, v, err)
	}
}

// Bool adds a bool flag whose default is the variable env when set.
func (e *EnvFlags) Bool(p *bool, name, env, usage string) {
	if v := e.Getenv(env); v != "" {
		b, err := strconv.ParseBool(v)
		e.fail(err, env, v)
		if err == nil {
			*p = b
		}
	}
	e.FS.BoolVar(p, name, *p, usage+" (env "+env+")")
}

// ParsePrefixes reads "10.0.0.0/8, 192.168.1.7": CIDRs or single addresses.
func ParsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		ip, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("%q is neither a CIDR nor an IP address", f)
		}
		ip = ip.Unmap()
		out = append(out, netip.PrefixFrom(ip, ip.BitLen()))
	}
	return out, nil
}

// Regexps is a repeatable flag of regular expressions, each use one
// pattern, appended to what P holds: patterns from the environment (one
// per line: commas are common in regular expressions) come first and are
// kept when flags add more.
type Regexps struct{ P *[]string }

func (r Regexps) String() string {
	if r.P == nil {
		return ""
	}
	return strings.Join(*r.P, "\n")
}

// Set appends s once it compiles.
func (r Regexps) Set(s string) error {
	if _, err := regexp.Compile(s); err != nil {
		return fmt.Errorf("not a regular expression: %v", err)
	}
	*r.P = append(*r.P, s)
	return nil
}
