package search

import "strings"

// Matches reports whether a resource whose index is idx satisfies c,
// a clause without Chain (chains are resolved by storage: a clause with a
// Chain never matches here). The values of c are ORed; idx[c.Param.Name]
// are the resource's values for the parameter (no entry: no values), and
// a resource matches a value when ANY of its values does, unless a rule
// below says otherwise. The rules (search.html, R4), by modifier and kind:
//
//   - :missing, every kind: Missing true matches a resource without values
//     for the parameter, false one with some.
//   - date: the resource value is the range [Lo, Hi), the search value
//     [S.Lo, S.Hi) (see DateValue; ap is already widened by the parser).
//     eq: Lo >= S.Lo && Hi <= S.Hi (the value lies within the search
//     range); ne: not eq; gt: Hi > S.Hi; lt: Lo < S.Lo; ge: Hi > S.Lo;
//     le: Lo < S.Hi; sa: Lo >= S.Hi; eb: Hi <= S.Lo; ap: the ranges
//     overlap. ne, like the others, needs only one value that is not eq.
//   - number: the resource value is the point Value.Float; the search
//     value has the range [Lo, Hi) of its precision ("100" is [99.5,
//     100.5), "100.00" is [99.995, 100.005)). eq and ap: Lo <= v < Hi (ap
//     widened by the parser); ne: not eq; gt and sa: v > Value; lt and
//     eb: v < Value; ge: v >= Value; le: v <= Value.
//   - quantity: the number rule on Value.Float and, when the search value
//     has a Code, the unit: with a System, the value's System and Code
//     must be those; without (number||code), the value's Code or Unit must
//     be the Code.
//   - string and special: the query's Normalized value is a prefix of the
//     resource's normalised Text; :exact: the resource's Exact (as
//     written) equals the query's String; :contains: Normalized is a
//     substring of Text.
//   - token (code comparison is case-sensitive): code matches Code in any
//     system; system|code both; |code Code with no System; system| the
//     System with any code. :not matches a resource none of whose values
//     matches any of the clause's values (so also one with no values:
//     status:not=a,b is "neither a nor b"); it is the only rule that looks
//     at the clause's values together. :text: Normalized is a prefix of a
//     value's Text (display, CodeableConcept.text, Identifier.type.text).
//     :of-type: an Identifier value with a type coding TypeSystem|TypeCode
//     and the value Code.
//   - reference: a search value with a Type (Type/id, id of a parameter
//     with one target, :Type) matches Ref "Type/id"; without a Type (a
//     bare id) a Ref "T/id" where T is a resource type name; an absolute
//     URL matches Ref equal to it, or to its Type/id tail when it has one
//     (the repository maps its own base URL to relative references before
//     calling Matches); a urn or other URL without a Type/id tail, only
//     Ref equal to it. The version of a search value is ignored, and a
//     "/_history/v" tail of an absolute URL is ignored on both sides (the
//     indexer drops it from relative references already). Logical
//     references (Value.Identifier) never match a reference value;
//     :identifier matches them, and only them, by the token rule.
//   - uri: equality; :below: the value starts with the search URI;
//     :above: the search URI starts with the value.
//   - composite: some value (one element) has, for every component i, a
//     value in Parts[i] matching the query's Composite[i] by the rule of
//     the component's kind, without modifier. The component kinds come
//     from Lookup on c.On (or Param.Type); a component Lookup does not
//     know is matched by the kind its query value was parsed as.
//
// A string or :text value that normalises to "" (only spaces) is a prefix
// of every text, so it matches any resource with a value. A modifier a
// kind does not take (see SupportedModifiers), a value missing the field
// its kind needs, and a clause without values match nothing.
func Matches(c Clause, idx Index) bool {
	if len(c.Chain) > 0 || len(c.Values) == 0 {
		return false
	}
	vs := idx[c.Param.Name]
	switch {
	case c.Modifier == ModMissing:
		for _, q := range c.Values {
			if q.Missing == (len(vs) == 0) {
				return true
			}
		}
		return false
	case c.Param.Kind == Token && c.Modifier == ModNot:
		for _, q := range c.Values {
			if q.Token == nil {
				return false // not a :not value: match nothing
			}
		}
		for _, v := range vs {
			for _, q := range c.Values {
				if matchToken(q.Token, v) {
					return false
				}
			}
		}
		return true
	}
	var comps []Kind
	if c.Param.Kind == Composite {
		comps = componentKinds(c)
	}
	for _, q := range c.Values {
		for _, v := range vs {
			if matchValue(c.Param.Kind, c.Modifier, q, v, comps) {
				return true
			}
		}
	}
	return false
}

// MatchesAll reports whether every clause of cs (all without Chain)
// matches idx; true for no clauses.
func MatchesAll(cs []Clause, idx Index) bool {
	for _, c := range cs {
		if !Matches(c, idx) {
			return false
		}
	}
	return true
}

// matchValue reports whether the resource value v satisfies the query
// value q of a parameter of kind k with modifier mod (not :missing or a
// token's :not). comps are a composite's component kinds.
func matchValue(k Kind, mod Modifier, q QueryValue, v Value, comps []Kind) bool {
	switch k {
	case Date:
		return mod == ModNone && q.Date != nil && matchDate(q.Prefix, *q.Date, v)
	case Number:
		return mod == ModNone && q.Number != nil && matchNumber(q.Prefix, *q.Number, v.Float)
	case Quantity:
		return mod == ModNone && q.Quantity != nil && matchQuantity(q.Prefix, *q.Quantity, v)
	case String, Special:
		switch mod {
		case ModNone:
			return strings.HasPrefix(v.Text, q.Normalized)
		case ModExact:
			return v.Exact == q.String
		case ModContains:
			return strings.Contains(v.Text, q.Normalized)
		}
	case Token:
		switch mod {
		case ModNone:
			return q.Token != nil && matchToken(q.Token, v)
		case ModText:
			return v.Text != "" && strings.HasPrefix(v.Text, q.Normalized)
		case ModOfType:
			return q.Token != nil && matchOfType(q.Token, v)
		}
	case Reference:
		switch mod {
		case ModNone, ModType:
			return q.Reference != nil && matchReference(q.Reference, v)
		case ModIdentifier:
			return q.Token != nil && v.Identifier && matchToken(q.Token, v)
		}
	case URI:
		if v.URI == "" {
			return false
		}
		switch mod {
		case ModNone:
			return v.URI == q.URI
		case ModBelow:
			return strings.HasPrefix(v.URI, q.URI)
		case ModAbove:
			return strings.HasPrefix(q.URI, v.URI)
		}
	case Composite:
		return mod == ModNone && matchComposite(q.Composite, v, comps)
	}
	return false
}

// matchDate compares the resource range [v.Lo, v.Hi) with s.
func matchDate(pre Prefix, s DateValue, v Value) bool {
	switch pre {
	case PrefixEq, "":
		return !v.Lo.Before(s.Lo) && !v.Hi.After(s.Hi)
	case PrefixNe:
		return !(!v.Lo.Before(s.Lo) && !v.Hi.After(s.Hi))
	case PrefixGt:
		return v.Hi.After(s.Hi)
	case PrefixLt:
		return v.Lo.Before(s.Lo)
	case PrefixGe:
		return v.Hi.After(s.Lo)
	case PrefixLe:
		return v.Lo.Before(s.Hi)
	case PrefixSa:
		return !v.Lo.Before(s.Hi)
	case PrefixEb:
		return !v.Hi.After(s.Lo)
	case PrefixAp:
		return v.Lo.Before(s.Hi) && v.Hi.After(s.Lo)
	}
	return false
}

// matchNumber compares the resource number f with n.
func matchNumber(pre Prefix, n NumberValue, f float64) bool {
	switch pre {
	case PrefixEq, "", PrefixAp:
		return n.Lo <= f && f < n.Hi
	case PrefixNe:
		return !(n.Lo <= f && f < n.Hi)
	case PrefixGt, PrefixSa:
		return f > n.Value
	case PrefixLt, PrefixEb:
		return f < n.Value
	case PrefixGe:
		return f >= n.Value
	case PrefixLe:
		return f <= n.Value
	}
	return false
}

func matchQuantity(pre Prefix, q QuantityValue, v Value) bool {
	if !matchNumber(pre, q.NumberValue, v.Float) {
		return false
	}
	switch {
	case q.Code == "":
		return true
	case q.System != "":
		return v.System == q.System && v.Code == q.Code
	default:
		return v.Code == q.Code || v.Unit == q.Code
	}
}

// matchToken reports whether the token value v (or a logical reference's
// identifier) matches t, without modifier.
func matchToken(t *TokenValue, v Value) bool {
	switch {
	case t.AnySystem:
		return t.Code != "" && v.Code == t.Code
	case t.Code == "":
		return t.System != "" && v.System == t.System
	case t.System == "":
		return v.Code == t.Code && v.System == ""
	default:
		return v.System == t.System && v.Code == t.Code
	}
}

// matchOfType: an Identifier typed TypeSystem|TypeCode whose value is Code.
func matchOfType(t *TokenValue, v Value) bool {
	if t.Code == "" || v.Code != t.Code {
		return false
	}
	for _, c := range v.OfType {
		if c.System == t.TypeSystem && c.Code == t.TypeCode {
			return true
		}
	}
	return false
}

// matchReference compares the indexed reference v with r.
func matchReference(r *ReferenceValue, v Value) bool {
	if v.Identifier || v.Ref == "" {
		return false
	}
	if r.URL != "" {
		if v.Ref == r.URL || stripHistory(v.Ref) == stripHistory(r.URL) {
			return true
		}
		return r.Type != "" && r.ID != "" && v.Ref == r.Type+"/"+r.ID
	}
	if r.ID == "" {
		return false
	}
	if r.Type != "" {
		return v.Ref == r.Type+"/"+r.ID
	}
	typ, ok := strings.CutSuffix(v.Ref, "/"+r.ID)
	return ok && isTypeName(typ)
}

// stripHistory drops a "/_history/v" tail of an absolute URL.
func stripHistory(u string) string {
	i := strings.LastIndex(u, "/_history/")
	if i < 0 || !strings.Contains(u, "://") || strings.Contains(u[i+len("/_history/"):], "/") {
		return u
	}
	return u[:i]
}

// componentKinds returns the kinds of the components of c's composite
// parameter; "" for one Lookup does not know.
func componentKinds(c Clause) []Kind {
	typ := c.On
	if typ == "" {
		typ = c.Param.Type
	}
	out := make([]Kind, len(c.Param.Components))
	for i, name := range c.Param.Components {
		if p, ok := Lookup(typ, name); ok {
			out[i] = p.Kind
		}
	}
	return out
}

// matchComposite: one element's Parts match every component of qs.
func matchComposite(qs []QueryValue, v Value, comps []Kind) bool {
	if len(qs) == 0 || len(qs) != len(v.Parts) {
		return false
	}
	for i, q := range qs {
		k := Kind("")
		if i < len(comps) {
			k = comps[i]
		}
		if k == "" {
			k = parsedKind(q)
		}
		if k == "" || k == Composite {
			return false
		}
		found := false
		for _, pv := range v.Parts[i] {
			if matchValue(k, ModNone, q, pv, nil) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// parsedKind guesses the kind a query value was parsed as from the field
// set; "" when it cannot tell (a string and a uri look alike: string).
func parsedKind(q QueryValue) Kind {
	switch {
	case q.Date != nil:
		return Date
	case q.Number != nil:
		return Number
	case q.Quantity != nil:
		return Quantity
	case q.Token != nil:
		return Token
	case q.Reference != nil:
		return Reference
	case q.URI != "":
		return URI
	case q.String != "":
		return String
	}
	return ""
}
