package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// SubsettedSystem and SubsettedCode make the meta.tag that marks a
// resource returned with elements left out (R4 search.html#summary).
const (
	SubsettedSystem = "http://terminology.hl7.org/CodeSystem/v3-ObservationValue"
	SubsettedCode   = "SUBSETTED"
)

var subsettedTag = []byte(`{"system":"` + SubsettedSystem + `","code":"` + SubsettedCode + `"}`)

// subsetDef holds what _summary and _elements need to know of one type's
// top-level elements, as R4's StructureDefinitions define them (checked
// against fhir/testdata/elements.json by TestSubsetTableMatchesDefinitions).
// Names are the definitions' names: a choice element is "start[x]".
type subsetDef struct {
	Summary   []string            // isSummary = true
	Mandatory []string            // min >= 1
	Choice    map[string][]string // choice element -> its type codes
}

var subsetDefs = map[string]subsetDef{
	"AuditEvent": {
		Summary:   []string{"id", "meta", "implicitRules", "type", "subtype", "action", "recorded", "outcome", "outcomeDesc", "purposeOfEvent"},
		Mandatory: []string{"type", "recorded", "agent", "source"},
	},
	"CarePlan": {
		Summary: []string{"id", "meta", "implicitRules", "identifier", "instantiatesCanonical", "instantiatesUri", "basedOn", "replaces",
			"partOf", "status", "intent", "category", "title", "description", "subject", "encounter", "period", "created", "author", "addresses"},
		Mandatory: []string{"status", "intent", "subject"},
	},
	"CareTeam": {
		Summary: []string{"id", "meta", "implicitRules", "identifier", "status", "category", "name", "subject", "encounter",
			"period", "managingOrganization"},
	},
	"CodeSystem": {
		Summary: []string{"id", "meta", "implicitRules", "url", "identifier", "version", "name", "title", "status",
			"experimental", "date", "publisher", "contact", "useContext", "jurisdiction", "caseSensitive", "valueSet",
			"hierarchyMeaning", "compositional", "versionNeeded", "content", "supplements", "count", "filter", "property"},
		Mandatory: []string{"status", "content"},
	},
	"Goal": {
		Summary: []string{"id", "meta", "implicitRules", "lifecycleStatus", "achievementStatus", "category", "priority", "description",
			"subject", "start[x]", "statusDate", "expressedBy"},
		Mandatory: []string{"lifecycleStatus", "description", "subject"},
		Choice:    map[string][]string{"start[x]": {"date", "CodeableConcept"}},
	},
	"Observation": {
		Summary: []string{"id", "meta", "implicitRules", "identifier", "basedOn", "partOf", "status", "code", "subject",
			"focus", "encounter", "effective[x]", "issued", "performer", "value[x]", "hasMember", "derivedFrom", "component"},
		Mandatory: []string{"status", "code"},
		Choice: map[string][]string{
			"effective[x]": {"dateTime", "Period", "Timing", "instant"},
			"value[x]": {"Quantity", "CodeableConcept", "string", "boolean", "integer", "Range", "Ratio", "SampledData",
				"time", "dateTime", "Period"},
		},
	},
	"Organization": {
		Summary: []string{"id", "meta", "implicitRules", "identifier", "active", "type", "name", "partOf"},
	},
	"Patient": {
		Summary: []string{"id", "meta", "implicitRules", "identifier", "active", "name", "telecom", "gender", "birthDate", "deceased[x]",
			"address", "managingOrganization", "link"},
		Choice: map[string][]string{"deceased[x]": {"boolean", "dateTime"}, "multipleBirth[x]": {"boolean", "integer"}},
	},
	"Practitioner": {
		Summary: []string{"id", "meta", "implicitRules", "identifier", "active", "name", "telecom", "address", "gender",
			"birthDate"},
	},
	"Questionnaire": {
		Summary: []string{"id", "meta", "implicitRules", "url", "identifier", "version", "name", "title", "status", "experimental",
			"subjectType", "date", "publisher", "contact", "useContext", "jurisdiction", "effectivePeriod", "code"},
		Mandatory: []string{"status"},
	},
	"QuestionnaireResponse": {
		Summary: []string{"id", "meta", "implicitRules", "identifier", "basedOn", "partOf", "questionnaire", "status", "subject",
			"encounter", "authored", "author", "source"},
		Mandatory: []string{"status"},
	},
	"RelatedPerson": {
		Summary: []string{"id", "meta", "implicitRules", "identifier", "active", "patient", "relationship", "name", "telecom",
			"gender", "birthDate", "address"},
		Mandatory: []string{"patient"},
	},
	"StructureDefinition": {
		Summary: []string{"id", "meta", "implicitRules", "url", "identifier", "version", "name", "title", "status",
			"experimental", "date", "publisher", "contact", "useContext", "jurisdiction", "keyword", "fhirVersion", "kind",
			"abstract", "context", "contextInvariant", "type", "baseDefinition", "derivation"},
		Mandatory: []string{"url", "name", "status", "kind", "abstract", "type"},
	},
	"ValueSet": {
		Summary: []string{"id", "meta", "implicitRules", "url", "identifier", "version", "name", "title", "status",
			"experimental", "date", "publisher", "contact", "useContext", "jurisdiction", "immutable"},
		Mandatory: []string{"status"},
	},
}

// subsetElem is what Subset knows of one JSON member name.
type subsetElem struct {
	def                string // the definition's name: "start[x]" for "startDate"
	summary, mandatory bool
}

// subsetIndex maps each type's JSON member names (choices expanded to
// "startDate", "startCodeableConcept") to their element.
var subsetIndex = func() map[string]map[string]subsetElem {
	idx := map[string]map[string]subsetElem{}
	for typ, d := range subsetDefs {
		m := map[string]subsetElem{}
		add := func(name string, set func(*subsetElem)) {
			names := []string{name}
			if types, ok := d.Choice[name]; ok {
				names = names[:0]
				for _, t := range types {
					names = append(names, strings.TrimSuffix(name, "[x]")+strings.ToUpper(t[:1])+t[1:])
				}
			}
			for _, n := range names {
				e := m[n]
				e.def = name
				set(&e)
				m[n] = e
			}
		}
		for _, n := range d.Summary {
			add(n, func(e *subsetElem) { e.summary = true })
		}
		for _, n := range d.Mandatory {
			add(n, func(e *subsetElem) { e.mandatory = true })
		}
		for n := range d.Choice {
			add(n, func(*subsetElem) {})
		}
		idx[typ] = m
	}
	return idx
}()

// Subset returns body (the stored JSON of one resource of type typ) reduced for
// _summary mode ("true", "text", "data", "false"/"" = unchanged) or to the
// elements named (top-level element names; "Type.name" entries apply only to
// resources of that Type). Summary "count" is the caller's business.
//
// Only top-level members are kept or dropped, each kept one exactly as
// stored (its raw bytes, in the stored order), together with its primitive
// extension "_name"; whitespace between top-level members is not kept.
// resourceType, id and meta are always kept. The modes (R4
// search.html#summary and #elements):
//
//   - "true": the elements with isSummary in the R4 definition. A complex
//     summary element (Patient.name, Questionnaire.contact) is kept whole,
//     not reduced to its own summary children.
//   - "text": text and the mandatory (min >= 1) elements.
//   - "data": everything but text.
//   - elements: the elements named and the mandatory ones (search.html:
//     servers SHOULD return them). A choice is named "start", "start[x]"
//     (any of its types) or "startDate" (that one). Unknown names, names of
//     another type and nested paths are ignored.
//
// A mode and elements together keep what both keep. When anything was
// removed, meta.tag gets the SUBSETTED tag (meta and tag are created if
// absent, an existing SUBSETTED tag is not repeated, and the rest of meta
// is kept as stored); when nothing was, body itself is returned.
//
// Errors: a summary other than the above or a type matcare has no
// definitions for is a client error (400); a body that is not one JSON
// object, or whose meta or meta.tag is malformed, is a server error (500):
// stored resources are always valid.
func Subset(typ string, body []byte, summary string, elements []string) ([]byte, error) {
	switch summary {
	case "", "false", "true", "text", "data":
	default:
		return nil, Errorf(r4.IssueTypeValue, "_summary", "_summary must be true, text, data or false here, not %q", summary)
	}
	if summary == "false" {
		summary = ""
	}
	if summary == "" && len(elements) == 0 {
		return body, nil
	}
	idx, ok := subsetIndex[typ]
	if !ok {
		return nil, Errorf(r4.IssueTypeNotSupported, "", "_summary and _elements are not supported for %q", typ)
	}
	members, err := rawMembers(body)
	if err != nil {
		return nil, storedError(typ, typ, "stored %s is not a JSON object", err)
	}
	var requested map[string]bool
	if len(elements) > 0 {
		requested = map[string]bool{}
		for _, e := range elements {
			e = strings.TrimSpace(e)
			if t, name, ok := strings.Cut(e, "."); ok {
				if t != typ {
					continue
				}
				e = name
			}
			if e != "" && !strings.Contains(e, ".") {
				requested[e] = true
			}
		}
	}
	keep := func(key string) bool {
		base := strings.TrimPrefix(key, "_")
		switch base {
		case "resourceType", "id", "meta":
			return true
		}
		el := idx[base]
		switch summary {
		case "true":
			if !el.summary {
				return false
			}
		case "text":
			if base != "text" && !el.mandatory {
				return false
			}
		case "data":
			if base == "text" {
				return false
			}
		}
		if requested == nil || el.mandatory || requested[base] {
			return true
		}
		return el.def != "" && (requested[el.def] || requested[strings.TrimSuffix(el.def, "[x]")])
	}
	kept := members[:0:0]
	hasMeta := false
	for _, m := range members {
		if keep(m.key) {
			kept = append(kept, m)
			hasMeta = hasMeta || m.key == "meta"
		}
	}
	if len(kept) == len(members) {
		return body, nil
	}
	var b bytes.Buffer
	b.Grow(len(body))
	b.WriteByte('{')
	n := 0
	write := func(rawKey, value []byte) {
		if n > 0 {
			b.WriteByte(',')
		}
		n++
		b.Write(rawKey)
		b.WriteByte(':')
		b.Write(value)
	}
	// Without meta, a new one goes after the leading resourceType and id.
	metaAt := -1
	if !hasMeta {
		metaAt = 0
		for metaAt < len(kept) && (kept[metaAt].key == "resourceType" || kept[metaAt].key == "id") {
			metaAt++
		}
	}
	for i := 0; i <= len(kept); i++ {
		if i == metaAt {
			write([]byte(`"meta"`), append(append([]byte(`{"tag":[`), subsettedTag...), ']', '}'))
		}
		if i == len(kept) {
			break
		}
		m := kept[i]
		if m.key == "meta" {
			meta, err := tagSubsetted(m.value)
			if err != nil {
				return nil, storedError(typ, typ+".meta", "stored %s has a malformed meta", err)
			}
			write(m.rawKey, meta)
			continue
		}
		write(m.rawKey, m.value)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// storedError reports a stored resource Subset cannot read: a server
// error, whose cause err is logged, not sent.
func storedError(typ, expression, format string, err error) *Error {
	e := Errorf(r4.IssueTypeException, expression, format, typ).WithStatus(http.StatusInternalServerError)
	e.Err = err
	return e
}

// rawMember is one member of a JSON object as written: the key's and the
// value's bytes, sliced from the document.
type rawMember struct {
	key    string // decoded
	rawKey []byte
	value  []byte
	end    int // the offset just past value in the document
}

// rawMembers splits the JSON object body into its members without
// re-encoding any of them. body must be exactly one JSON object.
func rawMembers(body []byte) ([]rawMember, error) {
	if !json.Valid(body) {
		return nil, errors.New("invalid JSON")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("not a JSON object")
	}
	var ms []rawMember
	for dec.More() {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, ok := tok.(string)
		if !ok {
			return nil, errors.New("object key expected")
		}
		keyEnd := dec.InputOffset()
		keyStart := start + int64(bytes.IndexByte(body[start:keyEnd], '"'))
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		valEnd := dec.InputOffset()
		colon := keyEnd + int64(bytes.IndexByte(body[keyEnd:valEnd], ':'))
		value := bytes.TrimLeft(body[colon+1:valEnd], " \t\r\n")
		ms = append(ms, rawMember{key: key, rawKey: body[keyStart:keyEnd], value: value, end: int(valEnd)})
	}
	if _, err := dec.Token(); err != nil { // '}'
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("data after the object")
	}
	return ms, nil
}

// tagSubsetted returns the meta object raw with the SUBSETTED tag added to
// its tag array, everything else as written.
func tagSubsetted(raw []byte) ([]byte, error) {
	ms, err := rawMembers(raw)
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		if m.key != "tag" {
			continue
		}
		var tags []json.RawMessage
		if err := json.Unmarshal(m.value, &tags); err != nil {
			return nil, errors.New("meta.tag is not an array")
		}
		for _, t := range tags {
			var c struct{ System, Code *string }
			if json.Unmarshal(t, &c) == nil && c.System != nil && c.Code != nil &&
				*c.System == SubsettedSystem && *c.Code == SubsettedCode {
				return raw, nil
			}
		}
		// The tag array ends with its ']': insert before it.
		return insertAt(raw, m.end-1, len(tags) > 0, subsettedTag), nil
	}
	tag := append(append([]byte(`"tag":[`), subsettedTag...), ']')
	return insertAt(raw, len(raw)-1, len(ms) > 0, tag), nil
}

// insertAt returns doc with ins, preceded by a comma if comma, inserted
// at offset at.
func insertAt(doc []byte, at int, comma bool, ins []byte) []byte {
	out := make([]byte, 0, len(doc)+len(ins)+1)
	out = append(out, doc[:at]...)
	if comma {
		out = append(out, ',')
	}
	out = append(out, ins...)
	return append(out, doc[at:]...)
}
