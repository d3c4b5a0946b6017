package api_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestTenancyMatrix seeds two health boards (and shared questionnaires)
// through the API and then checks, for every client kind and every
// interaction, that each client sees exactly what the tenancy rules allow:
// another board's resources (and, for a patient/ client, everything
// outside its patient's compartment) are answered exactly as if absent,
// listings and totals count only what the client may see, no response
// (entries, fullUrls, links, page cursors, headers) names anything hidden,
// and every write lands in the writer's board whatever label the body
// claims. The expected answers are computed from a model of what was
// written, not hard-coded. The matrix runs on the seeded data, then every
// client writes (creates, updates, update-as-create, deletes, shared
// content), and the matrix runs again on the result.
func TestTenancyMatrix(t *testing.T) {
	start := time.Now()
	e := newEnv(t)
	w := &tenWorld{base: e.base, absent: map[string]response{}}
	cl := func(name, scope, board string, national, admin, write bool) *tenClient {
		return &tenClient{name: name, scope: scope, board: board, national: national, admin: admin, write: write}
	}
	boardAc := cl("boardA", "system/*.*", boardA, false, false, true)
	boardBc := cl("boardB", "system/*.*", boardB, false, false, true)
	national := cl("national", "system/*.read matcare:national", "", true, false, false)
	nationalA := cl("nationalA", "system/*.* matcare:national", boardA, true, false, true)
	nationalW := cl("nationalNoBoardWriter", "system/*.* matcare:national", "", true, false, true)
	forger := cl("forgerA", "system/*.*", boardA, false, false, true)
	adminA := cl("adminA", "system/*.* matcare:admin", boardA, false, true, true)
	adminNone := cl("adminNoBoard", "system/*.* matcare:admin", "", false, true, true)
	patientA := cl("patientA1", "patient/*.read", boardA, false, false, false) // patient set after seeding
	patientAW := cl("patientA1Writer", "patient/*.*", boardA, false, false, true)
	for _, c := range []*tenClient{boardAc, boardBc, national, nationalA, nationalW, forger, adminA, adminNone} {
		c.e = e.as(c.scope, c.board)
	}

	// Seed. Writes interleave boards so that listings interleave too.
	t.Run("seed", func(t *testing.T) {
		post := func(c *tenClient, name, typ, subject, other, forge string) *tenRes {
			return w.mustWrite(t, c, tenOp{name: name, method: "POST", typ: typ, subject: w.id(subject), other: w.id(other), forge: forge})
		}
		put := func(c *tenClient, name, typ, id, subject, other, forge string) *tenRes {
			return w.mustWrite(t, c, tenOp{name: name, method: "PUT", typ: typ, id: id, subject: w.id(subject), other: w.id(other), forge: forge})
		}
		again := func(c *tenClient, name, forge string) { // next version, same references
			r := w.named(name)
			v := r.cur()
			put(c, name, r.typ, r.id, w.nameOf(v.subject), w.nameOf(v.other), forge)
		}
		del := func(c *tenClient, name string) {
			r := w.named(name)
			w.mustWrite(t, c, tenOp{name: name, method: "DELETE", typ: r.typ, id: r.id})
		}
		post(boardAc, "pA1", "Patient", "", "", "")
		post(boardBc, "pB1", "Patient", "", "", "")
		post(boardAc, "pA2", "Patient", "", "", "")
		post(adminNone, "q1", "Questionnaire", "", "", boardB) // the forged label must be dropped: shared content has none
		post(boardAc, "pA3", "Patient", "", "", "")
		post(boardBc, "pB2", "Patient", "", "", "")
		post(boardAc, "gA1", "Goal", "pA1", "", "")
		post(boardBc, "gB1", "Goal", "pB1", "", "")
		again(boardAc, "pA1", "")
		post(boardAc, "gA2", "Goal", "pA2", "", "")
		post(boardAc, "cpA1", "CarePlan", "pA2", "pA1", "") // in pA1's compartment as performer
		post(boardBc, "gB2", "Goal", "pB2", "", "")
		post(adminA, "q2", "Questionnaire", "", "", boardB)
		post(boardAc, "qrA1", "QuestionnaireResponse", "pA1", "pA1", "")
		post(boardBc, "cpB1", "CarePlan", "pB2", "pB1", "")
		post(boardBc, "qrB1", "QuestionnaireResponse", "pB1", "pB2", "")
		post(boardBc, "gBx", "Goal", "pA1", "", "") // board B, referencing board A's patient id
		post(boardAc, "qrA2", "QuestionnaireResponse", "pA3", "pA2", "")
		post(boardAc, "gIn", "Goal", "pA2", "", "")  // moves into pA1's compartment
		post(boardAc, "gOut", "Goal", "pA1", "", "") // moves out of it
		again(boardAc, "gA1", "")
		again(boardBc, "gB1", "")
		again(boardBc, "gB1", "")
		again(boardBc, "pB1", "")
		again(boardAc, "cpA1", "")
		again(boardAc, "pA1", "")
		again(adminNone, "q2", boardA)
		put(boardAc, "gIn", "Goal", w.named("gIn").id, "pA1", "", "")
		put(boardAc, "gOut", "Goal", w.named("gOut").id, "pA2", "", "")
		del(boardAc, "gA2")
		del(boardBc, "gB2")
		del(boardAc, "pA3")
		del(boardBc, "qrB1")
		put(boardAc, "putA", "Goal", "tenA-goal-put", "pA1", "", "") // update-as-create
		again(boardAc, "putA", "")
		put(boardBc, "putB", "Goal", "tenB-goal-put", "pB1", "", "")
		// A client forging a board B label in bodies while its token says A.
		post(forger, "pF", "Patient", "", "", boardB)
		put(forger, "gF", "Goal", "tenA-goal-forged", "pF", "", boardB)
		again(forger, "gF", boardB)
		post(forger, "qrF", "QuestionnaireResponse", "pF", "pA1", boardB)
	})
	if t.Failed() {
		t.FailNow()
	}
	pA1 := w.named("pA1").id
	patientA.patient, patientAW.patient = pA1, pA1
	for _, c := range []*tenClient{patientA, patientAW} {
		c.e = e.as(c.scope, c.board, "patient", pA1)
	}
	clients := []*tenClient{boardAc, boardBc, national, nationalA, patientA, forger, nationalW, patientAW, adminA, adminNone}

	// The forged label: stored (and shown) as board A, other labels kept.
	t.Run("forged-label", func(t *testing.T) {
		for _, name := range []string{"pF", "gF", "qrF"} {
			r := w.named(name)
			got := w.do(t, boardAc, "GET", "/"+r.typ+"/"+r.id, "")
			if w.want(t, got, http.StatusOK) {
				m := got.json(t)
				w.checkResource(t, name, m, r, r.n())
				if strings.Contains(string(got.body), boardB) {
					t.Errorf("%s still carries the forged board B label: %s", name, got.body)
				}
			}
			w.wantHidden(t, boardBc, r, "GET", "/"+r.typ+"/"+r.id)
		}
	})

	t.Run("seeded", func(t *testing.T) { w.matrix(t, clients) })
	t.Run("writes", func(t *testing.T) {
		for _, c := range clients {
			t.Run(c.name, func(t *testing.T) { w.writes(t, c) })
		}
	})
	// Once more on the result, as each distinct reader (the other clients'
	// tokens read exactly as one of these).
	t.Run("after-writes", func(t *testing.T) {
		if raceEnabled {
			// The same matrix as "seeded" on more data; CI runs it without
			// the race detector (.ci/run), where it takes a third of the time.
			t.Skip("full size without the race detector")
		}
		w.matrix(t, []*tenClient{boardAc, boardBc, national, nationalA, patientA, adminNone})
	})
	t.Logf("tenancy matrix: %d clients, %d resources (%d versions), %d checked cases, %d requests, %s",
		len(clients), len(w.res), w.versions(), w.cases.Load(), w.requests.Load(), time.Since(start).Round(time.Millisecond))
}

const (
	tenBoardSystem = "http://matcare.example/fhir/CodeSystem/health-board"
	// tenKeepSystem is a non-board security label written alongside every
	// forged board label: the server must keep it.
	tenKeepSystem = "http://example.org/fhir/CodeSystem/tenancy-test"
	tenNotTaken   = "this id is not available"
)

var (
	tenTypes      = []string{"CarePlan", "Goal", "Patient", "Questionnaire", "QuestionnaireResponse"}
	tenBoardNames = map[string]string{boardA: "NHS Greater Glasgow and Clyde", boardB: "NHS Lothian"}
)

func tenShared(typ string) bool { return typ == "Questionnaire" }

// tenVer is one version in the model.
type tenVer struct {
	deleted        bool
	keep           bool // written with the forged and the kept labels
	subject, other string
	patients       []string // the compartments it is in
}

// tenRes is one resource in the model.
type tenRes struct {
	name    string
	typ, id string
	board   string // "" for shared content
	vers    []tenVer
}

func (r *tenRes) n() int               { return len(r.vers) }
func (r *tenRes) cur() tenVer          { return r.vers[len(r.vers)-1] }
func (r *tenRes) gone() bool           { return r.cur().deleted }
func (r *tenRes) ref() string          { return r.typ + "/" + r.id }
func (r *tenRes) String() string       { return r.name + " (" + r.ref() + ", board " + r.board + ")" }
func (r *tenRes) key(v int) string     { return r.ref() + "/" + strconv.Itoa(v) }
func (r *tenRes) ver(v int) tenVer     { return r.vers[v-1] }
func (r *tenRes) patientsOf() []string { return r.cur().patients }

// tenClient is one kind of client with its token.
type tenClient struct {
	name     string
	scope    string
	e        *env
	board    string
	national bool // matcare:national
	admin    bool // matcare:admin
	write    bool // scopes allow create, update and delete
	patient  string
}

func (c *tenClient) on(t *testing.T) *env {
	cp := *c.e
	cp.t = t
	return &cp
}

// typeAllowed reports whether c may list or read typ at all; otherwise
// every read interaction on it answers 403 (no board, not national).
func (c *tenClient) typeAllowed(typ string) bool {
	return tenShared(typ) || c.board != "" || c.national
}

// seesVersion is the tenancy rule for one version. The service applies it
// per version (vread, and the entries of every history), so a version
// written while the resource was in a patient's compartment stays visible
// to that patient's client after the resource moved out (gOut), and one
// written before it moved in stays hidden (gIn).
func (c *tenClient) seesVersion(r *tenRes, v int) bool {
	if tenShared(r.typ) {
		return true
	}
	if !c.national && (c.board == "" || r.board != c.board) {
		return false
	}
	return c.patient == "" || slices.Contains(r.ver(v).patients, c.patient)
}

// sees is the rule for the resource as it stands (read, instance history,
// search).
func (c *tenClient) sees(r *tenRes) bool { return c.seesVersion(r, r.n()) }

// owns reports whether c may change r as it stands.
func (c *tenClient) owns(r *tenRes) bool {
	if tenShared(r.typ) {
		return c.admin
	}
	return c.board != "" && r.board == c.board && (c.patient == "" || slices.Contains(r.patientsOf(), c.patient))
}

// tenWorld is the model of everything written, and the request counters.
type tenWorld struct {
	base     string
	res      []*tenRes
	requests atomic.Int64
	cases    atomic.Int64
	// absent caches, per client and request shape, the answer for an id
	// that never existed.
	mu     sync.Mutex
	absent map[string]response
}

func (w *tenWorld) find(typ, id string) *tenRes {
	for _, r := range w.res {
		if r.typ == typ && r.id == id {
			return r
		}
	}
	return nil
}

func (w *tenWorld) named(name string) *tenRes {
	for _, r := range w.res {
		if r.name == name {
			return r
		}
	}
	panic("no resource named " + name)
}

// id returns the id of the resource named name ("" for "").
func (w *tenWorld) id(name string) string {
	if name == "" {
		return ""
	}
	return w.named(name).id
}

func (w *tenWorld) nameOf(id string) string {
	for _, r := range w.res {
		if r.id == id {
			return r.name
		}
	}
	return ""
}

func (w *tenWorld) versions() int {
	n := 0
	for _, r := range w.res {
		n += r.n()
	}
	return n
}

// secrets are the ids c must never learn: resources of which it may see no
// version, unless a resource it sees refers to them.
func (w *tenWorld) secrets(c *tenClient) []string {
	referenced := map[string]bool{}
	seen := map[*tenRes]bool{}
	for _, r := range w.res {
		for v := 1; v <= r.n(); v++ {
			if c.seesVersion(r, v) {
				seen[r] = true
				referenced[r.ver(v).subject] = true
				referenced[r.ver(v).other] = true
			}
		}
	}
	var out []string
	for _, r := range w.res {
		if !seen[r] && !referenced[r.id] {
			out = append(out, r.id)
		}
	}
	return out
}

// foreignBoards are the board codes and names c must never see.
func (w *tenWorld) foreignBoards(c *tenClient) []string {
	if c.national {
		return nil
	}
	var out []string
	for _, b := range []string{boardA, boardB} {
		if b != c.board {
			out = append(out, b, tenBoardNames[b])
		}
	}
	return out
}

// do sends one request as c and checks that the answer leaks nothing.
// echoed is what the request itself said, which error messages and self
// links may repeat.
func (w *tenWorld) do(t *testing.T, c *tenClient, method, path, body string, hdr ...string) response {
	t.Helper()
	w.requests.Add(1)
	r := c.on(t).do(method, path, body, hdr...)
	w.checkLeaks(t, c, r, method+" "+path, path+" "+body)
	return r
}

func (w *tenWorld) describe(id string) string {
	for _, r := range w.res {
		if r.id == id {
			return r.String()
		}
	}
	return id
}

// checkLeaks fails if r names a resource c may not see, or a board c does
// not belong to. Bundle entries and page cursors must never name one; the
// rest of the answer (OperationOutcome diagnostics, self links) may repeat
// ids the request itself sent.
func (w *tenWorld) checkLeaks(t *testing.T, c *tenClient, r response, what, echoed string) {
	t.Helper()
	var strict, lax strings.Builder
	lax.Write(r.body)
	for k, vs := range r.Header {
		lax.WriteString("\n" + k + ": " + strings.Join(vs, ", "))
	}
	var m map[string]any
	if json.Unmarshal(r.body, &m) == nil {
		if es, ok := m["entry"]; ok {
			b, _ := json.Marshal(es)
			strict.Write(b)
		}
		ls, _ := m["link"].([]any)
		for _, l := range ls {
			u, _ := l.(map[string]any)["url"].(string)
			pu, err := url.Parse(u)
			if err != nil {
				t.Errorf("%s: bad link %q", what, u)
				continue
			}
			if cur := pu.Query().Get("_cursor"); cur != "" {
				b, err := base64.RawURLEncoding.DecodeString(cur)
				if err != nil {
					t.Errorf("%s: page cursor %q is not base64url: %v", what, cur, err)
				}
				strict.Write(b)
			}
		}
	}
	s, l := strict.String(), lax.String()
	for _, id := range w.secrets(c) {
		if strings.Contains(s, id) || (strings.Contains(l, id) && !strings.Contains(echoed, id)) {
			t.Errorf("LEAK: %s as %s (%d) names %s, which %s may not see:\n%s", what, c.name, r.StatusCode, w.describe(id), c.name, r.body)
		}
	}
	for _, b := range w.foreignBoards(c) {
		if strings.Contains(s, b) || strings.Contains(l, b) {
			t.Errorf("LEAK: %s as %s (%d) names board %q:\n%s", what, c.name, r.StatusCode, b, r.body)
		}
	}
}

// want checks the status of r, and that an error is an OperationOutcome.
func (w *tenWorld) want(t *testing.T, r response, status int) bool {
	t.Helper()
	if r.StatusCode != status {
		t.Errorf("%s %s: status %d, want %d; body %s", r.Request.Method, r.Request.URL, r.StatusCode, status, tenShort(r.body))
		return false
	}
	if status >= 400 {
		if ct := r.Header.Get("Content-Type"); ct != "application/fhir+json; charset=utf-8" {
			t.Errorf("%s %s: error Content-Type %q", r.Request.Method, r.Request.URL, ct)
		}
		var m map[string]any
		if json.Unmarshal(r.body, &m) != nil || m["resourceType"] != "OperationOutcome" {
			t.Errorf("%s %s: error body is not an OperationOutcome: %s", r.Request.Method, r.Request.URL, tenShort(r.body))
		}
	}
	return true
}

func tenShort(b []byte) string {
	if len(b) > 600 {
		return string(b[:600]) + "..."
	}
	return string(b)
}

// wantHidden sends method path (which names r, hidden from c) and checks
// the answer is exactly the one for an id that never existed.
func (w *tenWorld) wantHidden(t *testing.T, c *tenClient, r *tenRes, method, path string, hdr ...string) {
	t.Helper()
	w.cases.Add(1)
	got := w.do(t, c, method, path, "", hdr...)
	w.wantAbsent(t, c, got, r.id, method, path, hdr...)
}

// wantAbsent checks that got, the answer to method path naming id, is
// exactly the answer for an id that never existed: same status, same body
// and same headers but for the id.
func (w *tenWorld) wantAbsent(t *testing.T, c *tenClient, got response, id, method, path string, hdr ...string) {
	t.Helper()
	const placeholder = "tenNeverExisted"
	shape := strings.Replace(path, id, placeholder, 1)
	key := c.name + " " + method + " " + shape + " " + strings.Join(hdr, "|")
	w.mu.Lock()
	ref, ok := w.absent[key]
	w.mu.Unlock()
	if !ok {
		ref = w.do(t, c, method, shape, "", hdr...)
		w.mu.Lock()
		w.absent[key] = ref
		w.mu.Unlock()
	}
	what := fmt.Sprintf("%s %s as %s (%s)", method, path, c.name, w.describe(id))
	if got.StatusCode != ref.StatusCode {
		t.Errorf("%s: status %d, but %d for an id that never existed: %s", what, got.StatusCode, ref.StatusCode, tenShort(got.body))
		return
	}
	if want := strings.ReplaceAll(string(ref.body), placeholder, id); string(got.body) != want {
		t.Errorf("%s: body differs from an absent id's:\n got %s\nwant %s", what, tenShort(got.body), tenShort([]byte(want)))
	}
	names := func(h http.Header) []string {
		var out []string
		for k := range h {
			switch k {
			case "Date", "X-Request-Id", "Content-Length":
			default:
				out = append(out, k)
			}
		}
		sort.Strings(out)
		return out
	}
	if g, r := names(got.Header), names(ref.Header); !slices.Equal(g, r) {
		t.Errorf("%s: headers %q, but %q for an absent id", what, g, r)
	}
	for _, h := range []string{"ETag", "Last-Modified", "Location", "Content-Location", "Content-Type", "WWW-Authenticate", "Retry-After"} {
		g, r := got.Header.Values(h), ref.Header.Values(h)
		for i := range r {
			r[i] = strings.ReplaceAll(r[i], placeholder, id)
		}
		if !slices.Equal(g, r) {
			t.Errorf("%s: header %s = %q, but %q for an absent id", what, h, g, r)
		}
	}
}

// checkResource checks a resource body against version v of r: id,
// versionId, and the server-owned board label.
func (w *tenWorld) checkResource(t *testing.T, what string, m map[string]any, r *tenRes, v int) {
	t.Helper()
	if m["resourceType"] != r.typ || m["id"] != r.id {
		t.Errorf("%s: got %v/%v, want %s", what, m["resourceType"], m["id"], r.ref())
		return
	}
	meta, _ := m["meta"].(map[string]any)
	if meta["versionId"] != strconv.Itoa(v) {
		t.Errorf("%s: %s versionId %v, want %d", what, r, meta["versionId"], v)
	}
	var boards []string
	keep := false
	sec, _ := meta["security"].([]any)
	for _, s := range sec {
		cd, _ := s.(map[string]any)
		switch cd["system"] {
		case tenBoardSystem:
			code, _ := cd["code"].(string)
			boards = append(boards, code)
			if name := tenBoardNames[code]; cd["display"] != name {
				t.Errorf("%s: %s board label display %v, want %q", what, r, cd["display"], name)
			}
		case tenKeepSystem:
			keep = true
		}
	}
	var want []string
	if r.board != "" {
		want = []string{r.board}
	}
	if !slices.Equal(boards, want) {
		t.Errorf("%s: %s version %d has board labels %q, want %q (meta %v)", what, r, v, boards, want, meta)
	}
	if keep != r.ver(v).keep {
		t.Errorf("%s: %s version %d: client's other security label kept = %v, want %v", what, r, v, keep, r.ver(v).keep)
	}
}

func tenEtag(v int) string { return fmt.Sprintf(`W/"%d"`, v) }

// matrix runs every read interaction as every client, clients in
// parallel (the model does not change meanwhile).
func (w *tenWorld) matrix(t *testing.T, clients []*tenClient) {
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			t.Run("read", func(t *testing.T) {
				for _, r := range w.res {
					w.checkRead(t, c, r)
				}
			})
			t.Run("vread", func(t *testing.T) {
				for _, r := range w.res {
					w.checkVRead(t, c, r)
				}
			})
			t.Run("history-instance", func(t *testing.T) {
				for _, r := range w.res {
					w.checkInstanceHistory(t, c, r)
				}
			})
			t.Run("history-type", func(t *testing.T) {
				for _, typ := range tenTypes {
					t.Run(typ, func(t *testing.T) { w.checkTypeHistory(t, c, typ) })
				}
			})
			t.Run("history-system", func(t *testing.T) { w.checkSystemHistory(t, c) })
			t.Run("search", func(t *testing.T) {
				for _, typ := range tenTypes {
					t.Run(typ, func(t *testing.T) { w.checkSearch(t, c, typ) })
				}
			})
		})
	}
}

func (w *tenWorld) checkRead(t *testing.T, c *tenClient, r *tenRes) {
	t.Helper()
	path := "/" + r.typ + "/" + r.id
	switch {
	case !c.typeAllowed(r.typ):
		w.cases.Add(1)
		w.want(t, w.do(t, c, "GET", path, ""), http.StatusForbidden)
	case !c.sees(r):
		w.wantHidden(t, c, r, "GET", path)
		// A conditional read must not answer 304 either.
		w.wantHidden(t, c, r, "GET", path, "If-None-Match", tenEtag(r.n()))
	case r.gone():
		w.cases.Add(1)
		got := w.do(t, c, "GET", path, "")
		if w.want(t, got, http.StatusGone) && got.Header.Get("ETag") != tenEtag(r.n()) {
			t.Errorf("GET %s: 410 ETag %q, want %s", r, got.Header.Get("ETag"), tenEtag(r.n()))
		}
	default:
		w.cases.Add(1)
		got := w.do(t, c, "GET", path, "")
		if w.want(t, got, http.StatusOK) {
			w.checkResource(t, "GET "+path+" as "+c.name, got.json(t), r, r.n())
			if got.Header.Get("ETag") != tenEtag(r.n()) {
				t.Errorf("GET %s: ETag %q", r, got.Header.Get("ETag"))
			}
		}
	}
}

func (w *tenWorld) checkVRead(t *testing.T, c *tenClient, r *tenRes) {
	t.Helper()
	if !c.typeAllowed(r.typ) {
		w.cases.Add(1)
		w.want(t, w.do(t, c, "GET", "/"+r.typ+"/"+r.id+"/_history/1", ""), http.StatusForbidden)
		return
	}
	last := r.n() // and one past it, when the resource is visible at all
	for v := 1; v <= r.n(); v++ {
		if c.seesVersion(r, v) {
			last = r.n() + 1
		}
	}
	for v := 1; v <= last; v++ {
		path := fmt.Sprintf("/%s/%s/_history/%d", r.typ, r.id, v)
		if v > r.n() || !c.seesVersion(r, v) {
			w.wantHidden(t, c, r, "GET", path)
			continue
		}
		w.cases.Add(1)
		got := w.do(t, c, "GET", path, "")
		if r.ver(v).deleted {
			if w.want(t, got, http.StatusGone) && got.Header.Get("ETag") != tenEtag(v) {
				t.Errorf("GET %s: 410 ETag %q, want %s", path, got.Header.Get("ETag"), tenEtag(v))
			}
			continue
		}
		if w.want(t, got, http.StatusOK) {
			w.checkResource(t, "GET "+path+" as "+c.name, got.json(t), r, v)
		}
	}
}

func (w *tenWorld) checkInstanceHistory(t *testing.T, c *tenClient, r *tenRes) {
	t.Helper()
	path := "/" + r.typ + "/" + r.id + "/_history"
	switch {
	case !c.typeAllowed(r.typ):
		w.cases.Add(1)
		w.want(t, w.do(t, c, "GET", path, ""), http.StatusForbidden)
	case !c.sees(r):
		w.wantHidden(t, c, r, "GET", path+"?_count=2")
	default:
		// Newest first, in pages of 2.
		var exp []string
		for v := r.n(); v >= 1; v-- {
			if c.seesVersion(r, v) {
				exp = append(exp, r.key(v))
			}
		}
		w.cases.Add(1)
		pages, ok := w.walk(t, c, path+"?_count=2")
		if !ok {
			return
		}
		if got := w.historyKeys(t, c, path, pages); !slices.Equal(got, exp) {
			t.Errorf("%s as %s: history lists %q, want %q", path, c.name, got, exp)
		}
		if n := tenWantPages(len(exp), 2); len(pages) != n {
			t.Errorf("%s?_count=2 as %s: %d pages, want %d for %d entries", path, c.name, len(pages), n, len(exp))
		}
	}
}

func (w *tenWorld) checkTypeHistory(t *testing.T, c *tenClient, typ string) {
	t.Helper()
	path := "/" + typ + "/_history"
	if !c.typeAllowed(typ) {
		w.cases.Add(1)
		w.want(t, w.do(t, c, "GET", path, ""), http.StatusForbidden)
		return
	}
	var exp []string
	for _, r := range w.res {
		for v := 1; v <= r.n(); v++ {
			if r.typ == typ && c.seesVersion(r, v) {
				exp = append(exp, r.key(v))
			}
		}
	}
	w.checkHistory(t, c, path, exp)
}

func (w *tenWorld) checkSystemHistory(t *testing.T, c *tenClient) {
	t.Helper()
	var exp []string
	for _, r := range w.res {
		for v := 1; v <= r.n(); v++ {
			if c.seesVersion(r, v) {
				exp = append(exp, r.key(v))
			}
		}
	}
	w.checkHistory(t, c, "/_history", exp)
}

// tenPage is one Bundle page of a walk.
type tenPage struct {
	entries []map[string]any
	total   any
}

// walk follows next links from path; every page a next link leads to must
// have entries (otherwise the link told of entries the client may not see).
func (w *tenWorld) walk(t *testing.T, c *tenClient, path string) ([]tenPage, bool) {
	t.Helper()
	var pages []tenPage
	for next := path; next != ""; {
		if len(pages) > 200 {
			t.Errorf("%s as %s: more than 200 pages", path, c.name)
			return pages, false
		}
		r := w.do(t, c, "GET", next, "")
		if !w.want(t, r, http.StatusOK) {
			return pages, false
		}
		m := r.json(t)
		var p tenPage
		p.total = m["total"]
		es, _ := m["entry"].([]any)
		for _, x := range es {
			p.entries = append(p.entries, x.(map[string]any))
		}
		next = ""
		ls, _ := m["link"].([]any)
		for _, l := range ls {
			if lm := l.(map[string]any); lm["relation"] == "next" {
				next = lm["url"].(string)
			}
		}
		if len(pages) > 0 && len(p.entries) == 0 {
			t.Errorf("%s as %s: page %d, reached by a next link, is empty", path, c.name, len(pages)+1)
		}
		pages = append(pages, p)
	}
	return pages, true
}

func tenWantPages(n, size int) int { return max(1, (n+size-1)/size) }

// checkHistory walks the history at path with small pages and in one page,
// and checks both list exactly exp (keys type/id/version), newest first.
func (w *tenWorld) checkHistory(t *testing.T, c *tenClient, path string, exp []string) {
	t.Helper()
	w.cases.Add(1)
	full, ok := w.walk(t, c, path+"?_count=1000")
	if !ok {
		return
	}
	fullKeys := w.historyKeys(t, c, path, full)
	want := slices.Clone(exp)
	sort.Strings(want)
	got := slices.Clone(fullKeys)
	sort.Strings(got)
	if !slices.Equal(got, want) {
		t.Errorf("%s as %s: history lists the wrong versions\n%s", path, c.name, w.diff(got, want))
	}
	w.cases.Add(1)
	paged, ok := w.walk(t, c, path+"?_count=2")
	if !ok {
		return
	}
	if n := tenWantPages(len(exp), 2); len(paged) != n {
		t.Errorf("%s?_count=2 as %s: %d pages, want %d for %d entries", path, c.name, len(paged), n, len(exp))
	}
	if pagedKeys := w.historyKeys(t, c, path, paged); !slices.Equal(pagedKeys, fullKeys) {
		t.Errorf("%s as %s: paging by 2 walks\n%q\nbut one page lists\n%q", path, c.name, pagedKeys, fullKeys)
	}
}

// historyKeys checks each history entry against the model and returns
// their keys in order.
func (w *tenWorld) historyKeys(t *testing.T, c *tenClient, path string, pages []tenPage) []string {
	t.Helper()
	var keys []string
	var last time.Time
	for _, p := range pages {
		if p.total != nil {
			t.Errorf("%s as %s: history Bundle has a total %v", path, c.name, p.total)
		}
		for _, en := range p.entries {
			ref := strings.TrimPrefix(fmt.Sprint(en["fullUrl"]), w.base+"/")
			res, _ := en["response"].(map[string]any)
			req, _ := en["request"].(map[string]any)
			v, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(fmt.Sprint(res["etag"]), `W/"`), `"`))
			if err != nil {
				t.Errorf("%s: entry etag %v", path, res["etag"])
				continue
			}
			key := ref + "/" + strconv.Itoa(v)
			keys = append(keys, key)
			lm, err := time.Parse(time.RFC3339Nano, fmt.Sprint(res["lastModified"]))
			if err != nil {
				t.Errorf("%s: entry %s lastModified %v", path, key, res["lastModified"])
			} else if !last.IsZero() && lm.After(last) {
				t.Errorf("%s as %s: entry %s (%s) is newer than the one before it (%s)", path, c.name, key, lm, last)
			}
			last = lm
			typ, id, _ := strings.Cut(ref, "/")
			r := w.find(typ, id)
			if r == nil || v < 1 || v > r.n() {
				t.Errorf("%s as %s: entry %s is not in the model", path, c.name, key)
				continue
			}
			if !c.seesVersion(r, v) {
				continue // reported by the caller's comparison, and as a leak
			}
			if r.ver(v).deleted {
				if en["resource"] != nil || req["method"] != "DELETE" {
					t.Errorf("%s: tombstone entry %s: %v", path, key, en)
				}
				continue
			}
			m, _ := en["resource"].(map[string]any)
			w.checkResource(t, path+" as "+c.name+": entry "+key, m, r, v)
		}
	}
	return keys
}

// diff describes the difference between two sorted key lists.
func (w *tenWorld) diff(got, want []string) string {
	var b strings.Builder
	for _, k := range got {
		if !slices.Contains(want, k) {
			typ, rest, _ := strings.Cut(k, "/")
			id, _, _ := strings.Cut(rest, "/")
			fmt.Fprintf(&b, "  unexpected %s: %v\n", k, w.find(typ, id))
		}
	}
	for _, k := range want {
		if !slices.Contains(got, k) {
			fmt.Fprintf(&b, "  missing    %s\n", k)
		}
	}
	if b.Len() == 0 {
		fmt.Fprintf(&b, "  duplicates: got %d, want %d\n", len(got), len(want))
	}
	return b.String()
}

// checkSearch searches typ by _id (every id of the type, of every board),
// without parameters and by _lastUpdated, with small pages and totals.
func (w *tenWorld) checkSearch(t *testing.T, c *tenClient, typ string) {
	t.Helper()
	var all, exp []string
	for _, r := range w.res {
		if r.typ != typ {
			continue
		}
		all = append(all, r.id)
		if c.sees(r) && !r.gone() {
			exp = append(exp, r.id)
		}
	}
	sort.Strings(exp)
	ids := strings.Join(append(all, "tenNeverSearched"), ",")
	many := ids
	for i := 0; i < 110; i++ { // past the point lookups: a query with $in
		many += fmt.Sprintf(",tenNeverSearched%03d", i)
	}
	if !c.typeAllowed(typ) {
		w.cases.Add(1)
		w.want(t, w.do(t, c, "GET", "/"+typ+"?_id="+ids, ""), http.StatusForbidden)
		return
	}
	for _, q := range []struct {
		query    string
		size     int
		accurate bool
	}{
		{"_id=" + ids + "&_count=2", 2, false},
		{"_id=" + ids + "&_count=4&_total=accurate", 4, true},
		{"_id=" + many + "&_count=5&_total=accurate", 5, true},
		{"_count=2&_total=accurate", 2, true},
		{"_lastUpdated=gt2000-01-01&_count=5&_total=estimate", 5, true},
		{"_lastUpdated=lt2999&_id=" + ids + "&_count=50", 50, false},
	} {
		w.cases.Add(1)
		path := "/" + typ + "?" + q.query
		short := path
		if len(short) > 80 {
			short = short[:80] + "..."
		}
		pages, ok := w.walk(t, c, path)
		if !ok {
			continue
		}
		var got []string
		for i, p := range pages {
			switch {
			case q.accurate || len(pages) == 1:
				if fmt.Sprint(p.total) != strconv.Itoa(len(exp)) {
					t.Errorf("%s as %s: page %d total %v, want %d", short, c.name, i+1, p.total, len(exp))
				}
			case p.total != nil:
				t.Errorf("%s as %s: page %d of %d has total %v", short, c.name, i+1, len(pages), p.total)
			}
			for _, en := range p.entries {
				m, _ := en["resource"].(map[string]any)
				id, _ := m["id"].(string)
				got = append(got, id)
				if s, _ := en["search"].(map[string]any); s["mode"] != "match" || en["fullUrl"] != w.base+"/"+typ+"/"+id {
					t.Errorf("%s: entry %v", short, en)
				}
				if r := w.find(typ, id); r != nil && c.sees(r) && !r.gone() {
					w.checkResource(t, short+" as "+c.name, m, r, r.n())
				}
			}
		}
		if !slices.Equal(got, exp) {
			g := slices.Clone(got)
			sort.Strings(g)
			t.Errorf("%s as %s: search lists %q, want %q (ascending)\n%s", short, c.name, got, exp, w.diff(tenKeys(typ, g), tenKeys(typ, exp)))
		}
		if n := tenWantPages(len(exp), q.size); len(pages) != n {
			t.Errorf("%s as %s: %d pages, want %d for %d matches", short, c.name, len(pages), n, len(exp))
		}
	}
	// Totals alone.
	for _, q := range []string{"_count=0", "_count=0&_id=" + ids, "_count=0&_id=" + many} {
		w.cases.Add(1)
		r := w.do(t, c, "GET", "/"+typ+"?"+q, "")
		if !w.want(t, r, http.StatusOK) {
			continue
		}
		if m := r.json(t); fmt.Sprint(m["total"]) != strconv.Itoa(len(exp)) || m["entry"] != nil {
			t.Errorf("/%s?%.60s as %s: total %v (entries %v), want %d", typ, q, c.name, m["total"], m["entry"] != nil, len(exp))
		}
	}
}

func tenKeys(typ string, ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = typ + "/" + id + "/-"
	}
	return out
}

// tenOp is one write.
type tenOp struct {
	name           string
	method         string
	typ, id        string // id "" for POST
	subject, other string // patient ids referenced
	forge          string // board a forged meta.security label claims
	ifMatch        string
}

// tenPatients is the compartment membership of a version.
func tenPatients(typ, id, subject, other string) []string {
	var out []string
	switch typ {
	case "Patient":
		if id != "" {
			out = []string{id}
		}
	case "Goal":
		out = []string{subject}
	case "CarePlan", "QuestionnaireResponse":
		out = []string{subject, other}
	}
	out = slices.DeleteFunc(out, func(s string) bool { return s == "" })
	slices.Sort(out)
	return slices.Compact(out)
}

func tenBody(op tenOp) string {
	ref := func(p string) map[string]any { return map[string]any{"reference": "Patient/" + p} }
	m := map[string]any{"resourceType": op.typ}
	if op.id != "" {
		m["id"] = op.id
	}
	switch op.typ {
	case "Patient":
		m["active"] = true
		m["name"] = []any{map[string]any{"family": "Tenancy", "given": []any{op.name}}}
	case "Goal":
		m["lifecycleStatus"] = "active"
		m["description"] = map[string]any{"text": op.name}
		m["subject"] = ref(op.subject)
	case "CarePlan":
		m["status"] = "active"
		m["intent"] = "plan"
		m["subject"] = ref(op.subject)
		m["activity"] = []any{map[string]any{"detail": map[string]any{"status": "scheduled", "performer": []any{ref(op.other)}}}}
	case "QuestionnaireResponse":
		m["status"] = "completed"
		m["subject"] = ref(op.subject)
		m["author"] = ref(op.other)
	case "Questionnaire":
		m["status"] = "active"
		m["title"] = op.name
		m["item"] = []any{map[string]any{"linkId": "1", "text": "How are you?", "type": "string"}}
	}
	if op.forge != "" {
		m["meta"] = map[string]any{"security": []any{
			map[string]any{"system": tenBoardSystem, "code": op.forge, "display": tenBoardNames[op.forge]},
			map[string]any{"system": tenKeepSystem, "code": "kept"},
		}}
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// expect is the status the tenancy rules give op as c, and for a delete
// whether it deletes something.
func (w *tenWorld) expect(c *tenClient, op tenOp) (status int, done bool) {
	if !c.write {
		return http.StatusForbidden, false
	}
	shared := tenShared(op.typ)
	switch {
	case shared && !c.admin:
		return http.StatusForbidden, false
	case !shared && c.board == "":
		return http.StatusForbidden, false
	}
	cur := w.find(op.typ, op.id)
	switch op.method {
	case "POST":
		if !shared && c.patient != "" && !slices.Contains(tenPatients(op.typ, "", op.subject, op.other), c.patient) {
			return http.StatusForbidden, false
		}
		return http.StatusCreated, true
	case "PUT":
		if !shared && c.patient != "" && !slices.Contains(tenPatients(op.typ, op.id, op.subject, op.other), c.patient) {
			return http.StatusForbidden, false
		}
		if cur != nil && !c.owns(cur) {
			return http.StatusConflict, false
		}
		if op.ifMatch != "" && (cur == nil || op.ifMatch != tenEtag(cur.n())) {
			return http.StatusPreconditionFailed, false
		}
		if cur != nil && !cur.gone() {
			return http.StatusOK, true
		}
		return http.StatusCreated, true
	default: // DELETE: another's resource is as absent
		owned := cur != nil && c.owns(cur)
		if op.ifMatch != "" && (!owned || op.ifMatch != tenEtag(cur.n())) {
			return http.StatusPreconditionFailed, false
		}
		if !owned || cur.gone() {
			return http.StatusOK, false
		}
		return http.StatusOK, true
	}
}

// write runs op as c, checks the answer against the rules and records its
// effect in the model. It returns the resource written (nil if none).
func (w *tenWorld) write(t *testing.T, c *tenClient, op tenOp) (*tenRes, response) {
	t.Helper()
	w.cases.Add(1)
	status, done := w.expect(c, op)
	path := "/" + op.typ
	if op.method != "POST" {
		path += "/" + op.id
	}
	body := ""
	if op.method != "DELETE" {
		body = tenBody(op)
	}
	var hdr []string
	if op.ifMatch != "" {
		hdr = []string{"If-Match", op.ifMatch}
	}
	got := w.do(t, c, op.method, path, body, hdr...)
	what := fmt.Sprintf("%s %s (%s) as %s", op.method, path, op.name, c.name)
	if got.StatusCode != status {
		t.Errorf("%s: status %d, want %d: %s", what, got.StatusCode, status, tenShort(got.body))
	} else {
		w.want(t, got, status)
	}
	if got.StatusCode >= 400 {
		for _, h := range []string{"ETag", "Location", "Last-Modified"} {
			if v := got.Header.Get(h); v != "" {
				t.Errorf("%s: %d answer has %s %q", what, got.StatusCode, h, v)
			}
		}
		if got.StatusCode == http.StatusConflict && !strings.Contains(string(got.body), tenNotTaken) {
			t.Errorf("%s: 409 does not say the id is taken: %s", what, got.body)
		}
		if op.method == "DELETE" {
			w.wantAbsent(t, c, got, op.id, op.method, path, hdr...)
		}
		return nil, got
	}
	if op.method == "DELETE" {
		cur := w.find(op.typ, op.id)
		etag := got.Header.Get("ETag")
		if did := etag != ""; did != done {
			t.Errorf("%s: deleted = %v (ETag %q), want %v", what, did, etag, done)
		}
		if etag == "" {
			if !done {
				w.wantAbsent(t, c, got, op.id, op.method, path, hdr...)
			}
			return nil, got
		}
		if cur == nil {
			t.Fatalf("%s: deleted something not in the model", what)
		}
		last := cur.cur()
		cur.vers = append(cur.vers, tenVer{deleted: true, subject: last.subject, other: last.other, patients: last.patients})
		if etag != tenEtag(cur.n()) {
			t.Errorf("%s: ETag %q, want %s", what, etag, tenEtag(cur.n()))
		}
		return cur, got
	}
	m := got.json(t)
	id, _ := m["id"].(string)
	r := w.find(op.typ, id)
	if r == nil {
		// The board the model records is the writer's: the label is checked
		// below against it.
		board := c.board
		if tenShared(op.typ) {
			board = ""
		}
		r = &tenRes{name: op.name, typ: op.typ, id: id, board: board}
		w.res = append(w.res, r)
	}
	r.vers = append(r.vers, tenVer{keep: op.forge != "", subject: op.subject, other: op.other,
		patients: tenPatients(op.typ, id, op.subject, op.other)})
	w.checkResource(t, what, m, r, r.n())
	if got.Header.Get("ETag") != tenEtag(r.n()) || got.Header.Get("Location") != w.base+"/"+r.ref()+"/_history/"+strconv.Itoa(r.n()) {
		t.Errorf("%s: ETag %q Location %q", what, got.Header.Get("ETag"), got.Header.Get("Location"))
	}
	if op.method == "POST" && (id == "" || id == op.id) {
		t.Errorf("%s: id %q is not server-assigned", what, id)
	}
	return r, got
}

// mustWrite is write for seeding: the write must succeed.
func (w *tenWorld) mustWrite(t *testing.T, c *tenClient, op tenOp) *tenRes {
	t.Helper()
	if status, _ := w.expect(c, op); status >= 300 {
		t.Fatalf("seeding %s as %s: the rules answer %d", op.name, c.name, status)
	}
	r, got := w.write(t, c, op)
	if got.StatusCode >= 300 || (op.method != "DELETE" && r == nil) {
		t.Fatalf("seeding %s as %s: %d %s", op.name, c.name, got.StatusCode, got.body)
	}
	if r.name != op.name && op.method == "POST" {
		t.Fatalf("seeding %s: model confused", op.name)
	}
	return r
}

// writes runs every kind of write as c, against its own board, the other
// board, its compartment and shared content; every body forges a label
// claiming the other board.
func (w *tenWorld) writes(t *testing.T, c *tenClient) {
	other := boardB
	own, second, ownGoal, otherGoal, otherDeleted, otherCP := "pA1", "pA2", "gA1", "gB1", "gB2", "cpB1"
	if c.board == boardB {
		other = boardA
		own, second, ownGoal, otherGoal, otherDeleted, otherCP = "pB1", "pB2", "gB1", "gA1", "gA2", "cpA1"
	}
	if c.patient != "" {
		otherGoal = "gBx" // board B's Goal about the same patient id
	}
	ownID, secondID := w.id(own), w.id(second)
	run := func(op tenOp) (*tenRes, response) {
		op.name = c.name + ": " + op.name
		return w.write(t, c, op)
	}
	target := func(name string) tenOp {
		r := w.named(name)
		v := r.cur()
		return tenOp{typ: r.typ, id: r.id, subject: v.subject, other: v.other}
	}
	with := func(op tenOp, f func(*tenOp)) tenOp { f(&op); return op }

	created, _ := run(tenOp{name: "create Goal", method: "POST", typ: "Goal", subject: ownID, forge: other})
	run(tenOp{name: "create CarePlan, own patient performer", method: "POST", typ: "CarePlan", subject: secondID, other: ownID, forge: other})
	run(tenOp{name: "create QuestionnaireResponse", method: "POST", typ: "QuestionnaireResponse", subject: ownID, other: ownID, forge: other})
	run(tenOp{name: "create Patient", method: "POST", typ: "Patient", forge: other}) // a patient/ client cannot: not its compartment
	run(with(target(own), func(o *tenOp) { o.name, o.method, o.forge = "update own Patient", "PUT", other }))
	run(with(target(ownGoal), func(o *tenOp) { o.name, o.method, o.forge = "update own board's Goal", "PUT", other }))
	run(tenOp{name: "update-as-create", method: "PUT", typ: "Goal", id: "tenW-" + c.name + "-new", subject: ownID, forge: other})
	run(with(target(otherGoal), func(o *tenOp) { o.name, o.method, o.forge = "update other board's Goal", "PUT", other }))
	og := w.named(otherGoal)
	run(with(target(otherGoal), func(o *tenOp) {
		o.name, o.method, o.ifMatch = "update other board's Goal, If-Match", "PUT", tenEtag(og.n())
	}))
	run(with(target(otherDeleted), func(o *tenOp) { o.name, o.method = "update-as-create on other board's deleted Goal", "PUT" }))
	run(with(target(otherCP), func(o *tenOp) { o.name, o.method = "delete other board's CarePlan", "DELETE" }))
	run(with(target(otherCP), func(o *tenOp) {
		o.name, o.method, o.ifMatch = "delete other board's CarePlan, If-Match", "DELETE", `W/"1"`
	}))
	if created != nil {
		run(tenOp{name: "delete own Goal", method: "DELETE", typ: "Goal", id: created.id})
	} else {
		run(with(target(ownGoal), func(o *tenOp) { o.name, o.method = "delete own board's Goal", "DELETE" }))
	}
	if c.patient != "" { // inside its board, outside its compartment
		run(tenOp{name: "create Goal for another patient", method: "POST", typ: "Goal", subject: secondID, forge: other})
		run(with(target(second), func(o *tenOp) { o.name, o.method = "update another patient", "PUT" }))
		run(with(target(second), func(o *tenOp) { o.name, o.method = "delete another patient", "DELETE" }))
		// Into its compartment, but the id is held outside it: taken.
		run(with(target("qrA2"), func(o *tenOp) {
			o.name, o.method, o.subject = "update a response outside the compartment", "PUT", ownID
		}))
	}
	q, _ := run(tenOp{name: "create Questionnaire", method: "POST", typ: "Questionnaire", forge: other})
	run(with(target("q2"), func(o *tenOp) { o.name, o.method, o.forge = "update shared Questionnaire", "PUT", other }))
	if q != nil {
		run(tenOp{name: "delete own Questionnaire", method: "DELETE", typ: "Questionnaire", id: q.id})
	} else {
		run(with(target("q1"), func(o *tenOp) { o.name, o.method = "delete shared Questionnaire", "DELETE" }))
	}
}
