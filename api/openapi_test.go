package api

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/matcare/matcare/fhir"
	"github.com/matcare/matcare/fhir/search"
)

// The checks below keep openapi.yaml (repo root) in step with the route
// table, the search parameter tables and the served types. They read the
// file only; no server or database is involved.

const specPath = "../openapi.yaml"

// oaParam is an OpenAPI parameter or a reference to one.
type oaParam struct {
	Ref         string    `yaml:"$ref"`
	Name        string    `yaml:"name"`
	In          string    `yaml:"in"`
	Description string    `yaml:"description"`
	Schema      *oaSchema `yaml:"schema"`
}

// oaSchema is the part of a schema the checks read.
type oaSchema struct {
	Ref   string    `yaml:"$ref"`
	Type  string    `yaml:"type"`
	Enum  []string  `yaml:"enum"`
	Items *oaSchema `yaml:"items"`
}

type oaOperation struct {
	OperationID string               `yaml:"operationId"`
	Parameters  []oaParam            `yaml:"parameters"`
	Responses   map[string]yaml.Node `yaml:"responses"`
	// Security is nil when the operation inherits the document's
	// (bearer), and empty when it is open.
	Security *[]map[string][]string `yaml:"security"`
}

// oaOp is one operation with the parameters that apply to it: the path
// item's and its own, references resolved.
type oaOp struct {
	Path, Method string
	Op           oaOperation
	Params       []oaParam
}

// oaMethods are the operation keys of an OpenAPI 3.0 path item.
var oaMethods = map[string]bool{"get": true, "put": true, "post": true, "delete": true,
	"options": true, "head": true, "patch": true, "trace": true}

type openAPISpec struct {
	root       *yaml.Node
	ops        map[string]oaOp // key: "GET /fhir/{type}"
	parameters map[string]oaParam
	schemas    map[string]oaSchema
}

func loadSpec(t *testing.T) *openAPISpec {
	t.Helper()
	raw, err := os.ReadFile(specPath)
	if err != nil {
		t.Fatalf("read %s: %v", specPath, err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(raw, &root); err != nil {
		t.Fatalf("parse %s: %v", specPath, err)
	}
	var doc struct {
		OpenAPI    string                          `yaml:"openapi"`
		Paths      map[string]map[string]yaml.Node `yaml:"paths"`
		Components struct {
			Parameters map[string]oaParam  `yaml:"parameters"`
			Schemas    map[string]oaSchema `yaml:"schemas"`
		} `yaml:"components"`
	}
	if err := root.Decode(&doc); err != nil {
		t.Fatalf("decode %s: %v", specPath, err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.0.") {
		t.Errorf("openapi: %q, want 3.0.x", doc.OpenAPI)
	}
	s := &openAPISpec{root: &root, ops: map[string]oaOp{},
		parameters: doc.Components.Parameters, schemas: doc.Components.Schemas}
	for path, item := range doc.Paths {
		var common []oaParam
		if n, ok := item["parameters"]; ok {
			if err := n.Decode(&common); err != nil {
				t.Fatalf("%s: parameters: %v", path, err)
			}
		}
		for key, n := range item {
			switch {
			case key == "parameters" || key == "summary" || key == "description" || key == "servers":
				continue
			case strings.HasPrefix(key, "x-"):
				continue
			case key == "$ref":
				t.Errorf("%s: path item $ref is not supported by this check", path)
				continue
			case !oaMethods[key]:
				t.Errorf("%s: unknown path item key %q", path, key)
				continue
			}
			var op oaOperation
			if err := n.Decode(&op); err != nil {
				t.Fatalf("%s %s: %v", key, path, err)
			}
			o := oaOp{Path: path, Method: strings.ToUpper(key), Op: op}
			// Operation parameters override path item ones of the same
			// name and location.
			byKey := map[string]oaParam{}
			for _, p := range append(slices.Clone(common), op.Parameters...) {
				p = s.resolveParam(t, p)
				byKey[p.In+" "+p.Name] = p
			}
			for _, p := range byKey {
				o.Params = append(o.Params, p)
			}
			s.ops[o.Method+" "+path] = o
		}
	}
	return s
}

func (s *openAPISpec) resolveParam(t *testing.T, p oaParam) oaParam {
	t.Helper()
	if p.Ref == "" {
		return p
	}
	name, ok := strings.CutPrefix(p.Ref, "#/components/parameters/")
	q, found := s.parameters[name]
	if !ok || !found {
		t.Errorf("unresolved parameter $ref %q", p.Ref)
		return p
	}
	return q
}

func (s *openAPISpec) resolveSchema(t *testing.T, sc *oaSchema) *oaSchema {
	t.Helper()
	for i := 0; sc != nil && sc.Ref != "" && i < 10; i++ {
		name, ok := strings.CutPrefix(sc.Ref, "#/components/schemas/")
		q, found := s.schemas[name]
		if !ok || !found {
			t.Errorf("unresolved schema $ref %q", sc.Ref)
			return nil
		}
		sc = &q
	}
	return sc
}

// ignoredMethod reports methods the comparison skips: the server answers
// HEAD on every GET route, and the spec may or may not list it.
func ignoredMethod(m string) bool { return m == "HEAD" }

var echoParam = regexp.MustCompile(`:([A-Za-z_][A-Za-z0-9_]*)`)

// openAPIPath turns an Echo path (/fhir/:type) into OpenAPI's (/fhir/{type}).
func openAPIPath(p string) string { return echoParam.ReplaceAllString(p, "{$1}") }

func routeKeys() map[string]route {
	keys := map[string]route{}
	for _, r := range routes() {
		keys[r.Method+" "+openAPIPath(r.Path)] = r
	}
	return keys
}

func TestOpenAPIRoutes(t *testing.T) {
	spec := loadSpec(t)
	served := routeKeys()
	for _, k := range sortedKeys(served) {
		if _, ok := spec.ops[k]; !ok {
			t.Errorf("route %s is served but missing from openapi.yaml", k)
		}
	}
	for _, k := range sortedKeys(spec.ops) {
		if ignoredMethod(spec.ops[k].Method) {
			continue
		}
		if _, ok := served[k]; !ok {
			t.Errorf("openapi.yaml documents %s, which routes() does not serve", k)
		}
	}
}

func TestOpenAPIOperations(t *testing.T) {
	spec := loadSpec(t)
	ids := map[string]string{}
	pathParam := regexp.MustCompile(`\{([^}]+)\}`)
	for _, k := range sortedKeys(spec.ops) {
		o := spec.ops[k]
		if o.Op.OperationID == "" {
			t.Errorf("%s: no operationId", k)
		} else if prev, dup := ids[o.Op.OperationID]; dup {
			t.Errorf("%s: operationId %q already used by %s", k, o.Op.OperationID, prev)
		}
		ids[o.Op.OperationID] = k
		if len(o.Op.Responses) == 0 {
			t.Errorf("%s: no responses", k)
		}
		// Path parameters: exactly those of the template, all required.
		var want, got []string
		for _, m := range pathParam.FindAllStringSubmatch(o.Path, -1) {
			want = append(want, m[1])
		}
		for _, p := range o.Params {
			if p.In == "path" {
				got = append(got, p.Name)
			}
		}
		sort.Strings(want)
		sort.Strings(got)
		if !slices.Equal(want, got) {
			t.Errorf("%s: path parameters %v, want %v", k, got, want)
		}
		// Open routes say so; every other one inherits bearer security.
		if r, ok := routeKeys()[k]; ok {
			open := o.Op.Security != nil && len(*o.Op.Security) == 0
			if r.Open != open {
				t.Errorf("%s: documented open=%v, served open=%v (security: [] marks open routes)", k, open, r.Open)
			}
		}
		// Every FHIR route negotiates the format and writes with _pretty.
		if strings.HasPrefix(o.Path, "/fhir/") && !strings.HasPrefix(o.Path, "/fhir/.well-known/") {
			for _, name := range []string{"_format", "_pretty"} {
				if !hasParam(o.Params, "query", name) {
					t.Errorf("%s: query parameter %s is not documented", k, name)
				}
			}
		}
	}
}

// TestOpenAPISearchParams checks that every search route documents
// exactly the supported parameters of the search parameter table for the
// types it searches, each on every type having it, plus the control
// parameters, and no other query parameter.
func TestOpenAPISearchParams(t *testing.T) {
	spec := loadSpec(t)
	names, defs := servedSearchParams()
	type searchOp struct {
		key   string
		types []string
		want  map[string]string // query parameter name -> component key
	}
	var ops []searchOp
	for _, k := range sortedKeys(routeKeys()) {
		r := routeKeys()[k]
		if r.Interaction != "search-type" && r.Interaction != "search-compartment" {
			continue
		}
		o := searchOp{key: k, types: fhir.TypeNames(), want: map[string]string{}}
		if r.Type == auditType {
			o.types = []string{auditType}
			for _, p := range supportedParams(auditType) {
				o.want[p.Name] = auditSearchParamKey(p.Name)
			}
		} else {
			for _, n := range names {
				o.want[n] = searchParamKey(n)
			}
		}
		for _, c := range append([]string{"_format", "_pretty"}, searchControls...) {
			o.want[c] = c
		}
		ops = append(ops, o)
	}
	if len(ops) < 3 {
		t.Fatalf("routes() has %d search routes, want GET and POST search-type and search-compartment", len(ops))
	}
	for _, o := range ops {
		op, ok := spec.ops[o.key]
		if !ok {
			t.Errorf("openapi.yaml has no %s", o.key)
			continue
		}
		for _, name := range sortedKeys(o.want) {
			if !hasParam(op.Params, "query", name) {
				t.Errorf("%s: query parameter %s is not documented", o.key, name)
			}
		}
		for _, p := range op.Params {
			if p.In == "query" && o.want[p.Name] == "" {
				t.Errorf("%s: openapi.yaml documents query parameter %s, which is no supported search or control parameter of %v", o.key, p.Name, o.types)
			}
		}
		if !hasParam(op.Params, "header", "Prefer") {
			t.Errorf("%s: Prefer (handling=strict) is not documented", o.key)
		}
	}
	// Each parameter's description names every type having it, with the
	// official definition; Resource-level ones say "every type".
	for _, n := range names {
		p, ok := spec.parameters[searchParamKey(n)]
		if !ok {
			continue // reported above
		}
		if d := defs[n]; len(d) == len(fhir.TypeNames()) && d[fhir.TypeNames()[0]].Type == "Resource" {
			if !strings.Contains(p.Description, "of every type") {
				t.Errorf("%s: description does not say it applies to every type", n)
			}
			continue
		}
		for typ, sp := range defs[n] {
			if !strings.Contains(p.Description, "- "+typ+" ("+string(sp.Kind)+"): ") || !strings.Contains(p.Description, sp.URL()) {
				t.Errorf("%s: description lacks %s (%s, %s)", n, typ, sp.Kind, sp.URL())
			}
		}
		if sc := p.Schema; sc == nil || sc.Type != "array" || sc.Items == nil || sc.Items.Type != "string" {
			t.Errorf("%s: schema is not an array of strings (repeating ANDs)", n)
		}
	}
	// Unsupported parameters are documented nowhere.
	for _, typ := range append(fhir.TypeNames(), auditType) {
		for _, p := range search.Params(typ) {
			if p.Supported() {
				continue
			}
			if typ == auditType {
				if _, ok := spec.parameters[auditSearchParamKey(p.Name)]; ok {
					t.Errorf("%s %s is unsupported but documented", typ, p.Name)
				}
			} else if d, ok := spec.parameters[searchParamKey(p.Name)]; ok && strings.Contains(d.Description, "- "+typ+" (") {
				t.Errorf("%s %s is unsupported but documented", typ, p.Name)
			}
		}
	}

	// History routes page with _count, _since and _cursor (bundle.go).
	for k, r := range routeKeys() {
		if !strings.HasPrefix(r.Interaction, "history-") {
			continue
		}
		o, ok := spec.ops[k]
		if !ok {
			continue // reported by TestOpenAPIRoutes
		}
		for _, name := range []string{"_count", "_since", "_cursor"} {
			if !hasParam(o.Params, "query", name) {
				t.Errorf("%s: query parameter %s is not documented", k, name)
			}
		}
	}
}

// TestOpenAPITypeEnum checks that every {type} parameter lists exactly
// the served types.
func TestOpenAPITypeEnum(t *testing.T) {
	spec := loadSpec(t)
	want := fhir.TypeNames()
	n := 0
	for _, k := range sortedKeys(spec.ops) {
		for _, p := range spec.ops[k].Params {
			if p.In != "path" || p.Name != "type" {
				continue
			}
			n++
			sc := spec.resolveSchema(t, p.Schema)
			if sc == nil {
				t.Errorf("%s: {type} has no schema", k)
				continue
			}
			got := slices.Clone(sc.Enum)
			sort.Strings(got)
			if !slices.Equal(got, want) {
				t.Errorf("%s: {type} enum %v, want fhir.TypeNames() %v", k, got, want)
			}
		}
	}
	if n == 0 {
		t.Error("no {type} path parameter found in openapi.yaml")
	}
}

// TestOpenAPIRefs checks that every local $ref in the document resolves.
func TestOpenAPIRefs(t *testing.T) {
	spec := loadSpec(t)
	doc := spec.root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		doc = doc.Content[0]
	}
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == "$ref" {
					ref := n.Content[i+1].Value
					if err := resolvePointer(doc, ref); err != nil {
						t.Errorf("line %d: $ref %q: %v", n.Content[i+1].Line, ref, err)
					}
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(doc)
}

func resolvePointer(doc *yaml.Node, ref string) error {
	ptr, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return fmt.Errorf("only local references (#/...) are used here")
	}
	n := doc
	for _, tok := range strings.Split(ptr, "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		if n.Kind != yaml.MappingNode {
			return fmt.Errorf("%q: not an object", tok)
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == tok {
				next = n.Content[i+1]
			}
		}
		if next == nil {
			return fmt.Errorf("%q not found", tok)
		}
		n = next
	}
	return nil
}

func hasParam(ps []oaParam, in, name string) bool {
	return slices.ContainsFunc(ps, func(p oaParam) bool { return p.In == in && p.Name == name })
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func TestOpenAPIPath(t *testing.T) {
	for in, want := range map[string]string{
		"/healthz":                      "/healthz",
		"/fhir/:type":                   "/fhir/{type}",
		"/fhir/:type/:id/_history/:vid": "/fhir/{type}/{id}/_history/{vid}",
	} {
		if got := openAPIPath(in); got != want {
			t.Errorf("openAPIPath(%q) = %q, want %q", in, got, want)
		}
	}
}
