package clinical

import (
	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/matcare/matcare/fhir"
)

// Event is a change of a Goal that subscribers may be told about
// (DOMAIN.md §4.4); its topic is base + "/SubscriptionTopic/" + the event.
type Event string

const (
	// EventGoalReviewed: lifecycleStatus, achievementStatus, statusDate
	// or next-review-date changed.
	EventGoalReviewed Event = "goal-reviewed"
	// EventRelapseRecorded: a review recorded the finding relapse.
	EventRelapseRecorded Event = "relapse-recorded"
)

// TopicURL is the canonical url of the SubscriptionTopic of e under base.
func TopicURL(base string, e Event) string { return trim(base) + "/SubscriptionTopic/" + string(e) }

// Review is what GoalReview learnt about a new Goal version.
type Review struct {
	// Reviewed is set when the version records a review: it has a
	// goal-review-finding, and its finding or its statusDate differs from
	// the previous version's.
	Reviewed bool
	// Finding is the code of the review's goal-review-finding, "" if the
	// version is not a review.
	Finding string
	// Events are the events to publish for the version, in a fixed
	// order; nil if none.
	Events []Event
}

// transitions is the table of Goal lifecycleStatus changes that are not
// simply allowed, first match wins; an empty from or to matches any
// status. Every change not listed is allowed.
var transitions = []struct {
	from, to []string
	severity r4.IssueSeverity
	why      string
}{
	{[]string{"entered-in-error"}, nil, r4.IssueSeverityError,
		"a Goal entered in error stays entered-in-error: record the goal again as a new Goal"},
	{[]string{"completed", "cancelled", "rejected"}, []string{"proposed", "planned"}, r4.IssueSeverityError,
		"a goal that ended or was refused does not become a proposal again: propose a new Goal (goal-relationship links the two)"},
	{[]string{"accepted", "active", "on-hold", "completed", "cancelled"}, []string{"rejected"}, r4.IssueSeverityWarning,
		"rejected is for a proposed goal that was never accepted; a goal given up after it was accepted is cancelled"},
	{[]string{"rejected"}, []string{"completed"}, r4.IssueSeverityWarning,
		"a rejected goal was never pursued, so it cannot have been completed: was it accepted first?"},
}

// LifecycleTransition judges a Goal's lifecycleStatus changing from one
// R4 code to another. It returns nil for a sensible change (and for no
// change), else the issue to report. The table (transitions):
//
//	from                             to                 verdict
//	entered-in-error                 any other          error: entered-in-error is terminal
//	completed, cancelled, rejected   proposed, planned  error: not a proposal again; propose a new Goal
//	accepted, active, on-hold,       rejected           warning: rejected is for a proposal never
//	  completed, cancelled                                accepted; a goal given up is cancelled
//	rejected                         completed          warning: a rejected goal was never pursued
//	any other change                                    allowed
//
// Allowed, among others: reopening a completed or cancelled goal (to
// accepted, active or on-hold: people return to goals after a relapse),
// active <-> on-hold, anything -> entered-in-error.
func LifecycleTransition(from, to string) *fhir.Issue {
	if from == to || from == "" || to == "" {
		return nil
	}
	for _, t := range transitions {
		if (t.from == nil || oneOf(from, t.from...)) && (t.to == nil || oneOf(to, t.to...)) {
			return &fhir.Issue{Severity: t.severity, Code: r4.IssueTypeBusinessRule,
				Diagnostics: "goal review: lifecycleStatus " + from + " -> " + to + ": " + t.why,
				Expression:  []string{"Goal.lifecycleStatus"}}
		}
	}
	return nil
}

// GoalReview compares a new version of a Goal (next) with the version it
// replaces (prev; nil when the Goal is created) and returns what changed
// and the issues found. Storing every review as a new Goal version is how
// matcare keeps reviews (DOMAIN.md §2.3).
//
// A review records its finding in the Goal extension
// base/StructureDefinition/goal-review-finding (valueCoding from
// base/CodeSystem/goal-review-finding), the finding of the review that
// produced this version, with statusDate the day of that review and
// statusReason its words. A version is a review when it has a finding
// and its finding or its statusDate differs from the previous version's;
// a statusDate alone marks a status change, not a review. Rules:
//
//   - lifecycleStatus transitions: see LifecycleTransition (errors only
//     for the senseless ones);
//   - every review: statusDate set (warning) and not earlier than the
//     previous one (warning); a next-review-date later than the previous
//     one, unless the goal is finished (warning: "a further review date
//     agreed", seed 004);
//   - achievementStatus changed without a review: information (record
//     the finding);
//   - lapse (a temporary return to street use): the goal stays active —
//     warning if the review puts it on-hold, cancelled, completed or
//     rejected; achievementStatus worsening or in-progress expected
//     (warning otherwise);
//   - relapse (back to the previous pattern of use): achievementStatus
//     worsening or no-progress expected (warning otherwise); information
//     to revisit assessment, formulation and prescription; the
//     EventRelapseRecorded event;
//   - non-fatal-overdose: information to record a high-risk-event
//     activity too (MAT3 measures count those);
//   - goal-no-longer-relevant: lifecycleStatus cancelled expected
//     (warning), a goal-relationship to the replacing goal suggested
//     (information);
//   - goal-met: achievementStatus achieved or sustaining expected
//     (information).
//
// Shapes of the extensions are Check's business, not GoalReview's.
func GoalReview(base string, prev, next []byte) (Review, []fhir.Issue) {
	var p, n goal
	if prev != nil {
		if is := decode("Goal", prev, &p); is != nil {
			return Review{}, is
		}
	}
	if is := decode("Goal", next, &n); is != nil {
		return Review{}, is
	}
	c := &checker{base: base, prefix: "goal review"}
	if prev != nil {
		if is := LifecycleTransition(p.LifecycleStatus, n.LifecycleStatus); is != nil {
			c.issues = append(c.issues, *is)
		}
	}

	pf, _ := extCoding(base, p.Extension, ExtGoalReviewFinding)
	nf, hasFinding := extCoding(base, n.Extension, ExtGoalReviewFinding)
	var r Review
	if hasFinding && (prev == nil || pf.Code != nf.Code || p.StatusDate != n.StatusDate) {
		r.Reviewed, r.Finding = true, nf.Code
	}

	prevAchievement := p.AchievementStatus.code(goalAchievementSystem)
	achievement := n.AchievementStatus.code(goalAchievementSystem)
	nextReview := extString(base, n.Extension, ExtNextReviewDate, "Date")
	prevReview := extString(base, p.Extension, ExtNextReviewDate, "Date")
	if r.Reviewed {
		switch {
		case n.StatusDate == "":
			c.warnf(r4.IssueTypeRequired, "Goal.statusDate", "a review sets statusDate to the day of the review")
		case p.StatusDate != "" && dateBefore(n.StatusDate, p.StatusDate):
			c.warnf(r4.IssueTypeBusinessRule, "Goal.statusDate", "statusDate is earlier than the previous review's")
		}
		if !oneOf(n.LifecycleStatus, "completed", "cancelled", "rejected", "entered-in-error") {
			switch {
			case nextReview == "":
				c.warnf(r4.IssueTypeRequired, "Goal.extension", "a review agrees a further review date: set next-review-date")
			case prevReview != "" && !dateBefore(prevReview, nextReview):
				c.warnf(r4.IssueTypeBusinessRule, "Goal.extension", "a review agrees a further review date: next-review-date is not later than the previous one")
			}
		}
	} else if prev != nil && achievement != prevAchievement {
		c.infof(r4.IssueTypeInformational, "Goal.extension", "achievementStatus changed: record the review's finding in the goal-review-finding extension")
	}

	switch r.Finding {
	case FindingLapse:
		if oneOf(n.LifecycleStatus, "on-hold", "cancelled", "completed", "rejected") {
			c.warnf(r4.IssueTypeBusinessRule, "Goal.lifecycleStatus", "a lapse is a temporary return to street use and does not end the work on a goal: keep it active (it is %s)", n.LifecycleStatus)
		}
		if !oneOf(achievement, "worsening", "in-progress") {
			c.warnf(r4.IssueTypeBusinessRule, "Goal.achievementStatus", "a lapse records achievementStatus worsening (or in-progress)%s", was(achievement))
		}
	case FindingRelapse:
		if !oneOf(achievement, "worsening", "no-progress") {
			c.warnf(r4.IssueTypeBusinessRule, "Goal.achievementStatus", "a relapse records achievementStatus worsening or no-progress%s", was(achievement))
		}
		c.infof(r4.IssueTypeInformational, "Goal", "relapse recorded: revisit the assessment, the formulation and any benzodiazepine prescription (a bps-assessment activity)")
	case FindingNonFatalOverdose:
		c.infof(r4.IssueTypeInformational, "Goal", "non-fatal overdose recorded: record it as a high-risk-event activity (reasonCode non-fatal-overdose) on the care plan too, which starts the assertive outreach MAT3 measures count")
	case FindingGoalNoLongerRelevant:
		if n.LifecycleStatus != "cancelled" {
			c.warnf(r4.IssueTypeBusinessRule, "Goal.lifecycleStatus", "a goal no longer relevant is cancelled (it is %s)", n.LifecycleStatus)
		}
		if len(find(n.Extension, goalRelationshipURL)) == 0 {
			c.infof(r4.IssueTypeInformational, "Goal.extension", "if a new goal replaces this one, link it with the goal-relationship extension (type replacement)")
		}
	case FindingGoalMet:
		if !oneOf(achievement, "achieved", "sustaining") {
			c.infof(r4.IssueTypeInformational, "Goal.achievementStatus", "a goal met usually records achievementStatus achieved or sustaining%s", was(achievement))
		}
	}

	if prev == nil || r.Reviewed || p.LifecycleStatus != n.LifecycleStatus || p.StatusDate != n.StatusDate ||
		prevAchievement != achievement || prevReview != nextReview {
		r.Events = append(r.Events, EventGoalReviewed)
	}
	if r.Finding == FindingRelapse {
		r.Events = append(r.Events, EventRelapseRecorded)
	}
	return r, c.issues
}

// was describes an achievementStatus code for a diagnostic.
func was(code string) string {
	if code == "" {
		return "; it has none from " + goalAchievementSystem
	}
	return "; it is " + code
}

func oneOf(s string, list ...string) bool {
	for _, x := range list {
		if s == x {
			return true
		}
	}
	return false
}

// dateBefore reports whether R4 date a is before b, comparing the parts
// both have (so "2024-05" is not before "2024-05-20").
func dateBefore(a, b string) bool {
	n := min(len(a), len(b), 10)
	return a[:n] < b[:n]
}
