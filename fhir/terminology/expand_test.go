package terminology

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// all asks for every code.
func all(url string) ExpandRequest { return ExpandRequest{URL: url, Count: -1} }

// expandCodes expands vs and returns its codes as system-less codes for
// h and system|code for others.
func expandCodes(t *testing.T, r *Registry, req ExpandRequest) []string {
	t.Helper()
	x, err := r.Expand(req)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range x.Contains {
		if c.System == hSys {
			out = append(out, c.Code)
		} else {
			out = append(out, c.System+"|"+c.Code)
		}
	}
	return out
}

func TestCompose(t *testing.T) {
	r := testRegistry(t)
	tests := map[string][]string{
		"all-h":       {"A", "A1", "A1a", "A2", "B", "C"},
		"list":        {"A", "B", extSys + "|x1"},
		"isa":         {"A1", "A1a", "B"},
		"desc":        {"A1", "A1a", "A2", "B"},
		"nota":        {"C"},
		"gen":         {"A", "A1", "A1a"},
		"kind-x":      {"A", "A2"},
		"kind-in":     {"A1", "B"},
		"kind-not-in": {"A", "A1a", "A2", "C"},
		"factor":      {"A"},
		"no-kind":     {"A1a", "C"},
		"regex":       {"A1", "A2"},
		"label-re":    {"A"},
		"code-in":     {"A1a", "C"},
		"parent-a1":   {"A1a", "B"},
		"two-filters": {"A", "A2"},
		"excl":        {"A", "C"},
		"vs-and":      {"A", "A2"},
		"sys-and-vs":  {"B"},
		"active":      {"A", "A1", "A1a", "B"},
		"ci":          {ciSys + "|Foo", ciSys + "|Bar"},
		"frag-list":   {fragSys + "|f1", fragSys + "|f2"},
		"expanded":    {"A", extSys + "|e1"},
	}
	for id, want := range tests {
		if got := expandCodes(t, r, all(vsBase+id)); !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", id, got, want)
		}
	}
	// Displays: the value set's own wins; a fragment's listed code keeps
	// the display the value set gives it.
	x, _ := r.Expand(all(vsBase + "list"))
	if d := x.Contains[0].Display; d != "Alpha (in this set)" {
		t.Errorf("list: A display %q", d)
	}
	x, _ = r.Expand(all(vsBase + "frag-list"))
	if d := x.Contains[0].Display + "/" + x.Contains[1].Display; d != "F one/F two" {
		t.Errorf("frag-list displays %q", d)
	}
}

func TestExpandUnexpandable(t *testing.T) {
	r := testRegistry(t)
	for id, want := range map[string]string{
		"broken":     "code system http://t.test/cs/external, which this server does not hold",
		"broken-ref": "value set http://t.test/vs/broken, which cannot be expanded",
		"frag-all":   `whose content here is "fragment"`,
		"old-h":      `version "1.0" of code system http://t.test/cs/h`,
		"missing-vs": "value set http://t.test/vs/nowhere, which this server does not hold",
	} {
		_, err := r.Expand(all(vsBase + id))
		wantStatus(t, err, http.StatusUnprocessableEntity)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", id, err, want)
		}
	}
	_, err := r.Expand(all(vsBase + "nowhere"))
	wantStatus(t, err, http.StatusNotFound)
	_, err = r.Expand(ExpandRequest{URL: vsBase + "all-h", ValueSetVersion: "0.9", Count: -1})
	wantStatus(t, err, http.StatusNotFound)
	_, err = r.Expand(ExpandRequest{URL: vsBase + "all-h", Offset: -1, Count: -1})
	wantStatus(t, err, http.StatusBadRequest)
}

func TestExpandFilterAndPaging(t *testing.T) {
	r := testRegistry(t)
	tests := []struct {
		name  string
		req   ExpandRequest
		total int
		codes []string
	}{
		{"filter by display word", ExpandRequest{Filter: "alpha", Count: -1}, 4, []string{"A", "A1", "A1a", "A2"}},
		{"filter words AND, prefixes", ExpandRequest{Filter: "ALP on", Count: -1}, 2, []string{"A1", "A1a"}},
		{"filter by code", ExpandRequest{Filter: "a1a", Count: -1}, 1, []string{"A1a"}},
		{"filter by designation, ignoring accents", ExpandRequest{Filter: "Álfa", Count: -1}, 1, []string{"A"}},
		{"definition variants are not searched", ExpandRequest{Filter: "very", Count: -1}, 0, nil},
		{"no match", ExpandRequest{Filter: "zeta", Count: -1}, 0, nil},
		{"offset", ExpandRequest{Offset: 4, Count: -1}, 6, []string{"B", "C"}},
		{"page", ExpandRequest{Offset: 1, Count: 2}, 6, []string{"A1", "A1a"}},
		{"count 0: the total only", ExpandRequest{Count: 0}, 6, nil},
		{"offset past the end", ExpandRequest{Offset: 10, Count: 5}, 6, nil},
		{"active only", ExpandRequest{ActiveOnly: true, Count: -1}, 4, []string{"A", "A1", "A1a", "B"}},
		{"filter and page", ExpandRequest{Filter: "alpha", Offset: 3, Count: 10}, 4, []string{"A2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.req.URL = vsBase + "all-h"
			x, err := r.Expand(tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if x.Total != tt.total {
				t.Errorf("total %d, want %d", x.Total, tt.total)
			}
			if got := expandCodes(t, r, tt.req); !slices.Equal(got, tt.codes) {
				t.Errorf("codes %v, want %v", got, tt.codes)
			}
		})
	}
}

func TestExpansionResource(t *testing.T) {
	r := testRegistry(t)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	x, err := r.Expand(ExpandRequest{URL: vsBase + "list", Filter: "alpha", Offset: 0, Count: 5, IncludeDesignations: true, ActiveOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := x.Resource(now)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	exp := got["expansion"].(map[string]any)
	id, _ := exp["identifier"].(string)
	if !strings.HasPrefix(id, "urn:uuid:") || len(id) != len("urn:uuid:")+36 {
		t.Errorf("identifier %q", id)
	}
	delete(exp, "identifier")
	want := map[string]any{
		"resourceType": "ValueSet", "id": "list", "url": vsBase + "list", "version": "1.0", "name": "VS", "status": "active",
		"expansion": map[string]any{
			"timestamp": "2026-01-02T03:04:05Z", "total": 1.0, "offset": 0.0,
			"parameter": []any{
				map[string]any{"name": "filter", "valueString": "alpha"},
				map[string]any{"name": "offset", "valueInteger": 0.0},
				map[string]any{"name": "count", "valueInteger": 5.0},
				map[string]any{"name": "activeOnly", "valueBoolean": true},
				map[string]any{"name": "includeDesignations", "valueBoolean": true},
				map[string]any{"name": "used-codesystem", "valueUri": hSys + "|2.0"},
			},
			"contains": []any{map[string]any{
				"system": hSys, "version": "2.0", "code": "A", "display": "Alpha (in this set)",
				"designation": []any{
					map[string]any{"language": "en", "value": "Alpha synonym"},
					map[string]any{"language": "de-CH", "value": "Alfa"},
					map[string]any{"language": "en", "use": map[string]any{"system": "http://snomed.info/sct", "code": "900000000000550004", "display": "Definition"}, "value": "The very first."},
				},
			}},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("expansion (-want +got):\n%s", diff)
	}

	// The identifier is the same for the same expansion, and differs for
	// another.
	again, _ := r.Expand(ExpandRequest{URL: vsBase + "list", Filter: "alpha", Count: 5, IncludeDesignations: true, ActiveOnly: true})
	other, _ := r.Expand(ExpandRequest{URL: vsBase + "list", Filter: "alph", Count: 5, IncludeDesignations: true, ActiveOnly: true})
	if again.identifier() != id || other.identifier() == id {
		t.Errorf("identifiers %s %s %s", id, again.identifier(), other.identifier())
	}

	// Unpaged: no offset, no paging parameters; inactive codes flagged.
	x, _ = r.Expand(all(vsBase + "all-h"))
	raw, _ = x.Resource(now)
	var unpaged struct {
		Expansion struct {
			Offset    *int
			Parameter []map[string]any
			Contains  []map[string]any
		}
	}
	if err := json.Unmarshal(raw, &unpaged); err != nil {
		t.Fatal(err)
	}
	if unpaged.Expansion.Offset != nil || len(unpaged.Expansion.Parameter) != 1 {
		t.Errorf("unpaged expansion: offset %v parameters %v", unpaged.Expansion.Offset, unpaged.Expansion.Parameter)
	}
	if c := unpaged.Expansion.Contains[3]; c["code"] != "A2" || c["inactive"] != true || c["designation"] != nil {
		t.Errorf("A2 in expansion: %v", c)
	}
}
