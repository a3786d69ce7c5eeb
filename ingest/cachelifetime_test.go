package ingest

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stopscope/stopscope/analytics"
)

// ccResponseBody returns the Messages API response body that the Claude
// Code fixture's api_response_body event logged: the one fixture whose
// usage carries cache_creation, split by cache lifetime.
func ccResponseBody(t *testing.T) string {
	t.Helper()
	var export struct {
		ResourceLogs []struct {
			ScopeLogs []struct {
				LogRecords []struct {
					Attributes []struct {
						Key   string `json:"key"`
						Value struct {
							StringValue string `json:"stringValue"`
						} `json:"value"`
					} `json:"attributes"`
				} `json:"logRecords"`
			} `json:"scopeLogs"`
		} `json:"resourceLogs"`
	}
	if err := json.Unmarshal(fixture(t, "claude_code/cli_end_turn/0002_v1_logs.json"), &export); err != nil {
		t.Fatal(err)
	}
	for _, rl := range export.ResourceLogs {
		for _, sl := range rl.ScopeLogs {
			for _, lr := range sl.LogRecords {
				attrs := map[string]string{}
				for _, a := range lr.Attributes {
					attrs[a.Key] = a.Value.StringValue
				}
				if attrs["event.name"] == "api_response_body" {
					return attrs["body"]
				}
			}
		}
	}
	t.Fatal("no api_response_body event in the fixture")
	return ""
}

// TestCacheCreationByLifetime decodes the 1-hour part of the cache writes
// from responses, streams (message_start, then message_delta's cumulative
// usage) and Agent SDK results. The fixture's counts are all 0, so the
// other cases set counts in its shape.
func TestCacheCreationByLifetime(t *testing.T) {
	body := ccResponseBody(t)
	const zeros = `"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":9,`
	const split0 = `"cache_creation":{"ephemeral_1h_input_tokens":0,"ephemeral_5m_input_tokens":0}`
	if !strings.Contains(body, zeros) || !strings.Contains(body, split0) {
		t.Fatalf("the fixture's body changed shape: %s", body)
	}
	withWrites := strings.Replace(strings.Replace(body, zeros,
		`"cache_creation_input_tokens":5000,"cache_read_input_tokens":0,"output_tokens":9,`, 1), split0,
		`"cache_creation":{"ephemeral_1h_input_tokens":3000,"ephemeral_5m_input_tokens":2000}`, 1)

	stream := string(fixture(t, "streams/end_turn.sse"))
	const startUsage = `"cache_creation_input_tokens":0,"cache_read_input_tokens":0}`
	const deltaUsage = `"usage":{"output_tokens":9}`
	if !strings.Contains(stream, startUsage) || !strings.Contains(stream, deltaUsage) {
		t.Fatal("the stream fixture changed shape")
	}
	startSplit := strings.Replace(stream, startUsage,
		`"cache_creation_input_tokens":1000,"cache_read_input_tokens":0,"cache_creation":{"ephemeral_5m_input_tokens":300,"ephemeral_1h_input_tokens":700}}`, 1)
	deltaSplit := strings.Replace(startSplit, deltaUsage,
		`"usage":{"output_tokens":9,"cache_creation_input_tokens":1200,"cache_creation":{"ephemeral_5m_input_tokens":300,"ephemeral_1h_input_tokens":900}}`, 1)

	var result map[string]any
	if err := json.Unmarshal(fixture(t, "agent_sdk/success.json"), &result); err != nil {
		t.Fatal(err)
	}
	usage := result["usage"].(map[string]any)
	usage["cache_creation_input_tokens"] = 400
	usage["cache_creation"] = map[string]any{"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 400}
	resultJSON, err := json.Marshal(result)
	if err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name          string
		decode        func() (*analytics.Record, error)
		total, hour1h int64
	}{
		{"logged response, no writes", func() (*analytics.Record, error) { return DecodeRecord([]byte(body), testOpts) }, 0, 0},
		{"response with writes", func() (*analytics.Record, error) { return DecodeRecord([]byte(withWrites), testOpts) }, 5000, 3000},
		{"stream, no split", func() (*analytics.Record, error) { return DecodeStream(stream, testOpts) }, 0, 0},
		{"stream, split at message_start", func() (*analytics.Record, error) { return DecodeStream(startSplit, testOpts) }, 1000, 700},
		{"stream, split again at message_delta", func() (*analytics.Record, error) { return DecodeStream(deltaSplit, testOpts) }, 1200, 900},
		{"agent sdk result", func() (*analytics.Record, error) { return DecodeRecord(resultJSON, testOpts) }, 400, 400},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec, err := c.decode()
			if err != nil {
				t.Fatal(err)
			}
			if rec.Usage.CacheCreationInputTokens != c.total || rec.Usage.CacheCreation1hInputTokens != c.hour1h {
				t.Errorf("cache writes %d, of them 1-hour %d; want %d and %d",
					rec.Usage.CacheCreationInputTokens, rec.Usage.CacheCreation1hInputTokens, c.total, c.hour1h)
			}
		})
	}

	bad := strings.Replace(body, split0, `"cache_creation":{"ephemeral_1h_input_tokens":-1,"ephemeral_5m_input_tokens":0}`, 1)
	if _, err := DecodeRecord([]byte(bad), testOpts); err == nil || !strings.Contains(err.Error(), "usage.cache_creation.ephemeral_1h_input_tokens is negative") {
		t.Errorf("negative 1-hour writes: %v", err)
	}
}
