package alert

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/stopscope/stopscope/analytics"
)

// Destinations decides where notifications may be sent. Only public
// addresses are allowed unless an entry allows more: a webhook that points
// at the cloud metadata service, at loopback or at a private network would
// let whoever can edit channels make the server post to its own
// neighbourhood. The check is made when a channel is created or its URL
// changed (CheckURL) and again at every connection the deliverer opens
// (Client), on the address actually dialled, so that a name which resolves
// to a public address at creation and to a private one later (DNS
// rebinding) is refused all the same.
//
// The zero value, like a nil *Destinations, allows public addresses only.
// Destinations must not be changed once in use.
type Destinations struct {
	hosts []hostEntry
	nets  []netEntry
	// Resolver looks names up for CheckURL; net.DefaultResolver when nil.
	Resolver *net.Resolver
}

// hostEntry allows a name, on one port or on any (port "").
type hostEntry struct{ name, port string }

// netEntry allows a range of addresses, on one port or on any.
type netEntry struct {
	prefix netip.Prefix
	port   string
}

// ParseDestinations reads a comma-separated list of allowed destinations
// (see Allow); an empty list allows public addresses only.
func ParseDestinations(list string) (*Destinations, error) {
	d := &Destinations{}
	for e := range strings.SplitSeq(list, ",") {
		if e = strings.TrimSpace(e); e == "" {
			continue
		}
		if err := d.Allow(e); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// Allow adds one allowed destination beyond the public addresses: a host
// name ("hooks.lab", which then may resolve to anything), an address
// ("127.0.0.1", "::1"), a range in CIDR notation ("10.0.0.0/8",
// "fd00::/8"), or any of these with a port ("hooks.lab:8080",
// "127.0.0.1:9000", "[::1]:9000"), which then allows that port only.
func (d *Destinations) Allow(entry string) error {
	host, port := entry, ""
	if h, p, err := net.SplitHostPort(entry); err == nil {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("allowed destination %q: %q is not a port", entry, p)
		}
		host, port = h, p
	}
	if pre, err := netip.ParsePrefix(host); err == nil {
		d.nets = append(d.nets, netEntry{pre.Masked(), port})
		return nil
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		ip = ip.Unmap().WithZone("")
		d.nets = append(d.nets, netEntry{netip.PrefixFrom(ip, ip.BitLen()), port})
		return nil
	}
	name := normalName(host)
	if name == "" || strings.ContainsAny(name, "/[]:@ ") {
		return fmt.Errorf("allowed destination %q is not a host name, an address, a CIDR range, or one of those with a port", entry)
	}
	d.hosts = append(d.hosts, hostEntry{name, port})
	return nil
}

// AllowURL allows the host and port of one URL (the port its scheme
// implies when it has none): what an operator names on the command line is
// theirs to send to.
func (d *Destinations) AllowURL(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil || u.Hostname() == "" {
		return fmt.Errorf("%q is not a URL", rawURL)
	}
	return d.Allow(net.JoinHostPort(u.Hostname(), urlPort(u)))
}

func urlPort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "https") {
		return "443"
	}
	return "80"
}

func normalName(host string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(host)), ".")
}

// namedAllowed reports whether an entry allows host by name on port.
func (d *Destinations) namedAllowed(host, port string) bool {
	if d == nil {
		return false
	}
	name := normalName(host)
	for _, h := range d.hosts {
		if h.name == name && (h.port == "" || h.port == port) {
			return true
		}
	}
	return false
}

// addrAllowed returns nil when ip may be dialled on port, or why not.
func (d *Destinations) addrAllowed(ip netip.Addr, port string) error {
	ip = ip.Unmap().WithZone("")
	if d != nil {
		for _, n := range d.nets {
			if n.prefix.Contains(ip) && (n.port == "" || n.port == port) {
				return nil
			}
		}
	}
	if why := nonPublic(ip); why != "" {
		return &RefusedError{Addr: ip, Why: why}
	}
	return nil
}

// RefusedError is a destination that is not a public address and that no
// entry of Destinations allows.
type RefusedError struct {
	Addr netip.Addr
	// Why names the kind of address: "loopback", "private", and so on.
	Why string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("%s is a %s address, not a public one, and is not among the allowed destinations", e.Addr, e.Why)
}

// specialRanges are the IANA special-purpose ranges that are not globally
// reachable, beyond what netip.Addr's predicates name.
var specialRanges = []struct {
	prefix netip.Prefix
	why    string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "\"this network\""},
	{netip.MustParsePrefix("100.64.0.0/10"), "shared (carrier-grade NAT)"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol"},
	{netip.MustParsePrefix("192.0.2.0/24"), "documentation"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
	{netip.MustParsePrefix("198.51.100.0/24"), "documentation"},
	{netip.MustParsePrefix("203.0.113.0/24"), "documentation"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"},
	{netip.MustParsePrefix("64:ff9b::/96"), "NAT64"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "NAT64"},
	{netip.MustParsePrefix("100::/64"), "discard"},
	{netip.MustParsePrefix("2001::/23"), "IETF protocol"},
	{netip.MustParsePrefix("2001:db8::/32"), "documentation"},
	{netip.MustParsePrefix("2002::/16"), "6to4"},
	{netip.MustParsePrefix("fec0::/10"), "site-local"},
}

// nonPublic names the kind of a non-public address, or returns "" for a
// public one.
func nonPublic(ip netip.Addr) string {
	switch {
	case !ip.IsValid():
		return "invalid"
	case ip.IsLoopback():
		return "loopback"
	case ip.IsUnspecified():
		return "unspecified"
	case ip.IsPrivate():
		return "private"
	case ip.IsLinkLocalUnicast():
		return "link-local"
	case ip.IsMulticast(), ip.IsLinkLocalMulticast(), ip.IsInterfaceLocalMulticast():
		return "multicast"
	case ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "broadcast"
	}
	for _, r := range specialRanges {
		if r.prefix.Contains(ip) {
			return r.why
		}
	}
	return ""
}

// CheckURL tells whether notifications may be sent to rawURL, as an
// analytics.EInvalid error naming the field url when not. A host name is
// looked up and every address it has must be allowed; a name that does not
// resolve now is accepted, since every delivery checks again.
func (d *Destinations) CheckURL(ctx context.Context, rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil || u.Hostname() == "" {
		return analytics.Errorf(analytics.EInvalid, "field url: %q is not an http or https URL", rawURL)
	}
	host, port := u.Hostname(), urlPort(u)
	const hint = "an operator can allow it with --alert-allow-hosts"
	if d.namedAllowed(host, port) {
		return nil
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if err := d.addrAllowed(ip, port); err != nil {
			return analytics.Errorf(analytics.EInvalid, "field url: %v (%s)", err, hint)
		}
		return nil
	}
	res := net.DefaultResolver
	if d != nil && d.Resolver != nil {
		res = d.Resolver
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ips, err := res.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil
	}
	for _, ip := range ips {
		if err := d.addrAllowed(ip, port); err != nil {
			return analytics.Errorf(analytics.EInvalid, "field url: %s resolves to %v (%s)", host, err, hint)
		}
	}
	return nil
}

// dialContext dials addr, refusing any address the destinations do not
// allow; the check runs on each address the dialer tries, after the name
// is resolved.
func (d *Destinations) dialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if !d.namedAllowed(host, port) {
		dialer.Control = func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("alert destination %q: %w", address, err)
			}
			return d.addrAllowed(ap.Addr(), port)
		}
	}
	return dialer.DialContext(ctx, network, addr)
}

// errRedirect marks an answer that asked to be sent elsewhere.
var errRedirect = errors.New("redirects are not followed")

// Client returns an HTTP client that sends only to the allowed
// destinations, checked at every dial, never through a proxy, and never
// following a redirect: a 3xx answer is returned as it is, and the
// deliverer counts it as a failed attempt.
func (d *Destinations) Client() *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           d.dialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          16,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ExpectContinueTimeout: time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
