package terminology

import (
	"fmt"
	"strings"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/matcare/matcare/fhir"
)

// Validation is the result of $validate-code (R4 out parameters).
type Validation struct {
	// Result is true if the concept details supplied are valid.
	Result bool
	// Message gives the errors when Result is false, hints and warnings
	// (an inactive code, say) when it is true.
	Message string
	// Display is the concept's display, when a concept was found.
	Display string
}

// Parameters is the R4 $validate-code output: result, message, display.
func (v Validation) Parameters() Parameters {
	out := Parameters{Parameter: []Parameter{boolParam("result", v.Result)}}
	if v.Message != "" {
		out.Parameter = append(out.Parameter, stringParam("message", v.Message))
	}
	if v.Display != "" {
		out.Parameter = append(out.Parameter, stringParam("display", v.Display))
	}
	return out
}

// errNoCoding is the error of a validation given nothing to validate.
func errNoCoding() *fhir.Error {
	return fhir.Errorf(r4.IssueTypeRequired, "", "no code, coding or codeableConcept to validate")
}

// ValidateCode is CodeSystem $validate-code: whether one of the codings
// (one for code or coding, several for a codeableConcept) is a code of the
// code system with canonical url (version, if set, must be its version),
// with a valid display if it has one. A coding without a system is taken
// to be of that code system; one of another system is not valid. An
// unknown code system or version is a not-found error (404).
func (r *Registry) ValidateCode(url, version string, codings ...Coding) (Validation, error) {
	cs, err := r.codeSystemVersion(url, version)
	if err != nil {
		return Validation{}, err
	}
	if len(codings) == 0 {
		return Validation{}, errNoCoding()
	}
	var failed []Validation
	for _, c := range codings {
		if c.System != "" && c.System != cs.URL {
			failed = append(failed, Validation{Message: fmt.Sprintf("the coding's system %s is not code system %s", c.System, cs.URL)})
			continue
		}
		c.System = cs.URL
		v := checkConcept(cs, c, "")
		if v.Result {
			return v, nil
		}
		failed = append(failed, v)
	}
	return combine(failed), nil
}

// ValidateValueSetCode is ValueSet $validate-code: whether one of the
// codings is in the value set with canonical url (version, if set, must be
// its version), with a valid display if it has one. A coding needs a
// system. An unknown value set or version is a not-found error (404), one
// that cannot be expanded a processing error (422).
func (r *Registry) ValidateValueSetCode(url, version string, codings ...Coding) (Validation, error) {
	vs, err := r.valueSetVersion(url, version)
	if err != nil {
		return Validation{}, err
	}
	if len(codings) == 0 {
		return Validation{}, errNoCoding()
	}
	var failed []Validation
	for _, c := range codings {
		v := r.inValueSet(vs, c)
		if v.Result {
			return v, nil
		}
		failed = append(failed, v)
	}
	return combine(failed), nil
}

// inValueSet checks one coding against an expanded value set.
func (r *Registry) inValueSet(vs *ValueSet, c Coding) Validation {
	if c.System == "" {
		return Validation{Message: fmt.Sprintf("code %q has no system", c.Code)}
	}
	cs := r.codeSystems[c.System]
	i, in := vs.index[r.memberKey(c.System, c.Code)]
	if !in {
		switch {
		case cs == nil:
			return Validation{Message: fmt.Sprintf("code %q of code system %s is not in value set %s (the code system is not known to this server)", c.Code, c.System, vs.URL)}
		case !known(cs, c.Code):
			return checkConcept(cs, c, vs.URL) // says the code is unknown
		}
		concept, _ := cs.Concept(c.Code)
		return Validation{Display: concept.Display,
			Message: fmt.Sprintf("code %q of code system %s is not in value set %s", c.Code, c.System, vs.URL)}
	}
	ct := vs.contains[i]
	if cs != nil && c.Version != "" && c.Version != cs.Version {
		return checkConcept(cs, c, vs.URL) // says the version is unknown
	}
	if c.Version != "" && ct.Version != "" && c.Version != ct.Version {
		return Validation{Display: ct.Display, Message: fmt.Sprintf("value set %s includes code %q of version %q of code system %s, not version %q", vs.URL, c.Code, ct.Version, c.System, c.Version)}
	}
	// Valid displays: the value set's own (include.concept.display and
	// designations) and, for a held code system, the concept's.
	if c.Display != "" && !sameText(c.Display, ct.Display) && !designated(ct.Designations, c.Display) &&
		(ct.concept == nil || !ct.concept.ValidDisplay(c.Display)) {
		return Validation{Display: ct.Display, Message: wrongDisplay(c, ct.Display)}
	}
	v := Validation{Result: true, Display: ct.Display}
	if ct.Inactive {
		v.Message = fmt.Sprintf("code %q of code system %s is inactive", ct.Code, ct.System)
	}
	return v
}

// known reports whether code is a code of cs.
func known(cs *CodeSystem, code string) bool {
	_, ok := cs.Concept(code)
	return ok
}

// designated reports whether display is one of the (non-definition)
// designations.
func designated(ds []Designation, display string) bool {
	for _, d := range ds {
		if !d.IsDefinition() && sameText(d.Value, display) {
			return true
		}
	}
	return false
}

// checkConcept checks coding c against code system cs: its version, its
// code and its display. valueSet, if set, is the value set being checked,
// for messages.
func checkConcept(cs *CodeSystem, c Coding, valueSet string) Validation {
	if c.Version != "" && c.Version != cs.Version {
		return Validation{Message: fmt.Sprintf("version %q of code system %s is not known to this server (it has version %q)", c.Version, cs.URL, cs.Version)}
	}
	concept, ok := cs.Concept(c.Code)
	if !ok {
		msg := fmt.Sprintf("unknown code %q in code system %s (version %s)", c.Code, cs.URL, cs.Version)
		if cs.Content != "complete" {
			msg = fmt.Sprintf("code %q is not in the %s content of code system %s held by this server, so it cannot be validated", c.Code, cs.Content, cs.URL)
		}
		if valueSet != "" {
			msg += "; it is not in value set " + valueSet
		}
		return Validation{Message: msg}
	}
	v := Validation{Result: true, Display: concept.Display}
	if c.Display != "" && !concept.ValidDisplay(c.Display) {
		return Validation{Display: concept.Display, Message: wrongDisplay(c, concept.Display)}
	}
	if concept.Inactive() {
		v.Message = fmt.Sprintf("code %q of code system %s is inactive", concept.Code, cs.URL)
	}
	return v
}

// wrongDisplay is the message for a display that is not valid for c.
func wrongDisplay(c Coding, display string) string {
	return fmt.Sprintf("display %q is not a valid display for code %q of code system %s; the display is %q", c.Display, c.Code, c.System, display)
}

// combine is the result of a validation none of whose codings was valid.
func combine(failed []Validation) Validation {
	var out Validation
	var msgs []string
	for _, v := range failed {
		msgs = append(msgs, v.Message)
		if out.Display == "" {
			out.Display = v.Display
		}
	}
	out.Message = strings.Join(msgs, "; ")
	return out
}
