package fhir

import (
	"strings"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/matcare/matcare/fhir/schema"
)

// schemaIssues validates body against the official R4 JSON schema.
func schemaIssues(typ string, body []byte) []Issue {
	found := schema.Validate(typ, body)
	issues := make([]Issue, 0, len(found))
	for _, f := range found {
		code := r4.IssueTypeValue // a value of the wrong type or form
		switch {
		case strings.Contains(f.Message, "is not one of"):
			code = r4.IssueTypeCodeInvalid
		case strings.Contains(f.Message, "unknown element"), strings.Contains(f.Message, "expected a JSON object"):
			code = r4.IssueTypeStructure
		}
		is := Issue{Severity: r4.IssueSeverityError, Code: code, Diagnostics: f.Message}
		if f.Expression != "" {
			is.Expression = []string{f.Expression}
		}
		issues = append(issues, is)
	}
	return issues
}
