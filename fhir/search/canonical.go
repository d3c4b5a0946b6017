package search

import "strings"

// sharedDefinitions are the parameters whose official SearchParameter is
// shared by several resource types (clinical-*, individual-*) rather
// than named <Type>-<name>; keyed by "Type name".
var sharedDefinitions = map[string]string{
	"CarePlan date":              "clinical-date",
	"CarePlan identifier":        "clinical-identifier",
	"CarePlan patient":           "clinical-patient",
	"Goal identifier":            "clinical-identifier",
	"Goal patient":               "clinical-patient",
	"Patient address":            "individual-address",
	"Patient address-city":       "individual-address-city",
	"Patient address-country":    "individual-address-country",
	"Patient address-postalcode": "individual-address-postalcode",
	"Patient address-state":      "individual-address-state",
	"Patient address-use":        "individual-address-use",
	"Patient birthdate":          "individual-birthdate",
	"Patient email":              "individual-email",
	"Patient family":             "individual-family",
	"Patient gender":             "individual-gender",
	"Patient given":              "individual-given",
	"Patient phone":              "individual-phone",
	"Patient phonetic":           "individual-phonetic",
	"Patient telecom":            "individual-telecom",
}

// URL is the canonical URL of the official R4 SearchParameter p
// implements, e.g. http://hl7.org/fhir/SearchParameter/Goal-target-date,
// .../clinical-patient or .../Resource-lastUpdated (the definition of a
// CapabilityStatement searchParam).
func (p Param) URL() string {
	const base = "http://hl7.org/fhir/SearchParameter/"
	if id, ok := sharedDefinitions[p.Type+" "+p.Name]; ok {
		return base + id
	}
	return base + p.Type + "-" + strings.TrimPrefix(p.Name, "_")
}
