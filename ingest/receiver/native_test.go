package receiver_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/ingest"
	"github.com/stopscope/stopscope/ingest/receiver"
)

func gzipped(t *testing.T, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// post sends a body to a handler and returns the status and decoded answer.
func post(t *testing.T, h *receiver.Handler, body io.Reader, header map[string]string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/v1/responses", body)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rr := httptest.NewRecorder()
	newEcho(h).ServeHTTP(rr, req)
	var answer map[string]any
	if err := json.Unmarshal(rr.Body.Bytes(), &answer); err != nil {
		t.Fatalf("answer %q: %v", rr.Body.String(), err)
	}
	return rr.Code, answer
}

func TestPostResponses(t *testing.T) {
	msg := compact(t, "messages/end_turn.json")
	res := compact(t, "agent_sdk/success.json")
	ndjson := msg + "\n{\"type\":\"foo\"}\n{broken\n" + res + "\n"
	array := "[" + msg + `,{"type":"foo"},` + res + "]"
	wantRejected := []any{
		map[string]any{"index": 1.0, "error": `record 1: unknown record type "foo": ` + expectedKinds},
	}
	for _, c := range []struct {
		name     string
		body     []byte
		header   map[string]string
		status   int
		accepted float64
		rejected int
	}{
		{"NDJSON with bad lines", []byte(ndjson), map[string]string{"Content-Type": "application/x-ndjson"}, 200, 2, 2},
		{"array with a bad record", []byte(array), map[string]string{"Content-Type": "application/json"}, 200, 2, 1},
		{"gzip NDJSON", gzipped(t, []byte(ndjson)), map[string]string{"Content-Type": "application/x-ndjson", "Content-Encoding": "gzip"}, 200, 2, 2},
		{"x-gzip array", gzipped(t, []byte(array)), map[string]string{"Content-Type": "application/json", "Content-Encoding": "x-gzip"}, 200, 2, 1},
		{"identity", []byte(msg), map[string]string{"Content-Type": "application/json", "Content-Encoding": "identity"}, 200, 1, 0},
		{"bare stream", fixture(t, "streams/end_turn.sse"), map[string]string{"Content-Type": "text/event-stream"}, 200, 1, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			sink := &sliceSink{}
			status, answer := post(t, &receiver.Handler{Sink: sink, Now: func() time.Time { return testNow }}, bytes.NewReader(c.body), c.header)
			if status != c.status || answer["accepted"] != c.accepted {
				t.Fatalf("status %d answer %v", status, answer)
			}
			rejected, _ := answer["rejected"].([]any)
			if rejected == nil || len(rejected) != c.rejected {
				t.Errorf("rejected %v, want %d (and never null)", answer["rejected"], c.rejected)
			}
			if c.rejected > 0 {
				if got, _ := json.Marshal(rejected[:1]); string(got) != string(must(json.Marshal(wantRejected))) {
					t.Errorf("rejected %s, want %s", got, must(json.Marshal(wantRejected)))
				}
			}
			if len(sink.recs) != int(c.accepted) {
				t.Errorf("stored %d records, want %v", len(sink.recs), c.accepted)
			}
			for _, rec := range sink.recs {
				if !rec.Time.Equal(testNow) || rec.App != ingest.DefaultApp {
					t.Errorf("record time %v app %q: want the handler's clock and the default app", rec.Time, rec.App)
				}
			}
		})
	}
}

// randomMessages returns n NDJSON messages that do not compress well.
func randomMessages(n int) []byte {
	var b bytes.Buffer
	rng := rand.New(rand.NewPCG(1, 2))
	for range n {
		fmt.Fprintf(&b, `{"type":"message","id":"msg_%016x%016x"}`+"\n", rng.Uint64(), rng.Uint64())
	}
	return b.Bytes()
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func TestPostResponsesRefused(t *testing.T) {
	msg := compact(t, "messages/end_turn.json")
	bomb := gzipped(t, bytes.Repeat([]byte(" "), 8<<20))
	for _, c := range []struct {
		name   string
		lim    ingest.Limits
		body   []byte
		header map[string]string
		status int
		want   string
	}{
		{"all bad", ingest.Limits{}, []byte("{\"type\":\"foo\"}\n[1]\n"), map[string]string{"Content-Type": "application/x-ndjson"}, 400,
			`no record could be read: record 0: unknown record type "foo": ` + expectedKinds + `; record 1: expected a JSON object, got an array`},
		{"empty", ingest.Limits{}, nil, nil, 400, "the body is empty: send a JSON object, a JSON array or NDJSON of records"},
		{"empty gzip", ingest.Limits{}, gzipped(t, nil), map[string]string{"Content-Encoding": "gzip"}, 400, "the body is empty: send a JSON object, a JSON array or NDJSON of records"},
		{"over the compressed limit", ingest.Limits{MaxBodyBytes: 100}, []byte(msg), nil, 413,
			"the request body is larger than 100 bytes, the limit on bodies as sent; send smaller batches, compress them with gzip, or raise the limit with -ingest-max-body-bytes"},
		{"over the compressed limit, gzip", ingest.Limits{MaxBodyBytes: 1 << 10}, gzipped(t, randomMessages(200)), map[string]string{"Content-Encoding": "gzip"}, 413,
			"the request body is larger than 1 KiB (1024 bytes), the limit on bodies as sent; send smaller batches, compress them with gzip, or raise the limit with -ingest-max-body-bytes"},
		{"over the decompressed limit", ingest.Limits{MaxDecompressedBytes: 1 << 20}, bomb, map[string]string{"Content-Encoding": "gzip"}, 413,
			"the request body is larger than 1 MiB (1048576 bytes) once decompressed, the limit on decompressed bodies; send smaller batches or raise the limit with -ingest-max-decompressed-bytes"},
		{"identity over the decompressed limit", ingest.Limits{MaxDecompressedBytes: 100}, []byte(msg), nil, 413,
			"the request body is larger than 100 bytes once decompressed, the limit on decompressed bodies; send smaller batches or raise the limit with -ingest-max-decompressed-bytes"},
		{"too many records", ingest.Limits{MaxRecords: 2}, []byte(strings.Repeat(msg+"\n", 3)), nil, 413,
			"the body holds more than 2 records, the limit per request; send smaller batches or raise it with -ingest-max-records"},
		{"not gzip", ingest.Limits{}, []byte(msg), map[string]string{"Content-Encoding": "gzip"}, 400, "the body is not valid gzip: gzip: invalid header"},
		{"gzip cut short", ingest.Limits{}, gzipped(t, []byte(msg))[:60], map[string]string{"Content-Encoding": "gzip"}, 400, "the body is not valid gzip: unexpected EOF"},
		{"unknown encoding", ingest.Limits{}, []byte(msg), map[string]string{"Content-Encoding": "br"}, 400, `Content-Encoding "br" is not supported: send gzip or identity`},
	} {
		t.Run(c.name, func(t *testing.T) {
			sink := &sliceSink{}
			status, answer := post(t, &receiver.Handler{Sink: sink, Limits: c.lim}, bytes.NewReader(c.body), c.header)
			if status != c.status || answer["error"] != c.want {
				t.Errorf("got %d %v\nwant %d %s", status, answer["error"], c.status, c.want)
			}
			if len(sink.recs) != 0 {
				t.Errorf("stored %d records", len(sink.recs))
			}
		})
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// TestGzipBombRefusedEarly checks that a body that inflates far past the
// limit is refused after reading a small part of it.
func TestGzipBombRefusedEarly(t *testing.T) {
	bomb := gzipped(t, bytes.Repeat([]byte("\n"), 64<<20))
	body := &countingReader{r: bytes.NewReader(bomb)}
	h := &receiver.Handler{Sink: &sliceSink{}, Limits: ingest.Limits{MaxDecompressedBytes: 1 << 20}}
	status, answer := post(t, h, body, map[string]string{"Content-Encoding": "gzip"})
	if status != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d %v", status, answer)
	}
	t.Logf("read %d of %d compressed bytes", body.n, len(bomb))
	if body.n > len(bomb)/8 {
		t.Errorf("read %d of %d compressed bytes before refusing", body.n, len(bomb))
	}
}

// TestPostResponsesContentLength checks that a declared length over the
// limit is refused before reading.
func TestPostResponsesContentLength(t *testing.T) {
	body := &countingReader{r: strings.NewReader(compact(t, "messages/end_turn.json"))}
	req := httptest.NewRequest(http.MethodPost, "/v1/responses", body)
	req.ContentLength = 1 << 30
	rr := httptest.NewRecorder()
	newEcho(&receiver.Handler{Sink: &sliceSink{}}).ServeHTTP(rr, req)
	if rr.Code != http.StatusRequestEntityTooLarge || body.n != 0 {
		t.Errorf("status %d after reading %d bytes", rr.Code, body.n)
	}
}

// TestPostResponsesSinkFails checks that nothing is acknowledged when the
// records could not be stored, and that the sink's error goes through.
func TestPostResponsesSinkFails(t *testing.T) {
	body := compact(t, "messages/end_turn.json")
	for _, c := range []struct {
		err    error
		status int
		want   string
	}{
		{analytics.Errorf(analytics.EUnavailable, "the store is shutting down"), 503, "the store is shutting down"},
		{errors.New("disk on fire"), 500, "internal error"},
	} {
		status, answer := post(t, &receiver.Handler{Sink: &sliceSink{err: c.err}}, strings.NewReader(body), nil)
		if status != c.status || answer["error"] != c.want || answer["accepted"] != nil {
			t.Errorf("got %d %v, want %d %s", status, answer, c.status, c.want)
		}
	}
}

// TestPostResponsesEnvelopeTime checks that the handler's clock judges
// times in the future and stamps records without one.
func TestPostResponsesEnvelopeTime(t *testing.T) {
	msg := compact(t, "messages/end_turn.json")
	body := `{"time":"2025-06-01T11:00:00Z","app":"a","response":` + msg + "}\n" +
		`{"time":"2025-06-03T12:00:00Z","response":` + msg + "}\n" +
		`{"response":` + msg + "}\n"
	sink := &sliceSink{}
	status, answer := post(t, &receiver.Handler{Sink: sink, Now: func() time.Time { return testNow }}, strings.NewReader(body), nil)
	if status != 200 || answer["accepted"] != 2.0 {
		t.Fatalf("%d %v", status, answer)
	}
	if !sink.recs[0].Time.Equal(testNow.Add(-time.Hour)) || sink.recs[0].App != "a" || !sink.recs[1].Time.Equal(testNow) {
		t.Errorf("times %v %v", sink.recs[0].Time, sink.recs[1].Time)
	}
}
