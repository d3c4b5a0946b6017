package terminology

import (
	"slices"
	"strings"
	"testing"

	"github.com/matcare/matcare/fhir/content"
)

func codes(cs []*Concept) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Code)
	}
	return out
}

func TestRegistryLoadsCodeSystems(t *testing.T) {
	r := testRegistry(t)
	h, ok := r.CodeSystem(hSys)
	if !ok {
		t.Fatal("no code system h")
	}
	if byID, ok := r.CodeSystemByID("h"); !ok || byID != h {
		t.Error("CodeSystemByID(h)")
	}
	if got := codes(h.All()); !slices.Equal(got, []string{"A", "A1", "A1a", "A2", "B", "C"}) {
		t.Errorf("All() = %v", got)
	}
	if got := codes(h.Concepts); !slices.Equal(got, []string{"A", "B", "C"}) {
		t.Errorf("top-level concepts %v", got)
	}
	hier := []struct {
		code              string
		parents, children []string
	}{
		{"A", nil, []string{"A1", "A2"}},
		{"A1", []string{"A"}, []string{"A1a", "B"}},
		{"A1a", []string{"A1"}, nil},
		{"B", []string{"A1"}, nil}, // parent from its "parent" property
		{"C", nil, nil},
	}
	for _, tt := range hier {
		c, _ := h.Concept(tt.code)
		if got := codes(c.Parents); !slices.Equal(got, tt.parents) {
			t.Errorf("%s: parents %v, want %v", tt.code, got, tt.parents)
		}
		if got := codes(c.Children); !slices.Equal(got, tt.children) {
			t.Errorf("%s: children %v, want %v", tt.code, got, tt.children)
		}
	}
	a, _ := h.Concept("A")
	props := map[string]string{}
	for _, p := range a.Properties {
		props[p.Code+":"+p.Type] = p.String()
	}
	want := map[string]string{"weight:integer": "1", "kind:code": "x", "factor:decimal": "0.50", "legacy:boolean": "false",
		"label:string": "first", "since:dateTime": "2024-01-01", "mapsTo:Coding": "o1"}
	for k, v := range want {
		if props[k] != v {
			t.Errorf("A property %s = %q, want %q (decimals keep their precision)", k, props[k], v)
		}
	}
	for code, inactive := range map[string]bool{"A": false, "A2": true, "C": true, "B": false} {
		if c, _ := h.Concept(code); c.Inactive() != inactive {
			t.Errorf("%s: Inactive() = %v", code, !inactive)
		}
	}

	// Case: h is case-sensitive; ci does not say, so any case matches.
	if _, ok := h.Concept("a"); ok {
		t.Error("case-sensitive h matched a for A")
	}
	ci, _ := r.CodeSystem(ciSys)
	if c, ok := ci.Concept("FOO"); !ok || c.Code != "Foo" {
		t.Error("ci did not match FOO to Foo")
	}
	if len(r.CodeSystems()) != 3 || len(r.ValueSets()) != len(testValueSets) {
		t.Errorf("%d code systems, %d value sets", len(r.CodeSystems()), len(r.ValueSets()))
	}
	if _, ok := r.ValueSetByID("all-h"); !ok {
		t.Error("ValueSetByID(all-h)")
	}
}

func TestValidDisplay(t *testing.T) {
	h, _ := testRegistry(t).CodeSystem(hSys)
	a, _ := h.Concept("A")
	for display, ok := range map[string]bool{
		"Alpha": true, "alpha": true, " Alpha ": true, "Alpha synonym": true, "Alfa": true,
		"The very first.": false, // a definition variant is no display
		"Alph":            false, "": false,
	} {
		if got := a.ValidDisplay(display); got != ok {
			t.Errorf("ValidDisplay(%q) = %v", display, got)
		}
	}
}

func TestNewRejectsBadContent(t *testing.T) {
	cs := func(extra string) string {
		return `{"resourceType": "CodeSystem", "id": "x", "url": "http://t.test/cs/x", "status": "active", "content": "complete", "caseSensitive": true, ` + extra + `}`
	}
	tests := []struct {
		name string
		res  []string
		want string
	}{
		{"duplicate code", []string{cs(`"concept": [{"code": "a"}, {"code": "b", "concept": [{"code": "a"}]}]`)}, `code "a" is defined twice`},
		{"case duplicate", []string{strings.Replace(cs(`"concept": [{"code": "a"}, {"code": "A"}]`), `"caseSensitive": true`, `"caseSensitive": false`, 1)}, "differs from another only in case"},
		{"no code", []string{cs(`"concept": [{"display": "a"}]`)}, "has no code"},
		{"undeclared property", []string{cs(`"concept": [{"code": "a", "property": [{"code": "p", "valueString": "v"}]}]`)}, `property "p" is not declared`},
		{"mistyped property", []string{cs(`"property": [{"code": "p", "type": "boolean"}], "concept": [{"code": "a", "property": [{"code": "p", "valueString": "v"}]}]`)}, "is a boolean, not a string"},
		{"bad property type", []string{cs(`"property": [{"code": "p", "type": "Quantity"}], "concept": []`)}, "not an R4 property type"},
		{"two values", []string{cs(`"property": [{"code": "p", "type": "string"}], "concept": [{"code": "a", "property": [{"code": "p", "valueString": "v", "valueCode": "w"}]}]`)}, "two values"},
		{"bad integer", []string{cs(`"property": [{"code": "p", "type": "integer"}], "concept": [{"code": "a", "property": [{"code": "p", "valueInteger": 1.5}]}]`)}, "not an integer"},
		{"unknown parent", []string{cs(`"property": [{"code": "parent", "type": "code"}], "concept": [{"code": "a", "property": [{"code": "parent", "valueCode": "z"}]}]`)}, `parent "z" is not a code`},
		{"no url", []string{`{"resourceType": "CodeSystem", "id": "x", "concept": []}`}, "no url"},
		{"invalid JSON", []string{`{"resourceType": "CodeSystem", "id": "x", "url": "u", "concept": {}}`}, "invalid JSON"},
		{"duplicate url", []string{cs(`"concept": []`), strings.Replace(cs(`"concept": []`), `"id": "x"`, `"id": "y"`, 1)}, "is used twice"},
		{"filter op", []string{hCodeSystem, valueSetJSON("v", `"compose": {"include": [{"system": "http://t.test/cs/h", "filter": [{"property": "kind", "op": "is-a", "value": "x"}]}]}`)}, "operator not supported"},
		{"filter property", []string{hCodeSystem, valueSetJSON("v", `"compose": {"include": [{"system": "http://t.test/cs/h", "filter": [{"property": "nope", "op": "=", "value": "x"}]}]}`)}, "not declared"},
		{"filter target", []string{hCodeSystem, valueSetJSON("v", `"compose": {"include": [{"system": "http://t.test/cs/h", "filter": [{"property": "concept", "op": "is-a", "value": "Z"}]}]}`)}, "no such code"},
		{"filter regex", []string{hCodeSystem, valueSetJSON("v", `"compose": {"include": [{"system": "http://t.test/cs/h", "filter": [{"property": "concept", "op": "regex", "value": "("}]}]}`)}, "missing closing"},
		{"exists value", []string{hCodeSystem, valueSetJSON("v", `"compose": {"include": [{"system": "http://t.test/cs/h", "filter": [{"property": "kind", "op": "exists", "value": "maybe"}]}]}`)}, "true or false"},
		{"unknown listed code", []string{hCodeSystem, valueSetJSON("v", `"compose": {"include": [{"system": "http://t.test/cs/h", "concept": [{"code": "Z"}]}]}`)}, `includes code "Z"`},
		{"cycle", []string{valueSetJSON("v", `"compose": {"include": [{"valueSet": ["http://t.test/vs/w"]}]}`), valueSetJSON("w", `"compose": {"include": [{"valueSet": ["http://t.test/vs/v"]}]}`)}, "include each other"},
		{"no include", []string{valueSetJSON("v", `"compose": {"include": []}`)}, "no include"},
		{"vsd-1", []string{valueSetJSON("v", `"compose": {"include": [{"concept": [{"code": "a"}]}]}`)}, "neither a system nor a value set"},
		{"vsd-3", []string{hCodeSystem, valueSetJSON("v", `"compose": {"include": [{"system": "http://t.test/cs/h", "concept": [{"code": "A"}], "filter": [{"property": "kind", "op": "=", "value": "x"}]}]}`)}, "both concepts and filters"},
		{"no compose", []string{valueSetJSON("v", `"status": "active"`)}, "neither compose nor expansion"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var res []content.Resource
			for _, b := range tt.res {
				res = append(res, resource(t, b))
			}
			_, err := New(res)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestNewIgnoresOtherTypes(t *testing.T) {
	r, err := New([]content.Resource{{Type: "Questionnaire", ID: "q", Body: []byte(`not JSON`)}})
	if err != nil || len(r.CodeSystems()) != 0 {
		t.Errorf("New: %v", err)
	}
}
