package questionnaire

import (
	"slices"
	"strconv"
	"strings"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/matcare/matcare/fhir"
)

// CheckQuestionnaire checks what Validate relies on in a Questionnaire
// that the R4 schema does not: linkIds unique (R4 que-2); groups with
// items and display items without (que-1); display items neither
// required, repeating nor read-only (que-6, que-9); no item with both
// answerOption and answerValueSet (que-4); and every enableWhen
// well-formed: its question an item that has answers, its operator one
// of R4's seven, one answer[x], a boolean for exists (que-7), a type the
// question's answers can equal, an ordered type for >, <, >= and <=,
// enableBehavior present when there are several (que-12), and no item
// enabled through a chain of conditions that leads back to itself. All
// issues are errors; nil means the Questionnaire is fit for Validate and
// Score.
func CheckQuestionnaire(questionnaire []byte) []fhir.Issue {
	var v checker
	f, err := parseForm(questionnaire)
	if err != nil {
		v.add(r4.IssueTypeStructure, "Questionnaire", "the Questionnaire is not a JSON object")
		return v.issues
	}
	seen := map[string]bool{}
	var walk func(items []*qitem)
	walk = func(items []*qitem) {
		for _, q := range items {
			v.checkItem(f, q, seen)
			walk(q.children)
		}
	}
	walk(f.items)
	v.cycles(f)
	return v.issues
}

// conditionTypes are the answer[x] types an enableWhen on a question of
// each type can use (besides exists, which takes answerBoolean).
var conditionTypes = map[string][]string{
	"boolean":     {"Boolean"},
	"decimal":     {"Decimal", "Integer"},
	"integer":     {"Integer", "Decimal"},
	"date":        {"Date", "DateTime"},
	"dateTime":    {"DateTime", "Date"},
	"time":        {"Time"},
	"string":      {"String"},
	"text":        {"String"},
	"url":         {"String"},
	"choice":      {"Coding"},
	"open-choice": {"Coding", "String"},
	"quantity":    {"Quantity"},
	"reference":   {"Reference"},
}

var operators = []string{"exists", "=", "!=", ">", "<", ">=", "<="}

func (v *checker) checkItem(f *form, q *qitem, seen map[string]bool) {
	if q.linkID == "" {
		v.add(r4.IssueTypeRequired, q.path+".linkId", "item.linkId is required")
	} else if seen[q.linkID] {
		v.add(r4.IssueTypeInvariant, q.path+".linkId", "linkId %q is used by an earlier item; linkIds must be unique (que-2)", q.linkID)
	}
	seen[q.linkID] = true
	switch {
	case q.typ == "group" && len(q.children) == 0:
		v.add(r4.IssueTypeInvariant, q.path, "group %q has no items (que-1)", q.linkID)
	case q.typ == "display" && len(q.children) > 0:
		v.add(r4.IssueTypeInvariant, q.path, "display item %q cannot have items (que-1)", q.linkID)
	}
	if q.typ == "display" && (q.required || q.repeats || q.readOnly) {
		v.add(r4.IssueTypeInvariant, q.path, "display item %q cannot be required, repeating or read-only (que-6, que-9)", q.linkID)
	}
	if q.valueSet && len(q.options) > 0 {
		v.add(r4.IssueTypeInvariant, q.path, "item %q has both answerOption and answerValueSet (que-4)", q.linkID)
	}
	if len(q.enableWhen) > 1 && q.behavior == "" {
		v.add(r4.IssueTypeInvariant, q.path, "item %q has several enableWhen and no enableBehavior (que-12)", q.linkID)
	}
	for _, c := range q.enableWhen {
		v.checkCondition(f, q, c)
	}
}

func (v *checker) checkCondition(f *form, q *qitem, c condition) {
	t := f.byLink[c.question]
	switch {
	case t == nil:
		v.add(r4.IssueTypeInvariant, c.path+".question", "enableWhen of %q names %q, which is not an item of the Questionnaire", q.linkID, c.question)
		return
	case t.typ == "group" || t.typ == "display":
		v.add(r4.IssueTypeInvariant, c.path+".question", "enableWhen of %q names the %s item %q, which has no answers", q.linkID, t.typ, c.question)
		return
	case !slices.Contains(operators, c.operator):
		v.add(r4.IssueTypeInvariant, c.path+".operator", "enableWhen of %q has operator %q; R4 has exists, =, !=, >, <, >= and <=", q.linkID, c.operator)
		return
	case c.answer.typ == "":
		v.add(r4.IssueTypeInvariant, c.path, "enableWhen of %q needs exactly one answer[x]", q.linkID)
		return
	}
	if c.operator == "exists" {
		if c.answer.typ != "Boolean" {
			v.add(r4.IssueTypeInvariant, c.path, "enableWhen of %q: exists takes answerBoolean (que-7)", q.linkID)
		}
		return
	}
	types := slices.Clone(conditionTypes[t.typ])
	for _, o := range t.options {
		if !slices.Contains(types, o.val.typ) {
			types = append(types, o.val.typ)
		}
	}
	if !slices.Contains(types, c.answer.typ) {
		v.add(r4.IssueTypeInvariant, c.path, "enableWhen of %q compares %q, of type %s, with an answer%s, which its answers never equal", q.linkID, c.question, t.typ, c.answer.typ)
		return
	}
	switch c.operator {
	case ">", "<", ">=", "<=":
		switch family(c.answer.typ) {
		case famNumber, famDate, famTime, famString, famQuantity:
		default:
			v.add(r4.IssueTypeInvariant, c.path, "enableWhen of %q uses %s on answer%s, which has no order", q.linkID, c.operator, c.answer.typ)
		}
	}
}

// cycles reports items whose enabling depends on itself: through the
// questions of enableWhen and the items that enclose them (Tarjan's
// strongly connected components), once per cycle.
func (v *checker) cycles(f *form) {
	var all []*qitem
	var collect func(items []*qitem)
	collect = func(items []*qitem) {
		for _, q := range items {
			all = append(all, q)
			collect(q.children)
		}
	}
	collect(f.items)
	deps := func(q *qitem) []*qitem {
		var ds []*qitem
		if q.parent != nil {
			ds = append(ds, q.parent)
		}
		for _, c := range q.enableWhen {
			if t := f.byLink[c.question]; t != nil {
				ds = append(ds, t)
			}
		}
		return ds
	}
	index := map[*qitem]int{}
	low := map[*qitem]int{}
	onStack := map[*qitem]bool{}
	var stack []*qitem
	var cyclic [][]*qitem
	var connect func(q *qitem)
	connect = func(q *qitem) {
		index[q] = len(index)
		low[q] = index[q]
		stack = append(stack, q)
		onStack[q] = true
		self := false
		for _, d := range deps(q) {
			if d == q {
				self = true
			}
			if _, seen := index[d]; !seen {
				connect(d)
				low[q] = min(low[q], low[d])
			} else if onStack[d] {
				low[q] = min(low[q], index[d])
			}
		}
		if low[q] != index[q] {
			return
		}
		var scc []*qitem
		for {
			top := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			onStack[top] = false
			scc = append(scc, top)
			if top == q {
				break
			}
		}
		if len(scc) > 1 || self {
			cyclic = append(cyclic, scc)
		}
	}
	for _, q := range all {
		if _, seen := index[q]; !seen {
			connect(q)
		}
	}
	order := map[*qitem]int{}
	for i, q := range all {
		order[q] = i
	}
	for _, scc := range cyclic {
		slices.SortFunc(scc, func(a, b *qitem) int { return order[a] - order[b] })
		names := make([]string, len(scc))
		for i, q := range scc {
			names[i] = strconv.Quote(q.linkID)
		}
		first := scc[0]
		for _, q := range scc {
			if len(q.enableWhen) > 0 {
				first = q
				break
			}
		}
		v.add(r4.IssueTypeInvariant, first.path+".enableWhen", "whether item %q is enabled depends on itself, through enableWhen and enclosing items (%s)", first.linkID, strings.Join(names, ", "))
	}
}
