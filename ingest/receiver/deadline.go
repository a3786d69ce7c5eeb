package receiver

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// The flags of the ingest body deadline, named in its error.
const (
	FlagIngestBodyTimeout = "ingest-body-timeout"
	FlagIngestMinBodyRate = "ingest-min-body-rate"
)

// The defaults of the HTTP server's timeouts.
const (
	// DefaultHeaderTimeout bounds the reading of a request's line and
	// headers, on every route.
	DefaultHeaderTimeout = 10 * time.Second
	// DefaultIdleTimeout is how long a kept-alive connection may wait for
	// its next request.
	DefaultIdleTimeout = 2 * time.Minute
	// DefaultIngestBodyTimeout and DefaultIngestMinBodyRate bound the
	// reading of an ingest body: see PaceBody.
	DefaultIngestBodyTimeout = 10 * time.Second
	DefaultIngestMinBodyRate = 64 << 10
)

// pacedBody is an ingest request body that must keep arriving. Its read
// deadline starts at grace after the request was taken and each byte
// received pushes it by 1/rate seconds, so that a body sent at rate or
// faster is never cut, however large, while a client trickling a byte now
// and then loses its ingest slot after about grace. Once the body is read
// to its end the deadline is lifted: the server's own read of the
// connection, made while the handler stores the records, must not time
// out and cancel the request.
type pacedBody struct {
	body  io.ReadCloser
	rc    *http.ResponseController
	start time.Time
	grace time.Duration
	rate  int64
	n     int64
	done  bool
}

// PaceBody sets r's body read deadline (see pacedBody); grace <= 0 leaves
// the body as it is, and so does a connection whose deadline cannot be set.
func PaceBody(w http.ResponseWriter, r *http.Request, grace time.Duration, rate int64) {
	if grace <= 0 || r.Body == nil || r.Body == http.NoBody {
		return
	}
	rc := http.NewResponseController(w)
	start := time.Now()
	if err := rc.SetReadDeadline(start.Add(grace)); err != nil {
		return
	}
	r.Body = &pacedBody{body: r.Body, rc: rc, start: start, grace: grace, rate: rate}
}

func (p *pacedBody) Read(b []byte) (int, error) {
	n, err := p.body.Read(b)
	p.n += int64(n)
	switch {
	case p.done:
	case errors.Is(err, io.EOF):
		p.done = true
		_ = p.rc.SetReadDeadline(time.Time{})
	case err != nil:
		if ne := net.Error(nil); errors.As(err, &ne) && ne.Timeout() {
			return n, p.tooSlow()
		}
	case n > 0 && p.rate > 0:
		allowed := p.grace + time.Duration(float64(p.n)/float64(p.rate)*float64(time.Second))
		_ = p.rc.SetReadDeadline(p.start.Add(allowed))
	}
	return n, err
}

func (p *pacedBody) tooSlow() error {
	return fmt.Errorf("the body arrived too slowly: %d bytes in %s, past -%s %s plus one second per %d bytes (-%s)",
		p.n, time.Since(p.start).Round(time.Millisecond), FlagIngestBodyTimeout, p.grace, p.rate, FlagIngestMinBodyRate)
}

func (p *pacedBody) Close() error { return p.body.Close() }
