package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/stopscope/stopscope/auth"
	"github.com/stopscope/stopscope/store"
	"github.com/stopscope/stopscope/web"
)

// allowedHosts are the Host names the HTTP server answers to beyond IP
// addresses and localhost (web.Server.AllowedHosts): --allowed-hosts, and
// the host of --addr when it is a name.
func (m *Main) allowedHosts() []string {
	hosts := append([]string(nil), m.Auth.AllowedHosts...)
	if host, _, err := net.SplitHostPort(m.Addr); err == nil && host != "" {
		if _, err := netip.ParseAddr(strings.Trim(host, "[]")); err != nil {
			hosts = append(hosts, host)
		}
	}
	return hosts
}

// exposed reports whether a listen address accepts connections from
// beyond this machine.
func exposed(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	return !auth.IsLoopback(host)
}

// setupAuth decides what authentication the service needs and refuses to
// start beyond loopback without credentials, unless --insecure. It returns
// the ingest check (for the gRPC interceptor too) and the web guard.
func (m *Main) setupAuth(ctx context.Context, st store.Store) (*auth.Ingest, *web.Auth, error) {
	as, ok := st.(auth.Store)
	if !ok {
		return nil, nil, fmt.Errorf("the store %T keeps no keys or users", st)
	}
	httpOut := exposed(m.Addr)
	grpcOut := m.OTLPGRPCAddr != "" && exposed(m.OTLPGRPCAddr)
	secure := (httpOut || grpcOut) && !m.Auth.Insecure
	if secure {
		if err := m.checkCredentials(ctx, as, httpOut, grpcOut); err != nil {
			return nil, nil, err
		}
	}
	if (httpOut || grpcOut) && m.Auth.Insecure {
		m.Logger.Warn("INSECURE: listening beyond loopback without required ingest keys or dashboard login; anyone who reaches the port can write records and read every response", "addr", m.Addr, "otlp_grpc_addr", m.OTLPGRPCAddr)
		fmt.Fprintf(m.Stdout, "WARNING: --insecure: %s is reachable from other machines and neither ingest keys nor a dashboard login are required.\n", m.Addr)
	}
	in := &auth.Ingest{Store: as, Always: secure || m.Auth.RequireKeys}
	wa := &web.Auth{
		Store: as, Ingest: in, RequireLogin: secure && httpOut,
		ProxyHeader: m.Auth.ProxyHeader, TrustedProxies: m.Auth.TrustedProxies,
		Now: m.Now, Logger: m.Logger,
	}
	return in, wa, nil
}

// checkCredentials refuses a start beyond loopback that lacks an active
// ingest key, or (when HTTP is exposed) any way to log in, naming each
// thing to configure.
func (m *Main) checkCredentials(ctx context.Context, as auth.Store, httpOut, grpcOut bool) error {
	var missing []string
	keys, err := as.CountActiveAPIKeys(ctx)
	if err != nil {
		return err
	}
	if keys == 0 {
		missing = append(missing, fmt.Sprintf("an ingest key: dashboard keys create --app NAME --db %s", m.DB))
	}
	if httpOut && m.Auth.ProxyHeader == "" {
		users, err := as.CountUsers(ctx)
		if err != nil {
			return err
		}
		if users == 0 {
			missing = append(missing, fmt.Sprintf("a dashboard login: dashboard users add NAME --password-stdin --db %s (or trust a reverse proxy with --auth-proxy-header X-Forwarded-User --trusted-proxies CIDR)", m.DB))
		}
	}
	if len(missing) == 0 {
		return nil
	}
	where := m.Addr
	if !httpOut && grpcOut {
		where = m.OTLPGRPCAddr
	}
	return fmt.Errorf("refusing to listen on %s, which other machines can reach, without credentials. Configure:\n  - %s\nor listen on 127.0.0.1, or pass --insecure to run without them",
		where, strings.Join(missing, "\n  - "))
}
