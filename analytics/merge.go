package analytics

// Merge joins two records of one call, old as stored (or seen first) and
// new as it arrives, into one: each field takes old's value where old has
// one and new's where old lacks it. So a record is completed, never
// overwritten, and a delivery seen twice changes nothing. In detail:
//
//   - text fields, numbers, the request summary and the bodies: old's
//     when non-empty (non-zero), else new's; token counts field by field;
//     Attempts, LatencyMS and TTFTMS the larger (so the order of arrival
//     does not matter);
//   - the time: the earlier of the two non-zero times;
//   - the stop reason: old's unless it is null and new's is not (a
//     recorded stop reason beats a null), or old's was an ambiguous
//     generic one and new's is exact; a recorded stop reason clears
//     StopReasonUnrecorded;
//   - content: new's when old's was unrecorded and new's is recorded;
//   - Streamed and KeyedByRequest: either's.
//
// The kind, source, app and identity stay old's. Flags, causes and tools
// are derived: merged is classified again when changed, keeping the
// empty-turn verdict of the record its content came from when that one
// was judged on it (texts may have been stripped since). changed reports
// whether merged differs from old in any fact; when it is false, merged is
// old itself. Neither argument is modified.
func Merge(old, new *Record) (merged *Record, changed bool) {
	m := *old
	str := func(dst *string, src string) {
		if *dst == "" && src != "" {
			*dst = src
			changed = true
		}
	}
	num := func(dst *int64, src int64) {
		if *dst == 0 && src != 0 {
			*dst = src
			changed = true
		}
	}
	if !new.Time.IsZero() && (m.Time.IsZero() || new.Time.Before(m.Time)) {
		m.Time = new.Time
		changed = true
	}
	str(&m.Environment, new.Environment)
	str(&m.SessionID, new.SessionID)
	str(&m.UserID, new.UserID)
	str(&m.RequestID, new.RequestID)
	str(&m.MessageID, new.MessageID)
	str(&m.TraceID, new.TraceID)
	str(&m.SpanID, new.SpanID)
	str(&m.PromptID, new.PromptID)
	str(&m.ServiceTier, new.ServiceTier)
	str(&m.Model, new.Model)
	str(&m.Release, new.Release)
	str(&m.PromptVersion, new.PromptVersion)
	if !m.Streamed && new.Streamed {
		m.Streamed = true
		changed = true
	}
	m.KeyedByRequest = m.KeyedByRequest || new.KeyedByRequest

	if new.StopReason != StopNull && (m.StopReason == StopNull || (m.StopReasonAmbiguous && !new.StopReasonAmbiguous)) {
		m.StopReason, m.StopReasonAmbiguous = new.StopReason, new.StopReasonAmbiguous
		m.StopSequence = new.StopSequence
		changed = true
	} else if m.StopReason == new.StopReason {
		str(&m.StopSequence, new.StopSequence)
	}
	if m.StopReason != StopNull {
		m.StopReasonUnrecorded = ""
	} else {
		str(&m.StopReasonUnrecorded, new.StopReasonUnrecorded)
	}

	num(&m.Usage.InputTokens, new.Usage.InputTokens)
	num(&m.Usage.OutputTokens, new.Usage.OutputTokens)
	num(&m.Usage.CacheCreationInputTokens, new.Usage.CacheCreationInputTokens)
	num(&m.Usage.CacheCreation1hInputTokens, new.Usage.CacheCreation1hInputTokens)
	num(&m.Usage.CacheReadInputTokens, new.Usage.CacheReadInputTokens)
	num(&m.Usage.CompactionInputTokens, new.Usage.CompactionInputTokens)
	num(&m.Usage.CompactionOutputTokens, new.Usage.CompactionOutputTokens)
	if m.StopDetails == nil && new.StopDetails != nil {
		sd := *new.StopDetails
		m.StopDetails = &sd
	}
	// Two signals of one call time it from different points: the larger
	// is the longer view (a client's over a server's), whatever the order.
	most := func(dst *int64, src int64) {
		if src > *dst {
			*dst = src
			changed = true
		}
	}
	most(&m.LatencyMS, new.LatencyMS)
	most(&m.TTFTMS, new.TTFTMS)
	most(&m.Attempts, new.Attempts)
	if m.HTTPStatus == 0 && new.HTTPStatus != 0 {
		m.HTTPStatus = new.HTTPStatus
		changed = true
	}
	str(&m.ErrorType, new.ErrorType)
	str(&m.ErrorMessage, new.ErrorMessage)
	str(&m.Subtype, new.Subtype)
	num(&m.NumTurns, new.NumTurns)
	if m.CostUSD == 0 && new.CostUSD != 0 {
		m.CostUSD = new.CostUSD
		changed = true
	}
	num(&m.DurationMS, new.DurationMS)

	verdictFrom := old
	if m.ContentUnrecorded && !new.ContentUnrecorded {
		m.Content, m.ContentUnrecorded = new.Content, false
		verdictFrom = new
		changed = true
	}
	if m.Req == nil && new.Req != nil {
		m.Req = new.Req
		changed = true
	}
	body := func(dst *[]byte, src []byte) {
		if len(*dst) == 0 && len(src) != 0 {
			*dst = src
			changed = true
		}
	}
	body((*[]byte)(&m.RequestBody), new.RequestBody)
	body((*[]byte)(&m.ResponseBody), new.ResponseBody)
	str(&m.StreamBody, new.StreamBody)
	if !changed {
		return old, false
	}
	// Texts may have been stripped since a record was classified
	// (--metadata-only), so an answer's emptiness is taken from the
	// record its content came from when that record was judged on the
	// same content, rather than judged again on blanked text.
	if judgedForEmptiness(verdictFrom) && (!verdictFrom.ContentUnrecorded || verdictFrom.Usage.OutputTokens == m.Usage.OutputTokens) {
		empty := verdictFrom.Flags.Has(FlagEmptyTurn)
		classify(&m, &empty)
	} else {
		Classify(&m)
	}
	return &m, true
}
