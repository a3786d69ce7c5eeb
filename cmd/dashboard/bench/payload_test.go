package bench

import (
	"bytes"
	"encoding/binary"
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
	// Age the template by an hour, as if built then: unless stamp moves
	// the times, its spans end an hour before it runs.
	tpl := tpls[0]
	for _, off := range tpl.times {
		binary.LittleEndian.PutUint64(tpl.body[off:], binary.LittleEndian.Uint64(tpl.body[off:])-uint64(time.Hour))
	}
	tpl.base -= int64(time.Hour)
	before := time.Now()
	body := tpl.stamp(nil, 12345)
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
