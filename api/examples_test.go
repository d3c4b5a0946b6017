package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"testing"

	"github.com/matcare/matcare/fhir"
	"github.com/matcare/matcare/fhir/fhirtest"
	"github.com/matcare/matcare/fhir/schema"
)

// TestOfficialExamplesRoundTrip posts official R4 examples of the served
// types and reads them back: each one matcare accepts must come back with
// nothing lost or changed but id and meta's versionId and lastUpdated;
// each one fhirtest documents as rejected (every one the R4 JSON schema
// rejects among them) must be refused with 400. It takes the examples of
// roundTripSample; package fhir's TestExamplesAccepted parses them all.
func TestOfficialExamplesRoundTrip(t *testing.T) {
	e := newEnv(t)
	var total, exact, rejected int
	for _, ex := range roundTripSample(fhirtest.Examples()) {
		t.Run(ex.Name, func(t *testing.T) {
			e.t = t
			total++
			if issues := schema.Validate(ex.Type, ex.Body); len(issues) > 0 && ex.Rejected == "" {
				t.Errorf("the schema rejects it, but fhirtest does not say why matcare would: %v", issues)
			}
			r := e.do("POST", "/"+ex.Type, string(ex.Body))
			if ex.Rejected != "" {
				wantStatus(t, r, http.StatusBadRequest)
				rejected++
				return
			}
			wantStatus(t, r, http.StatusCreated)
			id := r.json(t)["id"].(string)
			g := e.do("GET", "/"+ex.Type+"/"+id, "")
			wantStatus(t, g, http.StatusOK)
			want, got := comparable(t, ex.Body), comparable(t, g.body)
			if !reflect.DeepEqual(want, got) {
				t.Errorf("round trip changed the resource:\nsent %s\ngot  %s", ex.Body, g.body)
				return
			}
			exact++
		})
	}
	e.t = t
	t.Logf("official examples: %d posted, %d round-tripped exactly, %d rejected as documented", total, exact, rejected)
	if exact+rejected != total {
		t.Errorf("%d of %d examples neither round-tripped nor were rejected as documented", total-exact-rejected, total)
	}
}

// roundTripSample keeps the api test's time bounded (it runs under
// -race in CI): every example of a type that has at most 24, and of a
// type with more, 16 evenly spaced by name (Observation: every 4th of
// 64), always with those fhirtest documents as rejected.
func roundTripSample(all []fhirtest.Example) []fhirtest.Example {
	const most, sample = 24, 16
	byType := map[string][]fhirtest.Example{}
	for _, ex := range all {
		byType[ex.Type] = append(byType[ex.Type], ex)
	}
	var out []fhirtest.Example
	for _, ex := range all {
		of := byType[ex.Type]
		i := slices.IndexFunc(of, func(x fhirtest.Example) bool { return x.Name == ex.Name })
		step := (len(of) + sample - 1) / sample
		if len(of) <= most || i%step == 0 || ex.Rejected != "" {
			out = append(out, ex)
		}
	}
	return out
}

// TestRoundTripSample checks the sample: every type and every documented
// rejection is in it, and no type has more than 24.
func TestRoundTripSample(t *testing.T) {
	all := fhirtest.Examples()
	got := roundTripSample(all)
	count := map[string]int{}
	for _, ex := range got {
		count[ex.Type]++
	}
	for _, ex := range all {
		if count[ex.Type] == 0 || count[ex.Type] > 24 {
			t.Errorf("%s: %d examples in the sample", ex.Type, count[ex.Type])
		}
		if ex.Rejected != "" && !slices.ContainsFunc(got, func(x fhirtest.Example) bool { return x.Name == ex.Name }) {
			t.Errorf("%s: documented as rejected, not in the sample", ex.Name)
		}
	}
	if count["Observation"] != 16 || count["Patient"] != 22 {
		t.Errorf("sample: %v", count)
	}
	t.Logf("%d of %d examples: %v", len(got), len(all), count)
}

// comparable decodes a resource keeping number text (1.50 stays 1.50) and
// drops what the server owns: id, meta.versionId and meta.lastUpdated.
func comparable(t *testing.T, b []byte) map[string]any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	delete(m, "id")
	if meta, ok := m["meta"].(map[string]any); ok {
		delete(meta, "versionId")
		delete(meta, "lastUpdated")
		if sec, ok := meta["security"].([]any); ok { // the board label is the server's
			kept := sec[:0]
			for _, l := range sec {
				if c, _ := l.(map[string]any); c["system"] != fhir.BoardSystem {
					kept = append(kept, l)
				}
			}
			meta["security"] = kept
			if len(kept) == 0 {
				delete(meta, "security")
			}
		}
		if len(meta) == 0 {
			delete(m, "meta")
		}
	}
	return m
}
