package fhir

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/matcare/matcare/fhir/fhirtest"
)

// TestExamplesAccepted parses and stamps every official R4 example of the
// served types: each is accepted, but those fhirtest documents as
// rejected, which fail with 400. (The api package round-trips a sample of
// them over HTTP.)
func TestExamplesAccepted(t *testing.T) {
	accepted := 0
	for _, ex := range fhirtest.Examples() {
		if _, ok := Types[ex.Type]; !ok {
			t.Errorf("%s: %s is not a served type", ex.Name, ex.Type)
			continue
		}
		res, err := Parse(ex.Type, ex.Body)
		if ex.Rejected != "" {
			var fe *Error
			if !errors.As(err, &fe) || fe.HTTPStatus() != http.StatusBadRequest {
				t.Errorf("%s: Parse = %v, want 400 (%s)", ex.Name, err, ex.Rejected)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", ex.Name, err)
			continue
		}
		board := "S08000031"
		if IsShared(ex.Type) {
			board = ""
		}
		if _, err := res.Stamp("x", 1, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), board); err != nil {
			t.Errorf("%s: Stamp: %v", ex.Name, err)
			continue
		}
		accepted++
	}
	t.Logf("%d examples accepted", accepted)
}
