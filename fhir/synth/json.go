package synth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// obj is a JSON object whose members keep the order they were written
// in, so a generated resource reads like a hand-written one
// (resourceType and id first) and its bytes never depend on map order.
type obj []member

type member struct {
	key string
	val any
}

// o builds an obj from key, value pairs, leaving out the members whose
// value is absent: nil, "", or an empty obj or slice. false and 0 are
// kept.
func o(kv ...any) obj {
	if len(kv)%2 != 0 {
		panic("synth: o needs key, value pairs")
	}
	out := make(obj, 0, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		if !absent(kv[i+1]) {
			out = append(out, member{kv[i].(string), kv[i+1]})
		}
	}
	return out
}

func absent(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return v == ""
	case obj:
		return len(v) == 0
	case []obj:
		return len(v) == 0
	case []any:
		return len(v) == 0
	case []string:
		return len(v) == 0
	}
	return false
}

// get returns the value of member key, nil if there is none.
func (x obj) get(key string) any {
	for _, m := range x {
		if m.key == key {
			return m.val
		}
	}
	return nil
}

// with returns a copy of x with member key set to val (appended when x
// has no such member; removed when val is absent). Nested values are
// shared, not copied: a version is built with with, never by changing
// the members of an earlier one.
func (x obj) with(key string, val any) obj {
	out := make(obj, 0, len(x)+1)
	done := false
	for _, m := range x {
		if m.key == key {
			done = true
			if !absent(val) {
				out = append(out, member{key, val})
			}
			continue
		}
		out = append(out, m)
	}
	if !done && !absent(val) {
		out = append(out, member{key, val})
	}
	return out
}

// append returns a copy of x with ms added at the end.
func (x obj) append(ms ...member) obj { return append(append(obj{}, x...), ms...) }

// marshal encodes v compactly, without escaping <, > and & (FHIR text
// such as "<= 2 days a week" stays readable).
func marshal(v any) []byte {
	var b bytes.Buffer
	encode(&b, v)
	return b.Bytes()
}

func encode(b *bytes.Buffer, v any) {
	switch v := v.(type) {
	case obj:
		b.WriteByte('{')
		for i, m := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			encodeString(b, m.key)
			b.WriteByte(':')
			encode(b, m.val)
		}
		b.WriteByte('}')
	case []obj:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			encode(b, e)
		}
		b.WriteByte(']')
	case []any:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			encode(b, e)
		}
		b.WriteByte(']')
	case []string:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			encodeString(b, e)
		}
		b.WriteByte(']')
	case string:
		encodeString(b, v)
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case int:
		b.WriteString(strconv.Itoa(v))
	case float64:
		b.WriteString(strconv.FormatFloat(v, 'f', -1, 64))
	case json.RawMessage:
		b.Write(v)
	default:
		panic(fmt.Sprintf("synth: cannot encode %T", v))
	}
}

func encodeString(b *bytes.Buffer, s string) {
	plain := true
	for i := 0; i < len(s) && plain; i++ {
		c := s[i]
		plain = c >= 0x20 && c != '"' && c != '\\' && c < 0x7f
	}
	if plain { // most strings: nothing to escape
		b.WriteByte('"')
		b.WriteString(s)
		b.WriteByte('"')
		return
	}
	var sb bytes.Buffer
	enc := json.NewEncoder(&sb)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	b.Write(bytes.TrimSuffix(sb.Bytes(), []byte("\n")))
}
