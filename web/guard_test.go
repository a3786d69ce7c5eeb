package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// TestHostGuard: a request naming a host that is not an IP address,
// localhost or a configured name is answered 421, on every route; a
// DNS-rebinding page (evil.example resolving to 127.0.0.1) reads and
// writes nothing.
func TestHostGuard(t *testing.T) {
	env := newAuthEnv(t, false, nil, func(s *Server) {
		s.AllowedHosts = []string{"stopscope.internal", "*.corp.example", "Dash.Example.com."}
	})
	port := env.ts.Listener.Addr().String()
	port = port[strings.LastIndex(port, ":"):]
	tests := []struct {
		host   string
		status int
	}{
		{"127.0.0.1" + port, 200},
		{"localhost" + port, 200},
		{"LOCALHOST" + port, 200},
		{"localhost." + port, 200},
		{"app.localhost" + port, 200},
		{"[::1]" + port, 200},
		{"10.1.2.3" + port, 200},
		{"stopscope.internal" + port, 200},
		{"stopscope.internal", 200},
		{"a.corp.example", 200},
		{"dash.example.com", 200},
		{"evil.example" + port, 421},
		{"evil.example", 421},
		{"localhost.evil.example" + port, 421},
		{"corp.example", 421},
		{"stopscope.internal.evil.example", 421},
		{"2130706433" + port, 421},
	}
	for _, tc := range tests {
		for _, r := range []req{
			{path: "/api/v1/summary"},
			{path: "/healthz"},
			{path: "/", header: map[string]string{"Accept": "text/html"}},
			{method: "POST", path: "/v1/responses", body: fmt.Sprintf(okRecord, "a", "host"), header: map[string]string{"Content-Type": "application/json"}},
			{method: "POST", path: "/api/v1/alert-rules", body: "{}", header: map[string]string{"Content-Type": "application/json"}},
		} {
			if r.header == nil {
				r.header = map[string]string{}
			}
			r.header["Host"] = tc.host
			resp, body := env.do(t, r)
			got := resp.StatusCode
			if tc.status == 200 && got == 421 || tc.status == 421 && got != 421 {
				t.Errorf("Host %s, %s %s: %d %s, want %d", tc.host, r.method, r.path, got, body, tc.status)
			}
			if got == 421 && !strings.Contains(body, "--allowed-hosts") {
				t.Errorf("Host %s: the 421 does not say what to do: %s", tc.host, body)
			}
		}
	}
	// "*" answers any name.
	open := newAuthEnv(t, false, nil, func(s *Server) { s.AllowedHosts = []string{"*"} })
	if resp, _ := open.do(t, req{path: "/api/v1/summary", header: map[string]string{"Host": "anything.example"}}); resp.StatusCode != 200 {
		t.Errorf(`AllowedHosts "*": %d, want 200`, resp.StatusCode)
	}
}

// TestIngestCrossSite: the ingest routes take only their content types,
// and refuse what a web page of another site sends.
func TestIngestCrossSite(t *testing.T) {
	otlp := func(c echo.Context) error { return c.NoContent(http.StatusOK) } // the guard is what is tested
	env := newAuthEnv(t, false, nil, func(s *Server) { s.PostTraces, s.PostLogs, s.PostMetrics = otlp, otlp, otlp })
	self, _ := url.Parse(env.ts.URL)
	n := 0
	tests := []struct {
		name, path string
		header     map[string]string
		status     int
		says       string
	}{
		{"json", "/v1/responses", map[string]string{"Content-Type": "application/json"}, 200, ""},
		{"json with charset", "/v1/responses", map[string]string{"Content-Type": "application/json; charset=utf-8"}, 200, ""},
		{"ndjson", "/v1/responses", map[string]string{"Content-Type": "application/x-ndjson"}, 200, ""},
		{"no content type", "/v1/responses", nil, 415, "-H 'Content-Type: application/json'"},
		{"text/plain", "/v1/responses", map[string]string{"Content-Type": "text/plain"}, 415, "-H 'Content-Type: application/json'"},
		{"text/plain with charset", "/v1/responses", map[string]string{"Content-Type": "text/plain;charset=UTF-8"}, 415, "-H 'Content-Type: application/json'"},
		{"curl -d", "/v1/responses", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 415, "curl -d"},
		{"multipart form", "/v1/responses", map[string]string{"Content-Type": "multipart/form-data; boundary=x"}, 415, "-H 'Content-Type: application/json'"},
		{"garbage content type", "/v1/responses", map[string]string{"Content-Type": ";;"}, 415, ""},
		{"cross-site", "/v1/responses", map[string]string{"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"}, 403, "another site"},
		{"same-site, another port", "/v1/responses", map[string]string{"Content-Type": "application/json", "Sec-Fetch-Site": "same-site"}, 403, "another site"},
		{"same-origin", "/v1/responses", map[string]string{"Content-Type": "application/json", "Sec-Fetch-Site": "same-origin"}, 200, ""},
		{"user typed it", "/v1/responses", map[string]string{"Content-Type": "application/json", "Sec-Fetch-Site": "none"}, 200, ""},
		{"another origin", "/v1/responses", map[string]string{"Content-Type": "application/json", "Origin": "http://evil.example"}, 403, "another origin"},
		{"another port of this host", "/v1/responses", map[string]string{"Content-Type": "application/json", "Origin": "http://" + self.Hostname() + ":1"}, 403, "another origin"},
		{"opaque origin", "/v1/responses", map[string]string{"Content-Type": "application/json", "Origin": "null"}, 403, "another origin"},
		{"this origin", "/v1/responses", map[string]string{"Content-Type": "application/json", "Origin": env.ts.URL}, 200, ""},
		{"otlp protobuf", "/v1/traces", map[string]string{"Content-Type": "application/x-protobuf"}, 200, ""},
		{"otlp json", "/v1/logs", map[string]string{"Content-Type": "application/json"}, 200, ""},
		{"otlp text/plain", "/v1/traces", map[string]string{"Content-Type": "text/plain"}, 415, "application/x-protobuf or application/json"},
		{"otlp no content type", "/v1/logs", nil, 415, "application/x-protobuf or application/json"},
		{"otlp ndjson", "/v1/traces", map[string]string{"Content-Type": "application/x-ndjson"}, 415, "application/x-protobuf"},
		{"otlp cross-site", "/v1/traces", map[string]string{"Content-Type": "application/x-protobuf", "Sec-Fetch-Site": "cross-site"}, 403, "another site"},
		{"metrics protobuf", "/v1/metrics", map[string]string{"Content-Type": "application/x-protobuf"}, 200, ""},
		{"metrics text/plain", "/v1/metrics", map[string]string{"Content-Type": "text/plain"}, 415, "application/x-protobuf or application/json"},
		{"metrics cross-site", "/v1/metrics", map[string]string{"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"}, 403, "another site"},
	}
	for _, tc := range tests {
		n++
		resp, body := env.do(t, req{method: "POST", path: tc.path, body: fmt.Sprintf(okRecord, "a", fmt.Sprint(n)), header: tc.header})
		if resp.StatusCode != tc.status || !strings.Contains(body, tc.says) {
			t.Errorf("%s: %d %s, want %d saying %q", tc.name, resp.StatusCode, body, tc.status, tc.says)
		}
	}
}
