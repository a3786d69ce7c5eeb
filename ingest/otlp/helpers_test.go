package otlp

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/ingest/testfixtures"
)

// testNow is the server's clock in these tests: after t0 and every
// capture, and less than ten years after them, so that their times are
// within the bounds.
var testNow = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

const (
	captureJSON  = "otlp/openllmetry-js-anthropic-traces.json"
	captureProto = "otlp/openinference-js-anthropic-traces.pb"
)

func readCapture(t testing.TB, path string) ptrace.Traces {
	t.Helper()
	b := testfixtures.Read(t, path)
	req := ptraceotlp.NewExportRequest()
	var err error
	if strings.HasSuffix(path, ".json") {
		err = req.UnmarshalJSON(b)
	} else {
		err = req.UnmarshalProto(b)
	}
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return req.Traces()
}

// summary counts records by what the fixtures' README describes, as sorted
// "key=count" lines, so a mismatch shows the whole picture.
func summary(recs []*analytics.Record) string {
	n := map[string]int{}
	for _, r := range recs {
		n["total"]++
		n["app="+r.App]++
		n["env="+r.Environment]++
		n["source="+r.Source]++
		n["kind="+string(r.Kind)]++
		if r.Kind != analytics.KindError {
			k := "stop=" + r.StopReason.Key()
			if r.StopReasonAmbiguous {
				k += "(ambiguous)"
			}
			n[k]++
		} else {
			n[fmt.Sprintf("error=%d/%s/%s", r.HTTPStatus, r.ErrorType, r.ErrorMessage)]++
		}
		for _, f := range r.Flags.List() {
			n["flag="+string(f)]++
		}
		for _, c := range r.Causes {
			n["cause="+string(c)]++
		}
		for _, tool := range r.Tools {
			n["tool="+tool]++
		}
		if r.StopSequence != "" {
			n["stop_sequence="+r.StopSequence]++
		}
		if r.Streamed {
			n["streamed"]++
		}
		if r.MessageID != "" {
			n["has_message_id"]++
		}
		if r.TraceID != "" && r.SpanID != "" {
			n["has_trace_and_span"]++
		}
	}
	lines := make([]string, 0, len(n))
	for k, v := range n {
		lines = append(lines, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func sortedCopy(ss []string) []string {
	out := append([]string(nil), ss...)
	sort.Strings(out)
	return out
}
