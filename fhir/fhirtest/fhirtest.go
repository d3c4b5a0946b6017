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
}

// Examples returns the official FHIR R4 examples (npm package
// hl7.fhir.r4.examples@4.0.1) of the types Patient, CarePlan, Goal,
// Questionnaire and QuestionnaireResponse, sorted by name. See
// testdata/examples/README.md.
func Examples() []Example {
	files, err := fs.Glob(examples, "testdata/examples/*.json")
	if err != nil {
		panic(err) // The pattern is valid.
	}
	out := make([]Example, 0, len(files))
	for _, file := range files { // fs.Glob sorts.
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
			Name: strings.TrimSuffix(path.Base(file), ".json"),
			Type: head.ResourceType,
			ID:   head.ID,
			Body: body,
		})
	}
	return out
}
