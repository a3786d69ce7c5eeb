package main

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/stopscope/stopscope/alert"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// startAlerting runs the service with a webhook flag on a given database.
func startAlerting(t *testing.T, db, hook string) *Main {
	t.Helper()
	m := NewMain(io.Discard, io.Discard)
	env := map[string]string{"STOPSCOPE_ALERT_WEBHOOK": hook}
	if err := m.ParseFlags([]string{"--addr", "127.0.0.1:0", "--otlp-grpc-addr=", "--db", db, "--alert-interval", "1h"},
		func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	return m
}

func do(t *testing.T, method, url string, body any) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, r)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

type channelList struct {
	Items []struct {
		ID   int64  `json:"id"`
		Kind string `json:"kind"`
		URL  string `json:"url"`
	} `json:"items"`
}

// STOPSCOPE_ALERT_WEBHOOK adds a channel at start, once across restarts,
// and the test action reaches it.
func TestAlertWebhookFlag(t *testing.T) {
	var hits atomic.Int64
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
	}))
	defer hook.Close()
	db := filepath.Join(t.TempDir(), "s.db")
	m := startAlerting(t, db, hook.URL)
	if m.Alerts.Interval != time.Hour {
		t.Errorf("interval %s", m.Alerts.Interval)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	m = startAlerting(t, db, hook.URL)
	defer m.Close()
	var chs channelList
	getJSON(t, m.URL()+"/api/v1/alert-channels", &chs)
	if len(chs.Items) != 1 || chs.Items[0].URL != hook.URL || chs.Items[0].Kind != "webhook" {
		t.Fatalf("channels after two starts: %+v", chs)
	}
	code, body := do(t, "POST", m.URL()+"/api/v1/alert-channels/"+idStr(chs.Items[0].ID)+"/test", nil)
	if code != 200 || hits.Load() != 1 || !strings.Contains(string(body), `"http_status":200`) {
		t.Errorf("test notification: %d %s, %d hits", code, body, hits.Load())
	}
}

func idStr(n int64) string { return strconv.FormatInt(n, 10) }

// The rules and channels API: create, read, update, delete, with 400s that
// name the field.
func TestAlertAPI(t *testing.T) {
	m := startMain(t)
	u := m.URL() + "/api/v1"
	var rules struct {
		Items []map[string]any `json:"items"`
	}
	getJSON(t, u+"/alert-rules", &rules)
	// The default rules, in order (docs/alerts.md#default-rules).
	seeds := alert.DefaultRules()
	if len(rules.Items) != len(seeds) {
		t.Fatalf("default rules: %+v, want %d", rules, len(seeds))
	}
	for i, sd := range seeds {
		if rules.Items[i]["name"] != sd.Rule.Name || rules.Items[i]["metric"] != string(sd.Rule.Metric) {
			t.Errorf("default rule %d: %+v, want %s", i, rules.Items[i], sd.Key)
		}
	}
	if rules.Items[0]["metric"] != "refusal" || rules.Items[0]["condition"] != "spike" {
		t.Fatalf("first default rule: %+v", rules.Items[0])
	}
	bad := []struct {
		body  any
		field string
	}{
		{map[string]any{"metric": "nope"}, "field metric"},
		{map[string]any{"window": "soon"}, "field window"},
		{map[string]any{"condition": "threshold", "threshold": 2}, "field threshold"},
		{map[string]any{"min_volume": "ten"}, "min_volume"},
		{map[string]any{"name": ""}, "field name"},
	}
	for _, tc := range bad {
		code, body := do(t, "POST", u+"/alert-rules", tc.body)
		if code != 400 || !strings.Contains(string(body), tc.field) {
			t.Errorf("POST %v: %d %s, want 400 naming %s", tc.body, code, body, tc.field)
		}
	}
	code, body := do(t, "POST", u+"/alert-rules", map[string]any{
		"name": "trunc", "metric": "truncation", "scope": map[string]string{"app": "checkout"},
		"condition": "threshold", "threshold": 0.1, "window": "10m", "for": "5m",
	})
	if code != 201 {
		t.Fatalf("create: %d %s", code, body)
	}
	var r map[string]any
	json.Unmarshal(body, &r)
	id := idStr(int64(r["id"].(float64)))
	if r["window"] != "10m0s" || r["cooldown"] != "30m0s" || r["for"] != "5m0s" {
		t.Errorf("created: %s", body)
	}
	code, body = do(t, "PUT", u+"/alert-rules/"+id, map[string]any{"threshold": 0.2, "silenced_until": "2030-01-01T00:00:00Z"})
	json.Unmarshal(body, &r)
	if code != 200 || r["threshold"] != 0.2 || r["name"] != "trunc" || r["silenced_until"] != "2030-01-01T00:00:00Z" {
		t.Errorf("update: %d %s", code, body)
	}
	if code, _ := do(t, "DELETE", u+"/alert-rules/"+id, nil); code != 204 {
		t.Errorf("delete: %d", code)
	}
	if code, _ := do(t, "GET", u+"/alert-rules/"+id, nil); code != 404 {
		t.Errorf("get deleted: %d", code)
	}

	code, body = do(t, "POST", u+"/alert-channels", map[string]any{"url": "https://hooks.slack.com/services/T/B/X", "secret": "s"})
	if code != 201 || !strings.Contains(string(body), `"kind":"slack"`) || strings.Contains(string(body), `"secret"`) {
		t.Fatalf("create channel: %d %s", code, body)
	}
	if code, body := do(t, "POST", u+"/alert-channels", map[string]any{"url": "https://hooks.slack.com/services/T/B/X"}); code != 409 {
		t.Errorf("same URL twice: %d %s", code, body)
	}
	if code, body := do(t, "POST", u+"/alert-channels", map[string]any{"url": "not a url"}); code != 400 || !strings.Contains(string(body), "field url") {
		t.Errorf("bad URL: %d %s", code, body)
	}
	var ch map[string]any
	json.Unmarshal(body, &ch)
	var chs channelList
	getJSON(t, u+"/alert-channels", &chs)
	cid := idStr(chs.Items[0].ID)
	code, body = do(t, "PUT", u+"/alert-channels/"+cid, map[string]any{"enabled": false})
	if code != 200 || !strings.Contains(string(body), `"enabled":false`) || !strings.Contains(string(body), `"has_secret":true`) {
		t.Errorf("update channel: %d %s", code, body)
	}
	if code, _ := do(t, "DELETE", u+"/alert-channels/"+cid, nil); code != 204 {
		t.Errorf("delete channel: %d", code)
	}
	var evs struct {
		Items []any `json:"items"`
	}
	getJSON(t, u+"/alerts?state=firing", &evs)
	if code, body := do(t, "GET", u+"/alerts?state=sleeping", nil); code != 400 || !strings.Contains(string(body), "parameter state") {
		t.Errorf("bad state: %d %s", code, body)
	}
	// The page renders.
	resp, err := http.Get(m.URL() + "/alerts")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "Refusal spike (all traffic)") {
		t.Errorf("alerts page: %d", resp.StatusCode)
	}
}

// Channels may send to public addresses and, beyond them, to what
// --alert-allow-hosts names (a local receiver here); the --alert-webhook's
// own host is allowed too, on its port only.
func TestAlertAllowHosts(t *testing.T) {
	var hits atomic.Int64
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer recv.Close()
	hostPort := strings.TrimPrefix(recv.URL, "http://")
	for _, tc := range []struct {
		name  string
		args  []string
		allow bool
	}{
		{"default", nil, false},
		{"allowed", []string{"--alert-allow-hosts", "hooks.lab, " + hostPort}, true},
		{"webhook on another port", []string{"--alert-webhook", "http://127.0.0.1:1/hook"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMain(io.Discard, io.Discard)
			args := append([]string{"--addr", "127.0.0.1:0", "--otlp-grpc-addr=", "--db", filepath.Join(t.TempDir(), "s.db")}, tc.args...)
			if err := m.ParseFlags(args, func(string) string { return "" }); err != nil {
				t.Fatal(err)
			}
			if err := m.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			u := m.URL() + "/api/v1/alert-channels"
			if code, body := do(t, "POST", u, map[string]any{"url": "http://169.254.169.254/latest/meta-data/"}); code != 400 || !strings.Contains(string(body), "link-local") {
				t.Errorf("metadata service: %d %s", code, body)
			}
			code, body := do(t, "POST", u, map[string]any{"url": recv.URL + "/hook"})
			if !tc.allow {
				if code != 400 || !strings.Contains(string(body), "--alert-allow-hosts") {
					t.Errorf("local receiver: %d %s, want 400 naming the flag", code, body)
				}
				return
			}
			var ch struct {
				ID int64 `json:"id"`
			}
			json.Unmarshal(body, &ch)
			before := hits.Load()
			code, body = do(t, "POST", u+"/"+idStr(ch.ID)+"/test", nil)
			if code != 200 || hits.Load() != before+1 || !strings.Contains(string(body), `"http_status":200`) {
				t.Errorf("test notification to the allowed receiver: %d %s", code, body)
			}
		})
	}
	m := NewMain(io.Discard, io.Discard)
	if err := m.ParseFlags([]string{"--alert-allow-hosts", "10.0.0.0/8,http://x/"}, func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), "--alert-allow-hosts") {
		t.Errorf("a bad --alert-allow-hosts: %v", err)
	}
}
