package search

import (
	"fmt"
	"math"
	"math/big"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"
	"golang.org/x/text/unicode/norm"

	"github.com/matcare/matcare/fhir"
)

// Prefix is the comparator in front of a date, number or quantity value
// (search.html#prefix); PrefixEq when none was given.
type Prefix string

// The R4 prefixes.
const (
	PrefixEq Prefix = "eq"
	PrefixNe Prefix = "ne"
	PrefixGt Prefix = "gt"
	PrefixLt Prefix = "lt"
	PrefixGe Prefix = "ge"
	PrefixLe Prefix = "le"
	PrefixSa Prefix = "sa"
	PrefixEb Prefix = "eb"
	PrefixAp Prefix = "ap"
)

var prefixes = []Prefix{PrefixEq, PrefixNe, PrefixGt, PrefixLt, PrefixGe, PrefixLe, PrefixSa, PrefixEb, PrefixAp}

// QueryValue is one of the ORed values of a Clause. Which fields are set
// depends on the parameter's kind and the modifier:
//
//	:missing           Missing
//	date               Prefix, Date
//	number             Prefix, Number
//	quantity           Prefix, Quantity
//	string, special    String (as sent), Normalized (NormalizeString)
//	token              Token; with :text String and Normalized
//	reference          Reference; with :identifier Token
//	uri                URI
//	composite          Composite, one QueryValue per component
type QueryValue struct {
	// Raw is the value as sent, escapes included.
	Raw      string
	Missing  bool
	Prefix   Prefix
	Date     *DateValue
	Number   *NumberValue
	Quantity *QuantityValue
	Token    *TokenValue
	// String is the unescaped value; Normalized is NormalizeString(String),
	// what default and :contains string searches compare with.
	String     string
	Normalized string
	Reference  *ReferenceValue
	URI        string
	Composite  []QueryValue
}

// DateValue is the range of instants [Lo, Hi) a date value covers (a
// partial date is a range; a value without a time zone is read in UTC).
// The prefix compares it with a resource's range: eq means the resource's
// range is inside [Lo, Hi), sa that it starts at or after Hi, eb that it
// ends before Lo, and so on (search.html#date). With ap, [Lo, Hi) is
// already widened by its own width (at least a day) on each side.
type DateValue struct {
	Lo, Hi time.Time
}

// NumberValue is a decimal with its implicit precision: Text is the number
// as sent (precision matters: "100" is [99.5, 100.5), "100.00" is
// [99.995, 100.005), "1e2" is [50, 150): half a unit of the last digit
// written). With ap, [Lo, Hi) is at least Value ± 10%.
type NumberValue struct {
	Text   string
	Value  float64
	Lo, Hi float64
}

// QuantityValue is number|system|code. Code is empty for a bare number;
// System is empty for number||code, which matches the code or the unit.
type QuantityValue struct {
	NumberValue
	System string
	Code   string
}

// TokenValue is a token search value:
//
//	code         Code, any system (AnySystem)
//	system|code  System and Code
//	|code        Code without a system (System "", AnySystem false)
//	system|      System, any code (Code "")
//
// With :of-type the value is system|code|value: TypeSystem and TypeCode
// name the identifier type and Code is the identifier value.
type TokenValue struct {
	System     string
	Code       string
	AnySystem  bool
	TypeSystem string
	TypeCode   string
}

// ReferenceValue is a reference search value: "id", "Type/id",
// "Type/id/_history/v" or an absolute URL (URL set; Type and ID also set
// when it ends in Type/id). Type is "" when any target type may match;
// for a bare id of a parameter with one target (or a :Type modifier) it is
// that type.
type ReferenceValue struct {
	Type    string
	ID      string
	Version string
	URL     string
}

var (
	numberPattern = regexp.MustCompile(`^[+-]?(\d{1,64})(\.(\d{1,64}))?([eE]([+-]?\d{1,3}))?$`)
	refIDPattern  = regexp.MustCompile(`^[A-Za-z0-9\-.]{1,64}$`)
	zoneFix       = regexp.MustCompile(`T\d{2}:\d{2}(:\d{2}(\.\d+)?)? \d{2}:\d{2}$`)
)

// NormalizeString is how string search values and indexed strings are
// compared (search.html#string: case and accent insensitive): compatibility
// decomposition (NFKD), combining marks removed, lower case, runs of white
// space collapsed to one space, leading and trailing space removed. The
// indexing side must use this same function.
func NormalizeString(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii { // nothing to decompose
		return strings.Join(strings.Fields(strings.ToLower(s)), " ")
	}
	var b strings.Builder
	space := false
	for _, r := range norm.NFKD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case unicode.IsSpace(r):
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// splitEscaped splits s on sep where sep is not escaped with a backslash
// (search.html#escaping); escapes are kept for the next split.
func splitEscaped(s string, sep byte) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case sep:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// unescape removes the backslash of \, \| \$ and \\ (and of any other
// character); a trailing lone backslash is kept.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func verr(format string, args ...any) *modError {
	return &modError{r4.IssueTypeValue, fmt.Sprintf(format, args...)}
}

// parseValues parses the comma-separated values of clause c. Empty values
// are skipped; none at all means the parameter is ignored.
func (p *parser) parseValues(c Clause, value string) ([]QueryValue, *modError) {
	var out []QueryValue
	for _, raw := range splitEscaped(value, ',') {
		if raw == "" {
			continue
		}
		v, err := p.parseValue(c.Param, c.On, c.Modifier, c.TargetType, raw)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if len(out) == 0 && c.Modifier == ModMissing {
		return nil, verr(":missing takes true or false")
	}
	return out, nil
}

// parseValue parses one value of parameter sp, evaluated on type on.
func (p *parser) parseValue(sp Param, on string, mod Modifier, target, raw string) (QueryValue, *modError) {
	v := QueryValue{Raw: raw}
	if mod == ModMissing {
		switch raw {
		case "true":
			v.Missing = true
		case "false":
		default:
			return v, verr(":missing takes true or false, not %q", raw)
		}
		return v, nil
	}
	switch sp.Kind {
	case Date:
		pre, rest := cutPrefix(raw)
		d, err := parseDate(unescape(rest), pre)
		if err != nil {
			return v, err
		}
		v.Prefix, v.Date = pre, d
	case Number:
		pre, rest := cutPrefix(raw)
		n, err := parseNumber(unescape(rest), pre)
		if err != nil {
			return v, err
		}
		v.Prefix, v.Number = pre, n
	case Quantity:
		pre, rest := cutPrefix(raw)
		parts := splitEscaped(rest, '|')
		if len(parts) != 1 && len(parts) != 3 {
			return v, verr("%q is not number, number|system|code or number||code", raw)
		}
		n, err := parseNumber(unescape(parts[0]), pre)
		if err != nil {
			return v, err
		}
		q := &QuantityValue{NumberValue: *n}
		if len(parts) == 3 {
			q.System, q.Code = unescape(parts[1]), unescape(parts[2])
			if q.Code == "" {
				return v, verr("%q: a quantity with a system needs a code", raw)
			}
		}
		v.Prefix, v.Quantity = pre, q
	case String, Special:
		v.String = unescape(raw)
		v.Normalized = NormalizeString(v.String)
	case URI:
		v.URI = unescape(raw)
	case Token:
		if mod == ModText {
			v.String = unescape(raw)
			v.Normalized = NormalizeString(v.String)
			return v, nil
		}
		t, err := parseToken(raw, mod == ModOfType)
		if err != nil {
			return v, err
		}
		v.Token = t
	case Reference:
		if mod == ModIdentifier {
			t, err := parseToken(raw, false)
			if err != nil {
				return v, err
			}
			v.Token = t
			return v, nil
		}
		r, err := parseReference(unescape(raw), sp, target)
		if err != nil {
			return v, err
		}
		v.Reference = r
	case Composite:
		parts := splitEscaped(raw, '$')
		if len(sp.Components) == 0 || len(parts) != len(sp.Components) {
			return v, verr("%q must have %d components separated by $", raw, len(sp.Components))
		}
		typ := on
		if typ == "" {
			typ = p.searchedTypes()[0]
		}
		for i, name := range sp.Components {
			csp, ok := p.lookup(typ, name)
			if !ok || csp.Kind == Composite {
				return v, &modError{r4.IssueTypeNotSupported, "component " + name + " is not supported"}
			}
			cv, err := p.parseValue(csp, typ, ModNone, "", parts[i])
			if err != nil {
				return v, err
			}
			v.Composite = append(v.Composite, cv)
		}
	default:
		return v, &modError{r4.IssueTypeNotSupported, "parameters of type " + string(sp.Kind) + " are not supported"}
	}
	return v, nil
}

// cutPrefix splits a known two-letter prefix off s.
func cutPrefix(s string) (Prefix, string) {
	if len(s) > 2 && slices.Contains(prefixes, Prefix(s[:2])) {
		return Prefix(s[:2]), s[2:]
	}
	return PrefixEq, s
}

func parseDate(s string, pre Prefix) (*DateValue, *modError) {
	// An unescaped "+" of a time zone arrives as a space.
	if zoneFix.MatchString(s) {
		s = s[:len(s)-6] + "+" + s[len(s)-5:]
	}
	lo, hi, err := fhir.DateRange(s, time.UTC)
	if err != nil {
		return nil, verr("%q is not a date (YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm[:ss[.fff]][Z|+hh:mm], after an optional prefix)", s)
	}
	if pre == PrefixAp {
		w := max(hi.Sub(lo), 24*time.Hour)
		lo, hi = lo.Add(-w), hi.Add(w)
	}
	return &DateValue{Lo: lo, Hi: hi}, nil
}

func parseNumber(s string, pre Prefix) (*NumberValue, *modError) {
	// An unescaped "+" (ge+3, 1e+2) arrives as a space.
	s = strings.ReplaceAll(s, " ", "+")
	m := numberPattern.FindStringSubmatch(s)
	if m == nil {
		return nil, verr("%q is not a number (after an optional prefix)", s)
	}
	val, ok := new(big.Rat).SetString(s)
	if !ok {
		return nil, verr("%q is not a number", s)
	}
	// Half a unit of the last digit written: 0.5 × 10^(exponent - decimals).
	exp := 0
	if m[5] != "" {
		for _, c := range strings.TrimLeft(m[5], "+-") {
			exp = exp*10 + int(c-'0')
		}
		if strings.HasPrefix(m[5], "-") {
			exp = -exp
		}
	}
	exp -= len(m[3])
	half := new(big.Rat).SetFrac64(1, 2)
	ten := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(absInt(exp))), nil))
	if exp >= 0 {
		half.Mul(half, ten)
	} else {
		half.Quo(half, ten)
	}
	if pre == PrefixAp {
		tenth := new(big.Rat).Abs(val)
		tenth.Quo(tenth, big.NewRat(10, 1))
		if tenth.Cmp(half) > 0 {
			half = tenth
		}
	}
	lo := new(big.Rat).Sub(val, half)
	hi := new(big.Rat).Add(val, half)
	n := &NumberValue{Text: s}
	n.Value, _ = val.Float64()
	n.Lo, _ = lo.Float64()
	n.Hi, _ = hi.Float64()
	if math.IsInf(n.Lo, 0) || math.IsInf(n.Hi, 0) {
		return nil, verr("%q is out of range", s)
	}
	return n, nil
}

func absInt(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

func parseToken(raw string, ofType bool) (*TokenValue, *modError) {
	parts := splitEscaped(raw, '|')
	for i := range parts {
		parts[i] = unescape(parts[i])
	}
	if ofType {
		if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
			return nil, verr(":of-type takes system|code|value, not %q", raw)
		}
		return &TokenValue{TypeSystem: parts[0], TypeCode: parts[1], Code: parts[2]}, nil
	}
	switch len(parts) {
	case 1:
		return &TokenValue{Code: parts[0], AnySystem: true}, nil
	case 2:
		if parts[0] == "" && parts[1] == "" {
			return nil, verr("%q: give a system, a code or both", raw)
		}
		return &TokenValue{System: parts[0], Code: parts[1]}, nil
	}
	return nil, verr("%q is not code, system|code, |code or system| (escape a literal | as \\|)", raw)
}

func parseReference(s string, sp Param, target string) (*ReferenceValue, *modError) {
	r := &ReferenceValue{}
	path := s
	if i := strings.Index(s, "://"); i > 0 || strings.HasPrefix(s, "urn:") {
		r.URL = s
		if strings.HasPrefix(s, "urn:") {
			return r, nil
		}
		path = s[i+3:]
		if j := strings.IndexByte(path, '/'); j >= 0 {
			path = path[j+1:]
		} else {
			return r, nil
		}
		// The tail of a RESTful URL: [base/]Type/id[/_history/v].
		segs := strings.Split(path, "/")
		if n := len(segs); n >= 4 && segs[n-2] == "_history" {
			segs, r.Version = segs[:n-2], segs[n-1]
		}
		if n := len(segs); n >= 2 && typeNamePattern.MatchString(segs[n-2]) && refIDPattern.MatchString(segs[n-1]) {
			r.Type, r.ID = segs[n-2], segs[n-1]
		}
		return r, nil
	}
	segs := strings.Split(path, "/")
	switch {
	case len(segs) == 1:
		r.ID = segs[0]
	case len(segs) == 2 || (len(segs) == 4 && segs[2] == "_history"):
		r.Type, r.ID = segs[0], segs[1]
		if len(segs) == 4 {
			r.Version = segs[3]
		}
		if !typeNamePattern.MatchString(r.Type) {
			return nil, verr("%q: %q is not a resource type", s, r.Type)
		}
	default:
		return nil, verr("%q is not id, Type/id or an absolute URL", s)
	}
	if !refIDPattern.MatchString(r.ID) || (r.Version != "" && !refIDPattern.MatchString(r.Version)) {
		return nil, verr("%q is not a valid id", s)
	}
	switch {
	case target != "" && r.Type != "" && r.Type != target:
		return nil, verr("%q does not match the :%s modifier", s, target)
	case target != "":
		r.Type = target
	case r.Type != "" && len(sp.Targets) > 0 && !slices.Contains(sp.Targets, r.Type):
		return nil, verr("%q: %s cannot refer to %s (only %s)", s, sp.Name, r.Type, strings.Join(sp.Targets, ", "))
	case r.Type == "" && len(sp.Targets) == 1:
		r.Type = sp.Targets[0]
	}
	return r, nil
}
