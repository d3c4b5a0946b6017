package synth

import (
	"bytes"
	"strings"
	"testing"

	"github.com/matcare/matcare/fhir"
)

func TestCHICheckDigit(t *testing.T) {
	// Worked by hand: weights 10..2, check = 11 - (sum mod 11).
	tests := []struct {
		nine  string
		check int
		ok    bool
	}{
		{"010190123", 2, true},  // sum 86, 86 mod 11 = 9 → 2
		{"120345678", 6, true},  // sum 159, mod 11 = 5 → 6
		{"000000000", 0, true},  // sum 0 → 11 → 0
		{"100000000", 1, true},  // sum 10 → 1
		{"000000006", 0, false}, // sum 12, mod 11 = 1 → 10: never issued
		{"12345678", 0, false},  // too short
		{"12345678x", 0, false}, // not a digit
	}
	for _, tt := range tests {
		if c, ok := CHICheckDigit(tt.nine); c != tt.check || ok != tt.ok {
			t.Errorf("CHICheckDigit(%q) = %d, %v; want %d, %v", tt.nine, c, ok, tt.check, tt.ok)
		}
	}
}

// TestGenerate: every resource is valid R4 that matcare accepts, ids are
// unique, CHI numbers are valid and match birth date and sex, references
// point inside the population, and the same seed gives the same bytes.
func TestGenerate(t *testing.T) {
	cfg := Config{Seed: 7, Patients: 20, Boards: []string{"S08000031", "S08000024"}}
	var first []Resource
	ids := map[string]bool{}
	Generate(cfg, func(r Resource) bool {
		first = append(first, r)
		key := r.Type + "/" + r.ID
		if ids[key] {
			t.Errorf("duplicate %s", key)
		}
		ids[key] = true
		res, err := fhir.Parse(r.Type, r.Body)
		if err != nil {
			t.Errorf("%s is not accepted: %v", key, err)
			return true
		}
		for _, p := range res.Patients(r.ID) {
			if !strings.Contains(p, r.Board) {
				t.Errorf("%s is in the compartment of %s, another board's patient", key, p)
			}
		}
		return true
	})
	if n := Count(cfg); n != len(first) || n < 2*20*3 {
		t.Errorf("Count = %d, generated %d", n, len(first))
	}
	for _, r := range first {
		if r.Type != "Patient" {
			continue
		}
		body := string(r.Body)
		i := strings.Index(body, `"value":"`)
		v := body[i+9 : i+19]
		c, ok := CHICheckDigit(v[:9])
		if !ok || int(v[9]-'0') != c {
			t.Errorf("%s: invalid CHI %s", r.ID, v)
		}
		male := strings.Contains(body, `"gender":"male"`)
		if (int(v[8]-'0')%2 == 1) != male {
			t.Errorf("%s: CHI sex digit %c does not match gender", r.ID, v[8])
		}
	}
	i := 0
	Generate(cfg, func(r Resource) bool {
		if i >= len(first) || !bytes.Equal(r.Body, first[i].Body) {
			t.Fatalf("resource %d differs on the second run", i)
		}
		i++
		return true
	})
	same := true
	j := 0
	Generate(Config{Seed: 8, Patients: 20, Boards: cfg.Boards}, func(r Resource) bool {
		if j >= len(first) || !bytes.Equal(r.Body, first[j].Body) {
			same = false
			return false
		}
		j++
		return true
	})
	if same {
		t.Error("another seed generated the same population")
	}
}
