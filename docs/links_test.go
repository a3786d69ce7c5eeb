// Package docs holds stopscope's documentation; its test checks that every
// link in README.md and docs/*.md resolves.
package docs

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"unicode"
)

// TestLinks checks every relative link of the README and the docs against
// the repository: the file must exist and a #fragment must name one of its
// headings. Web links are not fetched.
func TestLinks(t *testing.T) {
	root := os.DirFS("..")
	files := []string{"README.md"}
	docs, err := fs.Glob(root, "docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) == 0 {
		t.Fatal("found no docs/*.md")
	}
	files = append(files, docs...)
	links := 0
	for _, name := range files {
		n, problems, err := checkFile(root, name)
		if err != nil {
			t.Fatal(err)
		}
		links += n
		for _, p := range problems {
			t.Error(p)
		}
	}
	if links == 0 {
		t.Fatal("found no relative links at all: the parser is broken")
	}
}

// TestReadmeLength keeps the README an entry point; the rest is in docs/.
func TestReadmeLength(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "\n"); n > 250 {
		t.Errorf("README.md has %d lines, more than 250: move detail to docs/", n)
	}
}

// TestCheckFile proves the checker fails on what it must fail on.
func TestCheckFile(t *testing.T) {
	fsys := fstest.MapFS{
		"docs/a.md":   {Data: []byte("# Title\n\n## The `POST /v1/x` route\n\n## Same\n\n## Same\n")},
		"src/main.go": {Data: []byte("package main\n")},
	}
	tests := []struct {
		name     string
		text     string
		problems int
	}{
		{"file", "[a](docs/a.md)", 0},
		{"heading", "[a](docs/a.md#title)", 0},
		{"code in heading", "[a](docs/a.md#the-post-v1x-route)", 0},
		{"duplicate heading", "[a](docs/a.md#same-1)", 0},
		{"directory", "[src](src/) and [src](src)", 0},
		{"own heading", "## Here it is\n\n[x](#here-it-is)", 0},
		{"web", "[w](https://example.com/nowhere) <https://example.com/> [m](mailto:a@b.c)", 0},
		{"fenced code", "```\n[a](missing.md)\n```\n~~~md\n[b](missing.md)\n~~~", 0},
		{"inline code", "`[a](missing.md)`", 0},
		{"reference", "[a][r]\n\n[r]: docs/a.md#title", 0},
		{"image", "![i](docs/a.md)", 0},
		{"title", `[a](docs/a.md "the a")`, 0},
		{"missing file", "[a](docs/b.md)", 1},
		{"missing heading", "[a](docs/a.md#nope)", 1},
		{"missing own heading", "[x](#nope)", 1},
		{"missing duplicate", "[a](docs/a.md#same-2)", 1},
		{"missing reference target", "[r]: docs/zzz.md", 1},
		{"fragment of a non-Markdown file", "[a](src/main.go#L1)", 0},
		{"two bad", "[a](x.md) then [b](y.md)", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := fstest.MapFS{"README.md": {Data: []byte(tt.text + "\n")}}
			for k, v := range fsys {
				m[k] = v
			}
			_, problems, err := checkFile(m, "README.md")
			if err != nil {
				t.Fatal(err)
			}
			if len(problems) != tt.problems {
				t.Errorf("%q: %d problems, want %d: %q", tt.text, len(problems), tt.problems, problems)
			}
		})
	}
}

func TestSlugs(t *testing.T) {
	tests := []struct{ heading, slug string }{
		{"Run it", "run-it"},
		{"`GET /api/v1/responses/{id}`", "get-apiv1responsesid"},
		{"The service's own metrics", "the-services-own-metrics"},
		{"Rates, series, spikes, patterns and refusers", "rates-series-spikes-patterns-and-refusers"},
		{"OpenTelemetry, from any language", "opentelemetry-from-any-language"},
		{"decode → classify", "decode--classify"},
		{"Adding a [stop reason](x.md)", "adding-a-stop-reason"},
		{"snake_case **bold**", "snake_case-bold"},
	}
	for _, tt := range tests {
		if got := slug(tt.heading); got != tt.slug {
			t.Errorf("slug(%q) = %q, want %q", tt.heading, got, tt.slug)
		}
	}
}

var (
	// inlineLink matches [text](dest) and ![alt](dest), dest optionally
	// followed by a title. Nested brackets in text are not needed here.
	inlineLink = regexp.MustCompile(`!?\[[^\]]*\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)`)
	// refDef matches a link reference definition: [label]: dest.
	refDef    = regexp.MustCompile(`^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$`)
	heading   = regexp.MustCompile(`^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$`)
	codeSpan  = regexp.MustCompile("`+[^`]*`+")
	fence     = regexp.MustCompile("^\\s{0,3}(```+|~~~+)")
	linkText  = regexp.MustCompile(`!?\[([^\]]*)\]\([^)]*\)`)
	emphasis  = regexp.MustCompile(`\*+`)
	webScheme = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*:`)
)

// checkFile returns how many relative links the Markdown file name holds
// and a description of each that does not resolve in fsys.
func checkFile(fsys fs.FS, name string) (int, []string, error) {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return 0, nil, err
	}
	var links int
	var problems []string
	for _, l := range markdownLinks(string(b)) {
		if webScheme.MatchString(l.dest) {
			continue // http(s), mailto: not checked, no network in tests
		}
		links++
		if p := resolve(fsys, name, l.dest); p != "" {
			problems = append(problems, fmt.Sprintf("%s:%d: link %q: %s", name, l.line, l.dest, p))
		}
	}
	return links, problems, nil
}

// resolve says what is wrong with the link dest found in file from, or "".
func resolve(fsys fs.FS, from, dest string) string {
	target, frag, _ := strings.Cut(dest, "#")
	file := from
	if target != "" {
		file = path.Clean(path.Join(path.Dir(from), target))
		if strings.HasPrefix(file, "../") || file == ".." {
			return "points outside the repository"
		}
		if _, err := fs.Stat(fsys, file); err != nil {
			return "no such file"
		}
	}
	if frag == "" || !strings.HasSuffix(file, ".md") {
		return "" // GitHub makes its own anchors (#L12) for other files
	}
	b, err := fs.ReadFile(fsys, file)
	if err != nil {
		return "not readable: " + err.Error()
	}
	for _, a := range anchors(string(b)) {
		if a == frag {
			return ""
		}
	}
	return fmt.Sprintf("no heading with anchor #%s in %s", frag, file)
}

type link struct {
	dest string
	line int
}

// markdownLinks returns the destinations of the inline links, images and
// reference definitions of a Markdown text, outside code.
func markdownLinks(text string) []link {
	var out []link
	eachProseLine(text, func(n int, line string) {
		if m := refDef.FindStringSubmatch(line); m != nil {
			out = append(out, link{m[1], n})
			return
		}
		for _, m := range inlineLink.FindAllStringSubmatch(codeSpan.ReplaceAllString(line, ""), -1) {
			out = append(out, link{m[1], n})
		}
	})
	return out
}

// anchors returns the GitHub anchors of the headings of a Markdown text, in
// order, with -1, -2… added to repeated ones as GitHub does.
func anchors(text string) []string {
	var out []string
	seen := map[string]int{}
	eachProseLine(text, func(_ int, line string) {
		m := heading.FindStringSubmatch(line)
		if m == nil {
			return
		}
		s := slug(m[2])
		if n := seen[s]; n > 0 {
			out = append(out, fmt.Sprintf("%s-%d", s, n))
		} else {
			out = append(out, s)
		}
		seen[s]++
	})
	return out
}

// eachProseLine calls f with every line (numbered from 1) outside fenced
// code blocks.
func eachProseLine(text string, f func(int, string)) {
	var open string // the fence that opened the current code block
	for i, line := range strings.Split(text, "\n") {
		if m := fence.FindStringSubmatch(line); m != nil {
			switch {
			case open == "":
				open = m[1]
				continue
			case m[1][0] == open[0] && len(m[1]) >= len(open) && strings.TrimSpace(line) == m[1]:
				open = ""
				continue
			}
		}
		if open == "" {
			f(i+1, line)
		}
	}
}

// slug is GitHub's anchor for a heading: its rendered text in lower case,
// with everything but letters, digits, spaces, hyphens and underscores
// removed, and spaces turned into hyphens.
func slug(h string) string {
	h = linkText.ReplaceAllString(h, "$1")
	h = strings.ReplaceAll(h, "`", "")
	h = emphasis.ReplaceAllString(h, "")
	var b strings.Builder
	for _, r := range strings.ToLower(h) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}
