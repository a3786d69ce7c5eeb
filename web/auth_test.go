package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stopscope/stopscope/auth"
	"github.com/stopscope/stopscope/ingest"
	"github.com/stopscope/stopscope/ingest/receiver"
	"github.com/stopscope/stopscope/store"
	"github.com/stopscope/stopscope/store/sqlite"
	"github.com/stopscope/stopscope/store/sqlstore"
)

// authEnv is a server with Auth over a fresh SQLite store, the real
// ingest handler behind it, and a settable clock.
type authEnv struct {
	ts    *httptest.Server
	st    *sqlstore.Store
	auth  *Auth
	clock time.Time
}

func newAuthEnv(t *testing.T, tlsServer bool, configure func(*Auth), server ...func(*Server)) *authEnv {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "stopscope.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	env := &authEnv{st: st, clock: now}
	clock := func() time.Time { return env.clock }
	env.auth = &Auth{Store: st, Ingest: &auth.Ingest{Store: st}}
	if configure != nil {
		configure(env.auth)
	}
	ing := &receiver.Handler{Sink: auth.BindApps(st, ingest.DefaultApp), Now: clock}
	metrics := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "stopscope_records_total 1\n") })
	s := &Server{Store: st, Now: clock, PostResponses: ing.PostResponses, Auth: env.auth, Metrics: metrics}
	for _, f := range server {
		f(s)
	}
	if tlsServer {
		env.ts = httptest.NewTLSServer(s.Handler())
	} else {
		env.ts = httptest.NewServer(s.Handler())
	}
	t.Cleanup(env.ts.Close)
	return env
}

type req struct {
	method, path, body string
	header             map[string]string
	cookies            []*http.Cookie
}

// do sends r without following redirects and returns the answer with its
// body read.
func (env *authEnv) do(t *testing.T, r req) (*http.Response, string) {
	t.Helper()
	if r.method == "" {
		r.method = http.MethodGet
	}
	hr, err := http.NewRequest(r.method, env.ts.URL+r.path, strings.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range r.header {
		if k == "Host" {
			hr.Host = v
			continue
		}
		hr.Header.Set(k, v)
	}
	for _, c := range r.cookies {
		hr.AddCookie(c)
	}
	// A copy, so that concurrent calls do not share the field set here.
	client := *env.ts.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func cookieNamed(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// cheapHash makes test passwords fast to check; the format is the same.
func cheapHash(t *testing.T, pw string) string {
	t.Helper()
	h, err := auth.Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}.Hash(pw)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func (env *authEnv) addUser(t *testing.T, name, pw string) {
	t.Helper()
	if _, err := env.st.CreateUser(context.Background(), auth.User{Name: name, PasswordHash: cheapHash(t, pw), Created: now}); err != nil {
		t.Fatal(err)
	}
}

// addKey adds an ingest key bound to app ("" for any app).
func (env *authEnv) addKey(t *testing.T, app string) (string, int64) {
	t.Helper()
	key, hash, prefix, err := auth.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	k, err := env.st.CreateAPIKey(context.Background(), auth.APIKey{Name: app, App: app, Prefix: prefix, Hash: hash, Created: now})
	if err != nil {
		t.Fatal(err)
	}
	return key, k.ID
}

var csrfInput = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// loginForm opens the login page and returns its CSRF cookie and token.
func (env *authEnv) loginForm(t *testing.T) (*http.Cookie, string) {
	t.Helper()
	resp, body := env.do(t, req{path: "/login"})
	ck := cookieNamed(resp, csrfCookie)
	m := csrfInput.FindStringSubmatch(body)
	if resp.StatusCode != 200 || ck == nil || m == nil || m[1] != ck.Value {
		t.Fatalf("login page: %d, cookie %v, token %v", resp.StatusCode, ck, m)
	}
	return ck, m[1]
}

func (env *authEnv) postLogin(t *testing.T, csrf *http.Cookie, token, user, pw string) *http.Response {
	t.Helper()
	form := url.Values{"csrf_token": {token}, "username": {user}, "password": {pw}, "next": {"/responses?app=a"}}
	resp, _ := env.do(t, req{method: "POST", path: "/login", body: form.Encode(),
		header:  map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
		cookies: []*http.Cookie{csrf}})
	return resp
}

// login logs in and returns the session and CSRF cookies and the token.
func (env *authEnv) login(t *testing.T, user, pw string) (session, csrf *http.Cookie) {
	t.Helper()
	csrf, token := env.loginForm(t)
	resp := env.postLogin(t, csrf, token, user, pw)
	session = cookieNamed(resp, sessionCookie)
	if resp.StatusCode != http.StatusSeeOther || session == nil {
		t.Fatalf("login: %d, session cookie %v", resp.StatusCode, session)
	}
	return session, cookieNamed(resp, csrfCookie)
}

const okRecord = `{"app":"%s","response":{"id":"msg_%s","type":"message","role":"assistant","model":"claude-sonnet-4-6","content":[{"type":"text","text":"hi"}],"stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":1}}}`

func TestIngestKeys(t *testing.T) {
	env := newAuthEnv(t, false, nil)
	post := func(app, id string, header map[string]string) (*http.Response, string) {
		h := map[string]string{"Content-Type": "application/json"}
		for k, v := range header {
			h[k] = v
		}
		return env.do(t, req{method: "POST", path: "/v1/responses", body: fmt.Sprintf(okRecord, app, id), header: h})
	}
	// No key exists yet: open, as on a laptop.
	if resp, body := post("a", "open", nil); resp.StatusCode != 200 {
		t.Fatalf("no keys: %d %s", resp.StatusCode, body)
	}
	key, id := env.addKey(t, "checkout")
	tests := []struct {
		name, app, id string
		header        map[string]string
		status        int
	}{
		{"no key", "checkout", "1", nil, 401},
		{"bearer", "checkout", "2", map[string]string{"Authorization": "Bearer " + key}, 200},
		{"x-api-key", "checkout", "3", map[string]string{"X-Api-Key": key}, 200},
		{"no app gets the key's", "", "4", map[string]string{"X-Api-Key": key}, 200},
		{"another app", "billing", "5", map[string]string{"Authorization": "Bearer " + key}, 403},
		{"wrong key", "checkout", "6", map[string]string{"Authorization": "Bearer sk_ss_wrong"}, 401},
		{"basic auth is no key", "checkout", "7", map[string]string{"Authorization": "Basic eDp5"}, 401},
	}
	for _, tc := range tests {
		resp, body := post(tc.app, tc.id, tc.header)
		if resp.StatusCode != tc.status {
			t.Errorf("%s: %d %s, want %d", tc.name, resp.StatusCode, body, tc.status)
		}
		if tc.status == 401 && resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without WWW-Authenticate", tc.name)
		}
		if tc.status == 403 && !strings.Contains(body, `bound to app \"checkout\"`) {
			t.Errorf("%s: the error does not say why: %s", tc.name, body)
		}
	}
	recs, _, err := env.st.List(context.Background(), store.Filter{}, 100, "")
	if err != nil {
		t.Fatal(err)
	}
	apps := map[string]string{}
	for _, r := range recs {
		apps[r.MessageID] = r.App
	}
	want := map[string]string{"msg_open": "a", "msg_2": "checkout", "msg_3": "checkout", "msg_4": "checkout"}
	if fmt.Sprint(apps) != fmt.Sprint(want) {
		t.Errorf("stored apps %v, want %v", apps, want)
	}

	if err := env.st.RevokeAPIKey(context.Background(), id, now); err != nil {
		t.Fatal(err)
	}
	if resp, _ := post("checkout", "8", map[string]string{"X-Api-Key": key}); resp.StatusCode != 401 {
		t.Errorf("revoked key: %d, want 401 at once", resp.StatusCode)
	}
}

func TestLogin(t *testing.T) {
	env := newAuthEnv(t, false, nil)
	// No user yet: the dashboard is open.
	if resp, _ := env.do(t, req{path: "/api/v1/summary"}); resp.StatusCode != 200 {
		t.Fatalf("no users: %d", resp.StatusCode)
	}
	env.addUser(t, "ann", "correct horse")

	resp, body := env.do(t, req{path: "/api/v1/summary"})
	if resp.StatusCode != 401 || !strings.Contains(body, "log in") {
		t.Errorf("API without a session: %d %s", resp.StatusCode, body)
	}
	resp, _ = env.do(t, req{path: "/responses?app=a", header: map[string]string{"Accept": "text/html"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login?next=%2Fresponses%3Fapp%3Da" {
		t.Errorf("page without a session: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}

	csrf, token := env.loginForm(t)
	if resp := env.postLogin(t, csrf, token, "ann", "wrong"); resp.StatusCode != 401 || cookieNamed(resp, sessionCookie) != nil {
		t.Errorf("wrong password: %d", resp.StatusCode)
	}
	if resp := env.postLogin(t, csrf, token, "bob", "correct horse"); resp.StatusCode != 401 {
		t.Errorf("unknown user: %d", resp.StatusCode)
	}
	resp = env.postLogin(t, csrf, token, "ann", "correct horse")
	session := cookieNamed(resp, sessionCookie)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/responses?app=a" || session == nil {
		t.Fatalf("login: %d to %q, cookie %v", resp.StatusCode, resp.Header.Get("Location"), session)
	}
	if !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Secure || session.Path != "/" || session.MaxAge != int(DefaultSessionTTL.Seconds()) {
		t.Errorf("session cookie attributes: %+v", session)
	}
	var stored int
	if err := env.st.Reader().QueryRow(`SELECT COUNT(*) FROM sessions WHERE hash = ?`, session.Value).Scan(&stored); err != nil || stored != 0 {
		t.Errorf("the raw session token is stored: %d, %v", stored, err)
	}
	if resp, body := env.do(t, req{path: "/api/v1/summary", cookies: []*http.Cookie{session}}); resp.StatusCode != 200 {
		t.Errorf("API with a session: %d %s", resp.StatusCode, body)
	}
	// Pages show who is logged in, a logout form, and give htmx the token.
	resp, body = env.do(t, req{path: "/", cookies: []*http.Cookie{session}, header: map[string]string{"Accept": "text/html"}})
	for _, want := range []string{`action="/logout"`, ">ann<", `hx-headers="{&#34;X-CSRF-Token&#34;:&#34;`} {
		if resp.StatusCode != 200 || !strings.Contains(body, want) {
			t.Errorf("page with a session: %d, no %s", resp.StatusCode, want)
		}
	}

	// The session expires.
	env.clock = now.Add(DefaultSessionTTL + time.Second)
	if resp, _ := env.do(t, req{path: "/api/v1/summary", cookies: []*http.Cookie{session}}); resp.StatusCode != 401 {
		t.Errorf("expired session: %d", resp.StatusCode)
	}
	env.clock = now

	// Logging out ends the session.
	newCSRF := cookieNamed(resp, csrfCookie)
	resp, _ = env.do(t, req{method: "POST", path: "/logout", body: "csrf_token=" + newCSRF.Value,
		header:  map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
		cookies: []*http.Cookie{session, newCSRF}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("logout: %d", resp.StatusCode)
	}
	if resp, _ := env.do(t, req{path: "/api/v1/summary", cookies: []*http.Cookie{session}}); resp.StatusCode != 401 {
		t.Errorf("after logout: %d", resp.StatusCode)
	}
}

func TestLoginRateLimit(t *testing.T) {
	env := newAuthEnv(t, false, nil)
	env.addUser(t, "ann", "correct horse")
	csrf, token := env.loginForm(t)
	for i := range 5 {
		if resp := env.postLogin(t, csrf, token, "ann", "guess"); resp.StatusCode != 401 {
			t.Fatalf("failure %d: %d", i, resp.StatusCode)
		}
	}
	// Blocked now, even with the right password.
	resp := env.postLogin(t, csrf, token, "ann", "correct horse")
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("after 5 failures: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	env.clock = now.Add(15 * time.Minute)
	if resp := env.postLogin(t, csrf, token, "ann", "correct horse"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after the window: %d", resp.StatusCode)
	}

	// Per address: many user names from one client.
	for i := range 20 {
		env.postLogin(t, csrf, token, fmt.Sprintf("u%d", i), "guess")
	}
	if resp := env.postLogin(t, csrf, token, "ann", "correct horse"); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("after 20 failures from one address: %d", resp.StatusCode)
	}
}

func TestCSRF(t *testing.T) {
	env := newAuthEnv(t, false, nil)
	env.addUser(t, "ann", "correct horse")
	session, csrf := env.login(t, "ann", "correct horse")
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	with := func(h map[string]string, kv ...string) map[string]string {
		out := map[string]string{}
		for k, v := range h {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	tests := []struct {
		name   string
		body   string
		header map[string]string
		status int
	}{
		{"form without token", "", form, 403},
		{"form with a wrong token", "csrf_token=forged", form, 403},
		{"form with the token", "csrf_token=" + csrf.Value, form, 303},
		{"header token", "", with(form, CSRFHeader, csrf.Value), 303},
		{"token but another origin", "csrf_token=" + csrf.Value, with(form, "Origin", "https://evil.example"), 403},
		{"token but cross-site", "csrf_token=" + csrf.Value, with(form, "Sec-Fetch-Site", "cross-site"), 403},
		{"browser says same-origin", "", with(form, "Sec-Fetch-Site", "same-origin"), 303},
		{"JSON, which forms cannot send", "{}", map[string]string{"Content-Type": "application/json"}, 303},
		{"text/plain, which forms can", "{}", map[string]string{"Content-Type": "text/plain"}, 403},
	}
	for _, tc := range tests {
		// POST /logout is a state-changing request every session can make;
		// a passing one is answered 303 and does not end the session
		// for the next case, as it is made again below.
		resp, body := env.do(t, req{method: "POST", path: "/logout", body: tc.body, header: tc.header, cookies: []*http.Cookie{session, csrf}})
		if resp.StatusCode != tc.status {
			t.Errorf("%s: %d %s, want %d", tc.name, resp.StatusCode, body, tc.status)
		}
		if resp.StatusCode == 303 {
			session, _ = env.login(t, "ann", "correct horse")
		}
	}
	// A script writing to the API without JSON is told what to send.
	resp, body := env.do(t, req{method: "POST", path: "/api/v1/alert-rules", body: "{}", header: map[string]string{"Content-Type": "text/plain"}, cookies: []*http.Cookie{session}})
	if resp.StatusCode != 403 || !strings.Contains(body, `-H 'Content-Type: application/json'`) {
		t.Errorf("API write as text/plain: %d %s, want 403 naming the content type", resp.StatusCode, body)
	}
	// The login form is checked too.
	if resp, _ := env.do(t, req{method: "POST", path: "/login", body: "username=ann&password=correct+horse", header: form}); resp.StatusCode != 403 {
		t.Errorf("login without a token: %d", resp.StatusCode)
	}
}

func TestSecureCookies(t *testing.T) {
	trustLocal := func(a *Auth) { a.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")} }
	trustOther := func(a *Auth) { a.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")} }
	tests := []struct {
		name      string
		tls       bool
		configure func(*Auth)
		header    map[string]string
		secure    bool
	}{
		{"plain http", false, nil, nil, false},
		{"tls", true, nil, nil, true},
		{"trusted proxy says https", false, trustLocal, map[string]string{"X-Forwarded-Proto": "https"}, true},
		{"untrusted peer says https", false, trustOther, map[string]string{"X-Forwarded-Proto": "https"}, false},
	}
	for _, tc := range tests {
		env := newAuthEnv(t, tc.tls, tc.configure)
		resp, _ := env.do(t, req{path: "/login", header: tc.header})
		name := csrfCookie
		if tc.secure {
			name = "__Host-" + csrfCookie
		}
		ck := cookieNamed(resp, name)
		if ck == nil || ck.Secure != tc.secure || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode {
			t.Errorf("%s: CSRF cookie %+v (all: %v)", tc.name, ck, resp.Cookies())
		}
	}
}

func TestProxyHeader(t *testing.T) {
	tests := []struct {
		name    string
		trusted string
		user    string
		status  int
	}{
		{"trusted proxy", "127.0.0.1/32", "ann", 200},
		{"trusted proxy without the header", "127.0.0.1/32", "", 401},
		{"untrusted peer", "10.0.0.0/8", "ann", 401},
	}
	for _, tc := range tests {
		env := newAuthEnv(t, false, func(a *Auth) {
			a.ProxyHeader = "X-Forwarded-User"
			a.TrustedProxies = []netip.Prefix{netip.MustParsePrefix(tc.trusted)}
		})
		h := map[string]string{}
		if tc.user != "" {
			h["X-Forwarded-User"] = tc.user
		}
		if resp, body := env.do(t, req{path: "/api/v1/summary", header: h}); resp.StatusCode != tc.status {
			t.Errorf("%s: %d %s, want %d", tc.name, resp.StatusCode, body, tc.status)
		}
	}
}

func TestRequireLogin(t *testing.T) {
	env := newAuthEnv(t, false, func(a *Auth) { a.RequireLogin = true; a.Ingest.Always = true })
	if resp, _ := env.do(t, req{path: "/api/v1/summary"}); resp.StatusCode != 401 {
		t.Errorf("API with no users but RequireLogin: %d", resp.StatusCode)
	}
	resp, _ := env.do(t, req{method: "POST", path: "/v1/responses", body: fmt.Sprintf(okRecord, "a", "x"), header: map[string]string{"Content-Type": "application/json"}})
	if resp.StatusCode != 401 {
		t.Errorf("ingest with no keys but Always: %d", resp.StatusCode)
	}
	for _, p := range []string{"/healthz", "/login"} {
		if resp, _ := env.do(t, req{path: p}); resp.StatusCode != 200 {
			t.Errorf("%s: %d, want it public", p, resp.StatusCode)
		}
	}
}

func TestSafeNext(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/responses?app=a", "/responses?app=a"},
		{"/responses/42", "/responses/42"},
		{"/alerts/", "/alerts/"},
		{"/problems?range=24h&app=a%20b", "/problems?range=24h&app=a%20b"},
		{"", "/"},
		{"responses", "/"},
		{"https://evil.example/", "/"},
		{"//evil.example/", "/"},
		{"///evil.example/", "/evil.example/"},
		{"/\\evil.example", "/"},
		{"\\\\evil.example", "/"},
		{"/\t/evil.example/", "/"},
		{"/\n/evil.example/", "/"},
		{"/\r\n/evil.example/", "/"},
		{"/ /evil.example/", "/"},
		{"/\x00/evil.example/", "/"},
		{"/\u00a0/evil.example/", "/%C2%A0/evil.example/"},
		{"/\u2028/evil.example/", "/"},
		{"/\ufeff/evil.example/", "/"},
		{"/%09/evil.example/", "/"},
		{"/%5C/evil.example/", "/"},
		{"/%2F/evil.example/", "/evil.example/"},
		{"/%2f%2fevil.example/", "/evil.example/"},
		{"/./evil.example/", "/evil.example/"},
		{"/../../evil.example", "/evil.example"},
		{"/a/..//evil.example", "/evil.example"},
		{"/.//evil.example", "/evil.example"},
		{"https:/evil.example", "/"},
		{"/@evil.example", "/@evil.example"},
		{"javascript:alert(1)", "/"},
		{"/javascript:alert(1)", "/javascript:alert%281%29"},
		{"/#//evil.example", "/"},
		{"/%zz", "/"},
	}
	for _, tc := range tests {
		got := safeNext(tc.in)
		if got != tc.want {
			t.Errorf("safeNext(%q) = %q, want %q", tc.in, got, tc.want)
		}
		// Whatever comes out, a browser resolves it on this site.
		base, _ := url.Parse("http://127.0.0.1:8080/login")
		cleaned := strings.Map(func(r rune) rune {
			if r == '\t' || r == '\n' || r == '\r' {
				return -1
			}
			if r == '\\' {
				return '/'
			}
			return r
		}, got)
		if u, err := base.Parse(cleaned); err != nil || u.Host != base.Host {
			t.Errorf("safeNext(%q) = %q, which leads to host %v (%v)", tc.in, got, u, err)
		}
	}
}

func TestSecurityHeaders(t *testing.T) {
	env := newAuthEnv(t, false, nil)
	for _, p := range []string{"/", "/api/v1/summary", "/login"} {
		resp, _ := env.do(t, req{path: p, header: map[string]string{"Accept": "text/html"}})
		h := resp.Header
		csp := h.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: CSP %q", p, csp)
		}
		if h.Get("X-Frame-Options") != "DENY" || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: X-Frame-Options %q, X-Content-Type-Options %q", p, h.Get("X-Frame-Options"), h.Get("X-Content-Type-Options"))
		}
	}
}

// Model content is rendered escaped: a response that says <script> shows
// it as text.
func TestModelContentEscaped(t *testing.T) {
	env := newAuthEnv(t, false, nil)
	evil := `<script>alert("x")</script><img src=x onerror=alert(1)>`
	body, _ := json.Marshal(map[string]any{"app": "a", "response": map[string]any{
		"id": "msg_evil", "type": "message", "role": "assistant", "model": "claude-sonnet-4-6",
		"content":     []map[string]any{{"type": "text", "text": evil}},
		"stop_reason": "end_turn", "usage": map[string]any{"input_tokens": 1, "output_tokens": 1},
	}})
	if resp, b := env.do(t, req{method: "POST", path: "/v1/responses", body: string(body), header: map[string]string{"Content-Type": "application/json"}}); resp.StatusCode != 200 {
		t.Fatalf("ingest: %d %s", resp.StatusCode, b)
	}
	recs, _, err := env.st.List(context.Background(), store.Filter{}, 1, "")
	if err != nil || len(recs) != 1 {
		t.Fatalf("list: %v, %d", err, len(recs))
	}
	for _, p := range []string{fmt.Sprintf("/responses/%d", recs[0].ID), "/responses"} {
		resp, page := env.do(t, req{path: p, header: map[string]string{"Accept": "text/html"}})
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", p, resp.StatusCode)
		}
		if strings.Contains(page, "<script>alert") || strings.Contains(page, "<img src=x") {
			t.Errorf("%s renders model content unescaped", p)
		}
	}
	_, page := env.do(t, req{path: fmt.Sprintf("/responses/%d", recs[0].ID), header: map[string]string{"Accept": "text/html"}})
	if !strings.Contains(page, "&lt;script&gt;") {
		t.Errorf("the response page does not show the content escaped")
	}
}

// countingVerifier is a password verifier that counts the checks it runs
// and the most it ran at once, each check taking a while, so that a burst
// overlaps.
type countingVerifier struct {
	calls, running, peak atomic.Int32
}

func (cv *countingVerifier) check(encoded, password string) (bool, error) {
	cv.calls.Add(1)
	n := cv.running.Add(1)
	for p := cv.peak.Load(); n > p && !cv.peak.CompareAndSwap(p, n); p = cv.peak.Load() {
	}
	time.Sleep(20 * time.Millisecond)
	cv.running.Add(-1)
	return false, nil // every password of the burst is wrong
}

// TestLoginBurst: a synchronised burst of 100 logins from one address
// gets no more password checks than the limits allow (5 per user, 20 per
// address), the rest are answered 429, and no more than the verifier's
// bound run at once.
func TestLoginBurst(t *testing.T) {
	tests := []struct {
		name    string
		user    func(i int) string
		checked int32
	}{
		{"one user", func(int) string { return "ann" }, 5},
		{"many users, one address", func(i int) string { return fmt.Sprintf("u%d", i) }, 20},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cv := &countingVerifier{}
			env := newAuthEnv(t, false, func(a *Auth) {
				a.Passwords = &auth.Verifier{Max: 2, Wait: 10 * time.Second, Check: cv.check}
			})
			env.addUser(t, "ann", "correct horse")
			csrf, token := env.loginForm(t)
			var ready, done sync.WaitGroup
			start := make(chan struct{})
			statuses := make([]int, 100)
			for i := range statuses {
				ready.Add(1)
				done.Go(func() {
					ready.Done()
					<-start
					statuses[i] = env.postLogin(t, csrf, token, tc.user(i), "guess").StatusCode
				})
			}
			ready.Wait()
			close(start)
			done.Wait()
			count := map[int]int32{}
			for _, s := range statuses {
				count[s]++
			}
			if got := cv.calls.Load(); got != tc.checked {
				t.Errorf("%d passwords checked, want %d", got, tc.checked)
			}
			if count[401] != tc.checked || count[429] != 100-tc.checked {
				t.Errorf("statuses %v, want %d × 401 and the rest 429", count, tc.checked)
			}
			if p := cv.peak.Load(); p > 2 {
				t.Errorf("%d password checks ran at once, want at most 2", p)
			}
		})
	}
}

// TestLoginBusy: a login that finds every password check slot taken is
// answered 503 with Retry-After, and does not count against the limits.
func TestLoginBusy(t *testing.T) {
	// The first check holds the one slot until block is closed.
	block, entered := make(chan struct{}), make(chan struct{})
	var calls atomic.Int32
	v := &auth.Verifier{Max: 1, Wait: 20 * time.Millisecond, Check: func(encoded, password string) (bool, error) {
		if calls.Add(1) == 1 {
			close(entered)
			<-block
		}
		return auth.CheckPassword(encoded, password)
	}}
	env := newAuthEnv(t, false, func(a *Auth) { a.Passwords = v })
	env.addUser(t, "ann", "correct horse")
	csrf, token := env.loginForm(t)
	held := make(chan struct{})
	go func() {
		defer close(held)
		_, _ = v.Verify(context.Background(), cheapHash(t, "x"), "x")
	}()
	<-entered
	for range 10 {
		resp := env.postLogin(t, csrf, token, "ann", "guess")
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("every slot taken: %d, Retry-After %q; want 503 with it", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	}
	close(block)
	<-held
	if resp := env.postLogin(t, csrf, token, "ann", "correct horse"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after 10 refused logins: %d, want 303 (refusals do not count)", resp.StatusCode)
	}
}

// TestMetricsScope: /metrics names every app in its labels, so it takes
// a login or a key bound to no app; an app-bound key is refused.
func TestMetricsScope(t *testing.T) {
	env := newAuthEnv(t, false, nil)
	get := func(header map[string]string, cookies ...*http.Cookie) int {
		resp, _ := env.do(t, req{path: "/metrics", header: header, cookies: cookies})
		return resp.StatusCode
	}
	if code := get(nil); code != 200 {
		t.Fatalf("no keys, no users: %d, want open", code)
	}
	env.addUser(t, "ann", "correct horse")
	session, _ := env.login(t, "ann", "correct horse")
	bound, _ := env.addKey(t, "checkout")
	anyApp, _ := env.addKey(t, "")
	tests := []struct {
		name    string
		header  map[string]string
		cookies []*http.Cookie
		status  int
	}{
		{"nothing", nil, nil, 401},
		{"a login", nil, []*http.Cookie{session}, 200},
		{"an app-bound key", map[string]string{"Authorization": "Bearer " + bound}, nil, 403},
		{"an app-bound key with a login", map[string]string{"X-Api-Key": bound}, []*http.Cookie{session}, 403},
		{"an any-app key", map[string]string{"Authorization": "Bearer " + anyApp}, nil, 200},
		{"a wrong key", map[string]string{"Authorization": "Bearer sk_ss_wrong"}, nil, 401},
	}
	for _, tc := range tests {
		if code := get(tc.header, tc.cookies...); code != tc.status {
			t.Errorf("%s: %d, want %d", tc.name, code, tc.status)
		}
	}
}
