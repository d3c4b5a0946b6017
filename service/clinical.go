package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/matcare/matcare/fhir"
	"github.com/matcare/matcare/fhir/clinical"
)

// The clinical checks of package clinical, with what they need from
// storage gathered here (DOMAIN.md §2.3–§2.5).

// checkProfiles applies the matcare profiles a Patient, CarePlan or Goal
// claims or fits, and the profile $validate names.
func checkProfiles(_ context.Context, s *Resources, _ Access, p *pending) ([]fhir.Issue, error) {
	var is []fhir.Issue
	switch p.rec.Type {
	case "Patient", "CarePlan", "Goal":
		is = clinical.Check(s.content.Base, p.rec.Type, p.rec.Body)
	}
	if p.profile != "" {
		is = append(is, clinical.CheckProfile(s.content.Base, p.profile, p.rec.Type, p.rec.Body)...)
	}
	return is, nil
}

// checkGoalReview judges a Goal's new version against the one it
// replaces: lifecycle transitions, the review's finding and dates.
func checkGoalReview(ctx context.Context, s *Resources, _ Access, p *pending) ([]fhir.Issue, error) {
	if p.rec.Type != "Goal" {
		return nil, nil
	}
	var prev []byte
	if p.prev != nil {
		prev = p.prev.Body
	}
	review, is := clinical.GoalReview(s.content.Base, prev, p.rec.Body)
	if review.Finding == clinical.FindingLapse {
		stops, err := s.lapseStopsPrescription(ctx, p)
		if err != nil {
			return nil, err
		}
		is = append(is, stops...)
	}
	return is, nil
}

// lapseStopsPrescription warns when a transaction records a lapse on a
// Goal and, in the same Bundle, stops a prescription serving it (DOMAIN.md
// §2.3, seed 004: "A lapse will not automatically mean an intervention
// will cease prematurely"): a CarePlan of the transaction whose
// prescription activity for the goal is stopped, cancelled or on hold,
// where the stored version had it going.
func (s *Resources) lapseStopsPrescription(ctx context.Context, p *pending) ([]fhir.Issue, error) {
	goalRef := "Goal/" + p.rec.ID
	var out []fhir.Issue
	for key, r := range p.tx {
		if r.Type != "CarePlan" || r.Deleted {
			continue
		}
		now := prescriptionStates(r.Body, goalRef)
		if !slices.ContainsFunc(now, stopped) {
			continue
		}
		cur, err := s.store.Current(ctx, r.Type, r.ID)
		if errors.Is(err, ErrNotFound) {
			continue
		} else if err != nil {
			return nil, fmt.Errorf("content check: %s: %w", key, err)
		}
		if cur.Deleted || !slices.ContainsFunc(prescriptionStates(cur.Body, goalRef), func(st string) bool { return !stopped(st) }) {
			continue
		}
		out = append(out, fhir.Issue{Severity: r4.IssueSeverityWarning, Code: r4.IssueTypeBusinessRule,
			Expression: []string{"Goal.extension"},
			Diagnostics: fmt.Sprintf("this review records a lapse, and the same transaction stops the prescription for the goal in %s: "+
				"a lapse should be responded to compassionately and does not by itself mean the intervention ceases (seed 004)", key)})
	}
	slices.SortFunc(out, func(a, b fhir.Issue) int { return strings.Compare(a.Diagnostics, b.Diagnostics) })
	return out, nil
}

// prescriptionStates are the statuses of a CarePlan's prescription
// activities (kind MedicationRequest) that serve goalRef.
func prescriptionStates(plan []byte, goalRef string) []string {
	var cp struct {
		Activity []struct {
			Detail struct {
				Kind   string                       `json:"kind"`
				Status string                       `json:"status"`
				Goal   []struct{ Reference string } `json:"goal"`
			} `json:"detail"`
		} `json:"activity"`
	}
	if json.Unmarshal(plan, &cp) != nil {
		return nil
	}
	var out []string
	for _, a := range cp.Activity {
		d := a.Detail
		if d.Kind == "MedicationRequest" && slices.ContainsFunc(d.Goal, func(g struct{ Reference string }) bool { return g.Reference == goalRef }) {
			out = append(out, d.Status)
		}
	}
	return out
}

func stopped(status string) bool {
	return status == "stopped" || status == "cancelled" || status == "on-hold"
}

// checkPrescribing runs BZ-01..BZ-12 on a CarePlan that prescribes a
// benzodiazepine, with the patient's other active plans, the linked
// goals, the plan's previous version and the latest BPS assessment.
func checkPrescribing(ctx context.Context, s *Resources, a Access, p *pending) ([]fhir.Issue, error) {
	if p.rec.Type != "CarePlan" || !clinical.Prescribes(s.content.Base, p.rec.Body, s.content.drugs) {
		return nil, nil
	}
	pc := clinical.PrescribingContext{Drugs: s.content.drugs, Goals: map[string][]byte{}}
	if p.prev != nil {
		pc.Previous = p.prev.Body
	}
	var plan struct {
		Subject  struct{ Reference string }   `json:"subject"`
		Goal     []struct{ Reference string } `json:"goal"`
		Activity []struct {
			Detail struct {
				Goal []struct{ Reference string } `json:"goal"`
			} `json:"detail"`
		} `json:"activity"`
	}
	if err := json.Unmarshal(p.rec.Body, &plan); err != nil {
		return nil, nil // Parse accepted it; Prescribing reports what it cannot read
	}
	refs := plan.Goal
	for _, act := range plan.Activity {
		refs = append(refs, act.Detail.Goal...)
	}
	for _, r := range refs {
		if _, done := pc.Goals[r.Reference]; done || r.Reference == "" {
			continue
		}
		g, err := s.resolve(ctx, a, p, r.Reference)
		if err != nil {
			return nil, err
		}
		if g != nil && g.Type == "Goal" {
			pc.Goals[r.Reference] = g.Body
		}
	}
	if patient := plan.Subject.Reference; patient != "" {
		others, err := s.find(ctx, a, p, "CarePlan", url.Values{"subject": {patient}, "status": {"active"}}, maxContextPlans)
		if err != nil {
			return nil, err
		}
		for _, o := range others {
			pc.OtherCarePlans = append(pc.OtherCarePlans, o.Body)
		}
		bps, err := s.find(ctx, a, p, "QuestionnaireResponse", url.Values{
			"subject": {patient}, "questionnaire": {s.content.Base + "/Questionnaire/bps-benzo"}}, maxContextResponses)
		if err != nil {
			return nil, err
		}
		pc.BPS = latestAuthored(bps)
	}
	return clinical.Prescribing(s.content.Base, p.rec.Body, pc), nil
}

// Bounds on what a prescribing check reads: a patient has a handful of
// active plans and assessments; more are not read.
const (
	maxContextPlans     = 50
	maxContextResponses = 50
)

// latestAuthored is the body of the response authored last (by
// QuestionnaireResponse.authored, as an instant; ties and missing dates
// go to the later-updated version).
func latestAuthored(rs []Record) []byte {
	var best []byte
	var bestAt string
	var bestUpdated string
	for _, r := range rs {
		var qr struct {
			Authored string `json:"authored"`
			Status   string `json:"status"`
		}
		if json.Unmarshal(r.Body, &qr) != nil || qr.Status == "entered-in-error" {
			continue
		}
		at := qr.Authored
		if lo, _, err := fhir.DateRange(qr.Authored, time.UTC); err == nil {
			at = lo.UTC().Format("2006-01-02T15:04:05.000")
		}
		up := r.LastUpdated.UTC().Format("2006-01-02T15:04:05.000")
		if best == nil || at > bestAt || at == bestAt && up > bestUpdated {
			best, bestAt, bestUpdated = r.Body, at, up
		}
	}
	return best
}
