package analytics

import "strings"

// RecoveredBy returns the record of thread (a conversation, oldest first)
// that answered after the refusal r on a fallback model, or after Claude
// Code re-asked it by itself in the same prompt (ReaskedAnswer), or nil. A
// refusal recovered this way stays a refusal: both calls count.
//
// The answer is the first later message within lookAhead records and
// ConversationGap of r that is on another model and stopped with a known
// stop reason other than refusal; when r's stop_details name a
// recommended_model, the answer must be on that model (a dated model id
// matches its alias).
func RecoveredBy(r *Record, thread []*Record) *Record {
	if r == nil || r.StopReason != StopRefusal {
		return nil
	}
	if x := ReaskedAnswer(r, thread); x != nil {
		return x
	}
	at := -1
	for i, x := range thread {
		if x == r || (r.ID != 0 && x.ID == r.ID) {
			at = i
			break
		}
	}
	if at < 0 {
		return nil
	}
	want := ""
	if r.StopDetails != nil {
		want = r.StopDetails.RecommendedModel
	}
	for j := at + 1; j < len(thread) && j <= at+lookAhead; j++ {
		x := thread[j]
		if x.Time.Sub(r.Time) > ConversationGap {
			break
		}
		if x.Kind != KindMessage || x.Model == "" || sameModel(x.Model, r.Model) {
			continue
		}
		if want != "" && !sameModel(x.Model, want) {
			continue
		}
		if x.StopReason == StopRefusal || x.StopReason == StopNull || !x.StopReason.Known() {
			continue
		}
		return x
	}
	return nil
}

// sameModel reports whether two model ids name one model: equal, or one
// the other with a date suffix (claude-sonnet-4-6 and
// claude-sonnet-4-6-20260101).
func sameModel(a, b string) bool {
	if len(a) > len(b) {
		a, b = b, a
	}
	return a == b || strings.HasPrefix(b, a+"-")
}
