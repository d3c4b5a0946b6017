package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/matcare/matcare/fhir/fhirtest"
)

var (
	txBundle  = fhirtest.Bundle
	txEntry   = fhirtest.BundleEntry
	jsonQuote = fhirtest.Quote
)

// bundleResponse decodes a batch-response or transaction-response.
type bundleResponse struct {
	Type  string
	Entry []struct {
		FullURL  string          `json:"fullUrl"`
		Resource json.RawMessage `json:"resource"`
		Response struct {
			Status, Location, Etag, LastModified string
			Outcome                              json.RawMessage
		}
	}
}

func decodeBundle(t testing.TB, r response) bundleResponse {
	t.Helper()
	var b bundleResponse
	if err := json.Unmarshal(r.body, &b); err != nil {
		t.Fatalf("response is not a Bundle: %v: %s", err, r.body)
	}
	return b
}

const (
	uuidPatient = "urn:uuid:3b5f1f6e-2b4c-4c1e-9b0a-111111111111"
	uuidPlan    = "urn:uuid:3b5f1f6e-2b4c-4c1e-9b0a-222222222222"
	uuidQR      = "urn:uuid:3b5f1f6e-2b4c-4c1e-9b0a-333333333333"
)

func uuidGoal(i int) string { return fmt.Sprintf("urn:uuid:3b5f1f6e-2b4c-4c1e-9b0a-4444444444%02d", i) }

// ehrPush is a realistic EHR push: a Patient, a MAT episode CarePlan with
// 5 Goals, and a QuestionnaireResponse, referring to each other by
// urn:uuid both ways (CarePlan → Goals, Goals → Patient, CarePlan →
// QuestionnaireResponse → CarePlan).
func ehrPush(mrn string) string {
	entries := []string{
		txEntry(uuidPatient, "POST", "Patient", patientWithMRN(mrn, "Pushed"), `"ifNoneExist":`+jsonQuote("identifier="+mrnSystem+"|"+mrn)),
	}
	var goals []string
	for i := range 5 {
		goals = append(goals, `{"reference":"`+uuidGoal(i)+`"}`)
		entries = append(entries, txEntry(uuidGoal(i), "POST", "Goal",
			`{"resourceType":"Goal","lifecycleStatus":"active","description":{"text":"goal `+fmt.Sprint(i)+`"},"subject":{"reference":"`+uuidPatient+`"},`+
				`"target":[{"detailQuantity":{"value":1.50,"unit":"mg"}}]}`))
	}
	entries = append(entries,
		txEntry(uuidPlan, "POST", "CarePlan", `{"resourceType":"CarePlan","status":"active","intent":"plan",`+
			`"subject":{"reference":"`+uuidPatient+`"},"goal":[`+strings.Join(goals, ",")+`],`+
			`"supportingInfo":[{"reference":"`+uuidQR+`"}],`+
			`"contained":[{"resourceType":"Goal","id":"c1","lifecycleStatus":"proposed","description":{"text":"contained"},"subject":{"reference":"`+uuidPatient+`"}}]}`),
		txEntry(uuidQR, "POST", "QuestionnaireResponse", `{"resourceType":"QuestionnaireResponse","status":"completed",`+
			`"subject":{"reference":"`+uuidPatient+`"},"basedOn":[{"reference":"`+uuidPlan+`"}]}`),
	)
	return txBundle("transaction", entries...)
}

func TestTransactionEHRPush(t *testing.T) {
	e := newEnv(t)
	r := e.do("POST", "", ehrPush("push-1"))
	wantStatus(t, r, http.StatusOK)
	b := decodeBundle(t, r)
	if b.Type != "transaction-response" || len(b.Entry) != 8 {
		t.Fatalf("response: %s", r.body)
	}
	locs := map[string]string{}
	for i, en := range b.Entry {
		if en.Response.Status != "201 Created" || en.Response.Etag != `W/"1"` || en.Response.LastModified == "" {
			t.Errorf("entry %d: %+v", i, en.Response)
		}
		parts := strings.Split(en.Response.Location, "/")
		if len(parts) != 4 || parts[2] != "_history" {
			t.Fatalf("entry %d location %q", i, en.Response.Location)
		}
		locs[fmt.Sprint(i)] = parts[0] + "/" + parts[1]
	}
	patient := locs["0"]
	plan := e.do("GET", "/"+locs["6"], "")
	wantStatus(t, plan, http.StatusOK)
	body := string(plan.body)
	for i := range 5 {
		if !strings.Contains(body, `{"reference":"`+locs[fmt.Sprint(i+1)]+`"}`) {
			t.Errorf("CarePlan does not refer to goal %d (%s): %s", i, locs[fmt.Sprint(i+1)], body)
		}
	}
	for _, want := range []string{`"subject":{"reference":"` + patient + `"}`, `"supportingInfo":[{"reference":"` + locs["7"] + `"}]`} {
		if !strings.Contains(body, want) {
			t.Errorf("CarePlan lacks %s: %s", want, body)
		}
	}
	if strings.Contains(body, "urn:uuid") {
		t.Errorf("a placeholder was left (contained resources too): %s", body)
	}
	qr := e.do("GET", "/"+locs["7"], "")
	if !strings.Contains(string(qr.body), `"basedOn":[{"reference":"`+locs["6"]+`"}]`) {
		t.Errorf("QuestionnaireResponse: %s", qr.body)
	}
	g := e.do("GET", "/"+locs["1"], "")
	if !strings.Contains(string(g.body), `"value":1.50`) {
		t.Errorf("decimal precision lost: %s", g.body)
	}
	// Searchable by the rewritten references.
	if n := e.count("/Goal?patient=" + patient); n != 5 {
		t.Errorf("%d goals of the patient, want 5", n)
	}

	// The same push again: the patient is matched, not duplicated; the
	// new goals point at it.
	r = e.do("POST", "", ehrPush("push-1"))
	wantStatus(t, r, http.StatusOK)
	b = decodeBundle(t, r)
	if b.Entry[0].Response.Status != "200 OK" || !strings.HasPrefix(b.Entry[0].Response.Location, patient+"/") {
		t.Fatalf("repeated push: patient entry %+v", b.Entry[0].Response)
	}
	if n := e.count("/Patient?identifier=" + url.QueryEscape(mrnSystem+"|push-1")); n != 1 {
		t.Fatalf("%d patients", n)
	}
	if n := e.count("/Goal?patient=" + patient); n != 10 {
		t.Errorf("%d goals of the patient, want 10", n)
	}
}

// TestTransactionAllOrNothing: a transaction with a failing entry stores
// nothing, and says which entry failed.
func TestTransactionAllOrNothing(t *testing.T) {
	e := newEnv(t)
	existing := e.create(goalBody)
	other := e.create(goalBody)
	cases := []struct {
		name   string
		entry  string
		status int
	}{
		{"invalid resource", txEntry("", "POST", "Goal", `{"resourceType":"Goal","description":{"text":"no status"},"subject":{"reference":"Patient/p1"}}`), http.StatusBadRequest},
		{"if-match mismatch", txEntry("", "PUT", "Goal/"+other, goalWithID(other, "cancelled"), `"ifMatch":"W/\"7\""`), http.StatusPreconditionFailed},
		{"unknown placeholder", txEntry("", "POST", "Goal", `{"resourceType":"Goal","lifecycleStatus":"active","description":{"text":"x"},"subject":{"reference":"urn:uuid:3b5f1f6e-2b4c-4c1e-9b0a-999999999999"}}`), http.StatusNotFound},
		{"conditional reference without match", txEntry("", "POST", "Goal", `{"resourceType":"Goal","lifecycleStatus":"active","description":{"text":"x"},"subject":{"reference":"Patient?identifier=nobody"}}`), http.StatusPreconditionFailed},
		{"unknown type", txEntry("", "POST", "Medication", `{"resourceType":"Medication"}`), http.StatusNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := txBundle("transaction",
				txEntry(uuidPatient, "POST", "Patient", patientWithMRN("aon-"+tc.name, "X"),
					`"ifNoneExist":`+jsonQuote("identifier="+mrnSystem+"|aon-"+tc.name)),
				txEntry("", "DELETE", "Goal/"+existing, ""),
				tc.entry)
			r := e.do("POST", "", body)
			wantStatus(t, r, tc.status)
			if d := fmt.Sprint(issue(t, r)["diagnostics"]); !strings.Contains(d, "Bundle.entry[2]") {
				t.Errorf("diagnostics %q do not name the entry", d)
			}
			if n := e.count("/Patient?identifier=" + url.QueryEscape(mrnSystem+"|aon-"+tc.name)); n != 0 {
				t.Errorf("a failed transaction stored a patient")
			}
			wantStatus(t, e.do("GET", "/Goal/"+existing, ""), http.StatusOK)
			// The failed transaction's claim on the criteria is spent: a
			// conditional create need not wait for it to go stale.
			r = e.do("POST", "/Patient", patientWithMRN("aon-"+tc.name, "X"), "If-None-Exist", "identifier="+url.QueryEscape(mrnSystem+"|aon-"+tc.name))
			wantStatus(t, r, http.StatusCreated)
		})
	}
}

// TestTransactionOrderAndReads: DELETE, POST, PUT, then GET, whatever
// the entries' order; reads and searches see the writes.
func TestTransactionOrderAndReads(t *testing.T) {
	e := newEnv(t)
	gone := e.create(goalBody)
	body := txBundle("transaction",
		txEntry("", "GET", "Goal?lifecycle-status=cancelled", ""),
		txEntry("", "GET", "Goal/g-put", ""),
		txEntry("", "PUT", "Goal/g-put", goalWithID("g-put", "cancelled")),
		txEntry("", "DELETE", "Goal/"+gone, ""),
		txEntry("", "GET", "Goal/"+gone, ""),
	)
	r := e.do("POST", "/", body) // clients differ: POST /fhir/ works too
	wantStatus(t, r, http.StatusOK)
	b := decodeBundle(t, r)
	want := []string{"200 OK", "200 OK", "201 Created", "200 OK", "410 Gone"}
	for i, en := range b.Entry {
		if !strings.HasPrefix(en.Response.Status, want[i][:3]) {
			t.Errorf("entry %d: status %q, want %q", i, en.Response.Status, want[i])
		}
	}
	var set struct{ Total int }
	_ = json.Unmarshal(b.Entry[0].Resource, &set)
	if set.Total != 1 {
		t.Errorf("the search entry ran before the PUT: %s", b.Entry[0].Resource)
	}
}

// TestBatch: entries succeed and fail independently.
func TestBatch(t *testing.T) {
	e := newEnv(t)
	body := txBundle("batch",
		txEntry("", "POST", "Goal", goalBody),
		txEntry("", "POST", "Goal", `{"resourceType":"Goal"}`),
		txEntry("", "GET", "Goal/nope", ""),
		txEntry("", "PUT", "Goal/b1", goalWithID("b1", "active")),
		txEntry("", "GET", "Goal?_id=b1", ""),
		`{"request":{"method":"BREW","url":"Goal"}}`,
	)
	r := e.do("POST", "", body)
	wantStatus(t, r, http.StatusOK)
	b := decodeBundle(t, r)
	want := []string{"201", "400", "404", "201", "200", "400"}
	if b.Type != "batch-response" || len(b.Entry) != len(want) {
		t.Fatalf("response: %s", r.body)
	}
	for i, en := range b.Entry {
		if !strings.HasPrefix(en.Response.Status, want[i]) {
			t.Errorf("entry %d: status %q, want %s", i, en.Response.Status, want[i])
		}
		if want[i] >= "400" && len(en.Response.Outcome) == 0 {
			t.Errorf("entry %d: no outcome", i)
		}
	}
	if !strings.Contains(string(b.Entry[0].Resource), `"value":1.50`) {
		t.Errorf("entry 0 resource: %s", b.Entry[0].Resource)
	}
}

// TestBundleLimitsAndScopes: limits answer 413; an entry the token may
// not write fails a transaction with 403 and only its entry in a batch.
func TestBundleLimitsAndScopes(t *testing.T) {
	e := newEnv(t)
	var many []string
	for range 1001 {
		many = append(many, txEntry("", "GET", "Goal/x", ""))
	}
	wantStatus(t, e.do("POST", "", txBundle("batch", many...)), http.StatusRequestEntityTooLarge)
	big := strings.Repeat(" ", 17<<20)
	wantStatus(t, e.do("POST", "", txBundle("batch")+big), http.StatusRequestEntityTooLarge)

	ro := e.as("system/Goal.read system/Goal.search", boardA)
	tx := txBundle("transaction", txEntry("", "GET", "Goal?_count=1", ""), txEntry("", "POST", "Goal", goalBody))
	r := ro.do("POST", "", tx)
	wantStatus(t, r, http.StatusForbidden)
	if d := fmt.Sprint(issue(t, r)["diagnostics"]); !strings.Contains(d, "Bundle.entry[1]") {
		t.Errorf("diagnostics %q", d)
	}
	r = ro.do("POST", "", strings.Replace(tx, `"transaction"`, `"batch"`, 1))
	wantStatus(t, r, http.StatusOK)
	b := decodeBundle(t, r)
	if !strings.HasPrefix(b.Entry[0].Response.Status, "200") || !strings.HasPrefix(b.Entry[1].Response.Status, "403") {
		t.Errorf("batch statuses %q %q", b.Entry[0].Response.Status, b.Entry[1].Response.Status)
	}
	// Another board's resource cannot be overwritten from a transaction.
	id := e.create(goalBody)
	r = e.as(fullScope, boardB).do("POST", "", txBundle("transaction", txEntry("", "PUT", "Goal/"+id, goalWithID(id, "cancelled"))))
	wantStatus(t, r, http.StatusConflict)
}

// TestBundleAudit: every entry of a transaction or batch is audited as
// the single interaction would be, under the Bundle's request id, besides
// the Bundle's own AuditEvent.
func TestBundleAudit(t *testing.T) {
	e := newEnv(t)
	trail := newAuditTrail(t, e)
	for _, tc := range []struct {
		typ  string
		want []string // subtypes of the AuditEvents, sorted
	}{
		{"transaction", []string{"create", "create", "read", "transaction"}},
		{"batch", []string{"batch", "create", "create", "read"}},
	} {
		body := txBundle(tc.typ,
			txEntry(uuidPatient, "POST", "Patient", patientWithMRN("audit-"+tc.typ, "A")),
			txEntry("", "POST", "Goal", goalBody),
			txEntry("", "GET", "Goal/absent", ""))
		r := e.do("POST", "", body)
		wantStatus(t, r, http.StatusOK)
		rid := r.Header.Get("X-Request-ID")
		evs := trail.byRequest(t, rid)
		var got []string
		for _, ev := range evs {
			got = append(got, fmt.Sprint(path(ev, "subtype", 0, "code")))
			if fmt.Sprint(path(ev, "subtype", 0, "code")) == "create" {
				ref := fmt.Sprint(path(ev, "entity", 0, "what", "reference"))
				if !strings.HasSuffix(ref, "/_history/1") || fmt.Sprint(path(ev, "action")) != "C" {
					t.Errorf("%s: create audited as %v %s", tc.typ, path(ev, "action"), ref)
				}
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: AuditEvents %v, want %v", tc.typ, got, tc.want)
		}
	}
}

// TestTransactionAudit: a transaction records one AuditEvent per write
// (as the single interaction would: create, update, delete, with the
// version written), none for a conditional create that matched, and
// one for the Bundle.
func TestTransactionAudit(t *testing.T) {
	e := newEnv(t)
	trail := newAuditTrail(t, e)
	gone := e.create(goalBody)
	wantStatus(t, e.do("POST", "/Patient", patientWithMRN("audit-1", "Seen"), "If-None-Exist", "identifier="+mrnSystem+"|audit-1"), http.StatusCreated)
	body := txBundle("transaction",
		txEntry(uuidPatient, "POST", "Patient", patientWithMRN("audit-1", "Seen"), `"ifNoneExist":`+jsonQuote("identifier="+mrnSystem+"|audit-1")),
		txEntry(uuidGoal(0), "POST", "Goal", goalBody),
		txEntry(uuidGoal(1), "POST", "Goal", goalBody),
		txEntry("", "PUT", "Goal/au-put", goalWithID("au-put", "active")),
		txEntry("", "DELETE", "Goal/"+gone, ""),
	)
	r := e.do("POST", "", body)
	wantStatus(t, r, http.StatusOK)
	b := decodeBundle(t, r)
	want := map[string]string{} // entity reference → interaction
	for i, in := range []string{"", "create", "create", "create", "delete"} {
		if in != "" {
			want[b.Entry[i].Response.Location] = in
		}
	}
	if n := len(trail.byRequest(t, r.Header.Get("X-Request-Id"))); n != 1+4 {
		t.Errorf("%d AuditEvents of the Bundle's request, want 5 (the Bundle's and its 4 writes')", n)
	}
	got := map[string]string{}
	for _, ev := range trail.all(t) {
		ref, _ := path(ev, "entity", 0, "what", "reference").(string)
		if _, ok := want[ref]; !ok {
			continue
		}
		if _, dup := got[ref]; dup {
			t.Errorf("two AuditEvents for %s", ref)
		}
		got[ref] = fmt.Sprint(path(ev, "subtype", 0, "code"))
	}
	for ref, in := range want {
		if got[ref] != in {
			t.Errorf("AuditEvent of %s: %q, want %q", ref, got[ref], in)
		}
	}
}
