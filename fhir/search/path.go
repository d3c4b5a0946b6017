package search

import (
	"fmt"
	"strings"
)

// step is one step of a path (see params): a JSON member name and an
// optional filter on the elements it reaches.
type step struct {
	name string
	// is keeps only references to this resource type.
	is string
	// system keeps only elements whose system is this code.
	system string
	// urlSuffix keeps only elements whose url ends with it: an extension
	// of matcare's, whose canonical base a deployment chooses
	// (FHIRPath .where(url.endsWith('/StructureDefinition/x'))).
	urlSuffix string
}

// thisPath is the path of the element itself (FHIRPath $this): the
// resource, for a composite parameter whose components are read from the
// resource root (Observation code-value-quantity).
const thisPath = "$this"

// parsePath parses a path of the table's path language.
func parsePath(path string) ([]step, error) {
	if path == "" {
		return nil, fmt.Errorf("empty path")
	}
	if path == thisPath {
		return nil, nil
	}
	var steps []step
	for _, part := range strings.Split(path, ".") {
		s := step{name: part}
		if i := strings.IndexByte(part, '['); i >= 0 {
			if !strings.HasSuffix(part, "]") {
				return nil, fmt.Errorf("path %q: unclosed filter", path)
			}
			s.name = part[:i]
			filter := part[i+1 : len(part)-1]
			key, val, ok := strings.Cut(filter, "=")
			switch {
			case !ok || val == "":
				return nil, fmt.Errorf("path %q: filter %q is not key=value", path, filter)
			case key == "is":
				s.is = val
			case key == "system":
				s.system = val
			case key == "url-suffix":
				if !strings.HasPrefix(val, "/") {
					return nil, fmt.Errorf("path %q: url-suffix %q does not start with /", path, val)
				}
				s.urlSuffix = val
			default:
				return nil, fmt.Errorf("path %q: unknown filter %q", path, key)
			}
		}
		if !validName(s.name) {
			return nil, fmt.Errorf("path %q: bad element name %q", path, s.name)
		}
		steps = append(steps, s)
	}
	return steps, nil
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// eval returns the elements path reaches from node, arrays flattened.
func eval(node any, steps []step) []any {
	nodes := []any{node}
	for _, s := range steps {
		var next []any
		for _, n := range nodes {
			m, ok := n.(map[string]any)
			if !ok {
				continue
			}
			v, ok := m[s.name]
			if !ok {
				continue
			}
			elems, isArray := v.([]any)
			if !isArray {
				elems = []any{v}
			}
			for _, e := range elems {
				if e != nil && s.keeps(e) {
					next = append(next, e)
				}
			}
		}
		nodes = next
	}
	return nodes
}

// keeps applies the step's filter to one element.
func (s step) keeps(e any) bool {
	if s.is == "" && s.system == "" && s.urlSuffix == "" {
		return true
	}
	m, ok := e.(map[string]any)
	if !ok {
		return false
	}
	if s.system != "" {
		if sys, _ := m["system"].(string); sys != s.system {
			return false
		}
	}
	if s.urlSuffix != "" {
		if u, _ := m["url"].(string); !strings.HasSuffix(u, s.urlSuffix) {
			return false
		}
	}
	if s.is != "" {
		if referenceType(m) != s.is {
			return false
		}
	}
	return true
}
