package receiver

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"
)

// TLSFiles names the PEM certificate (chain) and private key that the
// service's listeners serve TLS with, so that stopscope can be reached over
// HTTPS on its own: a Claude API telemetry destination, for one, must be an
// HTTPS URL. Both empty serves plain HTTP and gRPC.
type TLSFiles struct {
	CertFile, KeyFile string
}

// Enabled reports whether TLS is asked for.
func (f TLSFiles) Enabled() bool { return f.CertFile != "" || f.KeyFile != "" }

// certCheckEvery is how often the files are looked at again: a renewed
// certificate (certbot, cert-manager) is served without a restart.
const certCheckEvery = 10 * time.Second

// Config loads the certificate and returns a TLS configuration (TLS 1.2 or
// later, HTTP/2 and HTTP/1.1) that serves it and takes up a new one when the
// files change. It fails when only one file is named or they do not load.
func (f TLSFiles) Config() (*tls.Config, error) {
	if f.CertFile == "" || f.KeyFile == "" {
		return nil, errors.New("TLS needs both -tls-cert and -tls-key")
	}
	r := &certReloader{files: f}
	if err := r.load(); err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		NextProtos:     []string{"h2", "http/1.1"},
		GetCertificate: r.get,
	}, nil
}

// Listen wraps ln to serve TLS when f is enabled, and returns the
// configuration it serves (nil for plain TCP) for other listeners to share.
func (f TLSFiles) Listen(ln net.Listener) (net.Listener, *tls.Config, error) {
	if !f.Enabled() {
		return ln, nil, nil
	}
	cfg, err := f.Config()
	if err != nil {
		return nil, nil, err
	}
	return tls.NewListener(ln, cfg), cfg, nil
}

// certReloader serves the files' certificate, reloading it when a file's
// modification time changes; a new pair that does not load leaves the last
// good one served.
type certReloader struct {
	files TLSFiles

	mu         sync.Mutex
	cert       *tls.Certificate
	certMod    time.Time
	keyMod     time.Time
	lastLooked time.Time
}

func (r *certReloader) load() error {
	cs, err := os.Stat(r.files.CertFile)
	if err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	ks, err := os.Stat(r.files.KeyFile)
	if err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	cert, err := tls.LoadX509KeyPair(r.files.CertFile, r.files.KeyFile)
	if err != nil {
		return fmt.Errorf("tls: load %s and %s: %w", r.files.CertFile, r.files.KeyFile, err)
	}
	r.cert, r.certMod, r.keyMod, r.lastLooked = &cert, cs.ModTime(), ks.ModTime(), time.Now()
	return nil
}

func (r *certReloader) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if time.Since(r.lastLooked) >= certCheckEvery {
		r.lastLooked = time.Now()
		cs, err1 := os.Stat(r.files.CertFile)
		ks, err2 := os.Stat(r.files.KeyFile)
		if err1 == nil && err2 == nil && (!cs.ModTime().Equal(r.certMod) || !ks.ModTime().Equal(r.keyMod)) {
			_ = r.load() // on failure keep serving the last good pair
		}
	}
	return r.cert, nil
}
