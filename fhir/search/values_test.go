package search

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// oneClause parses typ?raw and returns its only clause.
func oneClause(t *testing.T, typ, raw string) Clause {
	t.Helper()
	q, issues := mustParse(t, typ, raw)
	if len(issues) > 0 || len(q.Clauses) != 1 {
		t.Fatalf("ParseQuery(%s?%s) = %+v, %v; want one clause", typ, raw, q.Clauses, issues)
	}
	return q.Clauses[0]
}

func mustUTC(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func TestDateValues(t *testing.T) {
	tests := []struct {
		raw    string
		prefix Prefix
		lo, hi string
	}{
		{"2024", PrefixEq, "2024-01-01T00:00:00Z", "2025-01-01T00:00:00Z"},
		{"eq2024-02", PrefixEq, "2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z"},
		{"ne2024-02-29", PrefixNe, "2024-02-29T00:00:00Z", "2024-03-01T00:00:00Z"},
		{"gt2024-06-12T10:30", PrefixGt, "2024-06-12T10:30:00Z", "2024-06-12T10:31:00Z"},
		{"lt2024-06-12T10:30:05Z", PrefixLt, "2024-06-12T10:30:05Z", "2024-06-12T10:30:06Z"},
		{"ge2024-06-12T10:30:05.25%2B02:00", PrefixGe, "2024-06-12T08:30:05.25Z", "2024-06-12T08:30:05.26Z"},
		{"le2024-06-12T10:30:05+02:00", PrefixLe, "2024-06-12T08:30:05Z", "2024-06-12T08:30:06Z"}, // unescaped + arrives as a space
		{"sa2024-06-12T10:30:05-05:00", PrefixSa, "2024-06-12T15:30:05Z", "2024-06-12T15:30:06Z"},
		{"eb2024-06-12", PrefixEb, "2024-06-12T00:00:00Z", "2024-06-13T00:00:00Z"},
		{"ap2024-06-12", PrefixAp, "2024-06-11T00:00:00Z", "2024-06-14T00:00:00Z"},
		{"ap2024-06", PrefixAp, "2024-05-02T00:00:00Z", "2024-07-31T00:00:00Z"},
		{"ap2024-06-12T10:30:05Z", PrefixAp, "2024-06-11T10:30:05Z", "2024-06-13T10:30:06Z"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			c := oneClause(t, "Goal", "target-date="+tt.raw)
			v := c.Values[0]
			want := &DateValue{Lo: mustUTC(tt.lo), Hi: mustUTC(tt.hi)}
			if v.Prefix != tt.prefix || !v.Date.Lo.Equal(want.Lo) || !v.Date.Hi.Equal(want.Hi) {
				t.Errorf("%s: %s [%v, %v), want %s [%v, %v)", tt.raw, v.Prefix, v.Date.Lo, v.Date.Hi, tt.prefix, want.Lo, want.Hi)
			}
		})
	}
}

func TestNumberValues(t *testing.T) {
	tests := []struct {
		raw           string
		prefix        Prefix
		value, lo, hi float64
	}{
		{"100", PrefixEq, 100, 99.5, 100.5},
		{"100.00", PrefixEq, 100, 99.995, 100.005},
		{"1e2", PrefixEq, 100, 50, 150},
		{"1.00E+2", PrefixEq, 100, 99.5, 100.5},
		{"2.5e-3", PrefixEq, 0.0025, 0.00245, 0.00255},
		{"gt0.8", PrefixGt, 0.8, 0.75, 0.85},
		{"lt-3", PrefixLt, -3, -3.5, -2.5},
		{"ge+3", PrefixGe, 3, 2.5, 3.5},
		{"le0", PrefixLe, 0, -0.5, 0.5},
		{"ne7", PrefixNe, 7, 6.5, 7.5},
		{"sa7", PrefixSa, 7, 6.5, 7.5},
		{"eb7", PrefixEb, 7, 6.5, 7.5},
		{"ap100", PrefixAp, 100, 90, 110},
		{"ap0.5", PrefixAp, 0.5, 0.45, 0.55},
		{"ap1", PrefixAp, 1, 0.5, 1.5},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			c := oneClause(t, "Observation", "probability="+tt.raw)
			v := c.Values[0]
			want := &NumberValue{Text: tt.raw[len(tt.raw)-len(v.Number.Text):], Value: tt.value, Lo: tt.lo, Hi: tt.hi}
			if v.Prefix != tt.prefix {
				t.Errorf("prefix %s, want %s", v.Prefix, tt.prefix)
			}
			if diff := cmp.Diff(want, v.Number); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	c := oneClause(t, "Observation", "probability=100.0")
	if c.Values[0].Number.Text != "100.0" {
		t.Errorf("raw decimal text %q, want 100.0", c.Values[0].Number.Text)
	}
}

func TestQuantityValues(t *testing.T) {
	tests := []struct {
		raw  string
		want QueryValue
	}{
		{"5.4", QueryValue{Raw: "5.4", Prefix: PrefixEq, Quantity: &QuantityValue{NumberValue: NumberValue{Text: "5.4", Value: 5.4, Lo: 5.35, Hi: 5.45}}}},
		{"le5.4|http://unitsofmeasure.org|mg", QueryValue{Raw: "le5.4|http://unitsofmeasure.org|mg", Prefix: PrefixLe,
			Quantity: &QuantityValue{NumberValue: NumberValue{Text: "5.4", Value: 5.4, Lo: 5.35, Hi: 5.45}, System: "http://unitsofmeasure.org", Code: "mg"}}},
		{"5||mg", QueryValue{Raw: "5||mg", Prefix: PrefixEq, Quantity: &QuantityValue{NumberValue: NumberValue{Text: "5", Value: 5, Lo: 4.5, Hi: 5.5}, Code: "mg"}}},
		{`ap5||mm\|Hg`, QueryValue{Raw: `ap5||mm\|Hg`, Prefix: PrefixAp, Quantity: &QuantityValue{NumberValue: NumberValue{Text: "5", Value: 5, Lo: 4.5, Hi: 5.5}, Code: "mm|Hg"}}},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			c := oneClause(t, "Observation", "value-quantity="+escapeQuery(tt.raw))
			if diff := cmp.Diff(tt.want, c.Values[0]); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func escapeQuery(s string) string {
	r := []byte{}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '+', '&', '%', '#':
			r = append(r, []byte("%"+"0123456789ABCDEF"[s[i]>>4:s[i]>>4+1]+"0123456789ABCDEF"[s[i]&15:s[i]&15+1])...)
		default:
			r = append(r, s[i])
		}
	}
	return string(r)
}

func TestTokenValues(t *testing.T) {
	tests := []struct {
		key, raw string
		mod      Modifier
		want     QueryValue
	}{
		{"lifecycle-status", "active", ModNone, QueryValue{Raw: "active", Token: &TokenValue{Code: "active", AnySystem: true}}},
		{"identifier", "http://acme.org/mrn|12345", ModNone, QueryValue{Raw: "http://acme.org/mrn|12345", Token: &TokenValue{System: "http://acme.org/mrn", Code: "12345"}}},
		{"identifier", "|12345", ModNone, QueryValue{Raw: "|12345", Token: &TokenValue{Code: "12345"}}},
		{"identifier", "http://acme.org/mrn|", ModNone, QueryValue{Raw: "http://acme.org/mrn|", Token: &TokenValue{System: "http://acme.org/mrn"}}},
		{"identifier", `a\|b|c\,d\\`, ModNone, QueryValue{Raw: `a\|b|c\,d\\`, Token: &TokenValue{System: "a|b", Code: `c,d\`}}},
		{"lifecycle-status:not", "completed", ModNot, QueryValue{Raw: "completed", Token: &TokenValue{Code: "completed", AnySystem: true}}},
		{"lifecycle-status:text", "On  Hóld", ModText, QueryValue{Raw: "On  Hóld", String: "On  Hóld", Normalized: "on hold"}},
		{"identifier:of-type", "http://terminology.hl7.org/CodeSystem/v2-0203|MR|446053", ModOfType, QueryValue{Raw: "http://terminology.hl7.org/CodeSystem/v2-0203|MR|446053",
			Token: &TokenValue{TypeSystem: "http://terminology.hl7.org/CodeSystem/v2-0203", TypeCode: "MR", Code: "446053"}}},
		{"lifecycle-status:missing", "true", ModMissing, QueryValue{Raw: "true", Missing: true}},
		{"lifecycle-status:missing", "false", ModMissing, QueryValue{Raw: "false"}},
		{"_id", "abc", ModNone, QueryValue{Raw: "abc", Token: &TokenValue{Code: "abc", AnySystem: true}}},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.raw, func(t *testing.T) {
			c := oneClause(t, "Goal", tt.key+"="+escapeQuery(tt.raw))
			if c.Modifier != tt.mod {
				t.Errorf("modifier %q, want %q", c.Modifier, tt.mod)
			}
			if diff := cmp.Diff(tt.want, c.Values[0]); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestStringValues(t *testing.T) {
	tests := []struct {
		key, raw   string
		mod        Modifier
		str, normd string
	}{
		{"name", "Peter", ModNone, "Peter", "peter"},
		{"name:exact", "Peter", ModExact, "Peter", "peter"},
		{"name:contains", "  Zoë   Müller ", ModContains, "  Zoë   Müller ", "zoe muller"},
		{"name", `Smith\, John`, ModNone, "Smith, John", "smith, john"},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.raw, func(t *testing.T) {
			c := oneClause(t, "Patient", tt.key+"="+escapeQuery(tt.raw))
			v := c.Values[0]
			if c.Modifier != tt.mod || v.String != tt.str || v.Normalized != tt.normd {
				t.Errorf("got %q %q %q, want %q %q %q", c.Modifier, v.String, v.Normalized, tt.mod, tt.str, tt.normd)
			}
		})
	}
}

func TestNormalizeString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"   ", ""},
		{"ABC", "abc"},
		{"Ångström", "angstrom"},
		{"  José\t\nGarcía  ", "jose garcia"},
		{"ﬁne", "fine"},        // compatibility ligature
		{"Cafe\u0301", "cafe"}, // decomposed accent
		{"ÆSIR", "æsir"},
		{"ДМИТРИЙ", "дмитрии"}, // Й decomposes to И + breve
		{"\xff", "\ufffd"},
	}
	for _, tt := range tests {
		if got := NormalizeString(tt.in); got != tt.want {
			t.Errorf("NormalizeString(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestReferenceValues(t *testing.T) {
	tests := []struct {
		typ, key, raw string
		mod           Modifier
		target        string
		want          QueryValue
	}{
		{"Goal", "patient", "123", ModNone, "", QueryValue{Raw: "123", Reference: &ReferenceValue{Type: "Patient", ID: "123"}}},
		{"Goal", "subject", "123", ModNone, "", QueryValue{Raw: "123", Reference: &ReferenceValue{ID: "123"}}},
		{"Goal", "subject", "Group/g.1", ModNone, "", QueryValue{Raw: "Group/g.1", Reference: &ReferenceValue{Type: "Group", ID: "g.1"}}},
		{"Goal", "subject", "Patient/1/_history/2", ModNone, "", QueryValue{Raw: "Patient/1/_history/2", Reference: &ReferenceValue{Type: "Patient", ID: "1", Version: "2"}}},
		{"Goal", "subject:Patient", "123", ModType, "Patient", QueryValue{Raw: "123", Reference: &ReferenceValue{Type: "Patient", ID: "123"}}},
		{"Goal", "subject:Patient", "Patient/123", ModType, "Patient", QueryValue{Raw: "Patient/123", Reference: &ReferenceValue{Type: "Patient", ID: "123"}}},
		{"Goal", "subject", "https://fhir.example.org/r4/Patient/123", ModNone, "", QueryValue{Raw: "https://fhir.example.org/r4/Patient/123",
			Reference: &ReferenceValue{URL: "https://fhir.example.org/r4/Patient/123", Type: "Patient", ID: "123"}}},
		{"Goal", "subject", "https://x.org/Patient/1/_history/3", ModNone, "", QueryValue{Raw: "https://x.org/Patient/1/_history/3",
			Reference: &ReferenceValue{URL: "https://x.org/Patient/1/_history/3", Type: "Patient", ID: "1", Version: "3"}}},
		{"Goal", "subject", "urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0", ModNone, "", QueryValue{Raw: "urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0",
			Reference: &ReferenceValue{URL: "urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0"}}},
		{"Goal", "subject:identifier", "http://acme.org/mrn|12345", ModIdentifier, "", QueryValue{Raw: "http://acme.org/mrn|12345", Token: &TokenValue{System: "http://acme.org/mrn", Code: "12345"}}},
		{"Goal", "subject:missing", "true", ModMissing, "", QueryValue{Raw: "true", Missing: true}},
		{"Patient", "link", "RelatedPerson/7", ModNone, "", QueryValue{Raw: "RelatedPerson/7", Reference: &ReferenceValue{Type: "RelatedPerson", ID: "7"}}},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.raw, func(t *testing.T) {
			c := oneClause(t, tt.typ, tt.key+"="+escapeQuery(tt.raw))
			if c.Modifier != tt.mod || c.TargetType != tt.target {
				t.Errorf("modifier %q %q, want %q %q", c.Modifier, c.TargetType, tt.mod, tt.target)
			}
			if diff := cmp.Diff(tt.want, c.Values[0]); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestURIValues(t *testing.T) {
	for _, tt := range []struct {
		key string
		mod Modifier
	}{{"url", ModNone}, {"url:below", ModBelow}, {"url:above", ModAbove}} {
		c := oneClause(t, "ValueSet", tt.key+"=http://acme.org/fhir/ValueSet/123")
		if c.Modifier != tt.mod || c.Values[0].URI != "http://acme.org/fhir/ValueSet/123" {
			t.Errorf("%s: %+v", tt.key, c)
		}
	}
}

func TestCompositeAndSpecialValues(t *testing.T) {
	c := oneClause(t, "Observation", "code-value-quantity=http://loinc.org|8480-6$gt150||mm[Hg]")
	want := []QueryValue{
		{Raw: "http://loinc.org|8480-6", Token: &TokenValue{System: "http://loinc.org", Code: "8480-6"}},
		{Raw: "gt150||mm[Hg]", Prefix: PrefixGt, Quantity: &QuantityValue{NumberValue: NumberValue{Text: "150", Value: 150, Lo: 149.5, Hi: 150.5}, Code: "mm[Hg]"}},
	}
	if diff := cmp.Diff(want, c.Values[0].Composite); diff != "" {
		t.Errorf("composite (-want +got):\n%s", diff)
	}
	c = oneClause(t, "Observation", "near=42.2|-71.1|10|km")
	if c.Values[0].String != "42.2|-71.1|10|km" {
		t.Errorf("special: %+v", c.Values[0])
	}
}

func TestModifiers(t *testing.T) {
	ok := map[Kind][]string{
		String:    {"exact", "contains", "missing"},
		Token:     {"not", "text", "of-type", "missing"},
		Reference: {"identifier", "missing", "Patient"},
		Date:      {"missing"},
		Number:    {"missing"},
		Quantity:  {"missing"},
		URI:       {"below", "above", "missing"},
	}
	bad := []string{"in", "not-in", "below", "above", "exact", "contains", "text", "not", "of-type", "identifier", "iterate", "Patient2", "x"}
	for kind, mods := range ok {
		sp := Param{Name: "p", Kind: kind}
		for _, m := range mods {
			if _, _, err := checkModifier(sp, m); err != nil {
				t.Errorf("%s:%s: %s", kind, m, err.msg)
			}
		}
		for _, m := range bad {
			if containsString(mods, m) {
				continue
			}
			if _, _, err := checkModifier(sp, m); err == nil {
				t.Errorf("%s:%s accepted", kind, m)
			}
		}
	}
	if got := SupportedModifiers(Token); !containsString(toStrings(got), "not") {
		t.Errorf("SupportedModifiers(Token) = %v", got)
	}
}

func containsString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func toStrings(ms []Modifier) []string {
	var out []string
	for _, m := range ms {
		out = append(out, string(m))
	}
	return out
}
