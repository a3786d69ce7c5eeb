package analytics

import (
	"context"
	"testing"
)

func TestApplyBoundApp(t *testing.T) {
	tests := []struct {
		name  string
		bound string
		apps  []string
		want  []string
		code  string
	}{
		{"unbound leaves apps", "", []string{"a", "b", ""}, []string{"a", "b", ""}, ""},
		{"same app", "a", []string{"a"}, []string{"a"}, ""},
		{"unnamed get the bound app", "a", []string{"", "default", "a"}, []string{"a", "a", "a"}, ""},
		{"another app refuses the call", "a", []string{"a", "b"}, []string{"a", "b"}, EForbidden},
		// The Claude API's spans name no app of the caller's.
		{"the Claude API's app gets the bound app", "a", []string{"claude-platform", "a"}, []string{"a", "a"}, ""},
		{"unbound keeps the Claude API's app", "", []string{"claude-platform"}, []string{"claude-platform"}, ""},
	}
	for _, tc := range tests {
		ctx := context.Background()
		if tc.bound != "" {
			ctx = WithBoundApp(ctx, tc.bound)
		}
		recs := make([]*Record, len(tc.apps))
		for i, a := range tc.apps {
			recs[i] = &Record{App: a}
		}
		err := ApplyBoundApp(ctx, recs, "default", "claude-platform")
		if got := codeOf(err); got != tc.code {
			t.Errorf("%s: err %v, want code %q", tc.name, err, tc.code)
		}
		for i, r := range recs {
			if r.App != tc.want[i] {
				t.Errorf("%s: record %d app %q, want %q", tc.name, i, r.App, tc.want[i])
			}
		}
	}
	if app, ok := BoundApp(context.Background()); ok || app != "" {
		t.Errorf("BoundApp of a bare context = %q, %v", app, ok)
	}
}

func codeOf(err error) string {
	if err == nil {
		return ""
	}
	return ErrorCode(err)
}
