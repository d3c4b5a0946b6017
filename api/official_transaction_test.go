package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// officialTransaction is the R4 example transaction Bundle
// (Bundle/bundle-transaction, hl7.fhir.r4.examples 4.0.1).
const officialTransaction = "../fhir/testdata/bundle/Bundle-bundle-transaction.json"

// officialLeftOut are the entries of the example that matcare cannot be
// sent: entry 7 is POST ValueSet/$lookup with a Parameters resource, an
// operation (matcare serves ValueSet, but no operation in a Bundle; R4
// defines $lookup on CodeSystem). Every other entry is about Patient.
var officialLeftOut = []int{7}

// TestOfficialExampleTransaction posts the R4 example transaction to a
// server seeded with what it presupposes, and checks each entry's
// outcome against http.html (transaction processing, conditional create,
// update, delete and read):
//
//	0 POST Patient                          → 201, a new Patient/id/_history/1
//	1 POST Patient, ifNoneExist matching    → 200, nothing created (the match)
//	2 PUT Patient/123 (exists)              → 200, version 2
//	3 PUT Patient?identifier=… (one match)  → 200, the match's version 2
//	4 PUT Patient/123a, ifMatch W/"2"       → 200, version 3
//	5 DELETE Patient/234                    → 200 or 204, then 410 on read
//	6 DELETE Patient?identifier=123456      → 200 or 204, the match deleted
//	7 POST ValueSet/$lookup                 → left out (see officialLeftOut)
//	8 GET Patient?name=peter                → 200, a searchset run after the
//	                                          writes: the four Peters written
//	9 GET Patient/12334, ifNoneMatch W/"4"  → 304 Not Modified, etag W/"4"
//
// The whole example, entry 7 included, fails as one: the Bundle is
// refused naming Bundle.entry[7], and nothing is written.
func TestOfficialExampleTransaction(t *testing.T) {
	e := newEnv(t)
	raw, err := os.ReadFile(officialTransaction)
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Entry []json.RawMessage `json:"entry"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Entry) != 10 {
		t.Fatalf("%d entries in the example, want 10", len(file.Entry))
	}

	// What the example presupposes. None of it is named Peter, so that
	// entry 8 finds exactly the Peters the transaction writes.
	const ids = "http:/example.org/fhir/ids" // sic: the example's system has one slash
	seed := func(name, id string, identifiers ...[2]string) string {
		var ident []string
		for _, i := range identifiers {
			ident = append(ident, fmt.Sprintf(`{"system":%q,"value":%q}`, i[0], i[1]))
		}
		body := `{"resourceType":"Patient",`
		if id != "" {
			body += `"id":"` + id + `",`
		}
		if len(ident) > 0 {
			body += `"identifier":[` + strings.Join(ident, ",") + `],`
		}
		body += fmt.Sprintf(`"name":[{"family":"Seed","given":[%q]}]}`, name)
		if id == "" {
			r := e.do("POST", "/Patient", body)
			wantStatus(t, r, http.StatusCreated)
			return idOf(t, r)
		}
		r := e.do("PUT", "/Patient/"+id, body)
		if r.StatusCode != http.StatusCreated && r.StatusCode != http.StatusOK {
			t.Fatalf("PUT Patient/%s: %d %s", id, r.StatusCode, r.body)
		}
		return id
	}
	matched := seed("Ann", "", [2]string{ids, "234234"}) // entry 1's ifNoneExist matches it
	seed("Bea", "123")                                   // entry 2 updates it
	condUpdated := seed("Cai", "", [2]string{ids, "456456"})
	seed("Dan", "123a")
	seed("Dan", "123a") // entry 4 expects version 2
	seed("Eve", "234")  // entry 5 deletes it
	condDeleted := seed("Fay", "", [2]string{"urn:oid:1.2.36.146.595.217.0.1", "123456"})
	for range 4 {
		seed("Gil", "12334") // entry 9 reads it at version 4
	}
	before := map[string]string{} // Patient id → ETag
	for _, id := range []string{matched, "123", condUpdated, "123a", "234", condDeleted, "12334"} {
		r := e.do("GET", "/Patient/"+id, "")
		wantStatus(t, r, http.StatusOK)
		before[id] = r.Header.Get("ETag")
	}
	patients := e.count("/Patient?_lastUpdated=gt2000-01-01")

	// The example as it is: entry 7 cannot be processed, so nothing is.
	r := e.do("POST", "", string(raw))
	if r.StatusCode < 400 || r.StatusCode >= 500 && r.StatusCode != http.StatusNotImplemented {
		t.Fatalf("the whole example: status %d, want a 4xx or 501: %s", r.StatusCode, r.body)
	}
	wantStatus(t, r, r.StatusCode)
	if d := fmt.Sprint(issue(t, r)["diagnostics"]); !strings.Contains(d, "Bundle.entry[7]") {
		t.Errorf("the whole example: diagnostics %q do not name entry 7", d)
	}
	for id, etag := range before {
		if got := e.do("GET", "/Patient/"+id, "").Header.Get("ETag"); got != etag {
			t.Errorf("after the failed transaction, Patient/%s is at %s, was %s", id, got, etag)
		}
	}
	if n := e.count("/Patient?_lastUpdated=gt2000-01-01"); n != patients {
		t.Errorf("after the failed transaction, %d Patients, was %d", n, patients)
	}

	// The example without the entries left out.
	var sent []int // the example's index of each entry sent
	var entries []string
	for i, en := range file.Entry {
		if !slices.Contains(officialLeftOut, i) {
			sent = append(sent, i)
			entries = append(entries, string(en))
		}
	}
	r = e.do("POST", "", txBundle("transaction", entries...))
	wantStatus(t, r, http.StatusOK)
	b := decodeBundle(t, r)
	if b.Type != "transaction-response" || len(b.Entry) != len(sent) {
		t.Fatalf("response: type %q, %d entries for %d sent: %s", b.Type, len(b.Entry), len(sent), r.body)
	}
	res := map[int]int{} // the example's index → the response's
	for k, i := range sent {
		res[i] = k
	}
	type want struct {
		status   string // the code and its text, or codes separated by |
		location string // a regexp; "" for none
		etag     string // "" for none
	}
	id := `[A-Za-z0-9\-.]{1,64}`
	wants := map[int]want{
		0: {"201 Created", `^Patient/(` + id + `)/_history/1$`, `W/"1"`},
		1: {"200 OK", `^Patient/` + matched + `/_history/1$`, `W/"1"`},
		2: {"200 OK", `^Patient/123/_history/2$`, `W/"2"`},
		3: {"200 OK", `^Patient/` + condUpdated + `/_history/2$`, `W/"2"`},
		4: {"200 OK", `^Patient/123a/_history/3$`, `W/"3"`},
		5: {"200|204", "", ""},
		6: {"200|204", "", ""},
		8: {"200 OK", "", ""},
		9: {"304 Not Modified", "", `W/"4"`},
	}
	var created string
	for _, i := range sent {
		got, w := b.Entry[res[i]].Response, wants[i]
		ok := got.Status == w.status
		if strings.Contains(w.status, "|") {
			code, _, _ := strings.Cut(got.Status, " ")
			ok = slices.Contains(strings.Split(w.status, "|"), code)
		}
		if !ok {
			t.Errorf("entry %d: status %q, want %q (%s)", i, got.Status, w.status, got.Outcome)
		}
		if w.location != "" {
			m := regexp.MustCompile(w.location).FindStringSubmatch(got.Location)
			if m == nil {
				t.Errorf("entry %d: location %q, want %s", i, got.Location, w.location)
			} else if len(m) > 1 {
				created = m[1]
			}
		}
		if w.etag != "" && got.Etag != w.etag {
			t.Errorf("entry %d: etag %q, want %s", i, got.Etag, w.etag)
		}
		if i <= 4 && got.LastModified == "" {
			t.Errorf("entry %d: no lastModified", i)
		}
	}

	// The writes happened, and only they.
	if created == "" || created == matched {
		t.Fatalf("entry 0 created %q", created)
	}
	if n := e.count("/Patient?identifier=" + url.QueryEscape(ids+"|234234")); n != 1 {
		t.Errorf("the conditional create created: %d Patients with 234234", n)
	}
	for id, v := range map[string]string{created: `W/"1"`, matched: `W/"1"`, "123": `W/"2"`, condUpdated: `W/"2"`, "123a": `W/"3"`, "12334": `W/"4"`} {
		r := e.do("GET", "/Patient/"+id, "")
		wantStatus(t, r, http.StatusOK)
		if got := r.Header.Get("ETag"); got != v {
			t.Errorf("Patient/%s: ETag %s, want %s", id, got, v)
		}
		peter := strings.Contains(string(r.body), `"Peter"`)
		if peter != (id != matched && id != "12334") {
			t.Errorf("Patient/%s: named Peter = %v: %s", id, peter, r.body)
		}
	}
	for _, id := range []string{"234", condDeleted} {
		if r := e.do("GET", "/Patient/"+id, ""); r.StatusCode != http.StatusGone {
			t.Errorf("Patient/%s after its delete: %d", id, r.StatusCode)
		}
	}
	if n := e.count("/Patient?_lastUpdated=gt2000-01-01"); n != patients+1-2 {
		t.Errorf("%d Patients, want %d (one created, two deleted)", n, patients-1)
	}

	// Entry 8 ran after the writes: the Peters are those it wrote.
	var set struct {
		Type  string
		Entry []struct{ Resource struct{ ID string } }
	}
	if err := json.Unmarshal(b.Entry[res[8]].Resource, &set); err != nil || set.Type != "searchset" {
		t.Fatalf("entry 8: %v: %s", err, b.Entry[res[8]].Resource)
	}
	var found []string
	for _, en := range set.Entry {
		found = append(found, en.Resource.ID)
	}
	slices.Sort(found)
	wantFound := []string{created, "123", condUpdated, "123a"}
	slices.Sort(wantFound)
	if !slices.Equal(found, wantFound) {
		t.Errorf("entry 8 found %q, want %q", found, wantFound)
	}
}

// idOf is the id in a create's Location.
func idOf(t *testing.T, r response) string {
	t.Helper()
	loc := r.Header.Get("Location")
	_, rest, ok := strings.Cut(loc, "/Patient/")
	id, _, _ := strings.Cut(rest, "/")
	if !ok || id == "" {
		t.Fatalf("Location %q", loc)
	}
	return id
}

// TestBundleConditionalRead: a GET entry's ifNoneMatch and
// ifModifiedSince (an instant, as Bundle.entry.request has it) make the
// read conditional, as the If-None-Match and If-Modified-Since headers of
// a read do (http.html, read; bundle.html, Bundle.entry.request).
func TestBundleConditionalRead(t *testing.T) {
	e := newEnv(t)
	id := e.create(goalBody)
	r := e.do("GET", "/Goal/"+id, "")
	wantStatus(t, r, http.StatusOK)
	lm, err := http.ParseTime(r.Header.Get("Last-Modified"))
	if err != nil {
		t.Fatal(err)
	}
	// The example's form of instant: seconds and a +10:00 offset.
	zone := time.FixedZone("", 10*3600)
	later := lm.Add(time.Second).In(zone).Format("2006-01-02T15:04:05-07:00")
	earlier := lm.Add(-time.Hour).In(zone).Format("2006-01-02T15:04:05-07:00")
	cases := []struct {
		name  string
		extra string
		want  string
	}{
		{"none", "", "200"},
		{"ifNoneMatch matching", `"ifNoneMatch":"W/\"1\""`, "304"},
		{"ifNoneMatch other", `"ifNoneMatch":"W/\"2\""`, "200"},
		{"ifModifiedSince after the change", `"ifModifiedSince":"` + later + `"`, "304"},
		{"ifModifiedSince before the change", `"ifModifiedSince":"` + earlier + `"`, "200"},
		// If-None-Match wins over If-Modified-Since (RFC 9110 §13.2.2).
		{"ifNoneMatch other, ifModifiedSince after", `"ifNoneMatch":"W/\"2\"","ifModifiedSince":"` + later + `"`, "200"},
	}
	for _, typ := range []string{"batch", "transaction"} {
		var entries []string
		for _, c := range cases {
			var extra []string
			if c.extra != "" {
				extra = append(extra, c.extra)
			}
			entries = append(entries, txEntry("", "GET", "Goal/"+id, "", extra...))
		}
		r := e.do("POST", "", txBundle(typ, entries...))
		wantStatus(t, r, http.StatusOK)
		b := decodeBundle(t, r)
		for i, c := range cases {
			if got := b.Entry[i].Response.Status; !strings.HasPrefix(got, c.want) {
				t.Errorf("%s, %s: status %q, want %s", typ, c.name, got, c.want)
			}
		}
	}
}
