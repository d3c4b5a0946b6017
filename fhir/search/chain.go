package search

import (
	"slices"
	"strings"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// resolved is a parameter key after its chain has been followed.
type resolved struct {
	chain []Link
	param Param
	on    string
	mod   string
}

// parseClause parses one occurrence key=value into a Clause.
func (p *parser) parseClause(key, value string) {
	r, ok := p.resolve(key, p.onType(), true, key, 0)
	if !ok {
		return
	}
	c := Clause{Key: key, Chain: r.chain, Param: r.param, On: r.on}
	mod, target, err := checkModifier(r.param, r.mod)
	if err != nil {
		p.errs = append(p.errs, paramError(err.code, key, "%s", err.msg))
		return
	}
	c.Modifier, c.TargetType = mod, target
	vals, verr := p.parseValues(c, value)
	if verr != nil {
		p.errs = append(p.errs, paramError(verr.code, key, "%s", verr.msg))
		return
	}
	if len(vals) == 0 {
		return // an empty value: the parameter is ignored
	}
	c.Values = vals
	p.q.Clauses = append(p.q.Clauses, c)
}

// resolve follows key (a suffix of full, the key as sent) from resources
// of typ ("" in a system search over several types; top tells that the
// key is not behind a link yet).
func (p *parser) resolve(full, typ string, top bool, key string, depth int) (resolved, bool) {
	if depth > maxChainDepth {
		p.fail(r4.IssueTypeTooCostly, full, "chains and _has may be at most %d levels deep", maxChainDepth)
		return resolved{}, false
	}
	if rest, ok := strings.CutPrefix(key, "_has:"); ok {
		parts := strings.SplitN(rest, ":", 3)
		if len(parts) < 3 || !typeNamePattern.MatchString(parts[0]) || parts[1] == "" || parts[2] == "" {
			p.fail(r4.IssueTypeInvalid, full, "_has must be written _has:Type:reference:parameter")
			return resolved{}, false
		}
		if typ == "" {
			p.fail(r4.IssueTypeInvalid, full, "_has needs one searched type (a type search, or _type with one type)")
			return resolved{}, false
		}
		from := parts[0]
		sp, ok := p.lookup(from, parts[1])
		if !ok {
			p.warn(full, "unknown parameter %s:%s; ignored", from, parts[1])
			return resolved{}, false
		}
		if sp.Kind != Reference {
			p.fail(r4.IssueTypeInvalid, full, "%s:%s is a %s parameter, not a reference", from, parts[1], sp.Kind)
			return resolved{}, false
		}
		if len(sp.Targets) > 0 && !slices.Contains(sp.Targets, typ) {
			p.fail(r4.IssueTypeInvalid, full, "%s:%s does not refer to %s (only %s)", from, parts[1], typ, strings.Join(sp.Targets, ", "))
			return resolved{}, false
		}
		r, ok := p.resolve(full, from, false, parts[2], depth+1)
		if !ok {
			return resolved{}, false
		}
		r.chain = append([]Link{{Reverse: true, Param: sp, From: from, To: typ}}, r.chain...)
		return r, true
	}
	head, rest, chained := strings.Cut(key, ".")
	name, mod, _ := strings.Cut(head, ":")
	if name == "" {
		p.fail(r4.IssueTypeInvalid, full, "a parameter name is missing (before %q)", key)
		return resolved{}, false
	}
	var sp Param
	var ok bool
	if top {
		sp, ok = p.lookupTop(name)
	} else {
		sp, ok = p.lookup(typ, name)
	}
	if !ok {
		if top && !chained {
			p.warn(full, "unknown or unsupported parameter; ignored")
		} else {
			p.warn(full, "unknown or unsupported parameter %q of %s; ignored", name, orAny(typ))
		}
		return resolved{}, false
	}
	if !chained {
		return resolved{param: sp, on: typ, mod: mod}, true
	}
	if sp.Kind != Reference {
		p.fail(r4.IssueTypeInvalid, full, "%s is a %s parameter and cannot be chained", name, sp.Kind)
		return resolved{}, false
	}
	var target string
	switch {
	case mod != "":
		if !typeNamePattern.MatchString(mod) {
			p.fail(r4.IssueTypeInvalid, full, "a chained reference takes only a :Type modifier, not :%s", mod)
			return resolved{}, false
		}
		if len(sp.Targets) > 0 && !slices.Contains(sp.Targets, mod) {
			p.fail(r4.IssueTypeInvalid, full, "%s cannot refer to %s (only %s)", name, mod, strings.Join(sp.Targets, ", "))
			return resolved{}, false
		}
		target = mod
	case len(sp.Targets) == 1:
		target = sp.Targets[0]
	case len(servedTargets(p.lookup, sp.Targets, rest)) == 1:
		// Only one of the targets has the next parameter (the others are
		// not served, or lack it): the chain is unambiguous.
		target = servedTargets(p.lookup, sp.Targets, rest)[0]
	default:
		p.fail(r4.IssueTypeInvalid, full, "%s may refer to %s: name the type, e.g. %s:%s.%s", name, targetsText(sp.Targets), name, firstOr(sp.Targets, "Patient"), rest)
		return resolved{}, false
	}
	r, ok := p.resolve(full, target, false, rest, depth+1)
	if !ok {
		return resolved{}, false
	}
	r.chain = append([]Link{{Param: sp, From: typ, To: target}}, r.chain...)
	return r, true
}

func orAny(typ string) string {
	if typ == "" {
		return "the searched types"
	}
	return typ
}

func targetsText(ts []string) string {
	if len(ts) == 0 {
		return "any type"
	}
	return "several types (" + strings.Join(ts, ", ") + ")"
}

func firstOr(ts []string, def string) string {
	if len(ts) > 0 {
		return ts[0]
	}
	return def
}

// servedTargets are the targets on which rest, the remainder of a chain,
// names a parameter lookup knows.
func servedTargets(lookup LookupFunc, targets []string, rest string) []string {
	next, _, _ := strings.Cut(rest, ".")
	next, _, _ = strings.Cut(next, ":")
	var out []string
	for _, t := range targets {
		if _, ok := lookup(t, next); ok || (next == "_has" && slices.Contains(Types(), t)) {
			out = append(out, t)
		}
	}
	return out
}
