package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/stopscope/stopscope/ingest/testfixtures"
)

// TestClaudeCodeMetrics sends Claude Code's real metric export over
// OTLP/HTTP and the same over OTLP/gRPC (both used to fail: 404 and
// Unimplemented), and reads the Setup page: the session's totals beside
// its calls (none stored: the logs were not sent, so they disagree),
// Claude Code's metrics marked received, and gRPC's real address.
func TestClaudeCodeMetrics(t *testing.T) {
	m := startMainWith(t, func(m *Main) { m.OTLPGRPCAddr = "127.0.0.1:0" })
	body := testfixtures.Read(t, "claude_code/cli_end_turn_metrics/0001_v1_metrics.json")
	for range 2 { // a retried export counts nothing twice
		if status, raw := post(t, m.URL()+"/v1/metrics", "application/json", body); status != 200 || strings.Contains(string(raw), "rejected") {
			t.Fatalf("POST /v1/metrics: %d %s", status, raw)
		}
	}
	req := pmetricotlp.NewExportRequest()
	if err := req.UnmarshalJSON(body); err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(m.grpcLn.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := pmetricotlp.NewGRPCClient(conn).Export(context.Background(), req); err != nil {
		t.Fatalf("gRPC metrics export: %v", err)
	}

	resp, err := http.Get(m.URL() + "/setup")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	page := string(raw)
	for _, want := range []string{
		"280aa083-aa31-40e2-ad95-799b81f6e9a2", "12 / 0", "9 / 0", "0.000171 / 0.000000", "1 disagree",
		"over gRPC at <code>http://" + m.grpcLn.Addr().String() + "</code>",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the Setup page does not say %q", want)
		}
	}
	// Claude Code's row: traces and logs never, metrics just now.
	row := page[strings.Index(page, "Claude Code (CLI"):]
	row = row[:strings.Index(row, "</tr>")]
	if strings.Count(row, "<td>never</td>") != 2 || !strings.Contains(row, " UTC</td>") {
		t.Errorf("Claude Code's last-received row: %s", row)
	}
}
