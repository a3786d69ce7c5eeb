package ingest

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImports checks the layering of the packages under ingest/ by what
// their non-test files import: only receiver knows echo and gRPC; the
// otelclaude client library imports nothing of the service but the SSE
// reader; the SSE reader imports only the standard library.
func TestImports(t *testing.T) {
	const module = "github.com/stopscope/stopscope/"
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || strings.Contains(path, "testdata") {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		pkg := filepath.ToSlash(filepath.Dir(path))
		for _, spec := range f.Imports {
			imp, _ := strconv.Unquote(spec.Path.Value)
			var bad string
			switch {
			case pkg != "receiver" && (strings.Contains(imp, "labstack/echo") || strings.HasPrefix(imp, "google.golang.org/grpc")):
				bad = "only ingest/receiver may import echo and gRPC"
			case pkg == "otelclaude" && strings.HasPrefix(imp, module) && imp != module+"ingest/sse":
				bad = "otelclaude is a client library: of the service it imports only ingest/sse"
			case pkg == "sse" && strings.Contains(strings.Split(imp, "/")[0], "."):
				bad = "ingest/sse imports only the standard library"
			}
			if bad != "" {
				t.Errorf("%s imports %s: %s", path, imp, bad)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
