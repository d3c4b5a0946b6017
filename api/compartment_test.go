package api_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

func goalFor(id, patient string) string {
	return `{"resourceType":"Goal","id":"` + id + `","lifecycleStatus":"active","description":{"text":"x"},"subject":{"reference":"Patient/` + patient + `"}}`
}

// bundleIDs returns the ids of the match entries of a searchset, following
// next links.
func bundleIDs(t *testing.T, e *env, path string) []string {
	t.Helper()
	var ids []string
	for path != "" {
		r := e.do("GET", path, "")
		wantStatus(t, r, http.StatusOK)
		b := r.json(t)
		for _, x := range asSlice(b["entry"]) {
			en := x.(map[string]any)
			if s, _ := en["search"].(map[string]any); s["mode"] == "match" {
				ids = append(ids, en["resource"].(map[string]any)["id"].(string))
			}
		}
		path = ""
		for _, l := range asSlice(b["link"]) {
			if lm := l.(map[string]any); lm["relation"] == "next" {
				path = lm["url"].(string)
				if !strings.Contains(path, "/Patient/") {
					t.Errorf("next link leaves the compartment: %s", path)
				}
			}
		}
	}
	slices.Sort(ids)
	return ids
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

// TestCompartmentSearch: GET /Patient/{id}/{type} lists the type's
// resources in the patient's compartment, within the caller's board and
// patient context, paged, with the type's search scope.
func TestCompartmentSearch(t *testing.T) {
	e := newEnv(t)
	for _, g := range [][2]string{{"ga1", "p1"}, {"ga2", "p1"}, {"ga3", "p1"}, {"ga4", "p2"}} {
		wantStatus(t, e.do("PUT", "/Goal/"+g[0], goalFor(g[0], g[1])), http.StatusCreated)
	}
	wantStatus(t, e.do("PUT", "/Patient/p1", `{"resourceType":"Patient","id":"p1"}`), http.StatusCreated)
	b := e.as(fullScope, boardB)
	wantStatus(t, b.do("PUT", "/Goal/gb1", goalFor("gb1", "p1")), http.StatusCreated) // same patient id, other board
	wantStatus(t, e.do("DELETE", "/Goal/ga3", ""), http.StatusOK)

	tests := []struct {
		name string
		env  *env
		path string
		want []string
	}{
		{"board A", e, "/Patient/p1/Goal", []string{"ga1", "ga2"}},
		{"board A, paged", e, "/Patient/p1/Goal?_count=1", []string{"ga1", "ga2"}},
		{"board A, other patient", e, "/Patient/p2/Goal", []string{"ga4"}},
		{"board A, _id within compartment", e, "/Patient/p1/Goal?_id=ga1,ga4", []string{"ga1"}},
		{"board B", b, "/Patient/p1/Goal", []string{"gb1"}},
		{"national", e.as("system/*.read matcare:national", ""), "/Patient/p1/Goal", []string{"ga1", "ga2", "gb1"}},
		{"patient scope, own", e.as("patient/*.rs", boardA, "patient", "p1"), "/Patient/p1/Goal", []string{"ga1", "ga2"}},
		{"patient scope, another's", e.as("patient/*.rs", boardA, "patient", "p1"), "/Patient/p2/Goal", nil},
		{"the patient itself", e, "/Patient/p1/Patient", []string{"p1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.env.t = t
			if got := bundleIDs(t, tt.env, tt.path); !slices.Equal(got, tt.want) {
				t.Errorf("%s = %v, want %v", tt.path, got, tt.want)
			}
		})
	}
	for _, tt := range []struct {
		name   string
		env    *env
		path   string
		status int
	}{
		{"not in the compartment", e, "/Patient/p1/Questionnaire", http.StatusNotFound},
		{"unknown type", e, "/Patient/p1/Encounter", http.StatusNotFound},
		{"other compartments", e, "/Goal/ga1/Goal", http.StatusNotFound},
		{"bad id", e, "/Patient/a$b/Goal", http.StatusBadRequest},
		{"needs the searched type's scope", e.as("system/Patient.rs", boardA), "/Patient/p1/Goal", http.StatusForbidden},
		{"no token", e, "/Patient/p1/Goal", http.StatusUnauthorized},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.env.t = t
			var hdr []string
			if tt.status == http.StatusUnauthorized {
				hdr = []string{"Authorization", ""}
			}
			wantStatus(t, tt.env.do("GET", tt.path, "", hdr...), tt.status)
		})
	}
}

// TestSearchPost: POST /{type}/_search with a form body finds what GET
// finds with the same parameters; URL and body parameters both apply.
func TestSearchPost(t *testing.T) {
	e := newEnv(t)
	for _, g := range [][2]string{{"ga1", "p1"}, {"ga2", "p1"}, {"ga4", "p2"}} {
		wantStatus(t, e.do("PUT", "/Goal/"+g[0], goalFor(g[0], g[1])), http.StatusCreated)
	}
	form := "application/x-www-form-urlencoded"
	ids := func(r response) []string {
		var out []string
		for _, x := range asSlice(r.json(t)["entry"]) {
			en := x.(map[string]any)
			if s, _ := en["search"].(map[string]any); s["mode"] == "match" {
				out = append(out, en["resource"].(map[string]any)["id"].(string))
			}
		}
		slices.Sort(out)
		return out
	}
	get := e.do("GET", "/Goal?_id=ga1,ga4", "")
	post := e.do("POST", "/Goal/_search", "_id=ga1%2Cga4", "Content-Type", form)
	wantStatus(t, post, http.StatusOK)
	if g, p := ids(get), ids(post); !slices.Equal(g, p) || len(p) != 2 {
		t.Errorf("GET found %v, POST %v", g, p)
	}
	both := e.do("POST", "/Goal/_search?_id=ga1,ga2", "_id=ga2%2Cga4", "Content-Type", form)
	if got := ids(both); !slices.Equal(got, []string{"ga2"}) {
		t.Errorf("URL AND body: %v, want [ga2]", got)
	}
	paged := e.do("POST", "/Goal/_search", "_count=1", "Content-Type", form)
	if m := paged.json(t); !strings.Contains(fmt.Sprint(m["link"]), "_cursor=") {
		t.Errorf("no next link: %v", m["link"])
	}
	wantStatus(t, e.do("POST", "/Goal/_search", `{"_id":"ga1"}`, "Content-Type", "application/json"), http.StatusUnsupportedMediaType)
	wantStatus(t, e.do("POST", "/Goal/_search", "_id=ga1", "Content-Type", form, "Authorization", ""), http.StatusUnauthorized)
	wantStatus(t, e.do("POST", "/Encounter/_search", "_id=ga1", "Content-Type", form), http.StatusNotFound)
	wantStatus(t, e.as("system/Goal.c", boardA).do("POST", "/Goal/_search", "_id=ga1", "Content-Type", form), http.StatusForbidden)
}
