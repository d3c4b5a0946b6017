package clinical

import (
	"math"
	"strings"
	"testing"
)

func TestEquivalent(t *testing.T) {
	tests := []struct {
		drug      string
		mg        float64
		low, high float64
		ok        bool
	}{
		{"diazepam", 10, 10, 10, true},
		{"diazepam", 0, 0, 0, true},
		{"lorazepam", 1, 10, 10, true},         // 0.5 mg ~ diazepam 5 mg
		{"chlordiazepoxide", 25, 10, 10, true}, // 12.5 mg ~ 5 mg
		{"temazepam", 20, 10, 10, true},
		{"zopiclone", 7.5, 5.0025, 5.0025, true}, // factor stored as 0.667
		{"clonazepam", 1, 10, 20, true},          // [S]/[A] 20, VA/DoD 10
		{"alprazolam", 1.5, 15, 30, true},
		{"oxazepam", 30, 9.99, 15, true}, // [W] 15 mg ~ 5 mg, [S] 10 mg ~ 5 mg
		{"loprazolam", 1, 5, 10, true},
		{"bromazepam", 3, 5.001, 5.001, true},
		{"etizolam", 1, 10, 10, true},
		{"street-benzodiazepine", 10, 0, 0, false},
		{"bromazolam", 1, 0, 0, false},
		{"nps-benzodiazepine", 1, 0, 0, false},
		{"methadone", 60, 0, 0, false},
		{"diazepam", -1, 0, 0, false},
	}
	for _, tt := range tests {
		low, high, ok := Equivalent(tt.drug, tt.mg)
		if ok != tt.ok || math.Abs(low-tt.low) > 1e-9 || math.Abs(high-tt.high) > 1e-9 {
			t.Errorf("Equivalent(%s, %g) = %g, %g, %v; want %g, %g, %v", tt.drug, tt.mg, low, high, ok, tt.low, tt.high, tt.ok)
		}
	}
}

// TestDrugTableCoversDomain checks the table has every drug of DOMAIN.md
// §3.3 and the shape the checks rely on.
func TestDrugTableCoversDomain(t *testing.T) {
	tab, err := DefaultDrugs()
	if err != nil {
		t.Fatal(err)
	}
	if tab.Version != "2026.1" || tab.URL != CodeSystemURL(base, CSBenzodiazepine) {
		t.Errorf("table %s|%s", tab.URL, tab.Version)
	}
	known := []string{"diazepam", "chlordiazepoxide", "clobazam", "clonazepam", "loprazolam", "lorazepam", "lormetazepam",
		"nitrazepam", "oxazepam", "temazepam", "zolpidem", "zopiclone", "alprazolam", "flunitrazepam", "bromazepam", "etizolam"}
	unknown := []string{"bromazolam", "flubromazolam", "clonazolam", "flubromazepam", "gidazepam", "nps-benzodiazepine", "street-benzodiazepine"}
	for _, code := range known {
		d, ok := tab.Drug(code)
		if !ok || d.UnknownEquivalence || d.FactorLow <= 0 || d.FactorHigh < d.FactorLow || d.Source == "" || len(d.Synonyms) == 0 {
			t.Errorf("%s: %+v", code, d)
		}
	}
	for _, code := range unknown {
		if d, ok := tab.Drug(code); !ok || !d.UnknownEquivalence || d.Source == "" || len(d.Synonyms) == 0 {
			t.Errorf("%s: %+v", code, d)
		}
	}
	if n := len(tab.drugs); n != len(known)+len(unknown) {
		t.Errorf("%d drugs, want %d", n, len(known)+len(unknown))
	}
}

func TestLoadDrugsUnderBase(t *testing.T) {
	tab, err := LoadDrugs("https://fhir.example.scot/r4")
	if err != nil {
		t.Fatal(err)
	}
	if tab.URL != "https://fhir.example.scot/r4/CodeSystem/benzodiazepine" {
		t.Errorf("URL %s", tab.URL)
	}
	code, ok := tab.Identify("https://fhir.example.scot/r4", []byte(`{"coding":[{"system":"https://fhir.example.scot/r4/CodeSystem/benzodiazepine","code":"lorazepam"}]}`))
	if !ok || code != "lorazepam" {
		t.Errorf("Identify = %q, %v", code, ok)
	}
}

func TestMatch(t *testing.T) {
	tab, err := DefaultDrugs()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ text, code string }{
		{"Diazepam 5 mg tablets", "diazepam"},
		{"VALIUM 2mg", "diazepam"},
		{"street valium", "street-benzodiazepine"},
		{"Street Valium (blues)", "street-benzodiazepine"},
		{"blues", "street-benzodiazepine"},
		{"Diazepam 10mg/2ml solution for injection", "diazepam"},
		{"Lorazepam 1mg tablets", "lorazepam"},
		{"Zopiclone 7.5mg tablets", "zopiclone"},
		{"bromazolam powder", "bromazolam"},
		{"designer benzo", "nps-benzodiazepine"},
		{"diazepam and lorazepam", ""}, // two drugs: not identified
		{"Methadone 1mg/ml oral solution", ""},
		{"street", ""},
		{"", ""},
	}
	for _, tt := range tests {
		code, ok := tab.Match(tt.text)
		if code != tt.code || ok != (tt.code != "") {
			t.Errorf("Match(%q) = %q, %v; want %q", tt.text, code, ok, tt.code)
		}
	}
}

func TestIdentify(t *testing.T) {
	tab, err := DefaultDrugs()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ cc, code string }{
		{`{"coding":[{"system":"` + base + `/CodeSystem/benzodiazepine","code":"clonazepam"}],"text":"Diazepam"}`, "clonazepam"}, // the code wins
		{`{"coding":[{"system":"` + base + `/CodeSystem/benzodiazepine","code":"nonesuch"}],"text":"Diazepam"}`, ""},
		{`{"coding":[{"system":"https://dmd.nhs.uk","code":"42483111000001107","display":"Lorazepam 1mg tablets"}]}`, "lorazepam"},
		{`{"coding":[{"system":"https://dmd.nhs.uk","code":"1","display":"Lorazepam 1mg tablets"}],"text":"Diazepam 5mg"}`, ""}, // contradictory
		{`{"text":"Diazepam 5 mg tablets"}`, "diazepam"},
		{`{"coding":[{"system":"http://example.org/other","code":"diazepam"}]}`, ""},
		{`{}`, ""},
		{`"diazepam"`, ""},
	}
	for _, tt := range tests {
		code, ok := tab.Identify(base, []byte(tt.cc))
		if ok != (tt.code != "") || (ok && code != tt.code) {
			t.Errorf("Identify(%s) = %q, %v; want %q", tt.cc, code, ok, tt.code)
		}
	}
}

func TestParseDrugsRejects(t *testing.T) {
	tests := []struct{ body, error string }{
		{`{"resourceType":"ValueSet"}`, "resourceType"},
		{`{"resourceType":"CodeSystem","concept":[{"code":"x"}]}`, "unknownEquivalence"},
		{`{"resourceType":"CodeSystem","concept":[{"code":"x","property":[{"code":"unknownEquivalence","valueBoolean":false}]}]}`, "factors"},
		{`{"resourceType":"CodeSystem","concept":[{"code":"x","property":[{"code":"unknownEquivalence","valueBoolean":false},{"code":"diazepamFactorLow","valueDecimal":2},{"code":"diazepamFactorHigh","valueDecimal":1}]}]}`, "factors"},
		{`{"resourceType":"CodeSystem","concept":[{"code":"x","property":[{"code":"unknownEquivalence","valueBoolean":true}]},{"code":"x","property":[{"code":"unknownEquivalence","valueBoolean":true}]}]}`, "two concepts"},
		{`{"resourceType":"CodeSystem","concept":[{"property":[{"code":"unknownEquivalence","valueBoolean":true}]}]}`, "without code"},
		{`[`, "CodeSystem"},
	}
	for _, tt := range tests {
		_, err := ParseDrugs([]byte(tt.body))
		if err == nil || !strings.Contains(err.Error(), tt.error) {
			t.Errorf("ParseDrugs(%s) = %v, want %q", tt.body, err, tt.error)
		}
	}
}
