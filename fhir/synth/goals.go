package synth

import (
	"time"
)

// goalState is a Goal as its versions are generated.
type goalState struct {
	id          string
	spec        goalSpec
	mat         bool // the MAT medication goal: no benzodiazepine category
	text        string
	start, due  time.Time // days
	lifecycle   string
	achievement string
	// finding is the goal-review-finding of the review that made the
	// current version, "" if it was not a review.
	finding      string
	statusDate   time.Time
	statusReason string
	next         time.Time // next-review-date, zero if none
	acceptance   string    // the Patient's goal-acceptance status, "" for none
	replacedBy   string    // the Goal that replaces this one
	steps        []string  // review findings still to come
	done         bool      // no more reviews: ended, rejected, or reviews stopped
}

// acceptanceOf is the goal-acceptance status a participation case
// starts with.
func acceptanceOf(participation string) string {
	switch participation {
	case partPatient, partAgreed:
		return "agree"
	case partPending, partDisagree:
		return "pending"
	}
	return ""
}

// matStandardOf is the MAT standard a benzodiazepine goal serves.
var matStandardOf = map[string]string{
	"immediate-harm-reduction":          "MAT4",
	"psychosocial-intervention":         "MAT6",
	"supported-self-reduction":          "MAT5",
	"medication-assisted-detox":         "MAT2",
	"medication-assisted-stabilisation": "MAT2",
	"motivational-enhancement":          "MAT6",
}

var achievementDisplay = map[string]string{
	"in-progress": "In Progress", "improving": "Improving", "worsening": "Worsening", "no-change": "No Change",
	"achieved": "Achieved", "sustaining": "Sustaining", "not-achieved": "Not Achieved", "no-progress": "No Progress",
	"not-attainable": "Not Attainable",
}

// goalBody is the Goal as gs stands.
func (g *gen) goalBody(p *person, gs *goalState) obj {
	var exts []obj
	if !gs.next.IsZero() {
		exts = append(exts, o("url", g.t.ext("next-review-date"), "valueDate", gs.next.Format("2006-01-02")))
	}
	if gs.finding != "" {
		exts = append(exts, o("url", g.t.ext("goal-review-finding"), "valueCoding", g.t.coding("goal-review-finding", gs.finding)))
	}
	if gs.acceptance != "" {
		exts = append(exts, o("url", goalAcceptanceURL, "extension", []obj{
			o("url", "individual", "valueReference", ref("Patient", p.id)),
			o("url", "status", "valueCode", gs.acceptance)}))
	}
	if gs.replacedBy != "" {
		exts = append(exts, o("url", goalRelationshipURL, "extension", []obj{
			o("url", "type", "valueCodeableConcept", o("coding", []obj{o(
				"system", "http://terminology.hl7.org/CodeSystem/goal-relationship-type", "code", "replacement", "display", "Replacement")})),
			o("url", "target", "valueReference", ref("Goal", gs.replacedBy))}))
	}
	var category []obj
	profile := ""
	if gs.mat {
		category = []obj{g.t.concept("mat-standard", "MAT2")}
	} else {
		profile = profBenzoGoal
		category = []obj{
			g.t.concept("benzo-goal-category", gs.spec.category),
			g.t.concept("treatment-orientation", gs.spec.orientation),
			g.t.concept("mat-standard", matStandardOf[gs.spec.category]),
		}
	}
	var achievement obj
	if gs.achievement != "" {
		achievement = o("coding", []obj{o("system", goalAchievement, "code", gs.achievement, "display", achievementDisplay[gs.achievement])})
	}
	target := o("dueDate", gs.due.Format("2006-01-02"))
	switch {
	case gs.spec.category == "supported-self-reduction":
		target = o("measure", o("text", "Days of street benzodiazepine use a week"),
			"detailQuantity", o("value", 2, "comparator", "<=", "unit", "days per week", "system", ucum, "code", "d/wk")).append(target...)
	case gs.mat:
		target = o("measure", o("text", "Days without illicit opioid use a week")).append(target...)
	}
	var expressedBy obj
	switch gs.spec.participation {
	case partPatient, partPatientOnly:
		expressedBy = ref("Patient", p.id)
	case partNone:
	default:
		expressedBy = ref("Practitioner", p.keyworker)
	}
	var statusDate string
	if !gs.statusDate.IsZero() {
		statusDate = gs.statusDate.Format("2006-01-02")
	}
	return o("resourceType", "Goal", "id", gs.id, "meta", g.meta(profile),
		"extension", exts,
		"lifecycleStatus", gs.lifecycle,
		"achievementStatus", achievement,
		"category", category,
		"description", o("text", gs.text),
		"subject", ref("Patient", p.id),
		"startDate", gs.start.Format("2006-01-02"),
		"target", []obj{target},
		"statusDate", statusDate,
		"statusReason", gs.statusReason,
		"expressedBy", expressedBy)
}

// closeGoal writes the version of a goal still open when its episode
// ends: completed at a planned completion, cancelled otherwise. It is a
// change of status, not a review: no finding, no next review.
func (g *gen) closeGoal(e *episode, gs *goalState) {
	switch gs.lifecycle {
	case "completed", "cancelled", "rejected", "entered-in-error":
		return
	}
	gs.lifecycle = "cancelled"
	if e.sc.end == "planned-completion" {
		gs.lifecycle = "completed"
	}
	gs.finding, gs.next, gs.done = "", time.Time{}, true
	gs.statusDate = civilDay(e.end)
	gs.statusReason = "Episode ended: " + g.t.displays["episode-end-reason"][e.sc.end]
	g.write(e.end.Add(time.Minute), "Goal", gs.id, g.goalBody(e.p, gs))
}

// review applies one review finding to gs on day, agreeing the next
// review on next (dropped when the goal ends).
func (g *gen) review(gs *goalState, finding string, day, next time.Time) {
	r := g.r
	prev := gs.achievement
	gs.finding, gs.statusDate, gs.next = finding, day, next
	if gs.lifecycle == "accepted" || gs.lifecycle == "on-hold" {
		gs.lifecycle = "active"
	}
	switch finding {
	case "progressing":
		gs.achievement = "improving"
		if (prev == "improving" || prev == "sustaining") && chance(r, 50) {
			gs.achievement = "sustaining"
		}
		gs.statusReason = pick(r, reasonProgressing)
	case "lapse":
		gs.achievement, gs.statusReason = "worsening", pick(r, reasonLapse)
	case "relapse":
		gs.achievement, gs.statusReason = pick(r, []string{"worsening", "no-progress"}), pick(r, reasonRelapse)
	case "presented-intoxicated":
		gs.achievement, gs.statusReason = "worsening", pick(r, reasonIntoxicated)
	case "non-fatal-overdose":
		gs.achievement, gs.statusReason = "worsening", pick(r, reasonOverdose)
	case "concern-raised":
		gs.achievement, gs.statusReason = "no-change", pick(r, reasonConcern)
	case "goal-met":
		gs.lifecycle, gs.achievement, gs.statusReason = "completed", "achieved", pick(r, reasonMet)
		gs.next, gs.done = time.Time{}, true
	case "goal-no-longer-relevant":
		gs.lifecycle, gs.achievement, gs.statusReason = "cancelled", "not-achieved", pick(r, reasonNotRelevant)
		gs.next, gs.done = time.Time{}, true
	}
}
