package ingest

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stopscope/stopscope/ingest/testfixtures"
)

// testNow is the clock of every test: records without a time get it.
var testNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

var testOpts = Options{Now: testNow}

// fixture returns a shared fixture.
func fixture(tb testing.TB, name string) []byte { return testfixtures.Read(tb, name) }

// fixtureNames lists the response fixtures.
func fixtureNames(tb testing.TB) []string { return testfixtures.ResponseNames(tb) }

// envelope wraps a fixture in an envelope under the key its kind needs.
func envelope(tb testing.TB, name string, extra map[string]any) []byte {
	tb.Helper()
	data := fixture(tb, name)
	env := map[string]any{}
	for k, v := range extra {
		env[k] = v
	}
	switch filepath.Dir(name) {
	case "messages":
		env["response"] = json.RawMessage(data)
	case "streams":
		env["stream"] = string(data)
	case "agent_sdk":
		env["result"] = json.RawMessage(data)
	case "errors":
		var status int
		if _, err := fmtSscan(filepath.Base(name), &status); err != nil {
			tb.Fatal(err)
		}
		env["error"] = map[string]any{"status": status, "body": json.RawMessage(data)}
	default:
		tb.Fatalf("no envelope for %s", name)
	}
	b, err := json.Marshal(env)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// fmtSscan reads the status a fixture of errors/ is named after.
func fmtSscan(s string, v *int) (int, error) { return fmt.Sscan(strings.TrimSuffix(s, ".json"), v) }
