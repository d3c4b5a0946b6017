package terminology

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/matcare/matcare/fhir"
)

// compactJSON re-indents nothing: it strips insignificant space.
func compactJSON(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		t.Fatalf("%v: %s", err, s)
	}
	return b.String()
}

func marshal(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// wantStatus checks that err is a *fhir.Error answered with status.
func wantStatus(t *testing.T, err error, status int) {
	t.Helper()
	var fe *fhir.Error
	if !errors.As(err, &fe) {
		t.Fatalf("error %v is not a *fhir.Error", err)
	}
	if fe.HTTPStatus() != status {
		t.Errorf("error %v: status %d, want %d", err, fe.HTTPStatus(), status)
	}
}

func TestLookup(t *testing.T) {
	r := testRegistry(t)
	const (
		head = `{"name":"name","valueString":"H"},{"name":"version","valueString":"2.0"}`
		desA = `{"name":"designation","part":[{"name":"language","valueCode":"en"},{"name":"value","valueString":"Alpha synonym"}]},` +
			`{"name":"designation","part":[{"name":"language","valueCode":"de-CH"},{"name":"value","valueString":"Alfa"}]},` +
			`{"name":"designation","part":[{"name":"language","valueCode":"en"},{"name":"use","valueCoding":{"system":"http://snomed.info/sct","code":"900000000000550004","display":"Definition"}},{"name":"value","valueString":"The very first."}]}`
		defA = `{"name":"property","part":[{"name":"code","valueCode":"definition"},{"name":"value","valueString":"The first."}]}`
	)
	prop := func(code, typ, value string) string {
		return `{"name":"property","part":[{"name":"code","valueCode":"` + code + `"},{"name":"value","value` + typ + `":` + value + `}]}`
	}
	tests := []struct {
		name              string
		system, code, ver string
		properties        []string
		want              string // the parameter array
	}{
		{name: "everything", system: hSys, code: "A", want: head + `,{"name":"display","valueString":"Alpha"},` + desA + `,` + defA + `,` +
			prop("weight", "Integer", "1") + `,` + prop("kind", "Code", `"x"`) + `,` + prop("factor", "Decimal", "0.50") + `,` +
			prop("legacy", "Boolean", "false") + `,` + prop("label", "String", `"first"`) + `,` + prop("since", "DateTime", `"2024-01-01"`) + `,` +
			prop("mapsTo", "Coding", `{"system":"http://other","code":"o1"}`) + `,` + prop("child", "Code", `"A1"`) + `,` + prop("child", "Code", `"A2"`)},
		{name: "version given", system: hSys, code: "A1a", ver: "2.0", want: head + `,{"name":"display","valueString":"Alpha one a"},` + prop("parent", "Code", `"A1"`)},
		{name: "poly-hierarchy parent", system: hSys, code: "B", properties: []string{"parent", "kind"},
			want: head + `,{"name":"display","valueString":"Beta"},` + prop("kind", "Code", `"z"`) + `,` + prop("parent", "Code", `"A1"`)},
		{name: "only definition", system: hSys, code: "A", properties: []string{"definition"}, want: head + `,{"name":"display","valueString":"Alpha"},` + defA},
		{name: "lang.de picks de-CH", system: hSys, code: "A", properties: []string{"lang.de"},
			want: head + `,{"name":"display","valueString":"Alpha"},{"name":"designation","part":[{"name":"language","valueCode":"de-CH"},{"name":"value","valueString":"Alfa"}]}`},
		{name: "unknown property asked", system: hSys, code: "C", properties: []string{"nothing"}, want: head + `,{"name":"display","valueString":"Gamma"}`},
		{name: "case-insensitive system", system: ciSys, code: "bar", properties: []string{"designation"},
			want: `{"name":"name","valueString":"http://t.test/cs/ci"},{"name":"version","valueString":"1"},{"name":"display","valueString":"Bar"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := r.Lookup(tt.system, tt.code, tt.ver)
			if err != nil {
				t.Fatal(err)
			}
			got := marshal(t, res.Parameters(tt.properties))
			want := compactJSON(t, `{"resourceType":"Parameters","parameter":[`+tt.want+`]}`)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Parameters (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLookupNotFound(t *testing.T) {
	r := testRegistry(t)
	for _, tt := range []struct{ system, code, version string }{
		{extSys, "A", ""},
		{hSys, "a", ""}, // h is case-sensitive
		{hSys, "Z", ""},
		{hSys, "A", "1.0"},
		{vsBase + "all-h", "A", ""}, // a value set is no code system
	} {
		_, err := r.Lookup(tt.system, tt.code, tt.version)
		wantStatus(t, err, http.StatusNotFound)
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("Lookup(%v): %v does not wrap ErrNotFound", tt, err)
		}
	}
}
