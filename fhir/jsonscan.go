package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// MaxDepth is the deepest nesting of JSON objects and arrays accepted in a
// resource. R4 resources rarely go past 15; Questionnaire items nest
// deeper, but not this deep.
const MaxDepth = 64

// member is one name/value pair of a JSON object, the value compacted but
// otherwise exactly as the client wrote it.
type member struct {
	Key   string
	Value json.RawMessage
}

// checkJSON walks the whole document once and reports what R4's JSON
// format forbids and encoding/json would silently accept: duplicate names
// (the last would win), nesting deeper than MaxDepth, null outside arrays,
// and empty objects, arrays and strings (json.html: "must have a value").
func checkJSON(typ string, body []byte) *Error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var stack []*frame
	values := 0 // top-level values seen
	path := func() string {
		if len(stack) == 0 {
			return typ
		}
		f := stack[len(stack)-1]
		if f.object {
			return f.path + "." + f.key
		}
		return f.path + "[" + strconv.Itoa(f.index) + "]"
	}
	bad := func(p, format string, args ...any) *Error {
		return Errorf(r4.IssueTypeStructure, p, format, args...)
	}
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return bad(typ, "invalid JSON: %s", syntaxMessage(err))
		}
		top := (*frame)(nil)
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		} else {
			if values++; values > 1 {
				return bad(typ, "invalid JSON: data after the resource")
			}
			if d, ok := tok.(json.Delim); !ok || d != '{' {
				return bad(typ, "a resource must be a JSON object")
			}
		}
		// An object's name.
		if top != nil && top.object && top.key == "" {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:len(stack)-1]
				if top.count == 0 {
					return bad(top.path, "empty object: an element must have a value or be absent")
				}
				advance(stack)
				continue
			}
			name := tok.(string)
			if top.keys[name] {
				return bad(top.path+"."+name, "duplicate element %q", name)
			}
			top.keys[name] = true
			if name == "" {
				return bad(top.path, "empty element name")
			}
			top.key = name
			top.count++
			continue
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{', '[':
				if len(stack) >= MaxDepth {
					return bad(path(), "JSON nested deeper than %d levels", MaxDepth)
				}
				if top != nil && !top.object {
					top.count++
				}
				f := &frame{object: v == '{', path: path()}
				if f.object {
					f.keys = map[string]bool{}
				}
				stack = append(stack, f)
			case ']':
				stack = stack[:len(stack)-1]
				if top.count == 0 {
					return bad(top.path, "empty array: an element must have a value or be absent")
				}
				advance(stack)
			}
			continue
		case nil:
			if top == nil || top.object {
				return bad(path(), "null is not allowed here; leave the element out")
			}
		case string:
			if v == "" {
				return bad(path(), "empty string: an element must have a value or be absent")
			}
		}
		if top != nil && !top.object {
			top.count++
		}
		advance(stack)
	}
	return nil
}

// frame is one open object or array during checkJSON's walk.
type frame struct {
	object bool
	keys   map[string]bool
	path   string
	index  int    // array: the index of the next value
	key    string // object: the name of the value being read
	count  int    // members or elements seen
}

// advance moves the innermost container past the value just read.
func advance(stack []*frame) {
	if len(stack) == 0 {
		return
	}
	f := stack[len(stack)-1]
	if f.object {
		f.key = ""
	} else {
		f.index++
	}
}

func syntaxMessage(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%s at byte %d", se.Error(), se.Offset)
	}
	s := err.Error()
	return strings.TrimPrefix(s, "json: ")
}
