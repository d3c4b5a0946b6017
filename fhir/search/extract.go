package search

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/matcare/matcare/fhir"
)

// Index holds, by parameter name, the values a resource is indexed by.
// A parameter without values (or Unsupported) has no entry.
type Index map[string][]Value

// Coding is a system and code pair.
type Coding struct {
	System string
	Code   string
}

// Value is one value of one parameter. Which fields are set depends on
// the parameter's Kind:
//
//   - Token: System and Code (a Coding; an Identifier's system and value;
//     a ContactPoint's value in Code; a code, id, string, uri or boolean
//     primitive in Code, with no System), Text for :text (Coding.display,
//     CodeableConcept.text as a value of its own, Identifier.type.text;
//     normalised), OfType for :of-type (Identifier.type.coding).
//   - String: Text (normalised: see Normalize) and Exact (as written).
//   - Date: Lo and Hi, the range [Lo, Hi) in UTC, never empty. Open ends
//     of a Period are MinTime and MaxTime; a Period that ends before it
//     starts has no value.
//   - Reference: Ref ("Type/id" for a relative reference, history
//     dropped; an absolute URL, urn or canonical as written) and RefType
//     when known. A Reference.identifier gives a value with Identifier
//     set and System and Code holding it (for :identifier). Contained
//     references ("#x") are skipped.
//   - Quantity: Number (the decimal as written), Float, System, Code
//     (the unit's code) and Unit.
//   - Number: Number and Float.
//   - URI: URI.
//   - Composite: Parts, the values of each component at one element
//     (Parts[i] for Components[i]).
type Value struct {
	System string   `json:"system,omitempty"`
	Code   string   `json:"code,omitempty"`
	Text   string   `json:"text,omitempty"`
	Exact  string   `json:"exact,omitempty"`
	OfType []Coding `json:"ofType,omitempty"`

	Ref        string `json:"ref,omitempty"`
	RefType    string `json:"refType,omitempty"`
	Identifier bool   `json:"identifier,omitempty"`

	Lo time.Time `json:"lo,omitzero"`
	Hi time.Time `json:"hi,omitzero"`

	Number string  `json:"number,omitempty"`
	Float  float64 `json:"float,omitempty"`
	Unit   string  `json:"unit,omitempty"`

	URI string `json:"uri,omitempty"`

	Parts [][]Value `json:"parts,omitempty"`
}

// MinTime and MaxTime stand for the open ends of a Period.
var (
	MinTime = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	MaxTime = time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)
)

// Extract returns the index values of body, a resource of resourceType
// (one of Types), for every supported parameter of the type. It fails
// only when body is not one JSON object of that type; values that do not
// parse (a malformed date) are skipped: validation is fhir.Parse's job.
// Dates without a time zone are read in UTC.
func Extract(resourceType string, body []byte) (Index, error) {
	ps := sortedParams[resourceType]
	if ps == nil {
		return nil, fmt.Errorf("search: no parameters for resource type %q", resourceType)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("search: %s: %w", resourceType, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("search: %s: data after the JSON object", resourceType)
	}
	root, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("search: %s: not a JSON object", resourceType)
	}
	if rt, ok := root["resourceType"]; ok && rt != resourceType {
		return nil, fmt.Errorf("search: resourceType %v, want %s", rt, resourceType)
	}
	idx := Index{}
	for _, p := range ps {
		if vs := extractParam(p, root); len(vs) > 0 {
			idx[p.Name] = vs
		}
	}
	return idx, nil
}

// extractParam returns the values of p in root, without duplicates.
func extractParam(p Param, root map[string]any) []Value {
	if !p.Supported() {
		return nil
	}
	if p.Computed != "" {
		if f := computed[p.Computed]; f != nil {
			return f(root)
		}
		return nil
	}
	var out []Value
	for _, path := range p.Paths {
		steps, ok := parsedPaths[path]
		if !ok {
			continue // TestTableWellFormed rules this out.
		}
		for _, n := range eval(root, steps) {
			out = append(out, values(p, n)...)
		}
	}
	return dedupe(out)
}

// parsedPaths holds every path of the table, parsed once.
var parsedPaths = func() map[string][]step {
	m := map[string][]step{}
	for _, p := range params {
		for _, path := range append(slices.Clone(p.Paths), p.ComponentPaths...) {
			if steps, err := parsePath(path); err == nil {
				m[path] = steps
			}
		}
	}
	return m
}()

// computed are the evaluations named by Param.Computed.
var computed = map[string]func(root map[string]any) []Value{
	// Patient.deceased.exists() and Patient.deceased != false.
	"deceased": func(root map[string]any) []Value {
		dead := false
		if b, ok := root["deceasedBoolean"].(bool); ok && b {
			dead = true
		}
		if _, ok := root["deceasedDateTime"].(string); ok {
			dead = true
		}
		return []Value{{Code: strconv.FormatBool(dead)}}
	},
}

// values returns the values of one element for p.
func values(p Param, n any) []Value {
	switch p.Kind {
	case Token:
		return tokenValues(n, p.DataType)
	case String:
		return stringValues(n)
	case Date:
		return dateValues(n)
	case Reference:
		return referenceValues(n, p.Targets)
	case Quantity, Number:
		return quantityValues(n)
	case URI:
		if s, ok := n.(string); ok {
			return []Value{{URI: s}}
		}
	case Composite:
		return compositeValues(p, n)
	}
	return nil
}

func str(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

func tokenValues(n any, dataType string) []Value {
	switch v := n.(type) {
	case string:
		return []Value{{Code: v}}
	case bool:
		return []Value{{Code: strconv.FormatBool(v)}}
	case json.Number:
		return []Value{{Code: v.String()}}
	case map[string]any:
		switch {
		case dataType == "ContactPoint":
			if s := str(v, "value"); s != "" {
				return []Value{{Code: s}}
			}
			return nil
		case v["coding"] != nil || v["text"] != nil:
			// CodeableConcept.
			var out []Value
			codings, _ := v["coding"].([]any)
			for _, c := range codings {
				if cm, ok := c.(map[string]any); ok {
					out = append(out, codingValue(cm)...)
				}
			}
			if t := str(v, "text"); t != "" {
				out = append(out, Value{Text: NormalizeString(t)})
			}
			return out
		case v["code"] != nil || v["display"] != nil || v["version"] != nil || v["userSelected"] != nil:
			return codingValue(v)
		default:
			// Identifier (system, value, type, use, period, assigner).
			id := Value{System: str(v, "system"), Code: str(v, "value")}
			if typ, ok := v["type"].(map[string]any); ok {
				id.Text = NormalizeString(str(typ, "text"))
				codings, _ := typ["coding"].([]any)
				for _, c := range codings {
					if cm, ok := c.(map[string]any); ok && (str(cm, "code") != "" || str(cm, "system") != "") {
						id.OfType = append(id.OfType, Coding{System: str(cm, "system"), Code: str(cm, "code")})
					}
				}
			}
			if id.Code == "" {
				return nil // An identifier without a value matches nothing.
			}
			return []Value{id}
		}
	}
	return nil
}

func codingValue(c map[string]any) []Value {
	v := Value{System: str(c, "system"), Code: str(c, "code"), Text: NormalizeString(str(c, "display"))}
	if v.System == "" && v.Code == "" && v.Text == "" {
		return nil
	}
	return []Value{v}
}

// stringParts are the members of HumanName and Address a string
// parameter on the whole element matches.
var stringParts = []string{"text", "family", "given", "prefix", "suffix",
	"line", "city", "district", "state", "postalCode", "country"}

func stringValues(n any) []Value {
	switch v := n.(type) {
	case string:
		if t := NormalizeString(v); t != "" {
			return []Value{{Text: t, Exact: v}}
		}
	case map[string]any:
		var out []Value
		for _, k := range stringParts {
			switch x := v[k].(type) {
			case string:
				out = append(out, stringValues(x)...)
			case []any:
				for _, e := range x {
					if s, ok := e.(string); ok {
						out = append(out, stringValues(s)...)
					}
				}
			}
		}
		return out
	}
	return nil
}

func dateValues(n any) []Value {
	switch v := n.(type) {
	case string:
		if lo, hi, err := fhir.DateRange(v, time.UTC); err == nil {
			return []Value{{Lo: lo, Hi: hi}}
		}
	case map[string]any:
		if _, ok := v["start"]; ok {
			return periodValue(v)
		}
		if _, ok := v["end"]; ok {
			return periodValue(v)
		}
		// Timing: its events.
		events, _ := v["event"].([]any)
		var out []Value
		for _, e := range events {
			out = append(out, dateValues(e)...)
		}
		return out
	}
	return nil
}

func periodValue(m map[string]any) []Value {
	v := Value{Lo: MinTime, Hi: MaxTime}
	if s := str(m, "start"); s != "" {
		lo, _, err := fhir.DateRange(s, time.UTC)
		if err != nil {
			return nil
		}
		v.Lo = lo
	}
	if s := str(m, "end"); s != "" {
		_, hi, err := fhir.DateRange(s, time.UTC)
		if err != nil {
			return nil
		}
		v.Hi = hi
	}
	if str(m, "start") == "" && str(m, "end") == "" {
		return nil
	}
	if !v.Lo.Before(v.Hi) {
		return nil // ends before it starts (Period invariant per-1): no range
	}
	return []Value{v}
}

// referenceType returns the resource type a Reference element points to,
// from its reference or else its type; "" when unknown.
func referenceType(m map[string]any) string {
	if r := str(m, "reference"); r != "" && !strings.HasPrefix(r, "#") {
		_, typ := normalizeRef(r)
		return typ
	}
	return str(m, "type")
}

// normalizeRef returns the indexed form of a reference and its type:
// "Type/id" for a relative reference (history dropped), the string as
// written otherwise, with the type read from its last "Type/id" segments.
func normalizeRef(r string) (ref, typ string) {
	segs := strings.Split(r, "/")
	if len(segs) >= 4 && segs[len(segs)-2] == "_history" {
		segs = segs[:len(segs)-2]
	}
	if len(segs) >= 2 {
		t, id := segs[len(segs)-2], segs[len(segs)-1]
		if isTypeName(t) && fhir.ValidID(id) {
			typ = t
		}
	}
	relative := !strings.Contains(r, ":")
	if relative && len(segs) == 2 && typ != "" {
		return segs[0] + "/" + segs[1], typ
	}
	return r, typ
}

// isTypeName reports whether t looks like a resource type name.
func isTypeName(t string) bool {
	if t == "" || t[0] < 'A' || t[0] > 'Z' {
		return false
	}
	return validName(t)
}

func referenceValues(n any, targets []string) []Value {
	allowed := func(typ string) bool {
		return typ == "" || len(targets) == 0 || slices.Contains(targets, typ)
	}
	switch v := n.(type) {
	case string:
		// canonical: as written, and without its |version.
		ref, typ := normalizeRef(v)
		url, _, versioned := strings.Cut(v, "|")
		if versioned {
			_, typ = normalizeRef(url)
		}
		if !allowed(typ) || v == "" {
			return nil
		}
		out := []Value{{Ref: ref, RefType: typ}}
		if versioned {
			out = append(out, Value{Ref: url, RefType: typ})
		}
		return out
	case map[string]any:
		var out []Value
		if r := str(v, "reference"); r != "" && !strings.HasPrefix(r, "#") {
			ref, typ := normalizeRef(r)
			if typ == "" {
				typ = str(v, "type")
			}
			if allowed(typ) {
				out = append(out, Value{Ref: ref, RefType: typ})
			}
		}
		if id, ok := v["identifier"].(map[string]any); ok && str(id, "value") != "" && allowed(str(v, "type")) {
			out = append(out, Value{Identifier: true, System: str(id, "system"), Code: str(id, "value"), RefType: str(v, "type")})
		}
		return out
	}
	return nil
}

func quantityValues(n any) []Value {
	switch v := n.(type) {
	case json.Number:
		return numberValue(v, Value{})
	case map[string]any:
		num, ok := v["value"].(json.Number)
		if !ok {
			return nil
		}
		return numberValue(num, Value{System: str(v, "system"), Code: str(v, "code"), Unit: str(v, "unit")})
	}
	return nil
}

func numberValue(num json.Number, v Value) []Value {
	f, err := strconv.ParseFloat(num.String(), 64)
	if err != nil {
		return nil
	}
	v.Number, v.Float = num.String(), f
	return []Value{v}
}

func compositeValues(p Param, n any) []Value {
	v := Value{Parts: make([][]Value, len(p.Components))}
	for i, name := range p.Components {
		c, ok := Lookup(p.Type, name)
		if !ok || i >= len(p.ComponentPaths) {
			return nil
		}
		steps, ok := parsedPaths[p.ComponentPaths[i]]
		if !ok {
			return nil
		}
		for _, e := range eval(n, steps) {
			v.Parts[i] = append(v.Parts[i], values(c, e)...)
		}
		if len(v.Parts[i]) == 0 {
			return nil
		}
	}
	return []Value{v}
}

// key identifies v among the values of one parameter.
func (v Value) key() string {
	var b strings.Builder
	for _, s := range []string{v.System, v.Code, v.Text, v.Exact, v.Ref, v.RefType, v.Number, v.Unit, v.URI,
		strconv.FormatBool(v.Identifier), v.Lo.Format(time.RFC3339Nano), v.Hi.Format(time.RFC3339Nano)} {
		b.WriteString(strconv.Quote(s))
	}
	for _, c := range v.OfType {
		b.WriteString("t" + strconv.Quote(c.System) + strconv.Quote(c.Code))
	}
	for _, part := range v.Parts {
		b.WriteString("(")
		for _, x := range part {
			b.WriteString(x.key())
		}
		b.WriteString(")")
	}
	return b.String()
}

// dedupe drops repeated values, keeping the first.
func dedupe(vs []Value) []Value {
	if len(vs) < 2 {
		return vs
	}
	seen := make(map[string]bool, len(vs))
	out := vs[:0]
	for _, v := range vs {
		k := v.key()
		if !seen[k] {
			seen[k] = true
			out = append(out, v)
		}
	}
	return out
}
