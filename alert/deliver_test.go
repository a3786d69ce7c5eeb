package alert_test

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stopscope/stopscope/alert"
	"github.com/stopscope/stopscope/analytics"
)

// lab allows the loopback receivers of these tests: the documented way to
// send to a local receiver.
func lab(t *testing.T) *alert.Destinations {
	t.Helper()
	d, err := alert.ParseDestinations("127.0.0.1, ::1")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// A test notification is sent once, even with the delivery loop ticking
// at the same moment: the loop must not claim the delivery SendTest is
// making its first attempt at.
func TestSendTestNotSentTwice(t *testing.T) {
	clk := &clock{t: t0}
	svc := start(t, filepath.Join(t.TempDir(), "s.db"), clk)
	defer svc.st.Close()
	h := newHook(t)
	ch := addChannel(t, svc.st, h.srv.URL, "")
	const n = 30
	for range n {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := svc.del.Tick(ctx); err != nil {
					t.Error(err)
					return
				}
			}
		})
		a, err := svc.del.SendTest(ctx, ch.ID)
		close(stop)
		wg.Wait()
		if err != nil || a.HTTPStatus != 200 {
			t.Fatalf("SendTest = %+v, %v", a, err)
		}
	}
	if got := len(h.payloads(t)); got != n {
		t.Errorf("%d test notifications reached the receiver, want %d", got, n)
	}
}

// Non-public destinations are refused when a channel is checked and when
// a delivery dials them, unless allowed; allowed ones pass.
func TestDestinations(t *testing.T) {
	allow := func(list string) *alert.Destinations {
		d, err := alert.ParseDestinations(list)
		if err != nil {
			t.Fatalf("ParseDestinations(%q): %v", list, err)
		}
		return d
	}
	tests := []struct {
		url   string
		allow string
		ok    bool
		why   string
	}{
		{"http://169.254.169.254/latest/meta-data/", "", false, "link-local"},
		{"http://127.0.0.1:9000/hook", "", false, "loopback"},
		{"http://10.1.2.3/hook", "", false, "private"},
		{"http://192.168.0.10/hook", "", false, "private"},
		{"http://[::1]:9000/hook", "", false, "loopback"},
		{"http://[::ffff:127.0.0.1]/hook", "", false, "loopback"},
		{"http://[fd00::1]/hook", "", false, "private"},
		{"http://0.0.0.0/hook", "", false, "unspecified"},
		{"http://100.64.1.1/hook", "", false, "shared"},
		{"http://localhost:9000/hook", "", false, "loopback"},
		{"https://8.8.8.8/hook", "", true, ""},
		{"https://[2606:4700::1111]/hook", "", true, ""},
		// A name that does not resolve now is checked at delivery.
		{"https://no-such-host.invalid/hook", "", true, ""},
		// What an operator allows.
		{"http://127.0.0.1:9000/hook", "127.0.0.1", true, ""},
		{"http://127.0.0.1:9000/hook", "127.0.0.1:9000", true, ""},
		{"http://127.0.0.1:9001/hook", "127.0.0.1:9000", false, "loopback"},
		{"http://10.1.2.3/hook", "10.0.0.0/8", true, ""},
		{"http://10.1.2.3/hook", "hooks.lab, 192.168.0.0/16", false, "private"},
		{"http://localhost:9000/hook", "localhost", true, ""},
		{"http://LocalHost./hook", "localhost:80", true, ""},
		{"http://[::1]:9000/hook", "::1", true, ""},
	}
	for _, tc := range tests {
		err := allow(tc.allow).CheckURL(ctx, tc.url)
		if tc.ok {
			if err != nil {
				t.Errorf("CheckURL(%s) with %q allowed: %v", tc.url, tc.allow, err)
			}
			continue
		}
		if analytics.ErrorCode(err) != analytics.EInvalid || !strings.Contains(err.Error(), "field url") || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("CheckURL(%s) with %q allowed = %v, want an EInvalid error on field url saying %s", tc.url, tc.allow, err, tc.why)
		}
	}
	// A nil policy is the default: public addresses only.
	var none *alert.Destinations
	if err := none.CheckURL(ctx, "http://127.0.0.1/"); err == nil {
		t.Error("a nil Destinations allowed loopback")
	}
	for _, bad := range []string{"127.0.0.1:0", "hooks.lab:http", "http://x/", "a b"} {
		if _, err := alert.ParseDestinations(bad); err == nil {
			t.Errorf("ParseDestinations(%q) accepted it", bad)
		}
	}
}

// A delivery to a non-public address is refused as it is dialled, even
// when the channel was stored without a check (created before the policy,
// or a name that resolved elsewhere then), and the receiver never sees it.
func TestDeliveryRefusedAtDial(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	urls := []struct{ url, why string }{
		{srv.URL, "loopback"},
		{"http://localhost:" + port + "/", "loopback"},
		{"http://169.254.169.254/latest/meta-data/", "link-local"},
		{"http://10.255.255.1/", "private"},
		{"http://[::1]:" + port + "/", "loopback"},
	}
	clk := &clock{t: t0}
	svc := start(t, filepath.Join(t.TempDir(), "s.db"), clk)
	defer svc.st.Close()
	svc.del.Destinations = nil
	for _, u := range urls {
		ch := addChannel(t, svc.st, u.url, "")
		a, err := svc.del.SendTest(ctx, ch.ID)
		if err != nil {
			t.Fatal(err)
		}
		if a.HTTPStatus != 0 || !strings.Contains(a.Error, u.why) || !strings.Contains(a.Error, "not a public one") {
			t.Errorf("%s: attempt %+v, want refused as %s", u.url, a, u.why)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the loopback receiver was reached %d times", n)
	}

	// Allowed by address, or by name, it is reached.
	for _, tc := range []struct{ allow, url string }{
		{"127.0.0.1:" + port, srv.URL},
		{"localhost", "http://localhost:" + port + "/"},
	} {
		d, err := alert.ParseDestinations(tc.allow)
		if err != nil {
			t.Fatal(err)
		}
		del := &alert.Deliverer{Store: svc.st, Now: clk.Now, Destinations: d}
		ch := addChannel(t, svc.st, tc.url+"?allowed", "")
		if a, err := del.SendTest(ctx, ch.ID); err != nil || a.HTTPStatus != 200 {
			t.Errorf("allowed %q, %s: attempt %+v, %v", tc.allow, tc.url, a, err)
		}
	}
	if n := hits.Load(); n != 2 {
		t.Errorf("the receiver was reached %d times, want 2", n)
	}
}

// A redirect is not followed: the 302 is a failed attempt, the target is
// never asked, and neither the attempt nor its record holds the answer's
// body.
func TestRedirectNotFollowedAndBodyNeverKept(t *testing.T) {
	const secret = "ami-id instance-id SECRET-BODY"
	var internal atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/hook", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "/internal")
		w.WriteHeader(http.StatusFound)
		w.Write([]byte(secret))
	})
	mux.HandleFunc("/internal", func(w http.ResponseWriter, r *http.Request) {
		internal.Add(1)
		w.Write([]byte(secret))
	})
	mux.HandleFunc("/fail", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, secret, http.StatusInternalServerError)
	})
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(secret)) })
	srv := httptest.NewServer(mux)
	defer srv.Close()

	clk := &clock{t: t0}
	svc := start(t, filepath.Join(t.TempDir(), "s.db"), clk)
	defer svc.st.Close()
	for _, tc := range []struct {
		path   string
		status int
		errSub string
	}{
		{"/hook", 302, "redirects are not followed"},
		{"/fail", 500, "HTTP 500"},
		{"/ok", 200, ""},
	} {
		ch := addChannel(t, svc.st, srv.URL+tc.path, "")
		a, err := svc.del.SendTest(ctx, ch.ID)
		if err != nil {
			t.Fatal(err)
		}
		if a.HTTPStatus != tc.status || !strings.Contains(a.Error, tc.errSub) {
			t.Errorf("%s: attempt %+v, want HTTP %d and an error with %q", tc.path, a, tc.status, tc.errSub)
		}
		atts, err := svc.st.ListAlertAttempts(ctx, ch.ID, 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range []any{a, atts} {
			b, _ := json.Marshal(v)
			if strings.Contains(string(b), "SECRET") {
				t.Errorf("%s: the answer's body was kept: %s", tc.path, b)
			}
		}
	}
	if n := internal.Load(); n != 0 {
		t.Errorf("the redirect was followed %d times", n)
	}
}

// RefusedError names the address and its kind.
func TestRefusedError(t *testing.T) {
	e := &alert.RefusedError{Addr: netip.MustParseAddr("10.0.0.1"), Why: "private"}
	if got := e.Error(); !strings.Contains(got, "10.0.0.1 is a private address") {
		t.Errorf("Error() = %q", got)
	}
}
