package repository

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/matcare/matcare/service"
)

// TestTenancyFilters checks every listing's board and compartment filter
// on the real server: history (type, system, instance), search (by any
// parameter and by _id) and its total.
func TestTenancyFilters(t *testing.T) {
	s := openStore(t, Options{})
	ctx := context.Background()
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	put := func(typ, id, board string, v int, pats ...string) {
		t.Helper()
		r := service.Record{Type: typ, ID: id, Version: v, Method: "PUT", Board: board, Patients: pats, Client: "c-" + board,
			LastUpdated: base.Add(time.Duration(len(id)+v) * time.Minute), Body: []byte(`{}`)}
		if err := s.Put(ctx, r, v-1); err != nil {
			t.Fatal(err)
		}
	}
	put("Goal", "a1", "A", 1, "p1")
	put("Goal", "a2", "A", 1, "p2")
	put("Goal", "a2", "A", 2, "p1") // moved into p1's compartment
	put("Goal", "b1", "B", 1, "p1") // same patient id on another board
	put("Goal", "legacy", "", 1)    // stored before tenancy: nobody's
	put("Questionnaire", "q1", "", 1)

	ids := func(recs []service.Record) []string {
		var out []string
		for _, r := range recs {
			out = append(out, fmt.Sprintf("%s/%s/%d", r.Type, r.ID, r.Version))
		}
		slices.Sort(out)
		return out
	}
	tests := []struct {
		name    string
		ten     service.Tenancy
		search  []string // Goal search, current versions
		history []string // system history
	}{
		{"board A", service.Tenancy{Board: "A"},
			[]string{"Goal/a1/1", "Goal/a2/2"},
			[]string{"Goal/a1/1", "Goal/a2/1", "Goal/a2/2", "Questionnaire/q1/1"}},
		{"board B", service.Tenancy{Board: "B"},
			[]string{"Goal/b1/1"},
			[]string{"Goal/b1/1", "Questionnaire/q1/1"}},
		{"board A, patient p1", service.Tenancy{Board: "A", Patient: "p1"},
			[]string{"Goal/a1/1", "Goal/a2/2"},
			[]string{"Goal/a1/1", "Goal/a2/2", "Questionnaire/q1/1"}},
		{"board A, patient p2", service.Tenancy{Board: "A", Patient: "p2"},
			nil,
			[]string{"Goal/a2/1", "Questionnaire/q1/1"}},
		{"national", service.Tenancy{AllBoards: true},
			[]string{"Goal/a1/1", "Goal/a2/2", "Goal/b1/1", "Goal/legacy/1"},
			[]string{"Goal/a1/1", "Goal/a2/1", "Goal/a2/2", "Goal/b1/1", "Goal/legacy/1", "Questionnaire/q1/1"}},
		{"no board", service.Tenancy{},
			nil,
			[]string{"Questionnaire/q1/1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := find(t, s, service.SearchQuery{Type: "Goal", Tenancy: tt.ten}, "_count=100&_total=accurate")
			if !slices.Equal(ids(got.Matches), tt.search) || got.Total != int64(len(tt.search)) {
				t.Errorf("search = %q (total %d), want %q", ids(got.Matches), got.Total, tt.search)
			}
			byID := find(t, s, service.SearchQuery{Type: "Goal", Tenancy: tt.ten}, "_id=a1,a2,b1,legacy&_count=100")
			if !slices.Equal(ids(byID.Matches), tt.search) {
				t.Errorf("search by _id = %q, want %q", ids(byID.Matches), tt.search)
			}
			h, err := s.History(ctx, service.HistoryQuery{Count: 100, Tenancy: tt.ten})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ids(h), tt.history) {
				t.Errorf("history = %q, want %q", ids(h), tt.history)
			}
			inst, err := s.History(ctx, service.HistoryQuery{Type: "Goal", ID: "a2", Count: 100, Tenancy: tt.ten})
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, w := range tt.history {
				if len(w) > 8 && w[:8] == "Goal/a2/" {
					want = append(want, w)
				}
			}
			if !slices.Equal(ids(inst), want) {
				t.Errorf("instance history = %q, want %q", ids(inst), want)
			}
		})
	}
	t.Run("system history limited to types", func(t *testing.T) {
		h, err := s.History(ctx, service.HistoryQuery{Count: 100, Types: []string{"Questionnaire"}, Tenancy: service.Tenancy{AllBoards: true}})
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(h); !slices.Equal(got, []string{"Questionnaire/q1/1"}) {
			t.Errorf("history = %q", got)
		}
	})
	t.Run("compartment search", func(t *testing.T) {
		for _, c := range []struct {
			ten         service.Tenancy
			compartment string
			want        []string
		}{
			{service.Tenancy{Board: "A"}, "p1", []string{"Goal/a1/1", "Goal/a2/2"}},
			{service.Tenancy{Board: "A"}, "p2", nil}, // a2 left p2's compartment
			{service.Tenancy{Board: "B"}, "p1", []string{"Goal/b1/1"}},
			{service.Tenancy{AllBoards: true}, "p1", []string{"Goal/a1/1", "Goal/a2/2", "Goal/b1/1"}},
			{service.Tenancy{Board: "A", Patient: "p1"}, "p1", []string{"Goal/a1/1", "Goal/a2/2"}},
			{service.Tenancy{Board: "A", Patient: "p2"}, "p1", nil},
		} {
			for _, params := range []string{"_total=accurate", "_id=a1,a2,b1,legacy&_total=accurate"} {
				q := service.SearchQuery{Type: "Goal", Compartment: c.compartment, Tenancy: c.ten}
				got := find(t, s, q, params)
				if !slices.Equal(ids(got.Matches), c.want) || got.Total != int64(len(c.want)) {
					t.Errorf("%+v %s: %q (total %d), want %q", c.ten, params, ids(got.Matches), got.Total, c.want)
				}
			}
		}
	})
	t.Run("writer recorded", func(t *testing.T) {
		r, err := s.Version(ctx, "Goal", "b1", 1)
		if err != nil || r.Client != "c-B" || r.Board != "B" || !slices.Equal(r.Patients, []string{"p1"}) {
			t.Errorf("version = %+v, %v", r, err)
		}
	})
}
