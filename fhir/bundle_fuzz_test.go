package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzParseBundle feeds arbitrary bodies to ParseBundle: it must never
// panic; a rejection is a 4xx *Error; an accepted bundle's resources are
// valid JSON cut from the body unchanged, a transaction has no entry
// errors and a batch's entry errors are 4xx naming their entry; Order is
// a permutation in processing order; and a request url written back with
// RequestURL.String parses to the same url.
func FuzzParseBundle(f *testing.F) {
	for _, name := range []string{"Bundle-bundle-transaction.json", "Bundle-bundle-request-medsallergies.json", "Bundle-xds.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", "bundle", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, tt := range entryTests {
		f.Add(bundleOf("transaction", tt.entry))
		f.Add(bundleOf("batch", tt.entry))
	}
	f.Add(bundleOf("transaction",
		`{"fullUrl":"`+uuidA+`","resource":{"resourceType":"Patient","active":true},"request":{"method":"POST","url":"Patient","ifNoneExist":"identifier=a"}}`,
		`{"resource":{`+binaryType+`,"data":"`+b64(jsonPatch)+`"},"request":{"method":"PATCH","url":"http://example.org/fhir/Goal/1"}}`,
		`{"request":{"method":"DELETE","url":"Goal?patient=`+uuidA+`"}}`,
		`{"request":{"method":"GET","url":"Patient/1/_history/2"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := ParseBundle(body, testBase)
		if err != nil {
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *fhir.Error", err)
			}
			if st := fe.HTTPStatus(); st < 400 || st >= 500 || len(fe.Issues) == 0 {
				t.Fatalf("rejection with status %d: %v", st, err)
			}
			return
		}
		if b.Type != Batch && b.Type != Transaction {
			t.Fatalf("type %q accepted", b.Type)
		}
		for i, e := range b.Entries {
			expr := "Bundle.entry[" + itoa(i) + "]"
			if e.Err != nil {
				if b.Type == Transaction {
					t.Fatalf("transaction entry %d has an error: %v", i, e.Err)
				}
				st := e.Err.HTTPStatus()
				if st < 400 || st >= 500 || len(e.Err.Issues) != 1 || len(e.Err.Issues[0].Expression) != 1 ||
					!strings.HasPrefix(e.Err.Issues[0].Expression[0], expr) {
					t.Fatalf("entry %d error: %v (%v)", i, e.Err, e.Err.Issues)
				}
				continue
			}
			if e.Resource != nil && (!json.Valid(e.Resource) || !bytes.Contains(body, e.Resource)) {
				t.Fatalf("entry %d resource is not the body's JSON: %q", i, e.Resource)
			}
			if e.Request.Method == "PATCH" && !json.Valid(e.Patch) {
				t.Fatalf("entry %d patch is not JSON: %q", i, e.Patch)
			}
			u := e.Request.URL
			again, perr := parseRequestURL(u.String(), testBase)
			if perr != nil {
				t.Fatalf("entry %d: url %q written as %q no longer parses: %v", i, u.Raw, u.String(), perr)
			}
			again.Raw, again.Absolute = u.Raw, u.Absolute
			if len(again.Query) == 0 && len(u.Query) == 0 {
				again.Query = u.Query
			}
			if diff := cmp.Diff(u, again); diff != "" {
				t.Fatalf("entry %d: url %q written as %q parses differently (-first +again):\n%s", i, u.Raw, u.String(), diff)
			}
		}
		order := Order(b.Entries)
		seen := slices.Clone(order)
		slices.Sort(seen)
		for i := range seen {
			if seen[i] != i {
				t.Fatalf("Order = %v is not a permutation", order)
			}
		}
		rank := func(i int) int {
			if r, ok := processingRank[b.Entries[i].Request.Method]; ok {
				return r
			}
			return len(processingRank)
		}
		for k := 1; k < len(order); k++ {
			if rank(order[k-1]) > rank(order[k]) ||
				rank(order[k-1]) == rank(order[k]) && order[k-1] > order[k] {
				t.Fatalf("Order = %v is not DELETE, POST, PUT/PATCH, GET/HEAD in bundle order", order)
			}
		}
	})
}

// FuzzRewriteReferences checks RewriteReferences and RewriteNarrativeLinks
// on arbitrary JSON: a rejection is a 400 *Error; rewriting every
// reference to itself changes no byte; rewriting every reference to "X/1"
// gives valid JSON whose references are all "X/1", as many as before;
// the same for narrative links.
func FuzzRewriteReferences(f *testing.F) {
	for _, s := range []string{refsResource, identityResource, `{"reference":"a","reference":"b"}`,
		`{"resourceType":"DetectedIssue","reference":"x","contained":[{"resourceType":"Goal","subject":{"reference":"Patient/1"}}]}`,
		`{"resourceType":"Patient","text":{"div":"<div><a href=\"urn:uuid:x\">a</a><img src='y'/></div>"}}`,
		"[{\"reference\":\"\\ud800\"}, {\"reference\":\"\xff\"}]", `"reference"`, `{}`, `[`} {
		f.Add([]byte(s))
	}
	b, err := os.ReadFile(filepath.Join("testdata", "bundle", "Bundle-xds.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Fuzz(func(t *testing.T, raw []byte) {
		before, err := References(raw)
		if err != nil {
			var fe *Error
			if !errors.As(err, &fe) || fe.HTTPStatus() != 400 {
				t.Fatalf("error %v is not a 400 *Error", err)
			}
			if json.Valid(raw) && !tooDeep(raw) {
				t.Fatalf("valid JSON rejected: %v", err)
			}
			return
		}
		if !json.Valid(raw) {
			t.Fatalf("invalid JSON accepted: %q", raw)
		}
		same, err := RewriteReferences(raw, func(s string) (string, bool, error) { return s, true, nil })
		if err != nil || !bytes.Equal(same, raw) {
			t.Fatalf("identity rewrite: %v\n%q\n%q", err, raw, same)
		}
		for _, to := range []string{"X/1", "\"\\<&>\u2028\x00é"} {
			out, err := RewriteReferences(raw, func(string) (string, bool, error) { return to, true, nil })
			if err != nil {
				t.Fatal(err)
			}
			if !json.Valid(out) {
				t.Fatalf("output is not JSON: %q", out)
			}
			after, err := References(out)
			if err != nil {
				t.Fatal(err)
			}
			if len(after) != len(before) {
				t.Fatalf("%d references before, %d after rewriting to %q:\n%q", len(before), len(after), to, out)
			}
			for _, r := range after {
				if r != to {
					t.Fatalf("reference %q after rewriting all to %q:\n%q", r, to, out)
				}
			}
		}
		same, err = RewriteNarrativeLinks(raw, func(s string) (string, bool, error) { return s, true, nil })
		if err != nil || !bytes.Equal(same, raw) {
			t.Fatalf("identity narrative rewrite: %v\n%q\n%q", err, raw, same)
		}
		out, err := RewriteNarrativeLinks(raw, func(string) (string, bool, error) { return "X/'\"&1", true, nil })
		if err != nil || !json.Valid(out) {
			t.Fatalf("narrative rewrite: %v\n%q", err, out)
		}
		if again, err := References(out); err != nil || !slices.Equal(again, before) {
			t.Fatalf("narrative rewrite changed references: %v, %q", err, again)
		}
	})
}

// tooDeep reports whether raw nests deeper than parseTree accepts.
func tooDeep(raw []byte) bool {
	depth, inString, escaped := 0, false, false
	for _, c := range raw {
		switch {
		case escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			if depth++; depth > maxTreeDepth {
				return true
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return false
}

// FuzzRequestURL checks request url parsing on its own: a rejection is a
// 400 *Error; an accepted url written back with String parses the same,
// and a url accepted for PUT, PATCH or DELETE names one resource: an id
// or a search.
func FuzzRequestURL(f *testing.F) {
	for _, u := range []string{"Patient", "Patient/1", "/Patient/1/_history/2", "Patient?identifier=a|b&name:exact=x",
		"http://example.org/fhir/Patient/1", "HTTPS://EXAMPLE.ORG/fhir/Goal?x=1", "_history", "$meta", "Patient/$everything",
		"Patient/1/$everything?_count=1", "?_type=Patient", "Patient/1/Goal", "Patient/%41", "Patient/1#x", "urn:uuid:x"} {
		for _, m := range []string{"GET", "POST", "PUT", "DELETE"} {
			f.Add(m, u)
		}
	}
	f.Fuzz(func(t *testing.T, method, raw string) {
		u, err := parseRequestURL(raw, testBase)
		if err == nil {
			err = checkMethodURL(method, u)
		}
		if err != nil {
			if err.HTTPStatus() != 400 || len(err.Issues) != 1 {
				t.Fatalf("%s %q: %v", method, raw, err)
			}
			return
		}
		again, err := parseRequestURL(u.String(), testBase)
		if err != nil {
			t.Fatalf("%q written as %q: %v", raw, u.String(), err)
		}
		again.Raw, again.Absolute = u.Raw, u.Absolute
		if len(again.Query) == 0 && len(u.Query) == 0 {
			again.Query = u.Query
		}
		if diff := cmp.Diff(u, again); diff != "" {
			t.Fatalf("%q written as %q parses differently (-first +again):\n%s", raw, u.String(), diff)
		}
		switch method {
		case "PUT", "PATCH", "DELETE":
			if (u.ID != "") == u.Conditional() || u.Operation != "" || u.History || u.VersionID != "" {
				t.Fatalf("%s %q accepted: %+v", method, raw, u)
			}
		}
	})
}
