package testfixtures

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

var announced sync.Map // suite name -> struct{}

// Skip skips the test because an optional suite cannot run here, and says
// so once per test binary where plain `go test ./...` shows it: go test in
// package-list mode hides the output of passing packages, skip messages
// included, unless -v is given.
func Skip(tb testing.TB, suite, why string) {
	tb.Helper()
	msg := suite + " skipped: " + why
	if _, seen := announced.LoadOrStore(suite, struct{}{}); !seen && !testing.Verbose() {
		w, closeW := goStderr()
		fmt.Fprintf(w, "stopscope: %s\n", msg)
		closeW()
	}
	tb.Skip(msg)
}

// goStderr returns the standard error of the go command that runs this test
// binary, which prints straight to the user, or os.Stderr where the parent
// is not the go command or its standard error cannot be written safely.
func goStderr() (w *os.File, closeW func()) {
	fallback := func() (*os.File, func()) { return os.Stderr, func() {} }
	proc := "/proc/" + strconv.Itoa(os.Getppid())
	exe, err := os.Readlink(proc + "/exe")
	if err != nil || filepath.Base(exe) != "go" {
		return fallback()
	}
	fi, err := os.Stat(proc + "/fd/2")
	if err != nil {
		return fallback()
	}
	// A terminal or a pipe takes another writer's lines as they come; a
	// regular file only when opened for appending, or the go command's own
	// writes would overwrite ours.
	if fi.Mode().IsRegular() && !openedForAppend(proc+"/fdinfo/2") {
		return fallback()
	}
	f, err := os.OpenFile(proc+"/fd/2", os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fallback()
	}
	return f, func() { f.Close() }
}

// openedForAppend reports whether the fdinfo file at path has O_APPEND in
// its flags.
func openedForAppend(path string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "flags:"); ok {
			flags, err := strconv.ParseUint(strings.TrimSpace(v), 8, 64)
			return err == nil && flags&uint64(os.O_APPEND) != 0
		}
	}
	return false
}
