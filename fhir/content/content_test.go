package content

import (
	"bytes"
	"strings"
	"testing"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/matcare/matcare/fhir/schema"
)

func TestLoadSubstitutesTheBase(t *testing.T) {
	def, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	if len(def) == 0 {
		t.Fatal("no content")
	}
	got, err := Load("https://fhir.example.scot/r4/")
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range got {
		if bytes.Contains(r.Body, []byte(DefaultBase)) {
			t.Errorf("%s/%s still names %s", r.Type, r.ID, DefaultBase)
		}
		if def[i].URL != "" && !strings.HasPrefix(r.URL, "https://fhir.example.scot/r4/") {
			t.Errorf("%s/%s: url %q", r.Type, r.ID, r.URL)
		}
	}
}

// TestContentIsR4 checks every content file against the R4 JSON schema
// and, for the types the R4 models know, their code bindings.
func TestContentIsR4(t *testing.T) {
	res, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	decoders := map[string]func([]byte) error{
		"CodeSystem": func(b []byte) error { _, err := r4.UnmarshalCodeSystem(b); return err },
		"ValueSet":   func(b []byte) error { _, err := r4.UnmarshalValueSet(b); return err },
	}
	for _, r := range res {
		for _, is := range schema.Validate(r.Type, r.Body) {
			t.Errorf("%s/%s: %+v", r.Type, r.ID, is)
		}
		if dec, ok := decoders[r.Type]; ok {
			if err := dec(r.Body); err != nil {
				t.Errorf("%s/%s: %v", r.Type, r.ID, err)
			}
		}
		if r.URL != DefaultBase+"/"+r.Type+"/"+r.ID {
			t.Errorf("%s/%s: url %s, want %s", r.Type, r.ID, r.URL, DefaultBase+"/"+r.Type+"/"+r.ID)
		}
	}
}
