package main

import (
	"bytes"
	"os"
	"testing"

	"github.com/stopscope/stopscope/store/sqlstore"
)

// TestReproducible rebuilds the dictionary as `go run` does (about 5 s)
// and checks that it is the committed one: the generator depends on
// nothing but the demo's records and sqlstore's encoding, so a change to
// either shows here. The committed file must not change (see
// sqlstore.ContentDictID); when this fails, the demo or the encoding has
// changed, and the shipped dictionary stays as it is.
func TestReproducible(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the dictionary (about 5 s)")
	}
	want, err := os.ReadFile("../../zdict/content.dict")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Build(sqlstore.ContentDictID, defaultSize, defaultSeg)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("built a dictionary of %d bytes that differs from the committed one (%d bytes)", len(got), len(want))
	}
}
