package terminology

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/matcare/matcare/fhir"
	"github.com/matcare/matcare/fhir/search"
)

// ExpandRequest holds the $expand input parameters matcare supports.
type ExpandRequest struct {
	// URL is the value set's canonical; ValueSetVersion, if set, must be
	// its version.
	URL, ValueSetVersion string
	// Filter keeps the codes whose code, display or (non-definition)
	// designations have, for every word of the filter, a word starting
	// with it (ignoring case and accents): "same acc" finds "MAT 1 – Same
	// Day Access".
	Filter string
	// Offset and Count page the expansion: Count codes from Offset (from
	// 0). A negative Count returns every code from Offset; 0 returns
	// none, only the total.
	Offset, Count int
	// ActiveOnly leaves out inactive codes; IncludeDesignations returns
	// each code's designations.
	ActiveOnly, IncludeDesignations bool
}

// paged reports whether q asks for a page rather than every code.
func (q ExpandRequest) paged() bool { return q.Offset > 0 || q.Count >= 0 }

// Expansion is the result of $expand.
type Expansion struct {
	ValueSet *ValueSet
	Request  ExpandRequest
	// Total is the number of codes in the (filtered) expansion; Contains
	// the requested page of them.
	Total    int
	Contains []Contains
	// usedSystems are the code systems (url|version) the codes come from.
	usedSystems []string
}

// Expand expands the value set req.URL. An unknown value set or version
// is a not-found error (404); a value set that cannot be expanded is a
// processing error (422); a negative offset is invalid (400).
func (r *Registry) Expand(req ExpandRequest) (*Expansion, error) {
	vs, err := r.valueSetVersion(req.URL, req.ValueSetVersion)
	if err != nil {
		return nil, err
	}
	if req.Offset < 0 {
		return nil, fhir.Errorf(r4.IssueTypeValue, "", "offset must not be negative")
	}
	words := filterWords(req.Filter)
	var list []Contains
	for _, c := range vs.contains {
		if req.ActiveOnly && c.Inactive {
			continue
		}
		if len(words) > 0 && !matchesWords(c, words) {
			continue
		}
		list = append(list, c)
	}
	x := &Expansion{ValueSet: vs, Request: req, Total: len(list)}
	for _, c := range list {
		if u := c.System + "|" + c.Version; c.Version != "" && !slices.Contains(x.usedSystems, u) {
			x.usedSystems = append(x.usedSystems, u)
		}
	}
	start := min(req.Offset, len(list))
	end := len(list)
	if req.Count >= 0 {
		end = min(start+req.Count, len(list))
	}
	x.Contains = list[start:end]
	return x, nil
}

// valueSetVersion returns the value set url, checking a requested version
// and that it can be expanded.
func (r *Registry) valueSetVersion(url, version string) (*ValueSet, error) {
	vs, ok := r.valueSets[url]
	if !ok {
		return nil, notFound("value set %s is not known to this server", url)
	}
	if version != "" && version != vs.Version {
		return nil, notFound("version %q of value set %s is not known to this server (it has version %q)", version, url, vs.Version)
	}
	if vs.err != nil {
		return nil, vs.err
	}
	return vs, nil
}

// filterWords splits a text filter into normalised words.
func filterWords(filter string) []string {
	return strings.FieldsFunc(search.NormalizeString(filter), notWordRune)
}

func notWordRune(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }

// matchesWords reports whether every filter word starts some word of c's
// code, display or display designations.
func matchesWords(c Contains, words []string) bool {
	texts := []string{c.Code, c.Display}
	for _, d := range c.Designations {
		if !d.IsDefinition() {
			texts = append(texts, d.Value)
		}
	}
	var have []string
	for _, t := range texts {
		have = append(have, filterWords(t)...)
	}
	for _, w := range words {
		if !slices.ContainsFunc(have, func(h string) bool { return strings.HasPrefix(h, w) }) {
			return false
		}
	}
	return true
}

// Resource returns the expanded value set as R4 JSON: the value set's
// metadata and an expansion with identifier, timestamp (now), total,
// offset (when paged), the parameters that shaped it and the codes.
func (x *Expansion) Resource(now time.Time) ([]byte, error) {
	type designation struct {
		Language string  `json:"language,omitempty"`
		Use      *Coding `json:"use,omitempty"`
		Value    string  `json:"value"`
	}
	type contains struct {
		System      string        `json:"system,omitempty"`
		Abstract    bool          `json:"abstract,omitempty"`
		Inactive    bool          `json:"inactive,omitempty"`
		Version     string        `json:"version,omitempty"`
		Code        string        `json:"code"`
		Display     string        `json:"display,omitempty"`
		Designation []designation `json:"designation,omitempty"`
	}
	type expansion struct {
		Identifier string      `json:"identifier"`
		Timestamp  string      `json:"timestamp"`
		Total      int         `json:"total"`
		Offset     *int        `json:"offset,omitempty"`
		Parameter  []Parameter `json:"parameter,omitempty"`
		Contains   []contains  `json:"contains,omitempty"`
	}
	vs, q := x.ValueSet, x.Request
	var params []Parameter
	if q.Filter != "" {
		params = append(params, stringParam("filter", q.Filter))
	}
	if q.paged() {
		params = append(params, intParam("offset", q.Offset))
		if q.Count >= 0 {
			params = append(params, intParam("count", q.Count))
		}
	}
	if q.ActiveOnly {
		params = append(params, boolParam("activeOnly", true))
	}
	if q.IncludeDesignations {
		params = append(params, boolParam("includeDesignations", true))
	}
	for _, u := range x.usedSystems {
		params = append(params, uriParam("used-codesystem", u))
	}
	exp := expansion{Identifier: x.identifier(), Timestamp: now.UTC().Format(time.RFC3339), Total: x.Total, Parameter: params}
	if q.paged() {
		exp.Offset = &q.Offset
	}
	for _, c := range x.Contains {
		ct := contains{System: c.System, Abstract: c.Abstract, Inactive: c.Inactive, Version: c.Version, Code: c.Code, Display: c.Display}
		if q.IncludeDesignations {
			for _, d := range c.Designations {
				ct.Designation = append(ct.Designation, designation(d))
			}
		}
		exp.Contains = append(exp.Contains, ct)
	}
	return json.Marshal(struct {
		ResourceType string    `json:"resourceType"`
		ID           string    `json:"id,omitempty"`
		URL          string    `json:"url"`
		Version      string    `json:"version,omitempty"`
		Name         string    `json:"name,omitempty"`
		Title        string    `json:"title,omitempty"`
		Status       string    `json:"status"`
		Expansion    expansion `json:"expansion"`
	}{"ValueSet", vs.ID, vs.URL, vs.Version, vs.Name, vs.Title, vs.Status, exp})
}

// identifier names the expansion by what determines it (R4 allows
// re-using an identifier while the value set, the parameters and the code
// system versions are the same): a name-based UUID of those.
func (x *Expansion) identifier() string {
	q := x.Request
	h := sha256.New()
	for _, s := range append([]string{x.ValueSet.URL, x.ValueSet.Version, q.Filter, strconv.Itoa(q.Offset), strconv.Itoa(q.Count),
		strconv.FormatBool(q.ActiveOnly), strconv.FormatBool(q.IncludeDesignations), strconv.FormatBool(q.paged())}, x.usedSystems...) {
		fmt.Fprintf(h, "%d:%s;", len(s), s)
	}
	sum := h.Sum(nil)[:16]
	sum[6] = sum[6]&0x0f | 0x80 // version 8: custom
	sum[8] = sum[8]&0x3f | 0x80 // RFC 9562 variant
	hx := hex.EncodeToString(sum)
	return "urn:uuid:" + hx[0:8] + "-" + hx[8:12] + "-" + hx[12:16] + "-" + hx[16:20] + "-" + hx[20:32]
}
