package search

import (
	"errors"
	"net/url"
	"testing"

	"github.com/matcare/matcare/fhir"
)

// FuzzParseQuery: ParseQuery never panics, and every failure is a 4xx
// *fhir.Error with at least one issue.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{
		"lifecycle-status=active,on-hold&_count=5",
		"subject:Patient.name=peter&_sort=-target-date",
		"_has:Goal:patient:lifecycle-status=active",
		"target-date=ge2024-01-01T00:00:00%2B02:00",
		"probability=ap1e2",
		`identifier=a\|b|c\,d`,
	} {
		f.Add("Goal", s)
	}
	f.Fuzz(func(t *testing.T, typ, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		got, issues, err := ParseQuery(typ, q, queryTestLookup)
		if err == nil {
			if got == nil {
				t.Fatal("nil Query without an error")
			}
			if got.Count < 0 || got.Count > MaxCount {
				t.Fatalf("Count %d", got.Count)
			}
			_ = IssuesError(issues)
			return
		}
		var fe *fhir.Error
		if !errors.As(err, &fe) {
			t.Fatalf("%T %v is not a *fhir.Error", err, err)
		}
		if s := fe.HTTPStatus(); s < 400 || s > 499 || len(fe.Issues) == 0 {
			t.Fatalf("status %d, %d issues: %v", s, len(fe.Issues), err)
		}
	})
}
