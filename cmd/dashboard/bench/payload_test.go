package bench

import (
	"bytes"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// TestOTLPTemplateTimes checks that a stamped OTLP export carries the
// time it was stamped at, and the ids' markers replaced.
func TestOTLPTemplateTimes(t *testing.T) {
	now := time.Now().UTC()
	recs, err := decodeLines(benchEnvelopes(1, now, 40), now)
	if err != nil {
		t.Fatal(err)
	}
	tpls, err := otlpTemplates(recs, 20, 1)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	before := time.Now()
	body := tpls[0].stamp(nil, 12345)
	after := time.Now()
	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalProto(body); err != nil {
		t.Fatal(err)
	}
	n := 0
	rss := req.Traces().ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				sp := spans.At(k)
				n++
				end, start := sp.EndTimestamp().AsTime(), sp.StartTimestamp().AsTime()
				if end.Before(before.Add(-time.Second)) || end.After(after) || start.After(end) {
					t.Errorf("span %d: %v to %v, stamped between %v and %v", n, start, end, before, after)
				}
			}
		}
	}
	if n != 20 {
		t.Errorf("%d spans, want 20", n)
	}
	if bytes.Contains(body, []byte(idMarker)) {
		t.Errorf("the stamped body still holds the marker %q", idMarker)
	}
}
