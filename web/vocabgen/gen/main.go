// Command gen writes web/static/vocab.css and docs/vocabulary.md from the
// analytics vocabulary. Run it with `go generate ./web`.
package main

import (
	"flag"
	"log"
	"os"

	"github.com/stopscope/stopscope/web/vocabgen"
)

func main() {
	css := flag.String("css", "static/vocab.css", "where to write the stylesheet")
	md := flag.String("md", "../docs/vocabulary.md", "where to write the vocabulary reference")
	flag.Parse()
	if err := os.WriteFile(*css, vocabgen.CSS(), 0o644); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*md, vocabgen.Markdown(), 0o644); err != nil {
		log.Fatal(err)
	}
}
