package terminology

import (
	"slices"
	"strings"
)

// LookupResult is the concept $lookup found, with its code system.
type LookupResult struct {
	CodeSystem *CodeSystem
	Concept    *Concept
}

// Lookup finds code in the code system with canonical url system. A
// non-empty version must be the code system's. An unknown system, version
// or code is a not-found error (404).
func (r *Registry) Lookup(system, code, version string) (LookupResult, error) {
	cs, err := r.codeSystemVersion(system, version)
	if err != nil {
		return LookupResult{}, err
	}
	c, ok := cs.Concept(code)
	if !ok {
		return LookupResult{}, notFound("code %q is not in code system %s (version %s)", code, cs.URL, cs.Version)
	}
	return LookupResult{CodeSystem: cs, Concept: c}, nil
}

// codeSystemVersion returns the code system url, checking a requested
// version.
func (r *Registry) codeSystemVersion(url, version string) (*CodeSystem, error) {
	cs, ok := r.codeSystems[url]
	if !ok {
		return nil, notFound("code system %s is not known to this server", url)
	}
	if version != "" && version != cs.Version {
		return nil, notFound("version %q of code system %s is not known to this server (it has version %q)", version, url, cs.Version)
	}
	return cs, nil
}

// Parameters is the R4 $lookup output: name, version and display, then
// the designations and properties asked for by properties (the input
// parameter "property"; none: all of them). Properties are the concept's
// own, "definition", and "parent" and "child" for the hierarchy;
// "designation" asks for every designation and "lang.X" for those in
// language X.
func (l LookupResult) Parameters(properties []string) Parameters {
	cs, c := l.CodeSystem, l.Concept
	want := func(name string) bool { return len(properties) == 0 || slices.Contains(properties, name) }
	name := cs.Name
	if name == "" {
		name = cs.Title
	}
	if name == "" {
		name = cs.URL
	}
	out := Parameters{Parameter: []Parameter{stringParam("name", name)}}
	if cs.Version != "" {
		out.Parameter = append(out.Parameter, stringParam("version", cs.Version))
	}
	display := c.Display
	if display == "" {
		display = c.Code
	}
	out.Parameter = append(out.Parameter, stringParam("display", display))
	// lang.X asks for the designations in language X (lang.en: en-GB too).
	wantDesignation := func(d Designation) bool {
		if want("designation") {
			return true
		}
		for _, p := range properties {
			if lang, ok := strings.CutPrefix(p, "lang."); ok && d.Language != "" &&
				(d.Language == lang || strings.HasPrefix(d.Language, lang+"-")) {
				return true
			}
		}
		return false
	}
	for _, d := range c.Designations {
		if wantDesignation(d) {
			out.Parameter = append(out.Parameter, designationParam(d))
		}
	}
	prop := func(code string, value Parameter) Parameter {
		value.Name = "value"
		return Parameter{Name: "property", Part: []Parameter{codeParam("code", code), value}}
	}
	if c.Definition != "" && want("definition") {
		out.Parameter = append(out.Parameter, prop("definition", stringParam("", c.Definition)))
	}
	for _, p := range c.Properties {
		if p.Code == "parent" || !want(p.Code) { // parents are listed below, once
			continue
		}
		out.Parameter = append(out.Parameter, prop(p.Code, Parameter{Type: typeSuffix(p.Type), Value: p.Value}))
	}
	if want("parent") {
		for _, pc := range c.Parents {
			out.Parameter = append(out.Parameter, prop("parent", codeParam("", pc.Code)))
		}
	}
	if want("child") {
		for _, cc := range c.Children {
			out.Parameter = append(out.Parameter, prop("child", codeParam("", cc.Code)))
		}
	}
	return out
}
