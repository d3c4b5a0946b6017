package synth

import (
	"fmt"
	"time"
)

// person is one generated patient and the people around them.
type person struct {
	n             int
	id            string
	sc            scenario
	male          bool
	birth         time.Time
	given, family string
	adp           *adp
	gp            gpPractice
	keyworker     string
	prescriber    string
	related       string // RelatedPerson id, "" if none
	// What the assessment records about them.
	benzoUse, opioidDep, nfodEver, alcohol, gabapentinoid, stimulant, physical bool
	// counters of their questionnaire responses, for ids
	bpsCount, sdsCount int
	// bps is the body of their latest assessment, for a copy entered in
	// error; sds likewise.
	lastBPS, lastSDS obj
}

// person generates patient n of the board, living scenario sc.
func (g *gen) person(n int, sc scenario) {
	r := g.r
	p := &person{n: n, id: idOf("p", g.board, n), sc: sc}
	age := weighted(r, [][2]int{{18, 24}, {25, 34}, {35, 44}, {45, 54}, {55, 70}}, []int{6, 22, 35, 25, 12})
	p.birth = g.epochDay.AddDate(-between(r, age[0], age[1]), 0, -r.IntN(365))
	p.male = chance(r, 70)
	p.given = pick(r, givenFemale)
	if p.male {
		p.given = pick(r, givenMale)
	}
	p.family = pick(r, family)
	p.adp = pick(r, g.dir.adps)
	p.gp = pick(r, g.dir.gps)
	p.keyworker = pick(r, p.adp.keyworkers)
	p.prescriber = pick(r, g.dir.prescribers)
	p.benzoUse = sc.benzo != nil || chance(r, 40)
	p.opioidDep = sc.timing != timingBenzoOnly || (sc.benzo != nil && sc.benzo.opioidOnly)
	p.nfodEver = (sc.benzo != nil && sc.benzo.highRisk) || chance(r, 25)
	for _, ev := range sc.events {
		if ev.reason == "non-fatal-overdose" {
			p.nfodEver = true
		}
	}
	p.alcohol, p.gabapentinoid, p.stimulant, p.physical = chance(r, 35), chance(r, 25), chance(r, 20), chance(r, 20)

	gender := "female"
	if p.male {
		gender = "male"
	}
	secMeta := g.meta(profPatient)
	if sc.restricted {
		secMeta = secMeta.append(member{"security", []obj{o("system", confidentiality, "code", "R", "display", "restricted")}})
	}
	patient := o(
		"resourceType", "Patient", "id", p.id, "meta", secMeta,
		"identifier", []obj{o(
			"type", o("coding", []obj{o("system", identifierTypeCodes, "code", "NH", "display", "National Patient Identifier")}),
			"system", CHISystem, "value", chi(r, p.birth, p.male))},
		"active", true,
		"name", []obj{o("use", "official", "family", p.family, "given", []string{p.given})},
		"gender", gender,
		"birthDate", p.birth.Format("2006-01-02"),
		"address", []obj{o("use", "home", "district", p.adp.area, "country", "GB")},
		"generalPractitioner", []obj{ref("Organization", p.gp.org)},
		"managingOrganization", ref("Organization", g.dir.board))
	g.write(time.Time{}, "Patient", p.id, patient)
	if sc.relative {
		p.related = idOf("rp", g.board, n)
		rel := pick(r, relations)
		g.write(time.Time{}, "RelatedPerson", p.related, o(
			"resourceType", "RelatedPerson", "id", p.related, "meta", g.meta(""),
			"active", true,
			"patient", ref("Patient", p.id),
			"relationship", []obj{o("coding", []obj{o("system", roleCode, "code", rel.code, "display", rel.display)})},
			"name", []obj{o("family", pick(r, family), "given", []string{pick(r, append(givenFemale, givenMale...))})},
			"telecom", []obj{o("system", "phone", "value", fmt.Sprintf("07700 900%03d", r.IntN(1000)), "use", "mobile")}))
	}

	first := g.episode(p, 1, sc, g.epochStart)
	if first == nil {
		return
	}
	if !first.end.IsZero() {
		if sc.end == "death" {
			g.write(first.end.Add(time.Hour), "Patient", p.id, patient.with("deceasedDateTime", dateTime(first.end)))
		} else if sc.again {
			g.episode(p, 2, returning(sc), civilDay(first.end).AddDate(0, 0, between(r, 30, 90)))
		}
	}
}

// returning is the scenario of a second episode: the person comes back
// and starts again the same or the next day; the assessment and
// benzodiazepine plan of the first episode are not repeated, so the
// person's only completed assessment lies outside this episode
// (mat10-formulation).
func returning(sc scenario) scenario {
	ost := sc.ost
	if ost == "declined" || ost == "none" || ost == "" {
		ost = "methadone"
	}
	return scenario{timing: timingNextDay, setting: sc.setting, ost: ost, dose: "in", matGoal: partPatient,
		bps: "none", sds: "none", harm: "all", injecting: sc.injecting, tiers: []string{"tier-1"}, shared: "team",
		mh: "none", referral: 6, relative: sc.relative}
}
