package fhir

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// patchDoc is a stored Goal: decimal text, a primitive extension, an
// extension on a complex element and characters encoding/json would
// escape, all of which a patch elsewhere must leave byte for byte.
const patchDoc = `{"resourceType":"Goal","id":"g1","meta":{"versionId":"3","lastUpdated":"2026-01-01T00:00:00.000Z"},` +
	`"lifecycleStatus":"active","_lifecycleStatus":{"extension":[{"url":"http://example.org/x","valueString":"kept"}]},` +
	`"description":{"text":"a <b> & c \u00e9","extension":[{"url":"http://example.org/y","valueDecimal":0.10000000000000000001}]},` +
	`"subject":{"reference":"Patient/p1"},"target":[{"detailQuantity":{"value":1.50,"unit":"mg"}},{"dueDate":"2026-02-01"}]}`

// TestPatchApply checks each operation, RFC 6902's strictness where the
// library is lenient, and the index of the failing operation.
func TestPatchApply(t *testing.T) {
	tests := []struct {
		name, patch string
		want        []string // substrings of the result
		gone        []string // substrings the result must not have
		status      int      // 0: applies; 400 from ParsePatch; 422 from Apply
		msg         string   // substring of the diagnostics
	}{
		{name: "empty patch", patch: `[]`, want: []string{patchDoc}},
		{name: "replace", patch: `[{"op":"replace","path":"/lifecycleStatus","value":"on-hold"}]`, want: []string{`"lifecycleStatus":"on-hold","_lifecycleStatus"`}},
		{name: "add member goes last", patch: `[{"op":"add","path":"/priority","value":{"text":"high"}}]`, want: []string{`"dueDate":"2026-02-01"}],"priority":{"text":"high"}}`}},
		{name: "add to array end", patch: `[{"op":"add","path":"/target/-","value":{"detailQuantity":{"value":2.00}}}]`, want: []string{`{"dueDate":"2026-02-01"},{"detailQuantity":{"value":2.00}}]`}},
		{name: "add into array", patch: `[{"op":"add","path":"/target/0","value":{"dueDate":"2026-03-01"}}]`, want: []string{`"target":[{"dueDate":"2026-03-01"},{"detailQuantity"`}},
		{name: "remove", patch: `[{"op":"remove","path":"/target/1"}]`, gone: []string{`dueDate`}},
		{name: "move", patch: `[{"op":"move","from":"/target/1/dueDate","path":"/target/0/dueDate"}]`, want: []string{`"unit":"mg"},"dueDate":"2026-02-01"},{}]`}},
		{name: "copy", patch: `[{"op":"copy","from":"/target/0","path":"/target/-"}]`, want: []string{`{"dueDate":"2026-02-01"},{"detailQuantity":{"value":1.50,"unit":"mg"}}]`}},
		{name: "test passes", patch: `[{"op":"test","path":"/lifecycleStatus","value":"active"},{"op":"test","path":"/target/0","value":{"detailQuantity":{"unit":"mg","value":1.50}}}]`, want: []string{patchDoc}},
		// The library compares numbers by their JSON text, stricter than
		// RFC 6902 §4.6 (numeric value); for FHIR decimals, whose precision
		// is significant, that is what a client means.
		{name: "test compares decimals with their precision", patch: `[{"op":"test","path":"/target/0/detailQuantity/value","value":1.5}]`, status: 422, msg: "patch operation 0 (test"},
		{name: "escaped pointer", patch: `[{"op":"add","path":"/a~1b~0c","value":1}]`, want: []string{`"a/b~c":1`}},
		{name: "unknown members ignored", patch: `[{"op":"remove","path":"/target","comment":"why","value":1}]`, gone: []string{`"target"`}},

		// The library reads a missing member as null; documented in the README.
		{name: "test of null at an absent path passes", patch: `[{"op":"test","path":"/note","value":null}]`, want: []string{patchDoc}},
		{name: "test fails, index named", patch: `[{"op":"replace","path":"/lifecycleStatus","value":"completed"},{"op":"test","path":"/subject/reference","value":"Patient/p2"}]`,
			status: 422, msg: `patch operation 1 (test "/subject/reference") failed: the value at "/subject/reference" is not the one given`},
		{name: "test of absent path", patch: `[{"op":"test","path":"/note","value":"x"}]`, status: 422, msg: "patch operation 0 (test"},
		{name: "remove absent", patch: `[{"op":"test","path":"/lifecycleStatus","value":"active"},{"op":"add","path":"/note","value":[{"text":"n"}]},{"op":"remove","path":"/statusReason"}]`,
			status: 422, msg: "patch operation 2 (remove \"/statusReason\") failed: a location it names does not exist"},
		{name: "replace absent", patch: `[{"op":"replace","path":"/statusReason","value":{"text":"x"}}]`, status: 422, msg: "patch operation 0"},
		{name: "add under absent parent", patch: `[{"op":"add","path":"/outcomeCode/0/text","value":"x"}]`, status: 422, msg: "patch operation 0"},
		{name: "index past the end", patch: `[{"op":"add","path":"/target/3","value":{"dueDate":"2026-03-01"}}]`, status: 422, msg: "patch operation 0"},
		{name: "negative index", patch: `[{"op":"remove","path":"/target/-1"}]`, status: 422, msg: "patch operation 0"},
		{name: "move from absent", patch: `[{"op":"move","from":"/nope","path":"/x"}]`, status: 422, msg: `patch operation 0 (move from "/nope" to "/x")`},
		{name: "copies bounded", patch: `[` + strings.Repeat(`{"op":"copy","from":"/target","path":"/target/-"},`, 40) + `{"op":"remove","path":"/target"}]`, status: 422, msg: "copies would add more than"},

		{name: "not an array", patch: `{"op":"remove","path":"/id"}`, status: 400, msg: "must be a JSON array"},
		{name: "FHIRPath Patch", patch: `{"resourceType":"Parameters","parameter":[{"name":"operation"}]}`, status: 400, msg: "FHIRPath Patch (a Parameters resource) is not supported"},
		{name: "not JSON", patch: `[{"op":"remove"`, status: 400, msg: "invalid JSON Patch"},
		{name: "trailing data", patch: `[] []`, status: 400, msg: "invalid JSON Patch"},
		{name: "operation not an object", patch: `[1]`, status: 400, msg: "patch operation 0: an operation must be a JSON object"},
		{name: "no op", patch: `[{"path":"/id"}]`, status: 400, msg: `"op" is required`},
		{name: "unknown op", patch: `[{"op":"remove","path":"/id"},{"op":"delete","path":"/id"}]`, status: 400, msg: `patch operation 1: unknown op "delete"`},
		{name: "op not a string", patch: `[{"op":1,"path":"/id"}]`, status: 400, msg: `"op" must be a string`},
		{name: "no path", patch: `[{"op":"remove"}]`, status: 400, msg: `"path" is required`},
		{name: "path not a pointer", patch: `[{"op":"remove","path":"id"}]`, status: 400, msg: "is not a JSON Pointer"},
		{name: "bad escape", patch: `[{"op":"remove","path":"/a~2"}]`, status: 400, msg: "~ must be followed by 0 or 1"},
		{name: "add without value", patch: `[{"op":"add","path":"/x"}]`, status: 400, msg: `"add" needs "value"`},
		{name: "test without value", patch: `[{"op":"test","path":"/nope"}]`, status: 400, msg: `"test" needs "value"`},
		{name: "copy without from", patch: `[{"op":"copy","path":"/x"}]`, status: 400, msg: `"copy" needs "from"`},
		{name: "copy of the whole resource", patch: `[{"op":"copy","from":"","path":"/contained"}]`, status: 400, msg: `"copy" from "" (the whole resource) is not supported`},
		{name: "empty member name", patch: `[{"op":"test","path":"/","value":1}]`, status: 400, msg: "empty member name"},
		{name: "empty member name inside", patch: `[{"op":"remove","path":"/target//x"}]`, status: 400, msg: "empty member name"},
		{name: "move into own child", patch: `[{"op":"move","from":"/target","path":"/target/0"}]`, status: 400, msg: "into one of its own children"},
		{name: "duplicate member", patch: `[{"op":"add","path":"/x","value":1,"op":"remove"}]`, status: 400, msg: `duplicate member "op"`},
		{name: "too many operations", patch: `[` + strings.Repeat(`{"op":"test","path":"/id","value":"g1"},`, MaxPatchOps) + `{"op":"remove","path":"/x"}]`, status: 400, msg: "at most 1000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := applyPatch(tt.patch, patchDoc)
			if tt.status != 0 {
				var fe *Error
				if !errors.As(err, &fe) || fe.HTTPStatus() != tt.status {
					t.Fatalf("err = %v (%T), want an *Error with status %d", err, err, tt.status)
				}
				if !strings.Contains(fe.Issues[0].Diagnostics, tt.msg) {
					t.Errorf("diagnostics %q lack %q", fe.Issues[0].Diagnostics, tt.msg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("result lacks %s:\n%s", w, out)
				}
			}
			for _, g := range tt.gone {
				if strings.Contains(string(out), g) {
					t.Errorf("result still has %s:\n%s", g, out)
				}
			}
			// Whatever the patch did not touch is kept as written.
			for _, kept := range []string{`"value":1.50`, `0.10000000000000000001`, `"text":"a <b> & c \u00e9"`, `"_lifecycleStatus":{"extension":[{"url":"http://example.org/x","valueString":"kept"}]}`} {
				if strings.Contains(patchDoc, kept) && !strings.Contains(tt.patch, "/target") && !strings.Contains(string(out), kept) {
					t.Errorf("result lost %s:\n%s", kept, out)
				}
			}
		})
	}
}

func applyPatch(patch, doc string) ([]byte, error) {
	p, err := ParsePatch([]byte(patch))
	if err != nil {
		return nil, err
	}
	return p.Apply([]byte(doc))
}

// TestPatchFailingIndex checks that bisection finds the failing operation
// wherever it is in a long patch.
func TestPatchFailingIndex(t *testing.T) {
	const n = 37
	for bad := range n {
		var ops []string
		for i := range n {
			if i == bad {
				ops = append(ops, `{"op":"test","path":"/lifecycleStatus","value":"completed"}`)
			} else {
				ops = append(ops, fmt.Sprintf(`{"op":"add","path":"/x%d","value":%d}`, i, i))
			}
		}
		_, err := applyPatch("["+strings.Join(ops, ",")+"]", patchDoc)
		var fe *Error
		if !errors.As(err, &fe) || !strings.HasPrefix(fe.Issues[0].Diagnostics, fmt.Sprintf("patch operation %d (test", bad)) {
			t.Fatalf("failing operation %d: err %v", bad, err)
		}
	}
}

// FuzzPatch feeds arbitrary patches and documents to the patch path: it
// must never panic; a rejected patch is a 400 *Error, a patch that does
// not apply a 422 *Error; an applied patch yields valid JSON, and
// applying it is deterministic.
func FuzzPatch(f *testing.F) {
	for _, p := range []string{
		`[]`, `[{"op":"replace","path":"/lifecycleStatus","value":"on-hold"}]`,
		`[{"op":"add","path":"/target/-","value":{"dueDate":"2026-03-01"}}]`,
		`[{"op":"remove","path":"/target/0"},{"op":"test","path":"/target/0/dueDate","value":"2026-02-01"}]`,
		`[{"op":"move","from":"/subject","path":"/x"},{"op":"copy","from":"/x","path":"/subject"}]`,
		`[{"op":"copy","from":"","path":"/x"}]`, `[{"op":"replace","path":"","value":[1]}]`,
		`[{"op":"test","path":"","value":{}}]`, `[{"op":"add","path":"/a~1b","value":null}]`,
		`{"resourceType":"Parameters"}`, `[1]`, `[{"op":"remove","path":"/target/01"}]`,
	} {
		f.Add([]byte(p), []byte(patchDoc))
	}
	f.Add([]byte(`[{"op":"add","path":"/0","value":1}]`), []byte(`[1,2]`))
	f.Fuzz(func(t *testing.T, patch, doc []byte) {
		if !json.Valid(doc) {
			return // stored resources are valid JSON
		}
		p, err := ParsePatch(patch)
		if err != nil {
			var fe *Error
			if !errors.As(err, &fe) || fe.HTTPStatus() != http.StatusBadRequest {
				t.Fatalf("ParsePatch error %v (%T), want a 400 *Error", err, err)
			}
			return
		}
		out, err := p.Apply(doc)
		if err != nil {
			var fe *Error
			if !errors.As(err, &fe) || fe.HTTPStatus() != http.StatusUnprocessableEntity {
				t.Fatalf("Apply error %v (%T), want a 422 *Error", err, err)
			}
			return
		}
		if !json.Valid(out) {
			t.Fatalf("result is not JSON: %s", out)
		}
		again, err := p.Apply(doc)
		if err != nil || string(again) != string(out) {
			t.Fatalf("second application differs: %v\n%s\n%s", err, out, again)
		}
	})
}
