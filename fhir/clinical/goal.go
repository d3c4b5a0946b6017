package clinical

import (
	"strconv"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// goalRules are the rules every matcare Goal shares (prefix "matcare"):
//
//   - subject references a Patient: warning;
//   - expressedBy is present: warning (DOMAIN.md §2.3: few professionals
//     mention patient participation, seed 001);
//   - extensions next-review-date (valueDate), goal-review-finding
//     (valueCoding from goal-review-finding), each at most once, and the
//     R4 goal-acceptance (individual, status agree | disagree | pending,
//     priority): error if malformed;
//   - target.dueDate is the target date, not the review date: information
//     when it equals next-review-date.
func goalRules(c *checker, g *goal) {
	c.prefix = "matcare"
	if t := g.Subject.targetType(); t != "" && t != "Patient" {
		c.warnf(r4.IssueTypeBusinessRule, "Goal.subject", "a matcare Goal is one person's: subject should reference a Patient, not a %s", t)
	}
	if g.ExpressedBy == nil {
		c.warnf(r4.IssueTypeRequired, "Goal.expressedBy", "record who expressed the goal (expressedBy): the person's participation is what goal-patient-participation counts")
	}
	checkExtensions(c, g.Extension, "Goal", ExtNextReviewDate, ExtGoalReviewFinding, goalAcceptanceURL)
	if review := extString(c.base, g.Extension, ExtNextReviewDate, "Date"); review != "" {
		for i, t := range g.Target {
			if t.DueDate == review {
				c.infof(r4.IssueTypeInformational, "Goal.target["+strconv.Itoa(i)+"].dueDate", "target.dueDate equals next-review-date: dueDate is when the target should be met, next-review-date when the goal is reviewed")
			}
		}
	}
}

// benzoGoalRules are matcare-benzo-goal's:
//
//   - at most one benzo-goal-category: warning;
//   - exactly one treatment-orientation (harm-reduction, abstinence,
//     undecided): warning (record the person's orientation rather than
//     infer it, seed 001);
//   - an accepted, active or on-hold goal has next-review-date: warning
//     ("a further review date agreed", seed 004).
func benzoGoalRules(c *checker, g *goal) {
	c.prefix = ProfileBenzoGoal
	codes, at := codesIn(g.Category, CodeSystemURL(c.base, CSBenzoGoalCategory))
	if len(codes) > 1 {
		c.warnf(r4.IssueTypeBusinessRule, "Goal.category["+strconv.Itoa(at[1])+"]", "a benzo goal is one of the shared goals: at most one benzo-goal-category, not %d", len(codes))
	}
	orient, oat := codesIn(g.Category, CodeSystemURL(c.base, CSTreatmentOrientation))
	switch {
	case len(orient) == 0:
		c.warnf(r4.IssueTypeRequired, "Goal.category", "record the person's treatment orientation (a category from %s: harm-reduction, abstinence or undecided)", CodeSystemURL(c.base, CSTreatmentOrientation))
	case len(orient) > 1:
		c.warnf(r4.IssueTypeBusinessRule, "Goal.category["+strconv.Itoa(oat[1])+"]", "a benzo goal has one treatment orientation, not %d", len(orient))
	}
	switch g.LifecycleStatus {
	case "accepted", "active", "on-hold":
		if extString(c.base, g.Extension, ExtNextReviewDate, "Date") == "" {
			c.warnf(r4.IssueTypeRequired, "Goal.extension", "an %s benzo goal has a review date agreed with the person (extension %s)", g.LifecycleStatus, ExtensionURL(c.base, ExtNextReviewDate))
		}
	}
}
