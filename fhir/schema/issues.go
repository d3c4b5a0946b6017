package schema

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// found is an issue with the instance location it was built from, for
// sorting.
type found struct {
	path  []string
	issue Issue
}

// issues turns the leaves of the validation error tree into issues, the most
// specific errors the library reports, deduplicated, sorted by location and
// capped at MaxIssues.
func (s *schemas) issues(resourceType string, root any, verr *jsonschema.ValidationError) []Issue {
	var all []found
	seen := map[Issue]bool{}
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				walk(c)
			}
			return
		}
		for _, f := range s.leafIssues(resourceType, root, e) {
			if !seen[f.issue] {
				seen[f.issue] = true
				all = append(all, f)
			}
		}
	}
	walk(verr)
	slices.SortFunc(all, func(a, b found) int {
		if c := comparePaths(a.path, b.path); c != 0 {
			return c
		}
		return strings.Compare(a.issue.Message, b.issue.Message)
	})
	n := min(len(all), MaxIssues)
	if len(all) > MaxIssues {
		n = MaxIssues - 1
	}
	out := make([]Issue, 0, MaxIssues)
	for _, f := range all[:n] {
		out = append(out, f.issue)
	}
	if n < len(all) {
		out = append(out, Issue{
			Expression: resourceType,
			Message:    fmt.Sprintf("%d more issues not shown", len(all)-n),
		})
	}
	return out
}

// leafIssues returns the issues for one error without causes.
func (s *schemas) leafIssues(resourceType string, root any, e *jsonschema.ValidationError) []found {
	loc := e.InstanceLocation
	expr := expression(resourceType, root, loc)
	one := func(msg string) []found {
		return []found{{path: loc, issue: Issue{Expression: expr, Message: msg}}}
	}
	// perElement returns one issue for each named child element.
	perElement := func(names []string, format string) []found {
		out := make([]found, 0, len(names))
		for _, name := range names {
			out = append(out, found{
				path:  append(slices.Clip(loc), name),
				issue: Issue{Expression: expr + "." + pathName(name), Message: fmt.Sprintf(format, name)},
			})
		}
		return out
	}
	switch k := e.ErrorKind.(type) {
	case nil:
		return one("invalid value")
	case *kind.AdditionalProperties:
		return perElement(k.Properties, "unknown element %q")
	case *kind.Required:
		return perElement(k.Missing, "missing required element %q")
	case *kind.Type:
		return one(fmt.Sprintf("expected %s, got %s", strings.Join(k.Want, " or "), k.Got))
	case *kind.Pattern:
		if t := s.patterns[k.Want]; t != "" {
			return one(fmt.Sprintf("value %s is not a valid %s (does not match pattern %s)", display(k.Got), t, k.Want))
		}
		return one(fmt.Sprintf("value %s does not match pattern %s", display(k.Got), k.Want))
	case *kind.Enum:
		return one(fmt.Sprintf("value %s is not one of %s", display(k.Got), displayList(k.Want)))
	case *kind.Const:
		return one(fmt.Sprintf("expected %s, got %s", display(k.Want), display(k.Got)))
	default:
		return one(e.ErrorKind.LocalizedString(message.NewPrinter(language.English)))
	}
}

// expression converts an instance location (JSON pointer tokens) into a
// FHIRPath-style expression, using the instance to tell array indexes from
// element names. A primitive extension sibling "_x" is named "x".
func expression(resourceType string, root any, loc []string) string {
	var b strings.Builder
	b.WriteString(resourceType)
	cur := root
	for _, tok := range loc {
		if arr, ok := cur.([]any); ok {
			b.WriteString("[" + tok + "]")
			cur = nil
			if i, err := strconv.Atoi(tok); err == nil && i >= 0 && i < len(arr) {
				cur = arr[i]
			}
			continue
		}
		obj, _ := cur.(map[string]any)
		cur = obj[tok]
		if name, ok := strings.CutPrefix(tok, "_"); ok && name != "" {
			tok = name
		}
		b.WriteString("." + pathName(tok))
	}
	return b.String()
}

// pathName returns name as a FHIRPath identifier, delimited with backticks
// unless it is a plain identifier.
func pathName(name string) string {
	plain := name != ""
	for i, r := range name {
		switch {
		case r == '_', 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z':
		case '0' <= r && r <= '9' && i > 0:
		default:
			plain = false
		}
	}
	if plain {
		return name
	}
	r := strings.NewReplacer(`\`, `\\`, "`", "\\`")
	return "`" + r.Replace(name) + "`"
}

// comparePaths orders instance locations, comparing array indexes as numbers.
func comparePaths(a, b []string) int {
	for i := range min(len(a), len(b)) {
		x, errx := strconv.Atoi(a[i])
		y, erry := strconv.Atoi(b[i])
		if errx == nil && erry == nil {
			if x != y {
				return x - y
			}
			continue
		}
		if c := strings.Compare(a[i], b[i]); c != 0 {
			return c
		}
	}
	return len(a) - len(b)
}

// maxDisplay is the longest value shown in a message, in bytes, before
// quoting.
const maxDisplay = 64

// display formats a JSON value for a message, shortened if it is long.
func display(v any) string {
	switch v := v.(type) {
	case string:
		return strconv.Quote(shorten(v))
	case json.Number:
		return shorten(string(v))
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return shorten(fmt.Sprint(v))
		}
		return shorten(string(b))
	}
}

// shorten cuts s to at most maxDisplay bytes at a character boundary, marking
// the cut with "...".
func shorten(s string) string {
	if len(s) <= maxDisplay {
		return s
	}
	cut := maxDisplay - len("...")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// maxListed is the largest number of allowed values listed in a message.
const maxListed = 10

// displayList formats allowed values for a message.
func displayList(vs []any) string {
	parts := make([]string, 0, min(len(vs), maxListed)+1)
	for i, v := range vs {
		if i == maxListed {
			parts = append(parts, fmt.Sprintf("... (%d more)", len(vs)-maxListed))
			break
		}
		parts = append(parts, display(v))
	}
	return strings.Join(parts, ", ")
}

// jsonType names the JSON type of a decoded value.
func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case json.Number, float64, float32, int, int64:
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	default:
		return fmt.Sprintf("%T", v)
	}
}
