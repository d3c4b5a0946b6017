package clinical

import (
	"strings"

	"github.com/matcare/matcare/fhir/content"
)

// CHISystem is the identifier system of Scotland's Community Health Index
// number: the HL7 UK OID UK implementers use (DOMAIN.md §4.3). Change it
// here if NHS Scotland publishes an https URI.
const CHISystem = "urn:oid:2.16.840.1.113883.2.1.3.2.4.16.53"

// The ids of matcare's profiles; each one's url is
// base + "/StructureDefinition/" + id (see ProfileURL).
const (
	ProfilePatient       = "matcare-patient"
	ProfileCarePlan      = "matcare-careplan" // a MAT episode
	ProfileBenzoCarePlan = "matcare-benzo-careplan"
	ProfileBenzoGoal     = "matcare-benzo-goal"
)

// The ids of matcare's extensions; each one's url is
// base + "/StructureDefinition/" + id (see ExtensionURL).
const (
	ExtNextReviewDate         = "next-review-date"         // Goal, CarePlan.activity.detail: valueDate
	ExtReferralDate           = "referral-date"            // CarePlan: valueDateTime
	ExtCareSetting            = "care-setting"             // CarePlan: valueCode
	ExtEpisodeEndReason       = "episode-end-reason"       // CarePlan: valueCoding
	ExtOutreachContactConsent = "outreach-contact-consent" // CarePlan: consent (valueBoolean), contact (valueReference)
	ExtGoalReviewFinding      = "goal-review-finding"      // Goal: valueCoding
)

// The ids of the CodeSystems the rules read codes from; each one's url is
// base + "/CodeSystem/" + id (see CodeSystemURL).
const (
	CSCarePlanCategory     = "careplan-category"
	CSBenzoGoalCategory    = "benzo-goal-category"
	CSTreatmentOrientation = "treatment-orientation"
	CSGoalReviewFinding    = "goal-review-finding"
	CSMatcareActivity      = "matcare-activity"
	CSEpisodeEndReason     = "episode-end-reason"
	CSPrescribingCheck     = "prescribing-check"
	CSBenzodiazepine       = "benzodiazepine"
)

// Systems of HL7 terminology the rules read.
const (
	goalAchievementSystem = "http://terminology.hl7.org/CodeSystem/goal-achievement"
	goalAcceptanceURL     = "http://hl7.org/fhir/StructureDefinition/goal-acceptance"
	goalRelationshipURL   = "http://hl7.org/fhir/StructureDefinition/goal-relationship"
	ucum                  = "http://unitsofmeasure.org"
)

// Codes of DOMAIN.md §2.1 the rules act on. Whether a code is in its
// CodeSystem at all is for the terminology checks, not for this package.
const (
	catMATEpisode = "mat-episode"
	catBenzoPlan  = "benzo-care-plan"

	goalCatHarmReduction = "immediate-harm-reduction"
	goalCatDetox         = "medication-assisted-detox"
	goalCatStabilisation = "medication-assisted-stabilisation"

	orientHarmReduction = "harm-reduction"

	actGoalReview      = "goal-review"
	actHighRiskEvent   = "high-risk-event"
	actOSTPrescription = "ost-prescription"
	actBenzoRx         = "benzo-prescription"
	actInstalment      = "instalment-dispensing"
)

// Findings of a goal review (CodeSystem goal-review-finding, DOMAIN.md §2.1).
const (
	FindingProgressing          = "progressing"
	FindingLapse                = "lapse"
	FindingRelapse              = "relapse"
	FindingPresentedIntoxicated = "presented-intoxicated"
	FindingNonFatalOverdose     = "non-fatal-overdose"
	FindingConcernRaised        = "concern-raised"
	FindingGoalNoLongerRelevant = "goal-no-longer-relevant"
	FindingGoalMet              = "goal-met"
)

// ProfileURL is the canonical url of the profile id under base.
func ProfileURL(base, id string) string { return trim(base) + "/StructureDefinition/" + id }

// ExtensionURL is the canonical url of the extension id under base.
func ExtensionURL(base, id string) string { return trim(base) + "/StructureDefinition/" + id }

// CodeSystemURL is the canonical url of the CodeSystem id under base.
func CodeSystemURL(base, id string) string { return trim(base) + "/CodeSystem/" + id }

// trim drops a trailing slash and reads "" as content.DefaultBase, as
// content.Load does.
func trim(base string) string {
	base = strings.TrimSuffix(base, "/")
	if base == "" {
		return content.DefaultBase
	}
	return base
}

// inBase reports whether a system is one of matcare's CodeSystems.
func inBase(base, system string) bool {
	return strings.HasPrefix(system, trim(base)+"/CodeSystem/")
}
