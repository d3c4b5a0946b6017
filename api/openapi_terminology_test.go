package api

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// openapi.yaml's terminology paths are generated from terminologyOps (the
// section "terminology-operations", see openapi_gen_test.go), so the
// documented parameters are exactly those the handlers read.

type oaRefNode struct {
	Ref string `yaml:"$ref"`
}

type oaGenQueryParam struct {
	Name        string         `yaml:"name"`
	In          string         `yaml:"in"`
	Description string         `yaml:"description"`
	Style       string         `yaml:"style,omitempty"`
	Explode     bool           `yaml:"explode,omitempty"`
	Schema      map[string]any `yaml:"schema"`
}

type oaGenOperation struct {
	Tags        []string       `yaml:"tags,flow"`
	OperationID string         `yaml:"operationId"`
	Summary     string         `yaml:"summary"`
	Description string         `yaml:"description"`
	Parameters  []any          `yaml:"parameters,omitempty"`
	RequestBody *oaRefNode     `yaml:"requestBody,omitempty"`
	Responses   map[string]any `yaml:"responses"`
}

type oaGenPathItem struct {
	Parameters []oaRefNode     `yaml:"parameters"`
	Get        *oaGenOperation `yaml:"get,omitempty"`
	Post       *oaGenOperation `yaml:"post,omitempty"`
}

// termSchema is the OpenAPI schema of a query parameter of R4 type typ.
func termSchema(p termParam) map[string]any {
	var s map[string]any
	switch p.Type {
	case "integer":
		s = map[string]any{"type": "integer", "minimum": 0}
	case "boolean":
		s = map[string]any{"type": "boolean"}
	case "uri":
		s = map[string]any{"type": "string", "format": "uri"}
	case "Coding":
		s = map[string]any{"type": "string", "pattern": `^[^|]+\|.+$`}
	default:
		s = map[string]any{"type": "string"}
	}
	if p.Repeats {
		return map[string]any{"type": "array", "items": s}
	}
	return s
}

// operationID is e.g. codeSystemLookup, valueSetValidateCodeInstancePost.
func operationID(op termOp, instance bool, method string) string {
	id := strings.ToLower(op.Resource[:1]) + op.Resource[1:]
	for _, w := range strings.Split(op.Name, "-") {
		id += strings.ToUpper(w[:1]) + w[1:]
	}
	if instance {
		id += "Instance"
	}
	if method == http.MethodPost {
		id += "Post"
	}
	return id
}

// terminologySection is the generated text of the terminology paths.
func terminologySection() string {
	ref := func(what, name string) oaRefNode { return oaRefNode{Ref: "#/components/" + what + "/" + name} }
	paths := map[string]oaGenPathItem{}
	for _, r := range terminologyRoutes() {
		op, ok := termOpOf(r)
		if !ok {
			continue
		}
		instance := r.Level == "instance"
		path := openAPIPath(r.Path)
		item := paths[path]
		if item.Parameters == nil {
			if instance {
				item.Parameters = append(item.Parameters, ref("parameters", "id"))
			}
			item.Parameters = append(item.Parameters, ref("parameters", "_format"), ref("parameters", "_pretty"))
		}
		result := "Parameters"
		okDoc := "A Parameters resource (R4 " + op.Definition + " out parameters)."
		if op.Name == "expand" {
			result, okDoc = "ValueSet", "The value set with its expansion (identifier, timestamp, total, offset when paged, parameters, contains)."
		}
		level := "the type"
		if instance {
			level = "one " + op.Resource + " (by id)"
		}
		o := &oaGenOperation{
			Tags:        []string{"terminology"},
			OperationID: operationID(op, instance, r.Method),
			Summary:     op.Resource + " $" + op.Name + " on " + level + " (" + r.Method + ")",
			Description: op.Doc + " R4 definition: " + op.Definition + ".",
			Responses: map[string]any{
				"200": map[string]any{"description": okDoc, "content": map[string]any{"application/fhir+json": map[string]any{
					"schema": ref("schemas", result)}}},
				"400":     ref("responses", "BadTerminologyRequest"),
				"401":     ref("responses", "Unauthorized"),
				"403":     ref("responses", "Forbidden"),
				"404":     ref("responses", "TerminologyNotFound"),
				"406":     ref("responses", "NotAcceptable"),
				"default": ref("responses", "Error"),
			},
		}
		if op.Resource == "ValueSet" {
			o.Responses["422"] = ref("responses", "NotExpandable")
		}
		if r.Method == http.MethodGet {
			o.Description += " Parameters are query parameters; a Coding is written `system|code`; a CodeableConcept needs a POST."
			for _, p := range op.Params {
				if p.Type == "CodeableConcept" {
					continue
				}
				qp := oaGenQueryParam{Name: p.Name, In: "query", Description: p.Doc + " R4 type: " + p.Type + ".", Schema: termSchema(p)}
				if p.Repeats {
					qp.Style, qp.Explode = "form", true
				}
				o.Parameters = append(o.Parameters, qp)
			}
			item.Get = o
		} else {
			o.Description += " Parameters are a Parameters resource in the body, each with the value[x] of its R4 type: " + paramTypes(op) + "."
			o.RequestBody = &oaRefNode{Ref: "#/components/requestBodies/Parameters"}
			o.Responses["413"] = ref("responses", "PayloadTooLarge")
			o.Responses["415"] = ref("responses", "UnsupportedMediaType")
			item.Post = o
		}
		paths[path] = item
	}
	return yamlText(paths)
}

// paramTypes lists an operation's parameters with their value[x].
func paramTypes(op termOp) string {
	var out []string
	for _, p := range op.Params {
		out = append(out, p.Name+" (value"+strings.ToUpper(p.Type[:1])+p.Type[1:]+")")
	}
	return strings.Join(out, ", ")
}

// termOpOf is the terminology operation a route serves.
func termOpOf(r route) (termOp, bool) {
	for _, op := range terminologyOps {
		if r.Type == op.Resource && (r.Path == op.Path(false) || op.Instance && r.Path == op.Path(true)) {
			return op, true
		}
	}
	return termOp{}, false
}

// TestOpenAPITerminology checks the generated section covers every
// terminology route with the table's parameters, and the components it
// refers to exist.
func TestOpenAPITerminology(t *testing.T) {
	spec := loadSpec(t)
	n := 0
	for _, r := range terminologyRoutes() {
		n++
		op, ok := termOpOf(r)
		if !ok {
			t.Errorf("%s %s: no operation", r.Method, r.Path)
			continue
		}
		o, ok := spec.ops[r.Method+" "+openAPIPath(r.Path)]
		if !ok {
			t.Errorf("%s %s is not documented", r.Method, r.Path)
			continue
		}
		var got, want []string
		for _, p := range o.Params {
			if p.In == "query" && p.Name != "_format" && p.Name != "_pretty" {
				got = append(got, p.Name)
			}
		}
		if r.Method == http.MethodGet {
			for _, p := range op.Params {
				if p.Type != "CodeableConcept" {
					want = append(want, p.Name)
				}
			}
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s %s: query parameters %v, want %v", r.Method, r.Path, got, want)
		}
	}
	if n != 14 {
		t.Errorf("%d terminology routes, want 14 (GET and POST of $lookup, and of $validate-code and $expand at both levels)", n)
	}
	var doc struct {
		Components struct {
			RequestBodies map[string]yaml.Node `yaml:"requestBodies"`
			Responses     map[string]yaml.Node `yaml:"responses"`
			Schemas       map[string]yaml.Node `yaml:"schemas"`
		} `yaml:"components"`
	}
	if err := spec.root.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"BadTerminologyRequest", "TerminologyNotFound", "NotExpandable"} {
		if _, ok := doc.Components.Responses[name]; !ok {
			t.Errorf("components.responses.%s is missing", name)
		}
	}
	if _, ok := doc.Components.RequestBodies["Parameters"]; !ok {
		t.Error("components.requestBodies.Parameters is missing")
	}
	for _, name := range []string{"Parameters", "ValueSet"} {
		if _, ok := doc.Components.Schemas[name]; !ok {
			t.Errorf("components.schemas.%s is missing", name)
		}
	}
}
