package api_test

import (
	"net/http"
	"slices"
	"testing"
)

// TestGoalNextReview searches Goals by matcare's own parameter next-review
// (DOMAIN.md §2.3): the date of the next-review-date extension, under any
// canonical base, with date prefixes, :missing and sorting; the
// CapabilityStatement lists it with its definition.
func TestGoalNextReview(t *testing.T) {
	e := newEnv(t)
	goal := func(id, ext string) {
		t.Helper()
		body := `{"resourceType":"Goal","id":"` + id + `","lifecycleStatus":"active","description":{"text":"x"},` +
			`"subject":{"reference":"Patient/p1"}` + ext + `}`
		wantStatus(t, e.do("PUT", "/Goal/"+id, body), http.StatusCreated)
	}
	review := func(url, date string) string {
		return `,"extension":[{"url":"` + url + `","valueDate":"` + date + `"}]`
	}
	goal("due-2024", review("http://matcare.example/fhir/StructureDefinition/next-review-date", "2024-12-20"))
	goal("due-2025", review("http://matcare.example/fhir/StructureDefinition/next-review-date", "2025-01-01"))
	// A deployment with its own canonical base.
	goal("due-2025-scot", review("https://fhir.example.scot/r4/StructureDefinition/next-review-date", "2025-03"))
	goal("no-review", "")
	goal("other-extension", review("http://example.org/StructureDefinition/next-review-date-x", "2024-01-01"))

	tests := []struct {
		query string
		want  []string
	}{
		{"next-review=lt2025-01-01", []string{"Goal/due-2024"}},
		{"next-review=ge2025-01-01", []string{"Goal/due-2025", "Goal/due-2025-scot"}},
		{"next-review=2025-03", []string{"Goal/due-2025-scot"}},
		{"next-review=2025-03-15", nil}, // the month does not fall within one day
		{"next-review=le2025-01-01&next-review=gt2024-12-31", []string{"Goal/due-2025"}},
		{"next-review:missing=true", []string{"Goal/no-review", "Goal/other-extension"}},
		{"next-review:missing=false", []string{"Goal/due-2024", "Goal/due-2025", "Goal/due-2025-scot"}},
	}
	for _, tt := range tests {
		r := e.do("GET", "/Goal?"+tt.query, "")
		wantStatus(t, r, http.StatusOK)
		if got := modeIDs(t, r.json(t), "match"); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.query, got, tt.want)
		}
	}

	r := e.do("GET", "/Goal?next-review:missing=false&_sort=-next-review&_elements=id", "")
	wantStatus(t, r, http.StatusOK)
	var order []string
	for _, en := range asSlice(r.json(t)["entry"]) {
		order = append(order, en.(map[string]any)["resource"].(map[string]any)["id"].(string))
	}
	if want := []string{"due-2025-scot", "due-2025", "due-2024"}; !slices.Equal(order, want) {
		t.Errorf("_sort=-next-review: %v, want %v", order, want)
	}
	wantStatus(t, e.do("GET", "/Goal?next-review=soon", ""), http.StatusBadRequest)

	m := e.do("GET", "/metadata", "")
	wantStatus(t, m, http.StatusOK)
	found := false
	for _, res := range asSlice(asSlice(m.json(t)["rest"])[0].(map[string]any)["resource"]) {
		rm := res.(map[string]any)
		if rm["type"] != "Goal" {
			continue
		}
		for _, sp := range asSlice(rm["searchParam"]) {
			spm := sp.(map[string]any)
			if spm["name"] == "next-review" {
				found = true
				if spm["type"] != "date" || spm["definition"] != "http://matcare.example/fhir/SearchParameter/Goal-next-review" {
					t.Errorf("CapabilityStatement Goal next-review: %v", spm)
				}
			}
		}
	}
	if !found {
		t.Error("CapabilityStatement: Goal has no searchParam next-review")
	}
}
