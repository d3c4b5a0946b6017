package terminology

import (
	"encoding/json"
	"testing"

	"github.com/matcare/matcare/fhir/content"
)

// The test registry: a hierarchical code system with every property type,
// a case-insensitive one, a fragment, and value sets covering each kind of
// compose rule.
const (
	hSys    = "http://t.test/cs/h"
	ciSys   = "http://t.test/cs/ci"
	fragSys = "http://t.test/cs/frag"
	extSys  = "http://t.test/cs/external" // not held
	vsBase  = "http://t.test/vs/"
)

const hCodeSystem = `{
  "resourceType": "CodeSystem", "id": "h", "url": "http://t.test/cs/h", "version": "2.0", "name": "H",
  "status": "active", "content": "complete", "caseSensitive": true,
  "property": [
    {"code": "weight", "type": "integer"},
    {"code": "kind", "type": "code", "description": "What kind"},
    {"code": "factor", "type": "decimal"},
    {"code": "legacy", "type": "boolean"},
    {"code": "label", "type": "string"},
    {"code": "since", "type": "dateTime"},
    {"code": "mapsTo", "type": "Coding"},
    {"code": "parent", "type": "code", "uri": "http://hl7.org/fhir/concept-properties#parent"},
    {"code": "inactive", "type": "boolean"},
    {"code": "status", "type": "code"}
  ],
  "concept": [
    {"code": "A", "display": "Alpha", "definition": "The first.",
     "designation": [
       {"language": "en", "value": "Alpha synonym"},
       {"language": "de-CH", "value": "Alfa"},
       {"language": "en", "use": {"system": "http://snomed.info/sct", "code": "900000000000550004", "display": "Definition"}, "value": "The very first."}
     ],
     "property": [
       {"code": "weight", "valueInteger": 1}, {"code": "kind", "valueCode": "x"}, {"code": "factor", "valueDecimal": 0.50},
       {"code": "legacy", "valueBoolean": false}, {"code": "label", "valueString": "first"},
       {"code": "since", "valueDateTime": "2024-01-01"}, {"code": "mapsTo", "valueCoding": {"system": "http://other", "code": "o1"}}
     ],
     "concept": [
       {"code": "A1", "display": "Alpha one", "property": [{"code": "kind", "valueCode": "y"}],
        "concept": [{"code": "A1a", "display": "Alpha one a"}]},
       {"code": "A2", "display": "Alpha two", "property": [{"code": "kind", "valueCode": "x"}, {"code": "inactive", "valueBoolean": true}]}
     ]},
    {"code": "B", "display": "Beta", "property": [{"code": "parent", "valueCode": "A1"}, {"code": "kind", "valueCode": "z"}]},
    {"code": "C", "display": "Gamma", "property": [{"code": "status", "valueCode": "retired"}]}
  ]
}`

const ciCodeSystem = `{"resourceType": "CodeSystem", "id": "ci", "url": "http://t.test/cs/ci", "version": "1", "status": "active",
  "content": "complete", "concept": [{"code": "Foo", "display": "Foo"}, {"code": "Bar"}]}`

const fragCodeSystem = `{"resourceType": "CodeSystem", "id": "frag", "url": "http://t.test/cs/frag", "status": "active",
  "content": "fragment", "caseSensitive": true, "concept": [{"code": "f1", "display": "F one"}]}`

// testValueSets maps value set ids to their compose (or expansion).
var testValueSets = map[string]string{
	"all-h":       `"compose": {"include": [{"system": "http://t.test/cs/h"}]}`,
	"list":        `"compose": {"include": [{"system": "http://t.test/cs/h", "concept": [{"code": "A", "display": "Alpha (in this set)"}, {"code": "B"}]}, {"system": "http://t.test/cs/external", "version": "9", "concept": [{"code": "x1", "display": "External one", "designation": [{"value": "Ext 1"}]}]}]}`,
	"isa":         `"compose": {"include": [{"system": "http://t.test/cs/h", "filter": [{"property": "concept", "op": "is-a", "value": "A1"}]}]}`,
	"desc":        `"compose": {"include": [{"system": "http://t.test/cs/h", "filter": [{"property": "concept", "op": "descendent-of", "value": "A"}]}]}`,
	"nota":        `"compose": {"include": [{"system": "http://t.test/cs/h", "filter": [{"property": "concept", "op": "is-not-a", "value": "A"}]}]}`,
	"gen":         `"compose": {"include": [{"system": "http://t.test/cs/h", "filter": [{"property": "concept", "op": "generalizes", "value": "A1a"}]}]}`,
	"kind-x":      `"compose": {"include": [{"system": "http://t.test/cs/h", "filter": [{"property": "kind", "op": "=", "value": "x"}]}]}`,
	"kind-in":     `"compose": {"include": [{"system": "http://t.test/cs/h", "filter": [{"property": "kind", "op": "in", "value": "y,z"}]}]}`,
	"kind-not-in": `"compose": {"include": [{"system": "http://t.test/cs/h", "filter": [{"property": "kind", "op": "not-in", "value": "y,z"}]}]}`,
	"factor":      `"compose": {"include": [{"system": "http://t.test/cs/h", "filter": [{"property": "factor", "op": "exists", "value": "true"}]}]}`,
	"no-kind":     `"compose": {"include": [{"system": "http://t.test/cs/h", "filter": [{"property": "kind", "op": "exists", "value": "false"}]}]}`,
	"regex":       `"compose": {"include": [{"system": "http://t.test/cs/h", "filter": [{"property": "concept", "op": "regex", "value": "A[0-9]"}]}]}`,
	"label-re":    `"compose": {"include": [{"system": "http://t.test/cs/h", "filter": [{"property": "label", "op": "regex", "value": "fir.*"}]}]}`,
	"code-in":     `"compose": {"include": [{"system": "http://t.test/cs/h", "filter": [{"property": "concept", "op": "in", "value": "C,A1a"}]}]}`,
	"parent-a1":   `"compose": {"include": [{"system": "http://t.test/cs/h", "filter": [{"property": "parent", "op": "=", "value": "A1"}]}]}`,
	"two-filters": `"compose": {"include": [{"system": "http://t.test/cs/h", "filter": [{"property": "concept", "op": "is-a", "value": "A"}, {"property": "kind", "op": "=", "value": "x"}]}]}`,
	"excl":        `"compose": {"include": [{"system": "http://t.test/cs/h"}], "exclude": [{"system": "http://t.test/cs/h", "concept": [{"code": "A2"}]}, {"valueSet": ["http://t.test/vs/isa"]}]}`,
	"vs-and":      `"compose": {"include": [{"valueSet": ["http://t.test/vs/all-h", "http://t.test/vs/kind-x|1.0"]}]}`,
	"sys-and-vs":  `"compose": {"include": [{"system": "http://t.test/cs/h", "concept": [{"code": "A"}, {"code": "B"}, {"code": "C"}], "valueSet": ["http://t.test/vs/isa"]}]}`,
	"active":      `"compose": {"inactive": false, "include": [{"system": "http://t.test/cs/h"}]}`,
	"ci":          `"compose": {"include": [{"system": "http://t.test/cs/ci"}]}`,
	"frag-list":   `"compose": {"include": [{"system": "http://t.test/cs/frag", "concept": [{"code": "f1"}, {"code": "f2", "display": "F two"}]}]}`,
	"expanded":    `"expansion": {"timestamp": "2024-01-01T00:00:00Z", "contains": [{"system": "http://t.test/cs/h", "code": "A", "display": "Alpha", "contains": [{"system": "http://t.test/cs/external", "code": "e1", "display": "E one"}]}]}`,
	"broken":      `"compose": {"include": [{"system": "http://t.test/cs/external"}]}`,
	"broken-ref":  `"compose": {"include": [{"valueSet": ["http://t.test/vs/broken"]}]}`,
	"frag-all":    `"compose": {"include": [{"system": "http://t.test/cs/frag"}]}`,
	"old-h":       `"compose": {"include": [{"system": "http://t.test/cs/h", "version": "1.0"}]}`,
	"missing-vs":  `"compose": {"include": [{"valueSet": ["http://t.test/vs/nowhere"]}]}`,
}

// valueSetJSON is a test value set with id and body (its compose or
// expansion member).
func valueSetJSON(id, body string) string {
	return `{"resourceType": "ValueSet", "id": "` + id + `", "url": "` + vsBase + id + `", "version": "1.0", "name": "VS", "status": "active", ` + body + `}`
}

// resource makes a content resource of JSON body.
func resource(t testing.TB, body string) content.Resource {
	t.Helper()
	var head struct{ ResourceType, ID, URL string }
	if err := json.Unmarshal([]byte(body), &head); err != nil {
		t.Fatalf("fixture: %v\n%s", err, body)
	}
	return content.Resource{Type: head.ResourceType, ID: head.ID, URL: head.URL, Body: []byte(body)}
}

// testResources are the fixture's resources.
func testResources(t testing.TB) []content.Resource {
	t.Helper()
	res := []content.Resource{resource(t, hCodeSystem), resource(t, ciCodeSystem), resource(t, fragCodeSystem)}
	for id, body := range testValueSets {
		res = append(res, resource(t, valueSetJSON(id, body)))
	}
	return res
}

// testRegistry is the fixture's registry.
func testRegistry(t testing.TB) *Registry {
	t.Helper()
	r, err := New(testResources(t))
	if err != nil {
		t.Fatal(err)
	}
	return r
}
