package api

import (
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/matcare/matcare/fhir"
	"github.com/matcare/matcare/fhir/clinical"
	"github.com/matcare/matcare/fhir/content"
	"github.com/matcare/matcare/fhir/search"
)

// openapi.yaml's search parameter sections are generated from the same
// table as the CapabilityStatement (see openapi_gen_test.go).
//go:generate go test -run ^TestOpenAPIGenerated$ . -update

// capabilityStatement is built from the route table, fhir.Types and the
// search parameter table, so it can only claim what is served.
func (s *Server) capabilityStatement() map[string]any {
	var typeInteractions, systemInteractions []map[string]string
	for _, r := range routes() {
		switch {
		case r.Interaction == "" || r.Interaction == "capabilities" || r.Type != "" || r.Interaction == "search-compartment" || r.Conditional ||
			r.Interaction == "operation":
		case r.Interaction == "transaction":
			if r.Path == "/fhir" {
				systemInteractions = append(systemInteractions, map[string]string{"code": "transaction"}, map[string]string{"code": "batch"})
			}
		case r.Level == "system":
			systemInteractions = append(systemInteractions, map[string]string{"code": r.Interaction})
		default:
			typeInteractions = append(typeInteractions, map[string]string{"code": r.Interaction})
		}
	}
	sort.Slice(typeInteractions, func(i, j int) bool { return typeInteractions[i]["code"] < typeInteractions[j]["code"] })
	// Several routes may serve one interaction (search-type by GET and by
	// POST _search; patch by id and, conditionally, by criteria).
	typeInteractions = slices.CompactFunc(typeInteractions, func(a, b map[string]string) bool { return a["code"] == b["code"] })
	conditionalDelete := "single"
	if s.cfg.ConditionalDeleteMax > 1 {
		conditionalDelete = "multiple"
	}
	var resources []map[string]any
	for _, name := range fhir.TypeNames() {
		resources = append(resources, map[string]any{
			"type":              name,
			"profile":           "http://hl7.org/fhir/StructureDefinition/" + name,
			"interaction":       typeInteractions,
			"versioning":        "versioned-update",
			"readHistory":       true,
			"updateCreate":      true,
			"conditionalCreate": true,
			"conditionalRead":   "full-support",
			"conditionalUpdate": true,
			"conditionalDelete": conditionalDelete,
			"searchParam":       s.capabilitySearchParams(name),
			"searchInclude":     searchIncludes(name),
			"searchRevInclude":  searchRevIncludes(name),
			"operation":         []map[string]string{{"name": "validate", "definition": validateDefinition}},
		})
		if ps := clinical.ProfilesOf(s.cfg.CanonicalBase, name); len(ps) > 0 {
			resources[len(resources)-1]["supportedProfile"] = ps
		}
	}
	resources = append(resources, map[string]any{
		"type":             auditType,
		"profile":          "http://hl7.org/fhir/StructureDefinition/" + auditType,
		"documentation":    "Written by the server for every interaction; read and searched with the auditor scope.",
		"interaction":      []map[string]string{{"code": "read"}, {"code": "search-type"}},
		"readHistory":      false,
		"updateCreate":     false,
		"searchParam":      s.capabilitySearchParams(auditType),
		"searchInclude":    searchIncludes(auditType),
		"searchRevInclude": searchRevIncludes(auditType),
	})
	resources = terminologyResources(resources)
	// Parameters of a system search: the Resource-level ones and _type.
	systemParams := append(s.capabilitySearchParams("Resource"), map[string]string{
		"name": "_type", "type": string(search.Token),
		"documentation": "Resource types searched (comma-separated); system search only",
	})
	return map[string]any{
		"resourceType": "CapabilityStatement",
		"status":       "active",
		"date":         s.started.Format("2006-01-02T15:04:05Z07:00"),
		"publisher":    "matcare",
		"kind":         "instance",
		"software":     map[string]string{"name": "matcare", "version": s.cfg.Version},
		"implementation": map[string]string{
			"description": "matcare: care plans, goals and assessments for MAT (medication assisted treatment)",
			"url":         s.cfg.BaseURL,
		},
		"fhirVersion": "4.0.1",
		"format":      []string{"application/fhir+json", "json"},
		"rest": []map[string]any{{
			"mode":        "server",
			"security":    s.securityStatement(),
			"compartment": []string{"http://hl7.org/fhir/CompartmentDefinition/patient"},
			"resource":    resources,
			"interaction": systemInteractions,
			"searchParam": systemParams,
		}},
	}
}

func (s *Server) metadata(c echo.Context) error {
	if err := negotiate(c); err != nil {
		return err
	}
	return s.writeJSON(c, http.StatusOK, s.capabilityStatement())
}

// supportedParams are the parameters of typ ("Resource" for the
// Resource-level ones) that matcare evaluates, sorted by name.
func supportedParams(typ string) []search.Param {
	return slices.DeleteFunc(search.Params(typ), func(p search.Param) bool { return !p.Supported() })
}

// capabilitySearchParams are the CapabilityStatement searchParam entries
// of typ: every supported parameter of the search table.
func (s *Server) capabilitySearchParams(typ string) []map[string]string {
	var out []map[string]string
	for _, p := range supportedParams(typ) {
		out = append(out, map[string]string{
			"name":          p.Name,
			"definition":    s.definition(p),
			"type":          string(p.Kind),
			"documentation": searchParamDoc(p),
		})
	}
	return out
}

// definition is the canonical URL of p's SearchParameter: the official
// one, or for a parameter of matcare's own, its URL under the
// deployment's canonical base.
func (s *Server) definition(p search.Param) string {
	u := p.URL()
	if p.Custom && s.cfg.CanonicalBase != "" {
		if rest, ok := strings.CutPrefix(u, content.DefaultBase); ok {
			u = s.cfg.CanonicalBase + rest
		}
	}
	return u
}

// searchParamDoc documents p: the official description, where matcare's
// evaluation is narrower (Note), and the modifiers accepted.
func searchParamDoc(p search.Param) string {
	doc := strings.TrimSpace(p.Doc)
	if !strings.HasSuffix(doc, ".") && !strings.HasSuffix(doc, "?") && !strings.HasSuffix(doc, ")") {
		doc += "."
	}
	if p.Note != "" {
		doc += " In matcare: " + p.Note + "."
	}
	if p.Custom {
		doc += " A parameter of matcare's, not of R4."
	}
	if mods := modifierList(p.Kind); mods != "" {
		doc += " Modifiers: " + mods + "."
	}
	return doc
}

// modifierList lists the modifiers a parameter of kind k accepts, e.g.
// ":missing, :identifier, :[type]".
func modifierList(k search.Kind) string {
	var mods []string
	for _, m := range search.SupportedModifiers(k) {
		mods = append(mods, ":"+string(m))
	}
	if k == search.Reference {
		mods = append(mods, ":[type]")
	}
	return strings.Join(mods, ", ")
}

// searchIncludes are the _include values of a search of typ: Type:param
// for each supported reference parameter, and *.
func searchIncludes(typ string) []string {
	var out []string
	for _, p := range supportedParams(typ) {
		if p.Kind == search.Reference {
			out = append(out, typ+":"+p.Name)
		}
	}
	return append(out, "*")
}

// searchRevIncludes are the _revinclude values of a search of typ:
// Source:param for each supported reference parameter of a served type
// that may refer to typ. AuditEvents are not revincluded: they are read
// with the auditor scope only.
func searchRevIncludes(typ string) []string {
	var out []string
	for _, source := range fhir.TypeNames() {
		for _, p := range supportedParams(source) {
			if p.Kind == search.Reference && (len(p.Targets) == 0 || slices.Contains(p.Targets, typ)) {
				out = append(out, source+":"+p.Name)
			}
		}
	}
	return out
}
