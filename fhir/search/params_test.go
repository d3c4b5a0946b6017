package search

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/matcare/matcare/fhir"
	"github.com/matcare/matcare/fhir/content"
	"github.com/matcare/matcare/fhir/schema"
)

// official is one entry of testdata/searchparameters.json.
type official struct {
	URL        string   `json:"url"`
	Code       string   `json:"code"`
	Base       string   `json:"base"`
	Type       string   `json:"type"`
	Expression string   `json:"expression"`
	Target     []string `json:"target"`
	Component  []struct {
		Code       string `json:"code"`
		Expression string `json:"expression"`
	} `json:"component"`
	Description string `json:"description"`
}

func loadOfficial(t *testing.T) []official {
	t.Helper()
	b, err := os.ReadFile("testdata/searchparameters.json")
	if err != nil {
		t.Fatal(err)
	}
	var defs []official
	if err := json.Unmarshal(b, &defs); err != nil {
		t.Fatal(err)
	}
	if len(defs) == 0 {
		t.Fatal("no definitions")
	}
	return defs
}

func TestTableMatchesOfficialDefinitions(t *testing.T) {
	type key struct{ typ, name string }
	defs := loadOfficial(t)
	seen := map[key]bool{}
	for _, d := range defs {
		k := key{d.Base, d.Code}
		seen[k] = true
		p, ok := byType[d.Base][d.Code]
		if !ok {
			t.Errorf("%s %s (%s): missing from the table", d.Base, d.Code, d.URL)
			continue
		}
		if string(p.Kind) != d.Type {
			t.Errorf("%s %s: kind %s, official %s", d.Base, d.Code, p.Kind, d.Type)
		}
		targets := slices.Sorted(slices.Values(p.Targets))
		if diff := cmp.Diff(d.Target, targets, cmpEmpty); diff != "" {
			t.Errorf("%s %s: targets (-official +table):\n%s", d.Base, d.Code, diff)
		}
		var comps []string
		for _, c := range d.Component {
			comps = append(comps, c.Code)
		}
		if diff := cmp.Diff(comps, p.Components, cmpEmpty); diff != "" {
			t.Errorf("%s %s: components (-official +table):\n%s", d.Base, d.Code, diff)
		}
		if p.Doc != d.Description {
			t.Errorf("%s %s: Doc %q, official description %q", d.Base, d.Code, p.Doc, d.Description)
		}
		if p.Expression != d.Expression {
			t.Errorf("%s %s: expression %q, official %q", d.Base, d.Code, p.Expression, d.Expression)
		}
	}
	official := 0
	for _, p := range params {
		switch {
		case p.Custom && seen[key{p.Type, p.Name}]:
			t.Errorf("%s %s: marked Custom but an official parameter has its name", p.Type, p.Name)
		case p.Custom:
			continue // TestCustomParamsMatchDefinitions
		case !seen[key{p.Type, p.Name}]:
			t.Errorf("%s %s: in the table but not among the official definitions", p.Type, p.Name)
		}
		official++
	}
	if official != len(defs) {
		t.Errorf("table has %d official entries, official %d (duplicates?)", official, len(defs))
	}
}

// TestCustomParamsMatchDefinitions checks the parameters matcare defines
// itself as the official ones are checked, against their SearchParameter
// resources in testdata/custom (one file each, valid R4): the url is
// URL(), under matcare's canonical base, and code, base, type, expression
// and description are the table's.
func TestCustomParamsMatchDefinitions(t *testing.T) {
	files, err := filepath.Glob("testdata/custom/SearchParameter-*.json")
	if err != nil {
		t.Fatal(err)
	}
	defs := map[string]official{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if issues := schema.Validate("SearchParameter", b); len(issues) > 0 {
			t.Errorf("%s: not a valid R4 SearchParameter: %v", f, issues)
		}
		var sp struct {
			official
			ID   string   `json:"id"`
			Base []string `json:"base"`
		}
		if err := json.Unmarshal(b, &sp); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if len(sp.Base) != 1 || "SearchParameter-"+sp.ID+".json" != filepath.Base(f) || sp.ID != sp.Base[0]+"-"+sp.Code {
			t.Errorf("%s: id %q, base %v: want one base and the id <base>-<code> in the file name", f, sp.ID, sp.Base)
			continue
		}
		sp.official.Base = sp.Base[0]
		defs[sp.official.Base+" "+sp.Code] = sp.official
	}
	n := 0
	for _, p := range params {
		if !p.Custom {
			continue
		}
		n++
		name := p.Type + " " + p.Name
		d, ok := defs[name]
		if !ok {
			t.Errorf("%s: Custom, but testdata/custom has no definition", name)
			continue
		}
		if want := content.DefaultBase + "/SearchParameter/" + p.Type + "-" + p.Name; p.URL() != want || d.URL != want {
			t.Errorf("%s: URL() %s, definition's url %s; want %s", name, p.URL(), d.URL, want)
		}
		if string(p.Kind) != d.Type || p.Expression != d.Expression || p.Doc != d.Description || len(p.Targets) != len(d.Target) {
			t.Errorf("%s: table (%s, %q, %q, %v) differs from its definition (%s, %q, %q, %v)",
				name, p.Kind, p.Expression, p.Doc, p.Targets, d.Type, d.Expression, d.Description, d.Target)
		}
		if !p.Supported() || len(p.Paths) == 0 {
			t.Errorf("%s: a custom parameter matcare cannot evaluate", name)
		}
	}
	if n != len(defs) {
		t.Errorf("%d custom parameters in the table, %d definitions in testdata/custom", n, len(defs))
	}
}

var cmpEmpty = cmp.Comparer(func(a, b []string) bool {
	return len(a) == 0 && len(b) == 0 || slices.Equal(a, b)
})

// TestTableWellFormed checks what the official definitions do not say:
// every path parses, each parameter is evaluated somehow, and composites
// name real components.
func TestTableWellFormed(t *testing.T) {
	for _, p := range params {
		name := p.Type + " " + p.Name
		if p.Doc == "" {
			t.Errorf("%s: no Doc", name)
		}
		if len(p.Paths) == 0 && p.Computed == "" && p.Unsupported == "" {
			t.Errorf("%s: neither Paths, Computed nor Unsupported", name)
		}
		for _, path := range append(slices.Clone(p.Paths), p.ComponentPaths...) {
			steps, err := parsePath(path)
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
			for _, s := range steps {
				if s.is != "" && !slices.Contains(p.Targets, s.is) {
					t.Errorf("%s: path %q keeps %s, not a target", name, path, s.is)
				}
			}
		}
		if p.Computed != "" && computed[p.Computed] == nil {
			t.Errorf("%s: unknown Computed %q", name, p.Computed)
		}
		if p.Kind == Composite {
			if len(p.ComponentPaths) != len(p.Components) {
				t.Errorf("%s: %d component paths for %d components", name, len(p.ComponentPaths), len(p.Components))
			}
			for _, c := range p.Components {
				if _, ok := Lookup(p.Type, c); !ok {
					t.Errorf("%s: component %s unknown", name, c)
				}
			}
		}
	}
}

func TestLookupAndParams(t *testing.T) {
	for _, typ := range append(fhir.TypeNames(), "AuditEvent") {
		ps := Params(typ)
		if len(ps) == 0 {
			t.Errorf("Params(%s) is empty", typ)
		}
		if !slices.IsSortedFunc(ps, func(a, b Param) int { return cmpString(a.Name, b.Name) }) {
			t.Errorf("Params(%s) not sorted", typ)
		}
		for _, name := range []string{"_id", "_lastUpdated", "_tag", "_profile", "_security", "_source"} {
			p, ok := Lookup(typ, name)
			if !ok || p.Type != "Resource" {
				t.Errorf("Lookup(%s, %s) = %v, %v", typ, name, p, ok)
			}
			if !slices.ContainsFunc(ps, func(q Param) bool { return q.Name == name }) {
				t.Errorf("Params(%s) lacks %s", typ, name)
			}
		}
	}
	tests := []struct {
		typ, name string
		ok        bool
		kind      Kind
	}{
		{"Goal", "lifecycle-status", true, Token},
		{"Goal", "target-date", true, Date},
		{"Goal", "next-review", true, Date},
		{"Goal", "patient", true, Reference},
		{"Patient", "birthdate", true, Date},
		{"AuditEvent", "outcome", true, Token},
		{"Goal", "birthdate", false, ""},
		{"Encounter", "_id", false, ""},
		{"Resource", "_id", true, Token},
		{"Goal", "nope", false, ""},
	}
	for _, tt := range tests {
		p, ok := Lookup(tt.typ, tt.name)
		if ok != tt.ok || p.Kind != tt.kind {
			t.Errorf("Lookup(%s, %s) = %s, %v; want %s, %v", tt.typ, tt.name, p.Kind, ok, tt.kind, tt.ok)
		}
	}
	if Params("Encounter") != nil {
		t.Error("Params(Encounter) not nil")
	}
	if got := Types(); !slices.Equal(got, []string{"AuditEvent", "CarePlan", "CareTeam", "CodeSystem", "Goal", "Observation",
		"Organization", "Patient", "Practitioner", "Questionnaire", "QuestionnaireResponse", "RelatedPerson", "StructureDefinition", "ValueSet"}) {
		t.Errorf("Types() = %v", got)
	}
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
