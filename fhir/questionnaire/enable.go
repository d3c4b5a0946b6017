package questionnaire

import (
	"math/big"
	"regexp"
	"strings"
	"time"

	"github.com/matcare/matcare/fhir"
)

// enabled reports whether a response item is enabled: every enclosing
// item is enabled and its own enableWhen conditions hold. An item with no
// Questionnaire item is treated as enabled (Validate reports it anyway).
// A dependency cycle, which CheckQuestionnaire reports, is broken by
// reading the item being computed as disabled.
func (r *response) enabled(it *ritem) bool {
	if it.q == nil {
		return true
	}
	switch r.state[it] {
	case 1:
		return false
	case 2:
		return true
	case 3:
		return false
	}
	r.state[it] = 1
	ok := r.containerEnabled(it.in) && r.conditions(it.q, it.in, it.pos)
	r.state[it] = 3
	if ok {
		r.state[it] = 2
	}
	return ok
}

// containerEnabled reports whether the item holding c is enabled.
func (r *response) containerEnabled(c *container) bool {
	return c.owner == nil || r.enabled(c.owner)
}

// enabledAt reports whether q would be enabled in c, where it has no
// item: for the required check and the scoring of absent items.
func (r *response) enabledAt(q *qitem, c *container) bool {
	return r.containerEnabled(c) && r.conditions(q, c, c.endPos)
}

// conditions evaluates q's enableWhen for an item of q in c at position
// pos. With several conditions and no enableBehavior (which
// CheckQuestionnaire reports, R4 que-12), any one suffices, as in STU3.
func (r *response) conditions(q *qitem, c *container, pos int) bool {
	if len(q.enableWhen) == 0 {
		return true
	}
	all := q.behavior == "all"
	for _, cond := range q.enableWhen {
		holds := r.holds(q, cond, c, pos)
		if all && !holds {
			return false
		}
		if !all && holds {
			return true
		}
	}
	return all
}

// holds evaluates one enableWhen (R4 QuestionnaireItemOperator): exists
// compares whether the question has an answer with answerBoolean; = is
// true if at least one answer equals the condition's answer, != if none
// does (so also when there is no answer); >, <, >= and <= if at least one
// answer compares so (>= and <= also hold for an equal answer of a type
// without order, such as a Coding). The answers of a disabled question do
// not count.
func (r *response) holds(q *qitem, cond condition, c *container, pos int) bool {
	var answers []value
	if occ := r.resolve(q, cond.question, c, pos); occ != nil && r.enabled(occ) {
		answers = occ.values()
	}
	switch cond.operator {
	case "exists":
		if cond.answer.typ != "Boolean" || cond.answer.n.kind != 'b' {
			return false
		}
		return (len(answers) > 0) == cond.answer.n.boolean
	case "=", "!=":
		for _, a := range answers {
			if equal(a, cond.answer) {
				return cond.operator == "="
			}
		}
		return cond.operator == "!="
	case ">", "<", ">=", "<=":
		for _, a := range answers {
			if (cond.operator == ">=" || cond.operator == "<=") && equal(a, cond.answer) {
				return true // also for types without order
			}
			cmp, ok := order(a, cond.answer)
			if !ok {
				continue
			}
			switch {
			case cond.operator == ">" && cmp > 0, cond.operator == "<" && cmp < 0,
				cond.operator == ">=" && cmp >= 0, cond.operator == "<=" && cmp <= 0:
				return true
			}
		}
	}
	return false
}

// resolve finds the response item that an enableWhen of q, for an item in
// c at position pos, refers to: the nearest item with the linkId.
//
// R4 asks for the nearest occurrence "reachable by tracing first the
// ancestor axis and then the preceding axis and then the following axis".
// Here: if the question is an ancestor of q, the enclosing item with that
// linkId; otherwise the search stays inside the innermost group instance
// (or answer) that encloses both q and the question in the Questionnaire,
// so an item in one instance of a repeating group sees its own instance's
// answers and never another instance's, even when its own instance left
// the question unanswered. Only if that scope holds several occurrences
// (the question sits in a repeating group that does not enclose q) is the
// last one before pos taken, or else the first after it.
func (r *response) resolve(q *qitem, linkID string, c *container, pos int) *ritem {
	t := r.f.byLink[linkID]
	if t == nil {
		return nil
	}
	if isAncestor(t, q) {
		for cc := c; cc.owner != nil; cc = cc.owner.in {
			if cc.owner.q == t {
				return cc.owner
			}
		}
		return nil
	}
	lca := q.parent
	for lca != nil && !isAncestor(lca, t) {
		lca = lca.parent
	}
	scope := c
	for scope.q != lca {
		if scope.owner == nil {
			return nil
		}
		scope = scope.owner.in
	}
	var path []*qitem
	for p := t; p != lca; p = p.parent {
		path = append(path, p)
	}
	frontier := []*container{scope}
	var found []*ritem
	for i := len(path) - 1; i >= 0; i-- {
		found = found[:0:0]
		for _, fc := range frontier {
			found = append(found, fc.byLink[path[i].linkID]...)
		}
		if i > 0 {
			frontier = frontier[:0:0]
			for _, it := range found {
				frontier = append(frontier, it.containers()...)
			}
		}
	}
	var before, after *ritem
	for _, it := range found {
		if it.pos < pos && (before == nil || it.pos > before.pos) {
			before = it
		}
		if it.pos >= pos && (after == nil || it.pos < after.pos) {
			after = it
		}
	}
	if before != nil {
		return before
	}
	return after
}

// The comparison families: values of two types in one family compare.
const (
	famNone = iota
	famBoolean
	famNumber
	famDate
	famTime
	famString
	famCoding
	famQuantity
	famReference
)

func family(typ string) int {
	switch typ {
	case "Boolean":
		return famBoolean
	case "Integer", "Decimal":
		return famNumber
	case "Date", "DateTime":
		return famDate
	case "Time":
		return famTime
	case "String", "Uri":
		return famString
	case "Coding":
		return famCoding
	case "Quantity":
		return famQuantity
	case "Reference":
		return famReference
	}
	return famNone
}

// equal reports whether the answer a equals b, an enableWhen answer or an
// answer option. Integers and decimals compare as numbers, dates and
// dateTimes as the ranges they cover (equal only at the same precision),
// Codings by code and, if b has a system, system; Quantities by value and
// unit (system and code if both have a code, else unit); References by
// reference. Values of different families are never equal.
func equal(a, b value) bool {
	if a.n == nil || b.n == nil || family(a.typ) != family(b.typ) {
		return false
	}
	switch family(a.typ) {
	case famBoolean:
		return a.n.kind == 'b' && b.n.kind == 'b' && a.n.boolean == b.n.boolean
	case famNumber, famDate, famTime, famString, famQuantity:
		cmp, ok := order(a, b)
		return ok && cmp == 0
	case famCoding:
		ac, _ := a.n.text("code")
		bc, _ := b.n.text("code")
		if ac == "" || ac != bc {
			return false
		}
		bs, ok := b.n.text("system")
		as, _ := a.n.text("system")
		return !ok || as == bs
	case famReference:
		ar, _ := a.n.text("reference")
		br, _ := b.n.text("reference")
		return ar != "" && ar == br
	}
	return false
}

// order compares the answer a with b: ok is false if they cannot be
// ordered (different families, Booleans, Codings, References, Quantities
// in different units, overlapping date ranges of different precision,
// malformed values). Strings compare by code point.
func order(a, b value) (cmp int, ok bool) {
	if a.n == nil || b.n == nil || family(a.typ) != family(b.typ) {
		return 0, false
	}
	switch family(a.typ) {
	case famNumber:
		x, ok1 := decimal(a.n)
		y, ok2 := decimal(b.n)
		if !ok1 || !ok2 {
			return 0, false
		}
		return x.Cmp(y), true
	case famDate:
		if a.n.kind != '"' || b.n.kind != '"' {
			return 0, false
		}
		alo, ahi, err1 := fhir.DateRange(a.n.str, time.UTC)
		blo, bhi, err2 := fhir.DateRange(b.n.str, time.UTC)
		switch {
		case err1 != nil || err2 != nil:
			return 0, false
		case alo.Equal(blo) && ahi.Equal(bhi):
			return 0, true
		case !ahi.After(blo):
			return -1, true
		case !alo.Before(bhi):
			return 1, true
		}
		return 0, false
	case famTime:
		x, ok1 := timeKey(a.n)
		y, ok2 := timeKey(b.n)
		if !ok1 || !ok2 {
			return 0, false
		}
		// Pad the fractions to one length: then the text orders.
		for len(x) < len(y) {
			x += "0"
		}
		for len(y) < len(x) {
			y += "0"
		}
		return strings.Compare(x, y), true
	case famString:
		if a.n.kind != '"' || b.n.kind != '"' {
			return 0, false
		}
		return strings.Compare(a.n.str, b.n.str), true
	case famQuantity:
		if !sameUnit(a.n, b.n) {
			return 0, false
		}
		x, ok1 := decimal(a.n.get("value"))
		y, ok2 := decimal(b.n.get("value"))
		if !ok1 || !ok2 {
			return 0, false
		}
		return x.Cmp(y), true
	}
	return 0, false
}

// sameUnit reports whether two Quantities are in the same unit: the same
// system and code if both are coded, otherwise the same unit text, or
// neither has a unit.
func sameUnit(a, b *node) bool {
	ac, acoded := a.text("code")
	bc, bcoded := b.text("code")
	if acoded && bcoded {
		as, _ := a.text("system")
		bs, _ := b.text("system")
		return as == bs && ac == bc
	}
	au, aunit := a.text("unit")
	bu, bunit := b.text("unit")
	if aunit || bunit {
		return aunit && bunit && au == bu
	}
	return !acoded && !bcoded
}

// timePattern is R4's time.
var timePattern = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?$`)

// timeKey is a time's text without the decimal point, which orders as the
// time does once the fractions are padded to one length.
func timeKey(n *node) (string, bool) {
	if n.kind != '"' || !timePattern.MatchString(n.str) {
		return "", false
	}
	return strings.Replace(n.str, ".", "", 1), true
}

// matches reports whether the answer a is the answer option o: of the
// same type, and for a Coding the same system (both absent counts as the
// same) and code.
func matches(a value, o option) bool {
	if a.typ != o.val.typ {
		return false
	}
	if a.typ == "Coding" {
		ac, _ := a.n.text("code")
		oc, _ := o.val.n.text("code")
		as, _ := a.n.text("system")
		os, _ := o.val.n.text("system")
		return ac != "" && ac == oc && as == os
	}
	return equal(a, o.val)
}

// ordinalOfAnswer is the score of the option the answer a matches, nil
// if it matches none that has one.
func ordinalOfAnswer(q *qitem, a value) *big.Rat {
	for _, o := range q.options {
		if o.ordinal != nil && matches(a, o) {
			return o.ordinal
		}
	}
	return nil
}
