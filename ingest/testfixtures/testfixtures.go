// Package testfixtures holds the realistic inputs that the tests of several
// packages share, embedded once: Messages API responses (messages/), their
// streamed transcripts (streams/), Agent SDK results (agent_sdk/), API error
// bodies (errors/), request bodies (requests/), OTLP trace captures of real
// instrumentations (otlp/), Claude Code's own telemetry with what truly
// happened (claude_code/), and expected.json, which says what a correct
// classifier reports for each response fixture. README.md describes them.
// Skip skips the tests of an optional suite (PostgreSQL, Chromium) and says
// so in plain `go test ./...` output.
//
// Only tests import it. Fixtures that belong to one package's own tests stay
// in that package's testdata.
package testfixtures

import (
	"embed"
	"encoding/json"
	"io/fs"
	"path"
	"testing"
)

// FS holds every fixture under its path, such as "messages/end_turn.json".
//
//go:embed messages streams agent_sdk errors requests otlp claude_code expected.json
var FS embed.FS

// Read returns the fixture at name, a slash-separated path such as
// "streams/tool_use.sse", and fails the test if there is none.
func Read(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := FS.ReadFile(name)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// Names lists the fixtures of the given folders, as paths for Read, in
// the order of dirs and then by name.
func Names(tb testing.TB, dirs ...string) []string {
	tb.Helper()
	var names []string
	for _, dir := range dirs {
		entries, err := fs.ReadDir(FS, dir)
		if err != nil {
			tb.Fatal(err)
		}
		for _, e := range entries {
			names = append(names, path.Join(dir, e.Name()))
		}
	}
	return names
}

// ResponseNames lists the response fixtures: every file of the folders that
// expected.json describes.
func ResponseNames(tb testing.TB) []string {
	tb.Helper()
	return Names(tb, "messages", "streams", "agent_sdk", "errors")
}

// Expectation is one entry of expected.json: what a correct classifier
// reports for a fixture, in the fields that tests of the whole service
// check. Package ingest's own tests decode the rest too.
type Expectation struct {
	// StopReason is the stop reason exactly as sent; nil where there was none.
	StopReason   *string  `json:"stop_reason"`
	StopSequence string   `json:"stop_sequence"`
	Tools        []string `json:"tools"`
	Flags        []string `json:"flags"`
	Subtype      string   `json:"subtype"`
	// Error is set for the failed requests of errors/.
	Error *struct {
		Status int    `json:"status"`
		Type   string `json:"type"`
	} `json:"error"`
}

// Expected returns expected.json, keyed by fixture path.
func Expected(tb testing.TB) map[string]Expectation {
	tb.Helper()
	var exp map[string]Expectation
	if err := json.Unmarshal(Read(tb, "expected.json"), &exp); err != nil {
		tb.Fatal(err)
	}
	return exp
}
