package api_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/matcare/matcare/fhir"
)

// patchGoal is a Goal with two targets, decimals whose text matters, a
// primitive extension and an extension on a complex element.
const patchGoal = `{"resourceType":"Goal","lifecycleStatus":"active",` +
	`"_lifecycleStatus":{"extension":[{"url":"http://example.org/x","valueString":"kept"}]},` +
	`"description":{"text":"Cut down street benzos","extension":[{"url":"http://example.org/y","valueDecimal":0.10000000000000000001}]},` +
	`"subject":{"reference":"Patient/p1"},` +
	`"target":[{"detailQuantity":{"value":1.50,"unit":"mg"}},{"dueDate":"2026-02-01"}]}`

// patch sends a JSON Patch.
func (e *env) patch(path, patch string, headers ...string) response {
	e.t.Helper()
	return e.do("PATCH", path, patch, append([]string{"Content-Type", "application/json-patch+json"}, headers...)...)
}

// TestPatch is a table of JSON Patch requests on a fresh Goal each: the
// status, what the answer and the stored version hold, and that a
// refused patch stores nothing.
func TestPatch(t *testing.T) {
	e := newEnv(t)
	boardBEnv := e.as(fullScope, boardB)
	gone := e.create(patchGoal)
	wantStatus(t, e.do("DELETE", "/Goal/"+gone, ""), http.StatusOK)
	otherBoard := boardBEnv.create(patchGoal)

	tests := []struct {
		name    string
		env     *env   // nil: e
		id      string // "": a fresh Goal
		patch   string
		headers []string
		ct      string // Content-Type; "": application/json-patch+json
		status  int
		want    []string // substrings of the answer (and, on 200, of a read)
		gone    []string // substrings a 200's body must not have
		expr    string   // the first issue's expression
	}{
		{name: "add", patch: `[{"op":"add","path":"/note","value":[{"text":"Paused while in hospital"}]}]`, status: 200,
			want: []string{`"note":[{"text":"Paused while in hospital"}]`, `"versionId":"2"`}},
		{name: "replace keeps the primitive extension", patch: `[{"op":"replace","path":"/lifecycleStatus","value":"on-hold"}]`, status: 200,
			want: []string{`"lifecycleStatus":"on-hold","_lifecycleStatus":{"extension":[{"url":"http://example.org/x","valueString":"kept"}]}`}},
		{name: "remove", patch: `[{"op":"remove","path":"/target/1"}]`, status: 200,
			want: []string{`"target":[{"detailQuantity":{"value":1.50,"unit":"mg"}}]`}, gone: []string{"dueDate"}},
		{name: "move", patch: `[{"op":"move","from":"/target/1","path":"/target/0"}]`, status: 200,
			want: []string{`"target":[{"dueDate":"2026-02-01"},{"detailQuantity":{"value":1.50,"unit":"mg"}}]`}},
		{name: "copy", patch: `[{"op":"copy","from":"/target/0","path":"/target/-"}]`, status: 200,
			want: []string{`{"dueDate":"2026-02-01"},{"detailQuantity":{"value":1.50,"unit":"mg"}}]`}},
		{name: "test then replace", patch: `[{"op":"test","path":"/lifecycleStatus","value":"active"},{"op":"replace","path":"/lifecycleStatus","value":"completed"}]`, status: 200,
			want: []string{`"lifecycleStatus":"completed"`}},
		{name: "decimals keep their precision", patch: `[{"op":"add","path":"/target/-","value":{"detailQuantity":{"value":2.00,"unit":"mg"}}}]`, status: 200,
			want: []string{`"value":1.50`, `"value":2.00`, `"valueDecimal":0.10000000000000000001`}},
		{name: "extensions kept", patch: `[{"op":"add","path":"/priority","value":{"text":"high"}}]`, status: 200,
			want: []string{`"description":{"text":"Cut down street benzos","extension":[{"url":"http://example.org/y","valueDecimal":0.10000000000000000001}]}`, `"priority":{"text":"high"}`}},
		{name: "server owns versionId and lastUpdated", patch: `[{"op":"replace","path":"/meta/versionId","value":"41"},{"op":"add","path":"/meta/lastUpdated","value":"1999-01-01T00:00:00.000Z"},{"op":"add","path":"/meta/tag","value":[{"code":"t"}]}]`, status: 200,
			want: []string{`"versionId":"2"`, `"tag":[{"code":"t"}]`, `"code":"` + boardA + `"`}, gone: []string{`"41"`, "1999"}},
		{name: "empty patch is a new version", patch: `[]`, status: 200, want: []string{`"versionId":"2"`}},
		{name: "If-Match current", patch: `[{"op":"remove","path":"/target"}]`, headers: []string{"If-Match", `W/"1"`}, status: 200, gone: []string{"target"}},
		{name: "return=minimal", patch: `[]`, headers: []string{"Prefer", "return=minimal"}, status: 200},
		{name: "return=OperationOutcome", patch: `[]`, headers: []string{"Prefer", "return=OperationOutcome"}, status: 200, want: []string{"OperationOutcome", "patched Goal/"}},
		{name: "patient writer in its compartment", env: e.as("patient/Goal.u patient/Goal.r", boardA, "patient", "p1"), patch: `[{"op":"replace","path":"/lifecycleStatus","value":"on-hold"}]`, status: 200},
		{name: "update scope allows patch (v1 write)", env: e.as("system/Goal.write", boardA), patch: `[]`, status: 200},

		{name: "failing test", patch: `[{"op":"replace","path":"/lifecycleStatus","value":"completed"},{"op":"test","path":"/lifecycleStatus","value":"active"}]`, status: 422,
			want: []string{`patch operation 1 (test \"/lifecycleStatus\") failed`}},
		{name: "test compares decimals with their precision", patch: `[{"op":"test","path":"/target/0/detailQuantity/value","value":1.5}]`, status: 422, want: []string{"patch operation 0"}},
		{name: "path that does not exist", patch: `[{"op":"replace","path":"/statusReason/text","value":"x"}]`, status: 422, want: []string{"patch operation 0 (replace"}},
		{name: "result invalid", patch: `[{"op":"remove","path":"/lifecycleStatus"},{"op":"remove","path":"/_lifecycleStatus"}]`, status: 422, expr: "Goal.lifecycleStatus",
			want: []string{"the patched resource is invalid: lifecycleStatus is required"}},
		{name: "result has a bad code", patch: `[{"op":"replace","path":"/lifecycleStatus","value":"bogus"}]`, status: 422, expr: "Goal.lifecycleStatus"},
		{name: "result has an unknown element", patch: `[{"op":"add","path":"/colour","value":"red"}]`, status: 422, expr: "Goal.colour"},
		{name: "id changed", patch: `[{"op":"replace","path":"/id","value":"other"}]`, status: 422, expr: "Goal.id", want: []string{"cannot change a resource's id"}},
		{name: "id removed", patch: `[{"op":"remove","path":"/id"}]`, status: 422, expr: "Goal.id"},
		{name: "resourceType changed", patch: `[{"op":"replace","path":"/resourceType","value":"CarePlan"}]`, status: 422, expr: "Goal.resourceType"},
		{name: "malformed patch", patch: `[{"op":"replace","path":"lifecycleStatus","value":"x"}]`, status: 400, want: []string{"patch operation 0", "JSON Pointer"}},
		{name: "not JSON", patch: `[{"op":`, status: 400},
		{name: "patch is an object", patch: `{"op":"remove","path":"/note"}`, status: 400, want: []string{"JSON array"}},
		{name: "FHIRPath Patch", ct: "application/fhir+json", patch: `{"resourceType":"Parameters","parameter":[{"name":"operation","part":[{"name":"type","valueCode":"delete"},{"name":"path","valueString":"Goal.note"}]}]}`, status: 415,
			want: []string{"application/json-patch+json", "only JSON Patch is"}},
		{name: "plain JSON", ct: "application/json", patch: `[]`, status: 415, want: []string{"application/json-patch+json"}},
		{name: "merge patch", ct: "application/merge-patch+json", patch: `{"lifecycleStatus":"on-hold"}`, status: 415, want: []string{"application/json-patch+json"}},
		{name: "latin1", ct: "application/json-patch+json; charset=latin1", patch: `[]`, status: 415},
		{name: "empty body", patch: "", headers: []string{"Content-Type", "application/json-patch+json"}, status: 400},
		{name: "bad If-Match", patch: `[]`, headers: []string{"If-Match", "1"}, status: 400},
		{name: "stale If-Match", patch: `[]`, headers: []string{"If-Match", `W/"2"`}, status: 412},
		{name: "absent", id: "nosuch", patch: `[]`, status: 404},
		{name: "deleted", id: gone, patch: `[]`, status: 410},
		{name: "deleted, malformed patch", id: gone, patch: `[1]`, status: 400},
		{name: "another board's, as read", id: otherBoard, patch: `[]`, status: 404},
		{name: "another board's, with If-Match", id: otherBoard, patch: `[]`, headers: []string{"If-Match", `W/"1"`}, status: 404},
		{name: "national reader may not write across boards", id: otherBoard, env: e.as("system/*.* matcare:national", boardA), patch: `[]`, status: 403},
		{name: "read-only scope", env: e.as("system/Goal.rs", boardA), patch: `[]`, status: 403, want: []string{"system/Goal.u"}},
		{name: "create-only scope", env: e.as("system/Goal.c", boardA), patch: `[]`, status: 403},
		{name: "patient writer moves it out of its compartment", env: e.as("patient/Goal.u patient/Goal.r", boardA, "patient", "p1"),
			patch: `[{"op":"replace","path":"/subject/reference","value":"Patient/p2"}]`, status: 403},
		{name: "patient writer outside its compartment", env: e.as("patient/Goal.u patient/Goal.r", boardA, "patient", "p9"), patch: `[]`, status: 404},
		{name: "unknown type", id: "x", patch: `[]`, status: 404},
		{name: "bad id", id: "a_b", patch: `[]`, status: 400},
		{name: "AuditEvent is read-only", id: "x", patch: `[]`, status: 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.t, boardBEnv.t = t, t
			id := tt.id
			if id == "" {
				id = e.create(patchGoal)
			}
			typ := "Goal"
			switch tt.name {
			case "unknown type":
				typ = "Encounter"
			case "AuditEvent is read-only":
				typ = "AuditEvent"
			}
			before := e.do("GET", "/Goal/"+id, "")
			c := tt.env
			if c == nil {
				c = e
			}
			c.t = t
			ct := tt.ct
			if ct == "" {
				ct = "application/json-patch+json"
			}
			r := c.do("PATCH", "/"+typ+"/"+id, tt.patch, append([]string{"Content-Type", ct}, tt.headers...)...)
			wantStatus(t, r, tt.status)
			for _, w := range tt.want {
				if !strings.Contains(string(r.body), w) {
					t.Errorf("answer lacks %s: %s", w, r.body)
				}
			}
			if tt.expr != "" {
				ex, _ := issue(t, r)["expression"].([]any)
				if len(ex) == 0 || ex[0] != tt.expr {
					t.Errorf("expression = %v, want %q (%s)", ex, tt.expr, r.body)
				}
			}
			after := e.do("GET", "/Goal/"+id, "")
			if tt.status != http.StatusOK {
				// Nothing was stored: the same version, the same JSON.
				if after.StatusCode != before.StatusCode || string(after.body) != string(before.body) || after.Header.Get("ETag") != before.Header.Get("ETag") {
					t.Errorf("a refused patch changed Goal/%s: %s %s → %s %s", id, before.Header.Get("ETag"), before.body, after.Header.Get("ETag"), after.body)
				}
				return
			}
			wantStatus(t, after, http.StatusOK)
			if got := r.Header.Get("ETag"); got != `W/"2"` || after.Header.Get("ETag") != got {
				t.Errorf("ETag %q, read's %q, want W/\"2\"", got, after.Header.Get("ETag"))
			}
			if got, want := r.Header.Get("Location"), e.base+"/Goal/"+id+"/_history/2"; got != want {
				t.Errorf("Location = %q, want %q", got, want)
			}
			if _, err := http.ParseTime(r.Header.Get("Last-Modified")); err != nil {
				t.Errorf("Last-Modified: %v", err)
			}
			switch parsePreferReturn(tt.headers) {
			case "minimal":
				if len(r.body) != 0 {
					t.Errorf("return=minimal answered a body: %s", r.body)
				}
			case "representation":
				if string(r.body) != string(after.body) {
					t.Errorf("answer differs from a read:\n%s\n%s", r.body, after.body)
				}
			}
			for _, w := range tt.want {
				if !strings.Contains(string(after.body), w) && !strings.Contains(w, "OperationOutcome") && !strings.Contains(w, "patched") {
					t.Errorf("stored version lacks %s: %s", w, after.body)
				}
			}
			for _, g := range tt.gone {
				if strings.Contains(string(after.body), g) {
					t.Errorf("stored version still has %s: %s", g, after.body)
				}
			}
			// What the patch did not touch is as the client wrote it.
			if !strings.Contains(tt.patch, "/target") && !strings.Contains(string(after.body), `"value":1.50`) {
				t.Errorf("the decimal 1.50 lost its text: %s", after.body)
			}
		})
	}
}

func parsePreferReturn(headers []string) string {
	for i := 0; i+1 < len(headers); i += 2 {
		if strings.EqualFold(headers[i], "Prefer") {
			return strings.TrimPrefix(headers[i+1], "return=")
		}
	}
	return "representation"
}

// TestPatchHistory checks that a patch is a version like any other: in
// the instance history as a PATCH, the previous version unchanged.
func TestPatchHistory(t *testing.T) {
	e := newEnv(t)
	id := e.create(patchGoal)
	wantStatus(t, e.patch("/Goal/"+id, `[{"op":"replace","path":"/lifecycleStatus","value":"on-hold"}]`), http.StatusOK)
	r := e.patch("/Goal/"+id, `[{"op":"test","path":"/meta/versionId","value":"2"},{"op":"replace","path":"/lifecycleStatus","value":"active"}]`, "If-Match", `W/"2"`)
	wantStatus(t, r, http.StatusOK)
	h := e.do("GET", "/Goal/"+id+"/_history", "")
	wantStatus(t, h, http.StatusOK)
	es := entries(t, h)
	if len(es) != 3 {
		t.Fatalf("%d history entries, want 3: %s", len(es), h.body)
	}
	for i, want := range []string{"PATCH", "PATCH", "POST"} {
		req := es[i]["request"].(map[string]any)
		res := es[i]["response"].(map[string]any)
		if req["method"] != want || (want == "PATCH" && (req["url"] != "Goal/"+id || res["status"] != "200 OK")) {
			t.Errorf("entry %d: request %v, response %v; want %s", i, req, res, want)
		}
	}
	v1 := e.do("GET", "/Goal/"+id+"/_history/1", "")
	wantStatus(t, v1, http.StatusOK)
	if !strings.Contains(string(v1.body), `"lifecycleStatus":"active"`) || !strings.Contains(string(v1.body), `"versionId":"1"`) {
		t.Errorf("version 1 changed: %s", v1.body)
	}
	v2 := e.do("GET", "/Goal/"+id+"/_history/2", "")
	if !strings.Contains(string(v2.body), `"lifecycleStatus":"on-hold"`) {
		t.Errorf("version 2: %s", v2.body)
	}
	// A patch a test refuses leaves the version where it was.
	wantStatus(t, e.patch("/Goal/"+id, `[{"op":"test","path":"/meta/versionId","value":"2"}]`), http.StatusUnprocessableEntity)
	if got := e.do("GET", "/Goal/"+id, "").Header.Get("ETag"); got != `W/"3"` {
		t.Errorf("ETag after a refused patch = %s, want W/\"3\"", got)
	}
}

// TestPatchSharedContent checks that shared content (Questionnaire) is
// patched only with the administrative scope.
func TestPatchSharedContent(t *testing.T) {
	e := newEnv(t)
	r := e.do("POST", "/Questionnaire", `{"resourceType":"Questionnaire","status":"draft","item":[{"linkId":"1","type":"string","text":"How many days?"}]}`)
	wantStatus(t, r, http.StatusCreated)
	id := r.json(t)["id"].(string)
	p := `[{"op":"replace","path":"/status","value":"active"}]`
	wantStatus(t, e.as("system/Questionnaire.*", boardA).patch("/Questionnaire/"+id, p), http.StatusForbidden)
	r = e.patch("/Questionnaire/"+id, p)
	wantStatus(t, r, http.StatusOK)
	if !strings.Contains(string(r.body), `"status":"active"`) {
		t.Errorf("patched Questionnaire: %s", r.body)
	}
	// Questionnaire rules hold for the result: an item without linkId.
	wantStatus(t, e.patch("/Questionnaire/"+id, `[{"op":"remove","path":"/item/0/linkId"}]`), http.StatusUnprocessableEntity)
}

// TestPatchCapability checks that the CapabilityStatement lists patch
// once for every served type.
func TestPatchCapability(t *testing.T) {
	e := newEnv(t)
	r := e.do("GET", "/metadata", "")
	wantStatus(t, r, http.StatusOK)
	rest := r.json(t)["rest"].([]any)[0].(map[string]any)
	n := 0
	for _, x := range rest["resource"].([]any) {
		res := x.(map[string]any)
		codes := map[string]int{}
		for _, in := range asSlice(res["interaction"]) {
			codes[in.(map[string]any)["code"].(string)]++
		}
		for code, k := range codes {
			if k > 1 {
				t.Errorf("%s: interaction %s listed %d times", res["type"], code, k)
			}
		}
		if _, served := fhir.Types[res["type"].(string)]; !served {
			// AuditEvent, and CodeSystem and ValueSet for their operations.
			if codes["patch"] != 0 {
				t.Errorf("%s lists patch", res["type"])
			}
			continue
		}
		n++
		if codes["patch"] != 1 {
			t.Errorf("%s: interactions %v lack patch", res["type"], codes)
		}
	}
	if n == 0 {
		t.Fatal("no resources in the CapabilityStatement")
	}
}

// TestConditionalPatch checks PATCH /fhir/Goal?criteria against the
// server: the criteria select among the caller's own resources; none is
// 404, several 412, one is patched and answered as a patch by id.
func TestConditionalPatch(t *testing.T) {
	e := newEnv(t)
	goal := func(patient, status string) string {
		return `{"resourceType":"Goal","lifecycleStatus":"` + status + `","description":{"text":"x"},"subject":{"reference":"Patient/` + patient + `"},"target":[{"detailQuantity":{"value":1.50}}]}`
	}
	a1 := e.create(goal("p1", "active"))
	e.create(goal("p2", "active"))
	e.create(goal("p2", "active"))
	boardBEnv := e.as(fullScope, boardB)
	b1 := boardBEnv.create(goal("p1", "active"))
	b3 := boardBEnv.create(goal("p3", "active"))
	onHold := `[{"op":"replace","path":"/lifecycleStatus","value":"on-hold"}]`
	tests := []struct {
		name, query, patch string
		env                *env
		headers            []string
		ct                 string
		status             int
		want               string // substring of the answer
	}{
		{name: "no match", query: "patient=p9", patch: onHold, status: 404, want: "no resource matches"},
		{name: "another board's only", query: "_id=" + b3, patch: onHold, status: 404},
		{name: "several", query: "patient=p2&lifecycle-status=active", patch: onHold, status: 412, want: "match 2"},
		{name: "no criteria", query: "", patch: onHold, status: 400},
		{name: "unknown parameter", query: "colour=red", patch: onHold, status: 400},
		{name: "malformed patch", query: "patient=p1", patch: `[{"op":"replace"}]`, status: 400},
		{name: "wrong content type", query: "patient=p1", patch: onHold, ct: "application/fhir+json", status: 415, want: "only JSON Patch"},
		{name: "failing test", query: "patient=p1", patch: `[{"op":"test","path":"/lifecycleStatus","value":"completed"}]`, status: 422, want: "patch operation 0"},
		{name: "invalid result", query: "patient=p1", patch: `[{"op":"remove","path":"/subject"}]`, status: 422},
		{name: "stale If-Match", query: "patient=p1", patch: onHold, headers: []string{"If-Match", `W/"5"`}, status: 412},
		{name: "read-only scope", query: "patient=p1", patch: onHold, env: e.as("system/Goal.rs", boardA), status: 403},
		// Board A's p1 Goal is the one match: board B's is not searched.
		{name: "one match", query: "patient=p1&lifecycle-status=active", patch: onHold, headers: []string{"If-Match", `W/"1"`}, status: 200, want: `"lifecycleStatus":"on-hold"`},
		{name: "no longer matches", query: "patient=p1&lifecycle-status=active", patch: onHold, status: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.env
			if c == nil {
				c = e
			}
			c.t, e.t, boardBEnv.t = t, t, t
			ct := tt.ct
			if ct == "" {
				ct = "application/json-patch+json"
			}
			path := "/Goal"
			if tt.query != "" {
				path += "?" + tt.query
			}
			r := c.do("PATCH", path, tt.patch, append([]string{"Content-Type", ct}, tt.headers...)...)
			wantStatus(t, r, tt.status)
			if !strings.Contains(string(r.body), tt.want) {
				t.Errorf("answer lacks %s: %s", tt.want, r.body)
			}
			if tt.status != http.StatusOK {
				return
			}
			if got, want := r.Header.Get("Location"), e.base+"/Goal/"+a1+"/_history/2"; got != want || r.Header.Get("ETag") != `W/"2"` {
				t.Errorf("Location %q ETag %q, want %q W/\"2\"", got, r.Header.Get("ETag"), want)
			}
			if !strings.Contains(string(r.body), `"value":1.50`) {
				t.Errorf("decimal text lost: %s", r.body)
			}
		})
	}
	e.t, boardBEnv.t = t, t
	// Nothing but a1 changed: every other Goal is still version 1.
	for _, id := range []string{b1, b3} {
		if got := boardBEnv.do("GET", "/Goal/"+id, "").Header.Get("ETag"); got != `W/"1"` {
			t.Errorf("board B's Goal/%s: ETag %s, want W/\"1\"", id, got)
		}
	}
	h := e.do("GET", "/Goal/_history", "")
	wantStatus(t, h, http.StatusOK)
	if n := len(entries(t, h)); n != 4 {
		t.Errorf("board A's Goal history has %d entries, want 4 (3 creates, 1 patch): %s", n, h.body)
	}
}

// patchBinary is a JSON Patch as a Bundle entry carries it (R4 http.html:
// a Binary with the patch's media type).
func patchBinary(patch string) string {
	return `{"resourceType":"Binary","contentType":"application/json-patch+json","data":"` + base64.StdEncoding.EncodeToString([]byte(patch)) + `"}`
}

// TestPatchInBundles checks PATCH entries: a batch runs each through the
// PATCH routes (by id and conditional), answering per entry; a
// transaction commits them with its other entries.
func TestPatchInBundles(t *testing.T) {
	e := newEnv(t)
	id := e.create(patchGoal)
	onHold := `[{"op":"replace","path":"/lifecycleStatus","value":"on-hold"}]`
	r := e.do("POST", "", txBundle("batch",
		txEntry("", "PATCH", "Goal/"+id, patchBinary(onHold), `"ifMatch":"W/\"1\""`),
		txEntry("", "PATCH", "Goal/"+id, patchBinary(`[{"op":"test","path":"/lifecycleStatus","value":"active"}]`)),
		txEntry("", "PATCH", "Goal?_id="+id, patchBinary(`[{"op":"add","path":"/note","value":[{"text":"n"}]}]`)),
		txEntry("", "PATCH", "Goal/nosuch", patchBinary(onHold)),
	))
	wantStatus(t, r, http.StatusOK)
	b := decodeBundle(t, r)
	want := []string{"200", "422", "200", "404"}
	if len(b.Entry) != len(want) {
		t.Fatalf("response: %s", r.body)
	}
	for i, en := range b.Entry {
		if !strings.HasPrefix(en.Response.Status, want[i]) {
			t.Errorf("entry %d: status %q, want %s: %s", i, en.Response.Status, want[i], en.Response.Outcome)
		}
	}
	if b.Entry[2].Response.Etag != `W/"3"` || !strings.Contains(string(b.Entry[2].Resource), `"note":[{"text":"n"}]`) ||
		!strings.Contains(string(b.Entry[2].Resource), `"lifecycleStatus":"on-hold"`) || !strings.Contains(string(b.Entry[2].Resource), `"value":1.50`) {
		t.Errorf("entry 2: etag %s, resource %s", b.Entry[2].Response.Etag, b.Entry[2].Resource)
	}
	// In a transaction: a patch that fails its test op fails the whole
	// transaction (422, nothing stored); one that applies is committed
	// with the other entries, and may refer to them by urn:uuid.
	r = e.do("POST", "", txBundle("transaction",
		txEntry(uuidPatient, "POST", "Patient", patientWithMRN("patch-tx", "A")),
		txEntry("", "PATCH", "Goal/"+id, patchBinary(`[{"op":"test","path":"/lifecycleStatus","value":"active"}]`))))
	wantStatus(t, r, http.StatusUnprocessableEntity)
	if n := e.count("/Patient?identifier=" + url.QueryEscape(mrnSystem+"|patch-tx")); n != 0 {
		t.Errorf("a failed transaction stored %d patients", n)
	}
	r = e.do("POST", "", txBundle("transaction",
		txEntry(uuidPatient, "POST", "Patient", patientWithMRN("patch-tx", "A")),
		txEntry("", "PATCH", "Goal?_id="+id, patchBinary(`[{"op":"replace","path":"/subject","value":{"reference":"`+uuidPatient+`"}}]`), `"ifMatch":"W/\"3\""`)))
	wantStatus(t, r, http.StatusOK)
	b = decodeBundle(t, r)
	patient := strings.Join(strings.Split(b.Entry[0].Response.Location, "/")[:2], "/")
	if b.Entry[1].Response.Status != "200 OK" || b.Entry[1].Response.Etag != `W/"4"` ||
		!strings.Contains(string(b.Entry[1].Resource), `"subject":{"reference":"`+patient+`"}`) ||
		!strings.Contains(string(b.Entry[1].Resource), `"value":1.50`) {
		t.Errorf("patch entry: %+v %s", b.Entry[1].Response, b.Entry[1].Resource)
	}
}

// TestConditionalPatchTypedChain checks criteria written as a typed chain
// (subject:Patient.name=…), which the conditional criteria let through:
// the match is patched at once, not re-searched until the write timeout
// (the stored body cannot tell whether a chained condition holds).
func TestConditionalPatchTypedChain(t *testing.T) {
	e := newEnv(t)
	r := e.do("POST", "/Patient", `{"resourceType":"Patient","name":[{"family":"Chainy"}]}`)
	wantStatus(t, r, http.StatusCreated)
	pid := r.json(t)["id"].(string)
	id := e.create(`{"resourceType":"Goal","lifecycleStatus":"active","description":{"text":"x"},"subject":{"reference":"Patient/` + pid + `"}}`)
	start := time.Now()
	r = e.patch("/Goal?subject:Patient.name=Chainy", `[{"op":"replace","path":"/lifecycleStatus","value":"on-hold"}]`)
	if r.StatusCode == http.StatusOK {
		if got := r.Header.Get("Location"); !strings.Contains(got, "/Goal/"+id+"/") {
			t.Errorf("Location %s, want Goal/%s", got, id)
		}
	} else {
		wantStatus(t, r, http.StatusBadRequest) // should the criteria come to refuse chains
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("conditional patch took %v", d)
	}
}
