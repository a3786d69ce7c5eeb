package receiver

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/ingest"
	"github.com/stopscope/stopscope/store"
)

// Handler serves the native POST /v1/responses.
type Handler struct {
	// Sink stores the records.
	Sink store.Inserter
	// Limits bounds each request; zero fields take their defaults.
	Limits ingest.Limits
	// Now is the clock records without a time are stamped with; nil means
	// time.Now.
	Now func() time.Time
	// Rejected, when set, is told how many records of a request were
	// rejected one by one (the service counts them in its own metrics).
	Rejected func(ctx context.Context, n int)
	// Seen, when set, is told of every request it could decode.
	Seen *Seen
}

// PostResponses decodes a batch of records, stores the good ones and answers
// with a BatchResult: 200 when at least one record was stored, even if
// others were rejected. It returns an *analytics.Error for a body refused as
// a whole: ETooLarge past a limit, EInvalid when no record could be read,
// and the Sink's error, as it is, when storing failed, in which case no
// record of the batch is acknowledged.
func (h *Handler) PostResponses(c echo.Context) error {
	lim := h.Limits.WithDefaults()
	r := c.Request()
	body, err := readBody(r, lim)
	if err != nil {
		return err
	}
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	recs, rejected, err := ingest.DecodeBatch(body, r.Header.Get(echo.HeaderContentType), ingest.Options{Limits: lim, Now: now()})
	if err != nil {
		return err
	}
	h.Seen.Mark(SignalNative, ProducerNative)
	if h.Rejected != nil && len(rejected) > 0 {
		h.Rejected(r.Context(), len(rejected))
	}
	if len(recs) == 0 {
		return analytics.Errorf(analytics.EInvalid, "no record could be read: %s", summarize(rejected))
	}
	if err := h.Sink.Insert(r.Context(), recs); err != nil {
		return err
	}
	if rejected == nil {
		rejected = []ingest.Rejection{}
	}
	return c.JSON(http.StatusOK, ingest.BatchResult{Accepted: len(recs), Rejected: rejected})
}

// summarize lists the first rejections for an error message.
func summarize(rejected []ingest.Rejection) string {
	const show = 5
	if len(rejected) == 0 {
		return "the body holds no records"
	}
	var sb strings.Builder
	for i, r := range rejected {
		if i == show {
			fmt.Fprintf(&sb, "; and %d more", len(rejected)-show)
			break
		}
		if i > 0 {
			sb.WriteString("; ")
		}
		sb.WriteString(r.Error)
	}
	return sb.String()
}

// readBody reads the request body, inflating gzip, and refuses it as soon
// as it passes a limit, without reading the rest.
func readBody(r *http.Request, lim ingest.Limits) ([]byte, error) {
	tooLarge := lim.BodyTooLarge()
	if r.ContentLength > lim.MaxBodyBytes {
		return nil, tooLarge
	}
	if r.Body == nil {
		return nil, nil
	}
	sent := &capReader{r: r.Body, n: lim.MaxBodyBytes}
	var src io.Reader = sent
	grow := r.ContentLength
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get(echo.HeaderContentEncoding))); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		gz, err := gzip.NewReader(sent)
		if err != nil {
			if sent.over {
				return nil, tooLarge
			}
			if errors.Is(err, io.EOF) {
				return nil, nil // an empty body, refused as such later
			}
			return nil, analytics.Errorf(analytics.EInvalid, "the body is not valid gzip: %v", err)
		}
		defer gz.Close()
		src = gz
		grow *= 4 // a guess; JSON compresses well
	default:
		return nil, analytics.Errorf(analytics.EInvalid, "Content-Encoding %q is not supported: send gzip or identity", enc)
	}
	inflated := &capReader{r: src, n: lim.MaxDecompressedBytes}
	var buf bytes.Buffer
	if grow > 0 {
		buf.Grow(int(min(grow, lim.MaxDecompressedBytes) + bytes.MinRead))
	}
	_, err := buf.ReadFrom(inflated)
	switch {
	case sent.over:
		return nil, tooLarge
	case inflated.over:
		return nil, lim.DecompressedTooLarge()
	case err != nil && src != io.Reader(sent):
		return nil, analytics.Errorf(analytics.EInvalid, "the body is not valid gzip: %v", err)
	case err != nil:
		return nil, analytics.Errorf(analytics.EInvalid, "reading the body: %v", err)
	}
	return buf.Bytes(), nil
}

// errOverLimit is what a capReader returns past its limit. Callers look at
// capReader.over rather than the error, which a gzip reader may wrap.
var errOverLimit = errors.New("over the size limit")

// capReader reads at most n bytes and fails, setting over, if there are
// more.
type capReader struct {
	r    io.Reader
	n    int64
	over bool
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.over {
		return 0, errOverLimit
	}
	if c.n <= 0 {
		// At the limit: one more byte means too many.
		var b [1]byte
		n, err := c.r.Read(b[:])
		if n > 0 {
			c.over = true
			return 0, errOverLimit
		}
		return 0, err
	}
	if int64(len(p)) > c.n {
		p = p[:c.n]
	}
	n, err := c.r.Read(p)
	c.n -= int64(n)
	return n, err
}
