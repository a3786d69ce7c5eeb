package analytics

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// recordFields classifies every field of Record (and of the types it
// holds) that can carry text: content is what a call said, removed by
// StripContent (--metadata-only) and redacted by Redact (--redact);
// metadata is what is known about the call, kept by both. A new field
// fails TestPrivacyCoversEveryField until it is listed here, and, if it is
// content, handled by StripContent and Redact.
var recordFields = map[string]bool{ // path → is content
	"Source":               false,
	"App":                  false,
	"Environment":          false,
	"Release":              false,
	"PromptVersion":        false,
	"SessionID":            false,
	"UserID":               false,
	"RequestID":            false,
	"MessageID":            false,
	"TraceID":              false,
	"SpanID":               false,
	"PromptID":             false,
	"ServiceTier":          false,
	"Kind":                 false,
	"Model":                false,
	"StopReason":           false,
	"StopReasonUnrecorded": false,
	"StopSequence":         true,
	// A refusal's stop_details are Anthropic's metadata about the call,
	// but the explanation may quote what was asked: it is content.
	"StopDetails.Type":             false,
	"StopDetails.Category":         false,
	"StopDetails.Explanation":      true,
	"StopDetails.RecommendedModel": false,
	"Tools[]":                      false,
	"Causes[]":                     false,
	"ErrorType":                    false,
	"ErrorMessage":                 true,
	"Subtype":                      false,
	"Content[].Type":               false,
	"Content[].Text":               true,
	"Content[].Name":               false,
	"Req.Model":                    false,
	"Req.StopSequences[]":          true,
	"Req.Messages[].Role":          false,
	"Req.Messages[].Blocks[].Type": false,
	"Req.Messages[].Blocks[].Text": true,
	"Req.Messages[].Blocks[].Name": false,
	"RequestBody":                  true,
	"ResponseBody":                 true,
	"StreamBody":                   true,
}

var rawMessageType = reflect.TypeFor[json.RawMessage]()

// textField is one place in a record that holds text.
type textField struct {
	path string
	v    reflect.Value
}

// textFields walks v and returns its text-bearing fields: strings (named
// string types too), byte slices and JSON, inside structs, pointers and
// slices. It allocates nil pointers and gives empty slices one element
// when fill is set, so that every path is reached.
func textFields(v reflect.Value, path string, fill bool) []textField {
	switch v.Kind() {
	case reflect.String:
		return []textField{{path, v}}
	case reflect.Pointer:
		if v.IsNil() {
			if !fill {
				return nil
			}
			v.Set(reflect.New(v.Type().Elem()))
		}
		return textFields(v.Elem(), path, fill)
	case reflect.Slice:
		if v.Type() == rawMessageType || v.Type().Elem().Kind() == reflect.Uint8 {
			return []textField{{path, v}}
		}
		if v.Len() == 0 && fill {
			v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		}
		var out []textField
		for i := range v.Len() {
			out = append(out, textFields(v.Index(i), path+"[]", fill)...)
		}
		return out
	case reflect.Struct:
		if v.Type().PkgPath() != reflect.TypeFor[Record]().PkgPath() {
			return nil // time.Time and the like hold no text
		}
		var out []textField
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			p := f.Name
			if path != "" {
				p = path + "." + f.Name
			}
			out = append(out, textFields(v.Field(i), p, fill)...)
		}
		return out
	}
	return nil
}

const secretText = "call me on 555-12-3456"

// fullRecord returns a record with every text field set to secretText (a
// JSON document holding it, for bodies).
func fullRecord() *Record {
	r := &Record{}
	for _, f := range textFields(reflect.ValueOf(r).Elem(), "", true) {
		switch {
		case f.v.Kind() == reflect.String:
			f.v.SetString(secretText)
		default:
			f.v.SetBytes([]byte(`{"text":"` + secretText + `"}`))
		}
	}
	return r
}

func textOf(v reflect.Value) string {
	if v.Kind() == reflect.String {
		return v.String()
	}
	return string(v.Bytes())
}

// Every text-bearing field of Record is classified, and --metadata-only
// and --redact keep their promises on every one: content goes (or is
// redacted), metadata stays as it was.
func TestPrivacyCoversEveryField(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range textFields(reflect.ValueOf(fullRecord()).Elem(), "", false) {
		seen[f.path] = true
		if _, ok := recordFields[f.path]; !ok {
			t.Errorf("Record field %s is not classified: add it to recordFields as content (and strip and redact it in privacy.go) or as metadata", f.path)
		}
	}
	for path := range recordFields {
		if !seen[path] {
			t.Errorf("recordFields lists %s, which Record no longer has", path)
		}
	}
	if t.Failed() {
		return
	}
	pats, err := CompileRedactions([]string{`\d{3}-\d{2}-\d{4}`})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		apply func(*Record)
		// content reports whether a content field's text is as it must be.
		content func(string) bool
	}{
		{"metadata-only", StripContent, func(s string) bool { return s == "" }},
		{"redact", func(r *Record) { Redact(r, pats) }, func(s string) bool {
			return s != "" && !strings.Contains(s, "555-12-3456") && strings.Contains(s, Redacted)
		}},
	} {
		r := fullRecord()
		tc.apply(r)
		got := textFields(reflect.ValueOf(r).Elem(), "", false)
		var paths []string
		for _, f := range got {
			paths = append(paths, f.path)
			s := textOf(f.v)
			if recordFields[f.path] {
				if !tc.content(s) {
					t.Errorf("%s: content field %s is %q", tc.name, f.path, s)
				}
			} else if s != secretText {
				t.Errorf("%s: metadata field %s changed to %q", tc.name, f.path, s)
			}
		}
		// A content slice removed whole (nil) is fine; metadata must all stay.
		for path, content := range recordFields {
			if !content && !slices.Contains(paths, path) {
				t.Errorf("%s: metadata field %s is gone", tc.name, path)
			}
		}
	}
}
