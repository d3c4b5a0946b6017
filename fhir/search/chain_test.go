package search

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestChains(t *testing.T) {
	tests := []struct {
		typ, raw string
		chain    []Link
		tp       Param
		on       string
		mod      Modifier
	}{
		{"Goal", "patient.name=peter",
			[]Link{{Param: tp("Goal", "patient"), From: "Goal", To: "Patient"}},
			tp("Patient", "name"), "Patient", ModNone},
		{"Goal", "subject:Patient.identifier=http://acme.org/mrn|1",
			[]Link{{Param: tp("Goal", "subject"), From: "Goal", To: "Patient"}},
			tp("Patient", "identifier"), "Patient", ModNone},
		{"Goal", "subject:Patient.organization.name:exact=Acme",
			[]Link{{Param: tp("Goal", "subject"), From: "Goal", To: "Patient"}, {Param: tp("Patient", "organization"), From: "Patient", To: "Organization"}},
			tp("Organization", "name"), "Organization", ModExact},
		{"Goal", "subject:Patient.name:missing=true",
			[]Link{{Param: tp("Goal", "subject"), From: "Goal", To: "Patient"}},
			tp("Patient", "name"), "Patient", ModMissing},
		{"Patient", "link:Patient.name=x",
			[]Link{{Param: tp("Patient", "link"), From: "Patient", To: "Patient"}},
			tp("Patient", "name"), "Patient", ModNone},
		{"Patient", "_has:Goal:patient:lifecycle-status=active",
			[]Link{{Reverse: true, Param: tp("Goal", "patient"), From: "Goal", To: "Patient"}},
			tp("Goal", "lifecycle-status"), "Goal", ModNone},
		{"Patient", "_has:Goal:subject:lifecycle-status:not=completed",
			[]Link{{Reverse: true, Param: tp("Goal", "subject"), From: "Goal", To: "Patient"}},
			tp("Goal", "lifecycle-status"), "Goal", ModNot},
		{"Organization", "_has:Patient:organization:_has:Goal:patient:lifecycle-status=active",
			[]Link{{Reverse: true, Param: tp("Patient", "organization"), From: "Patient", To: "Organization"}, {Reverse: true, Param: tp("Goal", "patient"), From: "Goal", To: "Patient"}},
			tp("Goal", "lifecycle-status"), "Goal", ModNone},
		{"Patient", "_has:Goal:patient:subject:Patient.name=x",
			[]Link{{Reverse: true, Param: tp("Goal", "patient"), From: "Goal", To: "Patient"}, {Param: tp("Goal", "subject"), From: "Goal", To: "Patient"}},
			tp("Patient", "name"), "Patient", ModNone},
		{"Goal", "patient._has:Observation:patient:code=1234-5",
			[]Link{{Param: tp("Goal", "patient"), From: "Goal", To: "Patient"}, {Reverse: true, Param: tp("Observation", "patient"), From: "Observation", To: "Patient"}},
			tp("Observation", "code"), "Observation", ModNone},
		{"", "_type=Goal&patient.name=x",
			[]Link{{Param: tp("Goal", "patient"), From: "Goal", To: "Patient"}},
			tp("Patient", "name"), "Patient", ModNone},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			q, issues := mustParse(t, tt.typ, tt.raw)
			if len(issues) > 0 || len(q.Clauses) != 1 {
				t.Fatalf("got %+v, %v", q.Clauses, issues)
			}
			c := q.Clauses[0]
			if diff := cmp.Diff(tt.chain, c.Chain); diff != "" {
				t.Errorf("chain (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.tp, c.Param); diff != "" {
				t.Errorf("param (-want +got):\n%s", diff)
			}
			if c.On != tt.on || c.Modifier != tt.mod {
				t.Errorf("on %q modifier %q, want %q %q", c.On, c.Modifier, tt.on, tt.mod)
			}
			next := tt.typ
			if next == "" {
				next = "Goal"
			}
			for _, l := range c.Chain {
				if l.Reverse && l.To != next || !l.Reverse && l.From != next {
					t.Errorf("link %+v does not start at %s", l, next)
				}
				next = l.Next()
			}
			if next != c.On {
				t.Errorf("chain ends at %s, clause on %s", next, c.On)
			}
		})
	}
}
