package service

import (
	"context"
	"errors"
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
