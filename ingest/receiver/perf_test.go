package receiver

import (
	"bytes"
	"compress/gzip"
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/ingest/otlp"
	"github.com/stopscope/stopscope/ingest/testfixtures"
)

// countSink counts what it is given and keeps nothing.
type countSink struct{ n int }

func (s *countSink) Insert(_ context.Context, recs []*analytics.Record) error {
	s.n += len(recs)
	return nil
}

// benchTraces is an export of copies copies of the OpenInference capture
// (22 spans, 11 Claude calls each), every copy in traces of its own.
func benchTraces(b testing.TB, copies int) ptrace.Traces {
	data := testfixtures.Read(b, "otlp/openinference-js-anthropic-traces.pb")
	td := ptrace.NewTraces()
	for k := range copies {
		req := ptraceotlp.NewExportRequest()
		if err := req.UnmarshalProto(data); err != nil {
			b.Fatal(err)
		}
		rss := req.Traces().ResourceSpans()
		for i := 0; i < rss.Len(); i++ {
			sss := rss.At(i).ScopeSpans()
			for j := 0; j < sss.Len(); j++ {
				spans := sss.At(j).Spans()
				for l := 0; l < spans.Len(); l++ {
					tid := spans.At(l).TraceID()
					tid[0], tid[1] = byte(k), byte(k>>8)
					spans.At(l).SetTraceID(tid)
				}
			}
		}
		rss.MoveAndAppendTo(td.ResourceSpans())
	}
	return td
}

// BenchmarkTracesHandler serves POST /v1/traces with an export of about
// 1,000 spans (500 Claude calls), as protobuf, gzipped protobuf and JSON.
func BenchmarkTracesHandler(b *testing.B) {
	const copies = 45
	td := benchTraces(b, copies)
	req := ptraceotlp.NewExportRequestFromTraces(td)
	pb, err := req.MarshalProto()
	if err != nil {
		b.Fatal(err)
	}
	js, err := req.MarshalJSON()
	if err != nil {
		b.Fatal(err)
	}
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	if _, err := zw.Write(pb); err != nil {
		b.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name, ct, enc string
		body          []byte
	}{
		{"proto", ContentTypeProtobuf, "", pb},
		{"proto-gzip", ContentTypeProtobuf, "gzip", zb.Bytes()},
		{"json", ContentTypeJSON, "", js},
	} {
		b.Run(tc.name, func(b *testing.B) {
			sink := &countSink{}
			r := &Receiver{Sink: sink, Now: func() time.Time { return captureNow }}
			e := echo.New()
			b.ReportAllocs()
			b.SetBytes(int64(len(tc.body)))
			for b.Loop() {
				hr := httptest.NewRequest(http.MethodPost, "/v1/traces", bytes.NewReader(tc.body))
				hr.Header.Set("Content-Type", tc.ct)
				if tc.enc != "" {
					hr.Header.Set("Content-Encoding", tc.enc)
				}
				rec := httptest.NewRecorder()
				if err := r.Traces(e.NewContext(hr, rec)); err != nil || rec.Code != http.StatusOK {
					b.Fatalf("status %d, error %v", rec.Code, err)
				}
			}
			if sink.n != b.N*11*copies {
				b.Fatalf("stored %d records over %d requests", sink.n, b.N)
			}
		})
	}
}

// TestBodyNotRetained checks what pooling request bodies rests on: the
// records decoded from a body share no memory with it, so that the body's
// buffer can be reused once they are made.
func TestBodyNotRetained(t *testing.T) {
	td := benchTraces(t, 2)
	req := ptraceotlp.NewExportRequestFromTraces(td)
	pb, err := req.MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	js, err := req.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		isJSON bool
		data   []byte
	}{{"proto", false, pb}, {"json", true, js}} {
		t.Run(tc.name, func(t *testing.T) {
			decode := func(data []byte) []*analytics.Record {
				req := ptraceotlp.NewExportRequest()
				if err := unmarshal(req, data, tc.isJSON); err != nil {
					t.Fatal(err)
				}
				recs, _, _ := otlp.Traces(req.Traces(), captureNow)
				return recs
			}
			hr := httptest.NewRequest(http.MethodPost, "/v1/traces", bytes.NewReader(tc.data))
			r := &Receiver{}
			b, err := r.readBody(hr, false)
			if err != nil {
				t.Fatal(err)
			}
			got := decode(b.bytes())
			for i := range b.bytes() {
				b.bytes()[i] = 0xff
			}
			b.release()
			want := decode(bytes.Clone(tc.data))
			if len(got) != 22 || !reflect.DeepEqual(got, want) {
				t.Errorf("records changed with the body they were decoded from (%d records)", len(got))
			}
		})
	}
}
