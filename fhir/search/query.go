package search

import (
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/matcare/matcare/fhir"
)

// Paging defaults: a search without _count returns DefaultCount entries
// per page; a larger _count than MaxCount is lowered to MaxCount.
const (
	DefaultCount = 20
	MaxCount     = 1000
)

// maxChainDepth bounds chains and nested _has (each link is a join).
const maxChainDepth = 4

// LookupFunc finds the search parameter name of resourceType; the parser
// asks it about every parameter, chain link, sort key and include, and
// knows nothing else about the served types. A parameter every type has
// (_id, _lastUpdated) must be found under every type.
type LookupFunc func(resourceType, name string) (Param, bool)

// TotalMode is the value of _total.
type TotalMode string

// The _total values; TotalDefault ("") means the parameter was absent.
const (
	TotalDefault  TotalMode = ""
	TotalNone     TotalMode = "none"
	TotalEstimate TotalMode = "estimate"
	TotalAccurate TotalMode = "accurate"
)

// SummaryMode is the value of _summary.
type SummaryMode string

// The _summary values; SummaryDefault ("") means the parameter was absent.
const (
	SummaryDefault SummaryMode = ""
	SummaryTrue    SummaryMode = "true"
	SummaryCount   SummaryMode = "count"
	SummaryData    SummaryMode = "data"
	SummaryText    SummaryMode = "text"
	SummaryFalse   SummaryMode = "false"
)

// Query is a parsed search request. The zero Query (apart from Count)
// matches everything of Type.
type Query struct {
	// Type is the searched resource type; "" for a system search.
	Type string
	// Types are the types of _type (system search only), in request order
	// without duplicates; empty means every type.
	Types []string
	// Clauses are ANDed; the values of one clause are ORed.
	Clauses []Clause
	// Count is the page size, 0..MaxCount; DefaultCount when absent.
	// _summary=count sets it to 0.
	Count int
	// Sort keys, most significant first; empty means the server's order.
	Sort []SortKey
	// Total is _total as sent.
	Total TotalMode
	// Summary is _summary as sent.
	Summary SummaryMode
	// Elements are the element names of _elements (may be "Type.name" in
	// a system search), in request order.
	Elements []string
	// Include and RevInclude are _include and _revinclude, in request order.
	Include    []Include
	RevInclude []Include
	// Cursor is the opaque page token (_cursor), passed through untouched.
	Cursor string
}

// Clause is one occurrence of a search parameter: name[:modifier]=v1,v2.
// The storage layer matches a resource of the searched type when, after
// following Chain, one of Values matches Param.
type Clause struct {
	// Key is the parameter as sent (with chain and modifier), for messages.
	Key string
	// Chain is the path from the searched type to Param.Type's resources;
	// empty for a plain parameter. See Link.
	Chain []Link
	// Param is the parameter the values are compared with; it belongs to
	// the type the chain ends at (the searched type if Chain is empty).
	Param Param
	// On is the resource type Param is evaluated on (the end of Chain);
	// "" in a system search over several types (Link.From likewise).
	On string
	// Modifier is the modifier of the last parameter, "" for none.
	Modifier Modifier
	// TargetType is the resource type of a reference :Type modifier
	// (Modifier == ModType).
	TargetType string
	// Values are ORed. With ModMissing each value has Missing set.
	Values []QueryValue
}

// Link is one step of a chain. It always relates two resource types by
// one reference parameter: Param, a reference parameter of From, points
// to a resource of To.
//
// A forward link (subject:Patient.name) goes from a resource of From (the
// type before the link) to the To resource it references. A reverse link
// (_has:Goal:patient:...) goes from a resource of To (the type before the
// link) to the From resources that reference it. The type after the link
// is To for a forward link and From for a reverse one (see Next).
type Link struct {
	Reverse bool
	Param   Param
	From    string
	To      string
}

// Next is the resource type the chain continues on after l.
func (l Link) Next() string {
	if l.Reverse {
		return l.From
	}
	return l.To
}

// SortKey is one key of _sort.
type SortKey struct {
	Param Param
	Desc  bool
}

// Include is one _include or _revinclude value, Source:Param[:Target].
// For _include, the Source resources' Param references are followed to
// their targets; for _revinclude, Source resources whose Param references
// a match are added.
type Include struct {
	// Source is the type holding the reference; "*" with Wildcard.
	Source string
	// Param is the reference parameter; zero when Wildcard.
	Param Param
	// Wildcard is true for _include=* (every reference parameter);
	// Source is "*" or the type of "Type:*".
	Wildcard bool
	// Target restricts the included type; "" for any.
	Target string
	// Iterate is the :iterate (or R3 :recurse) modifier.
	Iterate bool
}

// IssuesError turns the warnings ParseQuery returned into the 400 a
// request with "Prefer: handling=strict" gets; nil if there are none.
func IssuesError(issues []fhir.Issue) *fhir.Error {
	if len(issues) == 0 {
		return nil
	}
	e := &fhir.Error{Status: 400}
	for _, is := range issues {
		is.Severity = r4.IssueSeverityError
		e.Issues = append(e.Issues, is)
	}
	return e
}

// paramError is a 400 naming the parameter in diagnostics and expression.
func paramError(code r4.IssueType, param, format string, args ...any) fhir.Issue {
	e := fhir.Errorf(code, param, "search parameter %s: "+format, append([]any{param}, args...)...)
	return e.Issues[0]
}

// parser holds the state of one ParseQuery call.
type parser struct {
	lookup LookupFunc
	q      *Query
	errs   []fhir.Issue
	warns  []fhir.Issue
}

func (p *parser) fail(code r4.IssueType, param, format string, args ...any) {
	p.errs = append(p.errs, paramError(code, param, format, args...))
}

func (p *parser) warn(param, format string, args ...any) {
	is := paramError(r4.IssueTypeNotSupported, param, format, args...)
	is.Severity = r4.IssueSeverityWarning
	p.warns = append(p.warns, is)
}

// httpOnlyParams are parameters that only matter to the HTTP layer.
var httpOnlyParams = map[string]bool{"_format": true, "_pretty": true}

// ParseQuery parses the query of a search of resourceType ("" for a system
// search) into a Query. Parameters lookup does not know, and unsupported
// ones (_text, _filter, ...), are left out of the Query and returned as
// warning issues: report them in an OperationOutcome entry of the Bundle,
// or pass them to IssuesError under "Prefer: handling=strict". A malformed
// request returns a *fhir.Error with status 400 and one issue per problem,
// each naming its parameter in the diagnostics and the expression.
func ParseQuery(resourceType string, q url.Values, lookup LookupFunc) (*Query, []fhir.Issue, error) {
	if lookup == nil {
		lookup = func(string, string) (Param, bool) { return Param{}, false }
	}
	p := &parser{lookup: lookup, q: &Query{Type: resourceType, Count: DefaultCount}}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	// _type first: it decides where system-search parameters are looked up.
	if vs, ok := q["_type"]; ok {
		p.parseType(vs)
	}
	for _, k := range keys {
		vs := q[k]
		if len(vs) == 0 {
			continue
		}
		name, mod, _ := strings.Cut(k, ":")
		switch name {
		case "_type":
			if mod != "" {
				p.fail(r4.IssueTypeInvalid, k, "takes no modifier")
			}
			continue
		case "_count", "_total", "_summary", "_cursor", "_sort", "_elements":
			if mod != "" {
				p.fail(r4.IssueTypeInvalid, k, "takes no modifier")
				continue
			}
			if len(vs) > 1 {
				p.fail(r4.IssueTypeInvalid, k, "may appear only once")
				continue
			}
			if vs[0] == "" && name != "_count" {
				continue // an empty value: the parameter is ignored
			}
			p.parseControl(name, vs[0])
		case "_include", "_revinclude":
			for _, v := range vs {
				p.parseInclude(k, name, mod, v)
			}
		default:
			if httpOnlyParams[name] || k == "" {
				continue // HTTP-only, or "=x": nothing to search by
			}
			for _, v := range vs {
				p.parseClause(k, v)
			}
		}
	}
	if len(p.errs) > 0 {
		return nil, nil, &fhir.Error{Status: 400, Issues: p.errs}
	}
	return p.q, p.warns, nil
}

var typeNamePattern = regexp.MustCompile(`^[A-Z][A-Za-z]{0,63}$`)

func (p *parser) parseType(vs []string) {
	if p.q.Type != "" {
		p.warn("_type", "only applies to a system search; ignored")
		return
	}
	for _, v := range vs {
		for _, t := range splitEscaped(v, ',') {
			t = unescape(t)
			if !typeNamePattern.MatchString(t) {
				p.fail(r4.IssueTypeValue, "_type", "%q is not a resource type", t)
				continue
			}
			if !slices.Contains(p.q.Types, t) {
				p.q.Types = append(p.q.Types, t)
			}
		}
	}
}

// searchedTypes are the types a top-level parameter must exist on.
func (p *parser) searchedTypes() []string {
	if p.q.Type != "" {
		return []string{p.q.Type}
	}
	if len(p.q.Types) > 0 {
		return p.q.Types
	}
	return []string{"Resource"}
}

// lookupTop finds name on every searched type; the first type's Param is
// returned, and the kinds must agree.
func (p *parser) lookupTop(name string) (Param, bool) {
	var first Param
	for i, t := range p.searchedTypes() {
		sp, ok := p.lookup(t, name)
		if !ok || (i > 0 && sp.Kind != first.Kind) {
			return Param{}, false
		}
		if i == 0 {
			first = sp
		}
	}
	return first, true
}

// onType is the type a top-level clause is evaluated on.
func (p *parser) onType() string {
	if p.q.Type != "" {
		return p.q.Type
	}
	if len(p.q.Types) == 1 {
		return p.q.Types[0]
	}
	return ""
}

var elementName = regexp.MustCompile(`^([A-Z][A-Za-z]*\.)?[a-z][A-Za-z0-9]*(\[x\])?$`)

func (p *parser) parseControl(name, v string) {
	switch name {
	case "_count":
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 0 {
			p.fail(r4.IssueTypeValue, name, "must be a non-negative integer, not %q", v)
			return
		}
		if p.q.Summary != SummaryCount {
			p.q.Count = min(n, MaxCount)
		}
	case "_total":
		switch t := TotalMode(v); t {
		case TotalNone, TotalEstimate, TotalAccurate:
			p.q.Total = t
		default:
			p.fail(r4.IssueTypeValue, name, "must be none, estimate or accurate, not %q", v)
		}
	case "_summary":
		switch s := SummaryMode(v); s {
		case SummaryTrue, SummaryData, SummaryText, SummaryFalse:
			p.q.Summary = s
		case SummaryCount:
			p.q.Summary = s
			p.q.Count = 0
		default:
			p.fail(r4.IssueTypeValue, name, "must be true, count, data, text or false, not %q", v)
		}
	case "_cursor":
		p.q.Cursor = v
	case "_elements":
		for _, e := range splitEscaped(v, ',') {
			e = strings.TrimSpace(unescape(e))
			if !elementName.MatchString(e) {
				p.fail(r4.IssueTypeValue, name, "%q is not an element name", e)
				continue
			}
			if !slices.Contains(p.q.Elements, e) {
				p.q.Elements = append(p.q.Elements, e)
			}
		}
	case "_sort":
		for _, k := range splitEscaped(v, ',') {
			k = unescape(k)
			desc := strings.HasPrefix(k, "-")
			k = strings.TrimPrefix(k, "-")
			if k == "" {
				p.fail(r4.IssueTypeValue, name, "empty sort key in %q", v)
				continue
			}
			sp, ok := p.lookupTop(k)
			if !ok {
				p.warn(name, "unknown sort parameter %q ignored", k)
				continue
			}
			switch sp.Kind {
			case Composite, Special:
				p.fail(r4.IssueTypeNotSupported, name, "cannot sort by %s parameter %q", sp.Kind, k)
				continue
			}
			p.q.Sort = append(p.q.Sort, SortKey{Param: sp, Desc: desc})
		}
	}
}

func (p *parser) parseInclude(key, name, mod, v string) {
	inc := Include{}
	switch mod {
	case "":
	case "iterate", "recurse":
		inc.Iterate = true
	default:
		p.fail(r4.IssueTypeNotSupported, key, "unknown modifier :%s (only :iterate)", mod)
		return
	}
	if v == "*" {
		inc.Source, inc.Wildcard = "*", true
		p.add(name, inc)
		return
	}
	parts := strings.Split(v, ":")
	if len(parts) < 2 || len(parts) > 3 || !typeNamePattern.MatchString(parts[0]) || parts[1] == "" {
		p.fail(r4.IssueTypeValue, key, "%q is not Type:parameter[:targetType] or *", v)
		return
	}
	inc.Source = parts[0]
	if len(parts) == 3 {
		if !typeNamePattern.MatchString(parts[2]) {
			p.fail(r4.IssueTypeValue, key, "%q is not a resource type", parts[2])
			return
		}
		inc.Target = parts[2]
	}
	if parts[1] == "*" {
		inc.Wildcard = true
		p.add(name, inc)
		return
	}
	sp, ok := p.lookup(inc.Source, parts[1])
	if !ok {
		p.warn(key, "unknown parameter %s:%s ignored", inc.Source, parts[1])
		return
	}
	if sp.Kind != Reference {
		p.fail(r4.IssueTypeValue, key, "%s:%s is a %s parameter, not a reference", inc.Source, parts[1], sp.Kind)
		return
	}
	if inc.Target != "" && len(sp.Targets) > 0 && !slices.Contains(sp.Targets, inc.Target) {
		p.fail(r4.IssueTypeValue, key, "%s:%s cannot refer to %s (only %s)", inc.Source, parts[1], inc.Target, strings.Join(sp.Targets, ", "))
		return
	}
	inc.Param = sp
	if !inc.Iterate && p.q.Type != "" {
		// Without :iterate, only the matches are the sources (_include) or
		// the targets (_revinclude).
		if name == "_include" && inc.Source != p.q.Type {
			p.warn(key, "%s does not apply to %s matches (add :iterate); ignored", v, p.q.Type)
			return
		}
		if name == "_revinclude" && len(sp.Targets) > 0 && !slices.Contains(sp.Targets, p.q.Type) {
			p.warn(key, "%s never refers to %s; ignored", v, p.q.Type)
			return
		}
	}
	p.add(name, inc)
}

func (p *parser) add(name string, inc Include) {
	if name == "_include" {
		p.q.Include = append(p.q.Include, inc)
	} else {
		p.q.RevInclude = append(p.q.RevInclude, inc)
	}
}
