package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
)

// recordReads times the record reads of the store issue at one size: the
// records list filtered by a rare value, by a common value and by a flag,
// one record's page with its content, and a text search, each over the
// last 30 days through the public API and pages, one request at a time.
// Each row tells how many records its first page held, so that a filter
// that matched nothing (refusals in the smallest stores) does not pass
// for a fast one; the record page is the first record found.
func (b *bench) recordReads(ctx context.Context, srv *benchServer, n int) error {
	setting := count(int64(n)) + " records"
	var firstID int64
	for _, q := range []struct{ name, query string }{
		// Refusals are about 1% of the demo's traffic.
		{"records list, rare value (stop_reason=refusal), 30 days", "stop_reason=refusal"},
		// support-bot sends about a third of it.
		{"records list, common value (one app), 30 days", "app=support-bot"},
		{"records list, flag (empty turns), 30 days", "flag=empty_turn"},
		{"text search in content, 30 days", "q=" + url.QueryEscape("refund")},
	} {
		path := "/api/v1/responses?range=30d&" + q.query
		body, err := srv.get(ctx, path)
		if err != nil {
			return err
		}
		var page struct {
			Items []struct {
				ID int64 `json:"id"`
			} `json:"items"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return fmt.Errorf("GET %s: %w", path, err)
		}
		if firstID == 0 && len(page.Items) > 0 {
			firstID = page.Items[0].ID
		}
		lat, err := srv.timeGets(ctx, path, b.cfg.reads)
		if err != nil {
			return err
		}
		b.add(q.name, setting, fmt.Sprintf("**p50 %s**, p95 %s", ms(pct(lat, 50)), ms(pct(lat, 95))),
			fmt.Sprintf("first page (%d records), %d requests, one at a time", len(page.Items), len(lat)))
	}
	if firstID == 0 {
		return fmt.Errorf("no record list found a record in a store of %d", n)
	}
	path := "/responses/" + strconv.FormatInt(firstID, 10)
	lat, err := srv.timeGets(ctx, path, b.cfg.reads)
	if err != nil {
		return err
	}
	b.add("record page with content", setting, fmt.Sprintf("**p50 %s**, p95 %s", ms(pct(lat, 50)), ms(pct(lat, 95))),
		fmt.Sprintf("GET /responses/{id} of the first record listed above, %d requests, one at a time", len(lat)))
	return nil
}

// sizeAt10M prints the store's size at 10 million records: measured when
// the largest size was 10 M or more, otherwise scaled from the largest
// store's bytes per record and labelled an estimate.
func (b *bench) sizeAt10M() {
	const tenM = 10_000_000
	if b.largest.n == 0 {
		return
	}
	if b.largest.n >= tenM-loadDays {
		b.add("store size at 10 M records", count(b.largest.n)+" records, with content", "**"+gb(b.largest.size)+"**", "measured")
		return
	}
	per := b.largest.size / b.largest.n
	b.add("store size at 10 M records", "with content", "**"+gb(per*tenM)+"** (estimate)",
		fmt.Sprintf("%s B/record of the %s-record store × 10 M; without content %s (from the bytes-per-record row)", count(per), count(b.largest.n), gb(b.bytesPerRec[1]*tenM)))
}
