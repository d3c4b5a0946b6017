package terminology

import (
	"bytes"
	"encoding/json"
	"strings"
)

// Parameters is an R4 Parameters resource, the output of $lookup and
// $validate-code.
type Parameters struct {
	Parameter []Parameter
}

// Parameter is one Parameters.parameter (or part, or
// ValueSet.expansion.parameter): a name with a value or parts.
type Parameter struct {
	Name string
	// Type is the value[x] type suffix (String, Boolean, Code, Coding,
	// Uri, Integer, Decimal, DateTime); "" for no value.
	Type string
	// Value is marshalled as value<Type>; a json.RawMessage is written as
	// it is.
	Value any
	Part  []Parameter
}

// MarshalJSON writes the Parameters resource, resourceType first.
func (p Parameters) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		ResourceType string      `json:"resourceType"`
		Parameter    []Parameter `json:"parameter,omitempty"`
	}{"Parameters", p.Parameter})
}

// MarshalJSON writes name, value[x] and part, in R4's order.
func (p Parameter) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	name, err := json.Marshal(p.Name)
	if err != nil {
		return nil, err
	}
	b.WriteString(`{"name":`)
	b.Write(name)
	if p.Type != "" {
		v, err := json.Marshal(p.Value)
		if err != nil {
			return nil, err
		}
		b.WriteString(`,"value` + p.Type + `":`)
		b.Write(v)
	}
	if len(p.Part) > 0 {
		parts, err := json.Marshal(p.Part)
		if err != nil {
			return nil, err
		}
		b.WriteString(`,"part":`)
		b.Write(parts)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// Get returns the first parameter called name.
func (p Parameters) Get(name string) (Parameter, bool) {
	for _, q := range p.Parameter {
		if q.Name == name {
			return q, true
		}
	}
	return Parameter{}, false
}

func stringParam(name, s string) Parameter { return Parameter{Name: name, Type: "String", Value: s} }
func codeParam(name, s string) Parameter   { return Parameter{Name: name, Type: "Code", Value: s} }
func uriParam(name, s string) Parameter    { return Parameter{Name: name, Type: "Uri", Value: s} }
func boolParam(name string, v bool) Parameter {
	return Parameter{Name: name, Type: "Boolean", Value: v}
}
func intParam(name string, n int) Parameter { return Parameter{Name: name, Type: "Integer", Value: n} }

// typeSuffix is the value[x] suffix of an R4 type name: code → Code,
// dateTime → DateTime, Coding → Coding.
func typeSuffix(typ string) string {
	if typ == "" {
		return ""
	}
	return strings.ToUpper(typ[:1]) + typ[1:]
}

// designationParam is a designation as a parameter with parts language,
// use and value ($lookup's designation).
func designationParam(d Designation) Parameter {
	p := Parameter{Name: "designation"}
	if d.Language != "" {
		p.Part = append(p.Part, codeParam("language", d.Language))
	}
	if d.Use != nil {
		p.Part = append(p.Part, Parameter{Name: "use", Type: "Coding", Value: *d.Use})
	}
	p.Part = append(p.Part, stringParam("value", d.Value))
	return p
}
