package receiver

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	statuspb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/ingest"
	"github.com/stopscope/stopscope/ingest/otlp"
	"github.com/stopscope/stopscope/store"
)

// Default limits of OTLP/HTTP, used when the Receiver's are zero.
const (
	DefaultMaxBodyBytes         = 8 << 20
	DefaultMaxDecompressedBytes = 32 << 20
)

// Content types of OTLP/HTTP.
const (
	ContentTypeProtobuf = "application/x-protobuf"
	ContentTypeJSON     = "application/json"
)

// Receiver receives OTLP exports, over HTTP and gRPC, and stores the Claude
// calls they carry and the producer totals of Claude Code's metrics. Its
// zero limits mean the defaults; Now defaults to time.Now. It is safe for
// concurrent use once configured.
type Receiver struct {
	Sink store.Inserter
	// MetricSink keeps the producer totals read from metric exports; when
	// nil, metric exports are accepted and dropped.
	MetricSink store.MetricInserter
	// Seen, when set, is told which producers each export came from.
	Seen *Seen
	// MaxBodyBytes limits a request body as sent (compressed or not).
	MaxBodyBytes int64
	// MaxDecompressedBytes limits a gzip body once decompressed.
	MaxDecompressedBytes int64
	// Now stamps records whose span has no time; it defaults to time.Now.
	Now func() time.Time
	// Rejected, when set, is told how many spans or log records of an
	// export were rejected (the service counts them in its own metrics).
	Rejected func(ctx context.Context, n int)
}

func (r *Receiver) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Receiver) maxBody() int64 {
	if r.MaxBodyBytes > 0 {
		return r.MaxBodyBytes
	}
	return DefaultMaxBodyBytes
}

func (r *Receiver) maxDecompressed() int64 {
	if r.MaxDecompressedBytes > 0 {
		return r.MaxDecompressedBytes
	}
	return DefaultMaxDecompressedBytes
}

// Traces handles POST /v1/traces: an ExportTraceServiceRequest in, the
// matching ExportTraceServiceResponse out, in the request's content type.
func (r *Receiver) Traces(c echo.Context) error {
	return r.serve(c, func(body []byte, isJSON bool) ([]byte, error, error) {
		req := ptraceotlp.NewExportRequest()
		if err := unmarshal(req, body, isJSON); err != nil {
			return nil, err, nil
		}
		rejected, msg, err := r.exportTraces(c.Request().Context(), req)
		if err != nil {
			return nil, nil, err
		}
		resp := ptraceotlp.NewExportResponse()
		if rejected > 0 {
			resp.PartialSuccess().SetRejectedSpans(int64(rejected))
			resp.PartialSuccess().SetErrorMessage(msg)
		}
		out, err := marshal(resp, isJSON)
		return out, nil, err
	})
}

// Logs handles POST /v1/logs: an ExportLogsServiceRequest in, the matching
// ExportLogsServiceResponse out, in the request's content type.
func (r *Receiver) Logs(c echo.Context) error {
	return r.serve(c, func(body []byte, isJSON bool) ([]byte, error, error) {
		req := plogotlp.NewExportRequest()
		if err := unmarshal(req, body, isJSON); err != nil {
			return nil, err, nil
		}
		rejected, msg, err := r.exportLogs(c.Request().Context(), req)
		if err != nil {
			return nil, nil, err
		}
		resp := plogotlp.NewExportResponse()
		if rejected > 0 {
			resp.PartialSuccess().SetRejectedLogRecords(int64(rejected))
			resp.PartialSuccess().SetErrorMessage(msg)
		}
		out, err := marshal(resp, isJSON)
		return out, nil, err
	})
}

// Metrics handles POST /v1/metrics: an ExportMetricsServiceRequest in, the
// matching ExportMetricsServiceResponse out, in the request's content type.
// Claude Code's token and cost totals are kept; every other metric is
// accepted and ignored.
func (r *Receiver) Metrics(c echo.Context) error {
	return r.serve(c, func(body []byte, isJSON bool) ([]byte, error, error) {
		req := pmetricotlp.NewExportRequest()
		if err := unmarshal(req, body, isJSON); err != nil {
			return nil, err, nil
		}
		rejected, msg, err := r.exportMetrics(c.Request().Context(), req)
		if err != nil {
			return nil, nil, err
		}
		resp := pmetricotlp.NewExportResponse()
		if rejected > 0 {
			resp.PartialSuccess().SetRejectedDataPoints(int64(rejected))
			resp.PartialSuccess().SetErrorMessage(msg)
		}
		out, err := marshal(resp, isJSON)
		return out, nil, err
	})
}

func (r *Receiver) exportMetrics(ctx context.Context, req pmetricotlp.ExportRequest) (int, string, error) {
	md := req.Metrics()
	r.Seen.Mark(SignalMetrics, otlp.MetricsProducers(md)...)
	pts, rejected, msg := otlp.Metrics(md)
	r.countRejected(ctx, rejected)
	if len(pts) == 0 || r.MetricSink == nil {
		return rejected, msg, nil
	}
	return rejected, msg, r.MetricSink.InsertMetricPoints(ctx, pts)
}

func (r *Receiver) exportTraces(ctx context.Context, req ptraceotlp.ExportRequest) (int, string, error) {
	r.Seen.Mark(SignalTraces, otlp.TracesProducers(req.Traces())...)
	recs, rejected, msg := otlp.Traces(req.Traces(), r.now())
	r.countRejected(ctx, rejected)
	return rejected, msg, r.insert(ctx, recs)
}

func (r *Receiver) exportLogs(ctx context.Context, req plogotlp.ExportRequest) (int, string, error) {
	r.Seen.Mark(SignalLogs, otlp.LogsProducers(req.Logs())...)
	recs, rejected, msg := otlp.Logs(req.Logs(), r.now())
	r.countRejected(ctx, rejected)
	return rejected, msg, r.insert(ctx, recs)
}

func (r *Receiver) countRejected(ctx context.Context, n int) {
	if r.Rejected != nil && n > 0 {
		r.Rejected(ctx, n)
	}
}

func (r *Receiver) insert(ctx context.Context, recs []*analytics.Record) error {
	if len(recs) == 0 {
		return nil
	}
	if r.Sink == nil {
		return analytics.Errorf(analytics.EUnavailable, "no store to receive OTLP records")
	}
	return r.Sink.Insert(ctx, recs)
}

type protoJSON interface {
	UnmarshalProto([]byte) error
	UnmarshalJSON([]byte) error
}

// unmarshal decodes an export. A JSON body's shape is bounded first
// (ingest.CheckJSONShape): pdata's JSON decoder has no limit on nesting, and
// builds a value of about a hundred bytes for each element of two or three.
// Protobuf's decoder stops at 100 nested messages itself.
func unmarshal(m protoJSON, body []byte, isJSON bool) error {
	if isJSON {
		if err := ingest.CheckJSONShape(body); err != nil {
			return err
		}
		return m.UnmarshalJSON(body)
	}
	return m.UnmarshalProto(body)
}

type protoJSONOut interface {
	MarshalProto() ([]byte, error)
	MarshalJSON() ([]byte, error)
}

func marshal(m protoJSONOut, isJSON bool) ([]byte, error) {
	if isJSON {
		return m.MarshalJSON()
	}
	return m.MarshalProto()
}

// serve reads, bounds and decompresses the body, then runs handle, which
// returns the response body, or a decoding error (answered 400 here), or
// another error (returned to the central handler).
func (r *Receiver) serve(c echo.Context, handle func(body []byte, isJSON bool) ([]byte, error, error)) error {
	req := c.Request()
	isJSON, ok := mediaType(req.Header.Get(echo.HeaderContentType))
	if !ok {
		return c.String(http.StatusUnsupportedMediaType,
			"unsupported content type: OTLP/HTTP takes application/x-protobuf or application/json")
	}
	ct := ContentTypeProtobuf
	if isJSON {
		ct = ContentTypeJSON
	}
	enc := strings.ToLower(strings.TrimSpace(req.Header.Get(echo.HeaderContentEncoding)))
	if enc != "" && enc != "identity" && enc != "gzip" {
		return c.String(http.StatusUnsupportedMediaType, "unsupported content encoding "+enc+": use gzip or none")
	}
	body, err := r.readBody(req, enc == "gzip")
	defer body.release()
	if err != nil {
		if analytics.ErrorCode(err) == analytics.EInvalid {
			return writeStatus(c, ct, isJSON, err.Error())
		}
		return err
	}
	out, decodeErr, err := handle(body.bytes(), isJSON)
	if decodeErr != nil {
		return writeStatus(c, ct, isJSON, "cannot decode the OTLP request: "+decodeErr.Error())
	}
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, ct, out)
}

// mediaType reports whether a Content-Type is OTLP's JSON (true) or
// protobuf (false), with or without parameters; ok is false for any other.
func mediaType(h string) (isJSON, ok bool) {
	// The exact types, as exporters send them, need no parsing.
	switch h {
	case ContentTypeJSON:
		return true, true
	case ContentTypeProtobuf:
		return false, true
	}
	mt, _, err := mime.ParseMediaType(h)
	if err != nil {
		return false, false
	}
	switch mt {
	case ContentTypeJSON:
		return true, true
	case ContentTypeProtobuf:
		return false, true
	}
	return false, false
}

// body is a request body read into pooled buffers: a trace export is
// megabytes, and pdata copies out all it keeps (strings and bytes alike), so
// the buffers can serve the next request once the export is decoded.
type body struct {
	raw, inflated *bytes.Buffer // inflated is nil unless gzipped
}

// maxPooledBuffer is the largest buffer kept for reuse: rarer larger bodies
// are left to the garbage collector rather than held.
const maxPooledBuffer = DefaultMaxBodyBytes

var (
	bufferPool sync.Pool // *bytes.Buffer
	gzipPool   sync.Pool // *gzip.Reader
)

func getBuffer() *bytes.Buffer {
	if b, ok := bufferPool.Get().(*bytes.Buffer); ok {
		return b
	}
	return new(bytes.Buffer)
}

func putBuffer(b *bytes.Buffer) {
	if b == nil || b.Cap() > maxPooledBuffer {
		return
	}
	b.Reset()
	bufferPool.Put(b)
}

// bytes returns the body as decoded from gzip when it was gzipped.
func (b body) bytes() []byte {
	if b.inflated != nil {
		return b.inflated.Bytes()
	}
	return b.raw.Bytes()
}

// release returns the buffers to the pool: the body must no longer be used.
func (b body) release() {
	putBuffer(b.raw)
	putBuffer(b.inflated)
}

// readBody reads the body within MaxBodyBytes and, for gzip, decompresses it
// within MaxDecompressedBytes, stopping as soon as a limit is passed so that
// neither a large body nor a gzip bomb is held in memory. The body returned
// must be released, also with an error.
func (r *Receiver) readBody(req *http.Request, gz bool) (body, error) {
	var b body
	limit := r.maxBody()
	if req.ContentLength > limit {
		return b, analytics.Errorf(analytics.ETooLarge, "request body of %d bytes is over the limit of %d", req.ContentLength, limit)
	}
	b.raw = getBuffer()
	if req.ContentLength > 0 {
		// Room for the whole body and the final read that finds its end.
		b.raw.Grow(int(req.ContentLength) + bytes.MinRead)
	}
	if _, err := b.raw.ReadFrom(io.LimitReader(req.Body, limit+1)); err != nil {
		return b, analytics.Errorf(analytics.EInvalid, "cannot read the request body: %v", err)
	}
	if int64(b.raw.Len()) > limit {
		return b, analytics.Errorf(analytics.ETooLarge, "request body is over the limit of %d bytes", limit)
	}
	if !gz {
		return b, nil
	}
	zr, err := gzipReader(bytes.NewReader(b.raw.Bytes()))
	if err != nil {
		return b, analytics.Errorf(analytics.EInvalid, "invalid gzip body: %v", err)
	}
	defer gzipPool.Put(zr)
	dlimit := r.maxDecompressed()
	b.inflated = getBuffer()
	// A gzip member ends with its size modulo 2^32: room for that (within
	// the limit) spares the copies of growing by doubling, which held half
	// as much again as the body at the end. A size that lies costs no more
	// than a body that size.
	if raw := b.raw.Bytes(); len(raw) >= 18 {
		size := int64(binary.LittleEndian.Uint32(raw[len(raw)-4:]))
		b.inflated.Grow(int(min(size, dlimit) + bytes.MinRead))
	}
	_, err = b.inflated.ReadFrom(io.LimitReader(zr, dlimit+1))
	if int64(b.inflated.Len()) > dlimit {
		return b, analytics.Errorf(analytics.ETooLarge, "decompressed request body is over the limit of %d bytes", dlimit)
	}
	if err != nil {
		return b, analytics.Errorf(analytics.EInvalid, "invalid gzip body: %v", err)
	}
	return b, nil
}

// gzipReader returns a pooled gzip reader reading from r: a reader's
// decompression state is tens of KB, worth reusing. The caller puts it back.
func gzipReader(r io.Reader) (*gzip.Reader, error) {
	if zr, ok := gzipPool.Get().(*gzip.Reader); ok {
		if err := zr.Reset(r); err != nil {
			gzipPool.Put(zr)
			return nil, err
		}
		return zr, nil
	}
	return gzip.NewReader(r)
}

// writeStatus answers 400 with a google.rpc.Status body in the request's
// content type, as OTLP/HTTP asks for requests that cannot be processed.
// The message is made valid UTF-8 first: a decoder's error may quote the
// bytes it could not read, and protobuf refuses to write a string that is
// not UTF-8, which would make a bad request a 500.
func writeStatus(c echo.Context, ct string, isJSON bool, msg string) error {
	st := &statuspb.Status{Code: int32(grpcCode(analytics.EInvalid)), Message: strings.ToValidUTF8(msg, "\uFFFD")}
	var b []byte
	var err error
	if isJSON {
		b, err = protojson.Marshal(st)
	} else {
		b, err = proto.Marshal(st)
	}
	if err != nil {
		return err
	}
	return c.Blob(http.StatusBadRequest, ct, b)
}
