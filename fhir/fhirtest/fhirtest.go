// Package fhirtest provides FHIR R4 resources for tests: the official R4
// examples of the resource types matcare serves, and small hand-made valid
// resources.
//
// Everything returned is a fresh copy that the caller may modify.
package fhirtest

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
)

//go:embed testdata/examples/*.json
var examples embed.FS

// Example is one official FHIR R4 example resource.
type Example struct {
	// Name is the example's file name without ".json", such as
	// "Goal-example".
	Name string
	// Type is the resource type, such as "Goal".
	Type string
	// ID is the resource's logical id, such as "example".
	ID string
	// Body is the file's content, byte for byte as published.
	Body []byte
	// Rejected says why matcare refuses the example (400); "" for the
	// examples it accepts.
	Rejected string
}

// rejected are the examples matcare refuses, by name, with the reason.
var rejected = map[string]string{
	"Questionnaire-qs1": "its items lack linkId, which R4 requires (Questionnaire.item.linkId 1..1)",
	"StructureDefinition-example-composition": "it carries _profile on differential.element.type, a primitive extension " +
		"of a canonical that the R4 JSON schema does not define",
}

// Examples returns the official FHIR R4 examples (npm package
// hl7.fhir.r4.examples@4.0.1) of the types matcare serves, sorted by
// name: every example of the clinical and directory types, and the
// example instances of CodeSystem, ValueSet and StructureDefinition. See
// testdata/examples/README.md.
func Examples() []Example {
	files, err := fs.Glob(examples, "testdata/examples/*.json")
	if err != nil {
		panic(err) // The pattern is valid.
	}
	out := make([]Example, 0, len(files))
	for _, file := range files {
		body, err := examples.ReadFile(file)
		if err != nil {
			panic(err)
		}
		var head struct {
			ResourceType string `json:"resourceType"`
			ID           string `json:"id"`
		}
		if err := json.Unmarshal(body, &head); err != nil {
			panic(fmt.Sprintf("fhirtest: %s: %v", file, err))
		}
		out = append(out, Example{
			Name:     strings.TrimSuffix(path.Base(file), ".json"),
			Type:     head.ResourceType,
			ID:       head.ID,
			Body:     body,
			Rejected: rejected[strings.TrimSuffix(path.Base(file), ".json")],
		})
	}
	// By name, not file name: "CodeSystem-example" before
	// "CodeSystem-example-supplement".
	slices.SortFunc(out, func(a, b Example) int { return strings.Compare(a.Name, b.Name) })
	return out
}
