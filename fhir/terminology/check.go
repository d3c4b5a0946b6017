package terminology

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/matcare/matcare/fhir"
)

// CheckCodings checks every Coding of a resource — every JSON object with
// a string system and a string code, at any depth: in extensions,
// contained resources and Bundle entries too — whose system is a code
// system the registry holds:
//
//   - a code the code system does not define (matched as its case
//     sensitivity says) is an error, code code-invalid, when the code
//     system's content is complete;
//   - a display that is not the concept's display or one of its
//     designations is a warning, as are an inactive code and a version
//     other than the code system's;
//   - a system that is the canonical of a value set the registry holds,
//     not of a code system, is an error.
//
// Each issue's expression is the coding's FHIRPath with indexes, such as
// Goal.category[0].coding[1]. Codings of other systems are not checked.
// Input that is not a JSON object is one error issue of code structure.
func (r *Registry) CheckCodings(resource []byte) []fhir.Issue {
	dec := json.NewDecoder(bytes.NewReader(resource))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return []fhir.Issue{{Severity: r4.IssueSeverityError, Code: r4.IssueTypeStructure, Diagnostics: "the resource is not valid JSON"}}
	}
	m, ok := doc.(map[string]any)
	if !ok {
		return []fhir.Issue{{Severity: r4.IssueSeverityError, Code: r4.IssueTypeStructure, Diagnostics: "the resource is not a JSON object"}}
	}
	root, _ := m["resourceType"].(string)
	if !typeName(root) {
		root = "Resource"
	}
	var issues []fhir.Issue
	r.walk(m, root, &issues)
	return issues
}

// typeName reports whether s looks like a resource type name.
func typeName(s string) bool {
	if s == "" || s[0] < 'A' || s[0] > 'Z' || len(s) > 64 {
		return false
	}
	for i := range len(s) {
		if c := s[i]; !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// walk checks v, found at path, and everything in it.
func (r *Registry) walk(v any, path string, issues *[]fhir.Issue) {
	switch v := v.(type) {
	case map[string]any:
		system, sok := v["system"].(string)
		code, cok := v["code"].(string)
		if sok && cok {
			r.checkCoding(v, system, code, path, issues)
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if k == "resourceType" {
				continue
			}
			name := k
			if n, ok := strings.CutPrefix(k, "_"); ok && n != "" { // a primitive's id and extensions
				name = n
			}
			r.walk(v[k], path+"."+identifier(name), issues)
		}
	case []any:
		for i, el := range v {
			r.walk(el, path+"["+strconv.Itoa(i)+"]", issues)
		}
	}
}

// identifier is a member name as a FHIRPath identifier: as it is when it
// is a plain one (as every FHIR element name is), else delimited by
// backticks.
func identifier(name string) string {
	plain := name != "" && !(name[0] >= '0' && name[0] <= '9')
	for i := 0; plain && i < len(name); i++ {
		c := name[i]
		plain = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
	}
	if plain {
		return name
	}
	return "`" + strings.NewReplacer(`\`, `\\`, "`", "\\`").Replace(name) + "`"
}

// checkCoding checks one coding (m) at path.
func (r *Registry) checkCoding(m map[string]any, system, code, path string, issues *[]fhir.Issue) {
	add := func(sev r4.IssueSeverity, format string, args ...any) {
		*issues = append(*issues, fhir.Issue{Severity: sev, Code: r4.IssueTypeCodeInvalid,
			Diagnostics: fmt.Sprintf(format, args...), Expression: []string{path}})
	}
	cs, ok := r.codeSystems[system]
	if !ok {
		if vs, isVS := r.valueSets[system]; isVS {
			hint := ""
			if vs.compose != nil && len(vs.compose.Include) == 1 && vs.compose.Include[0].System != "" {
				hint = "; its codes are of code system " + vs.compose.Include[0].System
			}
			add(r4.IssueSeverityError, "system %s is a value set, not a code system%s", system, hint)
		}
		return
	}
	concept, found := cs.Concept(code)
	if !found {
		if cs.Content == "complete" {
			add(r4.IssueSeverityError, "unknown code %q in code system %s (version %s)", code, system, cs.Version)
		}
		return
	}
	if v, ok := m["version"].(string); ok && v != cs.Version {
		add(r4.IssueSeverityWarning, "version %q of code system %s is not known to this server; the code was checked against version %q", v, system, cs.Version)
	}
	if d, ok := m["display"].(string); ok && !concept.ValidDisplay(d) {
		add(r4.IssueSeverityWarning, "display %q is not a valid display for code %q of code system %s; the display is %q", d, code, system, concept.Display)
	}
	if concept.Inactive() {
		add(r4.IssueSeverityWarning, "code %q of code system %s is inactive", code, system)
	}
}
