package synth

import (
	"time"
)

// Profiles the generated resources claim (fhir/content).
const (
	profPatient       = "matcare-patient"
	profCarePlan      = "matcare-careplan"
	profBenzoCarePlan = "matcare-benzo-careplan"
	profBenzoGoal     = "matcare-benzo-goal"
)

// episode is one MAT episode as it is being generated.
type episode struct {
	k        int
	p        *person
	sc       scenario
	planID   string // the MAT episode CarePlan ("" for a benzodiazepine plan only)
	teamID   string
	service  string
	fc       time.Time // first contact
	rx       time.Time // prescription start, zero if none
	rxUTC    bool      // rx is written in UTC
	referral time.Time // zero if none
	// end is when the episode ended, zero while open; stop is the end
	// or the epoch: nothing happens from then on.
	end, stop  time.Time
	activities []activity
	matGoal    *goalState
	benzo      *benzoPlan
}

// activity is one CarePlan.activity as it changes: each state is the
// activity element from its time on; before the first it is not yet
// recorded.
type activity struct {
	states []state
}

type state struct {
	from time.Time
	el   obj
}

// recorded is when the activity was first recorded.
func (a activity) recorded() time.Time { return a.states[0].from }

// last is when the activity last changed.
func (a activity) last() time.Time { return a.states[len(a.states)-1].from }

// final is the activity's last state.
func (a activity) final() obj { return a.states[len(a.states)-1].el }

// stateAt returns the activity element as it stood at t, nil if not yet
// recorded.
func (a activity) stateAt(t time.Time) obj {
	var el obj
	for _, s := range a.states {
		if s.from.After(t) {
			break
		}
		el = s.el
	}
	return el
}

// changing is an activity recorded with its first state at the first
// time, changing to each next state at its time.
func changing(states ...state) activity { return activity{states: states} }

// clock draws a time of day from h0:m0 to h1:m1, in 5-minute steps.
func (g *gen) clock(day time.Time, h0, m0, h1, m1 int) time.Time {
	lo, hi := h0*60+m0, h1*60+m1
	m := lo + 5*g.r.IntN((hi-lo)/5+1)
	return at(day, m/60, m%60)
}

// pickDay draws a day from from to to (inclusive) for which ok holds;
// false if there is none.
func (g *gen) pickDay(from, to time.Time, ok func(time.Time) bool) (time.Time, bool) {
	var days []time.Time
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		if ok(d) {
			days = append(days, d)
		}
	}
	if len(days) == 0 {
		return time.Time{}, false
	}
	return pick(g.r, days), true
}

// dayRule is the day a timing case needs for first contact.
func (g *gen) dayRule(timing string) func(time.Time) bool {
	c := g.cal
	next := func(d time.Time) time.Time { return d.AddDate(0, 0, 1) }
	switch timing {
	case timingNextDay, timingLateNextDay:
		return func(d time.Time) bool { return c.working(d) && c.working(next(d)) }
	case timingWeekend:
		return func(d time.Time) bool {
			return d.Weekday() == time.Friday && c.working(d) && c.working(d.AddDate(0, 0, 3))
		}
	case timingHolidayEve:
		return func(d time.Time) bool { return c.working(d) && c.holiday(next(d)) }
	case timingHoliday:
		return func(d time.Time) bool { return c.holiday(d) && !weekend(d) }
	case timingLateSameDay:
		return func(time.Time) bool { return true }
	case timingBSTStart:
		return func(d time.Time) bool {
			return d.Equal(lastSunday(d.Year(), time.March).AddDate(0, 0, -1)) && c.working(d.AddDate(0, 0, 2))
		}
	case timingBSTEnd:
		return func(d time.Time) bool {
			return d.Equal(lastSunday(d.Year(), time.October).AddDate(0, 0, -2)) && c.working(d) && c.working(d.AddDate(0, 0, 3))
		}
	case timingUTCMidnight:
		return func(d time.Time) bool {
			return c.working(d) && c.working(next(d)) && inLondon(at(d, 12, 0)).Location() == bst &&
				inLondon(at(next(d), 12, 0)).Location() == bst
		}
	}
	return c.working
}

// firstContact draws the first contact and prescription start of a
// timing case on a day from from to to.
func (g *gen) firstContact(e *episode, from, to time.Time) bool {
	rule := g.dayRule(e.sc.timing)
	day, ok := g.pickDay(from, to, rule)
	if !ok {
		// The window is too short for this case (a late epoch, say):
		// any working day will do.
		if day, ok = g.pickDay(from, to, g.cal.working); !ok {
			return false
		}
	}
	c, r := g.cal, g.r
	switch e.sc.timing {
	case timingSameDay:
		e.fc = g.clock(day, 9, 0, 12, 30)
		e.rx = e.fc.Add(time.Duration(between(r, 24, 60)*5) * time.Minute)
	case timingNextDay:
		e.fc = g.clock(day, 13, 0, 16, 30)
		e.rx = g.clock(c.nextWorking(day), 9, 30, 12, 0)
	case timingWeekend:
		e.fc = g.clock(day, 15, 30, 16, 30)
		e.rx = g.clock(c.nextWorking(day), 9, 30, 11, 0)
	case timingHolidayEve, timingHoliday:
		e.fc = g.clock(day, 11, 0, 16, 0)
		e.rx = g.clock(c.nextWorking(day), 10, 0, 11, 30)
	case timingLateSameDay:
		e.fc = g.clock(day, 18, 0, 19, 30)
		e.rx = e.fc.Add(time.Duration(between(r, 24, 42)*5) * time.Minute)
	case timingLateNextDay:
		e.fc = g.clock(day, 20, 0, 21, 30)
		e.rx = g.clock(day.AddDate(0, 0, 1), 10, 0, 12, 0)
	case timingBSTStart:
		e.fc = at(day, 22, 30)
		e.rx = at(day.AddDate(0, 0, 2), 9, 45)
	case timingBSTEnd:
		e.fc = at(day, 16, 20)
		e.rx = at(day.AddDate(0, 0, 3), 10, 0)
	case timingUTCMidnight:
		e.fc = g.clock(day, 19, 0, 20, 0)
		e.rx = g.clock(day.AddDate(0, 0, 1), 0, 20, 0, 50)
		e.rxUTC = true
	case timingPrisonSame:
		e.fc = g.clock(day, 9, 30, 11, 0)
		e.rx = g.clock(day, 16, 0, 18, 0)
	case timingDays2to3:
		e.fc = g.clock(day, 10, 0, 15, 0)
		e.rx = g.clock(c.addWorking(day, between(r, 2, 3)), 10, 0, 12, 0)
	case timingDays4to5:
		e.fc = g.clock(day, 10, 0, 15, 0)
		e.rx = g.clock(c.addWorking(day, between(r, 4, 5)), 10, 0, 12, 0)
	case timingOver5:
		e.fc = g.clock(day, 10, 0, 15, 0)
		e.rx = g.clock(c.addWorking(day, between(r, 6, 15)), 10, 0, 12, 0)
	case timingErrorFirst:
		e.fc = g.clock(day, 9, 30, 14, 0)
		e.rx = g.clock(c.nextWorking(day), 10, 0, 12, 0)
	default: // declined, benzo-only
		e.fc = g.clock(day, 9, 30, 15, 0)
	}
	if e.sc.ost == "none" || e.sc.ost == "declined" || e.sc.timing == timingBenzoOnly {
		e.rx = time.Time{}
	}
	return true
}

// need is how many days before the epoch an episode of sc must start
// for its story to fit.
func need(sc scenario) int {
	n := 21
	if sc.end != "" {
		n = max(n, sc.endDays[1]+7)
	}
	for _, gs := range sc.goals {
		n = max(n, 45+50*len(trajectories[gs.trajectory]))
	}
	if len(sc.events) > 0 {
		n = max(n, 60)
	}
	if sc.again {
		n += 150
	}
	return min(n, span-30)
}

// episode generates episode k of p under sc, starting no earlier than
// notBefore; nil if it does not fit before the epoch.
func (g *gen) episode(p *person, k int, sc scenario, notBefore time.Time) *episode {
	r := g.r
	e := &episode{k: k, p: p, sc: sc, stop: g.cfg.Epoch}
	if sc.timing == timingDraft {
		g.draft(e)
		return e
	}
	to := g.epochDay.AddDate(0, 0, -need(sc))
	if to.Before(notBefore) {
		to = g.epochDay.AddDate(0, 0, -21)
	}
	if !g.firstContact(e, notBefore, to) {
		return nil
	}
	if sc.referral >= 0 {
		e.referral = civilDay(e.fc).AddDate(0, 0, -sc.referral)
	}
	if sc.end != "" {
		end := g.clock(civilDay(e.fc).AddDate(0, 0, between(r, sc.endDays[0], sc.endDays[1])), 11, 0, 16, 0)
		if end.Before(g.cfg.Epoch.AddDate(0, 0, -1)) && (e.rx.IsZero() || end.After(e.rx)) {
			e.end, e.stop = end, end
		}
	}
	e.service = g.dir.service(p.adp, sc.setting)
	e.teamID = idOf("ct", g.board, p.n, k)
	if sc.timing != timingBenzoOnly {
		e.planID = idOf("cp", g.board, p.n)
		if k > 1 {
			e.planID = idOf("cp", g.board, p.n, k)
		}
	}

	g.careTeam(e)
	g.assessments(e)
	g.treatment(e)
	if e.planID != "" {
		g.matGoal(e)
	}
	g.riskEvents(e)
	if sc.mistake == "activity" && k == 1 {
		g.mistakenActivity(e)
	}
	if sc.benzo != nil && k == 1 {
		g.benzoCare(e)
	}
	if e.planID != "" {
		g.episodePlan(e)
	}
	g.mistakes(e)
	return e
}

// draft writes a draft episode: a referral received and a first
// appointment booked after the epoch. Measures do not count drafts.
func (g *gen) draft(e *episode) {
	p := e.p
	day, _ := g.pickDay(g.epochDay.AddDate(0, 0, 3), g.epochDay.AddDate(0, 0, 12), g.cal.working)
	e.fc = g.clock(day, 10, 0, 15, 0)
	e.referral = g.epochDay.AddDate(0, 0, -between(g.r, 3, 12))
	e.planID = idOf("cp", g.board, p.n)
	g.write(e.referral.Add(12*time.Hour), "CarePlan", e.planID, o(
		"resourceType", "CarePlan", "id", e.planID, "meta", g.meta(profCarePlan),
		"extension", []obj{
			o("url", g.t.ext("referral-date"), "valueDateTime", dateOf(e.referral)),
			o("url", g.t.ext("care-setting"), "valueCode", e.sc.setting)},
		"status", "draft", "intent", "plan",
		"category", g.episodeCategory(),
		"title", "MAT episode (first appointment booked)",
		"subject", ref("Patient", p.id),
		"period", o("start", dateTime(e.fc)),
		"author", ref("Organization", g.dir.service(p.adp, e.sc.setting)),
		"activity", []obj{g.act("bps-assessment", "Appointment", "scheduled", e.fc, "description", "First appointment: assessment")}))
}

func (g *gen) episodeCategory() []obj {
	return []obj{g.t.concept("careplan-category", "mat-episode"), g.t.concept("mat-standard", "MAT1")}
}

// act is an activity element with a detail of matcare-activity code,
// the given kind ("" for none), status and scheduled start (zero for
// none); more are further detail members.
func (g *gen) act(code, kind, status string, start time.Time, more ...any) obj {
	return g.actConcept(g.t.concept("matcare-activity", code), kind, status, start, more...)
}

func (g *gen) actConcept(code obj, kind, status string, start time.Time, more ...any) obj {
	var sched obj
	switch {
	case start.IsZero():
	case start.Location() == time.UTC && start.Equal(civilDay(start)): // a day
		sched = o("start", start.Format("2006-01-02"))
	default:
		sched = o("start", dateTime(start))
	}
	d := o("kind", kind, "code", code, "status", status, "scheduledPeriod", sched)
	d = d.append(o(more...)...)
	return o("detail", d)
}

// add records an activity of the episode (its MAT plan, or the
// benzodiazepine plan when there is no MAT plan).
func (e *episode) add(at time.Time, el obj) {
	e.activities = append(e.activities, changing(state{at, el}))
}

// careTeam writes the episode's care team: keyworker and prescriber, the
// psychologist for high-intensity work, the GP for shared care, the
// person's relative who may be contacted; inactive once the episode
// ended.
func (g *gen) careTeam(e *episode) {
	p, sc := e.p, e.sc
	participants := []obj{
		o("role", []obj{o("text", "Keyworker")}, "member", ref("Practitioner", p.keyworker)),
		o("role", []obj{o("text", "Prescriber")}, "member", ref("Practitioner", p.prescriber)),
	}
	for _, t := range sc.tiers {
		if t == "tier-3" || t == "tier-4" {
			participants = append(participants, o("role", []obj{o("text", "Clinical psychologist")}, "member", ref("Practitioner", g.dir.psychologist)))
			break
		}
	}
	if sc.shared == "team" || sc.shared == "team+activity" {
		participants = append(participants, o(
			"role", []obj{o("coding", []obj{o("system", snomed, "code", "62247001", "display", "General practitioner")}, "text", "GP (shared care)")},
			"member", ref("Practitioner", p.gp.gp),
			"onBehalfOf", ref("Organization", p.gp.org)))
	}
	if p.related != "" {
		participants = append(participants, o("role", []obj{o("text", "Family or friend: agreed contact for assertive outreach")},
			"member", ref("RelatedPerson", p.related)))
	}
	team := o("resourceType", "CareTeam", "id", e.teamID, "meta", g.meta(""),
		"status", "active",
		"name", "MAT care team",
		"subject", ref("Patient", p.id),
		"period", o("start", dateTime(e.fc)),
		"participant", participants,
		"managingOrganization", []obj{ref("Organization", e.service)})
	g.write(e.fc.Add(5*time.Minute), "CareTeam", e.teamID, team)
	if !e.end.IsZero() {
		g.write(e.end.Add(10*time.Minute), "CareTeam", e.teamID,
			team.with("status", "inactive").with("period", o("start", dateTime(e.fc), "end", dateTime(e.end))))
	}
}

// treatment records the MAT episode's activities from first contact:
// opioid substitution, instalments, harm reduction, psychosocial,
// shared care, social and mental health care.
func (g *gen) treatment(e *episode) {
	r, sc, p := g.r, e.sc, e.p
	var noInstalments bool
	if sc.benzo != nil {
		noInstalments = sc.benzo.noInstal
	}
	// Opioid substitution (MAT 1, MAT 2).
	rxTime := func(t time.Time) string {
		if e.rxUTC {
			return utcDateTime(t)
		}
		return dateTime(t)
	}
	ost := func(product string, mg float64, start time.Time, status string) obj {
		var amount obj
		if mg > 0 {
			amount = o("value", mg, "unit", "mg", "system", ucum, "code", "mg")
		}
		return o("detail", o(
			"kind", "MedicationRequest",
			"code", g.t.concept("matcare-activity", "ost-prescription"),
			"status", status,
			"scheduledPeriod", o("start", rxTime(start)),
			"performer", []obj{ref("Practitioner", p.prescriber)},
			"productCodeableConcept", o("text", product),
			"dailyAmount", amount))
	}
	methadone, bupSL := "Methadone 1 mg/ml oral solution (sugar free)", "Buprenorphine 8 mg sublingual tablets"
	depot := func(start time.Time) obj {
		return o("detail", o(
			"kind", "MedicationRequest",
			"code", g.t.concept("matcare-activity", "ost-prescription"),
			"status", "in-progress",
			"scheduledPeriod", o("start", dateTime(start)),
			"performer", []obj{ref("Practitioner", p.prescriber)},
			"productCodeableConcept", o("text", "Buprenorphine 128 mg prolonged-release injection (Buvidal), monthly"),
			"quantity", o("value", 128, "unit", "mg", "system", ucum, "code", "mg"),
			"description", "Monthly depot injection given at the service"))
	}
	// The prescription is planned at first contact (scheduled for its
	// start) and starts at e.rx.
	planned := func(el obj) activity {
		d := el.get("detail").(obj)
		return changing(state{e.fc, el.with("detail", d.with("status", "scheduled"))}, state{e.rx, el})
	}
	instal := !noInstalments
	switch sc.ost {
	case "methadone", "switch":
		el := ost(methadone, g.dose("methadone", sc.dose), e.rx, "in-progress")
		a := planned(el)
		if sw := g.clock(civilDay(e.rx).AddDate(0, 0, between(r, 60, 120)), 10, 0, 15, 0); sc.ost == "switch" && sw.Before(e.stop.AddDate(0, 0, -7)) {
			a.states = append(a.states, state{sw, el.with("detail", el.get("detail").(obj).with("status", "stopped").
				with("scheduledPeriod", o("start", rxTime(e.rx), "end", dateTime(sw))).
				with("statusReason", o("text", "Changed to depot buprenorphine at the person's request")))})
			e.activities = append(e.activities, a)
			e.add(sw, depot(sw))
			break
		}
		e.activities = append(e.activities, a)
	case "bup-sl":
		e.activities = append(e.activities, planned(ost(bupSL, g.dose("bup-sl", sc.dose), e.rx, "in-progress")))
	case "depot":
		e.activities = append(e.activities, planned(depot(e.rx)))
		instal = false
	case "declined":
		e.add(e.fc, o("detail", o(
			"kind", "MedicationRequest",
			"code", g.t.concept("matcare-activity", "ost-prescription"),
			"status", "cancelled",
			"statusReason", o("text", "Declined: the person does not want opioid substitution for now; offer kept open"),
			"productCodeableConcept", o("text", methadone))))
		instal = false
	default:
		instal = false
	}
	if sc.timing == timingErrorFirst {
		wrong := e.fc.Add(time.Duration(between(r, 4, 12)*5) * time.Minute)
		el := ost(methadone, 30, wrong, "in-progress")
		d := el.get("detail").(obj)
		e.activities = append(e.activities, changing(state{wrong, el},
			state{wrong.Add(30 * time.Minute), el.with("detail", d.with("status", "entered-in-error").
				with("description", "Entered in error: another person's prescription"))}))
	}
	if instal && !e.rx.IsZero() {
		el := g.act("instalment-dispensing", "ServiceRequest", "in-progress", civilDay(e.rx),
			"description", "Daily instalments with supervised consumption at the community pharmacy")
		e.activities = append(e.activities, planned(el))
	}

	// Harm reduction (MAT 4).
	if sc.harm != "none" {
		type offer struct{ code, kind, product, text string }
		offers := []offer{
			{"naloxone", "MedicationRequest", "Naloxone 1.8 mg nasal spray (Nyxoid), with training", ""},
			{"bbv-test", "ServiceRequest", "", "Dried blood spot test for HIV, hepatitis B and C"},
		}
		if sc.injecting {
			offers = append(offers,
				offer{"iep", "", "", "Needles, syringes and foil from the injecting equipment provision service"},
				offer{"injecting-risk-assessment", "", "", "Injecting practice and sites reviewed"},
				offer{"wound-care", "", "", "Injection site checked and dressed"})
		}
		for i, of := range offers {
			when := g.within(e, e.fc.Add(time.Duration(10+i*5)*time.Minute), 0, 14)
			declined := sc.harm == "some-declined" && (of.code == "bbv-test" || of.code == "wound-care")
			status, more := "completed", []any{"description", of.text}
			if declined {
				status, more = "cancelled", []any{"statusReason", o("text", "Offered and declined by the person")}
			}
			if of.product != "" {
				more = append(more, "productCodeableConcept", o("text", of.product))
			}
			e.add(when, g.act(of.code, of.kind, status, when, more...))
		}
	}

	// Psychosocial support (MAT 6).
	for _, tier := range sc.tiers {
		var when time.Time
		var kind, text string
		switch tier {
		case "tier-1":
			when, kind, text = e.fc.Add(time.Minute), "", "Psychologically informed care at every contact"
		case "tier-2":
			when, kind, text = g.within(e, e.fc, 7, 21), "Appointment", "Low-intensity psychosocial intervention: coping skills and sleep"
		case "tier-3":
			when, kind, text = g.within(e, e.fc, 14, 45), "ServiceRequest", "High-intensity psychological therapy with the psychology service"
		case "tier-4":
			when, kind, text = g.within(e, e.fc, 21, 60), "ServiceRequest", "Highly specialist trauma-focused therapy"
		}
		e.add(when, g.actConcept(g.t.concept("psychosocial-tier", tier), kind, "in-progress", when, "description", text))
	}

	// Shared care with primary care (MAT 7).
	if sc.shared == "team+activity" {
		when := g.within(e, e.fc, 30, 90)
		e.add(when, g.act("shared-care-primary-care", "", "in-progress", when,
			"performer", []obj{ref("Practitioner", p.gp.gp)}, "description", "Prescribing shared with the GP practice"))
	}

	// Advocacy and social support (MAT 8).
	for _, code := range sc.social {
		when := g.within(e, e.fc, 7, 60)
		status := pick(r, []string{"completed", "in-progress"})
		e.add(when, g.act(code, "ServiceRequest", status, when))
	}

	// Mental health care at the point of MAT delivery (MAT 9).
	if sc.mh == "treated" {
		when := g.within(e, e.fc, 7, 40)
		e.add(when, g.act("mental-health-care", "Appointment", "in-progress", when,
			"description", "Mental health nurse sees the person at the MAT clinic"))
	}
}

// within returns a time from lo to hi days after from (at 10:00-16:00),
// kept before the episode's stop; from itself if the episode is too
// short.
func (g *gen) within(e *episode, from time.Time, lo, hi int) time.Time {
	if lo == 0 && hi == 0 {
		return from
	}
	t := g.clock(civilDay(from).AddDate(0, 0, between(g.r, lo, hi)), 10, 0, 16, 0)
	if !t.Before(e.stop) || !t.After(from) {
		return from
	}
	return t
}

// dose draws a daily dose in mg: below, in or above the Orange
// Guidelines range (methadone 60-120 mg, SL buprenorphine 12-16 mg).
func (g *gen) dose(drug, band string) float64 {
	r := g.r
	if drug == "bup-sl" {
		switch band {
		case "low":
			return float64(2 * between(r, 2, 5))
		case "high":
			return float64(2 * between(r, 9, 12))
		}
		return float64(2 * between(r, 6, 8))
	}
	switch band {
	case "low":
		return float64(5 * between(r, 4, 10))
	case "high":
		return float64(5 * between(r, 25, 30))
	}
	return float64(5 * between(r, 12, 24))
}

// matGoal writes the episode's MAT medication goal (MAT 2: informed
// choice of medication and dose) and closes it when the episode ends.
func (g *gen) matGoal(e *episode) {
	sc := e.sc
	if sc.matGoal == "" || sc.ost == "none" || sc.ost == "" {
		return
	}
	gs := &goalState{id: idOf("g", g.board, e.p.n, "mat", e.k), mat: true,
		spec:  goalSpec{participation: sc.matGoal},
		text:  matGoalTexts[sc.ost],
		start: civilDay(e.fc), lifecycle: "active", achievement: "in-progress"}
	gs.due = gs.start.AddDate(0, 0, 180)
	gs.acceptance = acceptanceOf(sc.matGoal)
	e.matGoal = gs
	g.write(e.fc.Add(10*time.Minute), "Goal", gs.id, g.goalBody(e.p, gs))
	if !e.end.IsZero() {
		g.closeGoal(e, gs)
	}
}

// riskEvents records the scenario's high-risk events (MAT 3) and the
// outreach after each.
func (g *gen) riskEvents(e *episode) {
	for _, ev := range e.sc.events {
		var notified time.Time
		if ev.before {
			delay := between(g.r, 1, 2)
			if ev.outreach == "late" {
				delay = between(g.r, 5, 8)
			}
			notified = g.clock(civilDay(e.fc).AddDate(0, 0, -delay), 8, 0, 12, 0)
		} else {
			days := int(e.stop.Sub(e.fc).Hours()/24) - 12
			if days < 21 {
				continue
			}
			notified = g.clock(civilDay(e.fc).AddDate(0, 0, between(g.r, 20, days)), 8, 0, 18, 0)
		}
		g.riskEvent(e, ev, notified)
	}
}

// riskEvent records one high-risk event notified at notified and the
// outreach contact after it.
func (g *gen) riskEvent(e *episode, ev riskEvent, notified time.Time) {
	reason := []obj{g.t.concept("high-risk-event", ev.reason)}
	e.add(notified, g.act("high-risk-event", "", "completed", notified,
		"reasonCode", reason, "description", eventText[ev.reason]))
	var contact obj
	var when time.Time
	switch ev.outreach {
	case "timely", "late":
		when = g.clock(civilDay(notified).AddDate(0, 0, between(g.r, 1, 2)), 10, 0, 17, 0)
		if ev.outreach == "late" {
			when = g.clock(civilDay(notified).AddDate(0, 0, between(g.r, 5, 8)), 10, 0, 17, 0)
		}
		if ev.before {
			when = e.fc
		}
		contact = g.act("outreach-contact", "Appointment", "completed", when,
			"reasonCode", reason, "performer", []obj{ref("Practitioner", e.p.keyworker)},
			"description", "Assertive outreach: home visit after the notification")
	case "unreached":
		when = g.clock(civilDay(notified).AddDate(0, 0, 1), 10, 0, 17, 0)
		contact = g.act("outreach-contact", "Appointment", "cancelled", when,
			"reasonCode", reason, "statusReason", o("text", "Not reached after three attempts (phone, home visit, pharmacy)"))
	default:
		return
	}
	if ev.outcome != "" {
		contact = o("outcomeCodeableConcept", []obj{g.t.concept("outreach-outcome", ev.outcome)}).append(contact...)
	}
	if when.Before(e.stop) {
		e.add(when, contact)
	}
}

var eventText = map[string]string{
	"non-fatal-overdose":  "Non-fatal overdose notified by the Scottish Ambulance Service",
	"prison-release":      "Released from prison; notified by the prison healthcare team",
	"detox-discharge":     "Discharged from in-patient detoxification",
	"unplanned-discharge": "Left hospital before a planned discharge",
}

// episodePlan writes the MAT episode CarePlan: version 1 at first
// contact, with the prescription planned; version 2 when the
// prescription starts, if later; a last version with everything
// recorded since, and the end if the episode ended.
func (g *gen) episodePlan(e *episode) {
	v1 := e.fc.Add(5 * time.Minute)
	g.write(v1, "CarePlan", e.planID, g.planBody(e, v1))
	last := v1
	if !e.rx.IsZero() && e.rx.After(v1) && (e.end.IsZero() || e.rx.Before(e.end)) {
		last = e.rx.Add(5 * time.Minute)
		g.write(last, "CarePlan", e.planID, g.planBody(e, last))
	}
	latest := last
	for _, a := range e.activities {
		if a.last().After(latest) {
			latest = a.last()
		}
	}
	switch {
	case !e.end.IsZero():
		g.write(e.end.Add(5*time.Minute), "CarePlan", e.planID, g.planBody(e, e.end))
	case latest.After(last):
		g.write(latest.Add(30*time.Minute), "CarePlan", e.planID, g.planBody(e, latest.Add(30*time.Minute)))
	}
}

// endStatus is the CarePlan status of an episode ended for reason.
func endStatus(reason string) string {
	if reason == "planned-completion" || reason == "transfer" {
		return "completed"
	}
	return "revoked"
}

// planBody is the MAT episode CarePlan as it stands at t.
func (g *gen) planBody(e *episode, t time.Time) obj {
	p, sc := e.p, e.sc
	ended := !e.end.IsZero() && !t.Before(e.end)
	exts := []obj{}
	if !e.referral.IsZero() {
		exts = append(exts, o("url", g.t.ext("referral-date"), "valueDateTime", dateOf(e.referral)))
	}
	exts = append(exts, o("url", g.t.ext("care-setting"), "valueCode", sc.setting))
	if ended {
		exts = append(exts, o("url", g.t.ext("episode-end-reason"), "valueCoding", g.t.coding("episode-end-reason", sc.end)))
	}
	if p.related != "" {
		exts = append(exts, g.outreachConsent(p))
	}
	status, period := "active", o("start", dateTime(e.fc))
	if ended {
		status, period = endStatus(sc.end), period.with("end", dateTime(e.end))
	}
	var goals []obj
	if e.matGoal != nil {
		goals = append(goals, ref("Goal", e.matGoal.id))
	}
	return o("resourceType", "CarePlan", "id", e.planID, "meta", g.meta(profCarePlan),
		"extension", exts,
		"status", status, "intent", "plan",
		"category", g.episodeCategory(),
		"title", "MAT episode",
		"subject", ref("Patient", p.id),
		"period", period,
		"created", dateTime(e.fc),
		"author", ref("Organization", e.service),
		"contributor", []obj{ref("Practitioner", p.keyworker), ref("Practitioner", p.prescriber)},
		"careTeam", []obj{ref("CareTeam", e.teamID)},
		"goal", goals,
		"activity", activitiesAt(e.activities, t, ended, e.end))
}

// activitiesAt lists the activities recorded by t; once the episode
// ended, those still going are stopped and those to come cancelled.
func activitiesAt(as []activity, t time.Time, ended bool, end time.Time) []obj {
	var out []obj
	for _, a := range as {
		el := a.stateAt(t)
		if el == nil {
			continue
		}
		if ended {
			el = endActivity(el, end)
		}
		out = append(out, el)
	}
	return out
}

// endActivity stops an activity still going when its plan ends.
func endActivity(el obj, end time.Time) obj {
	d, _ := el.get("detail").(obj)
	switch d.get("status") {
	case "in-progress", "on-hold":
		d = d.with("status", "stopped")
		if sp, ok := d.get("scheduledPeriod").(obj); ok && sp.get("end") == nil {
			d = d.with("scheduledPeriod", sp.with("end", dateTime(end)))
		}
	case "scheduled", "not-started":
		d = d.with("status", "cancelled")
	default:
		return el
	}
	return el.with("detail", d)
}

// outreachConsent is the outreach-contact-consent extension: the person
// agreed that their relative may be contacted.
func (g *gen) outreachConsent(p *person) obj {
	return o("url", g.t.ext("outreach-contact-consent"), "extension", []obj{
		o("url", "consent", "valueBoolean", true),
		o("url", "contact", "valueReference", ref("RelatedPerson", p.related))})
}

// mistakes writes the scenario's record entered in error: a duplicate
// written and at once marked entered-in-error (for an activity, a
// duplicate activity with that status).
func (g *gen) mistakes(e *episode) {
	p := e.p
	if e.k != 1 {
		return
	}
	at := e.fc.Add(2 * time.Hour)
	switch e.sc.mistake {
	case "careplan":
		if e.planID == "" {
			return
		}
		id := idOf("cp", g.board, p.n, "x")
		dup := g.planBody(e, e.fc.Add(time.Hour)).with("id", id).with("title", "MAT episode (duplicate)")
		g.write(at, "CarePlan", id, dup)
		g.write(at.Add(5*time.Minute), "CarePlan", id, dup.with("status", "entered-in-error"))
	case "careteam":
		id := idOf("ct", g.board, p.n, "x")
		team := o("resourceType", "CareTeam", "id", id, "meta", g.meta(""), "status", "active", "name", "MAT care team",
			"subject", ref("Patient", p.id), "period", o("start", dateTime(e.fc)),
			"participant", []obj{o("role", []obj{o("text", "Keyworker")}, "member", ref("Practitioner", pick(g.r, p.adp.keyworkers)))})
		g.write(at, "CareTeam", id, team)
		g.write(at.Add(5*time.Minute), "CareTeam", id, team.with("status", "entered-in-error"))
	case "goal":
		gs := &goalState{id: idOf("g", g.board, p.n, "x"), spec: goalSpec{"immediate-harm-reduction", "harm-reduction", partPatient, "none"},
			text: goalTexts["immediate-harm-reduction"][0], start: civilDay(e.fc), lifecycle: "active", achievement: "in-progress",
			acceptance: "agree", next: civilDay(e.fc).AddDate(0, 0, 28)}
		gs.due = gs.start.AddDate(0, 0, 90)
		g.write(at, "Goal", gs.id, g.goalBody(p, gs))
		gs.lifecycle, gs.statusDate, gs.statusReason = "entered-in-error", civilDay(at), "Entered in error: a duplicate of the person's goal"
		g.write(at.Add(5*time.Minute), "Goal", gs.id, g.goalBody(p, gs))
	case "sds", "bps":
		last := p.lastSDS
		typ := "sds"
		if e.sc.mistake == "bps" {
			last, typ = p.lastBPS, "bps"
		}
		if last == nil {
			return
		}
		id := idOf(typ, g.board, p.n, "x")
		dup := last.with("id", id)
		g.write(at, "QuestionnaireResponse", id, dup)
		g.write(at.Add(5*time.Minute), "QuestionnaireResponse", id, dup.with("status", "entered-in-error"))
	}
}

// mistakenActivity records a high-risk-event activity entered in error:
// a duplicate of the episode's first event, or a notification recorded
// on the wrong person's plan.
func (g *gen) mistakenActivity(e *episode) {
	when := e.fc.Add(3 * time.Hour)
	for _, a := range e.activities {
		if d, _ := a.final().get("detail").(obj); d != nil && isCode(d, "high-risk-event") {
			when = a.recorded()
			break
		}
	}
	e.add(when.Add(time.Minute), g.act("high-risk-event", "", "entered-in-error", when,
		"reasonCode", []obj{g.t.concept("high-risk-event", "non-fatal-overdose")},
		"description", "Entered in error: a duplicate notification"))
}

// isCode reports whether an activity detail has matcare-activity code.
func isCode(d obj, code string) bool {
	c, _ := d.get("code").(obj)
	cs, _ := c.get("coding").([]obj)
	return len(cs) > 0 && cs[0].get("code") == code
}
