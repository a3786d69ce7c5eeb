// Package otlp turns OpenTelemetry traces and logs into stopscope records. It
// reads the conventions real instrumentations of the Anthropic SDKs write
// (OpenTelemetry GenAI semantic conventions, OpenLLMetry, OpenInference,
// OpenLIT, the SDKs' own spans) and maps them back to the Messages API's
// vocabulary, as described in MAPPING.md. It is pure: no I/O, no HTTP, no SQL.
package otlp

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
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
// now stamps records whose span has no start time. rejected counts the Claude
// spans that could not be accepted and rejectMsg says why ("" when none).
func Traces(td ptrace.Traces, now time.Time) (recs []*analytics.Record, rejected int, rejectMsg string) {
	var calls []*call
	var cc []*analytics.Record // Claude Code's calls
	var why []string
	noIDs := 0
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
						rejected++
						if len(why) < 3 {
							why = append(why, err.Error())
						}
					case r != nil:
						cc = append(cc, r)
					}
					continue
				}
				c := fromSpan(sp, res, scope)
				if c == nil {
					continue
				}
				if c.traceID == "" || c.spanID == "" {
					rejected++
					noIDs++
					continue
				}
				calls = append(calls, c)
			}
		}
	}
	calls = mergeNested(calls)
	// One allocation for the batch's records: they are stored together.
	slab := make([]analytics.Record, len(calls))
	recs = make([]*analytics.Record, len(calls), len(calls)+len(cc))
	for i, c := range calls {
		c.recordInto(&slab[i], now)
		recs[i] = &slab[i]
	}
	recs = append(recs, cc...)
	if noIDs > 0 {
		why = append([]string{fmt.Sprintf("%d GenAI span(s) rejected: trace_id and span_id are required", noIDs)}, why...)
	}
	if rejected > 0 {
		rejectMsg = rejectSummary(rejected, "span", why)
	}
	return recs, rejected, rejectMsg
}

// Logs decodes the GenAI events in ld into classified records, and Claude
// Code's call events (see claudecode.go): the
// gen_ai.client.inference.operation.details event (one call per event) and
// the deprecated per-message events, of which a gen_ai.choice makes a record
// and the gen_ai.*.message events of the same span fill its request. Other
// log records are accepted and skipped. A call exported both as a span and as
// events is stored once only when both carry its response id.
func Logs(ld plog.Logs, now time.Time) (recs []*analytics.Record, rejected int, rejectMsg string) {
	var calls []*call
	var cc ccEvents
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
		recs = append(recs, c.record(now))
	}
	recs = append(recs, cc.records()...)
	if cc.rejected > 0 {
		rejected += cc.rejected
		rejectMsg = rejectSummary(rejected, "log record", cc.why)
	}
	return recs, rejected, rejectMsg
}

// rejectSummary says how many items were rejected and why, giving the
// first reasons.
func rejectSummary(n int, what string, why []string) string {
	if len(why) == 1 && strings.HasPrefix(why[0], strconv.Itoa(n)+" ") {
		return why[0]
	}
	return fmt.Sprintf("%d %s(s) rejected: %s", n, what, strings.Join(why, "; "))
}

// resource is what a resource says about the app that made the calls.
type resource struct {
	app, env string
}

func readResource(m pcommon.Map) resource {
	var r resource
	if v, ok := m.Get("service.name"); ok {
		r.app = v.AsString()
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
