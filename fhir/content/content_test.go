package content

import (
	"bytes"
	"strings"
	"testing"
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
