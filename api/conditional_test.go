package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/matcare/matcare/api"
	"github.com/matcare/matcare/service"
)

func patientWithMRN(mrn, family string) string {
	return fmt.Sprintf(`{"resourceType":"Patient","identifier":[{"system":"https://example.org/mrn","value":%q}],"name":[{"family":%q}],"birthDate":"1980-01-01"}`, mrn, family)
}

const mrnSystem = "https://example.org/mrn"

// count returns how many current resources the search finds.
func (e *env) count(path string) int {
	e.t.Helper()
	r := e.do("GET", path+"&_total=accurate&_count=0", "")
	wantStatus(e.t, r, http.StatusOK)
	return int(mustInt(e.t, r.json(e.t)["total"]))
}

func mustInt(t testing.TB, v any) int64 {
	t.Helper()
	var n int64
	if _, err := fmt.Sscan(fmt.Sprint(v), &n); err != nil {
		t.Fatalf("not a number: %v", v)
	}
	return n
}

func TestConditionalCreate(t *testing.T) {
	e := newEnv(t)
	crit := "identifier=" + url.QueryEscape(mrnSystem+"|100")
	r := e.do("POST", "/Patient", patientWithMRN("100", "A"), "If-None-Exist", crit)
	wantStatus(t, r, http.StatusCreated)
	id := r.json(t)["id"].(string)

	// The same criteria again, written three ways clients do: the
	// existing resource, 200, nothing created.
	for _, h := range []string{crit, "?" + crit, "Patient?" + crit} {
		r = e.do("POST", "/Patient", patientWithMRN("100", "B"), "If-None-Exist", h)
		wantStatus(t, r, http.StatusOK)
		if got := r.json(t)["id"]; got != id {
			t.Fatalf("If-None-Exist %q answered %v, want the existing %s", h, got, id)
		}
		if !strings.HasSuffix(r.Header.Get("Location"), "/Patient/"+id+"/_history/1") || r.Header.Get("ETag") != `W/"1"` {
			t.Errorf("headers of the existing resource: Location %q ETag %q", r.Header.Get("Location"), r.Header.Get("ETag"))
		}
	}
	if n := e.count("/Patient?" + crit); n != 1 {
		t.Fatalf("%d patients, want 1", n)
	}

	// Another board's patient with the same identifier is not a match.
	b := e.as(fullScope, boardB)
	r = b.do("POST", "/Patient", patientWithMRN("100", "B"), "If-None-Exist", crit)
	wantStatus(t, r, http.StatusCreated)
	if r.json(t)["id"] == id {
		t.Fatal("board B was given board A's patient")
	}

	// Two matches: 412, nothing created.
	e.create2(t, "/Patient", patientWithMRN("200", "X"))
	e.create2(t, "/Patient", patientWithMRN("200", "Y"))
	r = e.do("POST", "/Patient", patientWithMRN("200", "Z"), "If-None-Exist", "identifier="+url.QueryEscape(mrnSystem+"|200"))
	wantStatus(t, r, http.StatusPreconditionFailed)
	if n := e.count("/Patient?identifier=" + url.QueryEscape(mrnSystem+"|200")); n != 2 {
		t.Fatalf("%d patients after a 412, want 2", n)
	}

	// Criteria the server cannot honour exactly, and a body that does
	// not match its own criteria: 400, nothing stored.
	for _, tc := range []struct{ header, want string }{
		{"", "criteria"},
		{"bogus=1", "bogus"},
		{"identifier=x&_count=1", "_count"},
		{"general-practitioner.name=x", "chain"},
		{"general-practitioner:Practitioner.name=x", "chain"},
		{"_has:Goal:patient:lifecycle-status=active", "chain"},
		{"Goal?identifier=x", "Goal"},
		{"identifier=%zz", "query string"},
		{"identifier=" + url.QueryEscape(mrnSystem+"|999"), "does not match its own"},
	} {
		h := tc.header
		if h == "" {
			h = " " // e.do drops an empty header; a blank one arrives empty
		}
		r := e.do("POST", "/Patient", patientWithMRN("300", "Q"), "If-None-Exist", h)
		wantStatus(t, r, http.StatusBadRequest)
		if d := fmt.Sprint(issue(t, r)["diagnostics"]); !strings.Contains(d, tc.want) {
			t.Errorf("If-None-Exist %q: diagnostics %q lack %q", tc.header, d, tc.want)
		}
	}
	if n := e.count("/Patient?identifier=" + url.QueryEscape(mrnSystem+"|300")); n != 0 {
		t.Fatalf("a rejected conditional create stored %d patients", n)
	}
}

func (e *env) create2(t *testing.T, path, body string) string {
	t.Helper()
	r := e.do("POST", path, body)
	wantStatus(t, r, http.StatusCreated)
	return r.json(t)["id"].(string)
}

// TestConditionalCreateClaimLifecycle: a claim holds while its resource
// matches; deleting the resource or changing it so it no longer matches
// spends the claim, and the next conditional create creates anew.
func TestConditionalCreateClaimLifecycle(t *testing.T) {
	e := newEnv(t)
	crit := "identifier=" + url.QueryEscape(mrnSystem+"|7")
	r := e.do("POST", "/Patient", patientWithMRN("7", "A"), "If-None-Exist", crit)
	wantStatus(t, r, http.StatusCreated)
	first := r.json(t)["id"].(string)

	wantStatus(t, e.do("DELETE", "/Patient/"+first, ""), http.StatusOK)
	r = e.do("POST", "/Patient", patientWithMRN("7", "A"), "If-None-Exist", crit)
	wantStatus(t, r, http.StatusCreated)
	second := r.json(t)["id"].(string)
	if second == first {
		t.Fatal("a deleted resource was returned")
	}

	// Change the identifier: the claim no longer holds.
	changed := strings.Replace(patientWithMRN("8", "A"), `"resourceType":"Patient"`, `"resourceType":"Patient","id":"`+second+`"`, 1)
	wantStatus(t, e.do("PUT", "/Patient/"+second, changed), http.StatusOK)
	r = e.do("POST", "/Patient", patientWithMRN("7", "A"), "If-None-Exist", crit)
	wantStatus(t, r, http.StatusCreated)
	third := r.json(t)["id"].(string)
	r = e.do("POST", "/Patient", patientWithMRN("7", "A"), "If-None-Exist", crit)
	wantStatus(t, r, http.StatusOK)
	if r.json(t)["id"] != third {
		t.Fatal("the third claim does not hold")
	}
}

// TestConditionalCreateStaleClaim: a claim whose resource never appeared
// (its writer died between claim and create) is fenced and superseded
// once older than StaleAfter; a younger one is waited for.
func TestConditionalCreateStaleClaim(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	crit := url.Values{"identifier": {mrnSystem + "|55"}}
	// The key is the service's: learn it by letting a conditional create
	// claim it, then plant a dead claim as the next generation.
	r := e.do("POST", "/Patient", patientWithMRN("55", "A"), "If-None-Exist", crit.Encode())
	wantStatus(t, r, http.StatusCreated)
	live := r.json(t)["id"].(string)
	wantStatus(t, e.do("DELETE", "/Patient/"+live, ""), http.StatusOK)
	key := claimKeyOf(t, e, live)
	dead := "deadclaimant000000000000000"
	if err := e.store.TakeClaim(ctx, service.Claim{Key: key.Key, Gen: key.Gen + 1, ID: dead, At: time.Now().Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	r = e.do("POST", "/Patient", patientWithMRN("55", "A"), "If-None-Exist", crit.Encode())
	wantStatus(t, r, http.StatusCreated)
	if id := r.json(t)["id"]; id == dead || id == live {
		t.Fatalf("created %v", id)
	}
	// The dead claimant's id is fenced: a tombstone, so a late create
	// of it loses the version claim.
	rec, err := e.store.Current(ctx, "Patient", dead)
	if err != nil || !rec.Deleted || rec.Version != 1 {
		t.Fatalf("fence of the dead claim: %+v, %v", rec, err)
	}
	late := service.Record{Type: "Patient", ID: dead, Version: 1, Method: "POST", Board: boardA, Body: []byte(patientWithMRN("55", "late"))}
	if err := e.store.Put(ctx, late, 0); err == nil {
		t.Fatal("the dead claimant could still create its resource")
	}
}

// claimKeyOf finds the claim held by id by walking generations of every
// key: the test knows the id, not the key, which is a hash.
func claimKeyOf(t *testing.T, e *env, id string) service.Claim {
	t.Helper()
	key, err := service.ClaimKey("Patient", boardA, url.Values{"identifier": {mrnSystem + "|55"}}), error(nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.store.CurrentClaim(context.Background(), key)
	if err != nil || c.ID != id {
		t.Fatalf("claim of %s: %+v, %v", id, c, err)
	}
	return c
}

// TestConditionalCreateRace: concurrent conditional creates with the same
// criteria create exactly one resource, and every request is answered
// with it.
func TestConditionalCreateRace(t *testing.T) {
	e := newEnv(t)
	crit := "identifier=" + url.QueryEscape(mrnSystem+"|race")
	const n = 20
	ids := make([]string, n)
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.do("POST", "/Patient", patientWithMRN("race", fmt.Sprint(i)), "If-None-Exist", crit)
			codes[i] = r.StatusCode
			if r.StatusCode < 300 {
				ids[i] = fmt.Sprint(r.json(t)["id"])
			}
		}()
	}
	wg.Wait()
	created := 0
	for i := range n {
		switch codes[i] {
		case http.StatusCreated:
			created++
		case http.StatusOK:
		default:
			t.Fatalf("request %d: status %d", i, codes[i])
		}
		if ids[i] != ids[0] {
			t.Fatalf("answers name different resources: %s and %s", ids[0], ids[i])
		}
	}
	if created != 1 {
		t.Fatalf("%d creates answered 201, want 1", created)
	}
	if got := e.count("/Patient?" + crit); got != 1 {
		t.Fatalf("%d patients stored, want 1", got)
	}
}

func TestConditionalUpdate(t *testing.T) {
	e := newEnv(t)
	crit := "identifier=" + url.QueryEscape(mrnSystem+"|u1")
	// No match: created with a server id.
	r := e.do("PUT", "/Patient?"+crit, patientWithMRN("u1", "A"))
	wantStatus(t, r, http.StatusCreated)
	id := r.json(t)["id"].(string)
	// One match: updated.
	r = e.do("PUT", "/Patient?"+crit, patientWithMRN("u1", "B"))
	wantStatus(t, r, http.StatusOK)
	if m := r.json(t); m["id"] != id || m["meta"].(map[string]any)["versionId"] != "2" {
		t.Fatalf("update of the match: %s", r.body)
	}
	// If-Match applies to the match.
	wantStatus(t, e.do("PUT", "/Patient?"+crit, patientWithMRN("u1", "C"), "If-Match", `W/"1"`), http.StatusPreconditionFailed)
	wantStatus(t, e.do("PUT", "/Patient?"+crit, patientWithMRN("u1", "C"), "If-Match", `W/"2"`), http.StatusOK)
	// An id in the body must be the match's.
	other := strings.Replace(patientWithMRN("u1", "D"), `"resourceType":"Patient"`, `"resourceType":"Patient","id":"someoneelse"`, 1)
	wantStatus(t, e.do("PUT", "/Patient?"+crit, other), http.StatusBadRequest)
	// No match with an id: update-as-create of that id.
	crit2 := "identifier=" + url.QueryEscape(mrnSystem+"|u2")
	withID := strings.Replace(patientWithMRN("u2", "E"), `"resourceType":"Patient"`, `"resourceType":"Patient","id":"chosen-id"`, 1)
	r = e.do("PUT", "/Patient?"+crit2, withID)
	wantStatus(t, r, http.StatusCreated)
	if r.json(t)["id"] != "chosen-id" {
		t.Fatalf("update-as-create: %s", r.body)
	}
	// Several matches: 412, nothing changed.
	e.create2(t, "/Patient", patientWithMRN("u3", "X"))
	e.create2(t, "/Patient", patientWithMRN("u3", "Y"))
	wantStatus(t, e.do("PUT", "/Patient?identifier="+url.QueryEscape(mrnSystem+"|u3"), patientWithMRN("u3", "Z")), http.StatusPreconditionFailed)
	// No criteria, bad criteria, a body not matching them: 400.
	wantStatus(t, e.do("PUT", "/Patient", patientWithMRN("u4", "A")), http.StatusBadRequest)
	wantStatus(t, e.do("PUT", "/Patient?nonsense=1", patientWithMRN("u4", "A")), http.StatusBadRequest)
	wantStatus(t, e.do("PUT", "/Patient?identifier="+url.QueryEscape(mrnSystem+"|u6"), patientWithMRN("u5", "A")), http.StatusBadRequest)
	// A client of another board neither sees nor changes board A's match:
	// for it the criteria match nothing, so it creates its own.
	r = e.as(fullScope, boardB).do("PUT", "/Patient?"+crit, patientWithMRN("u1", "B2"))
	wantStatus(t, r, http.StatusCreated)
	if r.json(t)["id"] == id {
		t.Fatal("board B updated board A's patient")
	}
}

// TestConditionalUpdateRace: concurrent conditional updates of one
// resource each make a version (no lost update), and concurrent ones that
// match nothing create one resource.
func TestConditionalUpdateRace(t *testing.T) {
	e := newEnv(t)
	const n = 20
	for _, existing := range []bool{true, false} {
		mrn := fmt.Sprint("upd-race-", existing)
		crit := "identifier=" + url.QueryEscape(mrnSystem+"|"+mrn)
		if existing {
			e.create2(t, "/Patient", patientWithMRN(mrn, "start"))
		}
		codes := make([]int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				codes[i] = e.do("PUT", "/Patient?"+crit, patientWithMRN(mrn, fmt.Sprint("writer", i))).StatusCode
			}()
		}
		wg.Wait()
		// A writer that keeps losing the race for 10 s is told so (409;
		// possible on a loaded machine); every acknowledged one must be
		// a version of its own.
		created, acked := 0, map[int]bool{}
		for i, c := range codes {
			switch c {
			case http.StatusCreated:
				created++
				acked[i] = true
			case http.StatusOK:
				acked[i] = true
			case http.StatusConflict:
			default:
				t.Fatalf("existing=%v: request %d: status %d", existing, i, c)
			}
		}
		r := e.do("GET", "/Patient?"+crit, "")
		wantStatus(t, r, http.StatusOK)
		entries, _ := r.json(t)["entry"].([]any)
		if len(entries) != 1 {
			t.Fatalf("existing=%v: %d patients, want 1", existing, len(entries))
		}
		res := entries[0].(map[string]any)["resource"].(map[string]any)
		want := len(acked)
		if existing {
			want++
		}
		if v := res["meta"].(map[string]any)["versionId"]; v != fmt.Sprint(want) {
			t.Fatalf("existing=%v: version %v, want %d: an update was lost", existing, v, want)
		}
		if !existing && created != 1 {
			t.Fatalf("%d conditional updates created, want 1", created)
		}
		// Every writer's body is one version in the history.
		h := e.do("GET", "/Patient/"+res["id"].(string)+"/_history?_count=100", "")
		wantStatus(t, h, http.StatusOK)
		seen := map[string]bool{}
		for _, en := range h.json(t)["entry"].([]any) {
			body := en.(map[string]any)["resource"].(map[string]any)
			seen[body["name"].([]any)[0].(map[string]any)["family"].(string)] = true
		}
		for i := range acked {
			if !seen[fmt.Sprint("writer", i)] {
				t.Errorf("existing=%v: writer %d's version is not in the history", existing, i)
			}
		}
	}
}

func TestConditionalDelete(t *testing.T) {
	e := newEnv(t)
	q := func(mrn string) string { return "/Patient?identifier=" + url.QueryEscape(mrnSystem+"|"+mrn) }
	// None: success, nothing deleted.
	r := e.do("DELETE", q("d0"), "")
	wantStatus(t, r, http.StatusOK)
	if d := fmt.Sprint(issue(t, r)["diagnostics"]); !strings.Contains(d, "nothing to delete") {
		t.Errorf("diagnostics %q", d)
	}
	// One: deleted.
	id := e.create2(t, "/Patient", patientWithMRN("d1", "A"))
	r = e.do("DELETE", q("d1"), "")
	wantStatus(t, r, http.StatusOK)
	if r.Header.Get("ETag") != `W/"2"` {
		t.Errorf("ETag %q", r.Header.Get("ETag"))
	}
	wantStatus(t, e.do("GET", "/Patient/"+id, ""), http.StatusGone)
	// Several: 412 with the default single delete, nothing deleted.
	e.create2(t, "/Patient", patientWithMRN("d2", "A"))
	e.create2(t, "/Patient", patientWithMRN("d2", "B"))
	wantStatus(t, e.do("DELETE", q("d2"), ""), http.StatusPreconditionFailed)
	if n := e.count(q("d2")); n != 2 {
		t.Fatalf("%d left after a 412, want 2", n)
	}
	// Bad criteria and If-Match: 400.
	wantStatus(t, e.do("DELETE", "/Patient", ""), http.StatusBadRequest)
	wantStatus(t, e.do("DELETE", "/Patient?_count=3", ""), http.StatusBadRequest)
	wantStatus(t, e.do("DELETE", q("d2"), "", "If-Match", `W/"1"`), http.StatusBadRequest)
	// Another board's matches are not deleted.
	wantStatus(t, e.as(fullScope, boardB).do("DELETE", q("d2"), ""), http.StatusOK)
	if n := e.count(q("d2")); n != 2 {
		t.Fatalf("board B deleted board A's patients")
	}
}

func TestConditionalDeleteMultiple(t *testing.T) {
	store, _, _ := openStore(t)
	e := startServer(t, store, store, api.Config{MaxBodyBytes: 256 << 10, RateLimit: -1, ConditionalDeleteMax: 3})
	q := "/Patient?identifier=" + url.QueryEscape(mrnSystem+"|m")
	for i := range 4 {
		e.create2(t, "/Patient", patientWithMRN("m", fmt.Sprint(i)))
	}
	// Four matches, three allowed: 412, nothing deleted.
	wantStatus(t, e.do("DELETE", q, ""), http.StatusPreconditionFailed)
	if n := e.count(q); n != 4 {
		t.Fatalf("%d left, want 4", n)
	}
	r := e.do("DELETE", q+"&family=1,2", "")
	wantStatus(t, r, http.StatusOK)
	if d := fmt.Sprint(issue(t, r)["diagnostics"]); !strings.Contains(d, "deleted 2") {
		t.Errorf("diagnostics %q", d)
	}
	if n := e.count(q); n != 2 {
		t.Fatalf("%d left, want 2", n)
	}
	m := e.do("GET", "/metadata", "")
	if !strings.Contains(string(m.body), `"conditionalDelete":"multiple"`) {
		t.Error("CapabilityStatement does not say conditionalDelete multiple")
	}
}
