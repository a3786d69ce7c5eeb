package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stopscope/stopscope/cmd/dashboard/admin"
	"github.com/stopscope/stopscope/cmd/dashboard/config"
)

func noEnv(string) string { return "" }

// startExposed runs serve on every interface (port 0) with the given extra
// flags, and returns the Main, its output and Run's error.
func startExposed(t *testing.T, db string, extra ...string) (*Main, *bytes.Buffer, error) {
	t.Helper()
	var out, logs bytes.Buffer
	m := NewMain(&out, &logs)
	args := append([]string{"--addr", "0.0.0.0:0", "--otlp-grpc-addr=", "--db", db}, extra...)
	if err := m.ParseFlags(args, noEnv); err != nil {
		t.Fatal(err)
	}
	err := m.Run(context.Background())
	if err != nil {
		m.Close()
		return m, &out, err
	}
	t.Cleanup(func() { m.Close() })
	out.WriteString(logs.String())
	return m, &out, nil
}

// localURL is the service's URL over loopback.
func localURL(t *testing.T, m *Main) string {
	_, port, err := net.SplitHostPort(m.httpLn.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	return "http://127.0.0.1:" + port
}

func TestExposedStartRefusesWithoutCredentials(t *testing.T) {
	db := filepath.Join(t.TempDir(), "s.db")
	_, _, err := startExposed(t, db)
	if err == nil {
		t.Fatal("serve on 0.0.0.0 without keys or users started")
	}
	for _, want := range []string{"refusing to listen on 0.0.0.0:0", "dashboard keys create --app NAME", "dashboard users add NAME", "--auth-proxy-header", "--insecure"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal does not say %q:\n%v", want, err)
		}
	}

	// A key alone is not enough: the dashboard needs a login too.
	var out bytes.Buffer
	if err := run(context.Background(), []string{"keys", "create", "--app", "checkout", "--db", db}, noEnv, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	_, _, err = startExposed(t, db)
	if err == nil || strings.Contains(err.Error(), "keys create") || !strings.Contains(err.Error(), "users add") {
		t.Errorf("with a key but no user: %v", err)
	}
	// A trusted proxy header stands in for users.
	if _, _, err := startExposed(t, db, "--auth-proxy-header", "X-Forwarded-User", "--trusted-proxies", "10.0.0.1"); err != nil {
		t.Errorf("with a key and a proxy header: %v", err)
	}
}

func TestExposedInsecureStartsAndWarns(t *testing.T) {
	m, out, err := startExposed(t, filepath.Join(t.TempDir(), "s.db"), "--insecure")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "WARNING: --insecure") || !strings.Contains(out.String(), "INSECURE") {
		t.Errorf("no loud warning:\n%s", out)
	}
	code, body := post(t, localURL(t, m)+"/v1/responses", "application/json", []byte(`{"app":"a","response":{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[],"stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":1}}}`))
	if code != 200 {
		t.Errorf("insecure ingest without a key: %d %s", code, body)
	}
}

func TestKeysAndUsersEndToEnd(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "s.db")
	var out bytes.Buffer
	if err := run(ctx, []string{"keys", "create", "--app", "checkout", "--name", "ci", "--db", db}, noEnv, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	key, _, _ := strings.Cut(out.String(), "\n")
	if !strings.HasPrefix(key, "sk_ss_") || !strings.Contains(out.String(), "shown only this once") {
		t.Fatalf("keys create printed:\n%s", out.String())
	}
	if err := admin.Users(ctx, []string{"add", "ann", "--db", db}, noEnv, strings.NewReader("correct horse\n"), io.Discard, time.Now); err == nil || !strings.Contains(err.Error(), "--password-stdin") {
		t.Errorf("users add without --password-stdin: %v", err)
	}
	if err := admin.Users(ctx, []string{"add", "ann", "--password-stdin", "--db", db}, noEnv, strings.NewReader("short\n"), io.Discard, time.Now); err == nil {
		t.Error("users add took a 5-character password")
	}
	if err := admin.Users(ctx, []string{"add", "ann", "--password-stdin", "--db", db}, noEnv, strings.NewReader("correct horse\n"), io.Discard, time.Now); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := admin.Users(ctx, []string{"list", "--db", db}, noEnv, nil, &out, time.Now); err != nil || !strings.Contains(out.String(), "ann") {
		t.Errorf("users list: %v\n%s", err, out.String())
	}

	m, _, err := startExposed(t, db)
	if err != nil {
		t.Fatalf("with a key and a user: %v", err)
	}
	u := localURL(t, m)
	rec := `{"response":{"id":"msg_k","type":"message","role":"assistant","model":"m","content":[],"stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":1}}}`
	send := func(header string) int {
		req, _ := http.NewRequest("POST", u+"/v1/responses", strings.NewReader(rec))
		req.Header.Set("Content-Type", "application/json")
		if header != "" {
			req.Header.Set("Authorization", header)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := send(""); code != 401 {
		t.Errorf("ingest without a key: %d, want 401", code)
	}
	if code := send("Bearer " + key); code != 200 {
		t.Errorf("ingest with the key: %d, want 200", code)
	}
	resp, err := http.Get(u + "/api/v1/summary")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("API without a login: %d, want 401", resp.StatusCode)
	}

	out.Reset()
	if err := run(ctx, []string{"keys", "list", "--db", db}, noEnv, &out, io.Discard); err != nil || !strings.Contains(out.String(), "checkout") || strings.Contains(out.String(), key) {
		t.Errorf("keys list: %v\n%s", err, out.String())
	}
	if err := run(ctx, []string{"keys", "revoke", "1", "--db", db}, noEnv, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	if code := send("Bearer " + key); code != 401 {
		t.Errorf("ingest with a revoked key: %d, want 401", code)
	}
	if err := admin.Users(ctx, []string{"delete", "ann", "--db", db}, noEnv, nil, io.Discard, time.Now); err != nil {
		t.Fatal(err)
	}
}

// TestAllowedHosts: the HTTP server answers to IP addresses, localhost and
// --allowed-hosts, and 421 to any other name (DNS rebinding).
func TestAllowedHosts(t *testing.T) {
	var out bytes.Buffer
	m := NewMain(&out, io.Discard)
	args := []string{"--addr", "127.0.0.1:0", "--otlp-grpc-addr=", "--db", filepath.Join(t.TempDir(), "s.db"), "--allowed-hosts", "stopscope.example.com, *.corp.example"}
	if err := m.ParseFlags(args, noEnv); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	for _, tc := range []struct {
		host   string
		status int
	}{
		{"", 200}, {"localhost", 200}, {"stopscope.example.com", 200}, {"a.corp.example", 200},
		{"evil.example", 421}, {"stopscope.example.com.evil.example", 421},
	} {
		for _, path := range []string{"/healthz", "/api/v1/summary", "/metrics"} {
			req, _ := http.NewRequest(http.MethodGet, m.URL()+path, nil)
			if tc.host != "" {
				req.Host = tc.host
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("Host %q, %s: %d, want %d", tc.host, path, resp.StatusCode, tc.status)
			}
		}
	}
	if got := config.SplitList(" a,, b ,"); len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Errorf("splitList = %q", got)
	}
	m.Addr = "stopscope.lan:8080"
	if got := m.allowedHosts(); len(got) != 3 || got[2] != "stopscope.lan" {
		t.Errorf("allowedHosts with --addr stopscope.lan:8080 = %q, want it added", got)
	}
}
