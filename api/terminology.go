package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/matcare/matcare/api/auth"
	"github.com/matcare/matcare/fhir"
	"github.com/matcare/matcare/fhir/content"
	"github.com/matcare/matcare/fhir/terminology"
	"github.com/matcare/matcare/service"
)

// The R4 terminology operations on matcare's own code systems and value
// sets (package content, answered by a terminology.Registry): CodeSystem
// $lookup and $validate-code, ValueSet $validate-code and $expand, by GET
// (parameters in the query) and POST (a Parameters resource). The table
// below drives the routes, the CapabilityStatement and the openapi.yaml
// check.

// termParam is one input parameter of a terminology operation.
type termParam struct {
	Name string
	// Type is the R4 type: uri, code, string, integer, boolean, Coding or
	// CodeableConcept (which a GET cannot carry).
	Type string
	// Repeats marks a 0..* parameter; the others are 0..1.
	Repeats bool
	Doc     string
}

// termOp is one terminology operation.
type termOp struct {
	Resource, Name string
	// Definition is the R4 OperationDefinition.
	Definition string
	// Instance: also served on [base]/<Resource>/[id]/$<Name>.
	Instance bool
	Params   []termParam
	Doc      string
	run      func(s *Server, c echo.Context, id string, in termInput) error
}

// terminologyOps lists the operations served.
var terminologyOps = []termOp{
	{
		Resource: "CodeSystem", Name: "lookup", Definition: "http://hl7.org/fhir/OperationDefinition/CodeSystem-lookup",
		Doc: "Details of a concept of one of matcare's code systems: name and version of the code system, display, designations and properties (definition, parent, child and the code system's own).",
		Params: []termParam{
			{Name: "system", Type: "uri", Doc: "The code system's canonical URL (required with code)."},
			{Name: "code", Type: "code", Doc: "The code to look up."},
			{Name: "version", Type: "string", Doc: "The code system's version; 404 if it is not the version held."},
			{Name: "coding", Type: "Coding", Doc: "The coding to look up, instead of system and code (GET: `system|code`)."},
			{Name: "property", Type: "code", Repeats: true, Doc: "A property to return (definition, designation, lang.X, parent, child or a property of the code system); none: all."},
		},
		run: (*Server).lookup,
	},
	{
		Resource: "CodeSystem", Name: "validate-code", Definition: "http://hl7.org/fhir/OperationDefinition/CodeSystem-validate-code", Instance: true,
		Doc: "Whether a code is in one of matcare's code systems, with a valid display if one is given. A wrong display gives result false, with the right display.",
		Params: []termParam{
			{Name: "url", Type: "uri", Doc: "The code system's canonical URL (at the type level; at the instance level it must be the instance's)."},
			{Name: "code", Type: "code", Doc: "The code to validate."},
			{Name: "version", Type: "string", Doc: "The code system's version; 404 if it is not the version held."},
			{Name: "display", Type: "string", Doc: "The display to validate with code."},
			{Name: "coding", Type: "Coding", Doc: "A coding to validate (GET: `system|code`)."},
			{Name: "codeableConcept", Type: "CodeableConcept", Doc: "A CodeableConcept (POST only): valid if one of its codings is."},
		},
		run: (*Server).validateCodeSystemCode,
	},
	{
		Resource: "ValueSet", Name: "validate-code", Definition: "http://hl7.org/fhir/OperationDefinition/ValueSet-validate-code", Instance: true,
		Doc: "Whether a code is in one of matcare's value sets, with a valid display if one is given. A wrong display gives result false, with the right display.",
		Params: []termParam{
			{Name: "url", Type: "uri", Doc: "The value set's canonical URL (at the type level; at the instance level it must be the instance's)."},
			{Name: "valueSetVersion", Type: "string", Doc: "The value set's version; 404 if it is not the version held."},
			{Name: "code", Type: "code", Doc: "The code to validate (with system)."},
			{Name: "system", Type: "uri", Doc: "The code's system (required with code)."},
			{Name: "systemVersion", Type: "string", Doc: "The version of the code's system."},
			{Name: "display", Type: "string", Doc: "The display to validate with code."},
			{Name: "coding", Type: "Coding", Doc: "A coding to validate (GET: `system|code`)."},
			{Name: "codeableConcept", Type: "CodeableConcept", Doc: "A CodeableConcept (POST only): valid if one of its codings is."},
		},
		run: (*Server).validateValueSetCode,
	},
	{
		Resource: "ValueSet", Name: "expand", Definition: "http://hl7.org/fhir/OperationDefinition/ValueSet-expand", Instance: true,
		Doc: "The codes of one of matcare's value sets, as a ValueSet with an expansion (flat, with total), optionally filtered and paged.",
		Params: []termParam{
			{Name: "url", Type: "uri", Doc: "The value set's canonical URL (at the type level; at the instance level it must be the instance's)."},
			{Name: "valueSetVersion", Type: "string", Doc: "The value set's version; 404 if it is not the version held."},
			{Name: "filter", Type: "string", Doc: "Keeps codes whose code, display or designations have, for every word of the filter, a word starting with it (ignoring case and accents)."},
			{Name: "offset", Type: "integer", Doc: "Paging: the first code to return, from 0."},
			{Name: "count", Type: "integer", Doc: "Paging: how many codes to return (0: only the total); default all."},
			{Name: "activeOnly", Type: "boolean", Doc: "true: leave out inactive codes."},
			{Name: "includeDesignations", Type: "boolean", Doc: "true: return each code's designations."},
			{Name: "excludeNested", Type: "boolean", Doc: "Accepted; expansions are always flat."},
		},
		run: (*Server).expand,
	},
}

// Path returns the operation's path at the type level, or at the
// instance level with the :id parameter.
func (op termOp) Path(instance bool) string {
	if instance {
		return "/fhir/" + op.Resource + "/:id/$" + op.Name
	}
	return "/fhir/" + op.Resource + "/$" + op.Name
}

// param returns the operation's parameter called name.
func (op termOp) param(name string) (termParam, bool) {
	for _, p := range op.Params {
		if p.Name == name {
			return p, true
		}
	}
	return termParam{}, false
}

// terminologyRoutes are the routes of the terminology operations, by GET
// and POST, at the type and (where defined) instance level.
func terminologyRoutes() []route {
	var out []route
	for _, op := range terminologyOps {
		levels := []bool{false}
		if op.Instance {
			levels = append(levels, true)
		}
		for _, instance := range levels {
			level := "type"
			if instance {
				level = "instance"
			}
			for _, m := range []string{http.MethodGet, http.MethodPost} {
				out = append(out, route{Method: m, Path: op.Path(instance), Type: op.Resource, Interaction: "operation", Level: level,
					handler: func(s *Server, c echo.Context) error { return s.terminology(c, op) }})
			}
		}
	}
	return out
}

// operationAccess authorises a terminology operation: it reads shared
// content (no board's data, no patient's), so any scope that allows
// reading or searching the type allows it.
func (s *Server) operationAccess(p *auth.Principal, r route) (service.Access, error) {
	a := service.Access{Client: p.ClientID, Board: p.Board, National: p.Has(s.cfg.NationalScope), Admin: p.Has(s.cfg.AdminScope)}
	if ok, _ := p.Scopes.Allows(auth.Read, r.Type); ok {
		return a, nil
	}
	if ok, _ := p.Scopes.Allows(auth.Search, r.Type); ok {
		return a, nil
	}
	return a, errForbidden("the token's scopes do not allow reading %s; it needs system/%[1]s.r, system/%[1]s.s or system/%[1]s.read", r.Type)
}

// registryOrDefault is the registry the API answers from: the configured
// one, or the content files under the default canonical base.
func registryOrDefault(r *terminology.Registry) (*terminology.Registry, error) {
	if r != nil {
		return r, nil
	}
	res, err := content.Load(content.DefaultBase)
	if err != nil {
		return nil, err
	}
	return terminology.New(res)
}

// termValue is one input parameter's value: text for a primitive, or
// codings for a Coding (one) or CodeableConcept.
type termValue struct {
	Text    string
	Codings []terminology.Coding
}

// termInput holds a request's parameters by name.
type termInput map[string][]termValue

// one returns the parameter's only value.
func (in termInput) one(name string) (termValue, bool) {
	v := in[name]
	if len(v) == 0 {
		return termValue{}, false
	}
	return v[0], true
}

func (in termInput) text(name string) string { v, _ := in.one(name); return v.Text }
func (in termInput) has(name string) bool    { return len(in[name]) > 0 }

// bool reads a boolean parameter (default false).
func (in termInput) bool(name string) (bool, error) {
	v, ok := in.one(name)
	if !ok {
		return false, nil
	}
	switch v.Text {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fhir.Errorf(r4.IssueTypeValue, "", "parameter %s must be true or false, not %q", name, v.Text)
}

// int reads a non-negative integer parameter; def when absent.
func (in termInput) int(name string, def int) (int, error) {
	v, ok := in.one(name)
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(v.Text)
	if err != nil || n < 0 || n > 1<<31-1 {
		return 0, fhir.Errorf(r4.IssueTypeValue, "", "parameter %s must be a whole number from 0, not %q", name, v.Text)
	}
	return n, nil
}

// errParam is a 400 about a request parameter.
func errParam(code r4.IssueType, format string, args ...any) error {
	return fhir.Errorf(code, "", format, args...)
}

// terminology serves one terminology operation: it reads the parameters
// from the query (GET) or a Parameters body (POST) and runs it.
func (s *Server) terminology(c echo.Context, op termOp) error {
	if err := negotiate(c); err != nil {
		return err
	}
	var (
		in  termInput
		err error
	)
	if c.Request().Method == http.MethodPost {
		in, err = s.termBody(c, op)
	} else {
		in, err = termQuery(c, op)
	}
	if err != nil {
		return err
	}
	return op.run(s, c, c.Param("id"), in)
}

// termQuery reads a GET's parameters. A Coding is written system|code;
// a CodeableConcept cannot be sent this way.
func termQuery(c echo.Context, op termOp) (termInput, error) {
	in := termInput{}
	for name, values := range c.QueryParams() {
		if name == "_format" || name == "_pretty" {
			continue
		}
		p, ok := op.param(name)
		if !ok {
			return nil, unknownParam(op, name)
		}
		if len(values) > 1 && !p.Repeats {
			return nil, errParam(r4.IssueTypeInvalid, "parameter %s may be given once", name)
		}
		for _, v := range values {
			if v == "" {
				return nil, errParam(r4.IssueTypeValue, "parameter %s is empty", name)
			}
			switch p.Type {
			case "CodeableConcept":
				return nil, errParam(r4.IssueTypeNotSupported, "parameter %s is a CodeableConcept, which a GET cannot carry: POST a Parameters resource", name)
			case "Coding":
				system, code, ok := strings.Cut(v, "|")
				if !ok || system == "" || code == "" {
					return nil, errParam(r4.IssueTypeValue, "parameter %s must be system|code in a GET, not %q", name, v)
				}
				in[name] = append(in[name], termValue{Codings: []terminology.Coding{{System: system, Code: code}}})
			default:
				in[name] = append(in[name], termValue{Text: v})
			}
		}
	}
	return in, nil
}

// unknownParam is the 400 for a parameter the operation does not take.
func unknownParam(op termOp, name string) error {
	var names []string
	for _, p := range op.Params {
		names = append(names, p.Name)
	}
	return errParam(r4.IssueTypeNotSupported, "$%s on %s does not support parameter %q; it takes %s", op.Name, op.Resource, name, strings.Join(names, ", "))
}

// termBody reads a POST's Parameters resource. Each parameter has one
// value of its R4 type (valueUri for a uri, valueCoding for a Coding, …);
// query parameters other than _format and _pretty are refused.
func (s *Server) termBody(c echo.Context, op termOp) (termInput, error) {
	for name := range c.QueryParams() {
		if name != "_format" && name != "_pretty" {
			return nil, errParam(r4.IssueTypeNotSupported, "the parameters of a POST go in its Parameters body, not the query (%s)", name)
		}
	}
	body, err := s.readBody(c)
	if err != nil {
		return nil, err
	}
	var doc struct {
		ResourceType string                       `json:"resourceType"`
		Parameter    []map[string]json.RawMessage `json:"parameter"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&doc); err != nil {
		return nil, fhir.Errorf(r4.IssueTypeStructure, "", "the body is not a Parameters resource: %s", jsonProblem(err))
	}
	if doc.ResourceType != "Parameters" {
		return nil, fhir.Errorf(r4.IssueTypeInvalid, "", "the body must be a Parameters resource, not %q", doc.ResourceType)
	}
	in := termInput{}
	for i, pm := range doc.Parameter {
		at := "Parameters.parameter[" + strconv.Itoa(i) + "]"
		var name string
		if err := json.Unmarshal(pm["name"], &name); err != nil || name == "" {
			return nil, fhir.Errorf(r4.IssueTypeRequired, at+".name", "a parameter has no name")
		}
		p, ok := op.param(name)
		if !ok {
			return nil, unknownParam(op, name)
		}
		if in.has(name) && !p.Repeats {
			return nil, fhir.Errorf(r4.IssueTypeInvalid, at, "parameter %s may be given once", name)
		}
		want := "value" + strings.ToUpper(p.Type[:1]) + p.Type[1:]
		var raw json.RawMessage
		for k, v := range pm {
			switch {
			case k == "name" || k == "id" || k == "extension" || k == "modifierExtension":
			case k == want:
				raw = v
			default:
				return nil, fhir.Errorf(r4.IssueTypeInvalid, at, "parameter %s must have a %s and nothing else, not %s", name, want, k)
			}
		}
		if raw == nil {
			return nil, fhir.Errorf(r4.IssueTypeRequired, at, "parameter %s has no %s", name, want)
		}
		v, err := termJSONValue(p, raw)
		if err != nil {
			return nil, fhir.Errorf(r4.IssueTypeValue, at+"."+want, "parameter %s: %s", name, err)
		}
		in[name] = append(in[name], v)
	}
	return in, nil
}

// jsonProblem describes a JSON decoding error without echoing input.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return "invalid JSON at byte " + strconv.FormatInt(se.Offset, 10)
	case errors.As(err, &te):
		return "element " + te.Field + " has the wrong JSON type"
	}
	return "invalid JSON"
}

// termJSONValue reads one parameter value of p's type.
func termJSONValue(p termParam, raw json.RawMessage) (termValue, error) {
	switch p.Type {
	case "Coding":
		c, err := jsonCoding(raw)
		if err != nil {
			return termValue{}, err
		}
		return termValue{Codings: []terminology.Coding{c}}, nil
	case "CodeableConcept":
		var cc struct {
			Coding []json.RawMessage `json:"coding"`
		}
		if err := json.Unmarshal(raw, &cc); err != nil {
			return termValue{}, fmt.Errorf("not a CodeableConcept")
		}
		if len(cc.Coding) == 0 {
			return termValue{}, fmt.Errorf("the CodeableConcept has no coding")
		}
		var v termValue
		for _, r := range cc.Coding {
			c, err := jsonCoding(r)
			if err != nil {
				return termValue{}, err
			}
			v.Codings = append(v.Codings, c)
		}
		return v, nil
	case "integer":
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil || bytes.HasPrefix(bytes.TrimSpace(raw), []byte(`"`)) {
			return termValue{}, fmt.Errorf("not an integer")
		}
		return termValue{Text: n.String()}, nil
	case "boolean":
		var b bool
		if err := json.Unmarshal(raw, &b); err != nil {
			return termValue{}, fmt.Errorf("not a boolean")
		}
		return termValue{Text: strconv.FormatBool(b)}, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil || s == "" {
		return termValue{}, fmt.Errorf("not a non-empty string")
	}
	return termValue{Text: s}, nil
}

// jsonCoding reads a Coding with a code.
func jsonCoding(raw json.RawMessage) (terminology.Coding, error) {
	var c terminology.Coding
	if err := json.Unmarshal(raw, &c); err != nil {
		return c, fmt.Errorf("not a Coding")
	}
	if c.Code == "" {
		return c, fmt.Errorf("a Coding has no code")
	}
	return c, nil
}

// lookup serves CodeSystem $lookup.
func (s *Server) lookup(c echo.Context, _ string, in termInput) error {
	system, code, version := in.text("system"), in.text("code"), in.text("version")
	switch {
	case in.has("coding") && (in.has("code") || in.has("system")):
		return errParam(r4.IssueTypeInvalid, "give either coding or system and code, not both")
	case in.has("coding"):
		cd, _ := in.one("coding")
		co := cd.Codings[0]
		if co.System == "" {
			return errParam(r4.IssueTypeRequired, "the coding has no system")
		}
		if version != "" && co.Version != "" && version != co.Version {
			return errParam(r4.IssueTypeInvalid, "version %q and the coding's version %q differ", version, co.Version)
		}
		system, code = co.System, co.Code
		if version == "" {
			version = co.Version
		}
	case code == "":
		return errParam(r4.IssueTypeRequired, "$lookup needs system and code, or coding")
	case system == "":
		return errParam(r4.IssueTypeRequired, "a code needs a system")
	}
	res, err := s.term.Lookup(system, code, version)
	if err != nil {
		return err
	}
	var props []string
	for _, v := range in["property"] {
		props = append(props, v.Text)
	}
	return s.writeJSON(c, http.StatusOK, res.Parameters(props))
}

// codings reads the one coded input of a $validate-code: code (with
// display and the given system and version), coding or codeableConcept.
func codings(in termInput, system, version string) ([]terminology.Coding, error) {
	n := 0
	for _, name := range []string{"code", "coding", "codeableConcept"} {
		if in.has(name) {
			n++
		}
	}
	if n != 1 {
		return nil, errParam(r4.IssueTypeInvalid, "give exactly one of code, coding and codeableConcept")
	}
	if in.has("display") && !in.has("code") {
		return nil, errParam(r4.IssueTypeInvalid, "display goes with code (a coding carries its own)")
	}
	if in.has("code") {
		return []terminology.Coding{{System: system, Version: version, Code: in.text("code"), Display: in.text("display")}}, nil
	}
	if v, ok := in.one("coding"); ok {
		return v.Codings, nil
	}
	v, _ := in.one("codeableConcept")
	return v.Codings, nil
}

// canonical is the canonical URL an operation acts on: the instance's (a
// url parameter must agree), or the url parameter at the type level,
// which fallback may supply.
func canonical(in termInput, instanceURL, what, fallback string) (string, error) {
	url := in.text("url")
	switch {
	case instanceURL != "" && url != "" && url != instanceURL:
		return "", errParam(r4.IssueTypeInvalid, "url %s is not the url of this %s (%s)", url, what, instanceURL)
	case instanceURL != "":
		return instanceURL, nil
	case url != "":
		return url, nil
	case fallback != "":
		return fallback, nil
	}
	return "", errParam(r4.IssueTypeRequired, "give the %s's url (or call the operation on a %s instance)", what, what)
}

// instance is the canonical URL of the instance id, "" at the type level;
// 400 for a malformed id, 404 for an unknown one.
func (s *Server) instance(resource, id string) (string, error) {
	if id == "" {
		return "", nil
	}
	if !fhir.ValidID(id) {
		return "", fhir.Errorf(r4.IssueTypeInvalid, "", "%q is not a valid id", id)
	}
	switch resource {
	case "CodeSystem":
		if cs, ok := s.term.CodeSystemByID(id); ok {
			return cs.URL, nil
		}
	case "ValueSet":
		if vs, ok := s.term.ValueSetByID(id); ok {
			return vs.URL, nil
		}
	}
	return "", fhir.Errorf(r4.IssueTypeNotFound, "", "%s/%s is not known to this server", resource, id)
}

// validateCodeSystemCode serves CodeSystem $validate-code.
func (s *Server) validateCodeSystemCode(c echo.Context, id string, in termInput) error {
	instanceURL, err := s.instance("CodeSystem", id)
	if err != nil {
		return err
	}
	cs, err := codings(in, "", "")
	if err != nil {
		return err
	}
	fallback := ""
	if len(cs) == 1 { // a coding names its code system
		fallback = cs[0].System
	}
	url, err := canonical(in, instanceURL, "CodeSystem", fallback)
	if err != nil {
		return err
	}
	v, err := s.term.ValidateCode(url, in.text("version"), cs...)
	if err != nil {
		return err
	}
	return s.writeJSON(c, http.StatusOK, v.Parameters())
}

// validateValueSetCode serves ValueSet $validate-code.
func (s *Server) validateValueSetCode(c echo.Context, id string, in termInput) error {
	instanceURL, err := s.instance("ValueSet", id)
	if err != nil {
		return err
	}
	url, err := canonical(in, instanceURL, "ValueSet", "")
	if err != nil {
		return err
	}
	if in.has("code") && !in.has("system") {
		return errParam(r4.IssueTypeRequired, "a code needs a system")
	}
	if !in.has("code") && (in.has("system") || in.has("systemVersion")) {
		return errParam(r4.IssueTypeInvalid, "system and systemVersion go with code (a coding carries its own)")
	}
	cs, err := codings(in, in.text("system"), in.text("systemVersion"))
	if err != nil {
		return err
	}
	v, err := s.term.ValidateValueSetCode(url, in.text("valueSetVersion"), cs...)
	if err != nil {
		return err
	}
	return s.writeJSON(c, http.StatusOK, v.Parameters())
}

// expand serves ValueSet $expand.
func (s *Server) expand(c echo.Context, id string, in termInput) error {
	instanceURL, err := s.instance("ValueSet", id)
	if err != nil {
		return err
	}
	url, err := canonical(in, instanceURL, "ValueSet", "")
	if err != nil {
		return err
	}
	req := terminology.ExpandRequest{URL: url, ValueSetVersion: in.text("valueSetVersion"), Filter: in.text("filter")}
	if req.Offset, err = in.int("offset", 0); err != nil {
		return err
	}
	if req.Count, err = in.int("count", -1); err != nil {
		return err
	}
	if req.ActiveOnly, err = in.bool("activeOnly"); err != nil {
		return err
	}
	if req.IncludeDesignations, err = in.bool("includeDesignations"); err != nil {
		return err
	}
	if _, err = in.bool("excludeNested"); err != nil {
		return err
	}
	x, err := s.term.Expand(req)
	if err != nil {
		return err
	}
	body, err := x.Resource(time.Now())
	if err != nil {
		return err
	}
	return s.writeJSON(c, http.StatusOK, body)
}

// terminologyResources adds the terminology operations to the
// CapabilityStatement's resources: to the CodeSystem and ValueSet entries,
// added when those types are not otherwise served.
func terminologyResources(resources []map[string]any) []map[string]any {
	for _, typ := range []string{"CodeSystem", "ValueSet"} {
		var ops []map[string]string
		for _, op := range terminologyOps {
			if op.Resource == typ {
				ops = append(ops, map[string]string{"name": op.Name, "definition": op.Definition, "documentation": op.Doc + " " + paramDoc(op)})
			}
		}
		i := slices.IndexFunc(resources, func(r map[string]any) bool { return r["type"] == typ })
		if i < 0 {
			resources = append(resources, map[string]any{
				"type":    typ,
				"profile": "http://hl7.org/fhir/StructureDefinition/" + typ,
				"documentation": "matcare's own " + typ + "s (their canonical URLs under MATCARE_CANONICAL_BASE), " +
					"served through the terminology operations; any scope allowing read or search of " + typ + " allows them.",
			})
			i = len(resources) - 1
		}
		served, _ := resources[i]["operation"].([]map[string]string) // $validate, once the type is served
		resources[i]["operation"] = append(slices.Clip(served), ops...)
	}
	return resources
}

// paramDoc lists an operation's parameters for its documentation.
func paramDoc(op termOp) string {
	var names []string
	for _, p := range op.Params {
		names = append(names, p.Name)
	}
	return "Parameters: " + strings.Join(names, ", ") + "."
}
