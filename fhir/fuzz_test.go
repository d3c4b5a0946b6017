package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// FuzzParse feeds arbitrary bodies to the write path's parsing and
// validation: it must never panic, every rejection must be a client
// error (*Error with a 4xx status), and an accepted resource must stamp
// into valid JSON that parses again with the same id.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		goal,
		`{"resourceType":"Goal","id":"a","meta":{"tag":[{"code":"x"}]},"lifecycleStatus":"active","description":{"text":"x"},"subject":{"reference":"Patient/1"},"target":[{"detailQuantity":{"value":1.50}}]}`,
		`{"resourceType":"Questionnaire","status":"draft","item":[{"linkId":"1","type":"group","item":[{"linkId":"1.1","type":"string"}]}]}`,
		`{"resourceType":"Patient","_birthDate":{"extension":[{"url":"http://x","valueString":"y"}]},"contained":[{"resourceType":"Patient","id":"c"}]}`,
		`{"resourceType":"Goal","lifecycleStatus":"active","lifecycleStatus":"x"}`,
		`[1,2]`, `null`, `{"resourceType":"Goal"}{}`, `{"a":[[[[[]]]]]}`,
	} {
		f.Add("Goal", []byte(s))
	}
	f.Add("Patient", []byte(`{"resourceType":"Patient","name":[{"given":["a",null],"_given":[null,{"id":"x"}]}]}`))
	f.Fuzz(func(t *testing.T, typ string, body []byte) {
		res, err := Parse(typ, body)
		if err != nil {
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *fhir.Error", err)
			}
			if st := fe.HTTPStatus(); st < 400 || st >= 500 {
				t.Fatalf("rejection with status %d: %v", st, err)
			}
			return
		}
		out, err := res.Stamp("id-1", 2, time.Unix(0, 0), "S08000031")
		if err != nil {
			t.Fatalf("Stamp of an accepted resource: %v", err)
		}
		if !json.Valid(out) {
			t.Fatalf("Stamp produced invalid JSON: %s", out)
		}
		again, err := Parse(typ, out)
		if err != nil {
			t.Fatalf("stamped resource no longer parses: %v\n%s", err, out)
		}
		if again.ID != "id-1" || !bytes.Contains(out, []byte(`"versionId":"2"`)) {
			t.Fatalf("stamp lost: %s", out)
		}
	})
}
