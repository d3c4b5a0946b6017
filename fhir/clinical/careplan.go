package clinical

import (
	"strconv"
	"strings"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// carePlanRules are the rules every matcare CarePlan shares (prefix
// "matcare"):
//
//   - subject references a Patient: warning;
//   - matcare extensions: referral-date (valueDateTime), care-setting
//     (valueCode), episode-end-reason (valueCoding from its CodeSystem),
//     outreach-contact-consent (consent valueBoolean, contact
//     valueReference(RelatedPerson)) on the CarePlan, next-review-date
//     (valueDate) on activity.detail; each at most once: error if
//     malformed;
//   - activities (activity.detail.code in matcare-activity):
//     ost-prescription and benzo-prescription have kind MedicationRequest
//     (warning) and, once started, scheduledPeriod.start, the prescription
//     start MAT1 measures (warning); a current ost-prescription has a
//     dailyAmount in mg, which mat2-dose-in-range reads (warning); a
//     benzo-prescription names its product (warning); a goal-review not
//     yet done has a scheduled date (warning); a high-risk-event has a
//     reasonCode (warning).
func carePlanRules(c *checker, cp *carePlan) {
	c.prefix = "matcare"
	if t := cp.Subject.targetType(); t != "" && t != "Patient" {
		c.warnf(r4.IssueTypeBusinessRule, "CarePlan.subject", "a matcare CarePlan is one person's: subject should reference a Patient, not a %s", t)
	}
	checkExtensions(c, cp.Extension, "CarePlan", ExtReferralDate, ExtCareSetting, ExtEpisodeEndReason, ExtOutreachContactConsent)
	activitySystem := CodeSystemURL(c.base, CSMatcareActivity)
	for i, a := range cp.Activity {
		d := a.Detail
		if d == nil {
			continue
		}
		at := "CarePlan.activity[" + strconv.Itoa(i) + "].detail"
		checkExtensions(c, d.Extension, at, ExtNextReviewDate)
		code := d.Code.code(activitySystem)
		switch code {
		case actOSTPrescription, actBenzoRx:
			if d.Kind != "MedicationRequest" {
				c.warnf(r4.IssueTypeBusinessRule, at+".kind", "a %s activity has kind MedicationRequest", code)
			}
			switch d.Status {
			case "scheduled", "in-progress", "on-hold", "completed", "stopped":
				if d.ScheduledPeriod == nil || d.ScheduledPeriod.Start == "" {
					c.warnf(r4.IssueTypeRequired, at+".scheduledPeriod.start", "a %s that has started needs scheduledPeriod.start: the prescription start MAT1 measures", code)
				}
			}
			if code == actOSTPrescription && current(d.Status) && !depot(d.ProductCodeableConcept) {
				if _, ok := milligrams(d.DailyAmount); !ok {
					c.warnf(r4.IssueTypeRequired, at+".dailyAmount", "record an ost-prescription's dailyAmount in mg (UCUM): mat2-dose-in-range reads it")
				}
			}
			if code == actBenzoRx && d.ProductCodeableConcept == nil && d.ProductReference == nil {
				c.warnf(r4.IssueTypeRequired, at+".productCodeableConcept", "a benzo-prescription names its product (productCodeableConcept)")
			}
		case actGoalReview:
			if (d.Status == "not-started" || d.Status == "scheduled") && !d.scheduled() {
				c.warnf(r4.IssueTypeRequired, at+".scheduledPeriod", "a goal-review to come needs its date (scheduledPeriod.start): the review agreed with the person")
			}
		case actHighRiskEvent:
			if len(d.ReasonCode) == 0 {
				c.warnf(r4.IssueTypeRequired, at+".reasonCode", "a high-risk-event names the event in reasonCode (non-fatal-overdose, prison-release, detox-discharge, unplanned-discharge): MAT3 measures count by it")
			}
		}
	}
}

// episodeRules are matcare-careplan's (a MAT episode):
//
//   - a CarePlan claiming the profile has category mat-episode: warning
//     (without it no measure counts the episode);
//   - period.start, the first contact of the episode, is present
//     (warning) and has a time (information: MAT1 needs date and time);
//   - period.end and the episode-end-reason extension come together:
//     warning for either alone; a completed or revoked episode without
//     period.end: information;
//   - care-setting present: information (the setting stratifier).
func episodeRules(c *checker, cp *carePlan, claimed bool) {
	c.prefix = ProfileCarePlan
	if claimed && !hasCategory(cp.Category, CodeSystemURL(c.base, CSCarePlanCategory), catMATEpisode) {
		c.warnf(r4.IssueTypeRequired, "CarePlan.category", "a MAT episode has category %s|%s: without it no measure counts the episode", CodeSystemURL(c.base, CSCarePlanCategory), catMATEpisode)
	}
	var start, end string
	if cp.Period != nil {
		start, end = cp.Period.Start, cp.Period.End
	}
	switch {
	case start == "":
		c.warnf(r4.IssueTypeRequired, "CarePlan.period.start", "a MAT episode needs period.start, the date and time of first contact: MAT1 and MAT5 measures do not count an episode without it")
	case !strings.Contains(start, "T"):
		c.infof(r4.IssueTypeInformational, "CarePlan.period.start", "period.start has no time: MAT1 counts time from first contact in working days and hours")
	}
	reason := len(find(cp.Extension, ExtensionURL(c.base, ExtEpisodeEndReason))) > 0
	switch {
	case end != "" && !reason:
		c.warnf(r4.IssueTypeRequired, "CarePlan.extension", "an ended episode (period.end) needs the episode-end-reason extension: MAT5 measures read it")
	case end == "" && reason:
		c.warnf(r4.IssueTypeRequired, "CarePlan.period.end", "an episode-end-reason needs period.end, the date the episode ended")
	case end == "" && (cp.Status == "completed" || cp.Status == "revoked"):
		c.infof(r4.IssueTypeInformational, "CarePlan.period.end", "a %s episode: record period.end and episode-end-reason so MAT5 measures see that it ended", cp.Status)
	}
	if len(find(cp.Extension, ExtensionURL(c.base, ExtCareSetting))) == 0 {
		c.infof(r4.IssueTypeInformational, "CarePlan.extension", "no care-setting extension: measures stratify by setting (community, prison, hospital, outreach)")
	}
}

// benzoCarePlanRules are matcare-benzo-careplan's:
//
//   - a CarePlan claiming the profile has category benzo-care-plan:
//     warning;
//   - it links at least one Goal (CarePlan.goal or activity.detail.goal):
//     warning ("shared goals", seed 004);
//   - created or period.start is set: information (mat1b compares the
//     plan's day with first contact).
func benzoCarePlanRules(c *checker, cp *carePlan, claimed bool) {
	c.prefix = ProfileBenzoCarePlan
	if claimed && !hasCategory(cp.Category, CodeSystemURL(c.base, CSCarePlanCategory), catBenzoPlan) {
		c.warnf(r4.IssueTypeRequired, "CarePlan.category", "a benzodiazepine care plan has category %s|%s", CodeSystemURL(c.base, CSCarePlanCategory), catBenzoPlan)
	}
	goals := len(cp.Goal)
	for _, a := range cp.Activity {
		if a.Detail != nil {
			goals += len(a.Detail.Goal)
		}
	}
	if goals == 0 {
		c.warnf(r4.IssueTypeBusinessRule, "CarePlan.goal", "a benzodiazepine care plan is built on goals shared with the person: link at least one Goal")
	}
	if cp.Created == "" && (cp.Period == nil || cp.Period.Start == "") {
		c.infof(r4.IssueTypeInformational, "CarePlan.created", "set created (or period.start): the same-day benzodiazepine care plan measure compares it with first contact")
	}
}

// current reports whether an activity status is one a plan still acts on.
func current(status string) bool {
	switch status {
	case "completed", "cancelled", "stopped", "entered-in-error":
		return false
	}
	return true
}

// massUnits are the UCUM mass units, in mg.
var massUnits = map[string]float64{"kg": 1e6, "g": 1000, "mg": 1, "ug": 1e-3, "ng": 1e-6}

// milligrams returns a quantity in mg if it has a value and a UCUM mass
// unit.
func milligrams(q *quantity) (float64, bool) {
	if q == nil || q.Value == nil || q.System != ucum {
		return 0, false
	}
	f, ok := massUnits[q.Code]
	return *q.Value * f, ok
}

// depot reports whether an OST product is a long-acting injection
// (depot buprenorphine, such as Buvidal or Sublocade), given weekly or
// monthly: it has no daily amount, and mat2-dose-in-range does not read
// it (DOMAIN.md §1.4: methadone and sublingual buprenorphine only).
func depot(product *codeableConcept) bool {
	if product == nil {
		return false
	}
	texts := []string{product.Text}
	for _, c := range product.Coding {
		texts = append(texts, c.Display)
	}
	for _, t := range texts {
		t = strings.ToLower(t)
		for _, w := range []string{"depot", "prolonged-release injection", "prolonged release injection", "buvidal", "sublocade"} {
			if strings.Contains(t, w) {
				return true
			}
		}
	}
	return false
}
