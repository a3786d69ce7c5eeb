package web

import (
	"html"
	"strings"
	"testing"
	"time"

	"github.com/stopscope/stopscope/analytics"
)

// TestRecordPageEmptyTurnAdvice checks that the page of an empty turn
// gives the advice of its cause, and no advice about tool_result blocks
// when its request has none.
func TestRecordPageEmptyTurnAdvice(t *testing.T) {
	ts, st := testServer(t)
	user := analytics.Message{Role: "user", Blocks: []analytics.Block{{Type: "text", Text: "hi"}}}
	noCause := msg(now.Add(-9*time.Minute), "a", analytics.StopEndTurn)
	noCause.Req = &analytics.Request{MaxTokens: 100, Messages: []analytics.Message{user}}
	sentBack := msg(now.Add(-8*time.Minute), "a", analytics.StopEndTurn)
	sentBack.Req = &analytics.Request{MaxTokens: 100, Messages: []analytics.Message{user,
		{Role: "assistant", Blocks: []analytics.Block{{Type: "text", Text: "Hello!"}}}}}
	for _, r := range []*analytics.Record{noCause, sentBack} {
		analytics.Classify(r)
	}
	insertAll(t, st, []*analytics.Record{noCause, sentBack})
	cause1 := []string{analytics.FlagRemediation(analytics.FlagEmptyTurn), analytics.CauseRemediation(analytics.CauseTextAfterToolResult)}
	for _, tc := range []struct {
		name string
		rec  *analytics.Record
		want []string
	}{
		{"no known cause", noCause, []string{"empty_turn", analytics.AdviceText(analytics.EmptyTurnAdvice(noCause))}},
		{"completed response sent back", sentBack, []string{"completed_response_sent_back",
			analytics.CauseRemediation(analytics.CauseCompletedResponseSentBack)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := getHTML(t, ts.URL+recordHref(tc.rec.ID))
			if code != 200 {
				t.Fatalf("record page: %d", code)
			}
			body = html.UnescapeString(body)
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("page lacks %q", w)
				}
			}
			for _, a := range cause1 {
				if strings.Contains(body, a) {
					t.Errorf("page of a request without tool_result gives the advice about text after a tool_result: %q", a)
				}
			}
		})
	}
}
