package synth

import (
	"fmt"
	"time"
)

// answers are a QuestionnaireResponse's answers by linkId: bool, int,
// float64 (decimal), string (the text of a string or text item, the
// code of a choice item's option, an R4 date for a date item) or obj (a
// Quantity).
type answers map[string][]any

// response builds the items answering items (of f) from a; inst gives
// the answers of each instance of a repeating group by its linkId.
// Display items, unanswered questions and groups without answers are
// left out.
func (f *form) response(items []*formItem, a answers, inst map[string][]answers) []obj {
	var out []obj
	text := func(it *formItem) string {
		if f.texts {
			return it.Text
		}
		return ""
	}
	for _, it := range items {
		switch it.Type {
		case "display":
		case "group":
			if rows, ok := inst[it.LinkID]; ok {
				for _, row := range rows {
					if kids := f.response(it.Item, row, nil); len(kids) > 0 {
						out = append(out, o("linkId", it.LinkID, "text", text(it), "item", kids))
					}
				}
				continue
			}
			if kids := f.response(it.Item, a, inst); len(kids) > 0 {
				out = append(out, o("linkId", it.LinkID, "text", text(it), "item", kids))
			}
		default:
			var ans []obj
			for _, v := range a[it.LinkID] {
				ans = append(ans, it.answer(v))
			}
			if len(ans) > 0 {
				out = append(out, o("linkId", it.LinkID, "text", text(it), "answer", ans))
			}
		}
	}
	return out
}

// answer is one answer of the item's type.
func (it *formItem) answer(v any) obj {
	switch it.Type {
	case "boolean":
		return o("valueBoolean", v.(bool))
	case "integer":
		return o("valueInteger", v.(int))
	case "decimal":
		return o("valueDecimal", v.(float64))
	case "date":
		return o("valueDate", v.(string))
	case "dateTime":
		return o("valueDateTime", v.(string))
	case "quantity":
		return o("valueQuantity", v.(obj))
	case "choice", "open-choice":
		code := v.(string)
		for _, opt := range it.Options {
			if c := opt.ValueCoding; c != nil && c.Code == code {
				return o("valueCoding", o("system", c.System, "code", c.Code, "display", c.Display))
			}
		}
		if it.Type == "open-choice" {
			return o("valueString", code)
		}
		panic(fmt.Sprintf("synth: %q is not an option of %s", code, it.LinkID))
	}
	return o("valueString", v.(string))
}

// assessments writes the episode's SDS and bio-psycho-social assessment
// as the scenario says, and records each assessment as an activity.
func (g *gen) assessments(e *episode) {
	sc, r := e.sc, g.r
	switch sc.sds {
	case "baseline", "follow-up":
		g.sds(e, e.fc.Add(10*time.Minute), "completed", between(r, 8, 14))
		if sc.sds == "follow-up" {
			if when := g.clock(civilDay(e.fc).AddDate(0, 0, between(r, 80, 100)), 10, 0, 16, 0); when.Before(e.stop) {
				g.sds(e, when, "completed", between(r, 2, 9))
			}
		}
	case "partial":
		g.sds(e, e.fc.Add(10*time.Minute), "in-progress", 0)
	}
	record := func(id string, when time.Time, status string) {
		el := g.act("bps-assessment", "", status, when, "description", "Bio-psycho-social assessment and 5P formulation")
		if status == "completed" {
			el = o("outcomeReference", []obj{ref("QuestionnaireResponse", id)}).append(el...)
		}
		e.add(when, el)
	}
	first := e.fc.Add(15 * time.Minute)
	switch sc.bps {
	case "first-contact":
		record(g.bps(e, first, "completed", ""), first, "completed")
	case "later":
		when := g.clock(civilDay(e.fc).AddDate(0, 0, between(r, 3, 10)), 10, 0, 16, 0)
		if when.Before(e.stop) {
			record(g.bps(e, when, "completed", ""), when, "completed")
		}
	case "in-progress":
		record(g.bps(e, first, "in-progress", ""), first, "in-progress")
	case "two-step":
		id := g.bps(e, first, "in-progress", "")
		when := g.clock(civilDay(e.fc).AddDate(0, 0, 7), 10, 0, 16, 0)
		if !when.Before(e.stop) {
			record(id, first, "in-progress")
			break
		}
		e.p.bpsCount-- // the same response, completed
		g.bps(e, when, "completed", "")
		el := o("outcomeReference", []obj{ref("QuestionnaireResponse", id)}).append(
			g.act("bps-assessment", "", "completed", when, "description", "Bio-psycho-social assessment and 5P formulation")...)
		e.activities = append(e.activities, changing(
			state{first, g.act("bps-assessment", "", "in-progress", first, "description", "Bio-psycho-social assessment and 5P formulation")},
			state{when, el}))
	}
}

// sds writes an SDS response authored at when: completed with the given
// total spread over the five items (the server adds the total), or in
// progress with two items unanswered. It returns its id.
func (g *gen) sds(e *episode, when time.Time, status string, total int) string {
	p, r := e.p, g.r
	p.sdsCount++
	id := idOf("sds", g.board, p.n, p.sdsCount)
	scores := make([]int, 5)
	for total > 0 {
		if i := r.IntN(5); scores[i] < 3 {
			scores[i]++
			total--
		}
	}
	a := answers{}
	codes := [][]string{{"never", "sometimes", "often", "always"}, {"not-difficult", "quite-difficult", "very-difficult", "impossible"}}
	n := 5
	if status == "in-progress" {
		n = 3
		for i := range scores {
			scores[i] = r.IntN(4)
		}
	}
	for i := range n {
		set := codes[0]
		if i == 4 {
			set = codes[1]
		}
		a[fmt.Sprintf("sds-%d", i+1)] = []any{set[scores[i]]}
	}
	f := g.t.sds
	body := o("resourceType", "QuestionnaireResponse", "id", id, "meta", g.meta(""),
		"questionnaire", f.url+"|"+f.version,
		"status", status,
		"subject", ref("Patient", p.id),
		"authored", dateTime(when),
		"author", ref("Practitioner", p.keyworker),
		"source", ref("Patient", p.id),
		"item", f.response(f.items, a, nil))
	g.write(when, "QuestionnaireResponse", id, body)
	if status == "completed" {
		p.lastSDS = body
	}
	return id
}

// bps writes a bio-psycho-social assessment authored at when (status
// completed or in-progress), based on the plan basedOn if set, and
// returns its id.
func (g *gen) bps(e *episode, when time.Time, status, basedOn string) string {
	p := e.p
	p.bpsCount++
	id := idOf("bps", g.board, p.n, p.bpsCount)
	a, inst := g.bpsAnswers(e, status, when)
	f := g.t.bps
	var based []obj
	if basedOn != "" {
		based = []obj{o("reference", basedOn)}
	}
	body := o("resourceType", "QuestionnaireResponse", "id", id, "meta", g.meta(""),
		"questionnaire", f.url+"|"+f.version,
		"basedOn", based,
		"status", status,
		"subject", ref("Patient", p.id),
		"authored", dateTime(when),
		"author", ref("Practitioner", p.keyworker),
		"item", f.response(f.items, a, inst))
	g.write(when, "QuestionnaireResponse", id, body)
	if status == "completed" {
		p.lastBPS = body
	}
	return id
}

// bpsAnswers are the answers of an assessment of e's person at when: the
// whole assessment when completed, the substance use and motivation
// while in progress. Items an enableWhen disables are never answered.
func (g *gen) bpsAnswers(e *episode, status string, when time.Time) (answers, map[string][]answers) {
	p, sc, r := e.p, e.sc, g.r
	a := answers{}
	text := func(id string, choices ...string) { a[id] = []any{pick(r, choices)} }
	var subs []string
	var rows []answers
	use := func(code string, amount obj, freq string, routes ...string) {
		subs = append(subs, code)
		row := answers{"bio.use.item.name": {code}, "bio.use.item.amount": {amount}, "bio.use.item.frequency": {freq}}
		for _, rt := range routes {
			row["bio.use.item.route"] = append(row["bio.use.item.route"], rt)
		}
		rows = append(rows, row)
	}
	if p.opioidDep {
		route := "smoked"
		if sc.injecting {
			route = "injected"
		}
		use("opioid", o("value", float64(between(r, 2, 10))/10, "unit", "g heroin a day"), "daily", route)
	}
	if p.benzoUse {
		use("street-benzodiazepine", o("value", float64(between(r, 4, 30)), "unit", "tablets ('blues') a day"),
			pick(r, []string{"daily", "4-5 days a week", "most weekends"}), "oral")
	}
	if p.alcohol {
		use("alcohol", o("value", float64(between(r, 20, 90)), "unit", "units a week"), "most days", "oral")
	}
	if p.gabapentinoid {
		use("gabapentinoid", o("value", float64(between(r, 3, 9)*100), "unit", "mg pregabalin a day"), "daily", "oral")
	}
	if p.stimulant {
		use("stimulant", o("value", float64(between(r, 1, 5))/2, "unit", "g crack cocaine a week"), "weekly", pick(r, []string{"smoked", "injected"}))
	}
	for _, s := range subs {
		a["bio.use.substances"] = append(a["bio.use.substances"], s)
	}
	text("bio.use.typical-day", typicalDay...)
	text("bio.use.tolerance-withdrawal", "Shakes, sweats and panic within a day of stopping benzos", "Withdrawal seizure once after stopping suddenly")
	text("bio.use.history", "Cannabis at 14, heroin from 19, street benzos for the last 6 years", "Prescribed diazepam after a bereavement, then street supply")
	a["bio.use.nfod-ever"] = []any{p.nfodEver}
	if p.nfodEver {
		a["bio.use.nfod-last-date"] = []any{dateOf(when.AddDate(0, 0, -between(r, 20, 400)))}
		a["bio.use.nfod-count"] = []any{between(r, 1, 4)}
	}
	text("bio.use.abstinence-periods", "Six months off everything in prison", "None longer than a few weeks")
	text("bio.use.how-use-helps", "Blocks out memories and helps sleep", "Takes the edge off anxiety")
	text("bio.use.concerns-if-unable", "Fits, panic, not sleeping", "Would drink more instead")
	a["psych.motivation.stage"] = []any{pick(r, []string{"pre-contemplation", "contemplation", "preparation", "action"})}
	text("psych.motivation.priorities", "Keeping the tenancy; seeing the children", "Staying out of hospital")
	text("psych.motivation.reasons", "Frightened by the last overdose", "Wants to get back to work")
	if status != "completed" {
		return a, map[string][]answers{"bio.use.item": rows}
	}

	a["bio.physical.bbv-status"] = []any{pick(r, []string{"bbv-negative", "bbv-hcv", "bbv-not-tested", "bbv-unknown"})}
	text("bio.physical.pain", "Back pain since an assault", "No pain reported")
	text("psych.motivation.previous-attempts", "Detox twice; relapsed after leaving", "Tried to cut down alone, managed a month")
	text("psych.functional-analysis.thoughts", "'I can't cope without them'")
	text("psych.functional-analysis.emotions", "Anxious, ashamed")
	text("psych.functional-analysis.consequences", "Missed the pharmacy, argument with family")
	memory := chance(r, 25)
	a["psych.cognitive.memory-problems"] = []any{memory}
	a["psych.cognitive.tracks-appointments"] = []any{!memory}
	a["psych.cognitive.reminders-offered"] = []any{true}
	if memory {
		a["psych.cognitive.formal-assessment-needed"] = []any{chance(r, 50)}
	}
	co := sc.mh != "none" && sc.mh != ""
	a["psych.mental-health.co-occurring"] = []any{co}
	if co {
		text("psych.mental-health.treatments", "Sertraline from the GP; waiting list for trauma therapy", "None at present")
		text("psych.mental-health.helpfulness", "Medication helps a little")
		text("psych.mental-health.engagement", "Misses appointments when using heavily")
	}
	text("social.relationships.significant", "Sister; a partner who also uses", "Mother, supportive")
	a["social.housing.secure"] = []any{!sc.housingNeed}
	a["social.housing.homelessness-risk"] = []any{sc.housingNeed}
	a["social.housing.rent-arrears"] = []any{sc.housingNeed && chance(r, 60)}
	text("social.finances", "Universal Credit; debts to dealers", "Benefits only; struggles by the end of the month")
	dependents := chance(r, 30)
	a["social.child-family.dependents"] = []any{dependents}
	if dependents {
		text("social.child-family.contact-arrangements", "Supervised contact at weekends", "Children live with their grandmother")
		a["social.child-family.child-protection-concern"] = []any{chance(r, 30)}
	}
	a["social.education-employment.status"] = []any{pick(r, []string{"unemployed", "unable-to-work", "working"})}
	text("social.daily-routines", "Walks the dog; goes to the recovery café", "Little structure to the day")
	a["social.legal.treatment-order"] = []any{chance(r, 10)}
	text("social.goals-aspirations.short-term", "Stop using street benzos every day")
	text("social.goals-aspirations.long-term", "A job and a place of my own")
	for _, id := range []string{"formulation.presenting", "formulation.predisposing", "formulation.precipitating", "formulation.perpetuating", "formulation.protective"} {
		text(id, formulationTexts[id]...)
	}
	for _, risk := range []string{"overdose", "seizures", "risk-taking", "homelessness"} {
		if risk == "overdose" || chance(r, 50) {
			a["risk.use-risks"] = append(a["risk.use-risks"], risk)
		}
	}
	text("risk.treatment-risks", "Respiratory depression with opioids and alcohol; diversion", "Sedation if topping up on top of the prescription")
	a["risk.flags.previous-nfod"] = []any{p.nfodEver}
	a["risk.flags.physical-comorbidity"] = []any{p.physical}
	a["risk.flags.mental-comorbidity"] = []any{co}
	a["risk.flags.opioid-dependence"] = []any{p.opioidDep}
	a["risk.flags.alcohol"] = []any{p.alcohol}
	level := "risk-moderate"
	if p.nfodEver {
		level = pick(r, []string{"risk-high", "risk-high", "risk-extreme"})
	}
	a["risk.level"] = []any{level}
	if level == "risk-extreme" {
		a["risk.residential-stabilisation-considered"] = []any{true}
	}
	switch {
	case sc.benzo != nil:
		a["risk.prescribe-decision"] = []any{"prescribe-yes"}
		a["consent.harms-discussed"] = []any{true}
		a["consent.off-label"] = []any{true}
		a["consent.off-label-acknowledged"] = []any{true}
		a["consent.stop-criteria"] = []any{stopCriteria[p.n%len(stopCriteria)]}
	case p.benzoUse && chance(r, 40):
		a["risk.prescribe-decision"] = []any{"prescribe-deferred"}
	case p.benzoUse:
		a["risk.prescribe-decision"] = []any{"prescribe-no"}
		text("risk.reasons-not-to-prescribe", "Use is intermittent; harm reduction and psychosocial support first, prescribing reconsidered at review")
	default:
		a["risk.prescribe-decision"] = []any{"prescribe-no"}
		text("risk.reasons-not-to-prescribe", "No benzodiazepine dependence: a prescription is not indicated")
	}
	return a, map[string][]answers{"bio.use.item": rows}
}
