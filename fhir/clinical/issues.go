package clinical

import (
	"encoding/json"
	"fmt"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/matcare/matcare/fhir"
)

// checker collects the issues of one check. prefix names the profile or
// rule set in every diagnostic.
type checker struct {
	base   string
	prefix string
	issues []fhir.Issue
}

func (c *checker) add(sev r4.IssueSeverity, code r4.IssueType, expr, format string, args ...any) *fhir.Issue {
	msg := fmt.Sprintf(format, args...)
	if c.prefix != "" {
		msg = c.prefix + ": " + msg
	}
	is := fhir.Issue{Severity: sev, Code: code, Diagnostics: msg}
	if expr != "" {
		is.Expression = []string{expr}
	}
	c.issues = append(c.issues, is)
	return &c.issues[len(c.issues)-1]
}

// errorf reports data that contradicts its own definition. Its codes map
// to 422 (fhir.StatusOf).
func (c *checker) errorf(code r4.IssueType, expr, format string, args ...any) *fhir.Issue {
	return c.add(r4.IssueSeverityError, code, expr, format, args...)
}

func (c *checker) warnf(code r4.IssueType, expr, format string, args ...any) *fhir.Issue {
	return c.add(r4.IssueSeverityWarning, code, expr, format, args...)
}

func (c *checker) infof(code r4.IssueType, expr, format string, args ...any) *fhir.Issue {
	return c.add(r4.IssueSeverityInformation, code, expr, format, args...)
}

// decode reads doc into v; on failure it returns the one issue to report.
// The write path has parsed doc already (fhir.Parse), so this fails only
// for a body that was never checked.
func decode(typ string, doc []byte, v any) []fhir.Issue {
	var head struct {
		ResourceType string `json:"resourceType"`
	}
	if err := json.Unmarshal(doc, &head); err != nil {
		return []fhir.Issue{{Severity: r4.IssueSeverityError, Code: r4.IssueTypeStructure,
			Diagnostics: "the resource is not valid JSON", Expression: []string{typ}}}
	}
	if head.ResourceType != typ {
		return []fhir.Issue{{Severity: r4.IssueSeverityError, Code: r4.IssueTypeInvalid,
			Diagnostics: fmt.Sprintf("resourceType %q is not %s", head.ResourceType, typ), Expression: []string{typ}}}
	}
	if err := json.Unmarshal(doc, v); err != nil {
		return []fhir.Issue{{Severity: r4.IssueSeverityError, Code: r4.IssueTypeStructure,
			Diagnostics: "the " + typ + " does not have R4's structure: " + err.Error(), Expression: []string{typ}}}
	}
	return nil
}

// HasErrors reports whether issues hold an error or fatal issue: the
// write path refuses such a resource (422) and stores it otherwise.
func HasErrors(issues []fhir.Issue) bool {
	for _, is := range issues {
		if is.Severity == r4.IssueSeverityError || is.Severity == r4.IssueSeverityFatal {
			return true
		}
	}
	return false
}
