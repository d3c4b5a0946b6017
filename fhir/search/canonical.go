package search

import (
	"strings"

	"github.com/matcare/matcare/fhir/content"
)

// sharedDefinitions are the parameters whose official SearchParameter is
// shared by several resource types (clinical-*, individual-*,
// conformance-*) rather than named <Type>-<name>; keyed by "Type name".
var sharedDefinitions = map[string]string{
	"CarePlan date":                             "clinical-date",
	"CarePlan identifier":                       "clinical-identifier",
	"CarePlan patient":                          "clinical-patient",
	"CareTeam date":                             "clinical-date",
	"CareTeam identifier":                       "clinical-identifier",
	"CareTeam patient":                          "clinical-patient",
	"CodeSystem context":                        "conformance-context",
	"CodeSystem context-quantity":               "conformance-context-quantity",
	"CodeSystem context-type":                   "conformance-context-type",
	"CodeSystem context-type-quantity":          "conformance-context-type-quantity",
	"CodeSystem context-type-value":             "conformance-context-type-value",
	"CodeSystem date":                           "conformance-date",
	"CodeSystem description":                    "conformance-description",
	"CodeSystem identifier":                     "conformance-identifier",
	"CodeSystem jurisdiction":                   "conformance-jurisdiction",
	"CodeSystem name":                           "conformance-name",
	"CodeSystem publisher":                      "conformance-publisher",
	"CodeSystem status":                         "conformance-status",
	"CodeSystem title":                          "conformance-title",
	"CodeSystem url":                            "conformance-url",
	"CodeSystem version":                        "conformance-version",
	"Goal identifier":                           "clinical-identifier",
	"Goal patient":                              "clinical-patient",
	"Observation code":                          "clinical-code",
	"Observation date":                          "clinical-date",
	"Observation encounter":                     "clinical-encounter",
	"Observation identifier":                    "clinical-identifier",
	"Observation patient":                       "clinical-patient",
	"Patient address":                           "individual-address",
	"Patient address-city":                      "individual-address-city",
	"Patient address-country":                   "individual-address-country",
	"Patient address-postalcode":                "individual-address-postalcode",
	"Patient address-state":                     "individual-address-state",
	"Patient address-use":                       "individual-address-use",
	"Patient birthdate":                         "individual-birthdate",
	"Patient email":                             "individual-email",
	"Patient family":                            "individual-family",
	"Patient gender":                            "individual-gender",
	"Patient given":                             "individual-given",
	"Patient phone":                             "individual-phone",
	"Patient phonetic":                          "individual-phonetic",
	"Patient telecom":                           "individual-telecom",
	"Practitioner address":                      "individual-address",
	"Practitioner address-city":                 "individual-address-city",
	"Practitioner address-country":              "individual-address-country",
	"Practitioner address-postalcode":           "individual-address-postalcode",
	"Practitioner address-state":                "individual-address-state",
	"Practitioner address-use":                  "individual-address-use",
	"Practitioner email":                        "individual-email",
	"Practitioner family":                       "individual-family",
	"Practitioner gender":                       "individual-gender",
	"Practitioner given":                        "individual-given",
	"Practitioner phone":                        "individual-phone",
	"Practitioner phonetic":                     "individual-phonetic",
	"Practitioner telecom":                      "individual-telecom",
	"RelatedPerson address":                     "individual-address",
	"RelatedPerson address-city":                "individual-address-city",
	"RelatedPerson address-country":             "individual-address-country",
	"RelatedPerson address-postalcode":          "individual-address-postalcode",
	"RelatedPerson address-state":               "individual-address-state",
	"RelatedPerson address-use":                 "individual-address-use",
	"RelatedPerson birthdate":                   "individual-birthdate",
	"RelatedPerson email":                       "individual-email",
	"RelatedPerson gender":                      "individual-gender",
	"RelatedPerson phone":                       "individual-phone",
	"RelatedPerson phonetic":                    "individual-phonetic",
	"RelatedPerson telecom":                     "individual-telecom",
	"StructureDefinition context":               "conformance-context",
	"StructureDefinition context-quantity":      "conformance-context-quantity",
	"StructureDefinition context-type":          "conformance-context-type",
	"StructureDefinition context-type-quantity": "conformance-context-type-quantity",
	"StructureDefinition context-type-value":    "conformance-context-type-value",
	"StructureDefinition date":                  "conformance-date",
	"StructureDefinition description":           "conformance-description",
	"StructureDefinition identifier":            "conformance-identifier",
	"StructureDefinition jurisdiction":          "conformance-jurisdiction",
	"StructureDefinition name":                  "conformance-name",
	"StructureDefinition publisher":             "conformance-publisher",
	"StructureDefinition status":                "conformance-status",
	"StructureDefinition title":                 "conformance-title",
	"StructureDefinition url":                   "conformance-url",
	"StructureDefinition version":               "conformance-version",
	"ValueSet context":                          "conformance-context",
	"ValueSet context-quantity":                 "conformance-context-quantity",
	"ValueSet context-type":                     "conformance-context-type",
	"ValueSet context-type-quantity":            "conformance-context-type-quantity",
	"ValueSet context-type-value":               "conformance-context-type-value",
	"ValueSet date":                             "conformance-date",
	"ValueSet description":                      "conformance-description",
	"ValueSet identifier":                       "conformance-identifier",
	"ValueSet jurisdiction":                     "conformance-jurisdiction",
	"ValueSet name":                             "conformance-name",
	"ValueSet publisher":                        "conformance-publisher",
	"ValueSet status":                           "conformance-status",
	"ValueSet title":                            "conformance-title",
	"ValueSet url":                              "conformance-url",
	"ValueSet version":                          "conformance-version",
}

// URL is the canonical URL of the official R4 SearchParameter p
// implements, e.g. http://hl7.org/fhir/SearchParameter/Goal-target-date,
// .../clinical-patient or .../Resource-lastUpdated (the definition of a
// CapabilityStatement searchParam); for a Custom parameter, matcare's own
// <content.DefaultBase>/SearchParameter/<Type>-<name>.
func (p Param) URL() string {
	if p.Custom {
		return content.DefaultBase + "/SearchParameter/" + p.Type + "-" + p.Name
	}
	const base = "http://hl7.org/fhir/SearchParameter/"
	if id, ok := sharedDefinitions[p.Type+" "+p.Name]; ok {
		return base + id
	}
	return base + p.Type + "-" + strings.TrimPrefix(p.Name, "_")
}
