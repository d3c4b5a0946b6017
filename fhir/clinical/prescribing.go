package clinical

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/matcare/matcare/fhir"
)

// The prescribing checks of DOMAIN.md §2.5: an issue's details carries
// the id as a code of base/CodeSystem/prescribing-check
// (fhir/content/CodeSystem-prescribing-check.json defines each one), and
// its diagnostics start with the id.
const (
	BZ01 = "BZ-01" // daily dose in UCUM mg (error if not a mass unit)
	BZ02 = "BZ-02" // one benzodiazepine at a time
	BZ03 = "BZ-03" // diazepam preferred
	BZ04 = "BZ-04" // diazepam equivalent above 30 mg/day
	BZ05 = "BZ-05" // high-risk person, starting dose above 20 mg/day
	BZ06 = "BZ-06" // harm-reduction goals set before prescribing
	BZ07 = "BZ-07" // stop criteria recorded
	BZ08 = "BZ-08" // opioid dependence: OST offered
	BZ09 = "BZ-09" // new prescription: instalment dispensing
	BZ10 = "BZ-10" // a next review date
	BZ11 = "BZ-11" // detox goal: no dose increase
	BZ12 = "BZ-12" // informed consent recorded
)

// prescribingChecks are the checks' displays, as in the CodeSystem.
var prescribingChecks = map[string]string{
	BZ01: "Daily dose recorded in mg",
	BZ02: "Single benzodiazepine",
	BZ03: "Diazepam preferred",
	BZ04: "Maximum licensed daily dose",
	BZ05: "Lower starting dose for high-risk people",
	BZ06: "Harm reduction goals set first",
	BZ07: "Stop criteria agreed",
	BZ08: "Opioid substitution offered",
	BZ09: "Instalment dispensing",
	BZ10: "Regular review",
	BZ11: "Detox tapers",
	BZ12: "Informed consent",
}

// Dose thresholds of seed 004, in mg of diazepam a day.
const (
	maxDailyDiazepam      = 30 // "the maximum licenced daily dose of 30mg"
	highRiskStartDiazepam = 20 // "lower starting dose of 10 or 20mg daily"
)

// PrescribingContext is what the prescribing checks need besides the
// CarePlan: plain data the service gathers with the caller's
// authorisation. Every field may be empty; the checks that need a missing
// piece say so or do not run, as each field tells.
type PrescribingContext struct {
	// OtherCarePlans are the bodies of the patient's other active
	// CarePlans (BZ-02: other benzodiazepines; BZ-08: an OST activity;
	// BZ-09: instalment dispensing). A plan with this plan's id, or
	// revoked, completed or entered in error, is skipped.
	OtherCarePlans [][]byte
	// Goals are the bodies of the Goals the plan references
	// (activity.detail.goal and CarePlan.goal), keyed by the reference as
	// written or as Type/id. Nil means the goals were not looked up: BZ-06
	// then only checks that a goal is linked, and BZ-10 and BZ-11 see no
	// goal. A reference missing from a non-nil map is a goal that could
	// not be read.
	Goals map[string][]byte
	// Previous is the version of this CarePlan being replaced, nil on
	// create (BZ-05, BZ-09: is prescribing new?; BZ-11: dose increase).
	Previous []byte
	// BPS is the patient's latest bio-psycho-social QuestionnaireResponse
	// (Questionnaire bps-benzo; the linkIds read are the Link*
	// constants), nil if none (BZ-05, BZ-07, BZ-08, BZ-12).
	BPS []byte
	// Drugs is the benzodiazepine table; nil means the embedded one.
	Drugs *DrugTable
}

// Prescribes reports whether Prescribing would check plan: whether it has
// a current benzodiazepine or Z-drug prescription. The service asks it
// before gathering a PrescribingContext, which costs searches.
func Prescribes(base string, plan []byte, drugs *DrugTable) bool {
	var cp carePlan
	if decode("CarePlan", plan, &cp) != nil {
		return true // Prescribing reports why it cannot be read
	}
	if oneOf(cp.Status, "revoked", "completed", "entered-in-error") {
		return false
	}
	if drugs == nil {
		var err error
		if drugs, err = DefaultDrugs(); err != nil {
			return true
		}
	}
	p := &prescriber{checker: checker{base: base}, drugs: drugs}
	for _, r := range p.benzoActivities(&cp) {
		if current(r.d.Status) {
			return true
		}
	}
	return false
}

// Prescribing runs the prescribing checks BZ-01 to BZ-12 on a CarePlan's
// benzodiazepine and Z-drug prescriptions: its activities with a detail
// that is current (status not completed, cancelled, stopped or
// entered-in-error) and either has code matcare-activity
// benzo-prescription or has kind MedicationRequest and a product the drug
// table identifies (DrugTable.Identify: a coding in
// base/CodeSystem/benzodiazepine, else the product's text and codings'
// displays matched against the table's synonyms). A plan without such an
// activity, or one revoked, completed or entered in error, gets nil.
//
// Only BZ-01's unit that is not a mass unit is an error; every other
// issue is a warning or information (DOMAIN.md §2.5: a decision not to
// prescribe may perpetuate harm, so the checks never block one). The
// CodeSystem prescribing-check documents each check.
func Prescribing(base string, plan []byte, ctx PrescribingContext) []fhir.Issue {
	var cp carePlan
	if is := decode("CarePlan", plan, &cp); is != nil {
		return is
	}
	if oneOf(cp.Status, "revoked", "completed", "entered-in-error") {
		return nil
	}
	drugs := ctx.Drugs
	if drugs == nil {
		var err error
		if drugs, err = DefaultDrugs(); err != nil {
			return []fhir.Issue{{Severity: r4.IssueSeverityError, Code: r4.IssueTypeException,
				Diagnostics: "the benzodiazepine table could not be read"}}
		}
	}
	p := &prescriber{checker: checker{base: base}, drugs: drugs}
	all := p.benzoActivities(&cp)
	var rxs []*rx
	for _, r := range all {
		if current(r.d.Status) {
			rxs = append(rxs, r)
		}
	}
	if len(rxs) == 0 {
		return nil
	}
	p.readContext(&cp, ctx)

	for _, r := range rxs {
		p.dose(r) // BZ-01
	}
	p.singleDrug(&cp, rxs)    // BZ-02
	p.diazepam(rxs)           // BZ-03
	p.maxDose(rxs)            // BZ-04
	p.startingDose(all)       // BZ-05
	p.goalsSet(&cp, rxs)      // BZ-06
	p.stopCriteria(rxs)       // BZ-07
	p.opioidSubstitution(&cp) // BZ-08
	p.instalments(&cp, rxs)   // BZ-09
	p.review(&cp, rxs)        // BZ-10
	p.taper(&cp, rxs)         // BZ-11
	p.consent()               // BZ-12
	return p.issues
}

// rx is one benzodiazepine prescription activity.
type rx struct {
	at    string // its detail's path, CarePlan.activity[i].detail
	index int
	d     *activityDetail
	// drug is the table's code, "" if the product was not identified.
	drug string
	// mg is the daily dose in mg, hasMg false if it cannot be read.
	mg    float64
	hasMg bool
}

type prescriber struct {
	checker
	drugs *DrugTable
	// previous is the replaced version, nil if none.
	previous *carePlan
	// others are the other active CarePlans, decoded.
	others []*carePlan
	// goals are the decoded Goals by Type/id; goalsKnown is false when
	// the context gave none.
	goals      map[string]*goal
	goalsKnown bool
	// bps are the answers of the latest assessment, nil if none.
	bps bps
}

func (p *prescriber) report(sev r4.IssueSeverity, id, expr, format string, args ...any) {
	is := p.add(sev, r4.IssueTypeBusinessRule, expr, id+": "+format, args...)
	system, code, display := CodeSystemURL(p.base, CSPrescribingCheck), id, prescribingChecks[id]
	is.Details = &r4.CodeableConcept{Coding: []r4.Coding{{System: &system, Code: &code, Display: &display}}}
}

// readContext decodes the context; what cannot be read is reported as
// information and left out.
func (p *prescriber) readContext(cp *carePlan, ctx PrescribingContext) {
	if ctx.Previous != nil {
		var prev carePlan
		if json.Unmarshal(ctx.Previous, &prev) == nil {
			p.previous = &prev
		} else {
			p.infof(r4.IssueTypeProcessing, "", "the previous version of the CarePlan could not be read; BZ-05, BZ-09 and BZ-11 treat the plan as new")
		}
	}
	for i, b := range ctx.OtherCarePlans {
		var o carePlan
		if json.Unmarshal(b, &o) != nil {
			p.infof(r4.IssueTypeProcessing, "", "other CarePlan %d of the patient could not be read", i)
			continue
		}
		if (o.ID != "" && o.ID == cp.ID) || oneOf(o.Status, "revoked", "completed", "entered-in-error") {
			continue
		}
		p.others = append(p.others, &o)
	}
	if ctx.Goals != nil {
		p.goalsKnown = true
		p.goals = map[string]*goal{}
		for ref, b := range ctx.Goals {
			var g goal
			if json.Unmarshal(b, &g) == nil {
				r := reference{Reference: ref}
				p.goals[ref], p.goals[r.key()] = &g, &g
			}
		}
	}
	if ctx.BPS != nil {
		var qr questionnaireResponse
		if json.Unmarshal(ctx.BPS, &qr) == nil {
			p.bps = readBPS(&qr)
		}
		if p.bps == nil {
			p.infof(r4.IssueTypeProcessing, "", "the assessment given is not a readable %s QuestionnaireResponse; it is ignored", BPSQuestionnaire)
		}
	}
}

// benzoActivities returns a plan's benzodiazepine prescription activities
// of any status but cancelled and entered-in-error, in document order.
func (p *prescriber) benzoActivities(cp *carePlan) []*rx {
	var out []*rx
	activitySystem := CodeSystemURL(p.base, CSMatcareActivity)
	for i, a := range cp.Activity {
		d := a.Detail
		if d == nil || oneOf(d.Status, "cancelled", "entered-in-error") {
			continue
		}
		code := d.Code.code(activitySystem)
		if code == actOSTPrescription {
			continue
		}
		drug, known := p.drugs.identify(p.base, d.ProductCodeableConcept)
		if code != actBenzoRx && (d.Kind != "MedicationRequest" || !known) {
			continue
		}
		if !known {
			drug = ""
		}
		r := &rx{at: "CarePlan.activity[" + strconv.Itoa(i) + "].detail", index: i, d: d, drug: drug}
		r.mg, r.hasMg = doseMg(d.DailyAmount)
		out = append(out, r)
	}
	return out
}

// textMass are mass units written as words, in mg, read from a unit that
// is not coded in UCUM.
var textMass = map[string]float64{
	"mg": 1, "milligram": 1, "milligrams": 1,
	"g": 1000, "gram": 1000, "grams": 1000,
	"ug": 1e-3, "mcg": 1e-3, "µg": 1e-3, "microgram": 1e-3, "micrograms": 1e-3,
}

// doseMg reads a daily dose in mg: UCUM mass units, or a mass unit
// written in words when the unit is not UCUM-coded.
func doseMg(q *quantity) (float64, bool) {
	if mg, ok := milligrams(q); ok {
		return mg, true
	}
	if q == nil || q.Value == nil || q.System == ucum {
		return 0, false
	}
	unit := q.Unit
	if unit == "" {
		unit = q.Code
	}
	f, ok := textMass[strings.ToLower(strings.TrimSpace(unit))]
	return *q.Value * f, ok
}

// dose is BZ-01.
func (p *prescriber) dose(r *rx) {
	q, at := r.d.DailyAmount, r.at+".dailyAmount"
	switch {
	case q == nil || q.Value == nil:
		p.report(r4.IssueSeverityWarning, BZ01, at, "no daily dose: record dailyAmount with a value in mg (UCUM); the dose checks cannot run without it")
	case q.System == ucum && massUnits[q.Code] != 0:
		if q.Code != "mg" {
			p.report(r4.IssueSeverityInformation, BZ01, at, "the daily dose is in %s, read as %s mg; record benzodiazepine doses in mg", q.Code, num(r.mg))
		}
	case r.hasMg:
		p.report(r4.IssueSeverityWarning, BZ01, at, "the daily dose unit %q is not coded: give system %s and code mg", unitOf(q), ucum)
	default:
		p.report(r4.IssueSeverityError, BZ01, at, "the daily dose is in %q, which is not a mass: a benzodiazepine dose is recorded in mg (system %s, code mg)", unitOf(q), ucum)
	}
}

func unitOf(q *quantity) string {
	if q.Code != "" {
		return q.Code
	}
	return q.Unit
}

// singleDrug is BZ-02.
func (p *prescriber) singleDrug(cp *carePlan, rxs []*rx) {
	where := map[string][]string{}
	var order []string
	add := func(drug, plan string) {
		if drug == "" {
			return
		}
		if _, seen := where[drug]; !seen {
			order = append(order, drug)
		}
		if !slices.Contains(where[drug], plan) {
			where[drug] = append(where[drug], plan)
		}
	}
	for _, r := range rxs {
		add(r.drug, "this plan")
	}
	for _, o := range p.others {
		for _, r := range p.benzoActivities(o) {
			if current(r.d.Status) {
				add(r.drug, "CarePlan/"+o.ID)
			}
		}
	}
	if len(order) < 2 {
		return
	}
	var parts []string
	for _, drug := range order {
		parts = append(parts, p.display(drug)+" ("+strings.Join(where[drug], ", ")+")")
	}
	p.report(r4.IssueSeverityWarning, BZ02, "CarePlan.activity", "%d benzodiazepines or Z-drugs are prescribed: %s; a single benzodiazepine is considered safer than several", len(order), strings.Join(parts, "; "))
}

func (p *prescriber) display(drug string) string {
	if d, ok := p.drugs.Drug(drug); ok && d.Display != "" {
		return strings.ToLower(d.Display[:1]) + d.Display[1:]
	}
	return drug
}

// diazepam is BZ-03.
func (p *prescriber) diazepam(rxs []*rx) {
	for _, r := range rxs {
		switch r.drug {
		case "diazepam":
		case "":
			p.report(r4.IssueSeverityInformation, BZ03, r.at+".productCodeableConcept", "the product is not recognised as diazepam; diazepam is an effective choice (long half-life; 2, 5 and 10 mg tablets)")
		default:
			p.report(r4.IssueSeverityInformation, BZ03, r.at+".productCodeableConcept", "%s is prescribed; diazepam is an effective choice (long half-life; 2, 5 and 10 mg tablets)", p.display(r.drug))
		}
	}
}

// equivalent is the diazepam-equivalent range of the rxs together;
// unknown lists the activities for which none can be computed, with why.
func (p *prescriber) equivalent(rxs []*rx) (low, high float64, unknown []string) {
	for _, r := range rxs {
		if !r.hasMg {
			unknown = append(unknown, "no dose in mg")
			continue
		}
		l, h, ok := p.drugs.Equivalent(r.drug, r.mg)
		if !ok {
			if r.drug == "" {
				unknown = append(unknown, "product not recognised")
			} else {
				unknown = append(unknown, p.display(r.drug)+": content unknown, diazepam never assumed")
			}
			continue
		}
		low, high = low+l, high+h
	}
	return low, high, unknown
}

// maxDose is BZ-04.
func (p *prescriber) maxDose(rxs []*rx) {
	for _, r := range rxs {
		if !r.hasMg {
			continue // BZ-01 reported it
		}
		if _, _, ok := p.drugs.Equivalent(r.drug, r.mg); !ok {
			what := "the product is not recognised"
			if r.drug != "" {
				what = p.display(r.drug) + " is of unknown content"
			}
			p.report(r4.IssueSeverityInformation, BZ04, r.at+".productCodeableConcept", "no diazepam equivalent is computed: %s (diazepam is never assumed)", what)
		}
	}
	low, high, _ := p.equivalent(rxs)
	if high > maxDailyDiazepam {
		verb := "is"
		if low <= maxDailyDiazepam {
			verb = "may be"
		}
		p.report(r4.IssueSeverityWarning, BZ04, "CarePlan.activity", "the diazepam-equivalent daily dose is about %s mg, which %s above the maximum licensed daily dose of %d mg preferred in most cases", span(low, high), verb, maxDailyDiazepam)
	}
}

// newPrescribing reports whether the plan starts prescribing: no
// previous version, or one without a benzodiazepine prescription.
func (p *prescriber) newPrescribing() bool {
	return p.previous == nil || len(p.benzoActivities(p.previous)) == 0
}

// startingDose is BZ-05.
func (p *prescriber) startingDose(all []*rx) {
	if !p.newPrescribing() {
		return
	}
	first := earliest(all)
	if first == nil || !first.hasMg {
		return
	}
	low, high, ok := p.drugs.Equivalent(first.drug, first.mg)
	if !ok || high <= highRiskStartDiazepam {
		return
	}
	at := first.at + ".dailyAmount"
	if p.bps == nil {
		p.report(r4.IssueSeverityInformation, BZ05, at, "the starting dose is about %s mg diazepam a day and no assessment records the person's risk: for people at high risk (previous overdose, comorbidity) a starting dose of 10 or 20 mg and titration upwards may be safer", span(low, high))
		return
	}
	var flags []string
	nfod, _ := p.bps.flag(LinkPreviousNFOD)
	ever, _ := p.bps.flag(LinkNFODEver)
	if nfod || ever {
		flags = append(flags, "a previous non-fatal overdose")
	}
	physical, _ := p.bps.flag(LinkPhysicalComorbidity)
	mental, _ := p.bps.flag(LinkMentalComorbidity)
	if physical || mental {
		flags = append(flags, "comorbidity")
	}
	if len(flags) > 0 {
		p.report(r4.IssueSeverityWarning, BZ05, at, "the assessment records %s, and the starting dose is about %s mg diazepam a day: a starting dose of 10 or 20 mg and titration upwards may be safer", strings.Join(flags, " and "), span(low, high))
	}
}

// earliest returns the activity with the earliest scheduledPeriod.start;
// activities without one come after, in document order.
func earliest(all []*rx) *rx {
	var best *rx
	var bestAt time.Time
	for _, r := range all {
		var t time.Time
		if r.d.ScheduledPeriod != nil {
			t, _, _ = fhir.DateRange(r.d.ScheduledPeriod.Start, time.UTC)
		}
		switch {
		case best == nil:
			best, bestAt = r, t
		case !t.IsZero() && (bestAt.IsZero() || t.Before(bestAt)):
			best, bestAt = r, t
		}
	}
	return best
}

// linkedGoals returns the references of an activity's goals: its
// detail.goal, else the plan's goal.
func linkedGoals(cp *carePlan, r *rx) []reference {
	if len(r.d.Goal) > 0 {
		return r.d.Goal
	}
	return cp.Goal
}

func (p *prescriber) goal(ref reference) *goal {
	if g, ok := p.goals[ref.Reference]; ok {
		return g
	}
	return p.goals[ref.key()]
}

// goalsSet is BZ-06.
func (p *prescriber) goalsSet(cp *carePlan, rxs []*rx) {
	catSystem := CodeSystemURL(p.base, CSBenzoGoalCategory)
	orientSystem := CodeSystemURL(p.base, CSTreatmentOrientation)
	for _, r := range rxs {
		refs := linkedGoals(cp, r)
		at := r.at + ".goal"
		if len(refs) == 0 {
			p.report(r4.IssueSeverityWarning, BZ06, at, "the prescription is linked to no Goal: set clear and realistic harm reduction goals before starting a prescription")
			continue
		}
		if !p.goalsKnown {
			continue
		}
		var why []string
		ok := false
		for _, ref := range refs {
			g := p.goal(ref)
			switch {
			case g == nil:
				why = append(why, ref.Reference+" could not be read")
			case !oneOf(g.LifecycleStatus, "active", "accepted"):
				why = append(why, ref.Reference+" is "+g.LifecycleStatus)
			case hasCategory(g.Category, catSystem, goalCatHarmReduction), hasCategory(g.Category, catSystem, goalCatStabilisation),
				hasCategory(g.Category, catSystem, goalCatDetox), hasCategory(g.Category, orientSystem, orientHarmReduction):
				ok = true
			default:
				why = append(why, ref.Reference+" is not a harm reduction, stabilisation or detox goal")
			}
		}
		if !ok {
			p.report(r4.IssueSeverityWarning, BZ06, at, "no active or accepted harm reduction, stabilisation or detox goal is linked (%s): set clear and realistic harm reduction goals before starting a prescription", strings.Join(why, "; "))
		}
	}
}

// stopCriteria is BZ-07.
func (p *prescriber) stopCriteria(rxs []*rx) {
	if p.bps.text(LinkConsentStopCriteria) != "" {
		return
	}
	for _, r := range rxs {
		if strings.TrimSpace(r.d.Description) == "" {
			p.report(r4.IssueSeverityWarning, BZ07, r.at+".description", "no stop criteria are recorded (activity description or the assessment's %s): agree with the person under what circumstances the prescription will be stopped", LinkConsentStopCriteria)
		}
	}
}

// opioidSubstitution is BZ-08.
func (p *prescriber) opioidSubstitution(cp *carePlan) {
	if dep, _ := p.bps.flag(LinkOpioidDependence); !dep {
		return
	}
	system := CodeSystemURL(p.base, CSMatcareActivity)
	for _, plan := range append([]*carePlan{cp}, p.others...) {
		for _, a := range plan.Activity {
			if a.Detail != nil && a.Detail.Code.code(system) == actOSTPrescription && a.Detail.Status != "entered-in-error" {
				return
			}
		}
	}
	p.report(r4.IssueSeverityWarning, BZ08, "CarePlan.activity", "the assessment records concomitant opioid dependence and no plan has an ost-prescription activity: offer same day opioid substitution therapy")
}

// drugKey names what an activity prescribes, to compare versions.
func drugKey(r *rx) string {
	if r.drug != "" {
		return r.drug
	}
	if cc := r.d.ProductCodeableConcept; cc != nil {
		return "text:" + strings.Join(words(cc.Text), " ")
	}
	return "activity:" + strconv.Itoa(r.index)
}

// instalments is BZ-09.
func (p *prescriber) instalments(cp *carePlan, rxs []*rx) {
	before := map[string]bool{}
	if p.previous != nil {
		for _, r := range p.benzoActivities(p.previous) {
			if current(r.d.Status) {
				before[drugKey(r)] = true
			}
		}
	}
	var fresh []*rx
	for _, r := range rxs {
		if !before[drugKey(r)] {
			fresh = append(fresh, r)
		}
	}
	if len(fresh) == 0 {
		return
	}
	system := CodeSystemURL(p.base, CSMatcareActivity)
	for _, plan := range append([]*carePlan{cp}, p.others...) {
		for _, a := range plan.Activity {
			if a.Detail != nil && a.Detail.Code.code(system) == actInstalment && current(a.Detail.Status) {
				return
			}
		}
	}
	for _, r := range fresh {
		p.report(r4.IssueSeverityInformation, BZ09, r.at, "a new prescription without an instalment-dispensing activity: daily or frequent instalment dispensing at a community pharmacy should be used until harms are stabilised")
	}
}

// review is BZ-10.
func (p *prescriber) review(cp *carePlan, rxs []*rx) {
	system := CodeSystemURL(p.base, CSMatcareActivity)
	for _, a := range cp.Activity {
		if d := a.Detail; d != nil && d.Code.code(system) == actGoalReview &&
			oneOf(d.Status, "not-started", "scheduled") && d.scheduled() {
			return
		}
	}
	for _, r := range rxs {
		if extString(p.base, r.d.Extension, ExtNextReviewDate, "Date") != "" {
			continue
		}
		reviewed := false
		for _, ref := range linkedGoals(cp, r) {
			if g := p.goal(ref); g != nil && extString(p.base, g.Extension, ExtNextReviewDate, "Date") != "" {
				reviewed = true
			}
		}
		if !reviewed {
			p.report(r4.IssueSeverityWarning, BZ10, r.at+".extension", "no next review date (next-review-date on the activity or a linked Goal, or a goal-review activity with a date): prescribing should be under regular review")
		}
	}
}

// taper is BZ-11.
func (p *prescriber) taper(cp *carePlan, rxs []*rx) {
	if p.previous == nil {
		return
	}
	system := CodeSystemURL(p.base, CSBenzoGoalCategory)
	detox := false
	for _, r := range rxs {
		for _, ref := range linkedGoals(cp, r) {
			if g := p.goal(ref); g != nil && hasCategory(g.Category, system, goalCatDetox) &&
				oneOf(g.LifecycleStatus, "accepted", "active", "on-hold") {
				detox = true
			}
		}
	}
	if !detox {
		return
	}
	var before []*rx
	for _, r := range p.benzoActivities(p.previous) {
		if current(r.d.Status) {
			before = append(before, r)
		}
	}
	low, high, unknown := p.equivalent(rxs)
	plow, phigh, punknown := p.equivalent(before)
	if len(unknown) > 0 || len(punknown) > 0 || len(before) == 0 {
		return
	}
	if low > plow && high > phigh {
		p.report(r4.IssueSeverityInformation, BZ11, "CarePlan.activity", "the diazepam-equivalent daily dose rises from about %s to %s mg under a medication-assisted detox goal: a detox is tapered at an individually titrated rate", span(plow, phigh), span(low, high))
	}
}

// consent is BZ-12.
func (p *prescriber) consent() {
	if p.bps == nil {
		p.report(r4.IssueSeverityWarning, BZ12, "CarePlan", "no assessment records informed consent: that the potential harms were discussed (%s) and whether the prescribing is off label (%s)", LinkConsentHarms, LinkConsentOffLabel)
		return
	}
	var missing []string
	if harms, _ := p.bps.flag(LinkConsentHarms); !harms {
		missing = append(missing, "that the potential harms were discussed ("+LinkConsentHarms+")")
	}
	if _, answered := p.bps.flag(LinkConsentOffLabel); !answered {
		missing = append(missing, "whether the prescribing is off label ("+LinkConsentOffLabel+")")
	}
	if len(missing) > 0 {
		p.report(r4.IssueSeverityWarning, BZ12, "CarePlan", "informed consent does not record %s", strings.Join(missing, " and "))
	}
}

// span formats a dose range in mg, one decimal at most.
func span(low, high float64) string {
	if num(low) == num(high) {
		return num(low)
	}
	return num(low) + "-" + num(high)
}

func num(f float64) string {
	return strconv.FormatFloat(math.Round(f*10)/10, 'f', -1, 64)
}
