package web

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
)

// MaxExport bounds how many records one export holds, so that a click on
// "CSV" over a year of traffic cannot exhaust the server.
const MaxExport = 50000

// exportColumns are the CSV export's columns, in order.
// A number the record does not know (latency, time to first token, the
// Agent SDK's turns, cost and duration) is an empty cell, never 0.
var exportColumns = []string{
	"id", "time", "app", "environment", "model", "kind", "stop_reason", "refusal_category", "refusal_explanation",
	"flags", "causes", "input_tokens", "output_tokens", "latency_ms", "ttft_ms", "http_status", "error_type",
	"subtype", "num_turns", "cost_usd", "duration_ms", "session_id", "request_id", "message_id", "text", "service_tier",
	"cache_read_input_tokens", "cache_creation_input_tokens", "cache_creation_1h_input_tokens",
}

// exportResponses answers GET /responses/export?format=csv|json&filters:
// every record the list shows with the same filters, all pages of it
// (newest first, at most MaxExport), as a download.
func (s *Server) exportResponses(c echo.Context) error {
	f, err := s.parseFilter(c)
	if err != nil {
		return err
	}
	format := c.QueryParam("format")
	if format != "csv" && format != "json" {
		return analytics.Errorf(analytics.EInvalid, "parameter format: %q is not csv or json", format)
	}
	recs, err := s.exportRecords(c, f)
	if err != nil {
		return err
	}
	name := "stopscope-responses-" + s.Now().UTC().Format("20060102-150405")
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	if len(recs) == MaxExport {
		h.Set("X-Stopscope-Truncated", strconv.Itoa(MaxExport))
	}
	if format == "json" {
		items := make([]listItem, len(recs))
		for i, r := range recs {
			items[i] = toListItem(r)
		}
		body, err := json.Marshal(items)
		if err != nil {
			return err
		}
		h.Set("Content-Disposition", `attachment; filename="`+name+`.json"`)
		return c.Blob(http.StatusOK, "application/json", body)
	}
	body, err := exportCSV(recs)
	if err != nil {
		return err
	}
	h.Set("Content-Disposition", `attachment; filename="`+name+`.csv"`)
	return c.Blob(http.StatusOK, "text/csv; charset=utf-8", body)
}

// exportRecords pages through the list with f, newest first.
func (s *Server) exportRecords(c echo.Context, f store.Filter) ([]*analytics.Record, error) {
	var out []*analytics.Record
	var cur store.Cursor
	for {
		page, next, err := s.Store.List(c.Request().Context(), f, min(1000, MaxExport-len(out)), cur)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if next == "" || len(out) >= MaxExport {
			return out, nil
		}
		cur = next
	}
}

// exportCSV writes records as CSV with exportColumns.
func exportCSV(recs []*analytics.Record) ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.Write(exportColumns); err != nil {
		return nil, err
	}
	for _, r := range recs {
		flags := make([]string, 0, 2)
		for _, fl := range r.Flags.List() {
			flags = append(flags, string(fl))
		}
		causes := make([]string, 0, 1)
		for _, ca := range r.Causes {
			causes = append(causes, string(ca))
		}
		stop := ""
		if r.Kind != analytics.KindError {
			stop = r.StopReason.Key()
		}
		category, explanation := "", ""
		if r.StopReason == analytics.StopRefusal && r.StopDetails != nil {
			category, explanation = string(r.StopDetails.Category), r.StopDetails.Explanation
		}
		// Every text cell goes through csvSafe: each can come from a
		// producer (an app name, a session id, an error type…), not only
		// the model's text. The numbers are stopscope's own.
		row := []string{
			strconv.FormatInt(r.ID, 10), r.Time.UTC().Format("2006-01-02T15:04:05.000Z07:00"),
			csvSafe(r.App), csvSafe(r.Environment), csvSafe(r.Model), csvSafe(string(r.Kind)), csvSafe(stop),
			csvSafe(category), csvSafe(explanation),
			csvSafe(strings.Join(flags, " ")), csvSafe(strings.Join(causes, " ")),
			strconv.FormatInt(r.Usage.InputTokens, 10), strconv.FormatInt(r.Usage.OutputTokens, 10),
			optInt64(r.LatencyMS), optInt64(r.TTFTMS), optInt(r.HTTPStatus), csvSafe(r.ErrorType), csvSafe(r.Subtype),
			optInt64(r.NumTurns), optCost(r.CostUSD), optInt64(r.DurationMS),
			csvSafe(r.SessionID), csvSafe(r.RequestID), csvSafe(r.MessageID), csvSafe(contentText(r.Content)),
			csvSafe(r.ServiceTier),
			strconv.FormatInt(r.Usage.CacheReadInputTokens, 10), strconv.FormatInt(r.Usage.CacheCreationInputTokens, 10),
			strconv.FormatInt(r.Usage.CacheWrite1hTokens(), 10),
		}
		if err := w.Write(row); err != nil {
			return nil, err
		}
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

func optInt(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// optInt64 is n, or "" for 0: the record stores 0 for a number nobody
// reported.
func optInt64(n int64) string {
	if n == 0 {
		return ""
	}
	return strconv.FormatInt(n, 10)
}

// optCost is a cost in US dollars as written (shortest exact form), or ""
// for none reported.
func optCost(usd float64) string {
	if usd == 0 {
		return ""
	}
	return strconv.FormatFloat(usd, 'f', -1, 64)
}

// csvSafe keeps a spreadsheet from reading a cell as a formula: one that
// starts with =, +, -, @, a tab or a carriage return gets a leading
// apostrophe, which spreadsheets show as text and hide.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// contentText joins the text of a response's text blocks.
func contentText(blocks []analytics.Block) string {
	var parts []string
	for _, b := range blocks {
		if b.Type == "text" && strings.TrimSpace(b.Text) != "" {
			parts = append(parts, b.Text)
		}
	}
	return strings.Join(parts, "\n")
}
