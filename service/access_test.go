package service

import (
	"context"
	"errors"
	"testing"
)

func TestAccessSees(t *testing.T) {
	goalA := Record{Type: "Goal", Board: "A", Patients: []string{"p1"}}
	goalB := Record{Type: "Goal", Board: "B", Patients: []string{"p1"}}
	legacy := Record{Type: "Goal"}
	quest := Record{Type: "Questionnaire"}
	tests := []struct {
		name string
		a    Access
		rec  Record
		sees bool
		owns bool
	}{
		{"own board", Access{Board: "A"}, goalA, true, true},
		{"other board", Access{Board: "A"}, goalB, false, false},
		{"no board", Access{}, goalA, false, false},
		{"no board, stored without board", Access{}, legacy, false, false},
		{"national reads every board", Access{National: true}, goalB, true, false},
		{"national with a board writes only its own", Access{Board: "A", National: true}, goalB, true, false},
		{"national sees data stored without a board", Access{National: true}, legacy, true, false},
		{"patient in compartment", Access{Board: "A", Patient: "p1"}, goalA, true, true},
		{"patient outside compartment", Access{Board: "A", Patient: "p2"}, goalA, false, false},
		{"patient scope on another board", Access{Board: "A", Patient: "p1"}, goalB, false, false},
		{"shared content: any reader", Access{}, quest, true, false},
		{"shared content: confined reader", Access{Board: "A", Patient: "p1"}, quest, true, false},
		{"shared content: admin writes", Access{Admin: true}, quest, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.a.Sees(tt.rec); got != tt.sees {
				t.Errorf("Sees = %v, want %v", got, tt.sees)
			}
			if got := tt.a.owns(tt.rec); got != tt.owns {
				t.Errorf("owns = %v, want %v", got, tt.owns)
			}
			if got := tt.a.tenancy().Allows(tt.rec); got != tt.sees {
				t.Errorf("tenancy().Allows = %v, want %v (listings must agree with reads)", got, tt.sees)
			}
		})
	}
}

func TestAccessMayWrite(t *testing.T) {
	tests := []struct {
		name     string
		a        Access
		typ      string
		patients []string
		ok       bool
	}{
		{"board writes clinical", Access{Board: "A"}, "Goal", []string{"p1"}, true},
		{"no board", Access{National: true}, "Goal", []string{"p1"}, false},
		{"patient writes own", Access{Board: "A", Patient: "p1"}, "Goal", []string{"p1"}, true},
		{"patient writes another's", Access{Board: "A", Patient: "p1"}, "Goal", []string{"p2"}, false},
		{"patient writes outside every compartment", Access{Board: "A", Patient: "p1"}, "Goal", nil, false},
		{"shared without admin", Access{Board: "A"}, "Questionnaire", nil, false},
		{"shared with admin", Access{Admin: true}, "Questionnaire", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.a.mayWrite(tt.typ, tt.patients)
			if (err == nil) != tt.ok || err != nil && !errors.Is(err, ErrForbidden) {
				t.Errorf("mayWrite = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

// TestNoAccessNoInteraction: without an access decision in the context
// every interaction refuses before touching storage (a nil store would
// panic if touched).
func TestNoAccessNoInteraction(t *testing.T) {
	s := New(nil)
	ctx := context.Background()
	calls := map[string]func() error{
		"create":  func() error { _, err := s.Create(ctx, "Goal", []byte(`{}`)); return err },
		"read":    func() error { _, err := s.Read(ctx, "Goal", "x"); return err },
		"vread":   func() error { _, err := s.VRead(ctx, "Goal", "x", 1); return err },
		"update":  func() error { _, _, err := s.Update(ctx, "Goal", "x", []byte(`{}`), nil); return err },
		"delete":  func() error { _, _, err := s.Delete(ctx, "Goal", "x", nil); return err },
		"history": func() error { _, err := s.History(ctx, HistoryQuery{}); return err },
		"search":  func() error { _, err := s.Search(ctx, SearchQuery{Type: "Goal"}); return err },
		"audit":   func() error { _, err := s.ReadAudit(ctx, "x"); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, ErrForbidden) {
			t.Errorf("%s without access: %v, want ErrForbidden", name, err)
		}
	}
}
