package clinical

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/matcare/matcare/fhir/content"
	"github.com/matcare/matcare/fhir/schema"
)

// TestContentFiles checks the content files this package defines against
// the code: one StructureDefinition per profile and extension, of the
// right type and value, and the prescribing-check CodeSystem naming the
// checks Prescribing reports; all valid R4 JSON.
func TestContentFiles(t *testing.T) {
	all, err := content.Load(base)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]content.Resource{}
	for _, r := range all {
		byID[r.Type+"/"+r.ID] = r
	}
	type element struct {
		ID   string `json:"id"`
		Type []struct {
			Code string `json:"code"`
		} `json:"type"`
	}
	type structureDefinition struct {
		URL            string                      `json:"url"`
		Kind           string                      `json:"kind"`
		Type           string                      `json:"type"`
		BaseDefinition string                      `json:"baseDefinition"`
		Derivation     string                      `json:"derivation"`
		FHIRVersion    string                      `json:"fhirVersion"`
		Description    string                      `json:"description"`
		Context        []any                       `json:"context"`
		Snapshot       any                         `json:"snapshot"`
		Differential   struct{ Element []element } `json:"differential"`
	}
	read := func(id string) (structureDefinition, bool) {
		t.Helper()
		var sd structureDefinition
		r, ok := byID["StructureDefinition/"+id]
		if !ok {
			t.Errorf("no StructureDefinition-%s.json", id)
			return sd, false
		}
		if is := schema.Validate(r.Type, r.Body); len(is) > 0 {
			t.Errorf("%s: %v", id, is)
		}
		if err := json.Unmarshal(r.Body, &sd); err != nil {
			t.Fatal(err)
		}
		if sd.URL != ProfileURL(base, id) || sd.Derivation != "constraint" || sd.FHIRVersion != "4.0.1" ||
			sd.BaseDefinition != "http://hl7.org/fhir/StructureDefinition/"+sd.Type || !strings.Contains(sd.Description, "no snapshot") {
			t.Errorf("%s: %s %s %s %s", id, sd.URL, sd.Derivation, sd.FHIRVersion, sd.BaseDefinition)
		}
		return sd, true
	}
	for _, p := range profileTypes {
		if sd, ok := read(p.id); ok && (sd.Kind != "resource" || sd.Type != p.typ) {
			t.Errorf("%s: %s %s", p.id, sd.Kind, sd.Type)
		}
	}
	for id, value := range extensionValue {
		sd, ok := read(id)
		if !ok {
			continue
		}
		if sd.Kind != "complex-type" || sd.Type != "Extension" || len(sd.Context) == 0 {
			t.Errorf("%s: %s %s context %v", id, sd.Kind, sd.Type, sd.Context)
		}
		var types []string
		for _, e := range sd.Differential.Element {
			if e.ID == "Extension.value[x]" {
				for _, ty := range e.Type {
					types = append(types, ty.Code)
				}
			}
		}
		want := []string{}
		if value != "" {
			want = []string{value}
			if value != "Coding" {
				want = []string{strings.ToLower(value[:1]) + value[1:]}
			}
		}
		if types == nil {
			types = []string{}
		}
		if !slices.Equal(types, want) {
			t.Errorf("%s: value[x] %v, the code reads %v", id, types, want)
		}
	}

	cs, ok := byID["CodeSystem/"+CSPrescribingCheck]
	if !ok {
		t.Fatal("no CodeSystem-prescribing-check.json")
	}
	if is := schema.Validate("CodeSystem", cs.Body); len(is) > 0 {
		t.Errorf("prescribing-check: %v", is)
	}
	var checks struct {
		URL     string `json:"url"`
		Count   int    `json:"count"`
		Concept []struct {
			Code, Display, Definition string
		} `json:"concept"`
	}
	if err := json.Unmarshal(cs.Body, &checks); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, c := range checks.Concept {
		got[c.Code] = c.Display
		if c.Definition == "" {
			t.Errorf("%s has no definition", c.Code)
		}
	}
	if !maps.Equal(got, prescribingChecks) || checks.Count != 12 || checks.URL != CodeSystemURL(base, CSPrescribingCheck) {
		t.Errorf("prescribing-check concepts %v, the code has %v", got, prescribingChecks)
	}
	if r, ok := byID["CodeSystem/"+CSBenzodiazepine]; !ok {
		t.Error("no CodeSystem-benzodiazepine.json")
	} else if is := schema.Validate("CodeSystem", r.Body); len(is) > 0 {
		t.Errorf("benzodiazepine: %v", is)
	}
}
