package fhir

import (
	"sort"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// Type describes one resource type matcare serves. Adding a type to the
// server is adding an entry to Types.
type Type struct {
	Name string
	// Required lists the top-level elements with cardinality 1..* in R4.
	// They are checked on the raw JSON: the samply decoders invent a
	// code for a missing required element.
	Required []string
	// Shared marks content every health board uses (questionnaires,
	// terminology, profiles): it carries no board and only an
	// administrator writes it.
	Shared bool
	// Compartment lists the paths of the references that place a resource
	// in a patient's compartment (R4 CompartmentDefinition patient). The
	// Patient type is in its own compartment.
	Compartment []string
	// decode checks codes and data types with the samply struct.
	decode func([]byte) error
	// rules checks what neither the schema nor the struct can, on the
	// decoded JSON.
	rules func(doc map[string]any) []Issue
}

func decoder[T any](f func([]byte) (T, error)) func([]byte) error {
	return func(b []byte) error { _, err := f(b); return err }
}

// Types lists the served resource types by name.
var Types = map[string]*Type{
	"Patient": {Name: "Patient", decode: decoder(r4.UnmarshalPatient)},
	"CarePlan": {Name: "CarePlan", Required: []string{"status", "intent", "subject"},
		Compartment: []string{"subject", "activity.detail.performer"},
		decode:      decoder(r4.UnmarshalCarePlan)},
	"Goal": {Name: "Goal", Required: []string{"lifecycleStatus", "description", "subject"},
		Compartment: []string{"subject"},
		decode:      decoder(r4.UnmarshalGoal)},
	"Questionnaire": {Name: "Questionnaire", Required: []string{"status"}, Shared: true,
		decode: decoder(r4.UnmarshalQuestionnaire), rules: questionnaireRules},
	"QuestionnaireResponse": {Name: "QuestionnaireResponse", Required: []string{"status"},
		Compartment: []string{"subject", "author"},
		decode:      decoder(r4.UnmarshalQuestionnaireResponse), rules: questionnaireResponseRules},
	"Observation": {Name: "Observation", Required: []string{"status", "code"},
		Compartment: []string{"subject", "performer"},
		decode:      decoder(r4.UnmarshalObservation)},
	"RelatedPerson": {Name: "RelatedPerson", Required: []string{"patient"},
		Compartment: []string{"patient"},
		decode:      decoder(r4.UnmarshalRelatedPerson)},
	"CareTeam": {Name: "CareTeam",
		Compartment: []string{"subject", "participant.member"},
		decode:      decoder(r4.UnmarshalCareTeam)},
	// Organization and Practitioner are not in the patient compartment
	// (R4 CompartmentDefinition patient): a board's directory entries.
	// A token confined to a patient's compartment can neither read nor
	// write them (see service.Access).
	"Organization": {Name: "Organization", decode: decoder(r4.UnmarshalOrganization)},
	"Practitioner": {Name: "Practitioner", decode: decoder(r4.UnmarshalPractitioner)},
	// Terminology and profiles are shared content, like questionnaires.
	"CodeSystem": {Name: "CodeSystem", Required: []string{"status", "content"}, Shared: true,
		decode: decoder(r4.UnmarshalCodeSystem)},
	"ValueSet": {Name: "ValueSet", Required: []string{"status"}, Shared: true,
		decode: decoder(r4.UnmarshalValueSet)},
	"StructureDefinition": {Name: "StructureDefinition", Required: []string{"url", "name", "status", "kind", "abstract", "type"},
		Shared: true, decode: decoder(r4.UnmarshalStructureDefinition)},
}

// IsShared reports whether typ is shared content (see Type.Shared).
func IsShared(typ string) bool {
	t, ok := Types[typ]
	return ok && t.Shared
}

// TypeNames returns the served type names, sorted.
func TypeNames() []string {
	names := make([]string, 0, len(Types))
	for n := range Types {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// questionnaireRules requires a linkId on every item (R4 Questionnaire.item.linkId
// is 1..1; the official example qs1 omits it and is rejected).
func questionnaireRules(doc map[string]any) []Issue {
	return itemsHaveLinkID(doc["item"], "Questionnaire.item")
}

// questionnaireResponseRules requires a linkId on every item, answers
// included (QuestionnaireResponse.item.linkId is 1..1).
func questionnaireResponseRules(doc map[string]any) []Issue {
	return itemsHaveLinkID(doc["item"], "QuestionnaireResponse.item")
}

func itemsHaveLinkID(v any, path string) []Issue {
	items, _ := v.([]any)
	var issues []Issue
	for i, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			continue
		}
		p := path + "[" + itoa(i) + "]"
		if s, ok := m["linkId"].(string); !ok || s == "" {
			issues = append(issues, Issue{Severity: r4.IssueSeverityError, Code: r4.IssueTypeRequired,
				Diagnostics: "item.linkId is required", Expression: []string{p + ".linkId"}})
		}
		issues = append(issues, itemsHaveLinkID(m["item"], p+".item")...)
		if answers, ok := m["answer"].([]any); ok {
			for j, a := range answers {
				if am, ok := a.(map[string]any); ok {
					issues = append(issues, itemsHaveLinkID(am["item"], p+".answer["+itoa(j)+"].item")...)
				}
			}
		}
	}
	return issues
}
