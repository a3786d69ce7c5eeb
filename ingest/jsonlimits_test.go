package ingest

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/stopscope/stopscope/analytics"
)

// tokenShape is jsonShape done by a real JSON reader, for valid JSON.
func tokenShape(body []byte) (deepest, elements int, ok bool) {
	dec := jsontext.NewDecoder(bytes.NewReader(body), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	for {
		kind := dec.PeekKind()
		_, err := dec.ReadToken()
		if errors.Is(err, io.EOF) {
			return deepest, elements, true
		}
		if err != nil {
			return 0, 0, false
		}
		depth := dec.StackDepth()
		deepest = max(deepest, depth)
		// A token that starts a value in a container, other than an
		// object's value (its name was counted), is an element.
		if kind == '}' || kind == ']' {
			continue
		}
		parent, n := dec.StackIndex(depth)
		if kind == '{' || kind == '[' {
			parent, n = dec.StackIndex(depth - 1)
		}
		if parent == '[' || (parent == '{' && n%2 == 1) {
			elements++
		}
	}
}

func TestJSONShape(t *testing.T) {
	tests := []struct {
		body            string
		depth, elements int
	}{
		{`{}`, 1, 0},
		{`[]`, 1, 0},
		{`1`, 0, 0},
		{`[1,2,3]`, 1, 3},
		{`{"a":1,"b":[true,null,{}]}`, 3, 5},
		{`{"a":{"b":{"c":{}}}}`, 4, 3},
		{`["[{\"]\",", "\\", "x"]`, 1, 3},
		{`{"k":"v"} {"k":"v"}`, 1, 2},
		{`[[],[[]],{"a":[]}]`, 3, 5},
		{` [ 1 , { "a" : -1.5e3 } ] `, 2, 3},
	}
	for _, tt := range tests {
		depth, elements, _ := jsonShape([]byte(tt.body), 1000, 1000)
		if depth != tt.depth || elements != tt.elements {
			t.Errorf("%s: depth %d, %d elements; want %d, %d", tt.body, depth, elements, tt.depth, tt.elements)
		}
		if d, e, ok := tokenShape([]byte(tt.body)); ok && (d != tt.depth || e != tt.elements) {
			t.Errorf("%s: the JSON reader says depth %d, %d elements", tt.body, d, e)
		}
	}
}

func TestCheckJSONShape(t *testing.T) {
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	wide := func(n int) string { return "[" + strings.Repeat("0,", n-1) + "0]" }
	tests := []struct {
		name, body string
		want       string
	}{
		{"at the depth limit", deep(MaxJSONDepth), ""},
		{"past the depth limit", deep(MaxJSONDepth + 1), "the JSON body nests deeper than 128 levels, the limit (at byte 128)"},
		{"a million levels", deep(1 << 20), "the JSON body nests deeper than 128 levels, the limit (at byte 128)"},
		{"brackets in strings are text", `["` + deep(1000) + `"]`, ""},
		{"stray closers buy no depth", strings.Repeat("]", 10) + deep(MaxJSONDepth+1), "nests deeper than 128 levels"},
		{"at the element limit", wide(MaxJSONElements), ""},
		{"past the element limit", wide(MaxJSONElements + 1),
			"the JSON body holds more than 400000 array elements and object members, the limit (at byte 800000); send smaller batches"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckJSONShape([]byte(tt.body))
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("error %v, want none", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error %v, want %q", err, tt.want)
			case err != nil && analytics.ErrorCode(err) != analytics.EInvalid:
				t.Errorf("code %s, want invalid", analytics.ErrorCode(err))
			}
		})
	}
}

// TestDeepBodyRefused checks that the native decoder refuses a body past
// the shape limits as a whole, naming the limit.
func TestDeepBodyRefused(t *testing.T) {
	body := `{"type":"message","content":[{"type":"text","text":"x","extra":` + strings.Repeat(`{"a":`, 200) + `1` + strings.Repeat(`}`, 200) + `}]}`
	_, _, err := DecodeBatch([]byte(body), "application/json", testOpts)
	if err == nil || analytics.ErrorCode(err) != analytics.EInvalid || !strings.Contains(err.Error(), "nests deeper than 128 levels") {
		t.Errorf("error %v, want the depth limit named", err)
	}
}

// FuzzJSONShape checks the byte scanner against a real JSON reader: for
// valid JSON both count the same depth and elements, and for anything the
// scanner neither panics nor runs past the body.
func FuzzJSONShape(f *testing.F) {
	f.Add([]byte(`{"a":[1,"x\"]",{"b":null}],"c":{}}`))
	f.Add([]byte(`[[[[[[[[[[[[]]]]]]]]]]]]`))
	f.Add([]byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[{"key":"k","value":{"kvlistValue":{"values":[]}}}]}]}]}]}`))
	f.Add([]byte(`"\\" ]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		depth, elements, _ := jsonShape(body, 1<<30, 1<<30)
		if d, e, ok := tokenShape(body); ok && (d != depth || e != elements) {
			t.Errorf("%q: scanner says depth %d, %d elements; the JSON reader %d, %d", body, depth, elements, d, e)
		}
	})
}
