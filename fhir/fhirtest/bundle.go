package fhirtest

import (
	"encoding/json"
	"strings"
)

// Bundle is a Bundle of type typ ("batch" or "transaction") holding
// entries, as BundleEntry writes them.
func Bundle(typ string, entries ...string) string {
	return `{"resourceType":"Bundle","type":"` + typ + `","entry":[` + strings.Join(entries, ",") + `]}`
}

// BundleEntry is one entry of a batch or transaction: its fullUrl (""
// for none), request method and url, the resource's JSON ("" for none)
// and extra members of the request, such as `"ifMatch":"W/\"1\""`.
func BundleEntry(fullURL, method, reqURL, resource string, extra ...string) string {
	var b strings.Builder
	b.WriteString("{")
	if fullURL != "" {
		b.WriteString(`"fullUrl":` + Quote(fullURL) + ",")
	}
	if resource != "" {
		b.WriteString(`"resource":` + resource + ",")
	}
	b.WriteString(`"request":{"method":"` + method + `","url":` + Quote(reqURL))
	for _, x := range extra {
		b.WriteString("," + x)
	}
	b.WriteString("}}")
	return b.String()
}

// Quote is s as a JSON string.
func Quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
