package fhir

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

const testBase = "http://example.org/fhir"

func TestValidURNs(t *testing.T) {
	tests := []struct {
		s         string
		uuid, oid bool
	}{
		{s: "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a", uuid: true},
		{s: "urn:uuid:61EBE359-BFDC-4613-8BF2-C5E300945F0A", uuid: true},
		{s: "URN:UUID:61ebe359-bfdc-4613-8bf2-c5e300945f0a", uuid: true},
		{s: "urn:uuid:61ebe359bfdc46138bf2c5e300945f0a"},
		{s: "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0"},
		{s: "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0g"},
		{s: "urn:uuid:{61ebe359-bfdc-4613-8bf2-c5e300945f0a}"},
		{s: "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a "},
		{s: "urn:oid:1.2.36.146.595.217.0.1", oid: true},
		{s: "urn:oid:2.16.840.1.113883.4.642.1.904", oid: true},
		{s: "urn:oid:0.0", oid: true},
		{s: "urn:oid:3.1"},
		{s: "urn:oid:1"},
		{s: "urn:oid:1.02"},
		{s: "urn:oid:1..2"},
		{s: "urn:oid:1.2."},
		{s: "oid:1.2"},
	}
	for _, tt := range tests {
		if got := ValidUUIDURN(tt.s); got != tt.uuid {
			t.Errorf("ValidUUIDURN(%q) = %v", tt.s, got)
		}
		if got := ValidOIDURN(tt.s); got != tt.oid {
			t.Errorf("ValidOIDURN(%q) = %v", tt.s, got)
		}
	}
}

func TestParseReference(t *testing.T) {
	tests := []struct {
		ref, base string // base "" is testBase
		noBase    bool   // base is really ""
		want      Ref    // Raw is filled in from ref
		str       string // "" is ref
		wantErr   bool
	}{
		{ref: "Patient/1", want: Ref{Kind: RefLocal, Type: "Patient", ID: "1"}, str: "Patient/1"},
		{ref: "Patient/1/_history/2", want: Ref{Kind: RefLocal, Type: "Patient", ID: "1", VersionID: "2"}, str: "Patient/1/_history/2"},
		{ref: "http://example.org/fhir/Patient/1", want: Ref{Kind: RefLocal, Type: "Patient", ID: "1"}, str: "Patient/1"},
		{ref: "https://EXAMPLE.org/fhir/Patient/1/_history/3", want: Ref{Kind: RefLocal, Type: "Patient", ID: "1", VersionID: "3"}, str: "Patient/1/_history/3"},
		{ref: "http://example.org/fhir/Patient?identifier=x", want: Ref{Kind: RefConditional, Type: "Patient", Query: url.Values{"identifier": {"x"}}}, str: "http://example.org/fhir/Patient?identifier=x"},
		{ref: "http://example.org/fhir/metadata", wantErr: true},
		{ref: "http://example.org/fhir", wantErr: true},
		{ref: "http://example.org/fhirx/Patient/1", want: Ref{Kind: RefExternal}},
		{ref: "http://example.org/Patient/1", want: Ref{Kind: RefExternal}},
		{ref: "http://example.org:8080/fhir/Patient/1", want: Ref{Kind: RefExternal}},
		{ref: "http://other.org/fhir/Patient/1", want: Ref{Kind: RefExternal}},
		{ref: "http://example.org/fhir/Patient/1", noBase: true, want: Ref{Kind: RefExternal}},
		{ref: "Patient/1", noBase: true, want: Ref{Kind: RefLocal, Type: "Patient", ID: "1"}},
		{ref: "Patient/1", base: "http://example.org/", want: Ref{Kind: RefLocal, Type: "Patient", ID: "1"}},
		{ref: "http://example.org/Patient/1", base: "http://example.org/", want: Ref{Kind: RefLocal, Type: "Patient", ID: "1"}, str: "Patient/1"},
		{ref: "urn:uuid:61EBE359-bfdc-4613-8bf2-c5e300945f0a", want: Ref{Kind: RefPlaceholder, URN: "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a"}, str: "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a"},
		{ref: "urn:uuid:nope", wantErr: true},
		{ref: "URN:OID:1.2.3", want: Ref{Kind: RefPlaceholder, URN: "urn:oid:1.2.3"}, str: "urn:oid:1.2.3"},
		{ref: "urn:oid:1.2.03", wantErr: true},
		{ref: "Patient?identifier=http://x|1&name=a", want: Ref{Kind: RefConditional, Type: "Patient", Query: url.Values{"identifier": {"http://x|1"}, "name": {"a"}}}},
		{ref: "Patient?", wantErr: true},
		{ref: "Patient?a=%zz", wantErr: true},
		{ref: "#p1", want: Ref{Kind: RefContained, ID: "p1"}, str: "#p1"},
		{ref: "#", want: Ref{Kind: RefContained}},
		{ref: "urn:isbn:0451450523", want: Ref{Kind: RefExternal}},
		{ref: "Patient", want: Ref{Kind: RefOther}},
		{ref: "patient/1", want: Ref{Kind: RefOther}},
		{ref: "Patient/a b", want: Ref{Kind: RefOther}},
		{ref: "Patient/1/_history", want: Ref{Kind: RefOther}},
		{ref: "Patient/1/x/2", want: Ref{Kind: RefOther}},
		{ref: "a/b?c", want: Ref{Kind: RefOther}},
	}
	for _, tt := range tests {
		base := tt.base
		switch {
		case tt.noBase:
			base = ""
		case base == "":
			base = testBase
		}
		got, err := ParseReference(tt.ref, base)
		if tt.wantErr {
			var fe *Error
			if !errors.As(err, &fe) || fe.HTTPStatus() != 400 {
				t.Errorf("ParseReference(%q) error = %v, want a 400 *Error", tt.ref, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseReference(%q): %v", tt.ref, err)
			continue
		}
		tt.want.Raw = tt.ref
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseReference(%q) (-want +got):\n%s", tt.ref, diff)
		}
		str := tt.str
		if str == "" {
			str = tt.ref
		}
		if got.String() != str {
			t.Errorf("ParseReference(%q).String() = %q, want %q", tt.ref, got.String(), str)
		}
	}
}

func TestAbsoluteReference(t *testing.T) {
	tests := []struct{ ref, fullURL, want string }{
		{"Patient/a2", "http://localhost:9556/svc/fhir/DocumentReference/1", "http://localhost:9556/svc/fhir/Patient/a2"},
		{"Patient/a2/_history/1", "https://h/fhir/Observation/x/_history/2", "https://h/fhir/Patient/a2/_history/1"},
		{"Patient/a2", "urn:uuid:3fdc72f4-a11d-4a9d-9260-a9f745779e1d", "Patient/a2"},
		{"Patient/a2", "Observation/1", "Patient/a2"},
		{"Patient/a2", "", "Patient/a2"},
		{"http://x/Patient/1", "http://h/fhir/Observation/1", "http://x/Patient/1"},
		{"#c", "http://h/fhir/Observation/1", "#c"},
		{"urn:uuid:3fdc72f4-a11d-4a9d-9260-a9f745779e1d", "http://h/fhir/Observation/1", "urn:uuid:3fdc72f4-a11d-4a9d-9260-a9f745779e1d"},
	}
	for _, tt := range tests {
		if got := AbsoluteReference(tt.ref, tt.fullURL); got != tt.want {
			t.Errorf("AbsoluteReference(%q, %q) = %q, want %q", tt.ref, tt.fullURL, got, tt.want)
		}
	}
}

// refsResource has references everywhere they can be, and strings named
// "reference" that are not references.
const refsResource = `{
  "resourceType": "CarePlan",
  "id": "cp",
  "_status": {"extension": [{"url": "http://x/why", "valueReference": {"reference": "Practitioner/s1"}}]},
  "status": "active",
  "intent": "plan",
  "contained": [
    {"resourceType": "Goal", "id": "g1", "subject": {"reference": "Patient/c1"}},
    {"resourceType": "DetectedIssue", "id": "di", "status": "final", "reference": "http://not.a/reference", "patient": {"reference": "Patient/c2"}},
    {"resourceType": "Immunization", "id": "im", "education": [{"reference": "http://not.a/reference/either"}], "patient": {"reference": "Patient/c3"}},
    {"resourceType": "Claim", "id": "cl", "related": [{"reference": {"value": "an Identifier"}, "claim": {"reference": "Claim/c4"}}]}
  ],
  "extension": [
    {"url": "http://x/outer", "extension": [
      {"url": "inner", "valueReference": {"reference": "Patient/e1", "display": "nested"}},
      {"url": "expr", "valueExpression": {"language": "text/fhirpath", "expression": "%x", "reference": "http://expression/uri"}}
    ]},
    {"url": "http://x/noLanguage", "valueExpression": {"reference": "http://expression/uri2"}}
  ],
  "subject": {"reference": "Patient/1"},
  "activity": [
    {"reference": {"reference": "ServiceRequest/a1"},
     "detail": {
       "extension": [{"url": "http://x/d", "valueReference": {"reference": "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a"}}],
       "performer": [{"reference": "Practitioner/p1"}, {"display": "no reference"}, {"reference": "#g1"}]
     }}
  ],
  "goal": [{"reference": "#g1"}]
}`

func TestReferences(t *testing.T) {
	got, err := References([]byte(refsResource))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"Practitioner/s1", "Patient/c1", "Patient/c2", "Patient/c3", "Claim/c4", "Patient/e1", "Patient/1",
		"ServiceRequest/a1", "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a", "Practitioner/p1", "#g1", "#g1",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("References (-want +got):\n%s", diff)
	}
}

// identityResource exercises byte identity: indentation, decimals whose
// text matters, unknown elements, primitive extensions, contained
// resources, escapes, and references in extensions of nested backbone
// elements.
const identityResource = "{\n" +
	"\t\"resourceType\" : \"CarePlan\",\n" +
	"  \"colour\":{\"shade\" : [1.50, 0.10000000000000000001, 1e400, -0.0, 12345678901234567890]},\n" +
	"  \"_status\": {\"extension\": [{\"url\": \"http://x\", \"valueReference\": {\"reference\": \"urn:uuid:\\u0036\\u0031ebe359-bfdc-4613-8bf2-c5e300945f0a\"}}]},\n" +
	"  \"status\":\"active\",   \"intent\": \"plan\",\n" +
	"  \"contained\": [ {\"resourceType\":\"Goal\",\"id\":\"g\",\"target\":[{\"detailQuantity\":{\"value\":1.50}}],\"subject\":{\"reference\":\"Patient\\/1\"}} ],\n" +
	"  \"text\": {\"status\": \"generated\", \"div\": \"<div xmlns=\\\"http://www.w3.org/1999/xhtml\\\">caf\\u00e9 \\u003c &amp; <a href=\\\"urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a\\\">p</a></div>\"},\n" +
	"  \"activity\": [ { \"detail\": { \"extension\": [ { \"url\": \"http://x/outer\", \"extension\": [ {\"url\":\"in\", \"valueReference\": { \"reference\" :\t\"urn:uuid:88f151c0-a954-468a-88bd-5ae15c08e059\" } } ] } ],\n" +
	"      \"performer\": [ {\"reference\": \"Practitioner/keep\"} ], \"scheduledString\": \"reference\" } } ],\n" +
	"  \"subject\": {\"reference\": \"urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a\", \"display\": \"\\\"quoted\\\" \\ud83d\\ude00\"}\n" +
	"}\n"

func TestRewriteReferencesIdentity(t *testing.T) {
	raw := []byte(identityResource)
	if !json.Valid(raw) {
		t.Fatal("test resource is not JSON")
	}
	var seen []string
	out, err := RewriteReferences(raw, func(ref string) (string, bool, error) {
		seen = append(seen, ref)
		return ref, true, nil // "changed" to itself: no byte may move
	})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, raw) {
		t.Errorf("identity rewrite changed the bytes:\n%s", out)
	}
	want := []string{
		"urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a", // decoded from \u0036\u0031
		"Patient/1", // decoded from Patient\/1
		"urn:uuid:88f151c0-a954-468a-88bd-5ae15c08e059",
		"Practitioner/keep",
		"urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a",
	}
	if diff := cmp.Diff(want, seen); diff != "" {
		t.Errorf("fn saw (-want +got):\n%s", diff)
	}
}

func TestRewriteReferencesSplices(t *testing.T) {
	raw := []byte(identityResource)
	ids := map[string]string{
		"urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a": "Patient/new1",
		"urn:uuid:88f151c0-a954-468a-88bd-5ae15c08e059": `Patient/"q"<&>é`,
	}
	out, err := RewriteReferences(raw, func(ref string) (string, bool, error) {
		s, ok := ids[ref]
		return s, ok, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Exactly the three strings change, each re-escaped; every other byte
	// is the original's.
	want := identityResource
	for old, repl := range map[string]string{
		`"urn:uuid:\u0036\u0031ebe359-bfdc-4613-8bf2-c5e300945f0a"`:    `"Patient/new1"`,
		`"reference": "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a"`: `"reference": "Patient/new1"`,
		`"urn:uuid:88f151c0-a954-468a-88bd-5ae15c08e059"`:              `"Patient/\"q\"<&>é"`,
	} {
		if strings.Count(want, old) != 1 {
			t.Fatalf("%s occurs %d times", old, strings.Count(want, old))
		}
		want = strings.Replace(want, old, repl, 1)
	}
	if string(out) != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
	// The narrative is not a reference: its urn:uuid stays.
	if !bytes.Contains(out, []byte(`href=\"urn:uuid:61ebe359`)) {
		t.Error("narrative link changed")
	}
	refs, err := References(out)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"Patient/new1", "Patient/1", `Patient/"q"<&>é`, "Practitioner/keep", "Patient/new1"}, refs); diff != "" {
		t.Errorf("References after rewrite (-want +got):\n%s", diff)
	}
}

func TestRewriteReferencesErrors(t *testing.T) {
	stop := errors.New("stop")
	calls := 0
	_, err := RewriteReferences([]byte(refsResource), func(string) (string, bool, error) {
		calls++
		return "", false, stop
	})
	if err != stop || calls != 1 {
		t.Errorf("fn error: got %v after %d calls, want it unchanged after 1", err, calls)
	}
	fe := Errorf(r4.IssueTypeNotFound, "Bundle.entry[0]", "no match")
	if _, err := RewriteReferences([]byte(refsResource), func(string) (string, bool, error) { return "", false, fe }); err != fe {
		t.Errorf("a *Error from fn must pass through unchanged, got %v", err)
	}
	for _, bad := range []string{``, `{`, `{"reference":"a"}x`, `{"reference":"a",}`, `{"a" 1}`, `[1,]`, strings.Repeat("[", maxTreeDepth+1) + strings.Repeat("]", maxTreeDepth+1)} {
		_, err := RewriteReferences([]byte(bad), func(s string) (string, bool, error) { return s, true, nil })
		var fe *Error
		if !errors.As(err, &fe) || fe.HTTPStatus() != 400 || fe.Issues[0].Code != r4.IssueTypeStructure {
			t.Errorf("RewriteReferences(%.20q) error = %v, want a 400 structure *Error", bad, err)
		}
	}
	// Not a resource, but JSON: nothing to do, nothing changed.
	for _, ok := range []string{`1`, `"reference"`, `{"reference":1}`, `[{"reference":"a"}]`, ` {} `} {
		out, err := RewriteReferences([]byte(ok), func(string) (string, bool, error) { return "X/1", true, nil })
		if err != nil || (ok != `[{"reference":"a"}]` && string(out) != ok) {
			t.Errorf("RewriteReferences(%q) = %s, %v", ok, out, err)
		}
	}
}

func TestRewriteNarrativeLinks(t *testing.T) {
	raw := []byte(`{"resourceType":"Composition","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\"><a href=\"urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a\">p</a> <img src='urn:uuid:88f151c0-a954-468a-88bd-5ae15c08e059'/> <a HREF = \"http://x/?a=1&amp;b=2\">w</a> <a data-href=\"urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a\">d</a></div>"},` +
		`"contained":[{"resourceType":"Patient","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\"><a href=\"urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a\">c</a></div>"}}],` +
		`"section":[{"text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\"><a href=\"urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a\">s</a></div>"}}],` +
		`"subject":{"reference":"urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a"}}`)
	var seen []string
	out, err := RewriteNarrativeLinks(raw, func(link string) (string, bool, error) {
		seen = append(seen, link)
		switch link {
		case "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a":
			return "Patient/1", true, nil
		case "urn:uuid:88f151c0-a954-468a-88bd-5ae15c08e059":
			return "Binary/2?a='&", true, nil
		}
		return "", false, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a", "urn:uuid:88f151c0-a954-468a-88bd-5ae15c08e059", "http://x/?a=1&b=2", "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a"}, seen); diff != "" {
		t.Errorf("links seen (-want +got):\n%s", diff)
	}
	want := strings.NewReplacer(
		`<a href=\"urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a\">p</a>`, `<a href=\"Patient/1\">p</a>`,
		`src='urn:uuid:88f151c0-a954-468a-88bd-5ae15c08e059'`, `src='Binary/2?a=&#39;&amp;'`,
		`<a href=\"urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a\">c</a>`, `<a href=\"Patient/1\">c</a>`,
	).Replace(string(raw))
	if string(out) != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
	// The section's div is not a resource's narrative; the data-href is
	// not a link; the reference is RewriteReferences' business.
	for _, s := range []string{`<a href=\"urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a\">s</a>`, `data-href=\"urn:uuid:`, `"reference":"urn:uuid:`} {
		if !strings.Contains(string(out), s) {
			t.Errorf("%s changed", s)
		}
	}
}

// TestReferenceElementsMatchSchema checks the exceptions RewriteReferences
// makes against the official R4 JSON schema: the string elements named
// "reference" other than Reference.reference, the elements of type
// Expression, and that Reference has none of Expression's members.
func TestReferenceElementsMatchSchema(t *testing.T) {
	f, err := os.Open("schema/fhir.schema.json.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Definitions map[string]struct {
			Properties map[string]struct {
				Ref   string `json:"$ref"`
				Items struct {
					Ref string `json:"$ref"`
				} `json:"items"`
			} `json:"properties"`
		} `json:"definitions"`
	}
	if err := json.NewDecoder(zr).Decode(&schema); err != nil {
		t.Fatal(err)
	}
	typeOf := func(def, prop string) string {
		p := schema.Definitions[def].Properties[prop]
		r := p.Ref
		if r == "" {
			r = p.Items.Ref
		}
		return strings.TrimPrefix(r, "#/definitions/")
	}
	primitive := map[string]bool{"string": true, "uri": true, "url": true, "canonical": true, "code": true, "id": true, "markdown": true}
	var stringRefs, exprElems []string
	for def, d := range schema.Definitions {
		for prop := range d.Properties {
			typ := typeOf(def, prop)
			if prop == "reference" && primitive[typ] {
				stringRefs = append(stringRefs, def+"."+prop+":"+typ)
			}
			if typ == "Expression" {
				exprElems = append(exprElems, prop)
			}
		}
	}
	sort.Strings(stringRefs)
	// Reference.reference, and the three that are not references: the
	// latter two are nonReferences' entries (backbone
	// Immunization_Education is Immunization.education).
	if diff := cmp.Diff([]string{"DetectedIssue.reference:uri", "Expression.reference:uri", "Immunization_Education.reference:uri", "Reference.reference:string"}, stringRefs); diff != "" {
		t.Errorf("string elements named reference changed (-want +got):\n%s", diff)
	}
	if len(nonReferences) != 2 || !nonReferences["DetectedIssue.reference"] || !nonReferences["Immunization.education.reference"] {
		t.Errorf("nonReferences = %v", nonReferences)
	}
	// Every Expression element is in expressionElements, except
	// "condition", which is also a Reference and is told apart by members.
	for _, e := range exprElems {
		if !expressionElements[e] && e != "condition" {
			t.Errorf("element %s of type Expression is missing from expressionElements", e)
		}
	}
	for e := range expressionElements {
		if !slices.Contains(exprElems, e) {
			t.Errorf("expressionElements has %s, which is no Expression", e)
		}
		for def, d := range schema.Definitions {
			if _, ok := d.Properties[e]; ok && typeOf(def, e) == "Reference" {
				t.Errorf("%s.%s is a Reference but is in expressionElements", def, e)
			}
		}
	}
	for _, m := range expressionMembers {
		if _, ok := schema.Definitions["Expression"].Properties[m]; !ok {
			t.Errorf("Expression has no %s", m)
		}
		if _, ok := schema.Definitions["Reference"].Properties[m]; ok {
			t.Errorf("Reference has %s too: it cannot tell them apart", m)
		}
	}
	if _, ok := schema.Definitions["Immunization"].Properties["education"]; !ok || typeOf("Immunization", "education") != "Immunization_Education" {
		t.Error("Immunization.education is not Immunization_Education")
	}
}
