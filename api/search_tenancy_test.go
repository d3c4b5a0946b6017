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

// TestSearchTenancy seeds two health boards whose data collide on
// purpose (the same patient name and identifier on both boards, goal
// identifiers shared, references from one board's resources to the other
// board's ids, a board B goal and care plan about a board A patient id)
// and then runs, as every kind of client, a battery of searches: plain
// parameters, chains, _has, _include (:iterate, *), _revinclude, totals,
// system search with _type, compartment search and, for auditors, the
// audit trail. Each answer is compared with a model computed here from
// what was written: what the client may see (its board, every board when
// national, its patient's compartment, the types its scopes may search;
// questionnaires are shared), then the FHIR semantics of the search on
// that visible subset. Matches and includes are compared page by page,
// and totals; no answer may name anything the client cannot see, in an
// entry, a link, a page cursor, a total or an OperationOutcome. Chains and
// _has through a type the token cannot search answer 403.
func TestSearchTenancy(t *testing.T) {
	start := time.Now()
	e := newEnv(t)
	w := &stWorld{tw: &tenWorld{base: e.base, absent: map[string]response{}}, base: e.base}
	cl := func(name, id, scope, board string, national bool, types []string, auditor bool, extra ...any) *stClient {
		c := &stClient{tenClient: &tenClient{name: name, scope: scope, board: board, national: national}, id: id, types: types, auditor: auditor}
		c.e = e.as(scope, board, append([]any{"client_id", id}, extra...)...)
		for i := 0; i+1 < len(extra); i += 2 {
			if extra[i] == "patient" {
				c.patient = extra[i+1].(string)
			}
		}
		return c
	}
	allTypes := []string{"CarePlan", "Goal", "Patient", "Questionnaire", "QuestionnaireResponse"}
	boardAc := cl("boardA", "cli-boardA", "system/*.*", boardA, false, allTypes, false)
	boardBc := cl("boardB", "cli-boardB", "system/*.*", boardB, false, allTypes, false)
	adminA := cl("adminA", "cli-adminA", "system/*.* matcare:admin", boardA, false, allTypes, false)
	national := cl("national", "cli-national", "system/*.read matcare:national", "", true, allTypes, false)
	patientA := cl("patientA", "cli-patient", "patient/*.read", boardA, false, allTypes, false, "patient", "st-a-morag")
	goalOnly := cl("goalOnlyA", "cli-goalonly", "system/Goal.read", boardA, false, []string{"Goal"}, false)
	auditA := cl("auditorA", "cli-auditA", "matcare:audit", boardA, false, nil, true)
	auditN := cl("auditorNational", "cli-auditN", "matcare:audit matcare:national", "", true, nil, true)
	w.clients = []*stClient{boardAc, boardBc, adminA, national, patientA, goalOnly, auditA, auditN}
	clients := []*stClient{boardAc, boardBc, national, patientA, goalOnly, auditA, auditN}

	t.Run("seed", func(t *testing.T) { w.seed(t, boardAc, boardBc, adminA) })
	if t.Failed() {
		t.FailNow()
	}
	// Phase cuts: no request is in flight at a cut, so every AuditEvent
	// falls on the side of its request.
	cut := func(phase int32) time.Time {
		time.Sleep(25 * time.Millisecond)
		tm := time.Now().UTC()
		time.Sleep(25 * time.Millisecond)
		w.phase.Store(phase)
		return tm
	}
	t01 := cut(1)
	t.Run("search", func(t *testing.T) {
		for _, c := range clients {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				for i, k := range w.battery(c) {
					// Under the race detector every third query, rotating
					// by client; CI runs all of them without it (.ci/run).
					if raceEnabled && (i+len(c.name))%3 != 0 {
						continue
					}
					w.run(t, c, k)
				}
			})
		}
	})
	t12 := cut(2)
	t.Run("audit", func(t *testing.T) {
		// One request at a time: a query's model is the request log so far.
		for _, c := range clients {
			t.Run(c.name, func(t *testing.T) {
				for _, k := range w.auditBattery(t01, t12) {
					w.runAudit(t, c, k)
				}
			})
		}
	})
	t.Logf("search tenancy: %d clients (+1 writer), %d resources, %d queries (%d refused), %d requests, %d checks, %s",
		len(clients), len(w.res), w.queries.Load(), w.denied.Load(), w.seq.Load(), w.checks.Load(), time.Since(start).Round(time.Millisecond))
}

const (
	stCHI    = "http://chi.example/id"
	stGoalID = "http://goals.example/id"
	stPHQ    = "http://example.org/fhir/Questionnaire/phq9"
	stGAD    = "http://example.org/fhir/Questionnaire/gad7"
	stIdP    = testIssuer
)

// stRes is one resource of the model, as it stands.
type stRes struct {
	typ, id, board string // board "" for shared content
	deleted        bool
	given, family  string
	ident          string // system|value
	status         string // lifecycleStatus for a Goal
	subject        string // a Patient id
	performer      string // CarePlan activity performer, a Patient id
	goals          []string
	canon          string // QuestionnaireResponse.questionnaire
	url, version   string // Questionnaire
}

func (r *stRes) key() string { return r.typ + "/" + r.id }

// patients is the Patient compartment membership (R4 CompartmentDefinition).
func (r *stRes) patients() []string {
	var out []string
	switch r.typ {
	case "Patient":
		out = []string{r.id}
	case "Goal", "QuestionnaireResponse":
		out = []string{r.subject}
	case "CarePlan":
		out = []string{r.subject, r.performer}
	}
	return slices.DeleteFunc(out, func(s string) bool { return s == "" })
}

// stRef is one reference of a resource, by search parameter.
type stRef struct{ param, typ, id, canon string }

func (r *stRes) refs() []stRef {
	var out []stRef
	if r.subject != "" {
		out = append(out, stRef{param: "subject", typ: "Patient", id: r.subject}, stRef{param: "patient", typ: "Patient", id: r.subject})
	}
	for _, g := range r.goals {
		out = append(out, stRef{param: "goal", typ: "Goal", id: g})
	}
	if r.performer != "" {
		out = append(out, stRef{param: "performer", typ: "Patient", id: r.performer})
	}
	if r.canon != "" {
		out = append(out, stRef{param: "questionnaire", typ: "Questionnaire", canon: r.canon})
	}
	return out
}

func (r *stRes) body() string {
	ref := func(typ, id string) map[string]any { return map[string]any{"reference": typ + "/" + id} }
	m := map[string]any{"resourceType": r.typ, "id": r.id}
	if r.ident != "" {
		sys, val, _ := strings.Cut(r.ident, "|")
		m["identifier"] = []any{map[string]any{"system": sys, "value": val}}
	}
	switch r.typ {
	case "Patient":
		m["active"] = true
		m["name"] = []any{map[string]any{"family": r.family, "given": []any{r.given}}}
	case "Goal":
		m["lifecycleStatus"] = r.status
		m["description"] = map[string]any{"text": "a goal"}
		m["subject"] = ref("Patient", r.subject)
	case "CarePlan":
		m["status"] = r.status
		m["intent"] = "plan"
		m["subject"] = ref("Patient", r.subject)
		var gs []any
		for _, g := range r.goals {
			gs = append(gs, ref("Goal", g))
		}
		m["goal"] = gs
		if r.performer != "" {
			m["activity"] = []any{map[string]any{"detail": map[string]any{"status": "scheduled", "performer": []any{ref("Patient", r.performer)}}}}
		}
	case "QuestionnaireResponse":
		m["status"] = r.status
		m["subject"] = ref("Patient", r.subject)
		m["questionnaire"] = r.canon
	case "Questionnaire":
		m["url"], m["version"], m["status"], m["title"] = r.url, r.version, r.status, "a questionnaire"
		m["item"] = []any{map[string]any{"linkId": "1", "text": "How are you?", "type": "string"}}
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// stClient is a client kind: tenancy from tenClient, plus the types its
// scopes let it search and whether it audits.
type stClient struct {
	*tenClient
	id      string
	types   []string
	auditor bool
}

// can reports whether c may search typ (its own search, or through a
// chain, _has or include).
func (c *stClient) can(typ string) bool { return slices.Contains(c.types, typ) && c.typeAllowed(typ) }

func (c *stClient) inTenancy(r *stRes) bool {
	if tenShared(r.typ) {
		return true
	}
	if !c.national && (c.board == "" || r.board != c.board) {
		return false
	}
	return c.patient == "" || slices.Contains(r.patients(), c.patient)
}

// sees reports whether a search by c may return r.
func (c *stClient) sees(r *stRes) bool { return !r.deleted && c.can(r.typ) && c.inTenancy(r) }

// stReq is one request sent, for the audit trail's model.
type stReq struct {
	id          string // X-Request-Id
	c           *stClient
	interaction string
	status      int
	entity      string // Type/id the AuditEvent's entity names, if any
	path        string
	phase       int32
}

type stWorld struct {
	tw      *tenWorld
	base    string
	res     []*stRes
	clients []*stClient
	phase   atomic.Int32
	seq     atomic.Int64
	queries atomic.Int64
	denied  atomic.Int64 // queries expected to answer 403
	checks  atomic.Int64
	mu      sync.Mutex
	log     []stReq
	secret  sync.Map // client name and phase -> []string
}

func (w *stWorld) find(key string) *stRes {
	for _, r := range w.res {
		if r.key() == key {
			return r
		}
	}
	return nil
}

// do sends one request as c with a request id of its own, and logs it.
func (w *stWorld) do(t *testing.T, c *stClient, interaction, method, path, body string) response {
	t.Helper()
	id := fmt.Sprintf("st-req-%06d", w.seq.Add(1))
	r := c.on(t).do(method, path, body, "X-Request-Id", id)
	rel := strings.TrimPrefix(path, w.base)
	if q := strings.IndexByte(rel, '?'); q >= 0 {
		rel = rel[:q]
	}
	var entity string
	if segs := strings.Split(strings.TrimPrefix(rel, "/"), "/"); len(segs) >= 2 && segs[0] != "" {
		entity = segs[0] + "/" + segs[1]
	}
	w.mu.Lock()
	w.log = append(w.log, stReq{id: id, c: c, interaction: interaction, status: r.StatusCode, entity: entity, path: path, phase: w.phase.Load()})
	w.mu.Unlock()
	return r
}

func (w *stWorld) seed(t *testing.T, a, b, admin *stClient) {
	q := func(id, url, version, status string) *stRes {
		return &stRes{typ: "Questionnaire", id: id, url: url, version: version, status: status}
	}
	pat := func(board, id, given, family, chi string) *stRes {
		return &stRes{typ: "Patient", id: id, board: board, given: given, family: family, ident: stCHI + "|" + chi}
	}
	goal := func(board, id, subject, status, ident string) *stRes {
		if ident != "" {
			ident = stGoalID + "|" + ident
		}
		return &stRes{typ: "Goal", id: id, board: board, subject: subject, status: status, ident: ident}
	}
	cp := func(board, id, subject, performer, status string, goals ...string) *stRes {
		return &stRes{typ: "CarePlan", id: id, board: board, subject: subject, performer: performer, status: status, goals: goals}
	}
	qr := func(board, id, subject, canon, status string) *stRes {
		return &stRes{typ: "QuestionnaireResponse", id: id, board: board, subject: subject, canon: canon, status: status}
	}
	A, B := boardA, boardB
	w.res = []*stRes{
		q("st-q-phq", stPHQ, "1", "active"),
		q("st-q-gad", stGAD, "2", "draft"),
		pat(A, "st-a-morag", "Morag", "Campbell", "1111111111"),
		pat(B, "st-b-morag", "Morag", "Campbell", "1111111111"), // the same person's details on both boards
		pat(A, "st-a-ewan", "Ewan", "Stewart", "2222222222"),
		pat(B, "st-b-callum", "Callum", "Reid", "4444444444"),
		pat(A, "st-a-isla", "Isla", "Fraser", "3333333333"),  // only board B's goal is about her
		pat(A, "st-a-old", "Morag", "Oldname", "9999999999"), // deleted below
		goal(A, "st-a-goal-mo1", "st-a-morag", "active", "G1"),
		goal(B, "st-b-goal-mo", "st-b-morag", "active", "G1"), // the same goal identifier
		goal(A, "st-a-goal-mo2", "st-a-morag", "completed", ""),
		goal(B, "st-b-goal-ca", "st-b-callum", "proposed", ""),
		goal(A, "st-a-goal-ew", "st-a-ewan", "active", ""),
		goal(B, "st-b-goal-x", "st-a-isla", "active", ""),  // board B, about a board A patient id
		goal(A, "st-a-goal-x", "st-b-morag", "active", ""), // board A, about a board B patient id
		goal(B, "st-b-goal-y", "st-a-morag", "active", "G1"),
		goal(A, "st-a-goal-old", "st-a-old", "active", ""),
		goal(A, "st-a-goal-del", "st-a-ewan", "active", ""), // deleted below
		cp(A, "st-a-cp-mo", "st-a-morag", "", "active", "st-a-goal-mo1", "st-a-goal-mo2"),
		cp(B, "st-b-cp-mo", "st-b-morag", "", "active", "st-b-goal-mo", "st-a-goal-ew"), // and a board A goal id
		cp(A, "st-a-cp-x", "st-a-ewan", "", "active", "st-b-goal-ca"),                   // a board B goal id
		cp(B, "st-b-cp-ca", "st-b-callum", "", "completed", "st-b-goal-ca"),
		cp(A, "st-a-cp-ew", "st-a-ewan", "st-a-morag", "draft", "st-a-goal-ew", "st-a-goal-del"),
		cp(B, "st-b-cp-x", "st-a-morag", "", "active", "st-b-goal-y"), // board B, in a board A patient id's compartment
		qr(A, "st-a-qr-mo", "st-a-morag", stPHQ+"|1", "completed"),
		qr(B, "st-b-qr-mo", "st-b-morag", stPHQ+"|1", "completed"),
		qr(A, "st-a-qr-ew", "st-a-ewan", stGAD, "in-progress"),
		qr(B, "st-b-qr-x", "st-a-ewan", stGAD, "completed"),
	}
	// The leak checks look for ids as substrings.
	for _, r := range w.res {
		for _, o := range w.res {
			if r != o && strings.Contains(o.id, r.id) {
				t.Fatalf("id %s is part of id %s", r.id, o.id)
			}
		}
	}
	for _, r := range w.res {
		c := a
		switch {
		case r.board == "":
			c = admin
		case r.board == boardB:
			c = b
		}
		got := w.do(t, c, "update", "PUT", "/"+r.key(), r.body())
		w.tw.want(t, got, http.StatusCreated)
	}
	for _, key := range []string{"Patient/st-a-old", "Goal/st-a-goal-del"} {
		w.tw.want(t, w.do(t, a, "delete", "DELETE", "/"+key, ""), http.StatusOK)
		w.find(key).deleted = true
	}
}

// all are the resources of typ c may see that satisfy pred.
func (w *stWorld) all(c *stClient, typ string, pred func(*stRes) bool) []*stRes {
	var out []*stRes
	for _, r := range w.res {
		if r.typ == typ && c.sees(r) && (pred == nil || pred(r)) {
			out = append(out, r)
		}
	}
	return out
}

// resolve is the target of ref if c may see it.
func (w *stWorld) resolve(c *stClient, ref stRef) *stRes {
	for _, r := range w.res {
		if r.typ != ref.typ || !c.sees(r) {
			continue
		}
		if ref.canon == "" && r.id == ref.id {
			return r
		}
		if u, v, _ := strings.Cut(ref.canon, "|"); ref.canon != "" && r.url == u && (v == "" || v == r.version) {
			return r
		}
	}
	return nil
}

// linked are the targets of r's param that c may see.
func (w *stWorld) linked(c *stClient, r *stRes, param string) []*stRes {
	var out []*stRes
	for _, ref := range r.refs() {
		if ref.param == param {
			if t := w.resolve(c, ref); t != nil {
				out = append(out, t)
			}
		}
	}
	return out
}

// stInc is one _include (rev false) or _revinclude; "*" for any source
// or parameter.
type stInc struct {
	rev, iterate bool
	src, param   string
}

// included is what incs add to a page of matches, as c sees: the
// targets (sources) of the matches, then of what was added for :iterate.
func (w *stWorld) included(c *stClient, matches []*stRes, incs []stInc) []*stRes {
	seen := map[*stRes]bool{}
	for _, m := range matches {
		seen[m] = true
	}
	var out []*stRes
	level := matches
	for depth := 0; depth < 4 && len(level) > 0; depth++ {
		in := map[*stRes]bool{}
		for _, r := range level {
			in[r] = true
		}
		var next []*stRes
		add := func(r *stRes) {
			if r != nil && !seen[r] {
				seen[r] = true
				next = append(next, r)
			}
		}
		for _, inc := range incs {
			if depth > 0 && !inc.iterate {
				continue
			}
			if !inc.rev {
				for _, r := range level {
					if inc.src != "*" && inc.src != r.typ {
						continue
					}
					for _, ref := range r.refs() {
						if inc.param == "*" || inc.param == ref.param {
							add(w.resolve(c, ref))
						}
					}
				}
				continue
			}
			for _, s := range w.res {
				if !c.sees(s) || (inc.src != "*" && inc.src != s.typ) {
					continue
				}
				for _, ref := range s.refs() {
					if (inc.param == "*" || inc.param == ref.param) && in[w.resolve(c, ref)] {
						add(s)
						break
					}
				}
			}
		}
		out = append(out, next...)
		level = next
	}
	return out
}

// stCase is one search and its expected answer.
type stCase struct {
	path        string
	interaction string
	status      int
	match       []*stRes
	incs        []stInc
}

func inc(src, param string) stInc     { return stInc{src: src, param: param} }
func incIter(src, param string) stInc { return stInc{src: src, param: param, iterate: true} }
func revinc(src, param string) stInc  { return stInc{src: src, param: param, rev: true} }
func revIter(src, param string) stInc { return stInc{src: src, param: param, rev: true, iterate: true} }
func stKeys(rs []*stRes) []string     { return stKeysSorted(rs) }
func stIDs(rs []*stRes, typ string) string {
	var ids []string
	for _, r := range rs {
		if typ == "" || r.typ == typ {
			ids = append(ids, r.id)
		}
	}
	return strings.Join(ids, ",")
}

func stKeysSorted(rs []*stRes) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.key())
	}
	sort.Strings(out)
	return out
}

// battery is every search c runs, with the model's answers.
func (w *stWorld) battery(c *stClient) []stCase {
	var out []stCase
	add := func(path, interaction string, reads []string, match []*stRes, incs []stInc) {
		k := stCase{path: path, interaction: interaction, status: http.StatusOK, match: match, incs: incs}
		for _, typ := range reads {
			if !c.can(typ) {
				k.status, k.match = http.StatusForbidden, nil
			}
		}
		out = append(out, k)
	}
	// T is a search of reads[0] that reads the other types too.
	T := func(path string, reads []string, match []*stRes, incs ...stInc) {
		add(path, "search-type", reads, match, incs)
	}
	all := func(typ string, pred func(*stRes) bool) []*stRes { return w.all(c, typ, pred) }
	name := func(p string) func(*stRes) bool {
		return func(r *stRes) bool {
			return strings.HasPrefix(strings.ToLower(r.given), p) || strings.HasPrefix(strings.ToLower(r.family), p)
		}
	}
	family := func(p string) func(*stRes) bool {
		return func(r *stRes) bool { return strings.HasPrefix(strings.ToLower(r.family), p) }
	}
	is := func(vals ...string) func(*stRes) bool {
		return func(r *stRes) bool { return slices.Contains(vals, r.status) }
	}
	ident := func(v string) func(*stRes) bool { return func(r *stRes) bool { return r.ident == v } }
	yes := func(*stRes) bool { return true }
	// via: some target of r's param satisfies pred; from: some resource of
	// src satisfying pred refers to r through param.
	via := func(param string, pred func(*stRes) bool) func(*stRes) bool {
		return func(r *stRes) bool { return slices.ContainsFunc(w.linked(c, r, param), pred) }
	}
	from := func(src, param string, pred func(*stRes) bool) func(*stRes) bool {
		return func(r *stRes) bool {
			return slices.ContainsFunc(all(src, pred), func(s *stRes) bool { return slices.Contains(w.linked(c, s, param), r) })
		}
	}
	refTo := func(param, typ, id string) func(*stRes) bool {
		return func(r *stRes) bool {
			return slices.ContainsFunc(r.refs(), func(f stRef) bool { return f.param == param && f.typ == typ && f.id == id })
		}
	}
	and := func(ps ...func(*stRes) bool) func(*stRes) bool {
		return func(r *stRes) bool {
			for _, p := range ps {
				if !p(r) {
					return false
				}
			}
			return true
		}
	}
	chi1 := stCHI + "|1111111111"
	var everyGoal, every []*stRes
	for _, r := range w.res {
		every = append(every, r)
		if r.typ == "Goal" {
			everyGoal = append(everyGoal, r)
		}
	}
	P, G, CP, Q, QR := "Patient", "Goal", "CarePlan", "Questionnaire", "QuestionnaireResponse"

	// Plain parameters.
	T("/Patient?name=morag", []string{P}, all(P, name("morag")))
	T("/Patient?family=campbell&_total=accurate&_count=1", []string{P}, all(P, family("campbell")))
	T("/Patient?identifier="+chi1, []string{P}, all(P, ident(chi1)))
	T("/Goal?lifecycle-status=active&_count=2", []string{G}, all(G, is("active")))
	T("/Goal?subject=Patient/st-a-morag", []string{G}, all(G, refTo("subject", P, "st-a-morag")))
	T("/Goal?identifier="+stGoalID+"|G1", []string{G}, all(G, ident(stGoalID+"|G1")))
	T("/Goal?_id="+stIDs(everyGoal, ""), []string{G}, all(G, yes))
	T("/CarePlan?goal=Goal/st-b-goal-ca", []string{CP}, all(CP, refTo("goal", G, "st-b-goal-ca")))
	T("/CarePlan?status=active", []string{CP}, all(CP, is("active")))
	T("/QuestionnaireResponse?questionnaire="+stPHQ+"|1", []string{QR}, all(QR, func(r *stRes) bool { return r.canon == stPHQ+"|1" }))
	T("/Questionnaire?url="+stGAD, []string{Q}, all(Q, func(r *stRes) bool { return r.url == stGAD }))
	T("/Questionnaire?_total=accurate", []string{Q}, all(Q, yes))

	// Chains: each link within what the client sees.
	T("/Goal?subject:Patient.name=morag", []string{G, P}, all(G, via("subject", name("morag"))))
	T("/Goal?patient.identifier="+chi1, []string{G, P}, all(G, via("patient", ident(chi1))))
	T("/CarePlan?goal.lifecycle-status=active", []string{CP, G}, all(CP, via("goal", is("active"))))
	T("/CarePlan?goal.identifier="+stGoalID+"|G1", []string{CP, G}, all(CP, via("goal", ident(stGoalID+"|G1"))))
	T("/CarePlan?subject:Patient.identifier="+chi1, []string{CP, P}, all(CP, via("subject", ident(chi1))))
	T("/CarePlan?goal.subject:Patient.name=morag", []string{CP, G, P}, all(CP, via("goal", via("subject", name("morag")))))
	T("/QuestionnaireResponse?questionnaire.url="+stPHQ, []string{QR, Q}, all(QR, via("questionnaire", func(r *stRes) bool { return r.url == stPHQ })))
	T("/QuestionnaireResponse?subject:Patient.name=ewan", []string{QR, P}, all(QR, via("subject", name("ewan"))))
	T("/Goal?subject:Patient.name=morag&lifecycle-status=active&_summary=count", []string{G, P}, all(G, and(is("active"), via("subject", name("morag")))))

	// _has.
	T("/Patient?_has:Goal:patient:lifecycle-status=active", []string{P, G}, all(P, from(G, "patient", is("active"))))
	T("/Patient?_has:Goal:patient:lifecycle-status=active&_total=accurate&_count=1", []string{P, G}, all(P, from(G, "patient", is("active"))))
	T("/Patient?_has:CarePlan:subject:status=active", []string{P, CP}, all(P, from(CP, "subject", is("active"))))
	T("/Goal?_has:CarePlan:goal:status=active", []string{G, CP}, all(G, from(CP, "goal", is("active"))))
	T("/Patient?_has:QuestionnaireResponse:subject:status=completed", []string{P, QR}, all(P, from(QR, "subject", is("completed"))))
	T("/Patient?_has:Goal:patient:_has:CarePlan:goal:status=active", []string{P, G, CP}, all(P, from(G, "patient", from(CP, "goal", is("active")))))
	T("/Questionnaire?_has:QuestionnaireResponse:questionnaire:status=completed", []string{Q, QR}, all(Q, from(QR, "questionnaire", is("completed"))))
	T("/Patient?_has:Goal:patient:lifecycle-status=active&_summary=count", []string{P, G}, all(P, from(G, "patient", is("active"))))

	// _include.
	T("/CarePlan?_include=CarePlan:goal", []string{CP}, all(CP, yes), inc(CP, "goal"))
	T("/CarePlan?_include=CarePlan:subject", []string{CP}, all(CP, yes), inc(CP, "subject"))
	T("/CarePlan?_include=*", []string{CP}, all(CP, yes), inc("*", "*"))
	T("/CarePlan?_include=CarePlan:goal&_include:iterate=Goal:subject", []string{CP}, all(CP, yes), inc(CP, "goal"), incIter(G, "subject"))
	T("/CarePlan?status=active&_include=CarePlan:goal&_count=1", []string{CP}, all(CP, is("active")), inc(CP, "goal"))
	T("/CarePlan?_id=st-a-cp-mo,st-b-cp-mo,st-a-cp-ew&_include=CarePlan:goal&_include:iterate=Goal:subject&_revinclude:iterate=QuestionnaireResponse:subject",
		[]string{CP}, all(CP, func(r *stRes) bool { return slices.Contains([]string{"st-a-cp-mo", "st-b-cp-mo", "st-a-cp-ew"}, r.id) }),
		inc(CP, "goal"), incIter(G, "subject"), revIter(QR, "subject"))
	T("/Goal?_include=Goal:subject", []string{G}, all(G, yes), inc(G, "subject"))
	T("/Goal?_include=*&_count=3", []string{G}, all(G, yes), inc("*", "*"))
	T("/QuestionnaireResponse?_include=QuestionnaireResponse:questionnaire", []string{QR}, all(QR, yes), inc(QR, "questionnaire"))
	T("/QuestionnaireResponse?_include=*", []string{QR}, all(QR, yes), inc("*", "*"))

	// _revinclude.
	T("/Goal?_revinclude=CarePlan:goal", []string{G}, all(G, yes), revinc(CP, "goal"))
	T("/Patient?_revinclude=Goal:patient", []string{P}, all(P, yes), revinc(G, "patient"))
	T("/Patient?_revinclude=*", []string{P}, all(P, yes), revinc("*", "*"))
	T("/Patient?_revinclude=Goal:patient&_revinclude:iterate=CarePlan:goal", []string{P}, all(P, yes), revinc(G, "patient"), revIter(CP, "goal"))
	T("/Questionnaire?_revinclude=QuestionnaireResponse:questionnaire", []string{Q}, all(Q, yes), revinc(QR, "questionnaire"))
	T("/Goal?lifecycle-status=active&_include=Goal:subject&_revinclude=CarePlan:goal&_count=2", []string{G}, all(G, is("active")), inc(G, "subject"), revinc(CP, "goal"))

	// Totals alone.
	T("/Goal?_summary=count", []string{G}, all(G, yes))
	T("/Patient?name=morag&_summary=count", []string{P}, all(P, name("morag")))
	T("/CarePlan?goal.lifecycle-status=active&_total=accurate&_count=1", []string{CP, G}, all(CP, via("goal", is("active"))))
	T("/Goal?_total=none&_count=3", []string{G}, all(G, yes))
	T("/Goal?_count=0&subject=Patient/st-a-isla", []string{G}, all(G, refTo("subject", P, "st-a-isla")))

	// System search: the types of _type the token may search.
	sys := func(path string, types, reads []string, pred func(*stRes) bool, incs ...stInc) {
		var match []*stRes
		for _, typ := range types {
			match = append(match, all(typ, pred)...)
		}
		if len(c.types) == 0 { // no type at all: refused
			reads = append(reads, "none")
		}
		add(path, "search-system", reads, match, incs)
	}
	sys("?_type=Goal,Patient&_count=3", []string{G, P}, nil, yes)
	sys("?_type=Questionnaire,QuestionnaireResponse", []string{Q, QR}, nil, yes)
	sys("?_id="+stIDs(every, "")+"&_count=4&_total=accurate", []string{CP, G, P, Q, QR}, nil, yes)
	sys("?_type=CarePlan,Goal&_include=CarePlan:goal", []string{CP, G}, nil, yes, inc(CP, "goal"))
	sys("?_type=Patient&_summary=count", []string{P}, nil, yes)
	sys("?_type=Patient&name=morag", []string{P}, nil, name("morag"))
	sys("?_type=Goal&_has:CarePlan:goal:status=active", []string{G}, []string{CP}, from(CP, "goal", is("active")))
	sys("?_type=Patient,Goal,CarePlan&_lastUpdated=gt2000-01-01&_summary=count", []string{P, G, CP}, nil, yes)

	// Compartment search: every patient id, of both boards, and none.
	for _, pid := range []string{"st-a-morag", "st-b-morag", "st-a-ewan", "st-b-callum", "st-a-isla", "st-a-old", "st-nobody"} {
		for _, typ := range []string{G, CP, QR, P} {
			add("/Patient/"+pid+"/"+typ, "search-compartment", []string{typ},
				all(typ, func(r *stRes) bool { return slices.Contains(r.patients(), pid) }), nil)
		}
	}
	inMorag := func(r *stRes) bool { return slices.Contains(r.patients(), "st-a-morag") }
	add("/Patient/st-a-morag/CarePlan?_include=CarePlan:goal&_revinclude=QuestionnaireResponse:subject", "search-compartment", []string{CP},
		all(CP, inMorag), []stInc{inc(CP, "goal"), revinc(QR, "subject")})
	add("/Patient/st-a-morag/Goal?lifecycle-status=active&_total=accurate&_count=1", "search-compartment", []string{G},
		all(G, and(inMorag, is("active"))), nil)
	add("/Patient/st-a-ewan/CarePlan?goal.lifecycle-status=active", "search-compartment", []string{CP, G},
		all(CP, and(func(r *stRes) bool { return slices.Contains(r.patients(), "st-a-ewan") }, via("goal", is("active")))), nil)
	return out
}

// run sends k as c, walking every page, and compares the answers with
// the model.
func (w *stWorld) run(t *testing.T, c *stClient, k stCase) {
	t.Helper()
	w.queries.Add(1)
	if k.status != http.StatusOK {
		w.denied.Add(1)
		r := w.do(t, c, k.interaction, "GET", k.path, "")
		w.checkLeaks(t, c, r, k.path)
		w.checks.Add(1)
		w.tw.want(t, r, k.status)
		return
	}
	u, _ := url.Parse(k.path)
	vals := u.Query()
	size := 20
	if n, err := strconv.Atoi(vals.Get("_count")); err == nil {
		size = n
	}
	if vals.Get("_summary") == "count" {
		size = 0
	}
	mode := vals.Get("_total")
	want := stKeys(k.match)
	var got []string
	pages := 0
	what := k.path + " as " + c.name
	for next := k.path; next != ""; {
		r := w.do(t, c, k.interaction, "GET", next, "")
		w.checkLeaks(t, c, r, k.path)
		w.checks.Add(1)
		if !w.tw.want(t, r, http.StatusOK) {
			return
		}
		pages++
		m := r.json(t)
		var page []*stRes
		var incl []string
		for _, x := range asSlice(m["entry"]) {
			en, _ := x.(map[string]any)
			res, _ := en["resource"].(map[string]any)
			key := fmt.Sprint(res["resourceType"], "/", res["id"])
			smode, _ := path(en, "search", "mode").(string)
			w.checks.Add(1)
			if smode != "outcome" && en["fullUrl"] != w.base+"/"+key {
				t.Errorf("%s: entry %s has fullUrl %v", what, key, en["fullUrl"])
			}
			switch smode {
			case "match":
				got = append(got, key)
				if rr := w.find(key); rr != nil {
					page = append(page, rr)
				}
			case "include":
				incl = append(incl, key)
			default:
				t.Errorf("%s: entry %s with search mode %q: %s", what, key, smode, tenShort(r.body))
			}
		}
		if size == 0 && len(asSlice(m["entry"])) > 0 {
			t.Errorf("%s: a count-only search has entries", what)
		}
		w.checks.Add(1)
		sort.Strings(incl)
		if wi := stKeys(w.included(c, page, k.incs)); !slices.Equal(incl, wi) {
			t.Errorf("%s: page %d includes\n  %q\nwant\n  %q", what, pages, incl, wi)
		}
		next = ""
		for _, l := range asSlice(m["link"]) {
			if lm, _ := l.(map[string]any); lm["relation"] == "next" {
				next, _ = lm["url"].(string)
			}
		}
		w.checks.Add(1)
		total, has := m["total"]
		switch {
		case size == 0 || mode == "accurate" || mode == "estimate" || (mode == "" && pages == 1 && next == ""):
			if fmt.Sprint(total) != strconv.Itoa(len(want)) {
				t.Errorf("%s: page %d total %v, want %d", what, pages, total, len(want))
			}
		case has:
			t.Errorf("%s: page %d has total %v", what, pages, total)
		}
		if pages > 100 {
			t.Errorf("%s: more than 100 pages", what)
			return
		}
	}
	w.checks.Add(2)
	sort.Strings(got)
	if size > 0 && !slices.Equal(got, want) {
		t.Errorf("%s: matches\n  %q\nwant\n  %q", what, got, want)
	}
	wantPages := 1
	if size > 0 {
		wantPages = tenWantPages(len(want), size)
	}
	if pages != wantPages {
		t.Errorf("%s: %d pages, want %d for %d matches", what, pages, wantPages, len(want))
	}
}

// secrets are the strings c must never read in an answer (unless its
// request said them): the ids of resources it cannot see that nothing it
// sees refers to; for an auditor, the ids of other boards' resources no
// request of its board named, and other boards' clients.
func (w *stWorld) secrets(c *stClient) []string {
	key := fmt.Sprint(c.name, w.phase.Load()) // an auditor's depend on the requests so far
	if s, ok := w.secret.Load(key); ok {
		return s.([]string)
	}
	known := map[string]bool{}
	var out []string
	if c.auditor {
		if c.national {
			return nil
		}
		w.mu.Lock()
		for _, q := range w.log {
			if q.c.board == c.board {
				for _, r := range w.res {
					if strings.Contains(q.path, r.id) {
						known[r.id] = true
					}
				}
			}
		}
		w.mu.Unlock()
		for _, r := range w.res {
			if r.board != "" && r.board != c.board && !known[r.id] {
				out = append(out, r.id)
			}
		}
		for _, o := range w.clients {
			if o.board != c.board {
				out = append(out, o.id)
			}
		}
		w.secret.Store(key, out)
		return out
	}
	for _, r := range w.res {
		if c.can(r.typ) && c.inTenancy(r) { // deleted ones too: the client wrote or read them
			known[r.id] = true
			for _, ref := range r.refs() {
				known[ref.id] = true
			}
		}
	}
	for _, r := range w.res {
		if !known[r.id] {
			out = append(out, r.id)
		}
	}
	w.secret.Store(key, out)
	return out
}

// checkLeaks fails if r, the answer to a request for reqPath, shows c an
// entry it may not see, or names anything secret from it anywhere (body,
// headers, page cursors) that the request did not say itself.
func (w *stWorld) checkLeaks(t *testing.T, c *stClient, r response, reqPath string) {
	t.Helper()
	var lax strings.Builder
	lax.Write(r.body)
	for k, vs := range r.Header {
		lax.WriteString("\n" + k + ": " + strings.Join(vs, ", "))
	}
	var m map[string]any
	if json.Unmarshal(r.body, &m) == nil {
		for _, l := range asSlice(m["link"]) {
			u, _ := l.(map[string]any)["url"].(string)
			if pu, err := url.Parse(u); err == nil {
				if cur := pu.Query().Get("_cursor"); cur != "" {
					b, err := base64.RawURLEncoding.DecodeString(cur)
					if err != nil {
						t.Errorf("%s as %s: page cursor %q is not base64url", reqPath, c.name, cur)
					}
					lax.WriteString("\n")
					lax.Write(b)
				}
			}
		}
		for _, x := range asSlice(m["entry"]) {
			res, _ := path(x, "resource").(map[string]any)
			rt, _ := res["resourceType"].(string)
			id, _ := res["id"].(string)
			w.checks.Add(1)
			switch rt {
			case "OperationOutcome":
			case "AuditEvent":
				board, _ := path(res, "meta", "security", 0, "code").(string)
				if !c.auditor || (!c.national && board != c.board) {
					t.Errorf("LEAK: %s as %s: AuditEvent %s of board %q", reqPath, c.name, id, board)
				}
			default:
				if rr := w.find(rt + "/" + id); rr == nil || !c.sees(rr) {
					t.Errorf("LEAK: %s as %s: entry %s/%s, which %s may not see", reqPath, c.name, rt, id, c.name)
				}
			}
		}
	}
	s := lax.String()
	for _, id := range w.secrets(c) {
		w.checks.Add(1)
		if strings.Contains(s, id) && !strings.Contains(reqPath, id) {
			t.Errorf("LEAK: %s as %s (%d) names %s:\n%s", reqPath, c.name, r.StatusCode, id, tenShort(r.body))
		}
	}
	if !c.national {
		for _, b := range []string{boardA, boardB} {
			if b != c.board && (strings.Contains(s, b) || strings.Contains(s, tenBoardNames[b])) {
				t.Errorf("LEAK: %s as %s (%d) names board %s:\n%s", reqPath, c.name, r.StatusCode, b, tenShort(r.body))
			}
		}
	}
}

// stAuditCase is an AuditEvent search and the requests whose events it
// finds (before the tenancy of the auditor).
type stAuditCase struct {
	path string
	pred func(stReq) bool
}

func (w *stWorld) auditBattery(t01, t12 time.Time) []stAuditCase {
	ts := func(tm time.Time) string { return tm.Format("2006-01-02T15:04:05.000Z") }
	seed := "date=lt" + ts(t01)
	window := "date=ge" + ts(t01) + "&date=lt" + ts(t12)
	inPhase := func(p int32, more ...func(stReq) bool) func(stReq) bool {
		return func(q stReq) bool {
			if q.phase != p {
				return false
			}
			for _, f := range more {
				if !f(q) {
					return false
				}
			}
			return true
		}
	}
	sub := func(s string) func(stReq) bool { return func(q stReq) bool { return q.interaction == s } }
	outcome := func(o string) func(stReq) bool { return func(q stReq) bool { return stOutcome(q.status) == o } }
	agent := func(id string) func(stReq) bool { return func(q stReq) bool { return q.c.id == id } }
	entity := func(e string) func(stReq) bool { return func(q stReq) bool { return q.entity == e } }
	agentQ := func(id string) string { return "agent:identifier=" + stIdP + "|" + id }
	return []stAuditCase{
		{"/AuditEvent?" + seed, inPhase(0)},
		{"/AuditEvent?" + seed + "&_summary=count", inPhase(0)},
		{"/AuditEvent?" + window + "&_count=150&_total=accurate", inPhase(1)},
		{"/AuditEvent?" + window + "&subtype=http://hl7.org/fhir/restful-interaction|search-compartment&_count=100", inPhase(1, sub("search-compartment"))},
		{"/AuditEvent?" + window + "&subtype=search-system", inPhase(1, sub("search-system"))},
		{"/AuditEvent?" + window + "&outcome=4&_count=100", inPhase(1, outcome("4"))},
		{"/AuditEvent?" + window + "&outcome=0&_summary=count", inPhase(1, outcome("0"))},
		{"/AuditEvent?" + window + "&type=http://terminology.hl7.org/CodeSystem/audit-event-type|rest&_summary=count", inPhase(1)},
		{"/AuditEvent?subtype=update", func(q stReq) bool { return q.interaction == "update" }},
		{"/AuditEvent?subtype=delete&outcome=0", func(q stReq) bool { return q.interaction == "delete" && q.status < 400 }},
		{"/AuditEvent?entity=Goal/st-a-goal-mo1", entity("Goal/st-a-goal-mo1")},
		{"/AuditEvent?entity=Goal/st-b-goal-mo", entity("Goal/st-b-goal-mo")},
		{"/AuditEvent?entity=Questionnaire/st-q-phq", entity("Questionnaire/st-q-phq")},
		{"/AuditEvent?entity=Patient/st-a-morag&" + window, inPhase(1, entity("Patient/st-a-morag"))},
		{"/AuditEvent?entity=Patient/st-b-morag&" + window + "&outcome=0", inPhase(1, entity("Patient/st-b-morag"), outcome("0"))},
		{"/AuditEvent?" + agentQ("cli-boardB") + "&date=lt" + ts(t12) + "&_count=200", func(q stReq) bool { return q.phase < 2 && q.c.id == "cli-boardB" }},
		{"/AuditEvent?" + agentQ("cli-boardA") + "&" + window + "&_total=accurate&_count=40", inPhase(1, agent("cli-boardA"))},
		{"/AuditEvent?" + agentQ("cli-national") + "&" + window + "&subtype=search-type&_summary=count", inPhase(1, agent("cli-national"), sub("search-type"))},
		{"/AuditEvent?" + agentQ("cli-goalonly") + "&" + window + "&outcome=4&subtype=search-type,search-system", inPhase(1, agent("cli-goalonly"), outcome("4"), func(q stReq) bool { return q.interaction != "search-compartment" })},
		{"/AuditEvent?" + agentQ("cli-auditA") + "&" + window, inPhase(1, agent("cli-auditA"))},
	}
}

func stOutcome(status int) string {
	switch {
	case status < 400:
		return "0"
	case status < 500:
		return "4"
	}
	return "8"
}

// runAudit sends an AuditEvent search as c: 403 unless c audits;
// otherwise the events of the requests k.pred selects, of c's board
// (every board when national), compared by request id.
func (w *stWorld) runAudit(t *testing.T, c *stClient, k stAuditCase) {
	t.Helper()
	w.queries.Add(1)
	if !c.auditor {
		w.denied.Add(1)
		r := w.do(t, c, "search-type", "GET", k.path, "")
		w.checkLeaks(t, c, r, k.path)
		w.checks.Add(1)
		w.tw.want(t, r, http.StatusForbidden)
		return
	}
	w.mu.Lock()
	byID := map[string]stReq{}
	var want []string
	for _, q := range w.log {
		byID[q.id] = q
		if (c.national || q.c.board == c.board) && k.pred(q) {
			want = append(want, q.id)
		}
	}
	w.mu.Unlock()
	sort.Strings(want)
	u, _ := url.Parse(k.path)
	vals := u.Query()
	size := 20
	if n, err := strconv.Atoi(vals.Get("_count")); err == nil {
		size = n
	}
	if vals.Get("_summary") == "count" {
		size = 0
	}
	what := k.path + " as " + c.name
	var got []string
	pages := 0
	for next := k.path; next != ""; {
		r := w.do(t, c, "search-type", "GET", next, "")
		w.checkLeaks(t, c, r, k.path)
		w.checks.Add(1)
		if !w.tw.want(t, r, http.StatusOK) {
			return
		}
		pages++
		m := r.json(t)
		for _, x := range asSlice(m["entry"]) {
			ev, _ := path(x, "resource").(map[string]any)
			rid := ""
			for _, d := range asSlice(path(ev, "entity", 0, "detail")) {
				if dm, _ := d.(map[string]any); dm["type"] == "request-id" {
					rid, _ = dm["valueString"].(string)
				}
			}
			got = append(got, rid)
			q, ok := byID[rid]
			w.checks.Add(1)
			if !ok {
				t.Errorf("%s: AuditEvent %v of no request of this test (request id %q)", what, ev["id"], rid)
				continue
			}
			board, _ := path(ev, "meta", "security", 0, "code").(string)
			if board != q.c.board || path(ev, "agent", 0, "who", "identifier", "value") != q.c.id ||
				path(ev, "subtype", 0, "code") != q.interaction || path(ev, "outcome") != stOutcome(q.status) {
				t.Errorf("%s: AuditEvent for %s as %s (%s, %d) says board %q, agent %v, subtype %v, outcome %v", what,
					q.path, q.c.name, q.interaction, q.status, board, path(ev, "agent", 0, "who", "identifier", "value"),
					path(ev, "subtype", 0, "code"), path(ev, "outcome"))
			}
		}
		next = ""
		for _, l := range asSlice(m["link"]) {
			if lm, _ := l.(map[string]any); lm["relation"] == "next" {
				next, _ = lm["url"].(string)
			}
		}
		w.checks.Add(1)
		total, has := m["total"]
		switch mode := vals.Get("_total"); {
		case size == 0 || mode == "accurate" || (mode == "" && pages == 1 && next == ""):
			if fmt.Sprint(total) != strconv.Itoa(len(want)) {
				t.Errorf("%s: page %d total %v, want %d", what, pages, total, len(want))
			}
		case has:
			t.Errorf("%s: page %d has total %v", what, pages, total)
		}
		if pages > 100 {
			t.Errorf("%s: more than 100 pages", what)
			return
		}
	}
	w.checks.Add(2)
	sort.Strings(got)
	if size > 0 && !slices.Equal(got, want) {
		var extra, missing []string
		for _, g := range got {
			if _, ok := slices.BinarySearch(want, g); !ok {
				q := byID[g]
				extra = append(extra, g+" ("+q.c.name+" "+q.interaction+" "+q.path+")")
			}
		}
		for _, x := range want {
			if _, ok := slices.BinarySearch(got, x); !ok {
				q := byID[x]
				missing = append(missing, x+" ("+q.c.name+" "+q.interaction+" "+q.path+")")
			}
		}
		t.Errorf("%s: %d events, want %d\n  unexpected %q\n  missing %q", what, len(got), len(want), extra, missing)
	}
	wantPages := 1
	if size > 0 {
		wantPages = tenWantPages(len(want), size)
	}
	if pages != wantPages {
		t.Errorf("%s: %d pages, want %d for %d events", what, pages, wantPages, len(want))
	}
}
