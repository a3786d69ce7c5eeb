package web

import (
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/stopscope/stopscope/analytics"
)

// Content types the ingest routes take. Each needs a CORS preflight from
// a browser, which stopscope never grants, so a web page of another site
// cannot send one; the types a page can send without asking
// (text/plain, forms) are refused.
var (
	nativeTypes = []string{"application/json", "application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines", "text/event-stream"}
	otlpTypes   = []string{"application/x-protobuf", "application/json"}
)

// nativeHint is what a refused POST /v1/responses is told to
// send.
const nativeHint = "send -H 'Content-Type: application/json' (NDJSON: application/x-ndjson; a stream transcript: text/event-stream)"

// hostSet is the set of Host header values the server answers to.
type hostSet struct {
	any      bool
	names    map[string]bool
	suffixes []string
}

func newHostSet(allowed []string) hostSet {
	h := hostSet{names: map[string]bool{}}
	for _, a := range allowed {
		a = strings.TrimSpace(a)
		switch {
		case a == "":
		case a == "*":
			h.any = true
		case strings.HasPrefix(a, "*."):
			h.suffixes = append(h.suffixes, strings.ToLower(strings.TrimSuffix(a[1:], ".")))
		default:
			if n := hostName(a); n != "" {
				h.names[n] = true
			}
		}
	}
	return h
}

// configured reports whether name (a bare host name) is one the operator
// listed, as opposed to one every server accepts.
func (h hostSet) configured(name string) bool {
	if h.names[name] {
		return true
	}
	for _, s := range h.suffixes {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

// allows reports whether a request naming host (host[:port]) may be
// answered: an IP address (a DNS-rebinding page cannot make a browser
// send one, as its origin is a name), localhost and its subdomains (which
// resolve to this machine only), or a configured name. A request with no
// Host at all, which no browser sends, is answered too.
func (h hostSet) allows(host string) bool {
	name := hostName(host)
	if name == "" || h.any {
		return true
	}
	if _, err := netip.ParseAddr(name); err == nil {
		return true
	}
	if name == "localhost" || strings.HasSuffix(name, ".localhost") {
		return true
	}
	return h.configured(name)
}

// hostName is the lower-case host of a host[:port], without the brackets
// of an IPv6 address or a trailing dot.
func hostName(hostport string) string {
	h := strings.ToLower(strings.TrimSpace(hostport))
	if hh, _, err := net.SplitHostPort(h); err == nil {
		h = hh
	}
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	return strings.TrimSuffix(h, ".")
}

// guard refuses requests that are not meant for this server or that a web
// page of another site made. A Host that is not allowed is answered 421
// (DNS rebinding: a page of evil.example whose name now resolves to
// 127.0.0.1). A state-changing request to an ingest route (/v1/…) must
// not come from another site (Sec-Fetch-Site, Origin: 403) and must carry
// one of the route's content types (415 otherwise), so that no page can
// write records with a simple cross-site POST. The dashboard's own writes
// are checked by Auth's CSRF check.
func (s *Server) guard(next echo.HandlerFunc) echo.HandlerFunc {
	hosts := newHostSet(s.AllowedHosts)
	return func(c echo.Context) error {
		r := c.Request()
		if !hosts.allows(r.Host) {
			name := hostName(r.Host)
			if len(name) > 100 {
				name = name[:100] + "…"
			}
			return echo.NewHTTPError(http.StatusMisdirectedRequest,
				fmt.Sprintf("this server does not answer to the host name %q: add it with --allowed-hosts", name))
		}
		if strings.HasPrefix(r.URL.Path, "/v1/") && unsafeMethod(r.Method) {
			if err := CheckIngestRequest(r, s.AllowedHosts); err != nil {
				return err
			}
		}
		return next(c)
	}
}

// CheckIngestRequest refuses an ingest request (POST /v1/responses,
// /v1/traces, /v1/logs, /v1/metrics) that a web page of another site could have made:
// one that a browser marks as cross-site or same-site (Sec-Fetch-Site) or
// whose Origin is not this server's (EForbidden, 403), and one whose
// Content-Type is missing or is not one the route takes, text/plain and
// form types included (an echo.HTTPError of 415 naming what to send).
// allowed are the configured host names (Server.AllowedHosts): an Origin
// naming one of them passes, for instances behind a proxy that rewrites
// Host. Server applies it to every /v1/ route; it is exported for
// transports mounted elsewhere.
func CheckIngestRequest(r *http.Request, allowed []string) error {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return analytics.Errorf(analytics.EForbidden, "refused a request a web page of another site made (Sec-Fetch-Site: %s): ingest takes requests from programs", site)
	}
	if o := r.Header.Get("Origin"); o != "" && !sameOrigin(o, r.Host, newHostSet(allowed)) {
		return analytics.Errorf(analytics.EForbidden, "refused a request a web page of another origin made (Origin: %s): ingest takes requests from programs", o)
	}
	types, hint := nativeTypes, nativeHint
	if p := r.URL.Path; p == "/v1/traces" || p == "/v1/logs" || p == "/v1/metrics" {
		types, hint = otlpTypes, "OTLP/HTTP takes application/x-protobuf or application/json"
	}
	ct := r.Header.Get(echo.HeaderContentType)
	if ct == "" {
		return echo.NewHTTPError(http.StatusUnsupportedMediaType, "the request has no Content-Type: "+hint)
	}
	mt, _, err := mime.ParseMediaType(ct)
	for _, t := range types {
		if err == nil && mt == t {
			return nil
		}
	}
	msg := fmt.Sprintf("unsupported content type %q: %s", ct, hint)
	if err == nil && mt == "application/x-www-form-urlencoded" {
		msg = fmt.Sprintf("unsupported content type %q, which curl -d sends unless told otherwise: %s", ct, hint)
	}
	return echo.NewHTTPError(http.StatusUnsupportedMediaType, msg)
}

// sameOrigin reports whether an Origin header names the host the request
// was sent to, or a configured host name.
func sameOrigin(origin, host string, hosts hostSet) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false // "null" included: sandboxed frames, opaque origins
	}
	if strings.EqualFold(u.Host, host) {
		return true
	}
	return hosts.configured(hostName(u.Host))
}
