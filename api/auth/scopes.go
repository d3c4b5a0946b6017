// Package auth verifies SMART on FHIR backend-services bearer tokens and
// decides which FHIR interactions their scopes allow.
//
// It has three parts: SMART scope parsing and checking (v1 and v2 syntax),
// JWT verification against configured issuers, audience, algorithms and keys,
// and a development signing key for local use. The package is not yet wired
// into the HTTP server.
package auth

import (
	"strings"
)

// Context is the launch context of a SMART scope: system, user or patient.
type Context uint8

// The SMART scope contexts.
const (
	ContextSystem Context = 1 << iota
	ContextUser
	ContextPatient
)

// String returns the scope prefix of the context, such as "system".
func (c Context) String() string {
	switch c {
	case ContextSystem:
		return "system"
	case ContextUser:
		return "user"
	case ContextPatient:
		return "patient"
	}
	return "unknown"
}

// ContextSet is a set of contexts; it reports which contexts granted an
// interaction.
type ContextSet uint8

// Has reports whether c is in the set.
func (s ContextSet) Has(c Context) bool { return uint8(s)&uint8(c) != 0 }

// OnlyPatient reports whether the set is non-empty and contains only the
// patient context, meaning the client is confined to its patient's compartment.
func (s ContextSet) OnlyPatient() bool { return s == ContextSet(ContextPatient) }

// Permission is a set of SMART v2 permissions (c, r, u, d, s).
type Permission uint8

// The SMART v2 permissions, in their canonical order.
const (
	PermCreate Permission = 1 << iota
	PermRead
	PermUpdate
	PermDelete
	PermSearch
)

// Permission shorthands for the SMART v1 suffixes.
const (
	// PermV1Read is what v1 ".read" grants: read and search.
	PermV1Read = PermRead | PermSearch
	// PermV1Write is what v1 ".write" grants: create, update and delete.
	PermV1Write = PermCreate | PermUpdate | PermDelete
	// PermAll is what v1 ".*" and v2 ".cruds" grant.
	PermAll = PermV1Read | PermV1Write
)

const permLetters = "cruds"

// String returns the permissions in v2 letter form, such as "rs".
func (p Permission) String() string {
	var b strings.Builder
	for i := range len(permLetters) {
		if p&(1<<i) != 0 {
			b.WriteByte(permLetters[i])
		}
	}
	return b.String()
}

// Interaction is a FHIR RESTful interaction subject to a scope check.
type Interaction string

// The FHIR interactions that scopes govern.
const (
	Read            Interaction = "read"
	VRead           Interaction = "vread"
	HistoryInstance Interaction = "history-instance"
	HistoryType     Interaction = "history-type"
	Search          Interaction = "search"
	Create          Interaction = "create"
	Update          Interaction = "update"
	Delete          Interaction = "delete"
	Patch           Interaction = "patch"
)

// Interactions lists every interaction that scopes govern.
var Interactions = []Interaction{Read, VRead, HistoryInstance, HistoryType, Search, Create, Update, Delete, Patch}

// Permission returns the v2 permission an interaction needs, or 0 for an
// unknown interaction (which no scope allows).
func (i Interaction) Permission() Permission {
	switch i {
	case Read, VRead, HistoryInstance:
		return PermRead
	case Search, HistoryType:
		return PermSearch
	case Create:
		return PermCreate
	case Update, Patch:
		return PermUpdate
	case Delete:
		return PermDelete
	}
	return 0
}

// Scope is one parsed SMART resource scope.
type Scope struct {
	// Raw is the scope exactly as it appeared in the token.
	Raw string
	// Context is system, user or patient.
	Context Context
	// ResourceType is "*" or a FHIR resource type name.
	ResourceType string
	// Permissions are the permissions granted, v1 suffixes mapped to v2.
	Permissions Permission
	// Query is the v2 "?query" restriction without the "?", or empty.
	//
	// Restricted scopes are not yet enforced: a scope with a non-empty Query
	// grants nothing, so that a narrow grant can never be widened to the whole
	// resource type.
	Query string
	// V2 reports whether the scope used the v2 permission letters.
	V2 bool
}

// Grants reports whether this scope alone allows the interaction on the
// resource type.
func (s Scope) Grants(in Interaction, resourceType string) bool {
	need := in.Permission()
	if need == 0 || s.Query != "" || resourceType == "" {
		return false
	}
	if s.ResourceType != "*" && s.ResourceType != resourceType {
		return false
	}
	return s.Permissions&need != 0
}

// Scopes is a list of parsed SMART resource scopes.
type Scopes []Scope

// ParseScopes parses a space-separated OAuth scope string, keeping only well
// formed SMART resource scopes; others (openid, fhirUser, launch,
// offline_access and malformed ones) are ignored.
func ParseScopes(s string) Scopes {
	return ParseScopeList(strings.Fields(s))
}

// ParseScopeList parses scopes given one per element, as in an "scp" claim
// array; elements that themselves contain spaces are split.
func ParseScopeList(list []string) Scopes {
	var out Scopes
	for _, item := range list {
		for _, f := range strings.Fields(item) {
			if sc, ok := ParseScope(f); ok {
				out = append(out, sc)
			}
		}
	}
	return out
}

// ParseScope parses one SMART resource scope such as "system/Goal.read",
// "patient/*.rs" or "user/Observation.rs?category=laboratory". It reports
// false for anything that is not a well formed SMART resource scope.
func ParseScope(raw string) (Scope, bool) {
	sc := Scope{Raw: raw}
	prefix, rest, ok := strings.Cut(raw, "/")
	if !ok {
		return Scope{}, false
	}
	switch prefix {
	case "system":
		sc.Context = ContextSystem
	case "user":
		sc.Context = ContextUser
	case "patient":
		sc.Context = ContextPatient
	default:
		return Scope{}, false
	}
	rest, sc.Query, _ = strings.Cut(rest, "?")
	dot := strings.LastIndexByte(rest, '.')
	if dot < 0 {
		return Scope{}, false
	}
	sc.ResourceType, rest = rest[:dot], rest[dot+1:]
	if !validType(sc.ResourceType) {
		return Scope{}, false
	}
	switch rest {
	case "read":
		sc.Permissions = PermV1Read
	case "write":
		sc.Permissions = PermV1Write
	case "*":
		sc.Permissions = PermAll
	default:
		p, ok := parseLetters(rest)
		if !ok {
			return Scope{}, false
		}
		sc.Permissions, sc.V2 = p, true
	}
	return sc, true
}

// parseLetters parses v2 permission letters, which must be a non-empty
// subsequence of "cruds" in that order.
func parseLetters(s string) (Permission, bool) {
	if s == "" {
		return 0, false
	}
	var p Permission
	next := 0
	for i := range len(s) {
		j := strings.IndexByte(permLetters[next:], s[i])
		if j < 0 {
			return 0, false
		}
		next += j
		p |= 1 << next
		next++
	}
	return p, true
}

// validType reports whether s is "*" or looks like a FHIR resource type name.
func validType(s string) bool {
	if s == "*" {
		return true
	}
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// Allows reports whether any scope allows the interaction on the resource
// type, and which contexts granted it. When the only granting context is
// patient, the caller must confine the client to its patient's compartment.
func (ss Scopes) Allows(in Interaction, resourceType string) (bool, ContextSet) {
	var ctxs ContextSet
	for _, s := range ss {
		if s.Grants(in, resourceType) {
			ctxs |= ContextSet(s.Context)
		}
	}
	return ctxs != 0, ctxs
}

// Needed returns a human-readable system scope that would have allowed the
// interaction on the resource type, in v2 and v1 form, for error messages,
// for example "system/Goal.r (or system/Goal.read)".
func Needed(in Interaction, resourceType string) string {
	p := in.Permission()
	if p == 0 {
		return "no scope allows interaction " + string(in)
	}
	v1 := "read"
	if p&PermV1Write != 0 {
		v1 = "write"
	}
	base := "system/" + resourceType + "."
	return base + p.String() + " (or " + base + v1 + ")"
}
