package search

import (
	"slices"
	"strings"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// Modifier is a search parameter modifier (search.html#modifiers).
type Modifier string

// The modifiers matcare supports. ModType stands for a reference's
// :[Type] modifier; the type is in Clause.TargetType.
const (
	ModNone       Modifier = ""
	ModMissing    Modifier = "missing"
	ModExact      Modifier = "exact"
	ModContains   Modifier = "contains"
	ModNot        Modifier = "not"
	ModText       Modifier = "text"
	ModOfType     Modifier = "of-type"
	ModIdentifier Modifier = "identifier"
	ModBelow      Modifier = "below"
	ModAbove      Modifier = "above"
	ModType       Modifier = "type"
)

// supportedModifiers are the modifiers each kind accepts.
var supportedModifiers = map[Kind][]Modifier{
	String:    {ModMissing, ModExact, ModContains},
	Token:     {ModMissing, ModNot, ModText, ModOfType},
	Reference: {ModMissing, ModIdentifier},
	Date:      {ModMissing},
	Number:    {ModMissing},
	Quantity:  {ModMissing},
	URI:       {ModMissing, ModBelow, ModAbove},
	Composite: {ModMissing},
	Special:   {ModMissing},
}

// r4Modifiers are all modifiers R4 defines; those not supported for a
// kind are answered "not supported" rather than "unknown".
var r4Modifiers = []string{"missing", "exact", "contains", "text", "not", "above", "below", "in", "not-in", "of-type", "identifier"}

// modError is a problem with a modifier or value, before it is tied to
// the parameter's key.
type modError struct {
	code r4.IssueType
	msg  string
}

// SupportedModifiers lists the modifiers a parameter of kind k accepts
// (for the CapabilityStatement); a reference also accepts :[Type].
func SupportedModifiers(k Kind) []Modifier {
	return slices.Clone(supportedModifiers[k])
}

// checkModifier validates the modifier text mod of parameter sp.
func checkModifier(sp Param, mod string) (Modifier, string, *modError) {
	if mod == "" {
		return ModNone, "", nil
	}
	if sp.Kind == Reference && typeNamePattern.MatchString(mod) {
		if len(sp.Targets) > 0 && !slices.Contains(sp.Targets, mod) {
			return "", "", &modError{r4.IssueTypeValue, "modifier :" + mod + ": " + sp.Name + " cannot refer to " + mod + " (only " + strings.Join(sp.Targets, ", ") + ")"}
		}
		return ModType, mod, nil
	}
	m := Modifier(mod)
	if slices.Contains(supportedModifiers[sp.Kind], m) {
		return m, "", nil
	}
	if slices.Contains(r4Modifiers, mod) {
		return "", "", &modError{r4.IssueTypeNotSupported, "modifier :" + mod + " is not supported for " + string(sp.Kind) + " parameters"}
	}
	return "", "", &modError{r4.IssueTypeInvalid, "unknown modifier :" + mod}
}
