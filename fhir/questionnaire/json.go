package questionnaire

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"strconv"
	"strings"
)

// node is a JSON value with its position in the document, so that the
// package can read a resource and add to it without re-encoding it.
type node struct {
	kind       byte // '{', '[', '"' (string), 'n' (number), 'b' (true, false), '0' (null)
	start, end int  // the value's bytes, raw[start:end]
	str        string
	boolean    bool
	keys       []string // '{': member names in order, duplicates kept
	vals       []*node  // '{': member values; '[': elements
}

// maxDepth bounds parseJSON's recursion; fhir.Parse accepts far less.
const maxDepth = 1000

// parseJSON parses exactly one JSON value.
func parseJSON(raw []byte) (*node, error) {
	p := &parser{raw: raw, dec: json.NewDecoder(bytes.NewReader(raw))}
	p.dec.UseNumber()
	n, err := p.value(0)
	if err != nil {
		return nil, err
	}
	if _, err := p.dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("data after the JSON value")
	}
	return n, nil
}

type parser struct {
	raw []byte
	dec *json.Decoder
}

func (p *parser) value(depth int) (*node, error) {
	before := int(p.dec.InputOffset())
	tok, err := p.dec.Token()
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	// Between the previous token and this one are only white space, ':'
	// and ','.
	start := before
	for start < len(p.raw) && strings.IndexByte(" \t\r\n,:", p.raw[start]) >= 0 {
		start++
	}
	n := &node{start: start}
	switch v := tok.(type) {
	case json.Delim:
		if v != '{' && v != '[' {
			return nil, errors.New("unexpected " + string(v))
		}
		if depth >= maxDepth {
			return nil, errors.New("JSON nested too deeply")
		}
		n.kind = byte(v)
		for p.dec.More() {
			if v == '{' {
				kt, err := p.dec.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				n.keys = append(n.keys, k)
			}
			c, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			n.vals = append(n.vals, c)
		}
		if _, err := p.dec.Token(); err != nil {
			return nil, err
		}
	case string:
		n.kind, n.str = '"', v
	case json.Number:
		n.kind, n.str = 'n', string(v)
	case bool:
		n.kind, n.boolean = 'b', v
	default:
		n.kind = '0'
	}
	n.end = int(p.dec.InputOffset())
	return n, nil
}

// get is the first value of the member named key, nil if n is not an
// object or has no such member.
func (n *node) get(key string) *node {
	if n == nil || n.kind != '{' {
		return nil
	}
	for i, k := range n.keys {
		if k == key {
			return n.vals[i]
		}
	}
	return nil
}

// array is the elements of the member named key, nil if it is absent or
// not an array.
func (n *node) array(key string) []*node {
	if v := n.get(key); v != nil && v.kind == '[' {
		return v.vals
	}
	return nil
}

// text is the member named key if it is a string.
func (n *node) text(key string) (string, bool) {
	if v := n.get(key); v != nil && v.kind == '"' {
		return v.str, true
	}
	return "", false
}

// flag is the member named key if it is a boolean, false otherwise.
func (n *node) flag(key string) bool {
	v := n.get(key)
	return v != nil && v.kind == 'b' && v.boolean
}

// choice returns the members of n named prefix + an upper-case letter
// (the value[x] of an answer, the answer[x] of an enableWhen): the type
// suffix and the value of each, in order.
func (n *node) choice(prefix string) (types []string, vals []*node) {
	if n == nil || n.kind != '{' {
		return nil, nil
	}
	for i, k := range n.keys {
		if len(k) > len(prefix) && strings.HasPrefix(k, prefix) && k[len(prefix)] >= 'A' && k[len(prefix)] <= 'Z' {
			types = append(types, k[len(prefix):])
			vals = append(vals, n.vals[i])
		}
	}
	return types, vals
}

// maxExponent bounds the exponent of a number read as a decimal, so that a
// literal such as 1e999999999 cannot make big.Rat allocate without limit.
const maxExponent = 400

// decimal reads a JSON number exactly.
func decimal(n *node) (*big.Rat, bool) {
	if n == nil || n.kind != 'n' {
		return nil, false
	}
	if i := strings.IndexAny(n.str, "eE"); i >= 0 {
		exp := strings.TrimLeft(strings.TrimLeft(n.str[i+1:], "+-"), "0")
		if e, err := strconv.Atoi(exp); len(exp) > 6 || err == nil && e > maxExponent {
			return nil, false
		}
	}
	r, ok := new(big.Rat).SetString(n.str)
	return r, ok
}

// encodeString is s as a JSON string, with <, > and & as themselves.
func encodeString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		panic(err) // strings always encode
	}
	return strings.TrimSuffix(b.String(), "\n")
}
