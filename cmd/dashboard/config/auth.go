package config

import (
	"flag"
	"fmt"
	"net/netip"
	"strings"

	"github.com/stopscope/stopscope/cmd/dashboard/cli"
)

// AuthSettings are the flags of authentication.
type AuthSettings struct {
	// Insecure lets stopscope listen beyond loopback without ingest keys
	// or a dashboard login.
	Insecure bool
	// RequireKeys makes ingest require a key even on loopback before any
	// key exists.
	RequireKeys bool
	// ProxyHeader names the header a trusted reverse proxy puts the
	// authenticated user in.
	ProxyHeader string
	// TrustedProxies are the proxies' addresses, as CIDRs or single IPs.
	TrustedProxies []netip.Prefix
	// AllowedHosts are the host names, beyond IP addresses, localhost and
	// the name --addr listens on, that HTTP requests may name in Host.
	AllowedHosts []string
}

// Register adds the authentication flags to fs, with STOPSCOPE_* variables
// as defaults.
func (a *AuthSettings) Register(fs *flag.FlagSet, getenv func(string) string) error {
	insecure := getenv("STOPSCOPE_INSECURE") == "1" || strings.EqualFold(getenv("STOPSCOPE_INSECURE"), "true")
	fs.BoolVar(&a.Insecure, "insecure", insecure, "listen beyond loopback without ingest keys or a dashboard login: anyone who reaches the port can write and read (env STOPSCOPE_INSECURE=1)")
	fs.BoolVar(&a.RequireKeys, "require-keys", a.RequireKeys, "require an ingest key even on loopback, before any key exists")
	header := a.ProxyHeader
	if v := getenv("STOPSCOPE_AUTH_PROXY_HEADER"); v != "" {
		header = v
	}
	fs.StringVar(&a.ProxyHeader, "auth-proxy-header", header, "trust this header (e.g. X-Forwarded-User) as the logged-in user, from --trusted-proxies only (env STOPSCOPE_AUTH_PROXY_HEADER)")
	if v := getenv("STOPSCOPE_TRUSTED_PROXIES"); v != "" {
		ps, err := cli.ParsePrefixes(v)
		if err != nil {
			return fmt.Errorf("STOPSCOPE_TRUSTED_PROXIES: %w", err)
		}
		a.TrustedProxies = ps
	}
	fs.Func("trusted-proxies", "comma-separated CIDRs or IPs of reverse proxies whose X-Forwarded-* and --auth-proxy-header are believed (env STOPSCOPE_TRUSTED_PROXIES)", func(v string) error {
		ps, err := cli.ParsePrefixes(v)
		a.TrustedProxies = ps
		return err
	})
	if v := getenv("STOPSCOPE_ALLOWED_HOSTS"); v != "" {
		a.AllowedHosts = SplitList(v)
	}
	fs.Func("allowed-hosts", "comma-separated host names the HTTP server answers to besides IP addresses and localhost, e.g. stopscope.example.com; *.example.com for subdomains, * for any (env STOPSCOPE_ALLOWED_HOSTS)", func(v string) error {
		a.AllowedHosts = SplitList(v)
		return nil
	})
	return nil
}

// SplitList reads "a, b,c" into its non-empty items.
func SplitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func (a *AuthSettings) Validate() error {
	if a.ProxyHeader != "" && len(a.TrustedProxies) == 0 {
		return fmt.Errorf("--auth-proxy-header %s needs --trusted-proxies: the addresses of the proxies allowed to set it", a.ProxyHeader)
	}
	return nil
}
