package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
)

// testSavedViews covers saved view create, list, get, conflicts, the
// bound and delete.
func testSavedViews(t *testing.T, s store.Store) {
	vs, ok := s.(store.ViewStore)
	if !ok {
		t.Fatalf("%T does not implement store.ViewStore", s)
	}
	if got, err := vs.ListSavedViews(ctx()); err != nil || len(got) != 0 {
		t.Fatalf("a new store lists %v, %v; want no views", got, err)
	}
	created := t0.Add(90 * time.Minute)
	want := store.SavedView{Slug: "this-week-vs-last", Name: "This week vs last", URL: "/compare?a.range=7d&a.ago=7d&b.range=7d", Created: created}
	if _, err := vs.CreateSavedView(ctx(), want); err != nil {
		t.Fatal(err)
	}
	if _, err := vs.CreateSavedView(ctx(), store.SavedView{Slug: "a-model", Name: "A model", URL: "/responses?model=m", Created: created}); err != nil {
		t.Fatal(err)
	}
	dup := want
	dup.Name = "Other name"
	if _, err := vs.CreateSavedView(ctx(), dup); errCode(err) != analytics.EConflict {
		t.Errorf("a taken slug: %v, want %s", err, analytics.EConflict)
	}
	got, err := vs.GetSavedView(ctx(), want.Slug)
	if err != nil || got != want {
		t.Errorf("GetSavedView = %+v, %v; want %+v", got, err, want)
	}
	list, err := vs.ListSavedViews(ctx())
	if err != nil || len(list) != 2 || list[0].Slug != "a-model" || list[1] != want {
		t.Errorf("ListSavedViews = %+v, %v; want a-model then %s", list, err, want.Slug)
	}
	if err := vs.DeleteSavedView(ctx(), "a-model"); err != nil {
		t.Fatal(err)
	}
	if err := vs.DeleteSavedView(ctx(), "a-model"); errCode(err) != analytics.ENotFound {
		t.Errorf("deleting twice: %v, want %s", err, analytics.ENotFound)
	}
	if _, err := vs.GetSavedView(ctx(), "a-model"); errCode(err) != analytics.ENotFound {
		t.Errorf("a deleted view: %v, want %s", err, analytics.ENotFound)
	}
	for i := 1; i < store.MaxSavedViews; i++ {
		if _, err := vs.CreateSavedView(ctx(), store.SavedView{Slug: fmt.Sprintf("v-%d", i), Name: "v", URL: "/"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := vs.CreateSavedView(ctx(), store.SavedView{Slug: "one-too-many", Name: "v", URL: "/"}); errCode(err) != analytics.ETooLarge {
		t.Errorf("view %d: %v, want %s", store.MaxSavedViews+1, err, analytics.ETooLarge)
	}
}
