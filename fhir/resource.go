package fhir

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// idPattern is R4's id datatype.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9\-.]{1,64}$`)

// ValidID reports whether id is a valid R4 resource id.
func ValidID(id string) bool { return idPattern.MatchString(id) }

// InstantFormat formats meta.lastUpdated: R4 instant, milliseconds, UTC.
const InstantFormat = "2006-01-02T15:04:05.000Z07:00"

// Resource is a checked resource: the client's JSON, kept member by
// member in the client's order.
type Resource struct {
	Type    string
	ID      string // the id in the body, "" if none
	members []member
}

// Parse checks that body is a valid resource of type typ and returns it
// without re-encoding anything. Every problem found is reported, each as
// one issue naming the element.
func Parse(typ string, body []byte) (*Resource, error) {
	t, ok := Types[typ]
	if !ok {
		return nil, Errorf(r4.IssueTypeNotSupported, "", "resource type %q is not supported", typ).WithStatus(http.StatusNotFound)
	}
	if e := checkJSON(typ, body); e != nil {
		return nil, e
	}
	members, err := topMembers(body)
	if err != nil {
		return nil, Errorf(r4.IssueTypeStructure, typ, "invalid JSON: %s", syntaxMessage(err))
	}
	res := &Resource{Type: typ, members: members}
	var rt string
	if v := res.get("resourceType"); v == nil {
		return nil, Errorf(r4.IssueTypeRequired, typ+".resourceType", "resourceType is required")
	} else if err := json.Unmarshal(v, &rt); err != nil || rt != typ {
		return nil, Errorf(r4.IssueTypeInvalid, typ+".resourceType", "resourceType %s does not match the type %q in the URL", v, typ)
	}
	var issues []Issue
	if v := res.get("id"); v != nil {
		if err := json.Unmarshal(v, &res.ID); err != nil || !ValidID(res.ID) {
			issues = append(issues, Issue{Severity: r4.IssueSeverityError, Code: r4.IssueTypeValue,
				Diagnostics: "id must be 1-64 characters of A-Z, a-z, 0-9, '-' and '.'", Expression: []string{typ + ".id"}})
		}
	}
	for _, name := range t.Required {
		if res.get(name) == nil && res.get("_"+name) == nil {
			issues = append(issues, Issue{Severity: r4.IssueSeverityError, Code: r4.IssueTypeRequired,
				Diagnostics: name + " is required", Expression: []string{typ + "." + name}})
		}
	}
	issues = append(issues, schemaIssues(typ, body)...)
	if len(issues) == 0 {
		if err := t.decode(body); err != nil {
			issues = append(issues, Issue{Severity: r4.IssueSeverityError, Code: r4.IssueTypeValue,
				Diagnostics: decodeMessage(err), Expression: []string{typ}})
		}
	}
	if len(issues) == 0 && t.rules != nil {
		var doc map[string]any
		if err := json.Unmarshal(body, &doc); err != nil {
			return nil, Errorf(r4.IssueTypeStructure, typ, "invalid JSON: %s", syntaxMessage(err))
		}
		issues = append(issues, t.rules(doc)...)
	}
	if len(issues) > 0 {
		return nil, &Error{Issues: issues}
	}
	return res, nil
}

// decodeMessage turns a samply decoding error into a client message.
func decodeMessage(err error) string {
	s := strings.TrimPrefix(err.Error(), "json: ")
	return "invalid value: " + s
}

// topMembers splits a JSON object into its members, each value compacted.
func topMembers(body []byte) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil { // '{', checked by checkJSON
		return nil, err
	}
	var ms []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			return nil, err
		}
		ms = append(ms, member{Key: key, Value: buf.Bytes()})
	}
	return ms, nil
}

func (r *Resource) get(key string) json.RawMessage {
	for _, m := range r.members {
		if m.Key == key {
			return m.Value
		}
	}
	return nil
}

// Element returns the raw JSON of a top-level element, nil if absent.
func (r *Resource) Element(name string) json.RawMessage { return r.get(name) }

// Stamp returns the resource's JSON with the server-owned id and
// meta.versionId and meta.lastUpdated set. Everything else, including the
// rest of meta, is the client's, in the client's order.
func (r *Resource) Stamp(id string, version int, lastUpdated time.Time, board string) ([]byte, error) {
	meta, err := stampMeta(r.get("meta"), version, lastUpdated, board)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString(`{"resourceType":`)
	b.Write(mustJSON(r.Type))
	b.WriteString(`,"id":`)
	b.Write(mustJSON(id))
	b.WriteString(`,"meta":`)
	b.Write(meta)
	for _, m := range r.members {
		switch m.Key {
		case "resourceType", "id", "meta":
			continue
		}
		b.WriteByte(',')
		b.Write(mustJSON(m.Key))
		b.WriteByte(':')
		b.Write(m.Value)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// stampMeta sets versionId, lastUpdated and the board's security label in
// the client's meta object.
func stampMeta(raw json.RawMessage, version int, lastUpdated time.Time, board string) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`{"versionId":`)
	b.Write(mustJSON(strconv.Itoa(version)))
	b.WriteString(`,"lastUpdated":`)
	b.Write(mustJSON(lastUpdated.UTC().Format(InstantFormat)))
	if raw != nil {
		ms, err := topMembers(raw)
		if err != nil {
			return nil, Errorf(r4.IssueTypeStructure, "meta", "meta must be an object")
		}
		security := false
		for _, m := range ms {
			if m.Key == "versionId" || m.Key == "lastUpdated" {
				continue
			}
			if m.Key == "security" {
				security = true
				sec, err := stampSecurity(m.Value, board)
				if err != nil {
					return nil, Errorf(r4.IssueTypeStructure, "meta.security", "meta.security must be an array of Codings")
				}
				if sec != nil {
					b.WriteString(`,"security":`)
					b.Write(sec)
				}
				continue
			}
			b.WriteByte(',')
			b.Write(mustJSON(m.Key))
			b.WriteByte(':')
			b.Write(m.Value)
		}
		if security {
			board = "" // placed where the client's labels were
		}
	}
	if board != "" {
		b.WriteString(`,"security":[`)
		b.Write(boardLabel(board))
		b.WriteByte(']')
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // strings always marshal
	}
	return b
}

func itoa(i int) string { return strconv.Itoa(i) }
