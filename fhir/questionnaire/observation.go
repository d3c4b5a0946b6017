package questionnaire

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/matcare/matcare/fhir"
)

// ObservationCodeSystemPath, under the canonical base, is the CodeSystem
// of the codes of matcare's derived Observations
// (fhir/content/CodeSystem-matcare-observation.json).
const ObservationCodeSystemPath = "/CodeSystem/matcare-observation"

// The codes SDSObservation uses, in ObservationCodeSystemPath.
const (
	SDSTotalCode  = "sds-total-benzo"  // the Observation: the SDS total
	SDSCutOffCode = "sds-cutoff-benzo" // component: the cut-off used (valueInteger)
	SDSMetCode    = "sds-cutoff-met"   // component: whether the total reaches it (valueBoolean)
)

// ErrNoObservation is returned by SDSObservation for a response that
// does not yield one.
var ErrNoObservation = errors.New("questionnaire: the response yields no SDS Observation")

// SDSObservation returns the Observation that records the SDS total of a
// completed (or amended) response to the SDS, as stored after Score (so
// with its total); qrID is the id the response is stored under and base
// the canonical base (MATCARE_CANONICAL_BASE). The Observation has no id
// and no meta: the caller stores it, in the same transaction as the
// response. It has:
//
//   - status final, category survey, code matcare-observation
//     sds-total-benzo (no LOINC code for the SDS total was verified);
//   - subject, the response's subject as the client wrote it;
//     effectiveDateTime, the response's authored (both left out when the
//     response has none);
//   - valueInteger, the total;
//   - interpretation POS or NEG (v3-ObservationInterpretation) against the
//     cut-off SDSCutOff, with a text citing it, and the components
//     sds-cutoff-benzo (valueInteger 7) and sds-cutoff-met (valueBoolean);
//   - derivedFrom QuestionnaireResponse/qrID.
//
// The error wraps ErrNoObservation when the response is not a completed
// or amended response to the SDS with sds-1 to sds-5 answered and one
// integer total from 0 to 15.
func SDSObservation(base, qrID string, response []byte) ([]byte, error) {
	base = strings.TrimSuffix(base, "/")
	if base == "" {
		return nil, errors.New("questionnaire: SDSObservation needs the canonical base")
	}
	if !fhir.ValidID(qrID) {
		return nil, fmt.Errorf("questionnaire: %q is not a resource id", qrID)
	}
	fail := func(format string, args ...any) ([]byte, error) {
		return nil, fmt.Errorf("%w: "+format, append([]any{ErrNoObservation}, args...)...)
	}
	root, err := parseJSON(response)
	if err != nil || root.kind != '{' {
		return fail("the response is not a JSON object")
	}
	if rt, _ := root.text("resourceType"); rt != "QuestionnaireResponse" {
		return fail("not a QuestionnaireResponse")
	}
	if qc, _ := root.text("questionnaire"); !strings.HasSuffix(strings.SplitN(qc, "|", 2)[0], SDSPath) {
		return fail("the response is not to the SDS")
	}
	if status, _ := root.text("status"); status != "completed" && status != "amended" {
		return fail("status is %q, not completed or amended", status)
	}
	total := -1
	answered := map[string]bool{}
	for _, it := range root.array("item") {
		id, _ := it.text("linkId")
		answers := it.array("answer")
		if slices.Contains(SDSItemLinkIDs, id) && len(answers) > 0 {
			answered[id] = true
		}
		if id != SDSTotalLinkID {
			continue
		}
		if total >= 0 || len(answers) != 1 {
			return fail("the response needs one answer to %s", SDSTotalLinkID)
		}
		n, err := strconv.Atoi(answers[0].get("valueInteger").number())
		if err != nil || n < 0 || n > 15 {
			return fail("the answer to %s is not an integer from 0 to 15", SDSTotalLinkID)
		}
		total = n
	}
	if total < 0 {
		return fail("the response has no %s", SDSTotalLinkID)
	}
	for _, id := range SDSItemLinkIDs {
		if !answered[id] {
			return fail("%s is not answered", id)
		}
	}

	system := encodeString(base + ObservationCodeSystemPath)
	coding := func(code, display string) string {
		return `{"system":` + system + `,"code":` + encodeString(code) + `,"display":` + encodeString(display) + `}`
	}
	met := total >= SDSCutOff
	interp, interpDisplay, verdict := "NEG", "Negative", "below the cut-off: problematic use is not indicated"
	if met {
		interp, interpDisplay, verdict = "POS", "Positive", "at or above the cut-off: problematic benzodiazepine use or dependence is indicated"
	}
	var b bytes.Buffer
	b.WriteString(`{"resourceType":"Observation","status":"final"`)
	b.WriteString(`,"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"survey","display":"Survey"}]}]`)
	b.WriteString(`,"code":{"coding":[` + coding(SDSTotalCode, "Severity of Dependence Scale total score (benzodiazepines)") + `],"text":"SDS total score (benzodiazepines)"}`)
	if s := root.get("subject"); s != nil {
		b.WriteString(`,"subject":`)
		b.Write(response[s.start:s.end])
	}
	if a := root.get("authored"); a != nil && a.kind == '"' {
		b.WriteString(`,"effectiveDateTime":`)
		b.Write(response[a.start:a.end])
	}
	b.WriteString(`,"valueInteger":` + strconv.Itoa(total))
	text := fmt.Sprintf("SDS total %d is %s (cut-off %d, a score above 6: de las Cuevas C et al., Addiction 2000;95(2):245-250)", total, verdict, SDSCutOff)
	b.WriteString(`,"interpretation":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation","code":"` + interp + `","display":"` + interpDisplay + `"}],"text":` + encodeString(text) + `}]`)
	b.WriteString(`,"derivedFrom":[{"reference":` + encodeString("QuestionnaireResponse/"+qrID) + `}]`)
	b.WriteString(`,"component":[{"code":{"coding":[` + coding(SDSCutOffCode, "Severity of Dependence Scale cut-off used (benzodiazepines)") + `]},"valueInteger":` + strconv.Itoa(SDSCutOff) + `}`)
	b.WriteString(`,{"code":{"coding":[` + coding(SDSMetCode, "Severity of Dependence Scale cut-off met") + `]},"valueBoolean":` + strconv.FormatBool(met) + `}]}`)
	return b.Bytes(), nil
}

// number is a number's literal, "" if n is not a number.
func (n *node) number() string {
	if n == nil || n.kind != 'n' {
		return ""
	}
	return n.str
}
