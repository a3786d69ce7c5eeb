package main

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stopscope/stopscope/ingest/testfixtures"
)

// TestSeenSurvivesRestart: Claude Code sends its metrics, the service
// stops and starts again on the same database, and the Setup page still
// says when Claude Code's metrics last arrived.
func TestSeenSurvivesRestart(t *testing.T) {
	db := filepath.Join(t.TempDir(), "stopscope.db")
	run := func() *Main {
		m := NewMain(io.Discard, io.Discard)
		m.Addr, m.OTLPGRPCAddr, m.DB = "127.0.0.1:0", "", db
		if err := m.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		return m
	}
	claudeCodeRow := func(m *Main) string {
		t.Helper()
		resp, err := http.Get(m.URL() + "/setup")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		page := string(raw)
		i := strings.Index(page, "Claude Code (CLI")
		if i < 0 {
			t.Fatalf("no Claude Code row on the Setup page")
		}
		row := page[i:]
		return row[:strings.Index(row, "</tr>")]
	}
	m := run()
	body := testfixtures.Read(t, "claude_code/cli_end_turn_metrics/0001_v1_metrics.json")
	if status, raw := post(t, m.URL()+"/v1/metrics", "application/json", body); status != 200 {
		t.Fatalf("POST /v1/metrics: %d %s", status, raw)
	}
	before := claudeCodeRow(m)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	m = run()
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Error(err)
		}
	})
	after := claudeCodeRow(m)
	if strings.Count(after, "<td>never</td>") != 2 || !strings.Contains(after, " UTC</td>") || after != before {
		t.Errorf("after a restart Claude Code's row is\n%s\nbefore it was\n%s", after, before)
	}
}
