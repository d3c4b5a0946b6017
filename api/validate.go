package api

import (
	"encoding/json"
	"net/http"

	"github.com/labstack/echo/v4"
	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/matcare/matcare/fhir"
	"github.com/matcare/matcare/service"
)

// validateDefinition is the R4 OperationDefinition of $validate.
const validateDefinition = "http://hl7.org/fhir/OperationDefinition/Resource-validate"

// validateRoutes serve $validate (R4 Resource-validate) on every served
// type, at the type level (mode create, or none) and the instance level
// (update or delete).
func validateRoutes() []route {
	return []route{
		{Method: http.MethodPost, Path: "/fhir/:type/$validate", Interaction: "operation", Operation: "validate", Level: "type",
			handler: (*Server).validate},
		{Method: http.MethodPost, Path: "/fhir/:type/:id/$validate", Interaction: "operation", Operation: "validate", Level: "instance",
			handler: (*Server).validate},
	}
}

// validate answers $validate: 200 with an OperationOutcome listing every
// issue the write would meet (errors included) when validation ran; a
// 4xx when it could not (a bad request, no access).
func (s *Server) validate(c echo.Context) error {
	typ, body, err := s.typedBody(c)
	if err != nil {
		return err
	}
	id := c.Param("id")
	mode, profile := c.QueryParam("mode"), c.QueryParam("profile")
	resource := body
	var head struct {
		ResourceType string `json:"resourceType"`
		Parameter    []struct {
			Name           string          `json:"name"`
			ValueCode      string          `json:"valueCode"`
			ValueURI       string          `json:"valueUri"`
			ValueCanonical string          `json:"valueCanonical"`
			Resource       json.RawMessage `json:"resource"`
		} `json:"parameter"`
	}
	if err := json.Unmarshal(body, &head); err != nil {
		return fhir.Errorf(r4.IssueTypeStructure, "", "the body is not JSON: send the resource, or a Parameters resource with parameter resource")
	}
	if head.ResourceType == "Parameters" && typ != "Parameters" {
		resource = nil
		for _, p := range head.Parameter {
			switch p.Name {
			case "resource":
				resource = p.Resource
			case "mode":
				mode = p.ValueCode
			case "profile":
				profile = p.ValueCanonical + p.ValueURI
			default:
				return fhir.Errorf(r4.IssueTypeNotSupported, "Parameters.parameter", "$validate takes the parameters resource, mode and profile, not %q", p.Name)
			}
		}
	}
	if mode == "" && id != "" {
		mode = service.ValidateUpdate
	}
	switch {
	case (mode == service.ValidateDelete || mode == service.ValidateUpdate) && id == "":
		return fhir.Errorf(r4.IssueTypeInvalid, "", "mode %s validates an existing resource: call [type]/[id]/$validate", mode)
	case mode == service.ValidateCreate && id != "":
		return fhir.Errorf(r4.IssueTypeInvalid, "", "mode create validates a new resource: call [type]/$validate")
	case mode != service.ValidateDelete && len(resource) == 0:
		return fhir.Errorf(r4.IssueTypeRequired, "", "$validate needs the resource to validate, unless mode is delete")
	}
	issues, err := s.resources.Validate(c.Request().Context(), typ, id, mode, profile, resource)
	if err != nil {
		return err
	}
	return s.writeJSON(c, http.StatusOK, fhir.Outcome(issues...))
}
