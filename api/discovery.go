package api

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// smartCapabilities are the SMART App Launch capabilities matcare serves:
// backend services with asymmetric client authentication, v1 and v2 scope
// syntax.
var smartCapabilities = []string{"client-confidential-asymmetric", "permission-v1", "permission-v2", "permission-patient"}

// scopesSupported lists example scopes in the discovery document: the
// SMART wildcards and the deployment scopes.
func (s *Server) scopesSupported() []string {
	return []string{
		"system/*.read", "system/*.write", "system/*.*", "system/*.rs", "system/*.cruds",
		"user/*.read", "user/*.rs", "patient/*.read", "patient/*.rs",
		s.cfg.AdminScope, s.cfg.NationalScope, s.cfg.AuditorScope,
	}
}

// smartConfiguration serves /fhir/.well-known/smart-configuration (SMART
// App Launch 2.0 discovery): where to get a token and what it may hold.
func (s *Server) smartConfiguration(c echo.Context) error {
	doc := map[string]any{
		"grant_types_supported":                            []string{"client_credentials"},
		"token_endpoint_auth_methods_supported":            []string{"private_key_jwt"},
		"token_endpoint_auth_signing_alg_values_supported": []string{"RS384", "ES384"},
		"scopes_supported":                                 s.scopesSupported(),
		"capabilities":                                     smartCapabilities,
		"code_challenge_methods_supported":                 []string{},
		// Not SMART fields: what this server accepts and where the board is.
		"matcare_access_token_signing_alg_values_supported": s.cfg.Algs,
		"matcare_health_board_claim":                        s.cfg.BoardClaim,
	}
	if s.cfg.TokenEndpoint != "" {
		doc["token_endpoint"] = s.cfg.TokenEndpoint
	}
	return c.JSON(http.StatusOK, doc)
}

// securityStatement is CapabilityStatement.rest.security.
func (s *Server) securityStatement() map[string]any {
	sec := map[string]any{
		"cors": false,
		"service": []map[string]any{{"coding": []map[string]string{{
			"system": "http://terminology.hl7.org/CodeSystem/restful-security-service", "code": "SMART-on-FHIR",
		}}}},
		"description": "Bearer JWTs (SMART backend services). Scopes: SMART v1 and v2 system/, user/ and patient/ " +
			"scopes per interaction and type; " + s.cfg.AdminScope + " writes shared content (Questionnaire); " +
			s.cfg.NationalScope + " reads every health board; " + s.cfg.AuditorScope + " reads and searches AuditEvent. " +
			"Each clinical resource belongs to the health board in the token's " + s.cfg.BoardClaim + " claim.",
	}
	if s.cfg.TokenEndpoint != "" {
		sec["extension"] = []map[string]any{{
			"url":       "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
			"extension": []map[string]string{{"url": "token", "valueUri": s.cfg.TokenEndpoint}},
		}}
	}
	return sec
}
