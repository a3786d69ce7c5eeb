package admin

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/stopscope/stopscope/auth"
	"github.com/stopscope/stopscope/cmd/dashboard/cli"
)

const usersUsage = `usage:
  dashboard users add NAME --password-stdin [--db …]      the password is the first line of stdin
  dashboard users passwd NAME --password-stdin [--db …]   set a new password; ends NAME's sessions
  dashboard users list [--db …]
  dashboard users delete NAME [--db …]`

// Users is "dashboard users": add, list and delete dashboard users.
// Passwords are read from stdin, never from the command line, where other
// users of the machine and shell histories would see them.
func Users(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout io.Writer, now func() time.Time) error {
	if len(args) == 0 {
		return fmt.Errorf("%s", usersUsage)
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("users "+sub, flag.ContinueOnError)
	fs.SetOutput(stdout)
	db := cli.DBFlag(fs, getenv)
	var fromStdin bool
	if sub == "add" || sub == "passwd" {
		fs.BoolVar(&fromStdin, "password-stdin", false, "read the password from the first line of stdin")
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
	case "add", "passwd":
		if len(pos) != 1 {
			return fmt.Errorf("users %s needs one user name\n%s", sub, usersUsage)
		}
		name := pos[0]
		if err := validUserName(name); err != nil {
			return err
		}
		if !fromStdin {
			return fmt.Errorf("users %s: pass --password-stdin and pipe the password in, e.g.\n  read -rs PW && printf '%%s\\n' \"$PW\" | dashboard users %s %s --password-stdin", sub, sub, name)
		}
		pw, err := readPassword(stdin)
		if err != nil {
			return err
		}
		hash, err := auth.HashPassword(pw)
		if err != nil {
			return err
		}
		return withStore(func(as auth.Store) error {
			if sub == "passwd" {
				if err := as.SetUserPassword(ctx, name, hash); err != nil {
					return err
				}
				fmt.Fprintf(stdout, "Set a new password for %s and ended their sessions.\n", name)
				return nil
			}
			if _, err := as.CreateUser(ctx, auth.User{Name: name, PasswordHash: hash, Created: now().UTC()}); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "Added user %s. The dashboard now requires a login.\n", name)
			return nil
		})
	case "list":
		if len(pos) != 0 {
			return fmt.Errorf("%s", usersUsage)
		}
		return withStore(func(as auth.Store) error {
			users, err := as.ListUsers(ctx)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tCREATED")
			for _, u := range users {
				fmt.Fprintf(tw, "%s\t%s\n", u.Name, u.Created.Format(time.RFC3339))
			}
			return tw.Flush()
		})
	case "delete":
		if len(pos) != 1 {
			return fmt.Errorf("users delete needs one user name\n%s", usersUsage)
		}
		return withStore(func(as auth.Store) error {
			if err := as.DeleteUser(ctx, pos[0]); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "Deleted user %s and ended their sessions.\n", pos[0])
			return nil
		})
	}
	return fmt.Errorf("unknown users command %q\n%s", sub, usersUsage)
}

// validUserName accepts printable names without spaces, up to 64 bytes.
func validUserName(name string) error {
	if name == "" || len(name) > 64 || strings.IndexFunc(name, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }) >= 0 {
		return fmt.Errorf("user name %q: use 1 to 64 printable characters without spaces", name)
	}
	return nil
}

// readPassword reads the first line of r.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", fmt.Errorf("reading the password from stdin: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if len(pw) < auth.MinPasswordLen {
		return "", fmt.Errorf("the password must be at least %d characters long", auth.MinPasswordLen)
	}
	return pw, nil
}
