package ingest

import (
	"github.com/stopscope/stopscope/analytics"
)

// The bounds on the shape of every JSON body taken in (native records and
// OTLP/JSON exports alike), checked by CheckJSONShape before any decoding.
// Decoders build a value for each element they read, tens of bytes for a
// byte or two of JSON, and some recurse once per level of nesting: without
// these bounds a body well within the size limits could cost gigabytes.
const (
	// MaxJSONDepth is the deepest nesting of objects and arrays a body
	// may have. It matches what protobuf allows OTLP: its decoder stops at
	// 100 nested messages, about 30 levels of attribute values, which
	// OTLP/JSON writes about 130 deep.
	MaxJSONDepth = 128
	// MaxJSONElements is the most array elements and object members a
	// body may hold, counted over the whole body, nested ones included.
	// Decoding one costs up to about 200 bytes (a native record's empty
	// content block, as measured; pdata's empty attribute about 100), so a
	// body at the limit costs about 80 MiB at worst. An OTLP/JSON export of
	// 8,192 spans (an OpenTelemetry Collector's default batch) as real
	// instrumentations write them holds about 320,000.
	MaxJSONElements = 400_000
)

// CheckJSONShape checks that a JSON body nests at most MaxJSONDepth deep
// and holds at most MaxJSONElements array elements and object members. It
// reads the bytes once, aware of strings, and judges nothing else: whether
// the body is valid JSON is for its decoder to say. The error, an
// analytics.EInvalid, names the limit passed and where.
func CheckJSONShape(body []byte) error {
	return checkJSONShape(body, MaxJSONDepth, MaxJSONElements)
}

func checkJSONShape(body []byte, maxDepth, maxElements int) error {
	depth, elements, at := jsonShape(body, maxDepth, maxElements)
	switch {
	case depth > maxDepth:
		return analytics.Errorf(analytics.EInvalid,
			"the JSON body nests deeper than %d levels, the limit (at byte %d)", maxDepth, at)
	case elements > maxElements:
		return analytics.Errorf(analytics.EInvalid,
			"the JSON body holds more than %d array elements and object members, the limit (at byte %d); send smaller batches",
			maxElements, at)
	}
	return nil
}

// jsonShape returns the deepest nesting of body and its count of array
// elements and object members, stopping at the byte at which either passes
// its limit.
func jsonShape(body []byte, maxDepth, maxElements int) (deepest, elements, at int) {
	depth := 0
	// empty is true while the innermost container has no element yet.
	empty := false
	for i := 0; i < len(body); i++ {
		switch body[i] {
		case '"':
			// Skip the string: its brackets and commas are text.
			for i++; i < len(body) && body[i] != '"'; i++ {
				if body[i] == '\\' {
					i++
				}
			}
			if depth > 0 && empty {
				empty = false
				elements++
			}
		case '{', '[':
			if depth > 0 && empty {
				elements++
			}
			depth++
			deepest = max(deepest, depth)
			if depth > maxDepth {
				return deepest, elements, i
			}
			empty = true
		case '}', ']':
			// A stray closer (invalid JSON) must not buy depth for later.
			depth = max(depth-1, 0)
			empty = false
		case ',':
			if depth > 0 {
				elements++
			}
		case ' ', '\t', '\n', '\r', ':':
		default:
			// A number or a literal.
			if depth > 0 && empty {
				empty = false
				elements++
			}
		}
		if elements > maxElements {
			return deepest, elements, i
		}
	}
	return deepest, elements, len(body)
}
