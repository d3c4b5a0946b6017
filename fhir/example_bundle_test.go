package fhir_test

import (
	"fmt"

	"github.com/matcare/matcare/fhir"
)

// A transaction is processed in Order; every POST gets its id before any
// resource is stored, so that references between entries (circular ones
// too) can be rewritten with RewriteReferences. Conditional references
// (RefConditional) are resolved by a search, which is left out here.
func ExampleParseBundle() {
	const base = "https://matcare.example/fhir"
	body := []byte(`{"resourceType": "Bundle", "type": "transaction", "entry": [
	  {"request": {"method": "GET", "url": "Goal?patient=Patient/p7"}},
	  {"fullUrl": "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a",
	   "resource": {"resourceType": "Goal", "lifecycleStatus": "active", "description": {"text": "walk"},
	                "subject": {"reference": "urn:uuid:88f151c0-a954-468a-88bd-5ae15c08e059"},
	                "target": [{"detailQuantity": {"value": 1.50}}]},
	   "request": {"method": "POST", "url": "Goal"}},
	  {"fullUrl": "urn:uuid:88f151c0-a954-468a-88bd-5ae15c08e059",
	   "resource": {"resourceType": "Patient", "active": true},
	   "request": {"method": "POST", "url": "Patient"}},
	  {"request": {"method": "DELETE", "url": "https://matcare.example/fhir/Goal/old"}}
	]}`)
	b, err := fhir.ParseBundle(body, base)
	if err != nil {
		fmt.Println(err)
		return
	}
	// Assign the ids of the new resources and map each entry's fullUrl
	// to the reference it becomes.
	ids := map[string]string{}
	for i, e := range b.Entries {
		if e.Request.Method == "POST" && e.FullURL != "" {
			r, _ := fhir.ParseReference(e.FullURL, base)
			ids[r.String()] = e.Request.URL.Type + "/new" + fmt.Sprint(i)
		}
	}
	resolve := func(ref string) (string, bool, error) {
		r, err := fhir.ParseReference(ref, base)
		if err != nil {
			return "", false, err
		}
		s, ok := ids[r.String()]
		return s, ok, nil
	}
	for _, i := range fhir.Order(b.Entries) {
		e := b.Entries[i]
		fmt.Println(i, e.Request.Method, e.Request.URL)
		if e.Resource != nil {
			out, err := fhir.RewriteReferences(e.Resource, resolve)
			if err != nil {
				fmt.Println(err)
				return
			}
			fmt.Printf("  %s\n", out)
		}
	}
	// Output:
	// 3 DELETE Goal/old
	// 1 POST Goal
	//   {"resourceType": "Goal", "lifecycleStatus": "active", "description": {"text": "walk"},
	// 	                "subject": {"reference": "Patient/new2"},
	// 	                "target": [{"detailQuantity": {"value": 1.50}}]}
	// 2 POST Patient
	//   {"resourceType": "Patient", "active": true}
	// 0 GET Goal?patient=Patient%2Fp7
}
