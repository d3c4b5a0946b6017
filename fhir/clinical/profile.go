package clinical

import (
	"strconv"
	"strings"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/matcare/matcare/fhir"
)

// profileTypes lists matcare's profiles with the type each constrains.
var profileTypes = []struct{ id, typ string }{
	{ProfilePatient, "Patient"},
	{ProfileCarePlan, "CarePlan"},
	{ProfileBenzoCarePlan, "CarePlan"},
	{ProfileBenzoGoal, "Goal"},
}

// ProfileURLs returns the canonical urls of matcare's profiles under base,
// in a fixed order.
func ProfileURLs(base string) []string {
	out := make([]string, len(profileTypes))
	for i, p := range profileTypes {
		out[i] = ProfileURL(base, p.id)
	}
	return out
}

// ProfilesOf returns the canonical urls of matcare's profiles of typ
// under base (none for a type matcare does not profile).
func ProfilesOf(base, typ string) []string {
	var out []string
	for _, p := range profileTypes {
		if p.typ == typ {
			out = append(out, ProfileURL(base, p.id))
		}
	}
	return out
}

// profileOf returns the id and type of the matcare profile url names (a
// trailing |version is ignored).
func profileOf(base, url string) (id, typ string, ok bool) {
	url, _, _ = strings.Cut(url, "|")
	id, ok = strings.CutPrefix(url, trim(base)+"/StructureDefinition/")
	if !ok {
		return "", "", false
	}
	for _, p := range profileTypes {
		if p.id == id {
			return id, p.typ, true
		}
	}
	return id, "", false
}

// claims returns the matcare profiles of typ that meta.profile names and
// reports, as warnings or information, claims of matcare profiles that do
// not fit typ or do not exist.
func claims(c *checker, base, typ string, m meta) map[string]bool {
	out := map[string]bool{}
	for i, url := range m.Profile {
		id, ptyp, ok := profileOf(base, url)
		expr := typ + ".meta.profile[" + strconv.Itoa(i) + "]"
		switch {
		case ok && ptyp == typ:
			out[id] = true
		case ok:
			c.warnf(r4.IssueTypeInvalid, expr, "profile %s constrains %s, not %s; it is not checked", id, ptyp, typ)
		case id != "":
			c.infof(r4.IssueTypeNotSupported, expr, "%s is not a profile this server knows; it is not checked", url)
		}
	}
	return out
}

// hasMatcareCategory reports whether a category has a coding in one of
// matcare's CodeSystems.
func hasMatcareCategory(base string, cats []codeableConcept) bool {
	for _, cc := range cats {
		for _, cd := range cc.Coding {
			if inBase(base, cd.System) {
				return true
			}
		}
	}
	return false
}

// hasCategory reports whether a category has the coding system|code.
func hasCategory(cats []codeableConcept, system, code string) bool {
	for i := range cats {
		if cats[i].has(system, code) {
			return true
		}
	}
	return false
}

// Check holds a Patient, CarePlan or Goal (doc, its JSON) to the matcare
// profiles that apply to it, and returns the issues found, nil if none.
// Other types get nil.
//
// A profile applies when meta.profile names it (base/StructureDefinition/
// <id>, a |version ignored) or when the resource carries what the profile
// is about:
//
//   - matcare-patient: a Patient with an identifier in CHISystem;
//   - matcare-careplan: a CarePlan with category careplan-category
//     mat-episode (a MAT episode);
//   - matcare-benzo-careplan: a CarePlan with category benzo-care-plan;
//   - matcare-benzo-goal: a Goal with a benzo-goal-category category.
//
// A CarePlan or Goal with any category coding in a matcare CodeSystem
// (system under base) is held to the rules every matcare CarePlan or Goal
// shares (extension shapes, subject, activities; see doc.go) even when no
// profile applies. Resources without any of this (the official R4
// examples, say) get no issues at all. The prescribing checks (BZ-01 to
// BZ-12) are not part of Check: they need context, see Prescribing.
func Check(base, typ string, doc []byte) []fhir.Issue {
	c := &checker{base: base}
	switch typ {
	case "Patient":
		var p patient
		if is := decode(typ, doc, &p); is != nil {
			return is
		}
		claimed := claims(c, base, typ, p.Meta)
		if claimed[ProfilePatient] || hasCHI(&p) {
			patientRules(c, &p, claimed[ProfilePatient])
		}
	case "CarePlan":
		var cp carePlan
		if is := decode(typ, doc, &cp); is != nil {
			return is
		}
		claimed := claims(c, base, typ, cp.Meta)
		system := CodeSystemURL(base, CSCarePlanCategory)
		episode := claimed[ProfileCarePlan] || hasCategory(cp.Category, system, catMATEpisode)
		benzo := claimed[ProfileBenzoCarePlan] || hasCategory(cp.Category, system, catBenzoPlan)
		if episode || benzo || hasMatcareCategory(base, cp.Category) {
			carePlanRules(c, &cp)
		}
		if episode {
			episodeRules(c, &cp, claimed[ProfileCarePlan])
		}
		if benzo {
			benzoCarePlanRules(c, &cp, claimed[ProfileBenzoCarePlan])
		}
	case "Goal":
		var g goal
		if is := decode(typ, doc, &g); is != nil {
			return is
		}
		claimed := claims(c, base, typ, g.Meta)
		codes, _ := codesIn(g.Category, CodeSystemURL(base, CSBenzoGoalCategory))
		benzo := claimed[ProfileBenzoGoal] || len(codes) > 0
		if benzo || hasMatcareCategory(base, g.Category) {
			goalRules(c, &g)
		}
		if benzo {
			benzoGoalRules(c, &g)
		}
	}
	return c.issues
}

// CheckProfile holds doc, a resource of type typ, to the one profile
// profileURL names, whether or not the resource claims it or carries its
// category: what $validate does with its profile parameter. The rules
// shared by every matcare resource of typ are included. An url that is
// not a matcare profile under base (a |version is ignored), or a profile
// of another type, is one error issue (not-supported, invalid).
func CheckProfile(base, profileURL, typ string, doc []byte) []fhir.Issue {
	id, ptyp, ok := profileOf(base, profileURL)
	switch {
	case !ok:
		return []fhir.Issue{{Severity: r4.IssueSeverityError, Code: r4.IssueTypeNotSupported,
			Diagnostics: profileURL + " is not a profile this server knows"}}
	case ptyp != typ:
		return []fhir.Issue{{Severity: r4.IssueSeverityError, Code: r4.IssueTypeInvalid,
			Diagnostics: "profile " + id + " constrains " + ptyp + ", not " + typ, Expression: []string{typ}}}
	}
	c := &checker{base: base}
	switch id {
	case ProfilePatient:
		var p patient
		if is := decode(typ, doc, &p); is != nil {
			return is
		}
		patientRules(c, &p, true)
	case ProfileCarePlan, ProfileBenzoCarePlan:
		var cp carePlan
		if is := decode(typ, doc, &cp); is != nil {
			return is
		}
		carePlanRules(c, &cp)
		if id == ProfileCarePlan {
			episodeRules(c, &cp, true)
		} else {
			benzoCarePlanRules(c, &cp, true)
		}
	case ProfileBenzoGoal:
		var g goal
		if is := decode(typ, doc, &g); is != nil {
			return is
		}
		goalRules(c, &g)
		benzoGoalRules(c, &g)
	}
	return c.issues
}
