package web

import (
	"html"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stopscope/stopscope/analytics"
)

// TestCountLinksAgree checks, over a mix that has failed requests beside
// responses without a stop reason, that every count the overview and the
// stop reason pages link to a list is that list's length: a count and the
// list it links to never disagree.
func TestCountLinksAgree(t *testing.T) {
	ts, st := testServer(t)
	recs := fixture()
	at := func(m int) time.Time { return now.Add(-time.Duration(m) * time.Minute) }
	cut := msg(at(33), "a", analytics.StopNull, analytics.FlagIncompleteStream)
	cut.Streamed = true
	pinned := msg(at(36), "b", analytics.StopNull)
	pinned.Req = &analytics.Request{MaxTokens: 64}
	pinned.Usage.OutputTokens = 64
	analytics.Classify(pinned)
	// Records with no model, and a failed request with no model and no
	// error type: the "—" rows must link to exactly these.
	noModel := msg(at(37), "b", analytics.StopRefusal, analytics.FlagRefusal)
	noModel.Model = ""
	noModelErr := errRec(at(38), "a")
	noModelErr.Model, noModelErr.ErrorType = "", ""
	noModelTrunc := msg(at(39), "a", analytics.StopMaxTokens, analytics.FlagTruncated)
	noModelTrunc.Model = ""
	recs = append(recs, cut, pinned, msg(at(34), "b", analytics.StopNull), errRec(at(35), "b"), noModel, noModelErr, noModelTrunc)
	insertAll(t, st, recs)
	rng := "from=" + ts3339(now.Add(-time.Hour)) + "&to=" + ts3339(now)

	totalRe := regexp.MustCompile(`<p class="list-total" data-total="([0-9]+)">`)
	// listed counts the records of a page's list link, read from the API.
	listed := func(t *testing.T, href string) int {
		t.Helper()
		path, q, ok := strings.Cut(html.UnescapeString(href), "?")
		if !ok || path != "/responses" {
			t.Fatalf("link %q is not a list link", href)
		}
		var res struct {
			Items []listItem `json:"items"`
		}
		mustGet(t, ts, "/api/v1/responses?limit=1000&"+q, &res)
		// The list page itself shows the same total above its records.
		_, page := getHTML(t, ts.URL+"/responses?"+q)
		if m := totalRe.FindStringSubmatch(page); m == nil {
			t.Errorf("list %s shows no total", q)
		} else if m[1] != strconv.Itoa(len(res.Items)) {
			t.Errorf("list %s shows a total of %s, lists %d", q, m[1], len(res.Items))
		}
		return len(res.Items)
	}
	countLink := regexp.MustCompile(`<a class="count-link" href="([^"]+)"[^>]*>([0-9,]+)</a>`)
	card := regexp.MustCompile(`(?s)<a class="card [^"]*" href="([^"]+)">\s*<span class="card-label">Share of responses</span>.*?<span class="card-sub">([0-9,]+) of`)
	allLink := regexp.MustCompile(`<a href="([^"]+)" class="all-link">`)
	num := func(t *testing.T, s string) int {
		n, err := strconv.Atoi(strings.ReplaceAll(s, ",", ""))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	// rateLink is a breakdown table's rate, whose title gives the count it
	// links to; shareLink a share table's row, its count in the next cell.
	rateLink := regexp.MustCompile(`<a href="([^"]+)" title="([0-9,]+) of [0-9,]+, 95% interval`)
	shareLink := regexp.MustCompile(`<th scope="row"><a href="([^"]+)">([^<]*)</a></th>\s*<td class="num">([0-9,]+) <span class="muted">/`)
	pages := []string{"/", "/truncation", "/refusals", "/empty-turns"}
	for _, k := range []string{"null", "end_turn", "refusal", "max_tokens", "tool_use"} {
		pages = append(pages, "/stop-reasons/"+k)
	}
	checked, dashes := 0, 0
	for _, page := range pages {
		_, body := getHTML(t, ts.URL+page+"?"+rng)
		links := countLink.FindAllStringSubmatch(body, -1)
		if page == "/" && len(links) == 0 {
			t.Fatalf("no count links on %s", page)
		}
		for _, m := range links {
			checked++
			if got, want := listed(t, m[1]), num(t, m[2]); got != want {
				t.Errorf("%s: count %d links to %s, which lists %d", page, want, html.UnescapeString(m[1]), got)
			}
		}
		for _, m := range rateLink.FindAllStringSubmatch(body, -1) {
			checked++
			if got, want := listed(t, m[1]), num(t, m[2]); got != want {
				t.Errorf("%s: rate of %d links to %s, which lists %d", page, want, html.UnescapeString(m[1]), got)
			}
		}
		for _, m := range shareLink.FindAllStringSubmatch(body, -1) {
			checked++
			if m[2] == "—" {
				dashes++
			}
			if got, want := listed(t, m[1]), num(t, m[3]); got != want {
				t.Errorf("%s: row %s counts %d, links to %s, which lists %d", page, m[2], want, html.UnescapeString(m[1]), got)
			}
		}
		if page == "/" && !strings.Contains(body, "model=-") {
			t.Errorf("the overview has no link for the records with no model")
		}
	}
	if checked < 20 || dashes == 0 {
		t.Errorf("checked %d count links, %d of them \"—\" rows: the patterns no longer match the pages", checked, dashes)
	}
	for _, key := range []string{"null", "end_turn", "refusal", "max_tokens", "tool_use"} {
		_, body := getHTML(t, ts.URL+"/stop-reasons/"+key+"?"+rng)
		m := card.FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("/stop-reasons/%s: no share card", key)
		}
		if got, want := listed(t, m[1]), num(t, m[2]); got != want {
			t.Errorf("/stop-reasons/%s: card counts %d, its list has %d", key, want, got)
		}
		if a := allLink.FindStringSubmatch(body); a != nil && a[1] != m[1] {
			t.Errorf("/stop-reasons/%s: 'all of them' links to %s, the card to %s", key, a[1], m[1])
		}
		if key == "null" && strings.Contains(body, "overloaded_error") {
			t.Errorf("/stop-reasons/null lists a failed request among its latest records")
		}
	}
}
