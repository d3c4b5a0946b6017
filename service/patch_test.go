package service

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/matcare/matcare/fhir"
)

// memStore keeps current versions in memory: enough of Store for the
// write path. Its Put is the compare-and-set the interface promises.
type memStore struct {
	Store // the rest is not used here; calling it panics
	mu    sync.Mutex
	cur   map[string]Record
	puts  int
	// beforePut, if set, runs before each Put (outside the lock): a
	// concurrent writer's chance to win the race.
	beforePut func(n int)
}

func newMemStore() *memStore { return &memStore{cur: map[string]Record{}} }

func (m *memStore) Current(_ context.Context, typ, id string) (Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rec, ok := m.cur[typ+"/"+id]
	if !ok {
		return Record{}, ErrNotFound
	}
	return rec, nil
}

func (m *memStore) Put(_ context.Context, rec Record, prev int) error {
	m.mu.Lock()
	m.puts++
	n, hook := m.puts, m.beforePut
	m.mu.Unlock()
	if hook != nil {
		hook(n)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cur[rec.Type+"/"+rec.ID].Version != prev {
		return ErrVersionConflict
	}
	m.cur[rec.Type+"/"+rec.ID] = rec
	return nil
}

// Search returns the current, non-deleted resources of q.Type within
// q.Tenancy that match q's clauses, in id order, up to q.Query.Count.
func (m *memStore) Search(_ context.Context, q SearchQuery) (SearchResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Record
	for _, rec := range m.cur {
		if rec.Type != q.Type || rec.Deleted || !q.Tenancy.Allows(rec) {
			continue
		}
		if ok, err := satisfies(rec.Type, rec.Body, q.Query); err != nil {
			return SearchResult{}, err
		} else if ok {
			out = append(out, rec)
		}
	}
	slices.SortFunc(out, func(a, b Record) int { return strings.Compare(a.ID, b.ID) })
	if len(out) > q.Query.Count {
		out = out[:q.Query.Count]
	}
	return SearchResult{Matches: out}, nil
}

const (
	svcBoardA = "S08000031"
	svcBoardB = "S08000024"
	svcGoal   = `{"resourceType":"Goal","id":"g1","meta":{"versionId":"1","lastUpdated":"2026-01-01T00:00:00.000Z"},` +
		`"lifecycleStatus":"active","description":{"text":"x"},"subject":{"reference":"Patient/p1"},` +
		`"target":[{"detailQuantity":{"value":1.50,"unit":"mg"}}]}`
)

// seed stores version 1 of a resource owned by board.
func (m *memStore) seed(typ, id, board, body string, patients ...string) {
	m.cur[typ+"/"+id] = Record{Type: typ, ID: id, Version: 1, Method: "POST", Created: true, Board: board,
		Patients: patients, Body: []byte(body), LastUpdated: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

// TestPatchSemantics checks the outcome of Patch for each case: what is
// stored, and the error a client is answered with.
func TestPatchSemantics(t *testing.T) {
	writer := Access{Client: "c", Board: svcBoardA}
	one := func(v int) *int { return &v }
	tests := []struct {
		name    string
		access  Access
		id      string
		patch   string
		ifMatch *int
		wantErr error // a sentinel, or nil
		status  int   // the *fhir.Error's status, or 0
		msg     string
		want    []string // substrings of the stored body
		gone    []string // substrings it must not have
	}{
		{name: "replace", access: writer, id: "g1", patch: `[{"op":"replace","path":"/lifecycleStatus","value":"on-hold"}]`,
			want: []string{`"lifecycleStatus":"on-hold"`, `"value":1.50`, `"versionId":"2"`}},
		{name: "If-Match current", access: writer, id: "g1", ifMatch: one(1), patch: `[{"op":"add","path":"/note","value":[{"text":"n"}]}]`,
			want: []string{`"note":[{"text":"n"}]`}},
		{name: "server owns meta", access: writer, id: "g1", patch: `[{"op":"replace","path":"/meta/versionId","value":"99"},{"op":"add","path":"/meta/lastUpdated","value":"1999-01-01T00:00:00Z"}]`,
			want: []string{`"meta":{"versionId":"2","lastUpdated":"`, `"code":"` + svcBoardA + `"`}, gone: []string{"1999", `"99"`}},
		{name: "meta removed", access: writer, id: "g1", patch: `[{"op":"remove","path":"/meta"}]`, want: []string{`"versionId":"2"`}},
		{name: "stale If-Match", access: writer, id: "g1", ifMatch: one(2), patch: `[]`, wantErr: ErrPrecondition},
		{name: "absent", access: writer, id: "nope", patch: `[]`, wantErr: ErrNotFound},
		{name: "deleted", access: writer, id: "gone", patch: `[]`, wantErr: ErrGone},
		{name: "another board's", access: writer, id: "b1", patch: `[]`, wantErr: ErrNotFound},
		{name: "another board's, If-Match", access: writer, id: "b1", ifMatch: one(1), patch: `[]`, wantErr: ErrNotFound},
		{name: "national reader sees but may not change", access: Access{Client: "n", Board: svcBoardA, National: true}, id: "b1", patch: `[]`, wantErr: ErrForbidden},
		{name: "shared content needs admin", access: writer, id: "q1", patch: `[]`, wantErr: ErrForbidden},
		{name: "out of the caller's compartment", access: Access{Client: "p", Board: svcBoardA, Patient: "p9"}, id: "g1", patch: `[]`, wantErr: ErrNotFound},
		{name: "moved out of the caller's compartment", access: Access{Client: "p", Board: svcBoardA, Patient: "p1"}, id: "g1",
			patch: `[{"op":"replace","path":"/subject/reference","value":"Patient/p2"}]`, wantErr: ErrForbidden},
		{name: "malformed", access: writer, id: "g1", patch: `[{"op":"remove"}]`, status: 400, msg: `"path" is required`},
		{name: "test fails", access: writer, id: "g1", patch: `[{"op":"test","path":"/lifecycleStatus","value":"completed"}]`, status: 422, msg: "patch operation 0 (test"},
		{name: "invalid result", access: writer, id: "g1", patch: `[{"op":"remove","path":"/lifecycleStatus"}]`, status: 422, msg: "the patched resource is invalid: lifecycleStatus is required"},
		{name: "bad code", access: writer, id: "g1", patch: `[{"op":"replace","path":"/lifecycleStatus","value":"bogus"}]`, status: 422, msg: "the patched resource is invalid"},
		{name: "null", access: writer, id: "g1", patch: `[{"op":"add","path":"/note","value":null}]`, status: 422, msg: "null is not allowed"},
		{name: "id changed", access: writer, id: "g1", patch: `[{"op":"replace","path":"/id","value":"g2"}]`, status: 422, msg: "changes id from g1 to g2"},
		{name: "id removed", access: writer, id: "g1", patch: `[{"op":"remove","path":"/id"}]`, status: 422, msg: "removes id"},
		{name: "resourceType changed", access: writer, id: "g1", patch: `[{"op":"replace","path":"/resourceType","value":"CarePlan"}]`, status: 422, msg: "cannot change a resource's type"},
		{name: "root replaced by an array", access: writer, id: "g1", patch: `[{"op":"replace","path":"","value":[1]}]`, status: 422, msg: "must be a JSON object"},
		{name: "bad id in URL", access: writer, id: "a_b", patch: `[]`, status: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMemStore()
			m.seed("Goal", "g1", svcBoardA, svcGoal, "p1")
			m.seed("Goal", "b1", svcBoardB, strings.Replace(svcGoal, `"g1"`, `"b1"`, 1), "p1")
			m.seed("Goal", "gone", svcBoardA, "")
			gone := m.cur["Goal/gone"]
			gone.Deleted, gone.Version, gone.Body = true, 2, nil
			m.cur["Goal/gone"] = gone
			m.seed("Questionnaire", "q1", "", `{"resourceType":"Questionnaire","id":"q1","status":"draft"}`)
			s := New(m)
			typ := "Goal"
			if tt.id == "q1" {
				typ = "Questionnaire"
			}
			before := m.cur[typ+"/"+tt.id]
			rec, err := s.Patch(WithAccess(context.Background(), tt.access), typ, tt.id, []byte(tt.patch), tt.ifMatch)
			switch {
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
			case tt.status != 0:
				var fe *fhir.Error
				if !errors.As(err, &fe) || fe.HTTPStatus() != tt.status {
					t.Fatalf("err = %v (%T), want a %d *fhir.Error", err, err, tt.status)
				}
				if !strings.Contains(fe.Error(), tt.msg) {
					t.Errorf("error %q lacks %q", fe.Error(), tt.msg)
				}
			case err != nil:
				t.Fatal(err)
			}
			after := m.cur[typ+"/"+tt.id]
			if err != nil {
				if after.Version != before.Version || string(after.Body) != string(before.Body) {
					t.Errorf("a failed patch changed the store: version %d → %d", before.Version, after.Version)
				}
				return
			}
			if rec.Version != before.Version+1 || after.Version != rec.Version || rec.Method != "PATCH" || rec.Created {
				t.Errorf("stored version %d (returned %d, method %s, created %v), want %d by PATCH", after.Version, rec.Version, rec.Method, rec.Created, before.Version+1)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(after.Body), w) {
					t.Errorf("stored body lacks %s: %s", w, after.Body)
				}
			}
			for _, g := range tt.gone {
				if strings.Contains(string(after.Body), g) {
					t.Errorf("stored body has %s: %s", g, after.Body)
				}
			}
			if _, err := fhir.Parse(typ, after.Body); err != nil {
				t.Errorf("stored body does not parse: %v", err)
			}
		})
	}
}

// TestPatchRace checks that a patch losing the race for the next version
// is applied again to the version that won (without If-Match), and fails
// with ErrPrecondition with If-Match.
func TestPatchRace(t *testing.T) {
	for _, withIfMatch := range []bool{false, true} {
		m := newMemStore()
		m.seed("Goal", "g1", svcBoardA, svcGoal, "p1")
		// Another writer stores version 2 just before our first Put.
		m.beforePut = func(n int) {
			if n != 1 {
				return
			}
			m.mu.Lock()
			defer m.mu.Unlock()
			v2 := m.cur["Goal/g1"]
			v2.Version = 2
			v2.Body = []byte(strings.Replace(string(v2.Body), `"active"`, `"on-hold"`, 1))
			m.cur["Goal/g1"] = v2
		}
		var im *int
		if withIfMatch {
			im = new(int)
			*im = 1
		}
		ctx := WithAccess(context.Background(), Access{Client: "c", Board: svcBoardA})
		rec, err := New(m).Patch(ctx, "Goal", "g1", []byte(`[{"op":"add","path":"/note","value":[{"text":"n"}]}]`), im)
		if withIfMatch {
			if !errors.Is(err, ErrPrecondition) {
				t.Errorf("with If-Match: err = %v, want ErrPrecondition", err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		body := string(m.cur["Goal/g1"].Body)
		if rec.Version != 3 || !strings.Contains(body, `"on-hold"`) || !strings.Contains(body, `"note":[{"text":"n"}]`) {
			t.Errorf("version %d, body %s: want version 3 with the winner's change and the patch", rec.Version, body)
		}
	}
}

// TestPatchNoAccess checks that Patch refuses to run without an access
// decision.
func TestPatchNoAccess(t *testing.T) {
	_, err := New(newMemStore()).Patch(context.Background(), "Goal", "g1", []byte(`[]`), nil)
	if !errors.Is(err, ErrForbidden) {
		t.Errorf("err = %v, want ErrForbidden", err)
	}
}

// TestConditionalPatch checks the outcomes of a conditional patch: the
// criteria select among the caller's own resources; none is ErrNotFound,
// several ErrPrecondition, one is patched.
func TestConditionalPatch(t *testing.T) {
	goal := func(id, status, patient string) string {
		return `{"resourceType":"Goal","id":"` + id + `","lifecycleStatus":"` + status + `","description":{"text":"x"},"subject":{"reference":"Patient/` + patient + `"}}`
	}
	replace := `[{"op":"replace","path":"/lifecycleStatus","value":"on-hold"}]`
	tests := []struct {
		name     string
		criteria string
		patch    string
		ifMatch  int
		wantErr  error
		status   int
		patched  string // the id patched
	}{
		{name: "one match", criteria: "patient=p1&lifecycle-status=active", patch: replace, patched: "g1"},
		{name: "one match, If-Match", criteria: "patient=p1&lifecycle-status=active", patch: replace, ifMatch: 1, patched: "g1"},
		{name: "one match, stale If-Match", criteria: "patient=p1&lifecycle-status=active", patch: replace, ifMatch: 2, wantErr: ErrPrecondition},
		{name: "no match", criteria: "patient=p9", patch: replace, wantErr: ErrNotFound},
		{name: "another board's only", criteria: "patient=p3", patch: replace, wantErr: ErrNotFound},
		{name: "deleted only", criteria: "patient=p4", patch: replace, wantErr: ErrNotFound},
		{name: "several", criteria: "lifecycle-status=active", patch: replace, wantErr: ErrPrecondition},
		{name: "by _id", criteria: "_id=g2", patch: replace, patched: "g2"},
		{name: "no criteria", criteria: "", patch: replace, status: 400},
		{name: "chained criteria", criteria: "subject.name=x", patch: replace, status: 400},
		{name: "unknown parameter", criteria: "colour=red", patch: replace, status: 400},
		{name: "malformed patch", criteria: "_id=g2", patch: `[{"op":"nope","path":"/x"}]`, status: 400},
		{name: "invalid result", criteria: "_id=g2", patch: `[{"op":"remove","path":"/lifecycleStatus"}]`, status: 422},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMemStore()
			m.seed("Goal", "g1", svcBoardA, goal("g1", "active", "p1"), "p1")
			m.seed("Goal", "g2", svcBoardA, goal("g2", "active", "p2"), "p2")
			m.seed("Goal", "g3", svcBoardB, goal("g3", "active", "p3"), "p3")
			m.seed("Goal", "g4", svcBoardA, goal("g4", "completed", "p4"), "p4")
			g4 := m.cur["Goal/g4"]
			g4.Deleted, g4.Version = true, 2
			m.cur["Goal/g4"] = g4
			before := map[string]int{}
			for k, r := range m.cur {
				before[k] = r.Version
			}
			q, err := url.ParseQuery(tt.criteria)
			if err != nil {
				t.Fatal(err)
			}
			var im *int
			if tt.ifMatch != 0 {
				im = &tt.ifMatch
			}
			ctx := WithAccess(context.Background(), Access{Client: "c", Board: svcBoardA})
			rec, err := New(m).ConditionalPatch(ctx, "Goal", q, []byte(tt.patch), im)
			switch {
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
			case tt.status != 0:
				var fe *fhir.Error
				if !errors.As(err, &fe) || fe.HTTPStatus() != tt.status {
					t.Fatalf("err = %v (%T), want a %d *fhir.Error", err, err, tt.status)
				}
			case err != nil:
				t.Fatal(err)
			case rec.ID != tt.patched || rec.Version != 2 || !strings.Contains(string(m.cur["Goal/"+tt.patched].Body), `"on-hold"`):
				t.Errorf("patched %s version %d: %s; want %s", rec.ID, rec.Version, m.cur["Goal/"+tt.patched].Body, tt.patched)
			}
			for k, r := range m.cur {
				if k != "Goal/"+tt.patched && r.Version != before[k] || err != nil && r.Version != before[k] {
					t.Errorf("%s changed: version %d → %d", k, before[k], r.Version)
				}
			}
		})
	}
}

// TestConditionalPatchRace checks that a conditional patch whose match is
// taken out of the criteria by another writer before the patch is stored
// searches again, and patches what matches then.
func TestConditionalPatchRace(t *testing.T) {
	goal := func(id, status string) string {
		return `{"resourceType":"Goal","id":"` + id + `","lifecycleStatus":"` + status + `","description":{"text":"x"},"subject":{"reference":"Patient/p1"}}`
	}
	for _, tt := range []struct {
		name    string
		other   bool // a second resource starts matching as the first stops
		wantErr error
	}{
		{name: "nothing matches any more", wantErr: ErrNotFound},
		{name: "another resource matches now", other: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := newMemStore()
			m.seed("Goal", "g1", svcBoardA, goal("g1", "active"), "p1")
			m.seed("Goal", "g2", svcBoardA, goal("g2", "proposed"), "p1")
			m.beforePut = func(n int) {
				if n != 1 {
					return
				}
				m.mu.Lock()
				defer m.mu.Unlock()
				g1 := m.cur["Goal/g1"]
				g1.Version, g1.Body = 2, []byte(goal("g1", "completed"))
				m.cur["Goal/g1"] = g1
				if tt.other {
					g2 := m.cur["Goal/g2"]
					g2.Version, g2.Body = 2, []byte(goal("g2", "active"))
					m.cur["Goal/g2"] = g2
				}
			}
			ctx := WithAccess(context.Background(), Access{Client: "c", Board: svcBoardA})
			q := url.Values{"lifecycle-status": {"active"}}
			rec, err := New(m).ConditionalPatch(ctx, "Goal", q, []byte(`[{"op":"add","path":"/note","value":[{"text":"n"}]}]`), nil)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if strings.Contains(string(m.cur["Goal/g1"].Body), "note") {
					t.Errorf("the patch was applied to a version the criteria no longer match: %s", m.cur["Goal/g1"].Body)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rec.ID != "g2" || rec.Version != 3 || strings.Contains(string(m.cur["Goal/g1"].Body), "note") {
				t.Errorf("patched %s version %d; g1 %s", rec.ID, rec.Version, m.cur["Goal/g1"].Body)
			}
		})
	}
}
