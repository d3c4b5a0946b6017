package clinical

import (
	"slices"
	"strings"
	"testing"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

func TestLifecycleTransition(t *testing.T) {
	statuses := []string{"proposed", "planned", "accepted", "active", "on-hold", "completed", "cancelled", "entered-in-error", "rejected"}
	// verdict gives the expected severity of every change listed in the
	// documented table; every other change is allowed.
	verdict := map[[2]string]r4.IssueSeverity{}
	for _, to := range statuses {
		if to != "entered-in-error" {
			verdict[[2]string{"entered-in-error", to}] = r4.IssueSeverityError
		}
	}
	for _, from := range []string{"completed", "cancelled", "rejected"} {
		verdict[[2]string{from, "proposed"}] = r4.IssueSeverityError
		verdict[[2]string{from, "planned"}] = r4.IssueSeverityError
	}
	for _, from := range []string{"accepted", "active", "on-hold", "completed", "cancelled"} {
		verdict[[2]string{from, "rejected"}] = r4.IssueSeverityWarning
	}
	verdict[[2]string{"rejected", "completed"}] = r4.IssueSeverityWarning

	for _, from := range statuses {
		for _, to := range statuses {
			is := LifecycleTransition(from, to)
			sev, listed := verdict[[2]string{from, to}]
			switch {
			case !listed && is != nil:
				t.Errorf("%s -> %s: %s %s, want allowed", from, to, is.Severity.Code(), is.Diagnostics)
			case listed && (is == nil || is.Severity != sev):
				t.Errorf("%s -> %s: %v, want %s", from, to, is, sev.Code())
			case listed && (is.Code != r4.IssueTypeBusinessRule || !slices.Equal(is.Expression, []string{"Goal.lifecycleStatus"}) ||
				!strings.Contains(is.Diagnostics, from+" -> "+to)):
				t.Errorf("%s -> %s: %+v", from, to, is)
			}
		}
	}
	// Spot checks of the allowed, in words.
	for _, ft := range [][2]string{{"completed", "active"}, {"cancelled", "accepted"}, {"active", "on-hold"}, {"on-hold", "active"},
		{"active", "entered-in-error"}, {"proposed", "completed"}, {"rejected", "accepted"}, {"", "active"}} {
		if is := LifecycleTransition(ft[0], ft[1]); is != nil {
			t.Errorf("%s -> %s: %s", ft[0], ft[1], is.Diagnostics)
		}
	}
}

func TestGoalReview(t *testing.T) {
	const ext = `"` + base + `/StructureDefinition/`
	finding := func(code string) string {
		return `{"url":` + ext + `goal-review-finding","valueCoding":{"system":"` + base + `/CodeSystem/goal-review-finding","code":"` + code + `"}}`
	}
	achievement := func(code string) edit {
		return set("achievementStatus", `{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/goal-achievement","code":"`+code+`"}]}`)
	}
	reviewed := []Event{EventGoalReviewed}
	relapse := []Event{EventGoalReviewed, EventRelapseRecorded}
	// The previous version is Goal-g03a.json with prev edits; the next is
	// Goal-g03a-lapse.json (a lapse review of 2024-08-14, next review
	// 2024-09-11, worsening) with next edits.
	tests := []struct {
		name        string
		prev, next  []edit
		create      bool
		want        []string
		finding     string
		events      []Event
		notReviewed bool
	}{
		{name: "lapse", finding: FindingLapse, events: reviewed},
		{name: "lapse, achievement in-progress", next: []edit{achievement("in-progress")}, finding: FindingLapse, events: reviewed},
		{name: "lapse, goal cancelled", next: []edit{set("lifecycleStatus", `"cancelled"`)},
			want: []string{"warning Goal.lifecycleStatus"}, finding: FindingLapse, events: reviewed},
		{name: "lapse, goal on hold", next: []edit{set("lifecycleStatus", `"on-hold"`)},
			want: []string{"warning Goal.lifecycleStatus"}, finding: FindingLapse, events: reviewed},
		{name: "lapse, improving", next: []edit{achievement("improving")},
			want: []string{"warning Goal.achievementStatus"}, finding: FindingLapse, events: reviewed},
		{name: "lapse, no achievement", next: []edit{del("achievementStatus")},
			want: []string{"warning Goal.achievementStatus"}, finding: FindingLapse, events: reviewed},
		{name: "relapse", next: []edit{set("extension[1]", finding("relapse"))},
			want: []string{"information Goal"}, finding: FindingRelapse, events: relapse},
		{name: "relapse, no progress", next: []edit{set("extension[1]", finding("relapse")), achievement("no-progress")},
			want: []string{"information Goal"}, finding: FindingRelapse, events: relapse},
		{name: "relapse, sustaining", next: []edit{set("extension[1]", finding("relapse")), achievement("sustaining")},
			want: []string{"information Goal", "warning Goal.achievementStatus"}, finding: FindingRelapse, events: relapse},
		{name: "relapse on hold is allowed", next: []edit{set("extension[1]", finding("relapse")), set("lifecycleStatus", `"on-hold"`)},
			want: []string{"information Goal"}, finding: FindingRelapse, events: relapse},
		{name: "relapse again, a later review", prev: []edit{set("extension[1]", finding("relapse")), set("statusDate", `"2024-07-10"`)},
			next: []edit{set("extension[1]", finding("relapse"))},
			want: []string{"information Goal"}, finding: FindingRelapse, events: relapse},
		{name: "same finding, same statusDate: no review", prev: []edit{set("extension[1]", finding("relapse")), set("statusDate", `"2024-08-14"`),
			set("extension[0].valueDate", `"2024-09-11"`), achievement("worsening")},
			next: []edit{set("extension[1]", finding("relapse")), set("description.text", `"Fewer street benzos"`)}, notReviewed: true},
		{name: "review without next review date", next: []edit{del("extension[0]")},
			want: []string{"warning Goal.extension"}, finding: FindingLapse, events: reviewed},
		{name: "review keeps the previous review date", next: []edit{set("extension[0].valueDate", `"2024-07-10"`)},
			want: []string{"warning Goal.extension"}, finding: FindingLapse, events: reviewed},
		{name: "review date earlier than the previous", next: []edit{set("extension[0].valueDate", `"2024-07-01"`)},
			want: []string{"warning Goal.extension"}, finding: FindingLapse, events: reviewed},
		{name: "review without statusDate", next: []edit{del("statusDate")},
			want: []string{"warning Goal.statusDate"}, finding: FindingLapse, events: reviewed},
		{name: "statusDate before the previous", next: []edit{set("statusDate", `"2024-06-01"`)},
			want: []string{"warning Goal.statusDate"}, finding: FindingLapse, events: reviewed},
		{name: "non-fatal overdose", next: []edit{set("extension[1]", finding("non-fatal-overdose"))},
			want: []string{"information Goal"}, finding: FindingNonFatalOverdose, events: reviewed},
		{name: "progressing", next: []edit{set("extension[1]", finding("progressing")), achievement("improving")},
			finding: FindingProgressing, events: reviewed},
		{name: "goal no longer relevant, still active", next: []edit{set("extension[1]", finding("goal-no-longer-relevant"))},
			want: []string{"warning Goal.lifecycleStatus", "information Goal.extension"}, finding: FindingGoalNoLongerRelevant, events: reviewed},
		{name: "goal no longer relevant, replaced", next: []edit{set("extension[1]", finding("goal-no-longer-relevant")),
			set("lifecycleStatus", `"cancelled"`), del("extension[0]"),
			set("extension[2]", `{"url":"http://hl7.org/fhir/StructureDefinition/goal-relationship","extension":[{"url":"type","valueCodeableConcept":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/goal-relationship-type","code":"replacement"}]}},{"url":"target","valueReference":{"reference":"Goal/g03b"}}]}`)},
			finding: FindingGoalNoLongerRelevant, events: reviewed},
		{name: "goal met, completed", next: []edit{set("extension[1]", finding("goal-met")), achievement("achieved"), set("lifecycleStatus", `"completed"`), del("extension[0]")},
			finding: FindingGoalMet, events: reviewed},
		{name: "goal met, worsening", next: []edit{set("extension[1]", finding("goal-met"))},
			want: []string{"information Goal.achievementStatus"}, finding: FindingGoalMet, events: reviewed},
		{name: "no review: only the description", next: []edit{del("extension[1]"), set("statusDate", `"2024-06-12"`),
			set("extension[0].valueDate", `"2024-07-10"`), achievement("in-progress"), set("description.text", `"Fewer street benzos"`)},
			notReviewed: true},
		{name: "status change with statusDate is no review", next: []edit{del("extension[1]"), set("lifecycleStatus", `"on-hold"`),
			set("extension[0].valueDate", `"2024-07-10"`), achievement("in-progress")},
			events: reviewed, notReviewed: true},
		{name: "achievement changed without finding", next: []edit{del("extension[1]")},
			want: []string{"information Goal.extension"}, events: reviewed, notReviewed: true},
		{name: "entered in error is terminal", prev: []edit{set("lifecycleStatus", `"entered-in-error"`)},
			want: []string{"error Goal.lifecycleStatus"}, finding: FindingLapse, events: reviewed},
		{name: "completed back to proposed", prev: []edit{set("lifecycleStatus", `"completed"`)}, next: []edit{set("lifecycleStatus", `"proposed"`)},
			want: []string{"error Goal.lifecycleStatus"}, finding: FindingLapse, events: reviewed},
		{name: "created with a relapse finding", create: true, next: []edit{set("extension[1]", finding("relapse"))},
			want: []string{"information Goal"}, finding: FindingRelapse, events: relapse},
		{name: "created", create: true, next: []edit{del("extension[1]")}, events: reviewed, notReviewed: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var prev []byte
			if !tt.create {
				prev = patch(t, load(t, "Goal-g03a.json"), tt.prev...)
			}
			next := patch(t, load(t, "Goal-g03a-lapse.json"), tt.next...)
			r, is := GoalReview(base, prev, next)
			if got, w := found(is), want(tt.want...); !slices.Equal(got, w) {
				t.Errorf("issues = %q, want %q%s", got, w, diagnostics(is))
			}
			if r.Reviewed == tt.notReviewed || r.Finding != tt.finding || !slices.Equal(r.Events, tt.events) {
				t.Errorf("review = %+v, want finding %q, events %v, reviewed %v", r, tt.finding, tt.events, !tt.notReviewed)
			}
		})
	}
}

func TestGoalReviewMalformed(t *testing.T) {
	good := load(t, "Goal-g03a.json")
	for _, pair := range [][2][]byte{{[]byte(`{`), good}, {good, []byte(`{"resourceType":"CarePlan"}`)}} {
		r, is := GoalReview(base, pair[0], pair[1])
		if len(is) != 1 || is[0].Severity != r4.IssueSeverityError || r.Reviewed || r.Events != nil {
			t.Errorf("GoalReview(%s, %s) = %+v, %q", pair[0], pair[1], r, found(is))
		}
	}
}

func TestTopicURL(t *testing.T) {
	if got := TopicURL("https://x.example/fhir/", EventRelapseRecorded); got != "https://x.example/fhir/SubscriptionTopic/relapse-recorded" {
		t.Errorf("TopicURL = %s", got)
	}
}
