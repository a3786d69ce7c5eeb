package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stopscope/stopscope/alert"
	"github.com/stopscope/stopscope/store/sqlite"
)

// Channels to non-public destinations are refused at creation and when
// their URL changes, unless the server allows them; a test notification's
// answer never shows the destination's body.
func TestAlertChannelDestinations(t *testing.T) {
	const secret = "SECRET-INTERNAL-BODY"
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "/latest/meta-data/")
		w.WriteHeader(http.StatusFound)
		io.WriteString(w, secret)
	}))
	defer recv.Close()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "stopscope.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	allowed, err := alert.ParseDestinations(strings.TrimPrefix(recv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	clock := func() time.Time { return now }
	s := &Server{Store: st, Now: clock, Alerts: st, AlertDestinations: allowed,
		Notifier: &alert.Deliverer{Store: st, Now: clock, Destinations: allowed}}
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	send := func(method, path, ctype, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	api := func(method, path, body string) (int, string) {
		return send(method, "/api/v1"+path, "application/json", body)
	}
	_, port, _ := strings.Cut(strings.TrimPrefix(recv.URL, "http://"), ":")
	for _, tc := range []struct{ url, why string }{
		{"http://169.254.169.254/latest/meta-data/", "link-local"},
		{"http://127.0.0.1:1/hook", "loopback"},
		{"http://10.0.0.5/hook", "private"},
		{"http://[::1]:" + port + "/", "loopback"},
		{"http://localhost:1/", "loopback"},
	} {
		if code, body := api("POST", "/alert-channels", `{"url":"`+tc.url+`"}`); code != 400 || !strings.Contains(body, "field url") || !strings.Contains(body, tc.why) {
			t.Errorf("POST channel %s: %d %s, want 400 naming the url as %s", tc.url, code, body, tc.why)
		}
		form := url.Values{"name": {"x"}, "url": {tc.url}}.Encode()
		if code, body := send("POST", "/alerts/channels", "application/x-www-form-urlencoded", form); code != 400 || !strings.Contains(body, tc.why) {
			t.Errorf("form channel %s: %d, want 400 saying %s", tc.url, code, tc.why)
		}
	}
	if chs, _ := st.ListAlertChannels(t.Context()); len(chs) != 0 {
		t.Fatalf("refused channels were stored: %+v", chs)
	}

	// The allowed receiver is accepted; moving it to loopback elsewhere is not.
	code, body := api("POST", "/alert-channels", `{"url":"`+recv.URL+`/hook"}`)
	if code != 201 {
		t.Fatalf("POST allowed channel: %d %s", code, body)
	}
	chs, _ := st.ListAlertChannels(t.Context())
	id := idPath("", chs[0].ID, "")
	if code, body := api("PUT", "/alert-channels/"+id, `{"url":"http://127.0.0.1:1/"}`); code != 400 || !strings.Contains(body, "loopback") {
		t.Errorf("PUT to loopback: %d %s", code, body)
	}
	if code, body := api("PUT", "/alert-channels/"+id, `{"name":"renamed"}`); code != 200 {
		t.Errorf("PUT keeping the URL: %d %s", code, body)
	}

	// The test notification: a 302 is a failure, not followed, and its
	// body is shown nowhere.
	code, body = api("POST", "/alert-channels/"+id+"/test", "")
	if code != 200 || !strings.Contains(body, `"http_status":302`) || !strings.Contains(body, "redirects are not followed") {
		t.Errorf("test notification: %d %s", code, body)
	}
	for _, b := range []string{body, func() string { _, b := api("GET", "/alert-channels/"+id, ""); return b }(), func() string { _, b := send("GET", "/alerts", "", ""); return b }()} {
		if strings.Contains(b, secret) {
			t.Errorf("the destination's answer body is shown: %s", b)
		}
	}
}
