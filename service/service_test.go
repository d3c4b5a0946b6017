package service

import (
	"testing"
	"time"
)

func TestHistoryKeyLess(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	t1 := t0.Add(time.Millisecond)
	tests := []struct {
		a, b HistoryKey
		want bool
	}{
		{HistoryKey{t1, "Goal", "a", 1}, HistoryKey{t0, "Goal", "a", 2}, true}, // newer first
		{HistoryKey{t0, "Goal", "a", 2}, HistoryKey{t1, "Goal", "a", 1}, false},
		{HistoryKey{t0, "Patient", "a", 1}, HistoryKey{t0, "Goal", "a", 1}, true}, // then type, descending
		{HistoryKey{t0, "Goal", "b", 1}, HistoryKey{t0, "Goal", "a", 9}, true},    // then id, descending
		{HistoryKey{t0, "Goal", "a", 10}, HistoryKey{t0, "Goal", "a", 9}, true},   // then version, numerically
		{HistoryKey{t0, "Goal", "a", 1}, HistoryKey{t0, "Goal", "a", 1}, false},   // irreflexive
	}
	for _, tt := range tests {
		if got := tt.a.Less(tt.b); got != tt.want {
			t.Errorf("%+v.Less(%+v) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestCheckTypeID(t *testing.T) {
	for _, tt := range []struct {
		typ, id string
		ok      bool
	}{
		{"Goal", "abc-1.2", true},
		{"Goal", "", false},
		{"Goal", "a/b", false},
		{"Goal", string(make([]byte, 65)), false},
		{"Encounter", "a", false},
	} {
		if err := checkTypeID(tt.typ, tt.id); (err == nil) != tt.ok {
			t.Errorf("checkTypeID(%q, %q) = %v", tt.typ, tt.id, err)
		}
	}
}
