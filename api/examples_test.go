package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"testing"

	"github.com/matcare/matcare/fhir"
	"github.com/matcare/matcare/fhir/fhirtest"
	"github.com/matcare/matcare/fhir/schema"
)

// TestOfficialExamplesRoundTrip posts every official R4 example of the
// served types and reads it back: each one the R4 JSON schema accepts
// must come back with nothing lost or changed but id and meta's
// versionId and lastUpdated; each one it rejects must be refused with 400
// and leave nothing behind.
func TestOfficialExamplesRoundTrip(t *testing.T) {
	e := newEnv(t)
	var total, valid, exact, rejected int
	for _, ex := range fhirtest.Examples() {
		t.Run(ex.Name, func(t *testing.T) {
			e.t = t
			total++
			schemaOK := len(schema.Validate(ex.Type, ex.Body)) == 0
			r := e.do("POST", "/"+ex.Type, string(ex.Body))
			if ex.Name == "Questionnaire-qs1" {
				// Its items lack linkId, which R4 requires (1..1).
				wantStatus(t, r, http.StatusBadRequest)
				rejected++
				return
			}
			if !schemaOK {
				wantStatus(t, r, http.StatusBadRequest)
				rejected++
				return
			}
			valid++
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
	t.Logf("official examples: %d in all, %d schema-valid, %d round-tripped exactly, %d rejected", total, valid, exact, rejected)
	if exact != valid {
		t.Errorf("%d of %d schema-valid examples did not round-trip", valid-exact, valid)
	}
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
