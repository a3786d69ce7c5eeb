package ingest

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stopscope/stopscope/analytics"
)

// compact returns a fixture on one line, as NDJSON needs.
func compact(t *testing.T, name string) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, fixture(t, name)); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestDecodeBatch(t *testing.T) {
	msg := compact(t, "messages/end_turn.json")
	res := compact(t, "agent_sdk/success.json")
	errBody := compact(t, "errors/529.json")
	pretty := string(fixture(t, "messages/tool_use.json"))
	type rej struct {
		index int
		want  string // the start of the error
	}
	for _, c := range []struct {
		name     string
		body     string
		ctype    string
		accepted int
		rejected []rej
	}{
		{"one pretty object", pretty, "application/json", 1, nil},
		{"one object without a content type", msg, "", 1, nil},
		{"NDJSON", msg + "\n" + res + "\n" + errBody + "\n", "application/x-ndjson", 3, nil},
		{"NDJSON with CRLF and blank lines", msg + "\r\n\r\n" + res + "\r\n", "application/x-ndjson", 2, nil},
		{"NDJSON with bad lines", msg + "\n{\"type\":\"message\",,}\n" + res + "\n" + `{"type":"foo"}` + "\nnot json at all\n" + errBody + "\n{\"unclosed\":\n" + msg, "application/x-ndjson", 4, []rej{
			{1, "record 1: invalid JSON at line 2, column 19 (byte "},
			{3, `record 3: unknown record type "foo"`},
			{4, "record 4: invalid JSON at line 5, column 2 (byte "},
			// The open object takes the next line for its value; reading
			// resumes at that line, which is then record 7.
			{6, "record 6: the record that starts at line 7, column 1 (byte "},
		}},
		{"NDJSON cut at the end", msg + "\n" + `{"type":"mess`, "application/x-ndjson", 1, []rej{
			{1, "record 1: the record that starts at line 2, column 1 (byte "},
		}},
		{"several objects under application/json", pretty + "\n" + pretty + msg, "application/json", 3, nil},
		{"a pretty object that breaks, then good ones", strings.Replace(pretty, `"role"`, `"role" "x"`, 1) + "\n" + pretty + "\n" + msg, "application/json", 2, []rej{
			{0, "record 0: invalid JSON at line 4, column 12 (byte "},
		}},
		{"array", "[" + msg + ",\n" + res + ",\n" + pretty + "]", "application/json", 3, nil},
		{"array under the NDJSON type", "[" + msg + "," + res + "]", "application/x-ndjson", 2, nil},
		{"array with bad records", "[" + msg + `,{"type":"foo"},5,` + res + "]", "application/json", 2, []rej{
			{1, `record 1: unknown record type "foo"`},
			{2, "record 2: expected a JSON object, got a number"},
		}},
		{"array with a syntax error", "[" + msg + ",\n" + res + ",\n" + `{"type":"message" "x"},` + "\n" + msg + "]", "application/json", 2, []rej{
			{2, "record 2: invalid JSON at line 3, column 19 (byte "},
		}},
		{"array not closed", "[" + msg + "," + res, "application/json", 2, []rej{
			{2, "record 2: the array is not closed: the body ends before its ]"},
		}},
		{"data after the array", "[" + msg + "] {}", "application/json", 1, []rej{
			{1, "record 1: unexpected data after the end of the array at line 1, column "},
		}},
		{"byte order mark", "\uFEFF" + msg, "application/json", 1, nil},
		{"bare stream", string(fixture(t, "streams/tool_use.sse")), "text/event-stream", 1, nil},
		{"bad bare stream", "event: ping\n\n", "text/event-stream", 0, []rej{{0, "record 0: stream: no message_start event"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			recs, rejected, err := DecodeBatch([]byte(c.body), c.ctype, testOpts)
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != c.accepted {
				t.Errorf("accepted %d, want %d (rejected %v)", len(recs), c.accepted, rejected)
			}
			if len(rejected) != len(c.rejected) {
				t.Fatalf("rejected %v, want %v", rejected, c.rejected)
			}
			for i, r := range rejected {
				if r.Index != c.rejected[i].index || !strings.HasPrefix(r.Error, c.rejected[i].want) {
					t.Errorf("rejection %d: %d %q, want %d %q…", i, r.Index, r.Error, c.rejected[i].index, c.rejected[i].want)
				}
			}
			for _, rec := range recs {
				if rec.Kind == "" || rec.Source != Source {
					t.Errorf("record %+v", rec)
				}
			}
		})
	}
}

// TestArraySyntaxErrorStopsThere checks that nothing after a syntax error in
// an array is read, and that what came before is kept in order.
func TestArraySyntaxErrorStopsThere(t *testing.T) {
	msg := compact(t, "messages/end_turn.json")
	body := "[" + msg + "," + compact(t, "messages/max_tokens.json") + ",{oops}," + msg + "," + msg + "]"
	recs, rejected, err := DecodeBatch([]byte(body), "application/json", testOpts)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].StopReason != analytics.StopEndTurn || recs[1].StopReason != analytics.StopMaxTokens {
		t.Errorf("records %v", recs)
	}
	want := "record 2: invalid JSON at line 1, column "
	if len(rejected) != 1 || rejected[0].Index != 2 || !strings.HasPrefix(rejected[0].Error, want) ||
		!strings.HasSuffix(rejected[0].Error, "; this record and the rest of the array were not read") {
		t.Errorf("rejected %v", rejected)
	}
}

func TestDecodeBatchRefused(t *testing.T) {
	msg := compact(t, "messages/end_turn.json")
	for _, c := range []struct {
		name, body string
		opts       Options
		code, want string
	}{
		{"empty", " \n", testOpts, analytics.EInvalid, "the body is empty: send a JSON object, a JSON array or NDJSON of records"},
		{"too many records in NDJSON", strings.Repeat(msg+"\n", 4), Options{Limits: Limits{MaxRecords: 3}}, analytics.ETooLarge,
			"the body holds more than 3 records, the limit per request; send smaller batches or raise it with -ingest-max-records"},
		{"too many records in an array", "[" + strings.Repeat(msg+",", 3) + msg + "]", Options{Limits: Limits{MaxRecords: 3}}, analytics.ETooLarge,
			"the body holds more than 3 records, the limit per request; send smaller batches or raise it with -ingest-max-records"},
		{"bad lines count too", strings.Repeat("{\n", 4), Options{Limits: Limits{MaxRecords: 3}}, analytics.ETooLarge,
			"the body holds more than 3 records, the limit per request; send smaller batches or raise it with -ingest-max-records"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := DecodeBatch([]byte(c.body), "application/json", c.opts)
			if analytics.ErrorCode(err) != c.code || analytics.ErrorMessage(err) != c.want {
				t.Errorf("got %v (%s), want %s: %s", err, analytics.ErrorCode(err), c.code, c.want)
			}
		})
	}
	_, _, err := DecodeBatch([]byte(strings.Repeat(msg+"\n", 3)), "application/x-ndjson", Options{Limits: Limits{MaxRecords: 3}})
	if err != nil {
		t.Errorf("exactly the limit: %v", err)
	}
}
