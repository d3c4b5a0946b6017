package synth

import (
	"math"
	"time"
)

// benzoPlan is a benzodiazepine care plan (CarePlan category
// benzo-care-plan) as its versions are generated.
type benzoPlan struct {
	id      string
	created time.Time
	rxs     []*rxState
	goals   []*goalState
	reviews []obj     // completed goal-review activities
	next    time.Time // the goal-review booked next, zero if none
	extra   []activity
}

// rxState is one benzodiazepine prescription activity.
type rxState struct {
	dd     drugDose
	mg     float64
	status string
	start  time.Time
	end    time.Time
	note   string
}

// replacementOf is the category of the goal that replaces a goal no
// longer relevant.
var replacementOf = map[string]string{
	"medication-assisted-stabilisation": "supported-self-reduction",
	"supported-self-reduction":          "medication-assisted-stabilisation",
	"psychosocial-intervention":         "motivational-enhancement",
	"immediate-harm-reduction":          "supported-self-reduction",
	"medication-assisted-detox":         "medication-assisted-stabilisation",
	"motivational-enhancement":          "psychosocial-intervention",
}

// benzoCare generates the benzodiazepine care plan of e: its shared
// goals, the prescriptions, and the reviews, each review a new version
// of every goal reviewed and of the plan.
func (g *gen) benzoCare(e *episode) {
	r, bc, p := g.r, e.sc.benzo, e.p
	bp := &benzoPlan{id: idOf("bz", g.board, p.n)}
	fcDay := civilDay(e.fc)
	switch {
	case bc.sameDay || bc.beforeBPS:
		bp.created = e.fc.Add(time.Duration(between(r, 8, 24)*5) * time.Minute)
		if civilDay(bp.created) != fcDay || bc.beforeBPS {
			bp.created = e.fc.Add(20 * time.Minute)
		}
	default:
		day := fcDay.AddDate(0, 0, between(r, 2, 10))
		for !g.cal.working(day) {
			day = day.AddDate(0, 0, 1)
		}
		bp.created = g.clock(day, 10, 0, 15, 0)
	}
	if !bp.created.Before(e.stop) {
		return
	}
	e.benzo = bp
	firstRound := g.clock(civilDay(bp.created).AddDate(0, 0, between(r, 21, 35)), 10, 0, 15, 30)
	for i, spec := range e.sc.goals {
		gs := &goalState{id: idOf("g", g.board, p.n, i+1), spec: spec, text: pick(r, goalTexts[spec.category]),
			start: civilDay(bp.created), lifecycle: "active", achievement: "in-progress",
			acceptance: acceptanceOf(spec.participation), steps: trajectories[spec.trajectory]}
		gs.due = gs.start.AddDate(0, 0, between(r, 12, 26)*7)
		switch {
		case bc.proposed || spec.trajectory == "proposed" || spec.trajectory == "rejected":
			gs.lifecycle, gs.achievement = "proposed", ""
		default:
			gs.next = civilDay(firstRound)
			if i > 0 && chance(r, 30) {
				gs.lifecycle = "accepted"
			}
		}
		bp.goals = append(bp.goals, gs)
		g.write(bp.created.Add(time.Duration(i-10)*time.Minute), "Goal", gs.id, g.goalBody(p, gs))
	}
	start := bp.created.Add(30 * time.Minute)
	for _, dd := range bc.drugs {
		bp.rxs = append(bp.rxs, &rxState{dd: dd, mg: dd.mg, status: "in-progress", start: start})
	}
	if !bc.proposed {
		bp.next = firstRound
	}
	g.write(bp.created, "CarePlan", bp.id, g.benzoBody(e, bp, bp.created))

	round := firstRound
	for n := 0; round.Before(e.stop.AddDate(0, 0, -1)); n++ {
		// Every 4-8 weeks while the goals' named reviews last, then
		// every 8-13 weeks once things are steady.
		interval := [2]int{56, 91}
		for _, gs := range bp.goals {
			if !gs.done && len(gs.steps) > 0 {
				interval = [2]int{28, 56}
			}
		}
		nextRound := g.clock(civilDay(round).AddDate(0, 0, between(r, interval[0], interval[1])), 10, 0, 15, 30)
		for _, gs := range bp.goals { // a review date is not a target date
			if civilDay(nextRound).Equal(gs.due) {
				nextRound = nextRound.AddDate(0, 0, 1)
			}
		}
		day := civilDay(round)
		var reviewed []*goalState
		var findings []string
		var added []*goalState
		for i, gs := range bp.goals {
			if gs.done {
				continue
			}
			at := round.Add(time.Duration(i) * time.Minute)
			if gs.lifecycle == "proposed" {
				if gs.spec.trajectory == "rejected" {
					gs.lifecycle, gs.acceptance, gs.statusDate = "rejected", "disagree", day
					gs.statusReason, gs.done = "The person did not agree with this goal; not pursued", true
					g.write(at, "Goal", gs.id, g.goalBody(p, gs))
				}
				continue
			}
			step := "progressing"
			if len(gs.steps) > 0 {
				step, gs.steps = gs.steps[0], gs.steps[1:]
			}
			if step == "stop" {
				gs.done = true // reviews stop: the review agreed last is overdue
				continue
			}
			switch step {
			case "relapse":
				g.relapse(e, bp, round)
			case "non-fatal-overdose":
				notified := g.clock(day.AddDate(0, 0, -between(r, 3, 6)), 8, 0, 18, 0)
				g.riskEvent(e, riskEvent{reason: "non-fatal-overdose", outreach: "timely", outcome: "mat-continued"}, notified)
			case "goal-no-longer-relevant":
				cat := replacementOf[gs.spec.category]
				ns := &goalState{id: idOf("g", g.board, p.n, len(bp.goals)+len(added)+1),
					spec: goalSpec{cat, "harm-reduction", partPatient, "continuing"},
					text: pick(r, goalTexts[cat]), start: day, lifecycle: "active", achievement: "in-progress",
					acceptance: "agree", next: civilDay(nextRound), steps: trajectories["continuing"]}
				ns.due = day.AddDate(0, 0, between(r, 12, 26)*7)
				if ns.due.Equal(civilDay(nextRound)) { // a review date is not a target date
					ns.due = ns.due.AddDate(0, 0, 7)
				}
				g.write(at.Add(-30*time.Second), "Goal", ns.id, g.goalBody(p, ns))
				gs.replacedBy = ns.id
				added = append(added, ns)
			case "goal-met":
				if gs.spec.category == "medication-assisted-detox" {
					for _, rx := range bp.rxs {
						if rx.dd.taper && rx.status == "in-progress" {
							rx.status, rx.end, rx.note = "completed", round, "Taper completed"
						}
					}
				}
			}
			g.review(gs, step, day, civilDay(nextRound))
			g.write(at, "Goal", gs.id, g.goalBody(p, gs))
			reviewed = append(reviewed, gs)
			findings = append(findings, step)
		}
		bp.goals = append(bp.goals, added...)
		if len(reviewed) == 0 {
			break
		}
		for _, rx := range bp.rxs {
			if !rx.dd.taper || rx.status != "in-progress" {
				continue
			}
			if bc.increase && n == 0 {
				rx.mg += 5
				rx.note = reasonIncrease
				continue
			}
			rx.mg, rx.note = reduce(rx.dd.drug, rx.mg), "Reducing dose agreed at review"
		}
		var refs, outcomes []obj
		for _, gs := range reviewed {
			refs = append(refs, ref("Goal", gs.id))
		}
		for _, f := range findings {
			outcomes = append(outcomes, g.t.concept("goal-review-finding", f))
		}
		bp.reviews = append(bp.reviews, o("outcomeCodeableConcept", outcomes).append(
			g.act("goal-review", "Appointment", "completed", round, "goal", refs,
				"performer", []obj{ref("Practitioner", p.keyworker)})...))
		bp.next = time.Time{}
		for _, gs := range bp.goals {
			if !gs.done && gs.lifecycle != "proposed" {
				bp.next = nextRound
			}
		}
		g.write(round.Add(30*time.Minute), "CarePlan", bp.id, g.benzoBody(e, bp, round.Add(30*time.Minute)))
		round = nextRound
	}
	if !e.end.IsZero() {
		for _, gs := range bp.goals {
			g.closeGoal(e, gs)
		}
		g.write(e.end.Add(3*time.Minute), "CarePlan", bp.id, g.benzoBody(e, bp, e.end))
	}
}

// reduce is a taper step: about a third less, in whole tablets (2 mg
// of diazepam, 10 mg of chlordiazepoxide), never below one tablet.
func reduce(drug string, mg float64) float64 {
	unit := 2.0
	if drug == "chlordiazepoxide" {
		unit = 10
	}
	return math.Max(unit, math.Round(mg*2/3/unit)*unit)
}

// relapse records what a relapse asks of the plan (DOMAIN.md §2.3):
// the prescription reviewed, and a new assessment and formulation.
func (g *gen) relapse(e *episode, bp *benzoPlan, round time.Time) {
	review := g.clock(civilDay(round).AddDate(0, 0, between(g.r, 2, 5)), 10, 0, 16, 0)
	if review.Before(e.stop) {
		bp.extra = append(bp.extra, changing(
			state{round, g.act("prescription-review", "", "scheduled", review, "description", "Prescription to be reviewed after the relapse")},
			state{review, g.act("prescription-review", "", "completed", review,
				"description", "Prescription reviewed after the relapse: dose unchanged, daily instalments kept")}))
	}
	when := g.clock(civilDay(round).AddDate(0, 0, 7), 10, 0, 15, 0)
	if !when.Before(e.stop) {
		return
	}
	id := g.bps(e, when, "completed", "CarePlan/"+bp.id)
	bp.extra = append(bp.extra, changing(
		state{round, g.act("bps-assessment", "", "scheduled", when, "description", "Assessment and formulation to be revisited after the relapse")},
		state{when, o("outcomeReference", []obj{ref("QuestionnaireResponse", id)}).append(
			g.act("bps-assessment", "", "completed", when, "description", "Assessment and formulation revisited after the relapse")...)}))
}

// benzoBody is the benzodiazepine care plan as it stands at t.
func (g *gen) benzoBody(e *episode, bp *benzoPlan, t time.Time) obj {
	p, bc := e.p, e.sc.benzo
	ended := !e.end.IsZero() && !t.Before(e.end)
	exts := []obj{o("url", g.t.ext("care-setting"), "valueCode", e.sc.setting)}
	if p.related != "" {
		exts = append(exts, g.outreachConsent(p))
	}
	var goals, linked []obj
	for _, gs := range bp.goals {
		switch gs.lifecycle {
		case "rejected", "entered-in-error":
			continue
		case "active", "accepted", "proposed":
			linked = append(linked, ref("Goal", gs.id))
		}
		goals = append(goals, ref("Goal", gs.id))
	}
	if len(linked) == 0 {
		linked = goals
	}
	var acts []obj
	for _, rx := range bp.rxs {
		amount := o("value", rx.mg, "unit", "mg", "system", ucum, "code", "mg")
		if bc.uncoded {
			amount = o("value", rx.mg, "unit", "milligrams")
		}
		var desc string
		if !bc.noStop {
			desc = stopCriteria[p.n%len(stopCriteria)]
		}
		if rx.note != "" {
			desc = joinWords(desc, rx.note)
		}
		period := o("start", dateTime(rx.start))
		if !rx.end.IsZero() {
			period = period.with("end", dateTime(rx.end))
		}
		drug := g.t.coding("benzodiazepine", rx.dd.drug)
		acts = append(acts, o("detail", o(
			"kind", "MedicationRequest",
			"code", g.t.concept("matcare-activity", "benzo-prescription"),
			"goal", linked,
			"status", rx.status,
			"scheduledPeriod", period,
			"performer", []obj{ref("Practitioner", p.prescriber)},
			"productCodeableConcept", o("coding", []obj{drug}, "text", rx.dd.product),
			"dailyAmount", amount,
			"description", desc)))
	}
	if !bc.noInstal {
		acts = append(acts, g.act("instalment-dispensing", "ServiceRequest", "in-progress", civilDay(bp.rxs[0].start),
			"description", pick(g.r, []string{"Daily instalments at the community pharmacy until harms are stabilised",
				"Diazepam dispensed daily with the methadone pick-up"})))
	}
	acts = append(acts, bp.reviews...)
	if !bp.next.IsZero() {
		acts = append(acts, g.act("goal-review", "Appointment", "scheduled", bp.next, "goal", linked))
	}
	for _, a := range bp.extra {
		if el := a.stateAt(t); el != nil {
			acts = append(acts, el)
		}
	}
	if e.planID == "" { // a benzodiazepine plan only: the person's other care is recorded here
		acts = append(acts, activitiesAt(e.activities, t, false, time.Time{})...)
	}
	if ended {
		for i := range acts {
			acts[i] = endActivity(acts[i], e.end)
		}
	}
	status, period := "active", o("start", dateTime(bp.created))
	if ended {
		status, period = endStatus(e.sc.end), period.with("end", dateTime(e.end))
	}
	var partOf []obj
	if e.planID != "" {
		partOf = []obj{ref("CarePlan", e.planID)}
	}
	return o("resourceType", "CarePlan", "id", bp.id, "meta", g.meta(profBenzoCarePlan),
		"extension", exts,
		"partOf", partOf,
		"status", status, "intent", "plan",
		"category", []obj{g.t.concept("careplan-category", "benzo-care-plan"), g.t.concept("mat-standard", "MAT2")},
		"title", "Benzodiazepine care plan",
		"subject", ref("Patient", p.id),
		"period", period,
		"created", dateTime(bp.created),
		"author", ref("Practitioner", p.prescriber),
		"careTeam", []obj{ref("CareTeam", e.teamID)},
		"goal", goals,
		"activity", acts)
}

func joinWords(a, b string) string {
	if a == "" {
		return b
	}
	return a + " " + b
}
