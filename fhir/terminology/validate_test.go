package terminology

import (
	"net/http"
	"strings"
	"testing"
)

func TestValidateCode(t *testing.T) {
	r := testRegistry(t)
	tests := []struct {
		name       string
		url, ver   string
		codings    []Coding
		result     bool
		display    string
		messageHas string // "" when there must be no message
	}{
		{"valid", hSys, "", []Coding{{Code: "A"}}, true, "Alpha", ""},
		{"valid with version", hSys, "2.0", []Coding{{System: hSys, Code: "A1", Display: "Alpha one"}}, true, "Alpha one", ""},
		{"designation as display", hSys, "", []Coding{{Code: "A", Display: "alfa"}}, true, "Alpha", ""},
		{"unknown code", hSys, "", []Coding{{Code: "Z"}}, false, "", `unknown code "Z"`},
		{"wrong case", hSys, "", []Coding{{Code: "a"}}, false, "", `unknown code "a"`},
		{"wrong display", hSys, "", []Coding{{Code: "A", Display: "Beta"}}, false, "Alpha", `display "Beta" is not a valid display`},
		{"definition variant is no display", hSys, "", []Coding{{Code: "A", Display: "The very first."}}, false, "Alpha", "not a valid display"},
		{"inactive", hSys, "", []Coding{{Code: "A2"}}, true, "Alpha two", "inactive"},
		{"retired", hSys, "", []Coding{{Code: "C"}}, true, "Gamma", "inactive"},
		{"coding of another system", hSys, "", []Coding{{System: ciSys, Code: "Foo"}}, false, "", "is not code system"},
		{"coding version", hSys, "", []Coding{{Code: "A", Version: "1.0"}}, false, "", `version "1.0"`},
		{"codeable concept, second valid", hSys, "", []Coding{{System: ciSys, Code: "Foo"}, {System: hSys, Code: "B"}}, true, "Beta", ""},
		{"codeable concept, none valid", hSys, "", []Coding{{Code: "Z"}, {Code: "A", Display: "x"}}, false, "Alpha", `unknown code "Z" in code system http://t.test/cs/h (version 2.0); display "x"`},
		{"case-insensitive system", ciSys, "", []Coding{{Code: "FOO", Display: "foo"}}, true, "Foo", ""},
		{"fragment", fragSys, "", []Coding{{Code: "f9"}}, false, "", "fragment content"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := r.ValidateCode(tt.url, tt.ver, tt.codings...)
			if err != nil {
				t.Fatal(err)
			}
			checkValidation(t, v, tt.result, tt.display, tt.messageHas)
		})
	}
	for _, tt := range []struct {
		url, ver string
		status   int
	}{{extSys, "", http.StatusNotFound}, {hSys, "3", http.StatusNotFound}, {vsBase + "all-h", "", http.StatusNotFound}} {
		_, err := r.ValidateCode(tt.url, tt.ver, Coding{Code: "A"})
		wantStatus(t, err, tt.status)
	}
	_, err := r.ValidateCode(hSys, "")
	wantStatus(t, err, http.StatusBadRequest)
}

func checkValidation(t *testing.T, v Validation, result bool, display, messageHas string) {
	t.Helper()
	if v.Result != result || v.Display != display {
		t.Errorf("result %v display %q (message %q), want %v %q", v.Result, v.Display, v.Message, result, display)
	}
	switch {
	case messageHas == "" && v.Message != "":
		t.Errorf("message %q, want none", v.Message)
	case !strings.Contains(v.Message, messageHas):
		t.Errorf("message %q lacks %q", v.Message, messageHas)
	}
	if !result && v.Message == "" {
		t.Error("an invalid code without a message")
	}
}

func TestValidateValueSetCode(t *testing.T) {
	r := testRegistry(t)
	tests := []struct {
		name       string
		vs         string
		codings    []Coding
		result     bool
		display    string
		messageHas string
	}{
		{"member", "isa", []Coding{{System: hSys, Code: "A1a"}}, true, "Alpha one a", ""},
		{"member by poly-hierarchy", "isa", []Coding{{System: hSys, Code: "B", Display: "beta"}}, true, "Beta", ""},
		{"not a member", "isa", []Coding{{System: hSys, Code: "A"}}, false, "Alpha", `code "A" of code system http://t.test/cs/h is not in value set http://t.test/vs/isa`},
		{"unknown code", "isa", []Coding{{System: hSys, Code: "Q"}}, false, "", `unknown code "Q"`},
		{"no system", "isa", []Coding{{Code: "A1"}}, false, "", "has no system"},
		{"unknown system", "isa", []Coding{{System: "http://nowhere", Code: "A1"}}, false, "", "not known to this server"},
		{"wrong display", "isa", []Coding{{System: hSys, Code: "A1", Display: "Alpha"}}, false, "Alpha one", "not a valid display"},
		{"value set display", "list", []Coding{{System: hSys, Code: "A", Display: "Alpha (in this set)"}}, true, "Alpha (in this set)", ""},
		{"code system display in a set with its own", "list", []Coding{{System: hSys, Code: "A", Display: "Alpha"}}, true, "Alpha (in this set)", ""},
		{"external code", "list", []Coding{{System: extSys, Code: "x1", Display: "Ext 1"}}, true, "External one", ""},
		{"external code, wrong version", "list", []Coding{{System: extSys, Code: "x1", Version: "8"}}, false, "External one", `not version "8"`},
		{"external code, wrong display", "list", []Coding{{System: extSys, Code: "x1", Display: "x"}}, false, "External one", "not a valid display"},
		{"external code, not listed", "list", []Coding{{System: extSys, Code: "x2"}}, false, "", "not in value set"},
		{"held code, wrong version", "list", []Coding{{System: hSys, Code: "B", Version: "1.0"}}, false, "", `version "1.0"`},
		{"inactive member", "all-h", []Coding{{System: hSys, Code: "A2"}}, true, "Alpha two", "inactive"},
		{"inactive excluded", "active", []Coding{{System: hSys, Code: "A2"}}, false, "Alpha two", "not in value set"},
		{"case-insensitive", "ci", []Coding{{System: ciSys, Code: "bar"}}, true, "", ""}, // Bar has no display
		{"codeable concept", "kind-x", []Coding{{System: hSys, Code: "B"}, {System: hSys, Code: "A"}}, true, "Alpha", ""},
		{"fragment listed", "frag-list", []Coding{{System: fragSys, Code: "f2", Display: "F two"}}, true, "F two", ""},
		{"stored expansion", "expanded", []Coding{{System: extSys, Code: "e1"}}, true, "E one", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := r.ValidateValueSetCode(vsBase+tt.vs, "", tt.codings...)
			if err != nil {
				t.Fatal(err)
			}
			checkValidation(t, v, tt.result, tt.display, tt.messageHas)
		})
	}
	for _, tt := range []struct {
		url, ver string
		status   int
	}{
		{vsBase + "nowhere", "", http.StatusNotFound},
		{vsBase + "isa", "2.0", http.StatusNotFound},
		{hSys, "", http.StatusNotFound}, // a code system is no value set
		{vsBase + "broken", "", http.StatusUnprocessableEntity},
	} {
		_, err := r.ValidateValueSetCode(tt.url, tt.ver, Coding{System: hSys, Code: "A"})
		wantStatus(t, err, tt.status)
	}
	_, err := r.ValidateValueSetCode(vsBase+"isa", "1.0")
	wantStatus(t, err, http.StatusBadRequest)
}

func TestValidationParameters(t *testing.T) {
	got := marshal(t, Validation{Result: false, Message: "m", Display: "d"}.Parameters())
	want := `{"resourceType":"Parameters","parameter":[{"name":"result","valueBoolean":false},{"name":"message","valueString":"m"},{"name":"display","valueString":"d"}]}`
	if got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
	if got := marshal(t, Validation{Result: true}.Parameters()); got != `{"resourceType":"Parameters","parameter":[{"name":"result","valueBoolean":true}]}` {
		t.Errorf("got %s", got)
	}
}
