// Package otlp turns OpenTelemetry traces and logs into stopscope records. It
// reads the conventions real instrumentations of the Anthropic SDKs write
// (OpenTelemetry GenAI semantic conventions, OpenLLMetry, OpenInference,
// OpenLIT, the SDKs' own spans) and maps them back to the Messages API's
// vocabulary, as described in MAPPING.md. It is pure: no I/O, no HTTP, no SQL.
package otlp

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/stopscope/stopscope/analytics"
)

// Source is the value of analytics.Record.Source for every record decoded here.
const Source = "otlp"

// Traces decodes the Claude calls and Agent SDK runs in td into classified
// records. Spans without GenAI attributes, and GenAI spans of other providers,
// are accepted and skipped. When a producer nests two spans for one call (an
// instrumentation's span wrapping the SDK's own span), they become one record.
// now stamps records whose span has no start time, and is the clock their
// times are judged by. Each Claude span without its ids, or whose record is
// out of the bounds every way in shares (analytics.Record.CheckBounds), is
// rejected on its own: rejected counts them and rejectMsg says why, naming
// the span and the field ("" when none).
func Traces(td ptrace.Traces, now time.Time) (recs []*analytics.Record, rejected int, rejectMsg string) {
	var calls []*call
	var cc []*analytics.Record // Claude Code's calls
	rj := rejections{what: "span(s)"}
	for i := 0; i < td.ResourceSpans().Len(); i++ {
		rs := td.ResourceSpans().At(i)
		res := readResource(rs.Resource().Attributes())
		for j := 0; j < rs.ScopeSpans().Len(); j++ {
			ss := rs.ScopeSpans().At(j)
			scope := ss.Scope().Name()
			for k := 0; k < ss.Spans().Len(); k++ {
				sp := ss.Spans().At(k)
				if isClaudeCodeSpan(scope, sp.Name()) {
					r, err := claudeCodeSpan(sp, res, now)
					switch {
					case err != nil:
						rj.add(err.Error())
					case r != nil:
						if err := r.CheckBounds(now); err != nil {
							rj.add(fmt.Sprintf("span %s: %v", r.SpanID, err))
							continue
						}
						cc = append(cc, r)
					}
					continue
				}
				c := fromSpan(sp, res, scope)
				if c == nil {
					continue
				}
				if c.traceID == "" || c.spanID == "" {
					rj.add(fmt.Sprintf("GenAI span %q: trace_id and span_id are required", clipValue(sp.Name())))
					continue
				}
				calls = append(calls, c)
			}
		}
	}
	calls = mergeNested(calls)
	// One allocation for the batch's records: they are stored together.
	slab := make([]analytics.Record, len(calls))
	recs = make([]*analytics.Record, 0, len(calls)+len(cc))
	for i, c := range calls {
		c.recordInto(&slab[i], now)
		if err := c.check(&slab[i], now); err != nil {
			rj.add(fmt.Sprintf("span %s: %v", c.spanID, err))
			continue
		}
		recs = append(recs, &slab[i])
	}
	recs = append(recs, cc...)
	return recs, rj.n, rj.message()
}

// check returns why a call's record cannot be stored: a number that could
// not be read, or one out of bounds.
func (c *call) check(r *analytics.Record, now time.Time) error {
	if c.bad != "" {
		return errors.New(c.bad)
	}
	return r.CheckBounds(now)
}

// maxRejectReasons is how many rejections an export's message details.
const maxRejectReasons = 5

// rejections counts the spans or log records of an export that were
// rejected and keeps the first reasons for the message.
type rejections struct {
	what    string
	n       int
	reasons []string
}

func (rj *rejections) add(reason string) {
	rj.n++
	if len(rj.reasons) < maxRejectReasons {
		rj.reasons = append(rj.reasons, reason)
	}
}

// message is OTLP's partial_success error_message: how many were rejected
// and why, "" when none were.
func (rj *rejections) message() string {
	if rj.n == 0 {
		return ""
	}
	msg := fmt.Sprintf("%d %s rejected: %s", rj.n, rj.what, strings.Join(rj.reasons, "; "))
	if more := rj.n - len(rj.reasons); more > 0 {
		msg += fmt.Sprintf("; and %d more", more)
	}
	return msg
}

// Logs decodes the GenAI events in ld into classified records, and Claude
// Code's call events (see claudecode.go): the
// gen_ai.client.inference.operation.details event (one call per event) and
// the deprecated per-message events, of which a gen_ai.choice makes a record
// and the gen_ai.*.message events of the same span fill its request. Other
// log records are accepted and skipped. A call exported both as a span and as
// events is stored once only when both carry its response id. Each record
// out of the bounds every way in shares is rejected on its own, as in Traces.
func Logs(ld plog.Logs, now time.Time) (recs []*analytics.Record, rejected int, rejectMsg string) {
	var calls []*call
	var cc ccEvents
	rj := rejections{what: "log record(s)"}
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		rl := ld.ResourceLogs().At(i)
		res := readResource(rl.Resource().Attributes())
		for j := 0; j < rl.ScopeLogs().Len(); j++ {
			sl := rl.ScopeLogs().At(j)
			scope := sl.Scope().Name()
			// The deprecated events of one call share its span: gather them.
			groups := map[string]*eventGroup{}
			var order []string
			for k := 0; k < sl.LogRecords().Len(); k++ {
				lr := sl.LogRecords().At(k)
				if ccName := claudeCodeEventName(lr, scope); ccName != "" {
					cc.add(ccName, lr, res, now)
					continue
				}
				name := eventName(lr)
				switch {
				case name == eventInferenceDetails:
					c := fromAttrs(lr.Attributes(), res, scope, "")
					if c == nil {
						continue
					}
					c.setLogContext(lr, now)
					calls = append(calls, c)
				case isMessageEvent(name):
					key := lr.TraceID().String() + "/" + lr.SpanID().String()
					if lr.SpanID().IsEmpty() {
						// Without a span, each choice stands alone.
						key = fmt.Sprintf("log#%d", k)
					}
					g := groups[key]
					if g == nil {
						g = &eventGroup{}
						groups[key] = g
						order = append(order, key)
					}
					g.add(name, lr)
				}
			}
			for _, key := range order {
				c := groups[key].call(res, scope, now)
				if c != nil {
					calls = append(calls, c)
				}
			}
		}
	}
	recs = make([]*analytics.Record, 0, len(calls)+len(cc.order))
	for _, c := range calls {
		r := c.record(now)
		if err := c.check(r, now); err != nil {
			rj.add(fmt.Sprintf("log record of span %q: %v", c.spanID, err))
			continue
		}
		recs = append(recs, r)
	}
	for _, why := range cc.why {
		rj.add(why)
	}
	// Past the reasons kept, Claude Code's rejections are counted alone.
	rj.n += cc.rejected - len(cc.why)
	for _, r := range cc.records() {
		if err := r.CheckBounds(now); err != nil {
			rj.add(fmt.Sprintf("Claude Code event of request %q: %v", r.RequestID, err))
			continue
		}
		recs = append(recs, r)
	}
	return recs, rj.n, rj.message()
}

// resource is what a resource says about the app that made the calls:
// service.name, deployment.environment(.name) and, as its release,
// service.version.
type resource struct {
	app, env, release string
}

func readResource(m pcommon.Map) resource {
	var r resource
	if v, ok := m.Get("service.name"); ok {
		r.app = v.AsString()
	}
	if v, ok := m.Get("service.version"); ok {
		r.release = v.AsString()
	}
	for _, k := range []string{"deployment.environment.name", "deployment.environment"} {
		if v, ok := m.Get(k); ok && v.AsString() != "" {
			r.env = v.AsString()
			break
		}
	}
	return r
}

// mergeNested folds a Claude span into its parent when the parent is a Claude
// call too: OpenInference's LLM span wraps the Anthropic SDK's own client span,
// and both describe the same API call. The inner span is closer to the wire,
// so its facts win; the outer one adds what it alone has (content, bodies).
// When an outer span has several inner ones (SDK retries), the last to end
// gets its facts and the others stand alone.
func mergeNested(calls []*call) []*call {
	if !slices.ContainsFunc(calls, func(c *call) bool { return c.parentID != "" && !c.agent }) {
		return calls // nothing to merge: spare the index
	}
	type spanKey struct{ trace, span string }
	byID := make(map[spanKey]*call, len(calls))
	for _, c := range calls {
		byID[spanKey{c.traceID, c.spanID}] = c
	}
	inner := map[*call][]*call{}
	for _, c := range calls {
		if c.parentID == "" || c.agent {
			continue
		}
		if p := byID[spanKey{c.traceID, c.parentID}]; p != nil && !p.agent {
			inner[p] = append(inner[p], c)
		}
	}
	if len(inner) == 0 {
		return calls
	}
	drop := map[*call]bool{}
	for outer, kids := range inner {
		sort.SliceStable(kids, func(i, j int) bool { return kids[i].end.Before(kids[j].end) })
		last := kids[len(kids)-1]
		last.fillFrom(outer)
		if last.platform && !outer.platform {
			// The Claude API's span of the app's call: the app is the
			// caller's, which the API does not know.
			last.app, last.env, last.platform = outer.app, outer.env, false
			last.release = outer.release
		}
		drop[outer] = true
	}
	out := calls[:0]
	for _, c := range calls {
		if !drop[c] {
			out = append(out, c)
		}
	}
	return out
}
