package terminology

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/matcare/matcare/fhir"
)

// ValueSet is one loaded R4 ValueSet with its full expansion, computed
// when the registry was built.
type ValueSet struct {
	ID, URL, Version, Name, Title, Status string

	compose   *composeJSON
	expansion []containsJSON // a ValueSet carrying only an expansion

	done     bool
	contains []Contains
	index    map[string]int // memberKey → position in contains
	err      *fhir.Error    // why the value set cannot be expanded
}

// Contains is one code of an expansion.
type Contains struct {
	System, Version, Code, Display string
	Designations                   []Designation
	Inactive, Abstract             bool

	concept *Concept // nil when the code system is not held
}

type (
	vsJSON struct {
		ResourceType string       `json:"resourceType"`
		ID           string       `json:"id"`
		URL          string       `json:"url"`
		Version      string       `json:"version"`
		Name         string       `json:"name"`
		Title        string       `json:"title"`
		Status       string       `json:"status"`
		Compose      *composeJSON `json:"compose"`
		Expansion    *struct {
			Contains []containsJSON `json:"contains"`
		} `json:"expansion"`
	}
	composeJSON struct {
		Inactive *bool         `json:"inactive"`
		Include  []includeJSON `json:"include"`
		Exclude  []includeJSON `json:"exclude"`
	}
	includeJSON struct {
		System  string `json:"system"`
		Version string `json:"version"`
		Concept []struct {
			Code        string            `json:"code"`
			Display     string            `json:"display"`
			Designation []designationJSON `json:"designation"`
		} `json:"concept"`
		Filter   []filterJSON `json:"filter"`
		ValueSet []string     `json:"valueSet"`
	}
	filterJSON struct {
		Property string `json:"property"`
		Op       string `json:"op"`
		Value    string `json:"value"`
	}
	containsJSON struct {
		System      string            `json:"system"`
		Version     string            `json:"version"`
		Code        string            `json:"code"`
		Display     string            `json:"display"`
		Abstract    bool              `json:"abstract"`
		Inactive    bool              `json:"inactive"`
		Designation []designationJSON `json:"designation"`
		Contains    []containsJSON    `json:"contains"`
	}
)

// parseValueSet reads a ValueSet; its compose is evaluated later, when
// every code system and value set is known.
func parseValueSet(body []byte) (*ValueSet, error) {
	var j vsJSON
	if err := decodeJSON(body, &j); err != nil {
		return nil, err
	}
	if j.ResourceType != "ValueSet" {
		return nil, fmt.Errorf("resourceType %q", j.ResourceType)
	}
	if j.URL == "" {
		return nil, errors.New("no url")
	}
	vs := &ValueSet{ID: j.ID, URL: j.URL, Version: j.Version, Name: j.Name, Title: j.Title, Status: j.Status, compose: j.Compose}
	switch {
	case j.Compose != nil:
		if len(j.Compose.Include) == 0 {
			return nil, errors.New("compose has no include (R4: include is 1..*)")
		}
		for _, inc := range append(slices.Clone(j.Compose.Include), j.Compose.Exclude...) {
			if inc.System == "" && len(inc.ValueSet) == 0 {
				return nil, errors.New("an include or exclude names neither a system nor a value set (R4 vsd-1)")
			}
			if inc.System == "" && (len(inc.Concept) > 0 || len(inc.Filter) > 0) {
				return nil, errors.New("an include or exclude lists concepts or filters without a system (R4 vsd-2)")
			}
			if len(inc.Concept) > 0 && len(inc.Filter) > 0 {
				return nil, errors.New("an include or exclude has both concepts and filters (R4 vsd-3)")
			}
		}
	case j.Expansion != nil:
		vs.expansion = j.Expansion.Contains
	default:
		return nil, errors.New("neither compose nor expansion")
	}
	return vs, nil
}

// cannotExpand is the error of a value set the registry cannot expand.
func cannotExpand(vs *ValueSet, format string, args ...any) *fhir.Error {
	return fhir.Errorf(r4.IssueTypeProcessing, "", "value set %s cannot be expanded: %s", vs.URL, fmt.Sprintf(format, args...))
}

// expandAll computes vs's full expansion once. A *fhir.Error means the
// value set cannot be expanded (it is kept, and answers every operation
// on the set); any other error is a content mistake that fails New.
func (r *Registry) expandAll(vs *ValueSet, stack []string) error {
	if vs.done {
		if vs.err != nil {
			return vs.err
		}
		return nil
	}
	if slices.Contains(stack, vs.URL) {
		return fmt.Errorf("value sets include each other: %s", strings.Join(append(stack, vs.URL), " → "))
	}
	stack = append(stack, vs.URL)
	var list []Contains
	var err error
	if vs.compose == nil {
		list = r.fromExpansion(vs.expansion)
	} else {
		list, err = r.compose(vs, stack)
	}
	var fe *fhir.Error
	switch {
	case errors.As(err, &fe):
		vs.err = fe
	case err != nil:
		return err
	}
	vs.done = true
	vs.index = map[string]int{}
	for _, c := range list {
		key := r.memberKey(c.System, c.Code)
		if _, dup := vs.index[key]; dup {
			continue
		}
		vs.index[key] = len(vs.contains)
		vs.contains = append(vs.contains, c)
	}
	if vs.err != nil {
		vs.contains, vs.index = nil, nil
		return vs.err
	}
	return nil
}

// memberKey identifies a code of a system in an expansion; the code is
// folded to lower case when the code system is held and not
// case-sensitive.
func (r *Registry) memberKey(system, code string) string {
	if cs, ok := r.codeSystems[system]; ok && !cs.CaseSensitive {
		code = strings.ToLower(code)
	}
	return system + "|" + code
}

// fromExpansion flattens a stored expansion.
func (r *Registry) fromExpansion(cs []containsJSON) []Contains {
	var out []Contains
	for _, c := range cs {
		if c.Code != "" {
			ct := Contains{System: c.System, Version: c.Version, Code: c.Code, Display: c.Display,
				Inactive: c.Inactive, Abstract: c.Abstract}
			for _, d := range c.Designation {
				ct.Designations = append(ct.Designations, Designation(d))
			}
			if sys, ok := r.codeSystems[c.System]; ok {
				ct.concept, _ = sys.Concept(c.Code)
			}
			out = append(out, ct)
		}
		out = append(out, r.fromExpansion(c.Contains)...)
	}
	return out
}

// compose evaluates a compose: the union of the includes less the union
// of the excludes, inactive codes dropped when compose.inactive is false.
func (r *Registry) compose(vs *ValueSet, stack []string) ([]Contains, error) {
	var out []Contains
	for _, inc := range vs.compose.Include {
		set, err := r.includeSet(vs, inc, stack)
		if err != nil {
			return nil, err
		}
		out = append(out, set...)
	}
	excluded := map[string]bool{}
	for _, exc := range vs.compose.Exclude {
		set, err := r.includeSet(vs, exc, stack)
		if err != nil {
			return nil, err
		}
		for _, c := range set {
			excluded[r.memberKey(c.System, c.Code)] = true
		}
	}
	dropInactive := vs.compose.Inactive != nil && !*vs.compose.Inactive
	return slices.DeleteFunc(out, func(c Contains) bool {
		return excluded[r.memberKey(c.System, c.Code)] || dropInactive && c.Inactive
	}), nil
}

// includeSet is the codes one include (or exclude) selects: those of its
// system (listed concepts, or all, less what its filters reject),
// intersected with each value set it names.
func (r *Registry) includeSet(vs *ValueSet, inc includeJSON, stack []string) ([]Contains, error) {
	var out []Contains
	if inc.System != "" {
		cs := r.codeSystems[inc.System]
		if cs != nil && inc.Version != "" && inc.Version != cs.Version {
			return nil, cannotExpand(vs, "it includes version %q of code system %s, and this server has version %q", inc.Version, cs.URL, cs.Version)
		}
		switch {
		case len(inc.Concept) > 0:
			for _, ic := range inc.Concept {
				ct := Contains{System: inc.System, Version: inc.Version, Code: ic.Code, Display: ic.Display}
				if cs != nil {
					c, ok := cs.Concept(ic.Code)
					if !ok && cs.Content == "complete" {
						return nil, fmt.Errorf("it includes code %q, which code system %s does not define", ic.Code, cs.URL)
					}
					if ok {
						ct = containsOf(cs, c)
						if ic.Display != "" { // the value set's display wins (R4 include.concept.display)
							ct.Display = ic.Display
						}
					}
				}
				for _, d := range ic.Designation {
					ct.Designations = append(ct.Designations, Designation(d))
				}
				out = append(out, ct)
			}
		case cs == nil:
			return nil, cannotExpand(vs, "it includes code system %s, which this server does not hold", inc.System)
		case cs.Content != "complete":
			return nil, cannotExpand(vs, "it includes all of code system %s, whose content here is %q, not complete", cs.URL, cs.Content)
		default:
			keep := func(*Concept) bool { return true }
			for _, f := range inc.Filter {
				pred, err := filterFunc(cs, f)
				if err != nil {
					return nil, err
				}
				prev := keep
				keep = func(c *Concept) bool { return prev(c) && pred(c) }
			}
			for _, c := range cs.all {
				if keep(c) {
					out = append(out, containsOf(cs, c))
				}
			}
		}
	}
	for i, url := range inc.ValueSet {
		url, version, _ := strings.Cut(url, "|")
		other, ok := r.valueSets[url]
		if !ok {
			return nil, cannotExpand(vs, "it includes value set %s, which this server does not hold", url)
		}
		if version != "" && version != other.Version {
			return nil, cannotExpand(vs, "it includes version %q of value set %s, and this server has version %q", version, url, other.Version)
		}
		if err := r.expandAll(other, stack); err != nil {
			var fe *fhir.Error
			if errors.As(err, &fe) {
				return nil, cannotExpand(vs, "it includes value set %s, which cannot be expanded", url)
			}
			return nil, err
		}
		if inc.System == "" && i == 0 {
			out = slices.Clone(other.contains)
			continue
		}
		out = slices.DeleteFunc(out, func(c Contains) bool {
			_, in := other.index[r.memberKey(c.System, c.Code)]
			return !in
		})
	}
	return out, nil
}

// containsOf is concept c of code system cs as an expansion entry.
func containsOf(cs *CodeSystem, c *Concept) Contains {
	return Contains{System: cs.URL, Version: cs.Version, Code: c.Code, Display: c.Display,
		Designations: c.Designations, Inactive: c.Inactive(), Abstract: c.Abstract(), concept: c}
}

// filterFunc compiles a compose filter on code system cs. The property
// "concept" (or "code") filters on the hierarchy; any other is a declared
// property of cs, or parent or child.
func filterFunc(cs *CodeSystem, f filterJSON) (func(*Concept) bool, error) {
	bad := func(why string) error {
		return fmt.Errorf("filter %s %s %q on code system %s: %s", f.Property, f.Op, f.Value, cs.URL, why)
	}
	list := strings.Split(f.Value, ",")
	var re *regexp.Regexp
	if f.Op == "regex" {
		var err error
		if re, err = regexp.Compile(`^(?:` + f.Value + `)$`); err != nil {
			return nil, bad(err.Error())
		}
	}
	if f.Property == "concept" || f.Property == "code" {
		target, ok := cs.Concept(f.Value)
		needTarget := func() error {
			if !ok {
				return bad("no such code")
			}
			return nil
		}
		switch f.Op {
		case "=":
			return func(c *Concept) bool { return c.Code == f.Value }, nil
		case "is-a", "descendent-of", "is-not-a", "generalizes":
			if err := needTarget(); err != nil {
				return nil, err
			}
			switch f.Op {
			case "is-a":
				return func(c *Concept) bool { return c == target || isDescendant(c, target) }, nil
			case "descendent-of":
				return func(c *Concept) bool { return isDescendant(c, target) }, nil
			case "is-not-a":
				return func(c *Concept) bool { return c != target && !isDescendant(c, target) }, nil
			default: // generalizes
				return func(c *Concept) bool { return c == target || isDescendant(target, c) }, nil
			}
		case "in":
			return func(c *Concept) bool { return slices.Contains(list, c.Code) }, nil
		case "not-in":
			return func(c *Concept) bool { return !slices.Contains(list, c.Code) }, nil
		case "regex":
			return func(c *Concept) bool { return re.MatchString(c.Code) }, nil
		}
		return nil, bad("operator not supported on the hierarchy")
	}
	if _, ok := cs.property(f.Property); !ok && f.Property != "parent" && f.Property != "child" {
		return nil, bad("the property is not declared by the code system")
	}
	values := func(c *Concept) []string { return propertyValues(c, f.Property) }
	switch f.Op {
	case "=":
		return func(c *Concept) bool { return slices.Contains(values(c), f.Value) }, nil
	case "in":
		return func(c *Concept) bool {
			return slices.ContainsFunc(values(c), func(v string) bool { return slices.Contains(list, v) })
		}, nil
	case "not-in":
		return func(c *Concept) bool {
			return !slices.ContainsFunc(values(c), func(v string) bool { return slices.Contains(list, v) })
		}, nil
	case "exists":
		if f.Value != "true" && f.Value != "false" {
			return nil, bad("exists takes true or false")
		}
		return func(c *Concept) bool { return (len(values(c)) > 0) == (f.Value == "true") }, nil
	case "regex":
		return func(c *Concept) bool { return slices.ContainsFunc(values(c), re.MatchString) }, nil
	}
	return nil, bad("operator not supported on a property")
}

// propertyValues are c's values of property code as text; parent and
// child are the hierarchy's codes.
func propertyValues(c *Concept, code string) []string {
	var out []string
	switch code {
	case "parent":
		for _, p := range c.Parents {
			out = append(out, p.Code)
		}
		return out
	case "child":
		for _, ch := range c.Children {
			out = append(out, ch.Code)
		}
		return out
	}
	for _, p := range c.Properties {
		if p.Code == code {
			out = append(out, p.String())
		}
	}
	return out
}

// isDescendant reports whether c is below ancestor in the hierarchy.
func isDescendant(c, ancestor *Concept) bool {
	seen := map[*Concept]bool{}
	queue := slices.Clone(c.Parents)
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if p == ancestor {
			return true
		}
		if seen[p] {
			continue
		}
		seen[p] = true
		queue = append(queue, p.Parents...)
	}
	return false
}
