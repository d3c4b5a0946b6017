package questionnaire

import (
	"encoding/json"
	"errors"
	"strconv"
)

// The bio-psycho-social assessment (fhir/content/Questionnaire-bps-benzo.json,
// DOMAIN.md §2.4). These linkIds are stable: the prescribing checks
// (DOMAIN.md §2.5) read the answers to them, with Answers. Changing one is
// a new version of the Questionnaire and a change to those checks.
const (
	// BPSPath ends the url of the assessment.
	BPSPath = "/Questionnaire/bps-benzo"
	// BPSAnswerPath, under the canonical base, is the CodeSystem of its
	// answer options.
	BPSAnswerPath = "/CodeSystem/bps-answer"

	// The high-risk flags of the zone of tolerance (group risk.flags,
	// required in a completed assessment): booleans, true when the
	// person has the risk. BZ-05 reads the first three, BZ-08 the fourth.
	FlagPreviousNFOD        = "risk.flags.previous-nfod"        // a previous non-fatal overdose
	FlagPhysicalComorbidity = "risk.flags.physical-comorbidity" // a physical health comorbidity
	FlagMentalComorbidity   = "risk.flags.mental-comorbidity"   // a mental health comorbidity
	FlagOpioidDependence    = "risk.flags.opioid-dependence"    // concomitant opioid dependence
	FlagAlcohol             = "risk.flags.alcohol"              // alcohol dependence or excessive drinking

	// PrescribeDecision is the prescribing decision (required): a Coding
	// of BPSAnswerPath, PrescribeYes, PrescribeNo or PrescribeDeferred.
	PrescribeDecision = "risk.prescribe-decision"
	// ReasonsNotToPrescribe is text, enabled and required when the
	// decision is PrescribeNo ("the reasons not to prescribe should be
	// clearly documented and outlined to the person", seed 004).
	ReasonsNotToPrescribe = "risk.reasons-not-to-prescribe"

	// The informed consent to prescribing (group consent, enabled and
	// required when the decision is PrescribeYes; BZ-07, BZ-12).
	ConsentHarmsDiscussed       = "consent.harms-discussed"        // boolean: drowsiness, falls and respiratory depression discussed
	ConsentOffLabel             = "consent.off-label"              // boolean: the prescribing is off label
	ConsentOffLabelAcknowledged = "consent.off-label-acknowledged" // boolean, when off label: the person acknowledged it
	ConsentStopCriteria         = "consent.stop-criteria"          // text: agreed circumstances in which the prescription stops
)

// The codes of PrescribeDecision's answers, in BPSAnswerPath.
const (
	PrescribeYes      = "prescribe-yes"
	PrescribeNo       = "prescribe-no"
	PrescribeDeferred = "prescribe-deferred"
)

// HighRiskFlags are the linkIds of the high-risk flags, in the
// Questionnaire's order.
var HighRiskFlags = []string{FlagPreviousNFOD, FlagPhysicalComorbidity, FlagMentalComorbidity, FlagOpioidDependence, FlagAlcohol}

// Answer is one answer in a QuestionnaireResponse.
type Answer struct {
	LinkID string
	// Path is the answer's FHIRPath, e.g. QuestionnaireResponse.item[4].item[2].answer[0].
	Path string
	// Type is the value[x] type: "Boolean", "Coding", "String", ...
	Type string
	// Value is the value's JSON as the client wrote it.
	Value json.RawMessage
}

// Answers returns the answers with a value of every item with the given
// linkId, at any depth, in document order. It reads the response as it
// is: run Validate first, which rejects answers to disabled items.
func Answers(response []byte, linkID string) ([]Answer, error) {
	root, err := parseJSON(response)
	if err != nil {
		return nil, err
	}
	if root.kind != '{' {
		return nil, errors.New("questionnaire: the response is not a JSON object")
	}
	var out []Answer
	var walk func(n *node, path string)
	walk = func(n *node, path string) {
		for i, it := range n.array("item") {
			p := path + ".item[" + strconv.Itoa(i) + "]"
			id, _ := it.text("linkId")
			for j, a := range it.array("answer") {
				ap := p + ".answer[" + strconv.Itoa(j) + "]"
				if types, vals := a.choice("value"); id == linkID && len(types) == 1 {
					out = append(out, Answer{LinkID: id, Path: ap, Type: types[0], Value: json.RawMessage(response[vals[0].start:vals[0].end])})
				}
				walk(a, ap)
			}
			walk(it, p)
		}
	}
	walk(root, "QuestionnaireResponse")
	return out, nil
}

// Boolean is a valueBoolean.
func (a Answer) Boolean() (v, ok bool) {
	if a.Type != "Boolean" {
		return false, false
	}
	err := json.Unmarshal(a.Value, &v)
	return v, err == nil
}

// Coding is a valueCoding's system and code.
func (a Answer) Coding() (system, code string, ok bool) {
	if a.Type != "Coding" {
		return "", "", false
	}
	var c struct{ System, Code string }
	if json.Unmarshal(a.Value, &c) != nil || c.Code == "" {
		return "", "", false
	}
	return c.System, c.Code, true
}

// Text is a valueString's (or valueUri's) text.
func (a Answer) Text() (string, bool) {
	if a.Type != "String" && a.Type != "Uri" {
		return "", false
	}
	var s string
	err := json.Unmarshal(a.Value, &s)
	return s, err == nil
}
