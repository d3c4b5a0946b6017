package clinical

import (
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// extensionValue is the value[x] each simple matcare extension takes;
// "" marks a complex extension (sub-extensions, no value).
var extensionValue = map[string]string{
	ExtNextReviewDate:         "Date",
	ExtReferralDate:           "DateTime",
	ExtCareSetting:            "Code",
	ExtEpisodeEndReason:       "Coding",
	ExtGoalReviewFinding:      "Coding",
	ExtOutreachContactConsent: "",
}

// extensionCodeSystem is the CodeSystem a Coding-valued extension's
// coding must be from.
var extensionCodeSystem = map[string]string{
	ExtEpisodeEndReason:  CSEpisodeEndReason,
	ExtGoalReviewFinding: CSGoalReviewFinding,
}

// goalAcceptanceValue is the value[x] of each goal-acceptance
// sub-extension (R4 extension-goal-acceptance).
var goalAcceptanceValue = map[string]string{"individual": "Reference", "status": "Code", "priority": "CodeableConcept"}

var fullDate = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// checkExtensions checks the extensions of one element (at path): each
// matcare extension must be one allowed there, at most once, with the
// value its definition gives; the HL7 goal-acceptance extension is checked
// where allowed lists it.
func checkExtensions(c *checker, exts []extension, path string, allowed ...string) {
	prefix := trim(c.base) + "/StructureDefinition/"
	count := map[string]int{}
	for i, e := range exts {
		at := path + ".extension[" + strconv.Itoa(i) + "]"
		if e.URL == goalAcceptanceURL && slices.Contains(allowed, e.URL) {
			checkGoalAcceptance(c, e, at)
			continue
		}
		id, ok := strings.CutPrefix(e.URL, prefix)
		if !ok {
			continue
		}
		want, known := extensionValue[id]
		switch {
		case !known:
			c.infof(r4.IssueTypeNotSupported, at, "%s is not an extension this server defines; it is not checked", e.URL)
			continue
		case !slices.Contains(allowed, id):
			c.warnf(r4.IssueTypeStructure, at, "extension %s is not defined on %s", id, path)
			continue
		}
		if count[id]++; count[id] == 2 {
			c.errorf(r4.IssueTypeInvariant, at, "extension %s may appear once on %s", id, path)
		}
		if want == "" {
			checkOutreachConsent(c, e, at)
			continue
		}
		if e.valueCount != 1 || e.ValueType != want || len(e.Extension) > 0 {
			c.errorf(r4.IssueTypeInvariant, at, "extension %s takes one value%s and no sub-extensions", id, want)
			continue
		}
		switch want {
		case "Date":
			if !fullDate.MatchString(e.str()) {
				c.warnf(r4.IssueTypeValue, at+".valueDate", "%s should be a whole day (YYYY-MM-DD)", id)
			}
		case "Code":
			if strings.TrimSpace(e.str()) == "" {
				c.errorf(r4.IssueTypeInvariant, at+".valueCode", "extension %s needs a code", id)
			}
		case "Coding":
			var cd coding
			_ = json.Unmarshal(e.Value, &cd)
			if cs := CodeSystemURL(c.base, extensionCodeSystem[id]); cd.System != cs || cd.Code == "" {
				c.errorf(r4.IssueTypeInvariant, at+".valueCoding", "extension %s takes a code from %s", id, cs)
			}
		}
	}
}

// checkOutreachConsent checks outreach-contact-consent: sub-extension
// consent (valueBoolean, exactly once) and contact (valueReference to a
// RelatedPerson, any number).
func checkOutreachConsent(c *checker, e extension, at string) {
	if e.valueCount > 0 {
		c.errorf(r4.IssueTypeInvariant, at, "extension %s has sub-extensions, not a value", ExtOutreachContactConsent)
	}
	consents := 0
	for j, s := range e.Extension {
		sat := at + ".extension[" + strconv.Itoa(j) + "]"
		switch s.URL {
		case "consent":
			consents++
			if s.valueCount != 1 || s.ValueType != "Boolean" {
				c.errorf(r4.IssueTypeInvariant, sat, "%s.consent takes one valueBoolean", ExtOutreachContactConsent)
			}
		case "contact":
			var r reference
			if s.valueCount != 1 || s.ValueType != "Reference" || json.Unmarshal(s.Value, &r) != nil {
				c.errorf(r4.IssueTypeInvariant, sat, "%s.contact takes one valueReference", ExtOutreachContactConsent)
			} else if t := r.targetType(); t != "" && t != "RelatedPerson" {
				c.warnf(r4.IssueTypeBusinessRule, sat+".valueReference", "%s.contact names the people the person agreed may be contacted: a RelatedPerson, not a %s", ExtOutreachContactConsent, t)
			}
		default:
			c.errorf(r4.IssueTypeInvariant, sat, "%s has no sub-extension %q (consent, contact)", ExtOutreachContactConsent, s.URL)
		}
	}
	if consents != 1 {
		c.errorf(r4.IssueTypeInvariant, at, "%s needs exactly one consent sub-extension (valueBoolean)", ExtOutreachContactConsent)
	}
}

// checkGoalAcceptance checks the R4 core extension goal-acceptance:
// individual (valueReference, 1..1), status (valueCode agree | disagree |
// pending, 0..1), priority (valueCodeableConcept, 0..1).
func checkGoalAcceptance(c *checker, e extension, at string) {
	if e.valueCount > 0 {
		c.errorf(r4.IssueTypeInvariant, at, "goal-acceptance has sub-extensions, not a value")
	}
	n := map[string]int{}
	for j, s := range e.Extension {
		sat := at + ".extension[" + strconv.Itoa(j) + "]"
		n[s.URL]++
		want := goalAcceptanceValue[s.URL]
		switch {
		case want == "":
			c.errorf(r4.IssueTypeInvariant, sat, "goal-acceptance has no sub-extension %q (individual, status, priority)", s.URL)
		case s.valueCount != 1 || s.ValueType != want:
			c.errorf(r4.IssueTypeInvariant, sat, "goal-acceptance.%s takes one value%s", s.URL, want)
		case n[s.URL] > 1:
			c.errorf(r4.IssueTypeInvariant, sat, "goal-acceptance.%s may appear once", s.URL)
		case s.URL == "status":
			switch s.str() {
			case "agree", "disagree", "pending":
			default:
				c.errorf(r4.IssueTypeInvariant, sat+".valueCode", "goal-acceptance.status is agree, disagree or pending")
			}
		}
	}
	if n["individual"] == 0 {
		c.errorf(r4.IssueTypeInvariant, at, "goal-acceptance needs individual: who accepted (or not) the goal")
	}
}

// extValue returns the value of the one extension url (an id under base)
// in exts, and whether there is exactly one with the type want.
func extValue(base string, exts []extension, id, want string) (json.RawMessage, bool) {
	found := find(exts, ExtensionURL(base, id))
	if len(found) != 1 || found[0].ValueType != want {
		return nil, false
	}
	return found[0].Value, true
}

// extString returns the string value (valueDate, valueCode...) of the
// extension id, "" if absent or not a string.
func extString(base string, exts []extension, id, want string) string {
	v, ok := extValue(base, exts, id, want)
	if !ok {
		return ""
	}
	var s string
	_ = json.Unmarshal(v, &s)
	return s
}

// extCoding returns the valueCoding of the extension id.
func extCoding(base string, exts []extension, id string) (coding, bool) {
	v, ok := extValue(base, exts, id, "Coding")
	if !ok {
		return coding{}, false
	}
	var cd coding
	return cd, json.Unmarshal(v, &cd) == nil
}
