package otelclaude

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/packages/ssestream"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// benchStream is a long answer: the end_turn stream with its one text delta
// repeated deltas times.
func benchStream(b *testing.B, deltas int) []byte {
	fixture := readFixture(b, "streams/end_turn.sse")
	delta := []byte("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Paris is the capital of France. \"}}\n\n")
	at := bytes.Index(fixture, []byte("event: content_block_stop"))
	if at < 0 {
		b.Fatal("fixture has no content_block_stop")
	}
	var out bytes.Buffer
	out.Write(fixture[:at])
	for range deltas {
		out.Write(delta)
	}
	out.Write(fixture[at:])
	return out.Bytes()
}

// BenchmarkStreamPassthrough measures what the middleware adds to reading a
// stream of about 300 KB: "direct" is the body as the transport hands it
// over, "traced" the body behind the middleware. The bytes cases copy the
// body with a 4 KiB buffer, the sdk cases decode it with the SDK's own
// ssestream, as an application does. The transport is in-process so that
// network noise does not hide the wrapper's cost.
func BenchmarkStreamPassthrough(b *testing.B) {
	stream := benchStream(b, 2000)
	reqBody := []byte(`{"model":"claude-sonnet-4-6","max_tokens":1024,"stream":true,"messages":[{"role":"user","content":"What is the capital of France?"}]}`)
	tp := sdktrace.NewTracerProvider() // records spans, exports nothing
	b.Cleanup(func() { _ = tp.Shutdown(b.Context()) })

	next := func(req *http.Request) (*http.Response, error) {
		return &http.Response{
			StatusCode: 200,
			Header:     http.Header{"Content-Type": {"text/event-stream"}},
			Body:       io.NopCloser(bytes.NewReader(stream)),
			Request:    req,
		}, nil
	}
	respond := func(b *testing.B, mw func(*http.Request, func(*http.Request) (*http.Response, error)) (*http.Response, error)) *http.Response {
		req, err := http.NewRequest(http.MethodPost, "https://api.anthropic.com/v1/messages", bytes.NewReader(reqBody))
		if err != nil {
			b.Fatal(err)
		}
		if mw == nil {
			resp, _ := next(req)
			return resp
		}
		resp, err := mw(req, next)
		if err != nil {
			b.Fatal(err)
		}
		return resp
	}
	readers := []struct {
		name string
		read func(b *testing.B, resp *http.Response)
	}{
		{"bytes", func(b *testing.B, resp *http.Response) {
			buf := make([]byte, 4096)
			if _, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{resp.Body}, buf); err != nil {
				b.Fatal(err)
			}
			resp.Body.Close()
		}},
		{"sdk", func(b *testing.B, resp *http.Response) {
			s := ssestream.NewStream[anthropic.MessageStreamEventUnion](ssestream.NewDecoder(resp), nil)
			for s.Next() {
			}
			if err := s.Err(); err != nil {
				b.Fatal(err)
			}
			s.Close()
		}},
	}
	middlewares := []struct {
		name string
		mw   func(*http.Request, func(*http.Request) (*http.Response, error)) (*http.Response, error)
	}{
		{"direct", nil},
		{"traced", Middleware(WithTracerProvider(tp))},
		{"traced+content", Middleware(WithTracerProvider(tp), WithContent(true))},
	}
	for _, r := range readers {
		for _, m := range middlewares {
			b.Run(fmt.Sprintf("%s/%s", r.name, m.name), func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(stream)))
				for b.Loop() {
					r.read(b, respond(b, m.mw))
				}
			})
		}
	}
}
