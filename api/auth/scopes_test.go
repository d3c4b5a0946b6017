package auth

import (
	"strings"
	"testing"
)

func TestParseScope(t *testing.T) {
	tests := []struct {
		raw   string
		ok    bool
		ctx   Context
		typ   string
		perms Permission
		query string
		v2    bool
	}{
		{"system/Goal.read", true, ContextSystem, "Goal", PermV1Read, "", false},
		{"system/*.write", true, ContextSystem, "*", PermV1Write, "", false},
		{"user/CarePlan.*", true, ContextUser, "CarePlan", PermAll, "", false},
		{"patient/*.*", true, ContextPatient, "*", PermAll, "", false},
		{"system/Goal.rs", true, ContextSystem, "Goal", PermRead | PermSearch, "", true},
		{"system/Goal.cud", true, ContextSystem, "Goal", PermV1Write, "", true},
		{"system/Goal.cruds", true, ContextSystem, "Goal", PermAll, "", true},
		{"system/Goal.d", true, ContextSystem, "Goal", PermDelete, "", true},
		{"patient/Observation.rs?category=laboratory", true, ContextPatient, "Observation", PermRead | PermSearch, "category=laboratory", true},
		// Letters out of order, repeated, unknown or empty.
		{"system/Goal.sr", false, 0, "", 0, "", false},
		{"system/Goal.rr", false, 0, "", 0, "", false},
		{"system/Goal.rx", false, 0, "", 0, "", false},
		{"system/Goal.", false, 0, "", 0, "", false},
		{"system/Goal.READ", false, 0, "", 0, "", false},
		// Non-SMART and malformed scopes.
		{"openid", false, 0, "", 0, "", false},
		{"fhirUser", false, 0, "", 0, "", false},
		{"launch", false, 0, "", 0, "", false},
		{"launch/patient", false, 0, "", 0, "", false},
		{"offline_access", false, 0, "", 0, "", false},
		{"admin/Goal.read", false, 0, "", 0, "", false},
		{"system/goal.read", false, 0, "", 0, "", false},
		{"system/.read", false, 0, "", 0, "", false},
		{"system/Goal", false, 0, "", 0, "", false},
		{"system/Go-al.read", false, 0, "", 0, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			sc, ok := ParseScope(tt.raw)
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
			if !ok {
				return
			}
			if sc.Context != tt.ctx || sc.ResourceType != tt.typ || sc.Permissions != tt.perms || sc.Query != tt.query || sc.V2 != tt.v2 || sc.Raw != tt.raw {
				t.Errorf("got %+v", sc)
			}
		})
	}
}

func TestParseScopesIgnoresOthers(t *testing.T) {
	ss := ParseScopes("openid fhirUser  launch offline_access system/Goal.read\tpatient/*.rs bogus/X.read")
	if len(ss) != 2 || ss[0].Raw != "system/Goal.read" || ss[1].Raw != "patient/*.rs" {
		t.Fatalf("got %+v", ss)
	}
	ss = ParseScopeList([]string{"openid", "system/Goal.c", "user/CarePlan.r user/CarePlan.s"})
	if len(ss) != 3 {
		t.Fatalf("got %+v", ss)
	}
	if len(ParseScopes("")) != 0 {
		t.Fatal("empty scope string gave scopes")
	}
}

// TestAllows checks each interaction against each class of scope: v1 read,
// write and *, each v2 letter, wildcard and named types, other types, query
// restricted scopes and unknown interactions.
func TestAllows(t *testing.T) {
	type want map[Interaction]bool
	readSet := want{Read: true, VRead: true, HistoryInstance: true, HistoryType: true, Search: true}
	writeSet := want{Create: true, Update: true, Delete: true, Patch: true}
	all := want{}
	for _, in := range Interactions {
		all[in] = true
	}
	tests := []struct {
		scope string
		typ   string
		want  want
	}{
		{"system/Goal.read", "Goal", readSet},
		{"system/Goal.write", "Goal", writeSet},
		{"system/Goal.*", "Goal", all},
		{"system/*.read", "CarePlan", readSet},
		{"system/*.*", "Patient", all},
		{"system/Goal.read", "CarePlan", want{}},
		{"system/Goal.*", "CarePlan", want{}},
		{"system/Goal.c", "Goal", want{Create: true}},
		{"system/Goal.r", "Goal", want{Read: true, VRead: true, HistoryInstance: true}},
		{"system/Goal.u", "Goal", want{Update: true, Patch: true}},
		{"system/Goal.d", "Goal", want{Delete: true}},
		{"system/Goal.s", "Goal", want{Search: true, HistoryType: true}},
		{"system/Goal.rs", "Goal", readSet},
		{"system/Goal.cud", "Goal", writeSet},
		{"system/Goal.cruds", "Goal", all},
		{"user/*.cruds", "Goal", all},
		{"patient/Goal.rs", "Goal", readSet},
		{"system/Goal.rs?status=active", "Goal", want{}},
		{"openid fhirUser", "Goal", want{}},
		{"", "Goal", want{}},
		{"system/*.*", "", want{}},
	}
	for _, tt := range tests {
		ss := ParseScopes(tt.scope)
		for _, in := range Interactions {
			ok, ctxs := ss.Allows(in, tt.typ)
			if ok != tt.want[in] {
				t.Errorf("%q Allows(%s, %q) = %v, want %v", tt.scope, in, tt.typ, ok, tt.want[in])
			}
			if ok != (ctxs != 0) {
				t.Errorf("%q Allows(%s): ok %v but contexts %b", tt.scope, in, ok, ctxs)
			}
		}
	}
	if ok, _ := ParseScopes("system/*.*").Allows("operation", "Goal"); ok {
		t.Error("unknown interaction allowed")
	}
}

func TestAllowsContexts(t *testing.T) {
	tests := []struct {
		scopes      string
		system      bool
		user        bool
		patient     bool
		onlyPatient bool
	}{
		{"patient/Goal.read", false, false, true, true},
		{"patient/Goal.read system/*.read", true, false, true, false},
		{"user/Goal.rs patient/*.rs", false, true, true, false},
		{"system/Goal.read", true, false, false, false},
		// A patient scope for another interaction does not add the context.
		{"system/Goal.read patient/Goal.write", true, false, false, false},
	}
	for _, tt := range tests {
		ok, c := ParseScopes(tt.scopes).Allows(Read, "Goal")
		if !ok || c.Has(ContextSystem) != tt.system || c.Has(ContextUser) != tt.user || c.Has(ContextPatient) != tt.patient || c.OnlyPatient() != tt.onlyPatient {
			t.Errorf("%q: ok=%v contexts=%b", tt.scopes, ok, c)
		}
	}
}

func TestNeeded(t *testing.T) {
	tests := map[Interaction]string{
		Read:            "system/Goal.r (or system/Goal.read)",
		VRead:           "system/Goal.r (or system/Goal.read)",
		HistoryInstance: "system/Goal.r (or system/Goal.read)",
		HistoryType:     "system/Goal.s (or system/Goal.read)",
		Search:          "system/Goal.s (or system/Goal.read)",
		Create:          "system/Goal.c (or system/Goal.write)",
		Update:          "system/Goal.u (or system/Goal.write)",
		Patch:           "system/Goal.u (or system/Goal.write)",
		Delete:          "system/Goal.d (or system/Goal.write)",
	}
	for in, want := range tests {
		if got := Needed(in, "Goal"); got != want {
			t.Errorf("Needed(%s) = %q, want %q", in, got, want)
		}
		// The suggested v2 scope really does allow the interaction.
		v2, _, _ := strings.Cut(Needed(in, "Goal"), " ")
		if ok, _ := ParseScopes(v2).Allows(in, "Goal"); !ok {
			t.Errorf("Needed(%s) suggests %q, which does not allow it", in, v2)
		}
	}
}

func TestPermissionString(t *testing.T) {
	if got := PermAll.String(); got != "cruds" {
		t.Errorf("PermAll = %q", got)
	}
	if got := PermV1Read.String(); got != "rs" {
		t.Errorf("PermV1Read = %q", got)
	}
}
