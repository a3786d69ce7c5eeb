package web

import (
	"strings"

	"github.com/stopscope/stopscope/analytics"
)

// The stylesheet of the vocabulary's colours is generated from the
// analytics tables; CI checks that the committed copy is current.
//go:generate go run ./vocabgen/gen -css static/vocab.css -md ../docs/vocabulary.md

// kindClass is the CSS class (vocab.css) that colours a kind, or "".
func kindClass(k analytics.Kind) string {
	i, _ := analytics.KindInfoOf(k)
	return i.Class()
}

// joinKeys lists vocabulary keys for an error message: "a, b, c".
func joinKeys[K ~string](keys []K) string {
	s := make([]string, len(keys))
	for i, k := range keys {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// stopLabel is the name pages give a stop reason: its label, or the value
// as it came for one stopscope does not know.
func stopLabel(r analytics.StopReason) string {
	if !r.Known() {
		return r.Key()
	}
	return analytics.StopReasonInfoOf(r).Label
}

// flagClass is the CSS class (vocab.css) of a flag's badge.
func flagClass(f analytics.Flag) string { return analytics.FlagInfo{Flag: f}.Class() }
