package questionnaire

import (
	"errors"
	"math/big"
	"strconv"
)

// The extensions that give an answer option its score. R4 core defines
// ordinalValue; the Extensions Pack renamed it itemWeight; STU3-era
// content used questionnaire-ordinalValue. All three are read, on the
// answerOption and on its valueCoding; matcare's content uses OrdinalValueURL.
const (
	OrdinalValueURL              = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
	ItemWeightURL                = "http://hl7.org/fhir/StructureDefinition/itemWeight"
	QuestionnaireOrdinalValueURL = "http://hl7.org/fhir/StructureDefinition/questionnaire-ordinalValue"
)

// form is a parsed Questionnaire.
type form struct {
	url, version string
	items        []*qitem
	byLink       map[string]*qitem // the first item with each linkId
}

// qitem is one Questionnaire.item.
type qitem struct {
	linkID, typ                 string
	required, repeats, readOnly bool
	maxLength                   int // 0: none
	options                     []option
	valueSet                    bool // answerValueSet is present
	enableWhen                  []condition
	behavior                    string // enableBehavior: "all", "any" or ""
	children                    []*qitem
	parent                      *qitem
	path                        string // Questionnaire.item[0].item[1]
	text                        string
	scored                      bool // some option carries an ordinal value
}

// option is one answerOption.
type option struct {
	val     value
	ordinal *big.Rat // nil: none
}

// condition is one enableWhen.
type condition struct {
	question, operator string
	answer             value // answer[x]
	path               string
}

// value is a value[x] or answer[x]: its type suffix ("Boolean",
// "Coding", ...) and its JSON.
type value struct {
	typ string
	n   *node
}

// parseForm reads a Questionnaire. It fails only if q is not a JSON
// object; malformed items are read as far as they go (CheckQuestionnaire
// reports them).
func parseForm(raw []byte) (*form, error) {
	root, err := parseJSON(raw)
	if err != nil {
		return nil, err
	}
	if root.kind != '{' {
		return nil, errors.New("a Questionnaire must be a JSON object")
	}
	f := &form{byLink: map[string]*qitem{}}
	f.url, _ = root.text("url")
	f.version, _ = root.text("version")
	f.items = f.readItems(root.array("item"), nil, "Questionnaire")
	return f, nil
}

func (f *form) readItems(nodes []*node, parent *qitem, path string) []*qitem {
	var items []*qitem
	for i, n := range nodes {
		if n.kind != '{' {
			continue
		}
		q := &qitem{parent: parent, path: path + ".item[" + strconv.Itoa(i) + "]"}
		q.linkID, _ = n.text("linkId")
		q.typ, _ = n.text("type")
		q.text, _ = n.text("text")
		q.required, q.repeats, q.readOnly = n.flag("required"), n.flag("repeats"), n.flag("readOnly")
		if ml, ok := decimal(n.get("maxLength")); ok && ml.IsInt() && ml.Sign() > 0 && ml.Num().IsInt64() {
			q.maxLength = int(min(ml.Num().Int64(), 1<<31))
		}
		q.valueSet = n.get("answerValueSet") != nil
		for _, o := range n.array("answerOption") {
			types, vals := o.choice("value")
			if len(types) != 1 {
				continue
			}
			opt := option{val: value{types[0], vals[0]}, ordinal: ordinalOf(o)}
			if opt.ordinal == nil && types[0] == "Coding" {
				opt.ordinal = ordinalOf(vals[0])
			}
			q.scored = q.scored || opt.ordinal != nil
			q.options = append(q.options, opt)
		}
		for j, w := range n.array("enableWhen") {
			c := condition{path: q.path + ".enableWhen[" + strconv.Itoa(j) + "]"}
			c.question, _ = w.text("question")
			c.operator, _ = w.text("operator")
			if types, vals := w.choice("answer"); len(types) == 1 {
				c.answer = value{types[0], vals[0]}
			}
			q.enableWhen = append(q.enableWhen, c)
		}
		q.behavior, _ = n.text("enableBehavior")
		if q.linkID != "" && f.byLink[q.linkID] == nil {
			f.byLink[q.linkID] = q
		}
		q.children = f.readItems(n.array("item"), q, q.path)
		items = append(items, q)
	}
	return items
}

// ordinalOf is the score an element's extensions give it, nil if none.
func ordinalOf(n *node) *big.Rat {
	for _, e := range n.array("extension") {
		switch u, _ := e.text("url"); u {
		case OrdinalValueURL, ItemWeightURL, QuestionnaireOrdinalValueURL:
			v := e.get("valueDecimal")
			if v == nil {
				v = e.get("valueInteger")
			}
			if r, ok := decimal(v); ok {
				return r
			}
		}
	}
	return nil
}

// child is q's child item (the form's top-level item if q is nil) with
// the given linkId, nil if none.
func (f *form) child(q *qitem, linkID string) *qitem {
	items := f.items
	if q != nil {
		items = q.children
	}
	for _, c := range items {
		if c.linkID == linkID {
			return c
		}
	}
	return nil
}

// isAncestor reports whether a is a proper ancestor of q.
func isAncestor(a, q *qitem) bool {
	for p := q.parent; p != nil; p = p.parent {
		if p == a {
			return true
		}
	}
	return false
}

// where names the place of q in the Questionnaire, for messages.
func where(q *qitem) string {
	switch {
	case q.parent == nil:
		return "at the top level"
	case q.parent.typ == "group":
		return "in group " + strconv.Quote(q.parent.linkID)
	default:
		return "under the answers of " + strconv.Quote(q.parent.linkID)
	}
}
