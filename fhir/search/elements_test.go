package search

import (
	"reflect"
	"strings"
	"testing"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// r4Types are the samply structs of the table's types: the test below
// walks each path through their JSON members.
var r4Types = map[string]reflect.Type{
	"AuditEvent":            reflect.TypeFor[r4.AuditEvent](),
	"CarePlan":              reflect.TypeFor[r4.CarePlan](),
	"CareTeam":              reflect.TypeFor[r4.CareTeam](),
	"CodeSystem":            reflect.TypeFor[r4.CodeSystem](),
	"Goal":                  reflect.TypeFor[r4.Goal](),
	"Observation":           reflect.TypeFor[r4.Observation](),
	"Organization":          reflect.TypeFor[r4.Organization](),
	"Patient":               reflect.TypeFor[r4.Patient](),
	"Practitioner":          reflect.TypeFor[r4.Practitioner](),
	"Questionnaire":         reflect.TypeFor[r4.Questionnaire](),
	"QuestionnaireResponse": reflect.TypeFor[r4.QuestionnaireResponse](),
	"RelatedPerson":         reflect.TypeFor[r4.RelatedPerson](),
	"StructureDefinition":   reflect.TypeFor[r4.StructureDefinition](),
	"ValueSet":              reflect.TypeFor[r4.ValueSet](),
	"Resource":              reflect.TypeFor[r4.Goal](), // id and meta, as any type has them.
}

// member returns the type of t's JSON member name, pointers and slices
// removed.
func member(t reflect.Type, name string) (reflect.Type, bool) {
	if t.Kind() != reflect.Struct {
		return nil, false
	}
	for i := range t.NumField() {
		f := t.Field(i)
		if tag, _, _ := strings.Cut(f.Tag.Get("json"), ","); tag == name {
			ft := f.Type
			for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice {
				ft = ft.Elem()
			}
			return ft, true
		}
	}
	return nil, false
}

func walk(t reflect.Type, path string) (reflect.Type, bool) {
	steps, err := parsePath(path)
	if err != nil {
		return nil, false
	}
	for _, s := range steps {
		var ok bool
		if t, ok = member(t, s.name); !ok {
			return nil, false
		}
	}
	return t, true
}

// kindTypes are the R4 data types each kind extracts values from (a
// code is a named integer type in the samply structs).
var kindTypes = map[Kind][]string{
	Token:     {"string", "bool", "Coding", "CodeableConcept", "Identifier", "ContactPoint", "code"},
	String:    {"string", "HumanName", "Address"},
	Date:      {"string", "Period", "Timing"},
	Reference: {"Reference", "string"},
	Quantity:  {"Quantity"},
	Number:    {"string", "json.Number", "Quantity"},
	URI:       {"string"},
	Composite: {"UsageContext", "Observation", "ObservationComponent"},
}

func typeName(t reflect.Type) string {
	if t.PkgPath() != "" && t.Kind() != reflect.Struct {
		return "code" // samply's enumerations of codes
	}
	return t.Name()
}

// TestPathsNameR4Elements checks every path of the table against the R4
// structure of its type: each step is a real element, and the element
// reached is of a data type the parameter's kind can be extracted from.
func TestPathsNameR4Elements(t *testing.T) {
	for path, want := range map[string]bool{"target.dueDate": true, "target.due": false, "subject[is=Patient]": true, "nope": false} {
		if _, ok := walk(r4Types["Goal"], path); ok != want {
			t.Fatalf("walk(Goal, %q) = %v", path, ok)
		}
	}
	for _, p := range params {
		root := r4Types[p.Type]
		for _, path := range p.Paths {
			elem, ok := walk(root, path)
			if !ok {
				t.Errorf("%s %s: path %q is not an R4 element", p.Type, p.Name, path)
				continue
			}
			if name := typeName(elem); !contains(kindTypes[p.Kind], name) {
				t.Errorf("%s %s: path %q reaches a %s, not a %s value", p.Type, p.Name, path, name, p.Kind)
			}
			if p.DataType != "" && typeName(elem) != p.DataType {
				t.Errorf("%s %s: DataType %s, element is %s", p.Type, p.Name, p.DataType, typeName(elem))
			}
			for i, cp := range p.ComponentPaths {
				c, _ := Lookup(p.Type, p.Components[i])
				ce, ok := walk(elem, cp)
				if !ok {
					t.Errorf("%s %s: component path %q is not an element of %s", p.Type, p.Name, cp, elem.Name())
					continue
				}
				if name := typeName(ce); !contains(kindTypes[c.Kind], name) {
					t.Errorf("%s %s: component path %q reaches a %s", p.Type, p.Name, cp, name)
				}
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
