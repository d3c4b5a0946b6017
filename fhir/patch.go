package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	jsonpatch "github.com/evanphx/json-patch/v5"
	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// MaxPatchOps is the most operations one JSON Patch may hold. Real
// clients send a handful; the bound keeps the work a patch can ask for
// proportional to its size.
const MaxPatchOps = 1000

// MaxPatchCopyBytes bounds how much a patch's copy operations may add
// to a resource in all, so that a small patch cannot grow a resource
// without limit (each copy of the root doubles it).
const MaxPatchCopyBytes = 1 << 20

// Patch is a checked JSON Patch document (RFC 6902). The operations are
// applied by github.com/evanphx/json-patch/v5; this type checks the
// document strictly first and says which operation failed.
type Patch struct {
	ops []patchOp
	p   jsonpatch.Patch
}

// patchOp is what messages say about one operation.
type patchOp struct {
	Op, Path, From string
}

// patchOps are the RFC 6902 operations and whether each needs "value"
// and "from".
var patchOps = map[string]struct{ value, from bool }{
	"add":     {value: true},
	"remove":  {},
	"replace": {value: true},
	"move":    {from: true},
	"copy":    {from: true},
	"test":    {value: true},
}

// ParsePatch checks that body is a JSON Patch document: an array of
// operation objects, each with a known "op", a JSON Pointer "path", a
// "from" pointer for move and copy (never a proper prefix of "path" for
// move), and a "value" for add, replace and test. Other members are
// ignored, as RFC 6902 §4 requires; duplicate member names are refused.
// Every failure is an *Error answered 400, naming the operation by its
// index (counting from 0).
func ParsePatch(body []byte) (*Patch, error) {
	bad := func(format string, args ...any) error {
		return Errorf(r4.IssueTypeStructure, "", format, args...).WithStatus(http.StatusBadRequest)
	}
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '[' {
		msg := "a JSON Patch document must be a JSON array of operations (RFC 6902)"
		if isParameters(trimmed) {
			msg += "; FHIRPath Patch (a Parameters resource) is not supported, only JSON Patch is"
		}
		return nil, bad("%s", msg)
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, bad("invalid JSON Patch document: %s", syntaxMessage(err))
	}
	if len(raw) > MaxPatchOps {
		return nil, bad("the patch has %d operations; at most %d are accepted", len(raw), MaxPatchOps)
	}
	ops := make([]patchOp, len(raw))
	for i, r := range raw {
		op, err := parsePatchOp(r)
		if err != nil {
			return nil, bad("patch operation %d: %s", i, err)
		}
		ops[i] = op
	}
	p, err := jsonpatch.DecodePatch(body)
	if err != nil { // checked above; a disagreement is still the client's document
		return nil, bad("invalid JSON Patch document: %s", err)
	}
	return &Patch{ops: ops, p: p}, nil
}

// isParameters reports whether body looks like a FHIR Parameters resource.
func isParameters(body []byte) bool {
	var v struct {
		ResourceType string `json:"resourceType"`
	}
	return json.Unmarshal(body, &v) == nil && v.ResourceType == "Parameters"
}

// parsePatchOp checks one operation object.
func parsePatchOp(raw json.RawMessage) (patchOp, error) {
	members, err := objectMembers(raw)
	if err != nil {
		return patchOp{}, err
	}
	str := func(name string) (string, bool, error) {
		v, ok := members[name]
		if !ok {
			return "", false, nil
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return "", true, fmt.Errorf("%q must be a string", name)
		}
		return s, true, nil
	}
	var op patchOp
	var ok bool
	if op.Op, ok, err = str("op"); err != nil {
		return op, err
	} else if !ok {
		return op, errors.New(`"op" is required`)
	}
	need, known := patchOps[op.Op]
	if !known {
		return op, fmt.Errorf("unknown op %q; JSON Patch has add, remove, replace, move, copy and test", op.Op)
	}
	if op.Path, ok, err = str("path"); err != nil {
		return op, err
	} else if !ok {
		return op, errors.New(`"path" is required`)
	}
	if err := checkPointer(op.Path); err != nil {
		return op, fmt.Errorf(`"path": %w`, err)
	}
	if need.from {
		if op.From, ok, err = str("from"); err != nil {
			return op, err
		} else if !ok {
			return op, fmt.Errorf(`%q needs "from"`, op.Op)
		}
		if err := checkPointer(op.From); err != nil {
			return op, fmt.Errorf(`"from": %w`, err)
		}
		if op.Op == "move" && strings.HasPrefix(op.Path, op.From+"/") {
			return op, errors.New(`"move" cannot move a value into one of its own children`)
		}
		if op.From == "" {
			// The library would copy the resource as it was before the
			// patch; no valid resource contains itself anyway.
			return op, fmt.Errorf(`%q from "" (the whole resource) is not supported`, op.Op)
		}
	}
	if _, ok := members["value"]; need.value && !ok {
		return op, fmt.Errorf(`%q needs "value"`, op.Op)
	}
	return op, nil
}

// objectMembers decodes a JSON object's members, refusing duplicates.
func objectMembers(raw json.RawMessage) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New("an operation must be a JSON object")
	}
	members := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, errors.New("invalid JSON")
		}
		name, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, errors.New("invalid JSON")
		}
		if _, dup := members[name]; dup {
			return nil, fmt.Errorf("duplicate member %q", name)
		}
		members[name] = v
	}
	return members, nil
}

// checkPointer checks JSON Pointer syntax (RFC 6901): "" or "/"-separated
// tokens in which "~" is always followed by "0" or "1"; and, for FHIR, no
// empty token.
func checkPointer(p string) error {
	if p != "" && p[0] != '/' {
		return fmt.Errorf("%q is not a JSON Pointer: it must be empty or start with /", p)
	}
	for i := 0; i < len(p); i++ {
		if p[i] == '~' && (i+1 == len(p) || p[i+1] != '0' && p[i+1] != '1') {
			return fmt.Errorf("%q is not a JSON Pointer: ~ must be followed by 0 or 1", p)
		}
	}
	// A FHIR resource has no member named "" (and the library would read
	// such a token as the parent itself).
	if p != "" && (strings.HasSuffix(p, "/") || strings.Contains(p, "//")) {
		return fmt.Errorf("%q names an empty member name, which FHIR JSON never has", p)
	}
	return nil
}

// Len is the number of operations.
func (p *Patch) Len() int { return len(p.ops) }

// patchOptions are RFC 6902 as written: no negative array indices, no
// creation of missing parents, no silent removal of what is absent; and
// JSON text copied as it is (no HTML escaping), copies bounded.
func patchOptions() *jsonpatch.ApplyOptions {
	o := jsonpatch.NewApplyOptions()
	o.SupportNegativeIndices = false
	o.EnsurePathExistsOnAdd = false
	o.AllowMissingPathOnRemove = false
	o.EscapeHTML = false
	o.AccumulatedCopySizeLimit = MaxPatchCopyBytes
	return o
}

// Apply applies the patch to doc, a JSON object, and returns the result.
// Values the patch does not touch keep their JSON text (1.50 stays 1.50)
// and members keep their order; added members go last. An operation that
// does not apply — a failing test, a path that does not exist — fails the
// whole patch with an *Error answered 422 that names the operation by its
// index (counting from 0).
func (p *Patch) Apply(doc []byte) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil { // a library bug: a server error, never a crash
			out, err = nil, fmt.Errorf("json patch: panic: %v", r)
		}
	}()
	opts := patchOptions()
	out, err = p.p.ApplyWithOptions(doc, opts)
	if err == nil {
		return out, nil
	}
	// No operation to blame: the document itself cannot be patched (it is
	// no JSON object; stored resources always are).
	if _, e := p.p[:0].ApplyWithOptions(doc, opts); e != nil || len(p.p) == 0 {
		return nil, &Error{Status: http.StatusUnprocessableEntity, Err: err,
			Issues: []Issue{{Severity: r4.IssueSeverityError, Code: r4.IssueTypeProcessing,
				Diagnostics: "the patch cannot be applied: the resource is not a JSON object; nothing was changed"}}}
	}
	// The first failing operation ends the shortest failing prefix: find it
	// by bisection (a prefix that fails stays failed as it grows).
	lo, hi := 0, len(p.p) // p[:lo] applies, p[:hi] fails
	for hi-lo > 1 {
		m := (lo + hi) / 2
		if _, e := p.p[:m].ApplyWithOptions(doc, opts); e != nil {
			hi, err = m, e
		} else {
			lo = m
		}
	}
	return nil, p.opError(hi-1, err)
}

// opError describes the failure of operation i.
func (p *Patch) opError(i int, err error) error {
	op := p.ops[i]
	what := op.Op + " " + quotePointer(op.Path)
	if op.Op == "move" || op.Op == "copy" {
		what = op.Op + " from " + quotePointer(op.From) + " to " + quotePointer(op.Path)
	}
	var why string
	var ce *jsonpatch.AccumulatedCopySizeError
	switch {
	case errors.Is(err, jsonpatch.ErrTestFailed):
		why = "the value at " + quotePointer(op.Path) + " is not the one given"
	case errors.As(err, &ce):
		why = fmt.Sprintf("copies would add more than %d bytes to the resource", MaxPatchCopyBytes)
	case errors.Is(err, jsonpatch.ErrMissing):
		why = "a location it names does not exist (" + err.Error() + ")"
	default:
		why = err.Error()
	}
	return &Error{
		Status: http.StatusUnprocessableEntity,
		Issues: []Issue{{Severity: r4.IssueSeverityError, Code: r4.IssueTypeProcessing,
			Diagnostics: fmt.Sprintf("patch operation %d (%s) failed: %s; nothing was changed", i, what, why)}},
		Err: err,
	}
}

// quotePointer shows a pointer in a message; the root is "".
func quotePointer(p string) string { return `"` + p + `"` }
