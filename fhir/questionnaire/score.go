package questionnaire

import (
	"math/big"
	"slices"
	"strings"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/matcare/matcare/fhir"
)

// The Severity of Dependence Scale (DOMAIN.md §3.1), recognised by the
// path of its canonical url under any base.
const (
	// SDSPath ends the url of the SDS Questionnaire.
	SDSPath = "/Questionnaire/sds-benzo"
	// SDSInstrument is Result.Instrument for the SDS.
	SDSInstrument = "sds-benzo"
	// SDSTotalLinkID is the SDS's calculated total, an integer 0-15.
	SDSTotalLinkID = "sds-total"
	// SDSCutOff is the lowest total that indicates problematic
	// benzodiazepine use (a score above 6; de las Cuevas C et al.,
	// Addiction 2000;95(2):245-250).
	SDSCutOff = 7
	// CalculatedPath, under the canonical base, is the url of the
	// extension (valueBoolean true) that marks an answer the server
	// calculated and added to the client's response.
	CalculatedPath = "/StructureDefinition/server-calculated"
)

// SDSItemLinkIDs are the five scored SDS items.
var SDSItemLinkIDs = []string{"sds-1", "sds-2", "sds-3", "sds-4", "sds-5"}

// Result is what Score found.
type Result struct {
	// Scored reports whether the Questionnaire has scored items: choice
	// or open-choice items with an ordinal value on an answer option. If
	// it is false, Response is the input and nothing else is set.
	Scored bool
	// Total is the exact sum of the scores of the answers to the enabled
	// scored items: an answer scores the ordinal value of the option it
	// is (the Questionnaire's option, never an extension the client put
	// on its answer); an answer that is no option scores nothing.
	Total *big.Rat
	// Items are the scores of the scored items answered, in the
	// Questionnaire's order.
	Items []ItemScore
	// Missing are the linkIds of the enabled scored items without a
	// scored answer, in the Questionnaire's order, each once (the scored
	// items of an enabled group that is absent included).
	Missing []string
	// Complete reports whether Missing is empty: Total is then the
	// instrument's score.
	Complete bool
	// Instrument is SDSInstrument when the Questionnaire is the SDS, ""
	// for any other.
	Instrument string
	// Response is the response to store: the input, or for the SDS the
	// input with the calculated total added (see Score).
	Response []byte
	// TotalAdded reports whether Score added the total to Response.
	TotalAdded bool
}

// ItemScore is the score of one answered item.
type ItemScore struct {
	LinkID string
	Path   string   // QuestionnaireResponse.item[1]
	Score  *big.Rat // the sum over the item's answers
}

// Int returns Total as an int, if the result is complete and Total is a
// whole number that fits.
func (r Result) Int() (int, bool) {
	if !r.Complete || r.Total == nil || !r.Total.IsInt() || !r.Total.Num().IsInt64() {
		return 0, false
	}
	n := r.Total.Num().Int64()
	if int64(int(n)) != n {
		return 0, false
	}
	return int(n), true
}

// Score scores a QuestionnaireResponse by the ordinal values of its
// Questionnaire's answer options (see OrdinalValueURL), for any
// Questionnaire: Result says which items scored what, whether every
// enabled scored item was answered, and the total. Disabled items do not
// count. Call it after Validate found no errors; on its own it does not
// report invalid answers, which simply score nothing.
//
// For the SDS (a Questionnaire whose url ends in SDSPath) it also
// handles the total, item SDSTotalLinkID:
//
//   - When sds-1 to sds-5 are all answered and the response has no total,
//     Result.Response is the client's JSON with the total added and
//     nothing else changed: an answer {"extension":[{"url":
//     "<base>/StructureDefinition/server-calculated","valueBoolean":true}],
//     "valueInteger":N} is added to the sds-total item, or, if the
//     response has no such item, an item {"linkId":"sds-total","text":…,
//     "answer":[…]} is appended to the items where the Questionnaire puts
//     it (the top level). <base> is the Questionnaire's url without
//     SDSPath. The extension tells a total the server calculated from one
//     the client sent.
//   - A total the client sent must equal the sum of the answers given;
//     otherwise Score returns an error issue naming it. For a partial
//     response (some of sds-1 to sds-5 unanswered, allowed while status
//     is in-progress) that sum is the partial sum, which is what an SDC
//     form evaluating the calculatedExpression shows; the server never
//     adds a total to a partial response.
//
// The issues are errors (return them with Err, as 422); Result.Response
// is then the input.
func Score(questionnaire, response []byte) (Result, []fhir.Issue) {
	res := Result{Response: response}
	var v checker
	f, err := parseForm(questionnaire)
	if err != nil {
		v.add(r4.IssueTypeProcessing, "", "the Questionnaire cannot be read: %v", err)
		return res, v.issues
	}
	if !anyScored(f.items) {
		return res, nil
	}
	root, err := parseJSON(response)
	if err != nil || root.kind != '{' {
		v.add(r4.IssueTypeStructure, "QuestionnaireResponse", "the QuestionnaireResponse is not a JSON object")
		return res, v.issues
	}
	r := readResponse(f, root)
	s := scorer{r: r, res: &res}
	res.Scored, res.Total = true, new(big.Rat)
	s.container(r.root)
	res.Complete = len(res.Missing) == 0
	if strings.HasSuffix(f.url, SDSPath) {
		res.Instrument = SDSInstrument
		s.sds(&v, response, strings.TrimSuffix(f.url, SDSPath))
	}
	if len(v.issues) > 0 {
		res.Response = response
		res.TotalAdded = false
	}
	return res, v.issues
}

func anyScored(items []*qitem) bool {
	for _, q := range items {
		if q.scored || anyScored(q.children) {
			return true
		}
	}
	return false
}

type scorer struct {
	r   *response
	res *Result
}

func (s *scorer) missing(linkID string) {
	if !slices.Contains(s.res.Missing, linkID) {
		s.res.Missing = append(s.res.Missing, linkID)
	}
}

// container scores the items of c and below.
func (s *scorer) container(c *container) {
	for _, q := range c.children(s.r.f) {
		occ := c.byLink[q.linkID]
		if len(occ) == 0 {
			if s.r.enabledAt(q, c) {
				s.absent(q)
			}
			continue
		}
		for _, it := range occ {
			if !s.r.enabled(it) {
				continue
			}
			if q.scored {
				sum, any := new(big.Rat), false
				for _, val := range it.values() {
					if o := ordinalOfAnswer(q, val); o != nil {
						sum.Add(sum, o)
						any = true
					}
				}
				if any {
					s.res.Total.Add(s.res.Total, sum)
					s.res.Items = append(s.res.Items, ItemScore{LinkID: q.linkID, Path: it.path, Score: sum})
				} else {
					s.missing(q.linkID)
				}
			}
			for _, cc := range it.containers() {
				s.container(cc)
			}
		}
	}
}

// absent counts the scored items of q, an enabled item with no response
// item, and below it as missing. A question's nested items are not: they
// follow answers that were not given.
func (s *scorer) absent(q *qitem) {
	if q.scored {
		s.missing(q.linkID)
	}
	if q.typ == "group" {
		for _, c := range q.children {
			s.absent(c)
		}
	}
}

// sds checks the client's SDS total or adds the server's.
func (s *scorer) sds(v *checker, raw []byte, base string) {
	f, res := s.r.f, s.res
	tq := f.byLink[SDSTotalLinkID]
	if tq == nil {
		return
	}
	complete := true
	for _, id := range SDSItemLinkIDs {
		if !slices.ContainsFunc(res.Items, func(is ItemScore) bool { return is.LinkID == id }) {
			complete = false
		}
	}
	total := res.Total.RatString()
	// The containers the total belongs in.
	containers := []*container{s.r.root}
	for _, anc := range ancestors(tq) {
		var next []*container
		for _, c := range containers {
			for _, it := range c.byLink[anc.linkID] {
				next = append(next, it.containers()...)
			}
		}
		containers = next
	}
	given := false
	var edits []edit
	for _, c := range containers {
		occ := c.byLink[SDSTotalLinkID]
		for _, it := range occ {
			if len(it.answers) == 0 {
				continue
			}
			given = true
			for _, a := range it.answers {
				if a.nvals != 1 {
					v.add(r4.IssueTypeBusinessRule, a.path, "the answer to %q has no single value; leave it out and the server calculates the total", SDSTotalLinkID)
					continue
				}
				got, ok := decimal(a.val.n)
				if a.val.typ != "Integer" || !ok || got.Cmp(res.Total) != 0 {
					v.add(r4.IssueTypeBusinessRule, a.path, "%s is %s, but the answers to sds-1 to sds-5 add up to %s", SDSTotalLinkID, describe(a.val), total)
				}
			}
		}
		if !complete || !res.Total.IsInt() {
			continue
		}
		answer := `{"extension":[{"url":` + encodeString(base+CalculatedPath) + `,"valueBoolean":true}],"valueInteger":` + total + `}`
		if len(occ) > 0 {
			for _, it := range occ {
				if len(it.answers) == 0 && it.n.get("answer") == nil && s.r.enabled(it) {
					edits = append(edits, edit{at: it.n.vals[len(it.n.vals)-1].end, text: `,"answer":[` + answer + `]`})
				}
			}
			continue
		}
		items := c.node.get("item")
		if items == nil || items.kind != '[' || len(items.vals) == 0 || !s.r.enabledAt(tq, c) {
			continue // no answers here, or the total is disabled here
		}
		item := `{"linkId":` + encodeString(SDSTotalLinkID)
		if tq.text != "" {
			item += `,"text":` + encodeString(tq.text)
		}
		item += `,"answer":[` + answer + `]}`
		edits = append(edits, edit{at: items.vals[len(items.vals)-1].end, text: "," + item})
	}
	if given || len(edits) == 0 {
		return
	}
	res.Response = splice(raw, edits)
	res.TotalAdded = true
}

// ancestors are q's enclosing items, outermost first.
func ancestors(q *qitem) []*qitem {
	var as []*qitem
	for p := q.parent; p != nil; p = p.parent {
		as = append([]*qitem{p}, as...)
	}
	return as
}

// edit inserts text at an offset.
type edit struct {
	at   int
	text string
}

// splice applies insertions; the rest of raw is copied byte for byte.
func splice(raw []byte, edits []edit) []byte {
	slices.SortStableFunc(edits, func(a, b edit) int { return a.at - b.at })
	n := len(raw)
	for _, e := range edits {
		n += len(e.text)
	}
	out := make([]byte, 0, n)
	last := 0
	for _, e := range edits {
		out = append(out, raw[last:e.at]...)
		out = append(out, e.text...)
		last = e.at
	}
	return append(out, raw[last:]...)
}
