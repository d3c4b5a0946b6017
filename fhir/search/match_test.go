package search

import (
	"net/url"
	"testing"
	"time"

	"github.com/matcare/matcare/fhir"
	"github.com/matcare/matcare/fhir/fhirtest"
)

// matchTestParams are one parameter of each kind on the type "T", which
// Lookup does not know (so the composite's component kinds come from its
// parsed values).
var matchTestParams = map[string]Param{
	"d":    {Name: "d", Kind: Date, Type: "T"},
	"n":    {Name: "n", Kind: Number, Type: "T"},
	"q":    {Name: "q", Kind: Quantity, Type: "T"},
	"s":    {Name: "s", Kind: String, Type: "T"},
	"sp":   {Name: "sp", Kind: Special, Type: "T"},
	"tok":  {Name: "tok", Kind: Token, Type: "T"},
	"ref":  {Name: "ref", Kind: Reference, Type: "T", Targets: []string{"Patient", "Group"}},
	"one":  {Name: "one", Kind: Reference, Type: "T", Targets: []string{"Patient"}},
	"any":  {Name: "any", Kind: Reference, Type: "T"},
	"u":    {Name: "u", Kind: URI, Type: "T"},
	"comp": {Name: "comp", Kind: Composite, Type: "T", Components: []string{"tok", "q"}},
}

func matchTestLookup(typ, name string) (Param, bool) {
	p, ok := matchTestParams[name]
	return p, ok && typ == "T"
}

// matchClause parses raw as a search of typ and returns its only clause.
func matchClause(t *testing.T, typ, raw string, lookup LookupFunc) Clause {
	t.Helper()
	q, err := url.ParseQuery(raw)
	if err != nil {
		t.Fatalf("url.ParseQuery(%q): %v", raw, err)
	}
	parsed, issues, err := ParseQuery(typ, q, lookup)
	if err != nil || len(issues) > 0 || len(parsed.Clauses) != 1 {
		t.Fatalf("ParseQuery(%s?%s): %v %v %+v", typ, raw, err, issues, parsed)
	}
	return parsed.Clauses[0]
}

// Resource values, as Extract makes them.

func dv(s string) Value {
	lo, hi, err := fhir.DateRange(s, time.UTC)
	if err != nil {
		panic(err)
	}
	return Value{Lo: lo, Hi: hi}
}

// period is a Period value; "" is an open end.
func period(start, end string) Value {
	v := Value{Lo: MinTime, Hi: MaxTime}
	if start != "" {
		v.Lo = dv(start).Lo
	}
	if end != "" {
		v.Hi = dv(end).Hi
	}
	return v
}

func nv(f float64) Value { return Value{Float: f} }

func qv(f float64, system, code, unit string) Value {
	return Value{Float: f, System: system, Code: code, Unit: unit}
}

func sv(s string) Value { return Value{Text: NormalizeString(s), Exact: s} }

func tv(system, code string) Value { return Value{System: system, Code: code} }

func textv(s string) Value { return Value{Text: NormalizeString(s)} }

func idv(system, value, typeSystem, typeCode string) Value {
	return Value{System: system, Code: value, OfType: []Coding{{typeSystem, typeCode}}}
}

func rv(ref string) Value { return Value{Ref: ref} }

func logical(system, value string) Value { return Value{Identifier: true, System: system, Code: value} }

func uv(u string) Value { return Value{URI: u} }

type matchCase struct {
	query string // one parameter of matchTestParams
	vals  []Value
	want  bool
}

func runMatchCases(t *testing.T, cases []matchCase) {
	t.Helper()
	for _, tc := range cases {
		c := matchClause(t, "T", tc.query, matchTestLookup)
		idx := Index{}
		if tc.vals != nil {
			idx[c.Param.Name] = tc.vals
		}
		if got := Matches(c, idx); got != tc.want {
			t.Errorf("%s over %+v: got %v, want %v", tc.query, tc.vals, got, tc.want)
		}
	}
}

func TestMatchMissing(t *testing.T) {
	var cases []matchCase
	some := map[string][]Value{
		"d": {dv("2024")}, "n": {nv(1)}, "q": {qv(1, "", "", "")}, "s": {sv("x")}, "sp": {sv("x")},
		"tok": {tv("", "x")}, "ref": {rv("Patient/1")}, "u": {uv("http://x")},
		"comp": {{Parts: [][]Value{{tv("", "x")}, {qv(1, "", "", "")}}}},
	}
	for name, vals := range some {
		cases = append(cases,
			matchCase{name + ":missing=true", nil, true},
			matchCase{name + ":missing=true", vals, false},
			matchCase{name + ":missing=false", nil, false},
			matchCase{name + ":missing=false", vals, true},
			matchCase{name + ":missing=true,false", nil, true},
			matchCase{name + ":missing=true,false", vals, true},
		)
	}
	runMatchCases(t, cases)
}

func TestMatchDate(t *testing.T) {
	day := []Value{dv("2024-06-12")} // [2024-06-12, 2024-06-13)
	runMatchCases(t, []matchCase{
		// eq: the resource's range lies within the search range.
		{"d=2024", day, true},
		{"d=2024-06", day, true},
		{"d=2024-06-12", day, true},
		{"d=eq2024-06-12", day, true},
		{"d=2024-06-12T10:00", day, false}, // the day is wider than the minute
		{"d=2024-06-11", day, false},
		{"d=2025", day, false},
		{"d=2024-06-12T10:00:00Z", []Value{dv("2024-06-12T10:00:00Z")}, true},
		{"d=2024-06-12T10:00", []Value{dv("2024-06-12T10:00:59.999Z")}, true},
		{"d=2024-06-12T10:00", []Value{dv("2024-06-12T10:01:00Z")}, false},
		// ne: not eq.
		{"d=ne2024-06-12", day, false},
		{"d=ne2024-06-13", day, true},
		{"d=ne2024-06-12T10:00", day, true},
		{"d=ne2024", day, false},
		// gt: the resource's range ends after the search range.
		{"d=gt2024-06-11", day, true},
		{"d=gt2024-06-12", day, false},
		{"d=gt2024-06", day, false},
		{"d=gt2024-06-12T10:00", day, true},
		// lt: the resource's range starts before the search range.
		{"d=lt2024-06-13", day, true},
		{"d=lt2024-06-12", day, false},
		{"d=lt2024-06-12T10:00", day, true},
		{"d=lt2024", day, false},
		// ge: the resource's range ends after the search range starts.
		{"d=ge2024-06-12", day, true},
		{"d=ge2024-06-12T23:59", day, true},
		{"d=ge2024-06-13", day, false},
		// le: the resource's range starts before the search range ends.
		{"d=le2024-06-12", day, true},
		{"d=le2024-06-12T00:00", day, true},
		{"d=le2024-06-11", day, false},
		// sa: starts at or after the search range's end.
		{"d=sa2024-06-11", day, true},
		{"d=sa2024-06-12", day, false},
		{"d=sa2024-06", day, false},
		{"d=sa2024-05", day, true},
		// eb: ends at or before the search range's start.
		{"d=eb2024-06-13", day, true},
		{"d=eb2024-06-12", day, false},
		{"d=eb2024-07", day, true},
		// ap: the ranges overlap, the search range widened by its width
		// (at least a day) on each side.
		{"d=ap2024-06-13", day, true},  // [06-12, 06-15)
		{"d=ap2024-06-14", day, false}, // [06-13, 06-16)
		{"d=ap2024-06-10", day, false}, // [06-09, 06-12) ends where the day starts
		{"d=ap2024-06-11", day, true},  // [06-10, 06-13)
		{"d=ap2024-06-12T12:00", day, true},
		{"d=ap2025", day, true}, // [2024, 2027)
		{"d=ap2026", day, false},
		// Time zones: a resource time with an offset is an instant; search
		// values without a zone are UTC.
		{"d=2024-05-02", []Value{dv("2024-05-03T00:30:00+01:00")}, true},
		{"d=2024-05-03", []Value{dv("2024-05-03T00:30:00+01:00")}, false},
		{"d=2024-05-03T00:30:00%2B01:00", []Value{dv("2024-05-02T23:30:00Z")}, true},
		{"d=2024-05-03T00:30:00+01:00", []Value{dv("2024-05-02T23:30:00Z")}, true}, // "+" sent unescaped
		{"d=2024-05-03T00:30:00-01:00", []Value{dv("2024-05-02T23:30:00Z")}, false},
		{"d=gt2024-05-03T00:00:00%2B02:00", []Value{dv("2024-05-02T22:30:00Z")}, true},
		// Periods with open ends.
		{"d=ge2024", []Value{period("2024-05-03", "")}, true},
		{"d=gt2099", []Value{period("2024-05-03", "")}, true},
		{"d=2024", []Value{period("2024-05-03", "")}, false},
		{"d=lt2024-05-03", []Value{period("2024-05-03", "")}, false},
		{"d=lt1900", []Value{period("", "2017-06-02")}, true},
		{"d=2017", []Value{period("2017-01-01", "2017-06-02")}, true},
		{"d=2017-06", []Value{period("2017-01-01", "2017-06-02")}, false},
		{"d=ap2017-03", []Value{period("2017-01-01", "2017-06-02")}, true},
		// Several values: any one suffices, also for ne.
		{"d=2024-06-12", []Value{dv("2020-01-01"), dv("2024-06-12")}, true},
		{"d=ne2024-06-12", []Value{dv("2020-01-01"), dv("2024-06-12")}, true},
		{"d=gt2023", []Value{dv("2020-01-01"), dv("2022-06-12")}, false},
		// Several search values are ORed.
		{"d=2019,2024", day, true},
		{"d=2019,2020", day, false},
		{"d=2019", nil, false},
		{"d=ne2019", nil, false},
	})
}

func TestMatchNumber(t *testing.T) {
	runMatchCases(t, []matchCase{
		// eq: within the precision of the search value, [Lo, Hi).
		{"n=100", []Value{nv(100)}, true},
		{"n=100.00", []Value{nv(100)}, true},
		{"n=100", []Value{nv(100.4)}, true},
		{"n=100.00", []Value{nv(100.4)}, false},
		{"n=100.00", []Value{nv(100.004)}, true},
		{"n=100", []Value{nv(99.5)}, true},
		{"n=100", []Value{nv(100.5)}, false},
		{"n=100", []Value{nv(99.49)}, false},
		{"n=1e2", []Value{nv(140)}, true},
		{"n=1e2", []Value{nv(150)}, false},
		{"n=-5", []Value{nv(-5.2)}, true},
		{"n=eq0.1", []Value{nv(0.14)}, true},
		{"n=eq0.1", []Value{nv(0.16)}, false},
		// ne.
		{"n=ne100", []Value{nv(100.4)}, false},
		{"n=ne100.00", []Value{nv(100.4)}, true},
		// gt, lt, ge, le, sa, eb: against the value itself.
		{"n=gt100", []Value{nv(100.4)}, true},
		{"n=gt100", []Value{nv(100)}, false},
		{"n=lt100", []Value{nv(99.9)}, true},
		{"n=lt100", []Value{nv(100)}, false},
		{"n=ge100", []Value{nv(100)}, true},
		{"n=ge100", []Value{nv(99.99)}, false},
		{"n=le100", []Value{nv(100)}, true},
		{"n=le100", []Value{nv(100.01)}, false},
		{"n=sa100", []Value{nv(100.01)}, true},
		{"n=sa100", []Value{nv(100)}, false},
		{"n=eb100", []Value{nv(99.99)}, true},
		{"n=eb100", []Value{nv(100)}, false},
		// ap: at least ±10%.
		{"n=ap100", []Value{nv(109)}, true},
		{"n=ap100", []Value{nv(90)}, true},
		{"n=ap100", []Value{nv(111)}, false},
		{"n=ap100", []Value{nv(89.9)}, false},
		{"n=ap1e2", []Value{nv(149)}, true}, // the precision is wider than 10%
		// Several values and ORed search values.
		{"n=gt150", []Value{nv(1), nv(200)}, true},
		{"n=lt0", []Value{nv(1), nv(200)}, false},
		{"n=5,200", []Value{nv(1), nv(200)}, true},
		{"n=gt0", nil, false},
	})
}

func TestMatchQuantity(t *testing.T) {
	const ucum = "http://unitsofmeasure.org"
	mg := []Value{qv(5, ucum, "mg", "mg")}
	written := []Value{qv(5, "", "mg", "milligram")}
	runMatchCases(t, []matchCase{
		{"q=5", mg, true},
		{"q=5.0", []Value{qv(5.04, ucum, "mg", "mg")}, true},
		{"q=5.00", []Value{qv(5.04, ucum, "mg", "mg")}, false},
		{"q=5||mg", mg, true},
		{"q=5|http://unitsofmeasure.org|mg", mg, true},
		{"q=5|http://other.org|mg", mg, false},
		{"q=5||g", mg, false},
		{"q=6||mg", mg, false},
		{"q=gt4||mg", mg, true},
		{"q=gt5||mg", mg, false},
		{"q=ne5||mg", mg, false},
		{"q=ne6||mg", mg, true},
		{"q=ap5.4||mg", mg, true},
		// number||code: the code or the unit.
		{"q=5||milligram", written, true},
		{"q=5||mg", written, true},
		{"q=5|http://unitsofmeasure.org|mg", written, false},
		{"q=5|http://unitsofmeasure.org|milligram", written, false},
		// Several values.
		{"q=5||g", []Value{qv(5, ucum, "mg", "mg"), qv(0.005, ucum, "g", "g")}, false},
		{"q=0.005||g", []Value{qv(5, ucum, "mg", "mg"), qv(0.005, ucum, "g", "g")}, true},
		{"q=5", nil, false},
	})
}

func TestMatchString(t *testing.T) {
	names := []Value{sv("Chalmers"), sv("Windsor")}
	irish := []Value{sv("Ó  Súilleabháin")}
	runMatchCases(t, []matchCase{
		// Starts with, case and accent insensitive.
		{"s=chal", names, true},
		{"s=Chal", names, true},
		{"s=CHALMERS", names, true},
		{"s=chalmersx", names, false},
		{"s=halm", names, false},
		{"s=wind", names, true},
		{"s=o%20suil", irish, true},
		{"s=%C3%93%20S%C3%BAil", irish, true},
		{"s=os", irish, false},
		// :contains.
		{"s:contains=halm", names, true},
		{"s:contains=HALM", names, true},
		{"s:contains=ilLEab", irish, true},
		{"s:contains=xyz", names, false},
		// :exact: as written.
		{"s:exact=Chalmers", names, true},
		{"s:exact=chalmers", names, false},
		{"s:exact=Chal", names, false},
		{"s:exact=%C3%93%20%20S%C3%BAilleabh%C3%A1in", irish, true},
		{"s:exact=O%20Suilleabhain", irish, false},
		// Escapes are removed from the search value.
		{`s=a\,b`, []Value{sv("A,B c")}, true},
		{"s=x,wind", names, true},
		{"s=chal", nil, false},
		// Special parameters match as strings.
		{"sp=chal", names, true},
		{"sp=halm", names, false},
	})
}

func TestMatchToken(t *testing.T) {
	const v2 = "http://terminology.hl7.org/CodeSystem/v2-0203"
	coded := []Value{{System: "http://a", Code: "x", Text: NormalizeString("Extra Display")}, textv("Free text")}
	bare := []Value{tv("", "x")}
	ids := []Value{idv("urn:oid:1.2", "12345", v2, "MR"), {System: "urn:oid:9", Code: "777", Text: "drivers licence"}}
	runMatchCases(t, []matchCase{
		// code: any system, case-sensitive.
		{"tok=x", coded, true},
		{"tok=x", bare, true},
		{"tok=X", coded, false},
		{"tok=y", coded, false},
		{"tok=y,x", coded, true},
		// system|code.
		{"tok=http://a|x", coded, true},
		{"tok=http://b|x", coded, false},
		{"tok=http://a|y", coded, false},
		{"tok=http://a|x", bare, false},
		// |code: no system.
		{"tok=|x", coded, false},
		{"tok=|x", bare, true},
		// system|: any code.
		{"tok=http://a|", coded, true},
		{"tok=http://b|", coded, false},
		{"tok=http://a|", bare, false},
		// Escapes.
		{`tok=a\|b`, []Value{tv("", "a|b")}, true},
		{`tok=s\,1|a\|b`, []Value{tv("s,1", "a|b")}, true},
		{`tok=a\|b`, []Value{tv("a", "b")}, false},
		// Identifiers are tokens: system and value.
		{"tok=urn:oid:1.2|12345", ids, true},
		{"tok=12345", ids, true},
		{"tok=urn:oid:9|12345", ids, false},
		// :not: no value matches any of the search values.
		{"tok:not=x", coded, false},
		{"tok:not=y", coded, true},
		{"tok:not=X", coded, true},
		{"tok:not=http://a|", coded, false},
		{"tok:not=|x", coded, true},
		{"tok:not=|x", bare, false},
		{"tok:not=y,x", coded, false}, // neither y nor x
		{"tok:not=y,z", coded, true},
		{"tok:not=x", nil, true},
		{"tok:not=x", []Value{tv("", "y"), tv("", "x")}, false},
		// :text: a prefix of display, CodeableConcept.text or Identifier.type.text.
		{"tok:text=extra", coded, true},
		{"tok:text=EXTRA%20disp", coded, true},
		{"tok:text=display", coded, false},
		{"tok:text=free", coded, true},
		{"tok:text=x", coded, false},
		{"tok:text=x", bare, false},
		{"tok:text=driver", ids, true},
		// :of-type.
		{"tok:of-type=" + v2 + "|MR|12345", ids, true},
		{"tok:of-type=" + v2 + "|MR|99", ids, false},
		{"tok:of-type=" + v2 + "|DL|12345", ids, false},
		{"tok:of-type=http://other|MR|12345", ids, false},
		{"tok:of-type=" + v2 + "|MR|777", ids, false},
		{"tok=x", nil, false},
	})
}

func TestMatchReference(t *testing.T) {
	p1 := []Value{rv("Patient/p1")}
	abs := []Value{rv("http://other.org/fhir/Patient/p1")}
	versioned := []Value{rv("http://other.org/fhir/Patient/p1/_history/2")}
	canonical := []Value{rv("http://x.org/Questionnaire/q|1.0"), rv("http://x.org/Questionnaire/q")}
	ident := []Value{logical("urn:sys", "123")}
	runMatchCases(t, []matchCase{
		// Type/id.
		{"ref=Patient/p1", p1, true},
		{"ref=Patient/p2", p1, false},
		{"ref=Group/p1", p1, false},
		{"ref=Patient/p1/_history/3", p1, true}, // the version is ignored
		// id: any type when the parameter has several targets, else its one.
		{"ref=p1", p1, true},
		{"ref=p1", []Value{rv("Group/p1")}, true},
		{"ref=1", []Value{rv("Patient/11")}, false},
		{"ref=p1", abs, false},
		{"one=p1", p1, true},
		{"one=p1", []Value{rv("Group/p1")}, false},
		{"any=p1", []Value{rv("Encounter/p1")}, true},
		{"any=p1", []Value{rv("urn:x/p1")}, false},
		// :Type.
		{"ref:Patient=p1", p1, true},
		{"ref:Group=p1", p1, false},
		{"ref:Patient=Patient/p1", p1, true},
		// Absolute URLs: as written, or their Type/id tail.
		{"ref=http://example.org/fhir/Patient/p1", p1, true},
		{"ref=http://example.org/fhir/Patient/p2", p1, false},
		{"ref=http://other.org/fhir/Patient/p1", abs, true},
		{"ref=http://other.org/fhir/Patient/p1/_history/7", abs, true},
		{"ref=http://other.org/fhir/Patient/p1", versioned, true},
		{"ref=http://example.org/fhir/Patient/p1", abs, false},
		{"ref=Patient/p1", abs, false},
		// urn and canonical URLs: as written.
		{"any=urn:uuid:5e3c", []Value{rv("urn:uuid:5e3c")}, true},
		{"any=urn:uuid:5e3d", []Value{rv("urn:uuid:5e3c")}, false},
		{"any=http://x.org/Questionnaire/q", canonical, true},
		{"any=http://x.org/Questionnaire/q|1.0", canonical, true},
		{"any=http://x.org/Questionnaire/q|2.0", canonical, false},
		{"any=http://x.org/Questionnaire/q|1.0", []Value{rv("http://x.org/Questionnaire/q")}, false},
		// Logical references: only :identifier.
		{"ref=Patient/123", ident, false},
		{"ref=123", ident, false},
		{"ref:identifier=urn:sys|123", ident, true},
		{"ref:identifier=123", ident, true},
		{"ref:identifier=urn:other|123", ident, false},
		{"ref:identifier=urn:sys|", ident, true},
		{"ref:identifier=123", []Value{rv("Patient/123")}, false},
		// Several values and ORed search values.
		{"ref=Patient/p2", []Value{rv("Group/g"), rv("Patient/p2")}, true},
		{"ref=Patient/p9,Group/p1", []Value{rv("Group/p1")}, true},
		{"ref=Patient/p1", nil, false},
	})
}

func TestMatchURI(t *testing.T) {
	vs := []Value{uv("http://acme.org/fhir/ValueSet/123")}
	runMatchCases(t, []matchCase{
		{"u=http://acme.org/fhir/ValueSet/123", vs, true},
		{"u=http://acme.org/fhir/ValueSet/12", vs, false},
		{"u=http://acme.org/fhir/valueset/123", vs, false},
		{"u:below=http://acme.org/fhir/", vs, true},
		{"u:below=http://acme.org/fhir/ValueSet/123", vs, true},
		{"u:below=http://acme.org/fhir/ValueSet/1234", vs, false},
		{"u:above=http://acme.org/fhir/ValueSet/123/_history/5", vs, true},
		{"u:above=http://acme.org/fhir/ValueSet/123", vs, true},
		{"u:above=http://acme.org/", vs, false},
		{"u=urn:x,http://acme.org/fhir/ValueSet/123", vs, true},
		{"u=http://acme.org/fhir/ValueSet/123", nil, false},
	})
}

func TestMatchComposite(t *testing.T) {
	const loinc, ucum = "http://loinc.org", "http://unitsofmeasure.org"
	vs := []Value{
		{Parts: [][]Value{{tv(loinc, "8480-6")}, {qv(150, ucum, "mm[Hg]", "mmHg")}}},
		{Parts: [][]Value{{tv(loinc, "8462-4")}, {qv(90, ucum, "mm[Hg]", "mmHg")}}},
	}
	runMatchCases(t, []matchCase{
		{"comp=http://loinc.org|8480-6$150", vs, true},
		{"comp=http://loinc.org|8480-6$90", vs, false}, // the parts of one element only
		{"comp=http://loinc.org|8462-4$gt80", vs, true},
		{"comp=8480-6$gt140||mm[Hg]", vs, true},
		{"comp=8480-6$gt140||mmHg", vs, true},
		{"comp=8480-6$gt140||kg", vs, false},
		{"comp=x$150,8462-4$90", vs, true},
		{"comp=8480-6$150", nil, false},
	})
}

func TestMatchUnsupportedCombinations(t *testing.T) {
	day := Index{"d": {dv("2024-06-12")}, "tok": {tv("", "x")}}
	date := matchClause(t, "T", "d=2024", matchTestLookup)
	tok := matchClause(t, "T", "tok=x", matchTestLookup)
	for _, tc := range []struct {
		name string
		c    Clause
		want bool
	}{
		{"plain", date, true},
		{"date with :exact", func() Clause { c := date; c.Modifier = ModExact; return c }(), false},
		{"token with :contains", func() Clause { c := tok; c.Modifier = ModContains; return c }(), false},
		{"token :not without tokens", func() Clause {
			c := tok
			c.Modifier, c.Values = ModNot, []QueryValue{{Raw: "x"}}
			return c
		}(), false},
		{"date without Date", func() Clause { c := date; c.Values = []QueryValue{{Raw: "2024"}}; return c }(), false},
		{"chained", func() Clause {
			c := date
			c.Chain = []Link{{Param: matchTestParams["ref"], From: "T", To: "Patient"}}
			return c
		}(), false},
		{"no values", func() Clause { c := date; c.Values = nil; return c }(), false},
	} {
		if got := Matches(tc.c, day); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestMatchesAll(t *testing.T) {
	idx := Index{"d": {dv("2024-06-12")}, "tok": {tv("", "x")}}
	parse := func(raw string) []Clause {
		q, err := url.ParseQuery(raw)
		if err != nil {
			t.Fatal(err)
		}
		parsed, _, err := ParseQuery("T", q, matchTestLookup)
		if err != nil {
			t.Fatal(err)
		}
		return parsed.Clauses
	}
	for _, tc := range []struct {
		raw  string
		want bool
	}{
		{"", true},
		{"d=2024&tok=x", true},
		{"d=2024&tok=y", false},
		{"d=2024&d=2024-06&d=ge2024-06-12", true},
		{"d=2024&d=2025", false},
		{"tok=x&s:missing=true", true},
		{"tok=x&s:missing=false", false},
	} {
		if got := MatchesAll(parse(tc.raw), idx); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.raw, got, tc.want)
		}
	}
}

// testPatient has what fhirtest.Patient lacks: a typed identifier, an
// email, a death time with an offset and references by identifier and by
// a versioned absolute URL.
const testPatient = `{"resourceType":"Patient",
 "identifier":[{"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"MR"}],"text":"Medical record number"},
   "system":"urn:oid:1.2.36","value":"12345"}],
 "name":[{"family":"Ó Súilleabháin","given":["Siobhán"]}],
 "telecom":[{"system":"phone","value":"0141 496 0000"},{"system":"email","value":"Alex@example.org"}],
 "deceasedDateTime":"2024-05-03T00:30:00+01:00",
 "generalPractitioner":[{"identifier":{"system":"https://fhir.nhs.uk/Id/gmp-number","value":"G123"}},
   {"reference":"http://other.example/fhir/Practitioner/pr1/_history/4"}]}`

// testQuestionnaire has use contexts for the composites.
const testQuestionnaire = `{"resourceType":"Questionnaire","status":"active","url":"http://matcare.example/fhir/Questionnaire/q1",
 "useContext":[
  {"code":{"system":"http://terminology.hl7.org/CodeSystem/usage-context-type","code":"age"},
   "valueQuantity":{"value":18,"unit":"years","system":"http://unitsofmeasure.org","code":"a"}},
  {"code":{"system":"http://terminology.hl7.org/CodeSystem/usage-context-type","code":"focus"},
   "valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"66214007"}]}}]}`

// TestMatchExtracted parses real queries with the real table and matches
// them against what Extract indexes of small resources: parser, extractor
// and matcher together.
func TestMatchExtracted(t *testing.T) {
	bodies := map[string][]byte{
		"Goal":                  fhirtest.Goal(),
		"Patient":               fhirtest.Patient(),
		"CarePlan":              fhirtest.CarePlan(),
		"QuestionnaireResponse": fhirtest.QuestionnaireResponse(),
		"Patient2":              []byte(testPatient),
		"Questionnaire":         []byte(testQuestionnaire),
	}
	for _, tc := range []struct {
		resource string
		query    string
		want     bool
	}{
		{"Goal", "lifecycle-status=active", true},
		{"Goal", "lifecycle-status=completed,active", true},
		{"Goal", "lifecycle-status=Active", false},
		{"Goal", "lifecycle-status:not=active", false},
		{"Goal", "lifecycle-status:not=completed", true},
		{"Goal", "achievement-status=http://terminology.hl7.org/CodeSystem/goal-achievement|worsening", true},
		{"Goal", "achievement-status=|worsening", false},
		{"Goal", "category=MAT5", true},
		{"Goal", "category=mat5", false},
		{"Goal", "category=http://matcare.example/fhir/CodeSystem/treatment-orientation|", true},
		{"Goal", "start-date=2024-06-12", true},
		{"Goal", "start-date=2024-06", true},
		{"Goal", "start-date=gt2024-06-12", false},
		{"Goal", "start-date=ge2024-06-12", true},
		{"Goal", "start-date=sa2024-06-11", true},
		{"Goal", "start-date=eb2024-06-13", true},
		{"Goal", "start-date=ap2024-06-13", true},
		{"Goal", "target-date=le2024-12-31", true},
		{"Goal", "target-date=lt2024-12-31", false},
		{"Goal", "target-date=2024", true},
		{"Goal", "subject=Patient/p03", true},
		{"Goal", "subject=p03", true},
		{"Goal", "subject:Patient=p03", true},
		{"Goal", "subject:Group=p03", false},
		{"Goal", "patient=p04", false},
		{"Goal", "patient=Patient/p03&lifecycle-status=active&start-date=2024", true},
		{"Goal", "patient=Patient/p03&lifecycle-status=proposed", false},
		{"Goal", "_id:missing=true", true},
		{"Goal", "start-date:missing=false", true},
		{"Goal", "identifier:missing=true", true},
		{"Patient", "family=testp", true},
		{"Patient", "family:exact=Testperson", true},
		{"Patient", "family:exact=testperson", false},
		{"Patient", "given=jo", true},
		{"Patient", "name=ale", true},
		{"Patient", "name:contains=ERSO", true},
		{"Patient", "address-city=glas", true},
		{"Patient", "address=gb", true},
		{"Patient", "address-use=home", true},
		{"Patient", "gender=female", true},
		{"Patient", "gender:not=female", false},
		{"Patient", "active=true", true},
		{"Patient", "active=false", false},
		{"Patient", "birthdate=1985", true},
		{"Patient", "birthdate=1985-03-21T04:10:00Z", false},
		{"Patient", "birthdate=ap1985-03-22", true},
		{"Patient", "birthdate=lt1985-03-21", false},
		{"Patient", "identifier=https://fhir.nhs.uk/Id/nhs-number|9990000018", true},
		{"Patient", "identifier=9990000018", true},
		{"Patient", "identifier=|9990000018", false},
		{"Patient", "deceased=false", true},
		{"Patient", "deceased=true", false},
		{"Patient", "email:missing=true", true},
		{"Patient", "death-date:missing=true", true},
		{"Patient2", "identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|12345", true},
		{"Patient2", "identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|1234", false},
		{"Patient2", "identifier:text=medical%20rec", true},
		{"Patient2", "identifier:text=record", false},
		{"Patient2", "family=o%20s", true},
		{"Patient2", "given=siobhan", true},
		{"Patient2", "given:exact=Siobh%C3%A1n", true},
		{"Patient2", "email=Alex@example.org", true},
		{"Patient2", "email=alex@example.org", false},
		{"Patient2", "email=0141%20496%200000", false},
		{"Patient2", "phone=0141%20496%200000", true},
		{"Patient2", "telecom=0141%20496%200000,nobody", true},
		{"Patient2", "deceased=true", true},
		{"Patient2", "death-date=2024-05-02", true},
		{"Patient2", "death-date=2024-05-03", false},
		{"Patient2", "death-date=2024-05-03T00:30:00%2B01:00", true},
		{"Patient2", "death-date=2024-05-03T00:30:00+01:00", true},
		{"Patient2", "death-date=gt2024-05-03T00:30:00Z", false},
		{"Patient2", "general-practitioner:identifier=https://fhir.nhs.uk/Id/gmp-number|G123", true},
		{"Patient2", "general-practitioner=G123", false},
		{"Patient2", "general-practitioner=http://other.example/fhir/Practitioner/pr1", true},
		{"Patient2", "general-practitioner=Practitioner/pr1", false},
		{"CarePlan", "status=active&intent=plan", true},
		{"CarePlan", "subject=Patient/p01", true},
		{"CarePlan", "patient=p01", true},
		{"CarePlan", "goal=g01a", true},
		{"CarePlan", "goal=Goal/g01b", false},
		{"CarePlan", "date=ge2024-05-03", true},
		{"CarePlan", "date=2024", false}, // open end
		{"CarePlan", "date=gt2099", true},
		{"CarePlan", "date=lt2024-05-03", false},
		{"CarePlan", "date=lt2024-05-03T09:15:01Z", true},
		{"CarePlan", "date=eb2024-05-03", false},
		{"CarePlan", "activity-date=ge2024-05-03T14:00:00Z", true},
		{"CarePlan", "activity-date=lt2024-05-03T14:00:00Z", false},
		{"CarePlan", "activity-code=benzo-prescription", true},
		{"CarePlan", "category=http://matcare.example/fhir/CodeSystem/careplan-category|", true},
		{"CarePlan", "category:not=MAT1", false},
		{"CarePlan", "instantiates-canonical:missing=true", true},
		{"QuestionnaireResponse", "questionnaire=http://matcare.example/fhir/Questionnaire/bps-benzo", true},
		{"QuestionnaireResponse", `questionnaire=http://matcare.example/fhir/Questionnaire/bps-benzo|1.0.0`, true},
		{"QuestionnaireResponse", `questionnaire=http://matcare.example/fhir/Questionnaire/bps-benzo|2.0.0`, false},
		// A relative search value never matches an absolute reference;
		// the repository maps its own base URL before matching.
		{"QuestionnaireResponse", "questionnaire=bps-benzo", false},
		{"QuestionnaireResponse", "authored=2024-05-03", true},
		{"QuestionnaireResponse", "authored=2024-05-03T10:00:00Z", true},
		{"QuestionnaireResponse", "authored=2024-05-03T10:00Z", true},
		{"QuestionnaireResponse", "authored=2024-05-03T11:00", false},
		{"QuestionnaireResponse", "authored=gt2024-05-03T10:00:00Z", false},
		{"QuestionnaireResponse", "patient=p01&subject=Patient/p01", true},
		{"QuestionnaireResponse", "status=completed", true},
		{"QuestionnaireResponse", "status:text=compl", false}, // a code has no text
		{"Questionnaire", "context-type-quantity=age$ge18", true},
		{"Questionnaire", "context-type-quantity=focus$ge18", false},
		{"Questionnaire", "context-type-quantity=age$18||a", true},
		{"Questionnaire", "context-type-quantity=age$18||years", true},
		{"Questionnaire", "context-type-quantity=age$18|http://unitsofmeasure.org|years", false},
		{"Questionnaire", "context-type-value=focus$http://snomed.info/sct|66214007", true},
		{"Questionnaire", "context-type-value=age$66214007", false},
		{"Questionnaire", "context-quantity=gt17", true},
		{"Questionnaire", "context-type=focus", true},
		{"Questionnaire", "url:below=http://matcare.example/fhir/", true},
		{"Questionnaire", "url=http://matcare.example/fhir/Questionnaire/q", false},
	} {
		typ := tc.resource
		if typ == "Patient2" {
			typ = "Patient"
		}
		idx, err := Extract(typ, bodies[tc.resource])
		if err != nil {
			t.Fatal(err)
		}
		q, err := url.ParseQuery(tc.query)
		if err != nil {
			t.Fatal(err)
		}
		parsed, issues, err := ParseQuery(typ, q, Lookup)
		if err != nil || len(issues) > 0 || len(parsed.Clauses) == 0 {
			t.Errorf("%s?%s: %v %v", typ, tc.query, err, issues)
			continue
		}
		if got := MatchesAll(parsed.Clauses, idx); got != tc.want {
			t.Errorf("%s %s: got %v, want %v", tc.resource, tc.query, got, tc.want)
		}
	}
}
