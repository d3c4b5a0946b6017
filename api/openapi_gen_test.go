package api

import (
	"bytes"
	"flag"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/matcare/matcare/fhir"
	"github.com/matcare/matcare/fhir/search"
)

// openapi.yaml's search parameters are generated from the search
// parameter table (fhir/search), the same one the CapabilityStatement is
// built from. The generated text sits between marker comments
//
//	# BEGIN GENERATED <section> ...
//	# END GENERATED <section>
//
// and is indented like the BEGIN line; everything else is written by
// hand. TestOpenAPIGenerated fails when a section is out of date;
// regenerate with
//
//	go test ./api -run '^TestOpenAPIGenerated$' -update   (or: go generate ./api)
var update = flag.Bool("update", false, "rewrite openapi.yaml's generated sections")

// searchControls are the result parameters a search reads besides its
// search parameters (documented by hand in openapi.yaml's components).
// _type is left out: it applies to a system search only.
var searchControls = []string{"_count", "_sort", "_include", "_revinclude", "_total", "_summary", "_elements", "_cursor"}

// searchParamKey is the components/parameters key of a search parameter
// of the served types ({type}), and of an AuditEvent one.
func searchParamKey(name string) string      { return "search." + name }
func auditSearchParamKey(name string) string { return auditType + "." + name }

// servedSearchParams maps each supported parameter name of the served
// types to its definition on each type that has it.
func servedSearchParams() (names []string, defs map[string]map[string]search.Param) {
	defs = map[string]map[string]search.Param{}
	for _, typ := range fhir.TypeNames() {
		for _, p := range supportedParams(typ) {
			if defs[p.Name] == nil {
				names = append(names, p.Name)
				defs[p.Name] = map[string]search.Param{}
			}
			defs[p.Name][typ] = p
		}
	}
	slices.Sort(names)
	return names, defs
}

// auditSearchRoute is the AuditEvent search route, if routes() has one.
func auditSearchRoute() (route, bool) {
	for _, r := range routes() {
		if r.Type == auditType && r.Interaction == "search-type" && r.Method == http.MethodGet {
			return r, true
		}
	}
	return route{}, false
}

// kindSyntax explains the values of each kind of search parameter.
var kindSyntax = map[search.Kind]string{
	search.Date: "A date value is `[prefix]YYYY[-MM[-DD[Thh:mm[:ss[.fff]][Z|+hh:mm]]]]`, " +
		"prefix `eq` (default), `ne`, `gt`, `lt`, `ge`, `le`, `sa`, `eb` or `ap`; a partial date is the range it covers.",
	search.Number:   "A number value is `[prefix]number` (prefixes as for dates; the precision written is the range it covers).",
	search.Quantity: "A quantity value is `[prefix]number[|system|code]` (prefixes as for dates).",
	search.String:   "A string value matches text that starts with it, ignoring case and accents (`:exact`: the whole text exactly; `:contains`: anywhere).",
	search.Token:    "A token value is `code`, `system|code`, `system|` or `|code` (`:text`: the display text; `:not`: none matches; `:of-type`: identifier `system|type|value`).",
	search.Reference: "A reference value is `id`, `Type/id` or an absolute URL (`:identifier`: the reference's identifier, `system|value`; `:[type]`: of that type only). " +
		"Chains (`subject:Patient.name=…`) and `_has` follow references.",
	search.URI:       "A URI value is matched in full (`:below`: URIs that start with it; `:above`: URIs it starts with).",
	search.Composite: "A composite value joins its components' values with `$`.",
}

// searchParamDescription documents the query parameter name of types,
// defined on some or all of them by defs (keyed by type).
func searchParamDescription(name string, defs map[string]search.Param, types []string) string {
	var b strings.Builder
	var kinds []search.Kind
	var absent []string
	shared := true // every type has the same (Resource-level) definition
	for _, typ := range types {
		p, ok := defs[typ]
		if !ok {
			absent = append(absent, typ)
			shared = false
			continue
		}
		if !slices.Contains(kinds, p.Kind) {
			kinds = append(kinds, p.Kind)
		}
		shared = shared && p.URL() == defs[types[0]].URL()
	}
	if shared && len(types) > 1 {
		p := defs[types[0]]
		fmt.Fprintf(&b, "Search parameter `%s` (%s) of every type: %s Definition: %s\n", name, p.Kind, searchParamDoc(p), p.URL())
	} else {
		fmt.Fprintf(&b, "Search parameter `%s`:\n\n", name)
		for _, typ := range types {
			if p, ok := defs[typ]; ok {
				fmt.Fprintf(&b, "- %s (%s): %s Definition: %s\n", typ, p.Kind, searchParamDoc(p), p.URL())
			}
		}
		if len(absent) > 0 {
			fmt.Fprintf(&b, "\nNot a parameter of %s: there it is ignored with a warning (400 with `Prefer: handling=strict`).\n", strings.Join(absent, ", "))
		}
	}
	b.WriteString("\n")
	for _, k := range kinds {
		if s := kindSyntax[k]; s != "" {
			b.WriteString(s + " ")
		}
	}
	b.WriteString("Comma-separated values are ORed (`\\,` is a literal comma); repeating the parameter ANDs.")
	return b.String()
}

// oaGenParam is a generated OpenAPI query parameter.
type oaGenParam struct {
	Name        string `yaml:"name"`
	In          string `yaml:"in"`
	Description string `yaml:"description"`
	Style       string `yaml:"style"`
	Explode     bool   `yaml:"explode"`
	Schema      struct {
		Type  string `yaml:"type"`
		Items struct {
			Type string `yaml:"type"`
		} `yaml:"items"`
	} `yaml:"schema"`
}

// yamlText encodes v with two-space indentation.
func yamlText(v any) string {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		panic(err)
	}
	enc.Close()
	return buf.String()
}

// indent prefixes every non-empty line of s with pad.
func indent(s, pad string) string {
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) != "" {
			lines[i] = pad + l
		}
	}
	return strings.Join(lines, "")
}

// paramComponent is one components/parameters entry.
func paramComponent(key, name string, defs map[string]search.Param, types []string) string {
	p := oaGenParam{Name: name, In: "query", Description: searchParamDescription(name, defs, types),
		Style: "form", Explode: true}
	p.Schema.Type, p.Schema.Items.Type = "array", "string"
	return key + ":\n" + indent(yamlText(p), "  ")
}

func paramRef(key string) string { return "- $ref: '#/components/parameters/" + key + "'\n" }

// paramRefs lists the search parameters under keys, then the control
// parameters and Prefer: handling.
func paramRefs(keys []string) string {
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(paramRef(k))
	}
	for _, c := range searchControls {
		b.WriteString(paramRef(c))
	}
	b.WriteString(paramRef("PreferHandling"))
	return b.String()
}

// generatedSections returns the text of every generated section, by name.
func generatedSections() map[string]string {
	names, defs := servedSearchParams()
	types := fhir.TypeNames()
	var components, keys []string
	for _, n := range names {
		components = append(components, paramComponent(searchParamKey(n), n, defs[n], types))
		keys = append(keys, searchParamKey(n))
	}
	sections := map[string]string{
		"search-parameters":     strings.Join(components, ""),
		"search-parameter-refs": paramRefs(keys),
		"auditevent-search":     "",
		// The terminology operations' paths (openapi_terminology_test.go).
		"terminology-operations": terminologySection(),
	}
	if r, ok := auditSearchRoute(); ok {
		var auditKeys []string
		for _, p := range supportedParams(auditType) {
			sections["search-parameters"] += paramComponent(auditSearchParamKey(p.Name), p.Name, map[string]search.Param{auditType: p}, []string{auditType})
			auditKeys = append(auditKeys, auditSearchParamKey(p.Name))
		}
		sections["auditevent-search"] = openAPIPath(r.Path) + ":\n" + indent(`parameters:
  - $ref: '#/components/parameters/_format'
  - $ref: '#/components/parameters/_pretty'
get:
  tags: [type]
  operationId: searchAuditEvent
  summary: search-type - search AuditEvents (auditor scope)
  description: >-
    A searchset Bundle of the AuditEvents that match every parameter
    given, as a search of a served type. It needs the auditor scope
    (`+"`MATCARE_AUDITOR_SCOPE`"+`, default `+"`matcare:audit`"+`) and shows the events
    of the token's board only (every board with the national scope).
  parameters:
`+indent(paramRefs(auditKeys), "    ")+`  responses:
    '200':
      description: A searchset Bundle.
      content:
        application/fhir+json:
          schema:
            $ref: '#/components/schemas/Bundle'
    '400':
      $ref: '#/components/responses/BadRequest'
    '401':
      $ref: '#/components/responses/Unauthorized'
    '403':
      $ref: '#/components/responses/Forbidden'
    '406':
      $ref: '#/components/responses/NotAcceptable'
    '503':
      $ref: '#/components/responses/Unavailable'
    default:
      $ref: '#/components/responses/Error'
`, "  ")
	}
	return sections
}

var (
	beginMarker = regexp.MustCompile(`^(\s*)# BEGIN GENERATED ([A-Za-z0-9-]+)`)
	endMarker   = regexp.MustCompile(`^\s*# END GENERATED ([A-Za-z0-9-]+)`)
)

// fillGenerated replaces the text between each pair of markers in doc
// with its section, indented like the BEGIN marker.
func fillGenerated(doc string, sections map[string]string) (string, error) {
	var out strings.Builder
	seen := map[string]bool{}
	lines := strings.SplitAfter(doc, "\n")
	for i := 0; i < len(lines); i++ {
		out.WriteString(lines[i])
		m := beginMarker.FindStringSubmatch(lines[i])
		if m == nil {
			if e := endMarker.FindStringSubmatch(lines[i]); e != nil {
				return "", fmt.Errorf("line %d: END GENERATED %s without BEGIN", i+1, e[1])
			}
			continue
		}
		pad, name := m[1], m[2]
		text, ok := sections[name]
		if !ok {
			return "", fmt.Errorf("line %d: unknown generated section %q", i+1, name)
		}
		seen[name] = true
		j := i + 1
		for ; j < len(lines); j++ {
			if e := endMarker.FindStringSubmatch(lines[j]); e != nil {
				if e[1] != name {
					return "", fmt.Errorf("line %d: END GENERATED %s inside section %s", j+1, e[1], name)
				}
				break
			}
			if beginMarker.MatchString(lines[j]) {
				return "", fmt.Errorf("line %d: BEGIN GENERATED inside section %s", j+1, name)
			}
		}
		if j == len(lines) {
			return "", fmt.Errorf("line %d: section %s has no END GENERATED", i+1, name)
		}
		out.WriteString(indent(text, pad))
		out.WriteString(lines[j])
		i = j
	}
	for name := range sections {
		if !seen[name] {
			return "", fmt.Errorf("no BEGIN GENERATED %s marker", name)
		}
	}
	return out.String(), nil
}

// TestOpenAPIGenerated checks openapi.yaml's generated sections against
// the search parameter table; with -update it rewrites them.
func TestOpenAPIGenerated(t *testing.T) {
	raw, err := os.ReadFile(specPath)
	if err != nil {
		t.Fatal(err)
	}
	got := string(raw)
	want, err := fillGenerated(got, generatedSections())
	if err != nil {
		t.Fatalf("%s: %v", specPath, err)
	}
	if *update {
		if want != got {
			if err := os.WriteFile(specPath, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("rewrote %s", specPath)
		}
		return
	}
	if want != got {
		gl, wl := strings.Split(got, "\n"), strings.Split(want, "\n")
		n := 0
		for n < len(gl) && n < len(wl) && gl[n] == wl[n] {
			n++
		}
		line := func(ls []string) string {
			if n < len(ls) {
				return ls[n]
			}
			return "(end of file)"
		}
		t.Errorf("%s's generated search parameter sections differ from the table (fhir/search) at line %d:\n have %q\n want %q\nregenerate: go test ./api -run '^TestOpenAPIGenerated$' -update",
			specPath, n+1, line(gl), line(wl))
	}
}

func TestFillGenerated(t *testing.T) {
	doc := "a:\n  # BEGIN GENERATED x\n  old: 1\n  # END GENERATED x\nb: 2\n"
	got, err := fillGenerated(doc, map[string]string{"x": "new: 1\nmore:\n  - 2\n"})
	if err != nil {
		t.Fatal(err)
	}
	if want := "a:\n  # BEGIN GENERATED x\n  new: 1\n  more:\n    - 2\n  # END GENERATED x\nb: 2\n"; got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	for _, bad := range []string{
		"# BEGIN GENERATED x\n",
		"# END GENERATED x\n",
		"# BEGIN GENERATED y\n# END GENERATED y\n",
		"# BEGIN GENERATED x\n# END GENERATED y\n",
		"b: 1\n",
	} {
		if _, err := fillGenerated(bad, map[string]string{"x": ""}); err == nil {
			t.Errorf("fillGenerated(%q) did not fail", bad)
		}
	}
}
