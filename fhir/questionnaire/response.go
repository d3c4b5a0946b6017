package questionnaire

import (
	"strconv"
)

// response is a QuestionnaireResponse read against its Questionnaire.
type response struct {
	f      *form
	root   *container
	status string
	// state memoises enabled: 0 unknown, 1 being computed, 2 enabled, 3
	// disabled.
	state map[*ritem]uint8
	pos   int // the next item's position in document order
}

// container is a list of response items: the top level, a group's items
// (item.item) or an answer's items (answer.item).
type container struct {
	q      *qitem // the item whose children belong here; nil at the top level
	owner  *ritem // the group or question item holding the list; nil at the top level
	node   *node  // the object with the "item" member
	items  []*ritem
	byLink map[string][]*ritem
	path   string // FHIRPath of node: QuestionnaireResponse, ….item[2], ….answer[0]
	endPos int    // the position after the last item in it and below it
}

// ritem is one QuestionnaireResponse.item.
type ritem struct {
	n       *node
	linkID  string
	q       *qitem // nil: no item with this linkId belongs here
	in      *container
	pos     int
	path    string
	answers []*ranswer
	group   *container // a group's items
}

// ranswer is one QuestionnaireResponse.item.answer.
type ranswer struct {
	n     *node
	val   value // typ "" if the answer has no value[x]
	nvals int   // how many value[x] the answer has
	path  string
	items *container // the answer's items (answer.item), for a known question
}

// readResponse reads a QuestionnaireResponse, already parsed, against f.
func readResponse(f *form, root *node) *response {
	r := &response{f: f, state: map[*ritem]uint8{}}
	r.status, _ = root.text("status")
	r.root = r.container(root, nil, nil, "QuestionnaireResponse")
	return r
}

func (r *response) container(n *node, q *qitem, owner *ritem, path string) *container {
	c := &container{q: q, owner: owner, node: n, path: path, byLink: map[string][]*ritem{}}
	for i, in := range n.array("item") {
		if in.kind != '{' {
			continue
		}
		it := &ritem{n: in, in: c, pos: r.pos, path: path + ".item[" + strconv.Itoa(i) + "]"}
		r.pos++
		it.linkID, _ = in.text("linkId")
		it.q = r.f.child(q, it.linkID)
		c.items = append(c.items, it)
		c.byLink[it.linkID] = append(c.byLink[it.linkID], it)
		for j, an := range in.array("answer") {
			if an.kind != '{' {
				continue
			}
			a := &ranswer{n: an, path: it.path + ".answer[" + strconv.Itoa(j) + "]"}
			types, vals := an.choice("value")
			a.nvals = len(types)
			if len(types) == 1 {
				a.val = value{types[0], vals[0]}
			}
			if it.q != nil && it.q.typ != "group" {
				a.items = r.container(an, it.q, it, a.path)
			}
			it.answers = append(it.answers, a)
		}
		if it.q != nil && it.q.typ == "group" {
			it.group = r.container(in, it.q, it, it.path)
		}
	}
	c.endPos = r.pos
	return c
}

// values are the item's answers that have one value each.
func (it *ritem) values() []value {
	var vs []value
	for _, a := range it.answers {
		if a.nvals == 1 {
			vs = append(vs, a.val)
		}
	}
	return vs
}

// answered reports whether the item, or an item below it, has an answer
// with a value.
func (it *ritem) answered() bool {
	for _, a := range it.answers {
		if a.nvals > 0 || a.items != nil && a.items.answered() {
			return true
		}
	}
	return it.group != nil && it.group.answered()
}

func (c *container) answered() bool {
	for _, it := range c.items {
		if it.answered() {
			return true
		}
	}
	return false
}

// children are the Questionnaire items whose answers belong in c.
func (c *container) children(f *form) []*qitem {
	if c.q == nil {
		return f.items
	}
	return c.q.children
}

// containers are the lists of items below it: a group's items, or each
// answer's items.
func (it *ritem) containers() []*container {
	if it.group != nil {
		return []*container{it.group}
	}
	var cs []*container
	for _, a := range it.answers {
		if a.items != nil {
			cs = append(cs, a.items)
		}
	}
	return cs
}
