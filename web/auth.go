package web

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/auth"
)

// Cookie names. Over TLS they take the __Host- prefix, which browsers only
// accept from a secure origin, for the whole host: a sibling subdomain
// cannot plant one.
const (
	sessionCookie = "stopscope_session"
	csrfCookie    = "stopscope_csrf"
)

// CSRFFormField and CSRFHeader carry the CSRF token of a state-changing
// request: a hidden form field (CSRFField renders it), or a header for
// scripts (the layout puts it in hx-headers for htmx).
const (
	CSRFFormField = "csrf_token"
	CSRFHeader    = "X-CSRF-Token"
)

// DefaultSessionTTL is how long a login lasts.
const DefaultSessionTTL = 7 * 24 * time.Hour

// Auth guards the server: ingest keys on /v1/* (and /metrics), a login on
// the dashboard and the API, and CSRF checks on every state-changing
// dashboard request. Set the fields, then give it to Server.Auth.
//
// A login is required when RequireLogin is set (stopscope listens beyond
// loopback), when ProxyHeader is set, or as soon as one user exists; until
// then the dashboard is open, as a local set-up wants it.
type Auth struct {
	Store  auth.Store
	Ingest *auth.Ingest
	// RequireLogin makes a login required even while no user exists.
	RequireLogin bool
	// ProxyHeader, when set, names a header (e.g. X-Forwarded-User) that
	// a reverse proxy in TrustedProxies sets to the authenticated user.
	// It is ignored on requests from anywhere else.
	ProxyHeader string
	// TrustedProxies are the addresses whose ProxyHeader,
	// X-Forwarded-For and X-Forwarded-Proto are believed.
	TrustedProxies []netip.Prefix
	// SessionTTL is how long a login lasts; DefaultSessionTTL when zero.
	SessionTTL time.Duration
	// IPLimiter and UserLimiter limit failed logins per client address and
	// per user name; defaults (20 and 5 failures per 15 minutes) when nil.
	// A login counts before its password is checked, so that concurrent
	// attempts cannot get past the limits.
	IPLimiter, UserLimiter *auth.Limiter
	// Passwords checks passwords, a bounded number at once (past it, a
	// login is answered 503 with Retry-After); auth.Verifier's defaults
	// when nil.
	Passwords *auth.Verifier
	// Now is the clock; the Server's when nil.
	Now    func() time.Time
	Logger *slog.Logger
}

func (a *Auth) init(s *Server) {
	if a.Now == nil {
		a.Now = s.Now
	}
	if a.Logger == nil {
		a.Logger = s.Logger
	}
	if a.SessionTTL <= 0 {
		a.SessionTTL = DefaultSessionTTL
	}
	if a.IPLimiter == nil {
		a.IPLimiter = &auth.Limiter{Max: 20, Window: 15 * time.Minute, Now: a.Now}
	}
	if a.UserLimiter == nil {
		a.UserLimiter = &auth.Limiter{Max: 5, Window: 15 * time.Minute, Now: a.Now}
	}
	if a.Passwords == nil {
		a.Passwords = &auth.Verifier{}
	}
	if a.Ingest == nil {
		a.Ingest = &auth.Ingest{Store: a.Store}
	}
}

type ctxKey int

const (
	userKey ctxKey = iota
	csrfKey
)

// CurrentUser returns the name of the user a dashboard request was
// authenticated as, or "" when the dashboard is open.
func CurrentUser(ctx context.Context) string {
	u, _ := ctx.Value(userKey).(string)
	return u
}

// CSRFToken returns the CSRF token of a dashboard request, for forms and
// scripts to send back; "" when the server has no Auth.
func CSRFToken(ctx context.Context) string {
	t, _ := ctx.Value(csrfKey).(string)
	return t
}

// route classes of the middleware.
type class int

const (
	classPublic class = iota
	classIngest
	classMetrics
	classDashboard
)

func classify(path string) class {
	switch {
	case path == "/healthz" || path == "/readyz" || path == "/login" || path == "/favicon.ico" ||
		strings.HasPrefix(path, "/static/"):
		return classPublic
	case strings.HasPrefix(path, "/v1/"):
		return classIngest
	case path == "/metrics":
		return classMetrics
	}
	// Everything else, routes added later included, needs a login.
	return classDashboard
}

func unsafeMethod(m string) bool {
	return m != http.MethodGet && m != http.MethodHead && m != http.MethodOptions
}

// middleware authenticates every request by its route's class.
func (a *Auth) middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		cl := classify(r.URL.Path)
		if cl == classIngest {
			ctx, err := a.Ingest.Authenticate(r.Context(), auth.KeyFromHeaders(r.Header.Get("Authorization"), r.Header.Get("X-Api-Key")))
			if err != nil {
				if analytics.ErrorCode(err) == analytics.EUnauthorized {
					c.Response().Header().Set("WWW-Authenticate", `Bearer realm="stopscope"`)
				}
				return err
			}
			c.SetRequest(r.WithContext(ctx))
			return next(c)
		}

		if cl == classMetrics {
			return a.metrics(c, next)
		}
		if cl == classPublic && r.URL.Path != "/login" {
			return next(c)
		}
		// The dashboard and the login form: a CSRF token for every
		// browser, checked on every state-changing request.
		token := a.csrfToken(c)
		ctx := context.WithValue(r.Context(), csrfKey, token)
		if unsafeMethod(r.Method) {
			if err := a.checkCSRF(c, token); err != nil {
				return err
			}
		}
		if cl == classPublic {
			c.SetRequest(r.WithContext(ctx))
			return next(c)
		}
		user, err := a.user(c)
		if err != nil {
			return err
		}
		if user == "" {
			required, err := a.loginRequired(ctx)
			if err != nil {
				return err
			}
			if required {
				return a.unauthorized(c)
			}
		}
		c.SetRequest(r.WithContext(context.WithValue(ctx, userKey, user)))
		return next(c)
	}
}

// metrics guards GET /metrics, whose label values name every app: it
// takes a logged-in user, or an ingest key bound to no app (an app-bound
// key is refused with 403); with neither, it is open only while neither
// keys nor a login are required.
func (a *Auth) metrics(c echo.Context, next echo.HandlerFunc) error {
	r := c.Request()
	key := auth.KeyFromHeaders(r.Header.Get("Authorization"), r.Header.Get("X-Api-Key"))
	if key == "" {
		user, err := a.user(c)
		if err != nil {
			return err
		}
		if user != "" {
			return next(c)
		}
	}
	ctx, err := a.Ingest.Authenticate(r.Context(), key)
	if err != nil {
		if analytics.ErrorCode(err) == analytics.EUnauthorized {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="stopscope"`)
		}
		return err
	}
	if app, ok := analytics.BoundApp(ctx); ok {
		return analytics.Errorf(analytics.EForbidden, "/metrics shows the label values of every app, and this ingest key is bound to app %q: scrape with a key made with dashboard keys create --any-app, or log in", app)
	}
	if key == "" {
		required, err := a.loginRequired(ctx)
		if err != nil {
			return err
		}
		if required {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="stopscope"`)
			return analytics.Errorf(analytics.EUnauthorized, "/metrics needs an ingest key made with dashboard keys create --any-app (\"Authorization: Bearer sk_ss_…\"), or a login")
		}
	}
	return next(c)
}

// loginRequired tells whether the dashboard needs a login now.
func (a *Auth) loginRequired(ctx context.Context) (bool, error) {
	if a.RequireLogin || a.ProxyHeader != "" {
		return true, nil
	}
	n, err := a.Store.CountUsers(ctx)
	return n > 0, err
}

// user returns who the request is from: the trusted proxy's header, else
// the session cookie's user, else "".
func (a *Auth) user(c echo.Context) (string, error) {
	r := c.Request()
	if a.ProxyHeader != "" {
		if u := strings.TrimSpace(r.Header.Get(a.ProxyHeader)); u != "" {
			if a.trusted(peerIP(r)) {
				return u, nil
			}
			a.Logger.Warn("ignored the proxy user header of an untrusted peer", "header", a.ProxyHeader, "peer", r.RemoteAddr)
		}
	}
	ck, err := r.Cookie(a.cookieName(r, sessionCookie))
	if err != nil || ck.Value == "" {
		return "", nil
	}
	se, err := a.Store.SessionByHash(r.Context(), auth.HashSecret(ck.Value), a.Now())
	if analytics.ErrorCode(err) == analytics.ENotFound {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return se.UserName, nil
}

// unauthorized sends browsers asking for a page to the login page, and
// answers everyone else 401.
func (a *Auth) unauthorized(c echo.Context) error {
	r := c.Request()
	if r.Method == http.MethodGet && !wantsJSON(r) {
		return c.Redirect(http.StatusSeeOther, "/login?next="+url.QueryEscape(r.URL.RequestURI()))
	}
	return analytics.Errorf(analytics.EUnauthorized, "log in first: open /login in a browser")
}

// csrfToken returns the request's CSRF cookie, setting a new one when it
// has none.
func (a *Auth) csrfToken(c echo.Context) string {
	r := c.Request()
	if ck, err := r.Cookie(a.cookieName(r, csrfCookie)); err == nil && len(ck.Value) >= 32 {
		return ck.Value
	}
	token, _, err := auth.NewToken()
	if err != nil {
		return ""
	}
	a.setCookie(c, csrfCookie, token, 0, http.SameSiteStrictMode)
	return token
}

// checkCSRF refuses a state-changing request from another site. One whose
// Sec-Fetch-Site or Origin names another site is refused outright. Then
// it must carry the CSRF token (form field or header) matching its
// cookie (double submit); without one, only a request the browser itself
// marks same-origin (Sec-Fetch-Site, which pages cannot set) or one with
// a JSON content type (which forms cannot send, and a cross-origin script
// could send only after a CORS preflight this server never grants) passes.
func (a *Auth) checkCSRF(c echo.Context, token string) error {
	r := c.Request()
	crossSite := analytics.Errorf(analytics.EForbidden, "the request failed its CSRF check: it comes from a page of another site")
	bad := analytics.Errorf(analytics.EForbidden, "the request failed its CSRF check: reload the page and try again")
	if strings.HasPrefix(r.URL.Path, "/api/") {
		bad = analytics.Errorf(analytics.EForbidden, "the request failed its CSRF check: send -H 'Content-Type: application/json' (or the %s header of the page)", CSRFHeader)
	}
	site := r.Header.Get("Sec-Fetch-Site")
	if site != "" && site != "same-origin" && site != "none" {
		return crossSite
	}
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || !a.sameHost(r, u.Host) {
			return crossSite
		}
	}
	sent := r.Header.Get(CSRFHeader)
	if sent == "" && isForm(r) {
		sent = c.FormValue(CSRFFormField)
	}
	switch {
	case sent != "":
		if token == "" || subtle.ConstantTimeCompare([]byte(sent), []byte(token)) != 1 {
			return bad
		}
	case site == "same-origin", isJSON(r):
	default:
		return bad
	}
	return nil
}

// sameHost reports whether host is the one the request was sent to, as
// the client saw it: a trusted proxy may have rewritten Host and said so
// in X-Forwarded-Host.
func (a *Auth) sameHost(r *http.Request, host string) bool {
	if strings.EqualFold(host, r.Host) {
		return true
	}
	fh := r.Header.Get("X-Forwarded-Host")
	return fh != "" && strings.EqualFold(host, strings.TrimSpace(strings.Split(fh, ",")[0])) && a.trusted(peerIP(r))
}

func isForm(r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	return strings.HasPrefix(ct, "application/x-www-form-urlencoded") || strings.HasPrefix(ct, "multipart/form-data")
}

func isJSON(r *http.Request) bool {
	ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
	return strings.EqualFold(strings.TrimSpace(ct), "application/json")
}

// secure reports whether the request reached us over TLS, directly or
// through a trusted proxy that says so.
func (a *Auth) secure(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	return strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") && a.trusted(peerIP(r))
}

func (a *Auth) cookieName(r *http.Request, base string) string {
	if a.secure(r) {
		return "__Host-" + base
	}
	return base
}

// setCookie sets an HttpOnly cookie for the whole host; maxAge < 0 deletes
// it, 0 makes it last for the browser session.
func (a *Auth) setCookie(c echo.Context, base, value string, maxAge int, same http.SameSite) {
	r := c.Request()
	c.SetCookie(&http.Cookie{
		Name: a.cookieName(r, base), Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: a.secure(r), SameSite: same,
	})
}

// trusted reports whether ip is one of the trusted proxies.
func (a *Auth) trusted(ip netip.Addr) bool {
	if !ip.IsValid() {
		return false
	}
	for _, p := range a.TrustedProxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func peerIP(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// clientIP is the peer's address, or, when the peer is a trusted proxy,
// the nearest untrusted address of X-Forwarded-For.
func (a *Auth) clientIP(r *http.Request) string {
	ip := peerIP(r)
	if !a.trusted(ip) {
		return ip.String()
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		h, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		if h = h.Unmap(); !a.trusted(h) {
			return h.String()
		}
	}
	return ip.String()
}

// safeNext returns a local path to go to after logging in: never another
// site. next must be an absolute path of this site (no scheme, no host),
// with no control character, space or backslash anywhere (browsers drop
// tabs and newlines and read a backslash as a slash, which turns
// "/\t/evil.example/" into "//evil.example/"); the path is then cleaned, so
// that what is sent back cannot start with "//". Anything else is "/".
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || !strings.HasPrefix(u.Path, "/") ||
		strings.ContainsFunc(next, unsafeInURL) || strings.ContainsFunc(u.Path, unsafeInURL) {
		return "/"
	}
	clean := path.Clean(u.Path)
	if strings.HasSuffix(u.Path, "/") && clean != "/" {
		clean += "/"
	}
	out := (&url.URL{Path: clean, RawQuery: u.RawQuery}).String()
	if !strings.HasPrefix(out, "/") || strings.HasPrefix(out, "//") {
		return "/"
	}
	return out
}

// unsafeInURL reports whether a character may be dropped or reread by a
// browser parsing a URL: controls, spaces, backslashes, and the invisible
// characters some strip.
func unsafeInURL(r rune) bool {
	return r <= ' ' || r == 0x7f || r == '\\' || (r >= 0x80 && r <= 0x9f) || r == 0x2028 || r == 0x2029 || r == 0xfeff
}

// pageLogin shows the login form.
func (a *Auth) pageLogin(c echo.Context) error {
	next := safeNext(c.QueryParam("next"))
	if u, _ := a.user(c); u != "" {
		return c.Redirect(http.StatusSeeOther, next)
	}
	return render(c, http.StatusOK, loginPage(next, ""))
}

// postLogin checks a user name and password, rate limited per client and
// per user, and starts a session.
func (a *Auth) postLogin(c echo.Context) error {
	r := c.Request()
	name := strings.TrimSpace(c.FormValue("username"))
	password := c.FormValue("password")
	next := safeNext(c.FormValue("next"))
	ip := a.clientIP(r)
	// Count the attempt before checking it: of a synchronised burst, only
	// as many as the limits allow are checked at all.
	okIP, wait := a.IPLimiter.Take(ip)
	okUser := false
	if okIP {
		if okUser, wait = a.UserLimiter.Take(name); !okUser {
			a.IPLimiter.Refund(ip)
		}
	}
	if !okIP || !okUser {
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		a.Logger.Warn("login rate limited", "user", name, "ip", ip)
		return render(c, http.StatusTooManyRequests, loginPage(next, "Too many failed logins. Try again in "+wait.Round(time.Second).String()+"."))
	}
	// Attempts that are not checked (the store or the verifier is busy)
	// are given back.
	refund := func() {
		a.IPLimiter.Refund(ip)
		a.UserLimiter.Refund(name)
	}
	u, err := a.Store.UserByName(r.Context(), name)
	if err != nil && analytics.ErrorCode(err) != analytics.ENotFound {
		refund()
		return err
	}
	ok := false
	if err == nil {
		ok, err = a.Passwords.Verify(r.Context(), u.PasswordHash, password)
	} else {
		// The same work for an unknown user, so that timing does not tell
		// which names exist.
		_, err = a.Passwords.Verify(r.Context(), dummyHash(), password)
	}
	if analytics.ErrorCode(err) == analytics.EUnavailable {
		refund()
		c.Response().Header().Set("Retry-After", "1")
		a.Logger.Warn("login refused: too many password checks at once", "user", name, "ip", ip)
		return render(c, http.StatusServiceUnavailable, loginPage(next, "Too many logins at once. Try again in a second."))
	}
	if err != nil {
		a.Logger.Error("a stored password hash is unreadable", "user", name, "err", err)
	}
	if !ok {
		a.Logger.Warn("login failed", "user", name, "ip", ip)
		return render(c, http.StatusUnauthorized, loginPage(next, "Wrong user name or password."))
	}
	a.IPLimiter.Refund(ip)
	a.UserLimiter.Reset(name)
	now := a.Now()
	token, hash, err := auth.NewToken()
	if err != nil {
		return err
	}
	if _, err := a.Store.DeleteExpiredSessions(r.Context(), now); err != nil {
		a.Logger.Warn("deleting expired sessions failed", "err", err)
	}
	if err := a.Store.CreateSession(r.Context(), auth.Session{Hash: hash, UserID: u.ID, Created: now, Expires: now.Add(a.SessionTTL)}); err != nil {
		return err
	}
	a.setCookie(c, sessionCookie, token, int(a.SessionTTL.Seconds()), http.SameSiteLaxMode)
	// A new CSRF token with the new session: one planted before the login
	// is worth nothing after it.
	if csrf, _, err := auth.NewToken(); err == nil {
		a.setCookie(c, csrfCookie, csrf, 0, http.SameSiteStrictMode)
	}
	a.Logger.Info("login", "user", name, "ip", ip)
	return c.Redirect(http.StatusSeeOther, next)
}

// postLogout ends the session.
func (a *Auth) postLogout(c echo.Context) error {
	r := c.Request()
	if ck, err := r.Cookie(a.cookieName(r, sessionCookie)); err == nil && ck.Value != "" {
		if err := a.Store.DeleteSession(r.Context(), auth.HashSecret(ck.Value)); err != nil {
			return err
		}
	}
	a.setCookie(c, sessionCookie, "", -1, http.SameSiteLaxMode)
	return c.Redirect(http.StatusSeeOther, "/login")
}

// dummyHash is checked against when the user does not exist; made on
// first use, as hashing costs.
var dummyHash = sync.OnceValue(func() string {
	h, _ := auth.HashPassword("stopscope dummy password")
	return h
})

// csrfHeaders is the hx-headers value that makes htmx send the CSRF token
// with every request.
func csrfHeaders(token string) string {
	b, _ := json.Marshal(map[string]string{CSRFHeader: token})
	return string(b)
}
