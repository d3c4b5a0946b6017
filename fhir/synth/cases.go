package synth

import (
	"math/rand/v2"
)

// A scenario is one person's story: how their MAT episode starts, runs and
// ends, what they are prescribed, their goals and how reviews find them,
// the events that put them at risk and what the service offers. The
// first len(caseMix) patients of every board follow caseMix, row by row,
// so even a small population holds every case a measure or a check
// distinguishes (see doc.go); the others draw a scenario with
// randomScenario. Times, doses within a case's range, names and words
// are drawn from the board's random source either way.
type scenario struct {
	timing  string // how first contact and prescription start relate (MAT 1): a timing* constant
	setting string // care-setting code of the episode
	// end is how the episode ends: "" while it is still open, else an
	// episode-end-reason code, endDays its length in days (min, max).
	end     string
	endDays [2]int
	again   bool // after the first episode ended, a second one starts
	// ost is the opioid substitution therapy: "methadone", "bup-sl",
	// "depot", "switch" (methadone, then depot buprenorphine),
	// "declined" (offered, declined: a cancelled activity) or "none"
	// (no OST activity at all). dose places a methadone or SL
	// buprenorphine dose against the Orange Guidelines range: "low",
	// "in" or "high".
	ost, dose string
	matGoal   string // participation in the MAT medication goal (a participation* constant); "" for none
	benzo     *benzoCase
	goals     []goalSpec // the benzodiazepine shared goals (with a benzo plan)
	events    []riskEvent
	// bps is the bio-psycho-social assessment: "first-contact"
	// (completed that day), "later" (completed 3-10 days after),
	// "two-step" (in progress at first contact, completed a week
	// later), "in-progress" (never completed) or "none".
	bps string
	// sds is the Severity of Dependence Scale: "baseline", "follow-up"
	// (baseline and about three months later), "partial" (in progress,
	// two items unanswered) or "none".
	sds string
	// harm is the harm reduction offer (MAT 4): "all" (every
	// intervention that fits, done), "some-declined" (some declined),
	// "none" (none recorded).
	harm      string
	injecting bool
	tiers     []string // psychosocial-tier codes of the psychosocial activities (MAT 6)
	// shared is shared care with primary care (MAT 7): "team+activity"
	// (a GP in the care team and a shared-care-primary-care activity),
	// "team" (the GP in the care team only) or "none".
	shared      string
	social      []string // MAT 8 activity codes offered
	housingNeed bool     // the assessment records a housing need
	mh          string   // co-occurring mental health (MAT 9): "treated", "untreated" or "none"
	referral    int      // days from referral to first contact; -1: no referral-date
	relative    bool     // a RelatedPerson, with consent to assertive outreach
	// mistake is a record entered in error (and corrected): "careplan",
	// "goal", "careteam", "sds", "bps", "activity" (a high-risk-event
	// activity) or "" for none.
	mistake    string
	restricted bool // the Patient carries a restricted confidentiality label
}

// The timing cases: first contact (CarePlan.period.start) against the
// prescription start (the earliest current ost-prescription
// activity's scheduledPeriod.start).
const (
	timingSameDay     = "same-day"        // a weekday: prescribed 2-5 hours after first contact
	timingNextDay     = "next-day"        // prescribed the next working day
	timingWeekend     = "weekend"         // Friday afternoon, prescribed on Monday: 1 working day
	timingHolidayEve  = "holiday-eve"     // the working day before a bank holiday, prescribed the next working day
	timingHoliday     = "holiday"         // first contact on a bank holiday (hospital), prescribed the next working day
	timingLateSameDay = "late-same-day"   // first contact after 18:00, prescribed before 23:00 the same day
	timingLateNextDay = "late-next-day"   // first contact after 20:00, prescribed the next morning
	timingBSTStart    = "bst-start"       // Saturday 22:30 GMT before the clocks go forward, prescribed Monday (BST)
	timingBSTEnd      = "bst-end"         // Friday 16:20 BST before the clocks go back, prescribed Monday (GMT)
	timingUTCMidnight = "utc-midnight"    // summer evening; prescribed 00:20-00:50 BST the next day, written in UTC (the UTC date is the first contact's)
	timingPrisonSame  = "prison-same-day" // prison reception, prescribed the same afternoon
	timingDays2to3    = "days-2-3"        // 2 or 3 working days
	timingDays4to5    = "days-4-5"        // 4 or 5 working days
	timingOver5       = "days-over-5"     // 6 to 15 working days
	timingDeclined    = "declined"        // OST offered and declined: a cancelled ost-prescription, no start
	timingErrorFirst  = "error-first"     // an ost-prescription entered in error (same day) before the real start next working day
	timingDraft       = "draft"           // a draft episode: referral received, first appointment booked after the epoch
	timingBenzoOnly   = "benzo-only"      // no MAT episode: a benzodiazepine care plan only
)

// The participation cases of a goal (goal-patient-participation,
// mat2-informed-choice).
const (
	partPatient      = "patient"      // expressedBy the Patient, goal-acceptance agree
	partPatientOnly  = "patient-only" // expressedBy the Patient, no goal-acceptance
	partAgreed       = "agreed"       // expressedBy a Practitioner, the Patient's goal-acceptance agree
	partPending      = "pending"      // expressedBy a Practitioner, goal-acceptance pending
	partPractitioner = "practitioner" // expressedBy a Practitioner, no goal-acceptance
	partNone         = "none"         // no expressedBy, no goal-acceptance (a warning when written)
	partDisagree     = "disagree"     // expressedBy a Practitioner, goal-acceptance disagree (then rejected)
)

// benzoCase is a benzodiazepine care plan and its prescribing (DOMAIN.md
// §2.5): which prescribing checks it exercises follows from its data.
type benzoCase struct {
	drugs      []drugDose // the prescriptions; more than one: BZ-02
	sameDay    bool       // the plan is made on the day of first contact (mat1b)
	highRisk   bool       // the assessment records a previous non-fatal overdose (BZ-05 with a start above 20 mg)
	noStop     bool       // no stop criteria on the activity (BZ-07 while no assessment records them)
	noInstal   bool       // no instalment dispensing anywhere (BZ-09)
	proposed   bool       // the goals linked to the prescription are only proposed (BZ-06, BZ-10)
	increase   bool       // under a detox goal, the first review raises the dose (BZ-11)
	uncoded    bool       // the dose unit is "milligrams" without UCUM (BZ-01 warning)
	beforeBPS  bool       // prescribed the same day, before any assessment (BZ-12; BZ-07 with noStop)
	opioidOnly bool       // (benzo-only plans) the assessment records opioid dependence, no OST is offered (BZ-08)
}

// drugDose is one prescription: a code of CodeSystem benzodiazepine, a
// daily dose in mg and the product text.
type drugDose struct {
	drug    string
	mg      float64
	product string
	// taper: the dose falls at every review (a detox); otherwise it
	// stays (stabilisation).
	taper bool
}

// goalSpec is one benzodiazepine shared goal: its category, the person's
// orientation, who expressed it and how its reviews go.
type goalSpec struct {
	category, orientation, participation string
	// trajectory names the findings of its reviews (see trajectories).
	trajectory string
}

// trajectories are the findings of a goal's reviews, one per review, in
// order. After them a goal goes on being reviewed as progressing while
// its episode is open, except those ending in "stop", whose review is
// then overdue.
var trajectories = map[string][]string{
	"progress-met": {"progressing", "progressing", "goal-met"},
	"met-early":    {"goal-met"},
	"lapse":        {"progressing", "lapse", "progressing"},
	"relapse":      {"lapse", "relapse", "progressing"},
	"replaced":     {"concern-raised", "goal-no-longer-relevant"},
	"overdose":     {"presented-intoxicated", "non-fatal-overdose", "progressing"},
	"steady":       {"progressing", "stop"},
	"continuing":   {"progressing"},
	"none":         {"stop"},
	"proposed":     {"stop"}, // never accepted: stays proposed
	"rejected":     {"stop"}, // proposed, then rejected by the person
}

// riskEvent is a high-risk event (MAT 3) and the outreach after it.
type riskEvent struct {
	reason string // high-risk-event code
	// outreach: "timely" (within 1-2 days), "late" (5-8 days), "none"
	// (no contact recorded), "unreached" (tried, not reached: a
	// cancelled outreach-contact).
	outreach string
	outcome  string // outreach-outcome code of the contact
	before   bool   // the event comes before the episode: the outreach contact is its first contact
}

var (
	diazepam20   = drugDose{"diazepam", 20, "Diazepam 10 mg tablets", false}
	diazepam     = func(mg float64) drugDose { return drugDose{"diazepam", mg, "Diazepam 5 mg tablets", false} }
	diazepamDown = func(mg float64) drugDose { return drugDose{"diazepam", mg, "Diazepam 2 mg and 5 mg tablets", true} }
	chlordiaz    = drugDose{"chlordiazepoxide", 60, "Chlordiazepoxide 10 mg capsules", true}
	zopiclone    = drugDose{"zopiclone", 7.5, "Zopiclone 7.5 mg tablets, at night", false}
)

// caseMix is the scenarios every board's first patients follow, so that
// a population of len(caseMix) patients per board exercises every
// measure and check (doc.go lists which row serves which).
var caseMix = []scenario{
	0: {timing: timingSameDay, setting: "community", ost: "methadone", dose: "in", matGoal: partPatient,
		benzo: &benzoCase{drugs: []drugDose{diazepam20}, sameDay: true},
		goals: []goalSpec{{"immediate-harm-reduction", "harm-reduction", partPatient, "relapse"},
			{"medication-assisted-stabilisation", "harm-reduction", partAgreed, "lapse"}},
		bps: "first-contact", sds: "follow-up", harm: "all", injecting: true, tiers: []string{"tier-1", "tier-2"},
		shared: "team+activity", social: []string{"housing-support"}, housingNeed: true, mh: "treated", referral: 3, relative: true},
	1: {timing: timingNextDay, setting: "community", end: "planned-completion", endDays: [2]int{300, 420}, ost: "bup-sl", dose: "in", matGoal: partAgreed,
		benzo: &benzoCase{drugs: []drugDose{chlordiaz}},
		goals: []goalSpec{{"medication-assisted-detox", "abstinence", partPatient, "progress-met"},
			{"psychosocial-intervention", "abstinence", partPatientOnly, "steady"}},
		bps: "later", sds: "baseline", harm: "some-declined", tiers: []string{"tier-1", "tier-3"},
		shared: "team", social: []string{"welfare-income-support"}, mh: "none", referral: 10},
	2: {timing: timingWeekend, setting: "community", end: "unplanned-discharge", endDays: [2]int{10, 25}, ost: "methadone", dose: "low", matGoal: partPractitioner,
		bps: "in-progress", sds: "none", harm: "none", injecting: true, shared: "none", housingNeed: true, mh: "none", referral: 25,
		mistake: "careteam"},
	3: {timing: timingHolidayEve, setting: "community", end: "transfer", endDays: [2]int{90, 150}, ost: "methadone", dose: "high", matGoal: partPending,
		benzo: &benzoCase{drugs: []drugDose{diazepam(40)}, sameDay: true},
		goals: []goalSpec{{"immediate-harm-reduction", "harm-reduction", partPatient, "met-early"},
			{"medication-assisted-stabilisation", "harm-reduction", partPending, "continuing"}},
		events: []riskEvent{{reason: "prison-release", outreach: "timely", outcome: "mat-continued"}},
		bps:    "first-contact", sds: "baseline", harm: "all", tiers: []string{"tier-1"}, shared: "team+activity", mh: "untreated", referral: 7},
	4: {timing: timingLateSameDay, setting: "hospital", ost: "methadone", dose: "in", matGoal: partPatient,
		benzo: &benzoCase{drugs: []drugDose{diazepam(30)}, sameDay: true, highRisk: true},
		goals: []goalSpec{{"immediate-harm-reduction", "harm-reduction", partPatient, "overdose"},
			{"supported-self-reduction", "harm-reduction", partPatient, "lapse"}},
		bps: "first-contact", sds: "follow-up", harm: "all", injecting: true, tiers: []string{"tier-1", "tier-4"}, shared: "team", mh: "treated", referral: -1},
	5: {timing: timingLateNextDay, setting: "outreach", end: "death", endDays: [2]int{120, 300}, ost: "bup-sl", dose: "high", matGoal: partPatient,
		events: []riskEvent{{reason: "non-fatal-overdose", outreach: "late", outcome: "mat-started", before: true}},
		bps:    "later", sds: "none", harm: "all", injecting: true, tiers: []string{"tier-1"}, shared: "none", mh: "none", referral: -1, relative: true},
	6: {timing: timingBSTStart, setting: "hospital", ost: "depot", matGoal: partNone,
		benzo: &benzoCase{drugs: []drugDose{diazepam(15), zopiclone}},
		goals: []goalSpec{{"medication-assisted-stabilisation", "harm-reduction", partPatient, "replaced"},
			{"motivational-enhancement", "undecided", partAgreed, "steady"}},
		events: []riskEvent{{reason: "detox-discharge", outreach: "timely", outcome: "mat-offered"}},
		bps:    "two-step", sds: "baseline", harm: "some-declined", tiers: []string{"tier-1", "tier-2"}, shared: "team+activity",
		social: []string{"independent-advocacy", "housing-support"}, housingNeed: true, mh: "none", referral: -1},
	7: {timing: timingBSTEnd, setting: "community", end: "unplanned-discharge", endDays: [2]int{60, 150}, again: true, ost: "methadone", dose: "in", matGoal: partPatient,
		benzo: &benzoCase{drugs: []drugDose{diazepam20}, proposed: true},
		goals: []goalSpec{{"supported-self-reduction", "undecided", partPending, "proposed"},
			{"psychosocial-intervention", "harm-reduction", partDisagree, "rejected"}},
		bps: "first-contact", sds: "baseline", harm: "all", tiers: []string{"tier-1"}, shared: "none", mh: "none", referral: 14},
	8: {timing: timingUTCMidnight, setting: "hospital", ost: "methadone", dose: "high", matGoal: partPatient,
		benzo: &benzoCase{drugs: []drugDose{diazepam(15)}, sameDay: true, noStop: true, beforeBPS: true},
		goals: []goalSpec{{"immediate-harm-reduction", "harm-reduction", partPatient, "continuing"}},
		bps:   "later", sds: "partial", harm: "all", tiers: []string{"tier-1"}, shared: "team", mh: "none", referral: -1},
	9: {timing: timingPrisonSame, setting: "prison", end: "person-chose-to-leave", endDays: [2]int{40, 90}, ost: "methadone", dose: "in",
		events: []riskEvent{{reason: "prison-release", outreach: "none"}},
		bps:    "first-contact", sds: "none", harm: "some-declined", injecting: true, tiers: []string{"tier-1"}, shared: "none", mh: "none", referral: 2},
	10: {timing: timingDays2to3, setting: "community", ost: "bup-sl", dose: "low", matGoal: partPatientOnly,
		benzo: &benzoCase{drugs: []drugDose{diazepam20}, noInstal: true},
		goals: []goalSpec{{"psychosocial-intervention", "harm-reduction", partPractitioner, "lapse"},
			{"immediate-harm-reduction", "harm-reduction", partPatient, "steady"}},
		bps: "first-contact", sds: "baseline", harm: "some-declined", tiers: []string{"tier-1", "tier-2"}, shared: "team", mh: "none", referral: 5,
		mistake: "sds"},
	11: {timing: timingDays4to5, setting: "community", end: "planned-completion", endDays: [2]int{190, 260}, ost: "methadone", dose: "in", matGoal: partPatient,
		benzo: &benzoCase{drugs: []drugDose{diazepamDown(25)}, increase: true},
		goals: []goalSpec{{"medication-assisted-detox", "abstinence", partPatient, "progress-met"}},
		bps:   "first-contact", sds: "follow-up", harm: "all", tiers: []string{"tier-1", "tier-3"}, shared: "team+activity", mh: "none", referral: 12,
		mistake: "goal"},
	12: {timing: timingOver5, setting: "community", ost: "switch", dose: "in", matGoal: partPatient,
		benzo: &benzoCase{drugs: []drugDose{diazepam20}, uncoded: true},
		goals: []goalSpec{{"medication-assisted-stabilisation", "harm-reduction", partPatient, "relapse"},
			{"supported-self-reduction", "abstinence", partPatient, "steady"}},
		bps: "first-contact", sds: "follow-up", harm: "all", injecting: true, tiers: []string{"tier-1", "tier-2"}, shared: "team", mh: "treated", referral: 30},
	13: {timing: timingDeclined, setting: "community", ost: "declined", matGoal: partAgreed,
		benzo: &benzoCase{drugs: []drugDose{diazepam(10)}, sameDay: true},
		goals: []goalSpec{{"immediate-harm-reduction", "harm-reduction", partAgreed, "met-early"},
			{"medication-assisted-stabilisation", "harm-reduction", partPatient, "continuing"}},
		events: []riskEvent{{reason: "non-fatal-overdose", outreach: "unreached", outcome: "not-reached"},
			{reason: "unplanned-discharge", outreach: "timely", outcome: "mat-declined"}},
		bps: "first-contact", sds: "baseline", harm: "all", tiers: []string{"tier-1"}, shared: "none", mh: "untreated", referral: 8,
		mistake: "activity"},
	14: {timing: timingErrorFirst, setting: "community", end: "prison", endDays: [2]int{30, 120}, ost: "methadone", dose: "in", matGoal: partPatient,
		bps: "none", sds: "none", harm: "all", injecting: true, tiers: []string{"tier-1"}, shared: "team", mh: "none", referral: 4,
		mistake: "careplan"},
	15: {timing: timingHoliday, setting: "hospital", end: "unplanned-discharge", endDays: [2]int{5, 20}, ost: "methadone", dose: "low", matGoal: partPatient,
		benzo: &benzoCase{drugs: []drugDose{diazepam(10)}, sameDay: true},
		goals: []goalSpec{{"immediate-harm-reduction", "harm-reduction", partPatient, "none"}},
		bps:   "first-contact", sds: "baseline", harm: "all", tiers: []string{"tier-1"}, shared: "none", mh: "none", referral: -1,
		mistake: "bps", restricted: true},
	16: {timing: timingDraft, setting: "community", referral: 9, harm: "none", shared: "none", mh: "none", bps: "none", sds: "none"},
	17: {timing: timingBenzoOnly, setting: "community",
		benzo: &benzoCase{drugs: []drugDose{diazepam(15)}, sameDay: true, opioidOnly: true},
		goals: []goalSpec{{"immediate-harm-reduction", "harm-reduction", partPatientOnly, "lapse"},
			{"supported-self-reduction", "harm-reduction", partNone, "steady"}},
		bps: "first-contact", sds: "follow-up", harm: "all", tiers: []string{"tier-1", "tier-2"}, shared: "none", mh: "none", referral: 6},
}

// weighted picks one of choices with the given weights.
func weighted[T any](r *rand.Rand, choices []T, weights []int) T {
	total := 0
	for _, w := range weights {
		total += w
	}
	n := r.IntN(total)
	for i, w := range weights {
		if n < w {
			return choices[i]
		}
		n -= w
	}
	return choices[len(choices)-1]
}

func chance(r *rand.Rand, percent int) bool { return r.IntN(100) < percent }

// randomScenario draws a scenario with rough proportions of a Scottish
// MAT caseload (most people start the same or the next day; a third
// have a benzodiazepine care plan; most episodes are open), for the
// patients after the case mix. goals is the most benzo goals a person
// has.
func randomScenario(r *rand.Rand, goals int) scenario {
	s := scenario{}
	s.setting = weighted(r, []string{"community", "prison", "hospital", "outreach"}, []int{70, 10, 10, 10})
	s.timing = weighted(r,
		[]string{timingSameDay, timingNextDay, timingWeekend, timingDays2to3, timingDays4to5, timingOver5, timingLateSameDay,
			timingLateNextDay, timingHolidayEve, timingDeclined, timingBenzoOnly, timingDraft},
		[]int{34, 18, 6, 10, 6, 5, 4, 3, 2, 5, 5, 2})
	switch {
	case s.timing == timingLateSameDay || s.timing == timingLateNextDay:
		s.setting = weighted(r, []string{"hospital", "outreach"}, []int{1, 1})
	case s.setting == "prison" && s.timing != timingSameDay:
		s.timing = timingPrisonSame
	}
	if s.timing != timingDraft && s.timing != timingBenzoOnly && chance(r, 35) {
		s.end = weighted(r, []string{"planned-completion", "unplanned-discharge", "transfer", "death", "prison", "person-chose-to-leave"},
			[]int{30, 30, 15, 5, 10, 10})
		s.endDays = [2]int{14, 400}
		s.again = chance(r, 20)
	}
	s.ost = weighted(r, []string{"methadone", "bup-sl", "depot", "switch"}, []int{55, 25, 15, 5})
	if s.timing == timingDeclined {
		s.ost = "declined"
	}
	s.dose = weighted(r, []string{"low", "in", "high"}, []int{25, 65, 10})
	s.matGoal = weighted(r, []string{partPatient, partPatientOnly, partAgreed, partPending, partPractitioner}, []int{50, 15, 15, 10, 10})
	if s.timing == timingBenzoOnly || chance(r, 30) {
		d := weighted(r, []drugDose{diazepam20, diazepam(10), diazepam(15), diazepamDown(20), chlordiaz}, []int{40, 20, 20, 15, 5})
		s.benzo = &benzoCase{drugs: []drugDose{d}, sameDay: chance(r, 60), highRisk: chance(r, 15), noInstal: chance(r, 10)}
		cats := []goalSpec{
			{"immediate-harm-reduction", "harm-reduction", "", ""},
			{"medication-assisted-stabilisation", "harm-reduction", "", ""},
			{"supported-self-reduction", weighted(r, []string{"harm-reduction", "abstinence", "undecided"}, []int{3, 2, 1}), "", ""},
			{"psychosocial-intervention", weighted(r, []string{"harm-reduction", "abstinence", "undecided"}, []int{3, 2, 1}), "", ""},
			{"motivational-enhancement", "undecided", "", ""},
		}
		if d.taper {
			cats[1] = goalSpec{"medication-assisted-detox", "abstinence", "", ""}
		}
		for k := range 1 + r.IntN(goals) {
			g := cats[k%len(cats)]
			if k > 1 {
				g = cats[2+r.IntN(len(cats)-2)]
			}
			g.participation = weighted(r, []string{partPatient, partPatientOnly, partAgreed, partPending, partPractitioner, partNone},
				[]int{55, 15, 15, 6, 6, 3})
			g.trajectory = weighted(r, []string{"continuing", "steady", "progress-met", "lapse", "relapse", "replaced", "overdose", "met-early", "none"},
				[]int{30, 15, 12, 12, 8, 5, 4, 8, 6})
			if d.taper && g.category == "medication-assisted-detox" {
				g.trajectory = "progress-met"
			}
			s.goals = append(s.goals, g)
		}
	}
	if chance(r, 12) {
		ev := riskEvent{
			reason:   weighted(r, []string{"non-fatal-overdose", "prison-release", "detox-discharge", "unplanned-discharge"}, []int{50, 25, 15, 10}),
			outreach: weighted(r, []string{"timely", "late", "none", "unreached"}, []int{60, 20, 10, 10}),
		}
		ev.outcome = weighted(r, []string{"mat-offered", "mat-continued", "mat-declined"}, []int{30, 60, 10})
		if ev.outreach == "unreached" {
			ev.outcome = "not-reached"
		}
		s.events = append(s.events, ev)
	}
	s.bps = weighted(r, []string{"first-contact", "later", "two-step", "in-progress", "none"}, []int{45, 25, 10, 10, 10})
	s.sds = "none"
	if s.benzo != nil {
		s.sds = weighted(r, []string{"baseline", "follow-up", "partial"}, []int{50, 45, 5})
	}
	s.harm = weighted(r, []string{"all", "some-declined", "none"}, []int{60, 30, 10})
	s.injecting = chance(r, 30)
	s.tiers = []string{"tier-1"}
	if chance(r, 50) {
		s.tiers = append(s.tiers, weighted(r, []string{"tier-2", "tier-3", "tier-4"}, []int{70, 22, 8}))
	}
	s.shared = weighted(r, []string{"team+activity", "team", "none"}, []int{30, 30, 40})
	s.housingNeed = chance(r, 30)
	for _, code := range []string{"housing-support", "welfare-income-support", "independent-advocacy"} {
		if (code != "housing-support" || s.housingNeed) && chance(r, 35) {
			s.social = append(s.social, code)
		}
	}
	s.mh = weighted(r, []string{"treated", "untreated", "none"}, []int{25, 15, 60})
	s.referral = -1
	if s.setting == "community" || chance(r, 30) {
		s.referral = weighted(r, []int{0, 2, 5, 9, 14, 20, 28, 40}, []int{5, 15, 20, 20, 15, 10, 10, 5})
	}
	s.relative = chance(r, 40)
	if chance(r, 4) {
		s.mistake = weighted(r, []string{"careplan", "goal", "careteam", "sds", "bps", "activity"}, []int{1, 1, 1, 1, 1, 1})
	}
	s.restricted = chance(r, 1)
	return s
}
