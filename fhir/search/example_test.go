package search_test

import (
	"fmt"
	"net/url"

	"github.com/matcare/matcare/fhir/search"
)

func ExampleParseQuery() {
	params := map[string]search.Param{
		"Goal.lifecycle-status": {Name: "lifecycle-status", Kind: search.Token, Type: "Goal"},
		"Goal.subject":          {Name: "subject", Kind: search.Reference, Type: "Goal", Targets: []string{"Patient", "Group"}},
		"Patient.name":          {Name: "name", Kind: search.String, Type: "Patient"},
	}
	lookup := func(typ, name string) (search.Param, bool) {
		p, ok := params[typ+"."+name]
		return p, ok
	}
	q, _ := url.ParseQuery("lifecycle-status=active,on-hold&subject:Patient.name=Zoë&_count=10&colour=red")
	query, issues, err := search.ParseQuery("Goal", q, lookup)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range query.Clauses {
		fmt.Print(c.Key, ": ")
		for _, l := range c.Chain {
			fmt.Printf("%s.%s -> %s, ", l.From, l.Param.Name, l.To)
		}
		fmt.Print(c.On, ".", c.Param.Name, " in")
		for _, v := range c.Values {
			if v.Token != nil {
				fmt.Print(" ", v.Token.Code)
			} else {
				fmt.Print(" ", v.Normalized)
			}
		}
		fmt.Println()
	}
	fmt.Println("count", query.Count)
	for _, is := range issues {
		fmt.Println(is.Severity, is.Diagnostics)
	}
	// colour=red is not in the table, so it is only a warning.

	// Output:
	// lifecycle-status: Goal.lifecycle-status in active on-hold
	// subject:Patient.name: Goal.subject -> Patient, Patient.name in zoe
	// count 10
	// warning search parameter colour: unknown or unsupported parameter; ignored
}
