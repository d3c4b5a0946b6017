package clinical

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/matcare/matcare/fhir"
	"github.com/matcare/matcare/fhir/content"
)

const base = content.DefaultBase

// load reads a file of testdata.
func load(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// edit is one change to a JSON document: the value at path becomes the
// JSON value, or is deleted when value is "". A path is dot-separated
// member names, each optionally followed by [index]; a missing member on
// the way is created as an object, and an index equal to an array's
// length appends.
type edit struct{ path, value string }

// del is an edit that deletes path.
func del(path string) edit { return edit{path, ""} }

// set is an edit that sets path to the JSON value.
func set(path, value string) edit { return edit{path, value} }

var segment = regexp.MustCompile(`^([^\[]+)((?:\[\d+\])*)$`)

func patch(t *testing.T, doc []byte, edits ...edit) []byte {
	t.Helper()
	var root any
	if err := json.Unmarshal(doc, &root); err != nil {
		t.Fatal(err)
	}
	for _, e := range edits {
		var v any
		if e.value != "" {
			if err := json.Unmarshal([]byte(e.value), &v); err != nil {
				t.Fatalf("edit %s: %v", e.path, err)
			}
		}
		// steps: member names (string) and indexes (int).
		var steps []any
		for _, seg := range strings.Split(e.path, ".") {
			m := segment.FindStringSubmatch(seg)
			if m == nil {
				t.Fatalf("bad path %q", e.path)
			}
			steps = append(steps, m[1])
			for _, ix := range regexp.MustCompile(`\d+`).FindAllString(m[2], -1) {
				n, _ := strconv.Atoi(ix)
				steps = append(steps, n)
			}
		}
		root = apply(t, root, steps, v, e.value == "")
	}
	b, err := json.Marshal(root)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func apply(t *testing.T, node any, steps []any, v any, remove bool) any {
	t.Helper()
	last := len(steps) == 1
	switch s := steps[0].(type) {
	case string:
		m, ok := node.(map[string]any)
		if !ok {
			m = map[string]any{}
		}
		switch {
		case last && remove:
			delete(m, s)
		case last:
			m[s] = v
		default:
			m[s] = apply(t, m[s], steps[1:], v, remove)
		}
		return m
	case int:
		a, _ := node.([]any)
		if s > len(a) {
			t.Fatalf("index %d beyond %d", s, len(a))
		}
		if s == len(a) {
			a = append(a, nil)
		}
		switch {
		case last && remove:
			a = slices.Delete(a, s, s+1)
		case last:
			a[s] = v
		default:
			a[s] = apply(t, a[s], steps[1:], v, remove)
		}
		return a
	}
	return node
}

// found is an issue in short form: "severity expression", with the
// prescribing check's id after the severity when the issue has one.
func found(issues []fhir.Issue) []string {
	out := []string{}
	for _, is := range issues {
		s := is.Severity.Code()
		if is.Details != nil && len(is.Details.Coding) > 0 && is.Details.Coding[0].Code != nil {
			s += " " + *is.Details.Coding[0].Code
		}
		if len(is.Expression) > 0 {
			s += " " + strings.Join(is.Expression, ",")
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// want sorts the expected short forms.
func want(s ...string) []string {
	if s == nil {
		return []string{}
	}
	slices.Sort(s)
	return s
}

// diagnostics joins the issues' diagnostics, for failure messages.
func diagnostics(issues []fhir.Issue) string {
	var b strings.Builder
	for _, is := range issues {
		b.WriteString("\n\t" + is.Severity.Code() + ": " + is.Diagnostics)
	}
	return b.String()
}
