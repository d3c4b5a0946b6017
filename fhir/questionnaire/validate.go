package questionnaire

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/matcare/matcare/fhir"
)

// MaxIssues is the most issues Validate and CheckQuestionnaire report; a
// last issue says when more were found.
const MaxIssues = 100

// Validate checks a QuestionnaireResponse against the Questionnaire it
// answers and returns what is wrong, each issue of severity error with
// the FHIRPath of the offending element (QuestionnaireResponse.item[2].
// item[0].answer[0]); nil means valid. Both resources should have passed
// fhir.Parse: Validate checks what the R4 schema cannot.
//
//   - questionnaire, if set, is the Questionnaire's url, optionally with
//     |version matching its version;
//   - every item's linkId is an item of the Questionnaire at the same
//     place: top-level items at the top level, a group's items under that
//     group (item.item), a question's nested items under its answers
//     (answer.item);
//   - a linkId appears once among its siblings, except a repeating group
//     (a repeating question has one item with several answers);
//   - groups and display items have no answers; a question that does not
//     repeat has at most one answer; an answer has at most one value[x];
//   - each answer's type follows the item's type: boolean valueBoolean,
//     decimal valueDecimal, integer valueInteger, date valueDate,
//     dateTime valueDateTime, time valueTime, string and text
//     valueString, url valueUri, attachment valueAttachment, reference
//     valueReference, quantity valueQuantity; choice valueCoding or the
//     type of its answerOptions; open-choice also valueString;
//   - a choice answer, and an open-choice Coding, is one of the
//     answerOptions (a Coding by system and code), if the item lists
//     any (answerValueSet membership needs a terminology service and is
//     not checked here); string answers respect maxLength;
//   - an item disabled by enableWhen (its own or an enclosing item's) has
//     no answers;
//   - when status is completed or amended, every enabled required item is
//     answered: a question has an answer with a value, a group an answer
//     somewhere below it. The required items of an optional group, or of
//     a question's answer, that is absent are not required.
//
// The Questionnaire is trusted: CheckQuestionnaire, not Validate,
// reports its own errors. See the package documentation for how
// enableWhen is evaluated.
func Validate(questionnaire, response []byte) []fhir.Issue {
	var v checker
	f, err := parseForm(questionnaire)
	if err != nil {
		v.add(r4.IssueTypeProcessing, "", "the Questionnaire cannot be read: %v", err)
		return v.issues
	}
	root, err := parseJSON(response)
	if err != nil || root.kind != '{' {
		v.add(r4.IssueTypeStructure, "QuestionnaireResponse", "the QuestionnaireResponse is not a JSON object")
		return v.issues
	}
	r := readResponse(f, root)
	v.r = r
	if qc, ok := root.text("questionnaire"); ok && f.url != "" {
		url, version, versioned := strings.Cut(qc, "|")
		switch {
		case url != f.url:
			v.add(r4.IssueTypeInvalid, "QuestionnaireResponse.questionnaire", "the response is to %s, not to %s", url, f.url)
		case versioned && f.version != "" && version != f.version:
			v.add(r4.IssueTypeInvalid, "QuestionnaireResponse.questionnaire", "the response is to version %s of %s; this is version %s", version, url, f.version)
		}
	}
	v.container(r.root)
	if r.status == "completed" || r.status == "amended" {
		v.required(r.root)
	}
	return v.issues
}

// Err returns the errors among issues as a *fhir.Error answered 422
// Unprocessable Entity, nil if there are none.
func Err(issues []fhir.Issue) error {
	var errs []fhir.Issue
	for _, is := range issues {
		if is.Severity == r4.IssueSeverityError || is.Severity == r4.IssueSeverityFatal {
			errs = append(errs, is)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return (&fhir.Error{Issues: errs}).WithStatus(http.StatusUnprocessableEntity)
}

// checker collects issues.
type checker struct {
	r      *response
	issues []fhir.Issue
}

func (v *checker) add(code r4.IssueType, expr, format string, args ...any) {
	switch {
	case len(v.issues) > MaxIssues:
		return
	case len(v.issues) == MaxIssues:
		code, expr, format, args = r4.IssueTypeTooCostly, "", "more problems were found; only the first %d are reported", []any{MaxIssues}
	}
	is := fhir.Issue{Severity: r4.IssueSeverityError, Code: code, Diagnostics: fmt.Sprintf(format, args...)}
	if expr != "" {
		is.Expression = []string{expr}
	}
	v.issues = append(v.issues, is)
}

func (v *checker) container(c *container) {
	for _, it := range c.items {
		v.item(it)
	}
}

func (v *checker) item(it *ritem) {
	f := v.r.f
	q := it.q
	if it.linkID == "" {
		v.add(r4.IssueTypeRequired, it.path+".linkId", "item.linkId is required")
		return
	}
	if q == nil {
		if other := f.byLink[it.linkID]; other != nil {
			v.add(r4.IssueTypeStructure, it.path, "item %q does not belong here: the Questionnaire has it %s", it.linkID, where(other))
		} else {
			v.add(r4.IssueTypeStructure, it.path, "the Questionnaire has no item %q", it.linkID)
		}
		return
	}
	if sib := it.in.byLink[it.linkID]; sib[0] != it && !(q.typ == "group" && q.repeats) {
		what := "only a repeating group may repeat; the answers to a question go in one item's answer array"
		if q.typ == "group" {
			what = "the group does not repeat"
		}
		v.add(r4.IssueTypeStructure, it.path, "item %q appears more than once here: %s", it.linkID, what)
	}
	if !v.r.enabled(it) {
		if it.answered() {
			v.add(r4.IssueTypeBusinessRule, it.path, "item %q is disabled by enableWhen (its own or an enclosing item's), so it must have no answers", it.linkID)
		}
		return
	}
	switch q.typ {
	case "group", "display":
		if len(it.answers) > 0 {
			v.add(r4.IssueTypeStructure, it.path+".answer[0]", "%s item %q cannot have answers", q.typ, it.linkID)
		}
		if q.typ == "display" && it.n.get("item") != nil {
			v.add(r4.IssueTypeStructure, it.path+".item[0]", "display item %q cannot have items", it.linkID)
		}
		if it.group != nil {
			v.container(it.group)
		}
		return
	}
	if it.n.get("item") != nil {
		v.add(r4.IssueTypeStructure, it.path+".item[0]", "the items nested under question %q go under its answers (answer.item), not under the item", it.linkID)
	}
	if !q.repeats && len(it.answers) > 1 {
		v.add(r4.IssueTypeStructure, it.path+".answer[1]", "item %q does not repeat: it can have one answer, not %d", it.linkID, len(it.answers))
	}
	for _, a := range it.answers {
		v.answer(it, a)
	}
}

// answerTypes are the value[x] types each item type takes.
var answerTypes = map[string][]string{
	"boolean":     {"Boolean"},
	"decimal":     {"Decimal"},
	"integer":     {"Integer"},
	"date":        {"Date"},
	"dateTime":    {"DateTime"},
	"time":        {"Time"},
	"string":      {"String"},
	"text":        {"String"},
	"url":         {"Uri"},
	"choice":      {"Coding"},
	"open-choice": {"Coding", "String"},
	"attachment":  {"Attachment"},
	"reference":   {"Reference"},
	"quantity":    {"Quantity"},
}

// allowedTypes are the value[x] types q takes: those of its type, and
// for choice and open-choice those of its answer options.
func allowedTypes(q *qitem) []string {
	types := slices.Clone(answerTypes[q.typ])
	if q.typ == "choice" || q.typ == "open-choice" {
		for _, o := range q.options {
			if !slices.Contains(types, o.val.typ) {
				types = append(types, o.val.typ)
			}
		}
	}
	return types
}

func (v *checker) answer(it *ritem, a *ranswer) {
	switch {
	case a.nvals > 1:
		v.add(r4.IssueTypeStructure, a.path, "an answer has one value[x]; this one has %d", a.nvals)
	case a.nvals == 1:
		v.value(it, a)
	}
	if a.items != nil {
		v.container(a.items)
	}
}

func (v *checker) value(it *ritem, a *ranswer) {
	q := it.q
	types := allowedTypes(q)
	if !slices.Contains(types, a.val.typ) {
		if len(types) == 0 {
			v.add(r4.IssueTypeValue, a.path, "item %q has type %q, which takes no answers", it.linkID, q.typ)
			return
		}
		want := make([]string, len(types))
		for i, t := range types {
			want[i] = "value" + t
		}
		v.add(r4.IssueTypeValue, a.path, "item %q is of type %s: its answers are %s, not value%s", it.linkID, q.typ, strings.Join(want, " or "), a.val.typ)
		return
	}
	if msg := shape(a.val); msg != "" {
		v.add(r4.IssueTypeValue, a.path+".value"+a.val.typ, "%s", msg)
		return
	}
	if (q.typ == "choice" || q.typ == "open-choice" && a.val.typ != "String") && len(q.options) > 0 {
		if !slices.ContainsFunc(q.options, func(o option) bool { return matches(a.val, o) }) {
			v.add(r4.IssueTypeCodeInvalid, a.path, "%s is not one of the answer options of item %q", describe(a.val), it.linkID)
		}
	}
	if q.maxLength > 0 && (a.val.typ == "String" || a.val.typ == "Uri") {
		if n := utf8.RuneCountInString(a.val.n.str); n > q.maxLength {
			v.add(r4.IssueTypeTooLong, a.path, "the answer to item %q has %d characters; maxLength is %d", it.linkID, n, q.maxLength)
		}
	}
}

// shape checks that a value is a JSON value of its type's kind, which
// fhir.Parse's schema check also does; Validate must not rely on it.
func shape(val value) string {
	n := val.n
	switch val.typ {
	case "Boolean":
		if n.kind != 'b' {
			return "valueBoolean must be true or false"
		}
	case "Integer":
		if _, ok := strconv.ParseInt(n.str, 10, 32); n.kind != 'n' || ok != nil {
			return "valueInteger must be a whole number"
		}
	case "Decimal":
		if n.kind != 'n' {
			return "valueDecimal must be a number"
		}
	case "Coding", "Quantity", "Reference", "Attachment":
		if n.kind != '{' {
			return "value" + val.typ + " must be an object"
		}
	default:
		if n.kind != '"' {
			return "value" + val.typ + " must be a string"
		}
	}
	return ""
}

// describe shows an answer value in a message.
func describe(val value) string {
	n := val.n
	switch val.typ {
	case "Coding":
		sys, _ := n.text("system")
		code, _ := n.text("code")
		return fmt.Sprintf("the Coding %s|%s", sys, code)
	case "Reference":
		ref, _ := n.text("reference")
		return fmt.Sprintf("the reference %q", ref)
	}
	if n.kind == '"' {
		return strconv.Quote(n.str)
	}
	return n.str
}

// required checks, for a completed response, that the enabled required
// items of c and below are answered.
func (v *checker) required(c *container) {
	for _, q := range c.children(v.r.f) {
		occ := c.byLink[q.linkID]
		if len(occ) == 0 {
			if q.required && v.r.enabledAt(q, c) {
				v.add(r4.IssueTypeRequired, c.path, "required item %q is not answered", q.linkID)
			}
			continue
		}
		for _, it := range occ {
			if !v.r.enabled(it) {
				continue
			}
			if q.required && !it.answered() {
				v.add(r4.IssueTypeRequired, it.path, "required item %q is not answered", q.linkID)
			}
			for _, cc := range it.containers() {
				v.required(cc)
			}
		}
	}
}
