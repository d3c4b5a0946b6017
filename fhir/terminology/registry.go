package terminology

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/matcare/matcare/fhir"
	"github.com/matcare/matcare/fhir/content"
)

// ErrNotFound is wrapped by the errors for an unknown code system, value
// set, version or code. The errors themselves are *fhir.Error values with
// an issue of code not-found (404).
var ErrNotFound = errors.New("terminology: not found")

// notFound is a not-found *fhir.Error wrapping ErrNotFound.
func notFound(format string, args ...any) *fhir.Error {
	e := fhir.Errorf(r4.IssueTypeNotFound, "", format, args...)
	e.Err = ErrNotFound
	return e
}

// Registry holds code systems and value sets by canonical URL and by id.
// It is read-only once built, so safe for concurrent use.
type Registry struct {
	codeSystems map[string]*CodeSystem // by url
	csByID      map[string]*CodeSystem
	valueSets   map[string]*ValueSet // by url
	vsByID      map[string]*ValueSet
	csList      []*CodeSystem // in load order
	vsList      []*ValueSet
}

// CodeSystem is one loaded R4 CodeSystem.
type CodeSystem struct {
	ID, URL, Version, Name, Title, Status string
	// Content is CodeSystem.content: complete, fragment, example,
	// not-present or supplement. Only a complete code system tells that a
	// code does not exist.
	Content string
	// CaseSensitive is true only when the code system says so; otherwise
	// codes match in any case.
	CaseSensitive bool
	// ValueSet is the canonical of the value set of all its codes.
	ValueSet   string
	Properties []PropertyDef
	// Concepts are the top-level concepts, in file order.
	Concepts []*Concept

	byCode map[string]*Concept
	byFold map[string]*Concept // lower-case codes, when not case-sensitive
	all    []*Concept          // depth first, in file order
}

// PropertyDef is a CodeSystem.property: a property concepts may carry.
type PropertyDef struct {
	Code, URI, Description string
	// Type is code, Coding, string, integer, boolean, dateTime or decimal.
	Type string
}

// Concept is one concept of a code system.
type Concept struct {
	Code, Display, Definition string
	Designations              []Designation
	Properties                []Property
	// Parents and Children are the concept hierarchy (is-a): nesting in
	// the file plus "parent" properties.
	Parents, Children []*Concept
}

// Designation is a concept's additional representation.
type Designation struct {
	Language string
	Use      *Coding
	Value    string
}

// definitionUse is the SNOMED CT designation use "Definition": such
// designations are wording variants of the definition, not displays.
const definitionUse = "900000000000550004"

// IsDefinition reports whether d is a variant of the definition rather
// than an alternative display.
func (d Designation) IsDefinition() bool {
	return d.Use != nil && d.Use.System == "http://snomed.info/sct" && d.Use.Code == definitionUse
}

// Coding is an R4 Coding.
type Coding struct {
	System  string `json:"system,omitempty"`
	Version string `json:"version,omitempty"`
	Code    string `json:"code,omitempty"`
	Display string `json:"display,omitempty"`
}

// Property is one concept property value.
type Property struct {
	Code string
	// Type is the R4 type of the value: code, Coding, string, integer,
	// boolean, dateTime or decimal.
	Type string
	// Value is the value's JSON as in the file (decimals keep their
	// precision).
	Value json.RawMessage
}

// String is the property value as text: a string, code or dateTime
// itself, true or false, a number as written, a Coding's code.
func (p Property) String() string {
	switch p.Type {
	case "Coding":
		var c Coding
		_ = json.Unmarshal(p.Value, &c) // checked when loaded
		return c.Code
	case "integer", "decimal", "boolean":
		return string(p.Value)
	}
	var s string
	_ = json.Unmarshal(p.Value, &s) // checked when loaded
	return s
}

// propertyTypes maps the value[x] suffixes of CodeSystem.concept.property
// to their R4 type names.
var propertyTypes = map[string]string{
	"valueCode": "code", "valueCoding": "Coding", "valueString": "string", "valueInteger": "integer",
	"valueBoolean": "boolean", "valueDateTime": "dateTime", "valueDecimal": "decimal",
}

// New builds a registry from content resources; resources other than
// CodeSystems and ValueSets are ignored. It fails on a duplicate canonical
// URL or id, a duplicate code in a code system, an undeclared or
// mistyped property, a malformed ValueSet compose or an include of a code
// that its (held) code system does not define.
func New(resources []content.Resource) (*Registry, error) {
	r := &Registry{
		codeSystems: map[string]*CodeSystem{}, csByID: map[string]*CodeSystem{},
		valueSets: map[string]*ValueSet{}, vsByID: map[string]*ValueSet{},
	}
	var vsRaw []content.Resource
	for _, res := range resources {
		switch res.Type {
		case "CodeSystem":
			cs, err := parseCodeSystem(res.Body)
			if err != nil {
				return nil, fmt.Errorf("terminology: CodeSystem/%s: %w", res.ID, err)
			}
			if _, dup := r.codeSystems[cs.URL]; dup {
				return nil, fmt.Errorf("terminology: CodeSystem/%s: url %s is used twice", res.ID, cs.URL)
			}
			if _, dup := r.csByID[cs.ID]; dup {
				return nil, fmt.Errorf("terminology: CodeSystem id %s is used twice", cs.ID)
			}
			r.codeSystems[cs.URL], r.csByID[cs.ID] = cs, cs
			r.csList = append(r.csList, cs)
		case "ValueSet":
			vsRaw = append(vsRaw, res)
		}
	}
	for _, res := range vsRaw {
		vs, err := parseValueSet(res.Body)
		if err != nil {
			return nil, fmt.Errorf("terminology: ValueSet/%s: %w", res.ID, err)
		}
		if _, dup := r.valueSets[vs.URL]; dup {
			return nil, fmt.Errorf("terminology: ValueSet/%s: url %s is used twice", res.ID, vs.URL)
		}
		if _, dup := r.vsByID[vs.ID]; dup {
			return nil, fmt.Errorf("terminology: ValueSet id %s is used twice", vs.ID)
		}
		r.valueSets[vs.URL], r.vsByID[vs.ID] = vs, vs
		r.vsList = append(r.vsList, vs)
	}
	// Expand every value set now: they are small, and static.
	for _, vs := range r.vsList {
		if err := r.expandAll(vs, nil); err != nil {
			var fe *fhir.Error
			if !errors.As(err, &fe) { // a content error, not an unexpandable set
				return nil, fmt.Errorf("terminology: ValueSet/%s: %w", vs.ID, err)
			}
		}
	}
	return r, nil
}

// CodeSystem returns the code system with canonical url (a "|version"
// suffix is not accepted here).
func (r *Registry) CodeSystem(url string) (*CodeSystem, bool) {
	cs, ok := r.codeSystems[url]
	return cs, ok
}

// CodeSystemByID returns the code system stored under id.
func (r *Registry) CodeSystemByID(id string) (*CodeSystem, bool) {
	cs, ok := r.csByID[id]
	return cs, ok
}

// ValueSet returns the value set with canonical url.
func (r *Registry) ValueSet(url string) (*ValueSet, bool) {
	vs, ok := r.valueSets[url]
	return vs, ok
}

// ValueSetByID returns the value set stored under id.
func (r *Registry) ValueSetByID(id string) (*ValueSet, bool) {
	vs, ok := r.vsByID[id]
	return vs, ok
}

// CodeSystems returns every code system, in load order.
func (r *Registry) CodeSystems() []*CodeSystem { return slices.Clone(r.csList) }

// ValueSets returns every value set, in load order.
func (r *Registry) ValueSets() []*ValueSet { return slices.Clone(r.vsList) }

// Concept returns the concept with code, matched as the code system's
// case sensitivity says.
func (cs *CodeSystem) Concept(code string) (*Concept, bool) {
	if c, ok := cs.byCode[code]; ok {
		return c, true
	}
	if cs.byFold != nil {
		c, ok := cs.byFold[strings.ToLower(code)]
		return c, ok
	}
	return nil, false
}

// All returns every concept, depth first in file order.
func (cs *CodeSystem) All() []*Concept { return slices.Clone(cs.all) }

// property returns the declaration of property code.
func (cs *CodeSystem) property(code string) (PropertyDef, bool) {
	for _, p := range cs.Properties {
		if p.Code == code {
			return p, true
		}
	}
	return PropertyDef{}, false
}

// Inactive reports whether the concept is marked inactive: property
// inactive = true, or status retired or inactive (R4 concept-properties).
func (c *Concept) Inactive() bool {
	for _, p := range c.Properties {
		switch {
		case p.Code == "inactive" && p.String() == "true",
			p.Code == "status" && (p.String() == "retired" || p.String() == "inactive"):
			return true
		}
	}
	return false
}

// Abstract reports whether the concept may not be selected: property
// notSelectable = true.
func (c *Concept) Abstract() bool {
	for _, p := range c.Properties {
		if p.Code == "notSelectable" && p.String() == "true" {
			return true
		}
	}
	return false
}

// ValidDisplay reports whether display is the concept's display or one
// of its (non-definition) designations, ignoring case and runs of white
// space.
func (c *Concept) ValidDisplay(display string) bool {
	if sameText(display, c.Display) {
		return true
	}
	for _, d := range c.Designations {
		if !d.IsDefinition() && sameText(display, d.Value) {
			return true
		}
	}
	return false
}

// sameText compares two texts ignoring case and runs of white space.
func sameText(a, b string) bool {
	return strings.EqualFold(strings.Join(strings.Fields(a), " "), strings.Join(strings.Fields(b), " "))
}

// JSON shapes of the parts of CodeSystem and ValueSet that are read.
type (
	csJSON struct {
		ResourceType  string        `json:"resourceType"`
		ID            string        `json:"id"`
		URL           string        `json:"url"`
		Version       string        `json:"version"`
		Name          string        `json:"name"`
		Title         string        `json:"title"`
		Status        string        `json:"status"`
		Content       string        `json:"content"`
		CaseSensitive *bool         `json:"caseSensitive"`
		ValueSet      string        `json:"valueSet"`
		Property      []PropertyDef `json:"property"`
		Concept       []conceptJSON `json:"concept"`
	}
	conceptJSON struct {
		Code        string                       `json:"code"`
		Display     string                       `json:"display"`
		Definition  string                       `json:"definition"`
		Designation []designationJSON            `json:"designation"`
		Property    []map[string]json.RawMessage `json:"property"`
		Concept     []conceptJSON                `json:"concept"`
	}
	designationJSON struct {
		Language string  `json:"language"`
		Use      *Coding `json:"use"`
		Value    string  `json:"value"`
	}
)

// parseCodeSystem reads and checks a CodeSystem.
func parseCodeSystem(body []byte) (*CodeSystem, error) {
	var j csJSON
	if err := decodeJSON(body, &j); err != nil {
		return nil, err
	}
	if j.ResourceType != "CodeSystem" {
		return nil, fmt.Errorf("resourceType %q", j.ResourceType)
	}
	if j.URL == "" {
		return nil, errors.New("no url")
	}
	cs := &CodeSystem{ID: j.ID, URL: j.URL, Version: j.Version, Name: j.Name, Title: j.Title, Status: j.Status,
		Content: j.Content, CaseSensitive: j.CaseSensitive != nil && *j.CaseSensitive, ValueSet: j.ValueSet,
		Properties: j.Property, byCode: map[string]*Concept{}}
	if !cs.CaseSensitive {
		cs.byFold = map[string]*Concept{}
	}
	for _, p := range cs.Properties {
		if p.Code == "" || !slices.Contains(slices.Collect(maps.Values(propertyTypes)), p.Type) {
			return nil, fmt.Errorf("property %q: type %q is not an R4 property type", p.Code, p.Type)
		}
	}
	var extraParents [][2]string // child, parent code from "parent" properties
	var add func(js []conceptJSON, parent *Concept) ([]*Concept, error)
	add = func(js []conceptJSON, parent *Concept) ([]*Concept, error) {
		var out []*Concept
		for _, cj := range js {
			if cj.Code == "" {
				return nil, errors.New("a concept has no code")
			}
			if _, dup := cs.byCode[cj.Code]; dup {
				return nil, fmt.Errorf("code %q is defined twice (R4 csd-1: codes are unique)", cj.Code)
			}
			c := &Concept{Code: cj.Code, Display: cj.Display, Definition: cj.Definition}
			for _, d := range cj.Designation {
				if d.Value == "" {
					return nil, fmt.Errorf("code %q: a designation has no value", cj.Code)
				}
				c.Designations = append(c.Designations, Designation(d))
			}
			for _, pm := range cj.Property {
				p, err := conceptProperty(cs, cj.Code, pm)
				if err != nil {
					return nil, err
				}
				if p.Code == "parent" && p.Type == "code" {
					extraParents = append(extraParents, [2]string{cj.Code, p.String()})
				}
				c.Properties = append(c.Properties, p)
			}
			cs.byCode[c.Code] = c
			if cs.byFold != nil {
				if _, dup := cs.byFold[strings.ToLower(c.Code)]; dup {
					return nil, fmt.Errorf("code %q differs from another only in case, in a code system that is not case-sensitive", c.Code)
				}
				cs.byFold[strings.ToLower(c.Code)] = c
			}
			cs.all = append(cs.all, c)
			if parent != nil {
				link(parent, c)
			}
			if _, err := add(cj.Concept, c); err != nil {
				return nil, err
			}
			out = append(out, c)
		}
		return out, nil
	}
	top, err := add(j.Concept, nil)
	if err != nil {
		return nil, err
	}
	cs.Concepts = top
	for _, cp := range extraParents {
		child, parent := cs.byCode[cp[0]], cs.byCode[cp[1]]
		if parent == nil {
			return nil, fmt.Errorf("code %q: parent %q is not a code of the code system", cp[0], cp[1])
		}
		link(parent, child)
	}
	return cs, nil
}

// link makes parent a parent of child, once.
func link(parent, child *Concept) {
	if !slices.Contains(child.Parents, parent) {
		child.Parents = append(child.Parents, parent)
		parent.Children = append(parent.Children, child)
	}
}

// conceptProperty reads one concept property: its code, declared in the
// code system, and exactly one value of the declared type.
func conceptProperty(cs *CodeSystem, code string, pm map[string]json.RawMessage) (Property, error) {
	var p Property
	if err := json.Unmarshal(pm["code"], &p.Code); err != nil || p.Code == "" {
		return p, fmt.Errorf("code %q: a property has no code", code)
	}
	def, ok := cs.property(p.Code)
	if !ok {
		return p, fmt.Errorf("code %q: property %q is not declared in CodeSystem.property", code, p.Code)
	}
	for k, v := range pm {
		switch {
		case k == "code" || k == "id" || k == "extension" || k == "modifierExtension":
		case propertyTypes[k] != "":
			if p.Type != "" {
				return p, fmt.Errorf("code %q: property %q has two values", code, p.Code)
			}
			p.Type, p.Value = propertyTypes[k], v
		default:
			return p, fmt.Errorf("code %q: property %q has an unknown element %q", code, p.Code, k)
		}
	}
	if p.Type == "" {
		return p, fmt.Errorf("code %q: property %q has no value", code, p.Code)
	}
	if p.Type != def.Type {
		return p, fmt.Errorf("code %q: property %q is a %s, not a %s", code, p.Code, def.Type, p.Type)
	}
	if err := checkValue(p.Type, p.Value); err != nil {
		return p, fmt.Errorf("code %q: property %q: %w", code, p.Code, err)
	}
	return p, nil
}

// checkValue checks that raw is JSON of the R4 type typ.
func checkValue(typ string, raw json.RawMessage) error {
	raw = bytes.TrimSpace(raw)
	switch typ {
	case "boolean":
		if string(raw) != "true" && string(raw) != "false" {
			return fmt.Errorf("%s is not a boolean", raw)
		}
	case "integer":
		var n int32
		if err := json.Unmarshal(raw, &n); err != nil {
			return fmt.Errorf("%s is not an integer", raw)
		}
	case "decimal":
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil || len(raw) == 0 || raw[0] == '"' {
			return fmt.Errorf("%s is not a decimal", raw)
		}
	case "Coding":
		var c Coding
		if err := json.Unmarshal(raw, &c); err != nil || c.Code == "" {
			return fmt.Errorf("%s is not a Coding with a code", raw)
		}
	default:
		var s string
		if err := json.Unmarshal(raw, &s); err != nil || s == "" {
			return fmt.Errorf("%s is not a non-empty string", raw)
		}
	}
	return nil
}

// decodeJSON decodes body into v; unknown elements are allowed (a
// resource has many this package does not read).
func decodeJSON(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("invalid JSON: %w", err)
	}
	return nil
}
