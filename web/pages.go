package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
)

// filterView is a parsed filter together with the query it came from, so
// that links keep the filters and the URL stays shareable.
type filterView struct {
	store.Filter
	query url.Values
}

// Describe says in words which range and scope a view shows.
func (v filterView) Describe() string {
	s := v.From.Format("2006-01-02 15:04") + " – " + v.To.Format("2006-01-02 15:04") + " UTC"
	return s
}

// Active lists the filters in force, for display.
func (v filterView) Active() []string {
	var out []string
	for _, k := range []string{"app", "environment", "model", "kind", "stop_reason", "flag", "error_type", "session_id", "q"} {
		if val := v.query.Get(k); val != "" {
			out = append(out, k+": "+val)
		}
	}
	return out
}

// link returns path with the current query, changed by set (an empty value
// removes a key). A cursor never carries over into another view.
func (v filterView) link(path string, set map[string]string) string {
	q := url.Values{}
	for k, vals := range v.query {
		if k != "cursor" {
			q[k] = vals
		}
	}
	for k, val := range set {
		if val == "" {
			q.Del(k)
		} else {
			q.Set(k, val)
		}
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// clear keeps the time range and drops every other filter.
func (v filterView) clear() string {
	q := url.Values{}
	for _, k := range []string{"from", "to", "range"} {
		if val := v.query.Get(k); val != "" {
			q.Set(k, val)
		}
	}
	if len(q) == 0 {
		return "/responses"
	}
	return "/responses?" + q.Encode()
}

func (s *Server) filterView(c echo.Context) (filterView, error) {
	f, err := s.parseFilter(c)
	return filterView{Filter: f, query: c.QueryParams()}, err
}

func (s *Server) pageOverview(c echo.Context) error {
	v, err := s.filterView(c)
	if err != nil {
		return err
	}
	sum, err := s.summary(c, v.Filter)
	if err != nil {
		return err
	}
	d := overviewData{Filter: v, Summary: sum, Curl: curlExample(c.Request().Host)}
	calls := sum.Total - sum.Errors.Total
	d.StopRows = stopRows(v, sum, calls)
	for _, f := range analytics.AllFlags {
		d.FlagRows = append(d.FlagRows, countRow{
			Key: string(f), Label: string(f), Count: sum.Flags[string(f)], Share: share(sum.Flags[string(f)], sum.Total),
			Href: v.link("/responses", map[string]string{"flag": string(f)}), Class: "flag-" + string(f),
		})
	}
	for _, k := range sortedKeys(sum.Errors.ByType) {
		n := sum.Errors.ByType[k]
		d.ErrRows = append(d.ErrRows, countRow{
			Key: k, Label: k, Count: n, Share: share(n, sum.Errors.Total),
			Href: v.link("/responses", map[string]string{"kind": "error", "error_type": k}), Class: "sr-error",
		})
	}
	for _, st := range analytics.AgentSubtypes {
		n := sum.AgentSubtypes[st]
		d.Subtypes = append(d.Subtypes, countRow{
			Key: st, Label: st, Count: n, Share: share(n, sum.Kinds["agent_result"]),
			Href: v.link("/responses", map[string]string{"kind": "agent_result"}), Class: "subtype",
		})
	}
	return render(c, http.StatusOK, overviewPage(d))
}

// stopRows lists the known stop reasons, null, then unknown values seen.
func stopRows(v filterView, sum analytics.Summary, calls int64) []countRow {
	keys := []string{}
	for _, r := range analytics.KnownStopReasons {
		keys = append(keys, r.Key())
	}
	keys = append(keys, analytics.StopNull.Key())
	known := map[string]bool{}
	for _, k := range keys {
		known[k] = true
	}
	for _, k := range sortedKeys(sum.StopReasons) {
		if !known[k] {
			keys = append(keys, k)
		}
	}
	rows := make([]countRow, 0, len(keys))
	for _, k := range keys {
		n := sum.StopReasons[k]
		rows = append(rows, countRow{
			Key: k, Label: k, Count: n, Share: share(n, calls),
			Href:  v.link("/responses", map[string]string{"stop_reason": k, "kind": ""}),
			Class: stopClass(analytics.ParseStopReasonKey(k)),
		})
	}
	return rows
}

func (s *Server) pageResponses(c echo.Context) error {
	v, err := s.filterView(c)
	if err != nil {
		return err
	}
	limit, err := parseLimit(c, 50, 500)
	if err != nil {
		return err
	}
	recs, next, err := s.Store.List(c.Request().Context(), v.Filter, limit, store.Cursor(c.QueryParam("cursor")))
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, responsesPage(responsesData{Filter: v, Items: recs, Next: string(next)}))
}

func (s *Server) pageResponse(c echo.Context) error {
	r, err := s.record(c)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, recordPage(r, prettyJSON(r.RequestBody), prettyJSON(r.ResponseBody)))
}

func prettyJSON(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return string(raw)
	}
	return buf.String()
}

func curlExample(host string) string {
	if host == "" {
		host = "127.0.0.1:8080"
	}
	return `curl -sS http://` + host + `/v1/responses \
  -H 'Content-Type: application/json' \
  -d '{"app":"my-app","response":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-6","content":[{"type":"text","text":"Hi"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":10,"output_tokens":3}}}'`
}

func share(n, of int64) float64 {
	if of <= 0 {
		return 0
	}
	return float64(n) / float64(of)
}

func sortedKeys(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func formatInt(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func formatPct(f float64) string { return strconv.FormatFloat(f*100, 'f', 1, 64) + "%" }

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'f', 4, 64) }

func formatMoney(f float64) string { return strconv.FormatFloat(f, 'f', 4, 64) }

func statusText(status int) string { return fmt.Sprintf("%d %s", status, http.StatusText(status)) }

func recordHref(id int64) string { return "/responses/" + strconv.FormatInt(id, 10) }

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func joinStrings(s []string) string { return strings.Join(s, ", ") }

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// stopClass is the CSS class that colours a stop reason the same on every page.
func stopClass(r analytics.StopReason) string {
	if r == analytics.StopNull {
		return "sr-null"
	}
	if !r.Known() {
		return "sr-unknown"
	}
	return "sr-" + string(r)
}

func errorLabel(r *analytics.Record) string {
	t := r.ErrorType
	if t == "" {
		t = "error"
	}
	if r.HTTPStatus != 0 {
		return strconv.Itoa(r.HTTPStatus) + " " + t
	}
	return t
}

func streamNote(r *analytics.Record) string {
	if r.Streamed {
		return ", streamed"
	}
	return ""
}

// flagAdvice says what a flag means for this record and what to do.
func flagAdvice(f analytics.Flag, r *analytics.Record) string {
	switch f {
	case analytics.FlagEmptyTurn:
		for _, c := range r.Causes {
			if c == analytics.CauseTextAfterToolResult {
				return "The request put text right after a tool_result. Send tool_result blocks alone in that user message; retrying unchanged will not help."
			}
		}
		return "end_turn with no content. Retrying the same request unchanged will not help: add a user message such as \"Please continue\"."
	case analytics.FlagTruncated:
		if r.StopReason == analytics.StopModelContextWindowExceeded {
			return "The input and output reached the model's context window. Trim or summarise the history, or use a model with a larger window."
		}
		return "The answer hit max_tokens. Raise max_tokens, or send the partial answer back and ask the model to continue."
	case analytics.FlagRefusal:
		return "The model declined. Review the content; rephrasing rarely helps the same input, and some models' safety filters refuse more often than others."
	case analytics.FlagIncompleteStream:
		return "The stream ended before message_delta carried a stop reason: the connection broke or the API sent an error event."
	case analytics.FlagUnknownStopReason:
		return "A stop reason stopscope does not know yet, kept exactly as it came."
	}
	return ""
}
