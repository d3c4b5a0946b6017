package api

import (
	"net/http"
	"sort"

	"github.com/labstack/echo/v4"

	"github.com/matcare/matcare/fhir"
)

// capabilityStatement is built from the route table, fhir.Types and the
// search parameter table, so it can only claim what is served.
func (s *Server) capabilityStatement() map[string]any {
	var typeInteractions, systemInteractions []map[string]string
	for _, r := range routes() {
		switch {
		case r.Interaction == "" || r.Interaction == "capabilities" || r.Type != "" || r.Interaction == "search-compartment":
		case r.Level == "system":
			systemInteractions = append(systemInteractions, map[string]string{"code": r.Interaction})
		default:
			typeInteractions = append(typeInteractions, map[string]string{"code": r.Interaction})
		}
	}
	sort.Slice(typeInteractions, func(i, j int) bool { return typeInteractions[i]["code"] < typeInteractions[j]["code"] })
	var params []map[string]string
	for _, p := range searchParams {
		params = append(params, map[string]string{"name": p.Name, "type": p.Type, "documentation": p.Doc})
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
			"conditionalCreate": false,
			"conditionalRead":   "full-support",
			"conditionalUpdate": false,
			"conditionalDelete": "not-supported",
			"searchParam":       params,
		})
	}
	resources = append(resources, map[string]any{
		"type":          auditType,
		"profile":       "http://hl7.org/fhir/StructureDefinition/" + auditType,
		"documentation": "Written by the server for every interaction; read by id with the auditor scope.",
		"interaction":   []map[string]string{{"code": "read"}},
		"readHistory":   false,
		"updateCreate":  false,
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
		}},
	}
}

func (s *Server) metadata(c echo.Context) error {
	if err := negotiate(c); err != nil {
		return err
	}
	return s.writeJSON(c, http.StatusOK, s.capabilityStatement())
}
