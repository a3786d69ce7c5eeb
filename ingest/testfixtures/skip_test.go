package testfixtures

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// TestOpenedForAppend reads the flags of this process's own descriptors.
func TestOpenedForAppend(t *testing.T) {
	if _, err := os.Stat("/proc/self/fdinfo"); err != nil {
		t.Skip("no /proc/self/fdinfo here")
	}
	path := filepath.Join(t.TempDir(), "log")
	for _, tc := range []struct {
		name string
		flag int
		want bool
	}{
		{"truncated", os.O_WRONLY | os.O_CREATE | os.O_TRUNC, false},
		{"appending", os.O_WRONLY | os.O_CREATE | os.O_APPEND, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := os.OpenFile(path, tc.flag, 0o600)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if got := openedForAppend("/proc/self/fdinfo/" + strconv.Itoa(int(f.Fd()))); got != tc.want {
				t.Errorf("openedForAppend = %v, want %v", got, tc.want)
			}
		})
	}
	if openedForAppend(filepath.Join(t.TempDir(), "missing")) {
		t.Error("a missing fdinfo file reads as appending")
	}
}
