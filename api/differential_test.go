package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// differentialDir holds the dataset, the queries and the expected answers
// computed from them by fhirpath.js (see its README.md).
const differentialDir = "testdata/differential"

// TestSearchDifferential loads a fixed dataset through the API and runs
// each query of queries.json, comparing the ids found with those that
// expect.js computed independently of matcare's Go search code (fhirpath.js
// evaluating the official SearchParameter expressions). One subtest per
// query, named by its position and the query.
func TestSearchDifferential(t *testing.T) {
	var dataset []json.RawMessage
	readDifferential(t, "dataset.json", &dataset)
	var queries []string
	readDifferential(t, "queries.json", &queries)
	var expected []struct {
		Query string   `json:"query"`
		IDs   []string `json:"ids"`
	}
	readDifferential(t, "expected.json", &expected)
	stale := len(queries) != len(expected)
	for i := 0; !stale && i < len(queries); i++ {
		stale = queries[i] != expected[i].Query
	}
	if stale {
		t.Fatalf("%s/expected.json does not answer queries.json; regenerate it: cd %[1]s && npm ci && node expect.js", differentialDir)
	}

	e := newEnv(t).as(fullScope, boardA)
	for _, raw := range dataset {
		var r struct {
			ResourceType string `json:"resourceType"`
			ID           string `json:"id"`
		}
		if err := json.Unmarshal(raw, &r); err != nil || r.ResourceType == "" || r.ID == "" {
			t.Fatalf("dataset entry without resourceType and id: %s", raw)
		}
		res := e.do("PUT", "/"+r.ResourceType+"/"+r.ID, string(raw))
		if res.StatusCode != http.StatusCreated {
			t.Fatalf("loading %s/%s: status %d: %s", r.ResourceType, r.ID, res.StatusCode, res.body)
		}
	}

	for i, x := range expected {
		t.Run(fmt.Sprintf("%03d_%s", i+1, x.Query), func(t *testing.T) {
			e := *e
			e.t = t
			got, err := differentialSearch(&e, x.Query)
			if err != nil {
				t.Errorf("%s\n  %v", x.Query, err)
				return
			}
			want := slices.Clone(x.IDs)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("%s\n  got  %v\n  want %v\n  missing %v, unexpected %v",
					x.Query, got, want, minus(want, got), minus(got, want))
			}
		})
	}
}

func readDifferential(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(differentialDir, name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// differentialSearch runs query ("Type?k=v&k=v", unencoded as in
// queries.json: split at "&" and the first "=") with _count=1000,
// following next links, and returns the sorted ids of the match entries.
func differentialSearch(e *env, query string) ([]string, error) {
	typ, qs, ok := strings.Cut(query, "?")
	if !ok {
		return nil, fmt.Errorf("query without parameters")
	}
	var enc []string
	for _, kv := range strings.Split(qs, "&") {
		k, v, _ := strings.Cut(kv, "=")
		enc = append(enc, url.QueryEscape(k)+"="+url.QueryEscape(v))
	}
	path := "/" + typ + "?" + strings.Join(enc, "&") + "&_count=1000"
	var ids []string
	for page := 0; path != ""; page++ {
		if page == 100 {
			return nil, fmt.Errorf("more than 100 pages")
		}
		r := e.do("GET", path, "")
		if r.StatusCode != http.StatusOK {
			body := string(r.body)
			if len(body) > 600 {
				body = body[:600] + "..."
			}
			return nil, fmt.Errorf("GET %s: status %d: %s", path, r.StatusCode, body)
		}
		var b struct {
			Entry []struct {
				Resource struct {
					ResourceType string `json:"resourceType"`
					ID           string `json:"id"`
				} `json:"resource"`
				Search struct {
					Mode string `json:"mode"`
				} `json:"search"`
			} `json:"entry"`
			Link []struct {
				Relation string `json:"relation"`
				URL      string `json:"url"`
			} `json:"link"`
		}
		if err := json.Unmarshal(r.body, &b); err != nil {
			return nil, fmt.Errorf("GET %s: %v", path, err)
		}
		for _, en := range b.Entry {
			if en.Search.Mode != "match" {
				continue
			}
			if en.Resource.ResourceType != typ {
				return nil, fmt.Errorf("GET %s: a match entry of type %q", path, en.Resource.ResourceType)
			}
			ids = append(ids, en.Resource.ID)
		}
		path = ""
		for _, l := range b.Link {
			if l.Relation == "next" {
				path = l.URL
			}
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// minus returns the elements of a not in b; both sorted.
func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if _, found := slices.BinarySearch(b, x); !found {
			out = append(out, x)
		}
	}
	return out
}
