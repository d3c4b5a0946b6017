package api

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/matcare/matcare/fhir"
	"github.com/matcare/matcare/fhir/search"
)

// capabilityResources returns the CapabilityStatement, decoded as R4
// (which also checks its shape), and its resources by type.
func capabilityResources(t *testing.T) (r4.CapabilityStatement, map[string]r4.CapabilityStatementRestResource) {
	t.Helper()
	s := &Server{cfg: Config{Version: "test", AuditorScope: DefaultAuditorScope}}
	raw, err := json.Marshal(s.capabilityStatement())
	if err != nil {
		t.Fatal(err)
	}
	cs, err := r4.UnmarshalCapabilityStatement(raw)
	if err != nil {
		t.Fatalf("not an R4 CapabilityStatement: %v", err)
	}
	byType := map[string]r4.CapabilityStatementRestResource{}
	for _, r := range cs.Rest[0].Resource {
		byType[r.Type.Code()] = r
	}
	return cs, byType
}

// TestCapabilitySearchParams checks that each resource lists exactly the
// supported parameters of the search table, with kind, official
// definition and documentation.
func TestCapabilitySearchParams(t *testing.T) {
	_, byType := capabilityResources(t)
	for _, typ := range append(fhir.TypeNames(), auditType) {
		res, ok := byType[typ]
		if !ok {
			t.Errorf("%s: not in the CapabilityStatement", typ)
			continue
		}
		var want, got []string
		for _, p := range search.Params(typ) {
			if p.Supported() {
				want = append(want, p.Name)
			}
		}
		for _, sp := range res.SearchParam {
			got = append(got, sp.Name)
			p, ok := search.Lookup(typ, sp.Name)
			if !ok {
				t.Errorf("%s: searchParam %s is not in the table", typ, sp.Name)
				continue
			}
			if sp.Type.Code() != string(p.Kind) {
				t.Errorf("%s %s: type %s, table %s", typ, sp.Name, sp.Type.Code(), p.Kind)
			}
			if sp.Definition == nil || *sp.Definition != p.URL() { // the default canonical base
				t.Errorf("%s %s: definition %v, want %s", typ, sp.Name, sp.Definition, p.URL())
			}
			if sp.Documentation == nil || !strings.HasPrefix(*sp.Documentation, strings.TrimSuffix(p.Doc, ".")) ||
				!strings.Contains(*sp.Documentation, "Modifiers: :missing") {
				t.Errorf("%s %s: documentation %v", typ, sp.Name, sp.Documentation)
			}
			if p.Note != "" && !strings.Contains(*sp.Documentation, p.Note) {
				t.Errorf("%s %s: documentation lacks the note %q", typ, sp.Name, p.Note)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: searchParam %v, want the supported table parameters %v", typ, got, want)
		}
	}

	tests := []struct {
		typ, name string
		def       string // "" when the parameter must be absent
	}{
		{"CarePlan", "goal", "CarePlan-goal"},
		{"CarePlan", "patient", "clinical-patient"},
		{"CarePlan", "date", "clinical-date"},
		{"Goal", "_lastUpdated", "Resource-lastUpdated"},
		{"Goal", "_id", "Resource-id"},
		{"Goal", "target-date", "Goal-target-date"},
		{"Patient", "birthdate", "individual-birthdate"},
		{"Patient", "deceased", "Patient-deceased"},
		{"Patient", "phonetic", ""}, // Unsupported
		{"Questionnaire", "context-type-value", "Questionnaire-context-type-value"},
		{"QuestionnaireResponse", "questionnaire", "QuestionnaireResponse-questionnaire"},
		{"AuditEvent", "entity", "AuditEvent-entity"},
		{"AuditEvent", "_source", "Resource-source"},
		{"Goal", "status", ""}, // a CarePlan parameter only
		{"Goal", "next-review", "http://matcare.example/fhir/SearchParameter/Goal-next-review"},
		{"Observation", "code-value-quantity", "Observation-code-value-quantity"},
		{"Observation", "patient", "clinical-patient"},
		{"Practitioner", "family", "individual-family"},
		{"RelatedPerson", "patient", "RelatedPerson-patient"},
		{"CareTeam", "participant", "CareTeam-participant"},
		{"CodeSystem", "url", "conformance-url"},
		{"ValueSet", "reference", "ValueSet-reference"},
		{"StructureDefinition", "base", "StructureDefinition-base"},
		{"Organization", "phonetic", ""}, // Unsupported
	}
	for _, tt := range tests {
		var def string
		for _, sp := range byType[tt.typ].SearchParam {
			if sp.Name == tt.name && sp.Definition != nil {
				def = strings.TrimPrefix(*sp.Definition, "http://hl7.org/fhir/SearchParameter/")
			}
		}
		if def != tt.def {
			t.Errorf("%s %s: definition %q, want %q", tt.typ, tt.name, def, tt.def)
		}
	}
}

// TestCapabilityCustomDefinition checks that the definition of a search
// parameter of matcare's own follows the deployment's canonical base.
func TestCapabilityCustomDefinition(t *testing.T) {
	s := &Server{cfg: Config{Version: "test", CanonicalBase: "https://fhir.example.scot/r4"}}
	raw, err := json.Marshal(s.capabilityStatement())
	if err != nil {
		t.Fatal(err)
	}
	cs, err := r4.UnmarshalCapabilityStatement(raw)
	if err != nil {
		t.Fatal(err)
	}
	defs := map[string]string{}
	for _, r := range cs.Rest[0].Resource {
		for _, sp := range r.SearchParam {
			if sp.Definition != nil {
				defs[r.Type.Code()+" "+sp.Name] = *sp.Definition
			}
		}
	}
	if got, want := defs["Goal next-review"], "https://fhir.example.scot/r4/SearchParameter/Goal-next-review"; got != want {
		t.Errorf("Goal next-review: definition %q, want %q", got, want)
	}
	if got, want := defs["Goal target-date"], "http://hl7.org/fhir/SearchParameter/Goal-target-date"; got != want {
		t.Errorf("Goal target-date: definition %q, want %q (official ones keep theirs)", got, want)
	}
}

func TestCapabilityIncludes(t *testing.T) {
	cs, byType := capabilityResources(t)
	tests := []struct {
		typ        string
		in, notIn  []string // searchInclude
		rev, notRe []string // searchRevInclude
	}{
		{typ: "CarePlan",
			in:    []string{"*", "CarePlan:goal", "CarePlan:subject", "CarePlan:patient", "CarePlan:based-on", "CarePlan:care-team", "CarePlan:performer"},
			notIn: []string{"CarePlan:status", "CarePlan:date", "Goal:subject"},
			rev:   []string{"CarePlan:based-on", "CarePlan:part-of", "CarePlan:replaces", "QuestionnaireResponse:based-on", "QuestionnaireResponse:subject"},
			notRe: []string{"CarePlan:goal", "Goal:subject", "AuditEvent:entity"}},
		{typ: "Goal",
			in:    []string{"*", "Goal:subject", "Goal:patient"},
			rev:   []string{"CarePlan:goal", "QuestionnaireResponse:subject"},
			notRe: []string{"CarePlan:subject", "Goal:subject"}},
		{typ: "Patient",
			in:    []string{"*", "Patient:general-practitioner", "Patient:link", "Patient:organization"},
			rev:   []string{"CarePlan:subject", "CarePlan:patient", "CarePlan:performer", "Goal:subject", "Goal:patient", "Patient:link", "QuestionnaireResponse:author", "QuestionnaireResponse:patient", "QuestionnaireResponse:source"},
			notRe: []string{"CarePlan:goal", "AuditEvent:patient"}},
		{typ: "Questionnaire",
			in:    []string{"*"},
			notIn: []string{"Questionnaire:definition"},
			rev:   []string{"QuestionnaireResponse:questionnaire", "QuestionnaireResponse:subject"}},
		{typ: "AuditEvent",
			in:  []string{"*", "AuditEvent:agent", "AuditEvent:entity", "AuditEvent:patient", "AuditEvent:source"},
			rev: []string{"QuestionnaireResponse:subject"}},
	}
	for _, tt := range tests {
		res := byType[tt.typ]
		for _, v := range tt.in {
			if !slices.Contains(res.SearchInclude, v) {
				t.Errorf("%s: searchInclude %v lacks %s", tt.typ, res.SearchInclude, v)
			}
		}
		for _, v := range tt.notIn {
			if slices.Contains(res.SearchInclude, v) {
				t.Errorf("%s: searchInclude has %s", tt.typ, v)
			}
		}
		for _, v := range tt.rev {
			if !slices.Contains(res.SearchRevInclude, v) {
				t.Errorf("%s: searchRevInclude %v lacks %s", tt.typ, res.SearchRevInclude, v)
			}
		}
		for _, v := range tt.notRe {
			if slices.Contains(res.SearchRevInclude, v) {
				t.Errorf("%s: searchRevInclude has %s", tt.typ, v)
			}
		}
	}
	// Every include is a supported reference parameter of the type, and
	// every revinclude one of a served type that may refer to it.
	for typ, res := range byType {
		for _, v := range res.SearchInclude {
			if v == "*" {
				continue
			}
			src, name, _ := strings.Cut(v, ":")
			if p, ok := search.Lookup(src, name); src != typ || !ok || p.Kind != search.Reference || !p.Supported() {
				t.Errorf("%s: searchInclude %s is no supported reference parameter of %s", typ, v, typ)
			}
		}
		for _, v := range res.SearchRevInclude {
			src, name, _ := strings.Cut(v, ":")
			p, ok := search.Lookup(src, name)
			if _, served := fhir.Types[src]; !served || !ok || p.Kind != search.Reference || !p.Supported() ||
				len(p.Targets) > 0 && !slices.Contains(p.Targets, typ) {
				t.Errorf("%s: searchRevInclude %s is no served reference parameter that may refer to %s", typ, v, typ)
			}
		}
	}

	// AuditEvent is read and searched; the rest level lists the
	// parameters of a system search.
	var codes []string
	for _, in := range byType[auditType].Interaction {
		codes = append(codes, in.Code.Code())
	}
	if !slices.Equal(codes, []string{"read", "search-type"}) {
		t.Errorf("AuditEvent interactions %v", codes)
	}
	var system []string
	for _, sp := range cs.Rest[0].SearchParam {
		system = append(system, sp.Name)
	}
	if want := []string{"_id", "_lastUpdated", "_profile", "_security", "_source", "_tag", "_type"}; !slices.Equal(system, want) {
		t.Errorf("rest.searchParam %v, want %v", system, want)
	}
}
