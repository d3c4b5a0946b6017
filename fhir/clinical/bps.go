package clinical

import (
	"strings"
)

// The items of the bio-psycho-social assessment (Questionnaire bps-benzo,
// DOMAIN.md §2.4) the prescribing checks read from the patient's latest
// QuestionnaireResponse. They are the one place to change if the
// Questionnaire names them otherwise. Each flag is a boolean item
// (valueBoolean; a valueCoding yes/no, Y/N or true/false is read too);
// the stop criteria a string (valueString).
const (
	// BPSQuestionnaire is the Questionnaire's id; its url is
	// base + "/Questionnaire/" + BPSQuestionnaire.
	BPSQuestionnaire = "bps-benzo"

	// High-risk flags of the "zone of tolerance" (risk group).
	LinkPreviousNFOD        = "risk.flags.previous-nfod"        // previous non-fatal overdose (BZ-05)
	LinkPhysicalComorbidity = "risk.flags.physical-comorbidity" // physical comorbidity (BZ-05)
	LinkMentalComorbidity   = "risk.flags.mental-comorbidity"   // mental-health comorbidity (BZ-05)
	LinkOpioidDependence    = "risk.flags.opioid-dependence"    // concomitant opioid dependence (BZ-08)
	// LinkNFODEver is the substance-use history's "non-fatal overdose
	// ever" (bio group), read as a previous NFOD too (BZ-05).
	LinkNFODEver = "bio.use.nfod-ever"

	// Consent items, answered when prescribing (consent group).
	LinkConsentHarms        = "consent.harms-discussed" // drowsiness, falls, respiratory depression discussed (BZ-12)
	LinkConsentOffLabel     = "consent.off-label"       // whether the prescribing is off label; any answer counts (BZ-12)
	LinkConsentStopCriteria = "consent.stop-criteria"   // the stop criteria agreed (BZ-07)
)

// bps is the answers of a BPS QuestionnaireResponse by linkId.
type bps map[string][]qrAnswer

// readBPS indexes a QuestionnaireResponse's answers. It returns nil for a
// response entered in error or one whose questionnaire is not
// .../Questionnaire/bps-benzo (any base, any |version).
func readBPS(qr *questionnaireResponse) bps {
	if qr.Status == "entered-in-error" {
		return nil
	}
	if q, _, _ := strings.Cut(qr.Questionnaire, "|"); q != "" && !strings.HasSuffix(q, "/Questionnaire/"+BPSQuestionnaire) {
		return nil
	}
	b := bps{}
	var walk func(items []qrItem)
	walk = func(items []qrItem) {
		for _, it := range items {
			b[it.LinkID] = append(b[it.LinkID], it.Answer...)
			walk(it.Item)
			for _, a := range it.Answer {
				walk(a.Item)
			}
		}
	}
	walk(qr.Item)
	return b
}

// flag returns a boolean item's answer; answered is false if it has none.
func (b bps) flag(linkID string) (value, answered bool) {
	for _, a := range b[linkID] {
		switch {
		case a.ValueBoolean != nil:
			return *a.ValueBoolean, true
		case a.ValueCoding != nil:
			switch strings.ToLower(a.ValueCoding.Code) {
			case "y", "yes", "true":
				return true, true
			case "n", "no", "false":
				return false, true
			}
		}
	}
	return false, false
}

// text returns a string item's answer, "" if none.
func (b bps) text(linkID string) string {
	for _, a := range b[linkID] {
		if s := strings.TrimSpace(a.ValueString); s != "" {
			return s
		}
	}
	return ""
}
