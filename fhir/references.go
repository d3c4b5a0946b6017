package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"html"
	"io"
	"net/url"
	"regexp"
	"strings"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// This file knows which strings in a resource are references, what kind
// of reference each is (bundle.html#references, http.html#trules), and how
// to change them without touching any other byte of the resource.

// RefKind is the kind of a reference string; see ParseReference.
type RefKind int

const (
	// RefOther is none of the kinds below, such as a bare "Patient" or a
	// relative URL that is not Type/id: leave it alone.
	RefOther RefKind = iota
	// RefLocal is a resource on this server: Type/id or
	// Type/id/_history/vid, written relative to the service base or as an
	// absolute URL with the server's base.
	RefLocal
	// RefPlaceholder is a urn:uuid: or urn:oid: URI, which in a
	// transaction names the entry with that fullUrl.
	RefPlaceholder
	// RefConditional is a search, Type?query: in a transaction (and only
	// there) it stands for the one resource the search finds
	// (http.html "Conditional References").
	RefConditional
	// RefContained is a fragment, #id, naming a contained resource ("#"
	// alone names the container): leave it alone.
	RefContained
	// RefExternal is any other absolute URL: leave it alone.
	RefExternal
)

var refKindNames = [...]string{"other", "local", "placeholder", "conditional", "contained", "external"}

func (k RefKind) String() string {
	if int(k) < len(refKindNames) {
		return refKindNames[k]
	}
	return "RefKind(" + itoa(int(k)) + ")"
}

// Ref is a classified reference string.
type Ref struct {
	Kind RefKind
	// Raw is the reference as written.
	Raw string
	// Type is the resource type of RefLocal and RefConditional.
	Type string
	// ID is the id of RefLocal, and of RefContained ("" for "#").
	ID string
	// VersionID is set for a version-specific RefLocal
	// (Type/id/_history/vid); keep it when rewriting (http.html: version
	// specific references should remain version specific).
	VersionID string
	// Query is the search of RefConditional.
	Query url.Values
	// URN is the RefPlaceholder in canonical form: "urn:uuid:" or
	// "urn:oid:" in lower case, a UUID's hex digits in lower case. Compare
	// placeholders by URN, never by Raw: UUIDs are case-insensitive.
	URN string
}

// String is the reference in canonical form: Type/id[/_history/vid] for
// RefLocal (relative, even if it was written with the server's base),
// URN for RefPlaceholder, and Raw otherwise. Two references to the same
// entry or resource have the same String, so it is the key to map a
// transaction's fullUrls by.
func (r Ref) String() string {
	switch r.Kind {
	case RefLocal:
		s := r.Type + "/" + r.ID
		if r.VersionID != "" {
			s += "/_history/" + r.VersionID
		}
		return s
	case RefPlaceholder:
		return r.URN
	}
	return r.Raw
}

var (
	uuidURN     = regexp.MustCompile(`^(?i)urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	oidURN      = regexp.MustCompile(`^(?i)urn:oid:[0-2](\.(0|[1-9][0-9]*))+$`)
	typePattern = regexp.MustCompile(`^[A-Z][A-Za-z]{0,63}$`)
	schemeStart = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.\-]*:`)
	// restfulURL is bundle.html's "RESTful URL regex", its groups the
	// root, the type and the id.
	restfulURL = regexp.MustCompile(`^((?:https?://(?:[A-Za-z0-9\-\\.:%$]*/)+)?)([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/[A-Za-z0-9\-.]{1,64})?$`)
)

// ValidUUIDURN reports whether s is "urn:uuid:" and a UUID in RFC 4122's
// textual form (8-4-4-4-12 hex digits), in either case.
func ValidUUIDURN(s string) bool { return uuidURN.MatchString(s) }

// ValidOIDURN reports whether s is "urn:oid:" and an OID: two or more
// numbers separated by dots, the first 0, 1 or 2, none with a leading
// zero (R4's oid datatype).
func ValidOIDURN(s string) bool { return oidURN.MatchString(s) }

// ParseReference classifies ref, a Reference.reference or a fullUrl, for a
// server whose service base is base (such as "http://host/fhir"; "" for
// none). It fails, with a 400 *Error without expression, only for a
// reference that has the form of a placeholder, a conditional reference
// or a URL on this server but is malformed: a urn:uuid: that is not a
// UUID, Type? with an unparsable query, or base/ followed by something
// other than Type/id. Everything else it cannot place is RefOther.
func ParseReference(ref, base string) (Ref, error) {
	r := Ref{Raw: ref}
	lower := strings.ToLower(ref)
	switch {
	case strings.HasPrefix(ref, "#"):
		r.Kind, r.ID = RefContained, ref[1:]
		return r, nil
	case strings.HasPrefix(lower, "urn:uuid:"):
		if !ValidUUIDURN(ref) {
			return r, Errorf(r4.IssueTypeValue, "", "%q is not a urn:uuid: followed by a UUID", ref)
		}
		r.Kind, r.URN = RefPlaceholder, lower
		return r, nil
	case strings.HasPrefix(lower, "urn:oid:"):
		if !ValidOIDURN(ref) {
			return r, Errorf(r4.IssueTypeValue, "", "%q is not a urn:oid: followed by an OID", ref)
		}
		r.Kind, r.URN = RefPlaceholder, "urn:oid:"+ref[len("urn:oid:"):]
		return r, nil
	}
	rel := ref
	if schemeStart.MatchString(ref) {
		rest, ok := relativeToBase(ref, base)
		if !ok {
			r.Kind = RefExternal
			return r, nil
		}
		rel = rest
		if typ, id, vid, ok := splitLocal(rel); ok {
			r.Kind, r.Type, r.ID, r.VersionID = RefLocal, typ, id, vid
			return r, nil
		}
		if typ, q, isCond := strings.Cut(rel, "?"); isCond && typePattern.MatchString(typ) {
			return conditional(r, typ, q)
		}
		return r, Errorf(r4.IssueTypeValue, "", "%q is on this server but is not [type]/[id]", ref)
	}
	if typ, q, isCond := strings.Cut(rel, "?"); isCond && typePattern.MatchString(typ) {
		return conditional(r, typ, q)
	}
	if typ, id, vid, ok := splitLocal(rel); ok {
		r.Kind, r.Type, r.ID, r.VersionID = RefLocal, typ, id, vid
	}
	return r, nil
}

func conditional(r Ref, typ, query string) (Ref, error) {
	q, err := url.ParseQuery(query)
	if err != nil || len(q) == 0 {
		return r, Errorf(r4.IssueTypeValue, "", "conditional reference %q needs a valid search after the '?'", r.Raw)
	}
	r.Kind, r.Type, r.Query = RefConditional, typ, q
	return r, nil
}

// splitLocal splits Type/id or Type/id/_history/vid.
func splitLocal(s string) (typ, id, vid string, ok bool) {
	parts := strings.Split(s, "/")
	switch {
	case len(parts) == 2:
	case len(parts) == 4 && parts[2] == "_history" && ValidID(parts[3]):
		vid = parts[3]
	default:
		return "", "", "", false
	}
	if !typePattern.MatchString(parts[0]) || !ValidID(parts[1]) {
		return "", "", "", false
	}
	return parts[0], parts[1], vid, true
}

// relativeToBase returns what follows base in the absolute URL s, without
// the leading '/'. As http.html's identity rules say, http and https name
// the same server, and the host is compared ignoring case; the path is
// case-sensitive.
func relativeToBase(s, base string) (string, bool) {
	base = strings.TrimRight(base, "/")
	sRest, ok1 := cutHTTPScheme(s)
	bRest, ok2 := cutHTTPScheme(base)
	if !ok1 || !ok2 {
		return "", false
	}
	sHost, sPath, _ := strings.Cut(sRest, "/")
	bHost, bPath, _ := strings.Cut(bRest, "/")
	if !strings.EqualFold(sHost, bHost) || bHost == "" {
		return "", false
	}
	if bPath != "" {
		if !strings.HasPrefix(sPath, bPath) {
			return "", false
		}
		sPath = sPath[len(bPath):]
		if sPath != "" && sPath[0] != '/' {
			return "", false
		}
		sPath = strings.TrimPrefix(sPath, "/")
	}
	return sPath, true
}

// cutHTTPScheme strips "http://" or "https://" (in any case).
func cutHTTPScheme(s string) (rest string, ok bool) {
	for _, p := range []string{"https://", "http://"} {
		if len(s) >= len(p) && strings.EqualFold(s[:len(p)], p) {
			return s[len(p):], true
		}
	}
	return "", false
}

// AbsoluteReference resolves ref as bundle.html ("Resolving references in
// Bundles") says: a relative Type/id[/_history/vid] reference in the
// resource of an entry whose fullUrl is a RESTful URL ([root]/Type/id) is
// [root]/ref. Any other ref is returned unchanged. Use it before looking
// a reference up among the fullUrls of a bundle that uses absolute URLs of
// another server.
func AbsoluteReference(ref, fullURL string) string {
	if _, _, _, ok := splitLocal(ref); !ok {
		return ref
	}
	m := restfulURL.FindStringSubmatch(fullURL)
	if m == nil || m[1] == "" {
		return ref
	}
	return m[1] + ref
}

// References lists every Reference.reference in the resource raw,
// contained resources and extensions included, in document order,
// duplicates included. See RewriteReferences for what counts.
func References(raw []byte) ([]string, error) {
	var refs []string
	_, err := RewriteReferences(raw, func(ref string) (string, bool, error) {
		refs = append(refs, ref)
		return "", false, nil
	})
	return refs, err
}

// RewriteReferences calls fn with every Reference.reference string in the
// resource raw and, where fn returns true, replaces it by fn's string.
// Only the bytes of a replaced string change: key order, whitespace, the
// exact text of numbers, unknown elements and primitive extensions stay
// as they were, and a string is compared and passed to fn decoded (JSON
// escapes such as \u0061 undone) and written back escaped as needed. An
// error from fn stops the walk and is returned as it is; malformed JSON
// is a 400 *Error.
//
// A Reference.reference is a member named "reference" whose value is a
// string, at any depth: in backbone elements and arrays, in contained
// resources (and in resources inside a Bundle or Parameters), in
// extensions and nested extensions (valueReference), and in the
// extensions of primitives ("_status"). R4 has three other string
// elements named "reference", which are left alone: Expression.reference
// (a uri; an object with language, expression, name or description, or
// under an element of type Expression, is an Expression),
// DetectedIssue.reference and Immunization.education.reference (both
// uri). TestReferenceElementsMatchSchema checks this against the R4 JSON
// schema. Elements named "reference" of other types (Claim.related and
// ExplanationOfBenefit.related: Identifier; CarePlan.activity and others:
// Reference) are objects or arrays, never strings.
//
// Not rewritten: elements of type uri, url, oid or uuid that hold a
// fullUrl (such as Attachment.url), which http.html also asks servers to
// replace in a transaction; and links in the narrative, for which see
// RewriteNarrativeLinks.
func RewriteReferences(raw []byte, fn func(ref string) (string, bool, error)) ([]byte, error) {
	root, err := parseTree(raw)
	if err != nil {
		return nil, err
	}
	var edits []edit
	var walkErr error
	walkReferences(root, "", nil, "", func(n *jsonNode) bool {
		s, ok, err := fn(n.str)
		if err != nil {
			walkErr = err
			return false
		}
		if ok && s != n.str {
			edits = append(edits, edit{start: n.start, end: n.end, text: encodeString(s)})
		}
		return true
	})
	if walkErr != nil {
		return nil, walkErr
	}
	return splice(raw, edits), nil
}

// nonReferences are the string elements named "reference" that are not
// Reference.reference, as the path from the resource root (Expression
// aside, see isExpression).
var nonReferences = map[string]bool{
	"DetectedIssue.reference":          true,
	"Immunization.education.reference": true,
}

// expressionElements are the element names whose type is Expression (and
// only Expression, or Expression and a primitive, which is never an
// object). TriggerDefinition.condition is an Expression too, but
// "condition" is a Reference elsewhere: isExpression tells them apart by
// their members.
var expressionElements = map[string]bool{
	"valueExpression": true, "defaultValueExpression": true, "fixedExpression": true,
	"patternExpression": true, "definitionExpression": true, "expression": true, "criteria": true,
}

// expressionMembers are Expression's elements that Reference does not
// have; Expression.language is required, so every valid Expression has one.
var expressionMembers = []string{"language", "expression", "name", "description"}

// isExpression reports whether the object o, the value of the element
// named key, is an Expression.
func isExpression(o *jsonNode, key string) bool {
	if expressionElements[key] {
		return true
	}
	for _, k := range o.keys {
		for _, m := range expressionMembers {
			if k == m || k == "_"+m {
				return true
			}
		}
	}
	return false
}

// walkReferences calls visit with each Reference.reference string node
// below n, in document order, until visit returns false. res is the type
// of the innermost resource, path the element names from its root, key
// the name of n's element.
func walkReferences(n *jsonNode, res string, path []string, key string, visit func(*jsonNode) bool) bool {
	switch n.kind {
	case '[':
		for _, v := range n.vals {
			if !walkReferences(v, res, path, key, visit) {
				return false
			}
		}
	case '{':
		if rt := n.member("resourceType"); rt != nil && rt.kind == '"' {
			res, path = rt.str, nil
		}
		for i, k := range n.keys {
			v := n.vals[i]
			if k == "reference" && v.kind == '"' {
				p := res + "." + strings.Join(append(path[:len(path):len(path)], k), ".")
				if !nonReferences[p] && !isExpression(n, key) {
					if !visit(v) {
						return false
					}
				}
				continue
			}
			if !walkReferences(v, res, append(path[:len(path):len(path)], k), k, visit) {
				return false
			}
		}
	}
	return true
}

// RewriteNarrativeLinks calls fn with the value of every href and src
// attribute in the narrative (text.div) of the resource raw and of the
// resources it contains, and replaces those for which fn returns true;
// http.html asks a server to do this for the fullUrls of a transaction's
// entries, so fn should only map those (it also sees web links and
// #fragments). Attribute values are passed with their XML character
// references decoded and written back escaped. A div in which a link
// changed is written back as a whole: its characters are those of the
// original except the link, but its JSON escapes may be written
// differently. Everything outside the changed divs is byte-identical.
func RewriteNarrativeLinks(raw []byte, fn func(link string) (string, bool, error)) ([]byte, error) {
	root, err := parseTree(raw)
	if err != nil {
		return nil, err
	}
	var edits []edit
	var divs []*jsonNode
	collectDivs(root, &divs)
	for _, d := range divs {
		div, changed, err := rewriteLinks(d.str, fn)
		if err != nil {
			return nil, err
		}
		if changed {
			edits = append(edits, edit{start: d.start, end: d.end, text: encodeString(div)})
		}
	}
	return splice(raw, edits), nil
}

// collectDivs finds the text.div strings of resources, in document order.
func collectDivs(n *jsonNode, out *[]*jsonNode) {
	switch n.kind {
	case '[':
		for _, v := range n.vals {
			collectDivs(v, out)
		}
	case '{':
		isResource := false
		if rt := n.member("resourceType"); rt != nil && rt.kind == '"' {
			isResource = true
		}
		for i, k := range n.keys {
			v := n.vals[i]
			if isResource && k == "text" && v.kind == '{' {
				if d := v.member("div"); d != nil && d.kind == '"' {
					*out = append(*out, d)
				}
			}
			collectDivs(v, out)
		}
	}
}

var linkAttr = regexp.MustCompile(`(?i)(\s(?:href|src)\s*=\s*)(?:"([^"]*)"|'([^']*)')`)

// rewriteLinks rewrites the href and src attribute values of the XHTML div.
func rewriteLinks(div string, fn func(string) (string, bool, error)) (string, bool, error) {
	var b strings.Builder
	last, changed := 0, false
	for _, m := range linkAttr.FindAllStringSubmatchIndex(div, -1) {
		vs, ve, quote := m[4], m[5], `"`
		if vs < 0 {
			vs, ve, quote = m[6], m[7], `'`
		}
		old := html.UnescapeString(div[vs:ve])
		s, ok, err := fn(old)
		if err != nil {
			return "", false, err
		}
		if !ok || s == old {
			continue
		}
		b.WriteString(div[last:m[3]])
		b.WriteString(quote + html.EscapeString(s) + quote)
		last, changed = m[1], true
	}
	if !changed {
		return div, false, nil
	}
	b.WriteString(div[last:])
	return b.String(), true, nil
}

// edit replaces raw[start:end] with text.
type edit struct {
	start, end int
	text       []byte
}

// splice applies edits, which are in document order and do not overlap.
func splice(raw []byte, edits []edit) []byte {
	out := make([]byte, 0, len(raw))
	last := 0
	for _, e := range edits {
		out = append(out, raw[last:e.start]...)
		out = append(out, e.text...)
		last = e.end
	}
	return append(out, raw[last:]...)
}

// encodeString is s as a JSON string, with <, > and & as themselves.
func encodeString(s string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		panic(err) // strings always encode
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// maxTreeDepth bounds the nesting parseTree accepts, to bound its
// recursion; far deeper than checkJSON's MaxDepth, so that a whole Bundle
// of valid resources passes.
const maxTreeDepth = 1000

// jsonNode is a JSON value with the position of its strings in the
// document.
type jsonNode struct {
	kind       byte // '{', '[', '"', or '0' for a number, true, false and null
	start, end int  // '"': the string's bytes, quotes included
	str        string
	keys       []string    // '{': member names, in order, duplicates kept
	vals       []*jsonNode // '{': member values; '[': elements
}

// member is the first value of the member named key, nil if none.
func (n *jsonNode) member(key string) *jsonNode {
	for i, k := range n.keys {
		if k == key {
			return n.vals[i]
		}
	}
	return nil
}

// parseTree parses one JSON value (and nothing after it) into nodes.
func parseTree(raw []byte) (*jsonNode, error) {
	p := &treeParser{raw: raw, dec: json.NewDecoder(bytes.NewReader(raw))}
	p.dec.UseNumber()
	n, err := p.value(0)
	if err == nil {
		if _, e := p.dec.Token(); !errors.Is(e, io.EOF) {
			err = errors.New("data after the JSON value")
		}
	}
	if err != nil {
		return nil, Errorf(r4.IssueTypeStructure, "", "invalid JSON: %s", syntaxMessage(err))
	}
	return n, nil
}

type treeParser struct {
	raw []byte
	dec *json.Decoder
}

func (p *treeParser) value(depth int) (*jsonNode, error) {
	before := int(p.dec.InputOffset())
	tok, err := p.dec.Token()
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	switch v := tok.(type) {
	case json.Delim:
		if v != '{' && v != '[' {
			return nil, errors.New("unexpected " + string(v))
		}
		if depth >= maxTreeDepth {
			return nil, errors.New("nested too deeply")
		}
		n := &jsonNode{kind: byte(v)}
		for p.dec.More() {
			if v == '{' {
				kt, err := p.dec.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				n.keys = append(n.keys, k)
			}
			c, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			n.vals = append(n.vals, c)
		}
		if _, err := p.dec.Token(); err != nil { // the closing delimiter
			return nil, err
		}
		return n, nil
	case string:
		// Between the previous token and the string are only white space,
		// ':' and ','.
		start := before + bytes.IndexByte(p.raw[before:], '"')
		return &jsonNode{kind: '"', start: start, end: int(p.dec.InputOffset()), str: v}, nil
	}
	return &jsonNode{kind: '0'}, nil
}
