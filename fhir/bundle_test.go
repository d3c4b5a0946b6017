package fhir

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// bundleOf builds a Bundle of type typ with the given entries (JSON).
func bundleOf(typ string, entries ...string) []byte {
	b := `{"resourceType":"Bundle","type":"` + typ + `"`
	if len(entries) > 0 {
		b += `,"entry":[` + strings.Join(entries, ",") + `]`
	}
	return []byte(b + `}`)
}

const (
	patient    = `{"resourceType":"Patient","active":true}`
	patient1   = `{"resourceType":"Patient","id":"1","active":true}`
	uuidA      = "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a"
	uuidB      = "urn:uuid:88f151c0-a954-468a-88bd-5ae15c08e059"
	jsonPatch  = `[{"op":"replace","path":"/active","value":false}]`
	binaryType = `"resourceType":"Binary","contentType":"application/json-patch+json"`
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// wantIssue checks that err is a 400 *Error whose first issue has code
// and expression.
func wantIssue(t *testing.T, err error, code r4.IssueType, expr string) {
	t.Helper()
	var fe *Error
	if !errors.As(err, &fe) {
		t.Fatalf("error = %v, want *Error", err)
	}
	if fe.HTTPStatus() != http.StatusBadRequest {
		t.Errorf("status = %d, want 400 (%v)", fe.HTTPStatus(), fe)
	}
	is := fe.Issues[0]
	if is.Code != code {
		t.Errorf("code = %v, want %v (%v)", is.Code, code, fe)
	}
	if len(is.Expression) != 1 || is.Expression[0] != expr {
		t.Errorf("expression = %q, want %q (%v)", is.Expression, expr, fe)
	}
	if is.Severity != r4.IssueSeverityError || is.Diagnostics == "" {
		t.Errorf("issue = %+v", is)
	}
}

func TestParseBundleRejectsBundle(t *testing.T) {
	tests := []struct {
		name, body string
		code       r4.IssueType
		expr       string
	}{
		{"not json", `{"resourceType":`, r4.IssueTypeStructure, "Bundle"},
		{"array", `[]`, r4.IssueTypeStructure, "Bundle"},
		{"trailing data", `{"resourceType":"Bundle","type":"batch"} {}`, r4.IssueTypeStructure, "Bundle"},
		{"no resourceType", `{"type":"batch"}`, r4.IssueTypeRequired, "Bundle.resourceType"},
		{"resourceType not a string", `{"resourceType":1,"type":"batch"}`, r4.IssueTypeRequired, "Bundle.resourceType"},
		{"not a Bundle", `{"resourceType":"Patient","type":"batch"}`, r4.IssueTypeInvalid, "Bundle.resourceType"},
		{"no type", `{"resourceType":"Bundle"}`, r4.IssueTypeRequired, "Bundle.type"},
		{"type not a string", `{"resourceType":"Bundle","type":["batch"]}`, r4.IssueTypeStructure, "Bundle.type"},
		{"document", `{"resourceType":"Bundle","type":"document"}`, r4.IssueTypeValue, "Bundle.type"},
		{"searchset", `{"resourceType":"Bundle","type":"searchset"}`, r4.IssueTypeValue, "Bundle.type"},
		{"transaction-response", `{"resourceType":"Bundle","type":"transaction-response"}`, r4.IssueTypeValue, "Bundle.type"},
		{"Transaction", `{"resourceType":"Bundle","type":"Transaction"}`, r4.IssueTypeValue, "Bundle.type"},
		{"entry not an array", `{"resourceType":"Bundle","type":"batch","entry":{"request":1}}`, r4.IssueTypeStructure, "Bundle.entry"},
		{"empty entry array", `{"resourceType":"Bundle","type":"batch","entry":[]}`, r4.IssueTypeStructure, "Bundle.entry"},
		{"duplicate name", `{"resourceType":"Bundle","type":"batch","type":"transaction"}`, r4.IssueTypeStructure, "Bundle.type"},
		{"null in an entry", `{"resourceType":"Bundle","type":"batch","entry":[{"fullUrl":null}]}`, r4.IssueTypeStructure, "Bundle.entry[0].fullUrl"},
		{"empty string in a resource", `{"resourceType":"Bundle","type":"batch","entry":[{"resource":{"resourceType":"Patient","gender":""}}]}`, r4.IssueTypeStructure, "Bundle.entry[0].resource.gender"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := ParseBundle([]byte(tt.body), testBase)
			if b != nil {
				t.Errorf("bundle = %+v, want nil", b)
			}
			wantIssue(t, err, tt.code, tt.expr)
		})
	}
}

// entryTests are single entries that are wrong, with the issue expected.
var entryTests = []struct {
	name, entry string
	code        r4.IssueType
	expr        string // without the "Bundle.entry[0]" prefix
}{
	{"entry not an object", `1`, r4.IssueTypeStructure, ""},
	{"modifierExtension", `{"modifierExtension":[{"url":"http://x","valueBoolean":true}],"request":{"method":"GET","url":"Patient"}}`, r4.IssueTypeNotSupported, ".modifierExtension"},
	{"request modifierExtension", `{"request":{"method":"GET","url":"Patient","modifierExtension":[{"url":"http://x","valueBoolean":true}]}}`, r4.IssueTypeNotSupported, ".request.modifierExtension"},
	{"no request", `{"resource":` + patient + `}`, r4.IssueTypeRequired, ".request"},
	{"request not an object", `{"request":"GET Patient"}`, r4.IssueTypeStructure, ".request"},
	{"no method", `{"request":{"url":"Patient"}}`, r4.IssueTypeRequired, ".request.method"},
	{"method not a string", `{"request":{"method":1,"url":"Patient"}}`, r4.IssueTypeStructure, ".request.method"},
	{"unknown method", `{"request":{"method":"OPTIONS","url":"Patient"}}`, r4.IssueTypeCodeInvalid, ".request.method"},
	{"lower-case method", `{"request":{"method":"get","url":"Patient"}}`, r4.IssueTypeCodeInvalid, ".request.method"},
	{"no url", `{"request":{"method":"GET"}}`, r4.IssueTypeRequired, ".request.url"},
	{"url not a string", `{"request":{"method":"GET","url":{"a":1}}}`, r4.IssueTypeStructure, ".request.url"},
	{"ifMatch not a string", `{"request":{"method":"DELETE","url":"Patient/1","ifMatch":2}}`, r4.IssueTypeStructure, ".request.ifMatch"},
	{"url of another server", `{"request":{"method":"GET","url":"http://other.org/fhir/Patient/1"}}`, r4.IssueTypeNotSupported, ".request.url"},
	{"url of another base path", `{"request":{"method":"GET","url":"http://example.org/fhir2/Patient/1"}}`, r4.IssueTypeNotSupported, ".request.url"},
	{"urn url", `{"request":{"method":"GET","url":"` + uuidA + `"}}`, r4.IssueTypeNotSupported, ".request.url"},
	{"url with fragment", `{"request":{"method":"GET","url":"Patient/1#x"}}`, r4.IssueTypeValue, ".request.url"},
	{"url with bad query", `{"request":{"method":"GET","url":"Patient?name=%zz"}}`, r4.IssueTypeValue, ".request.url"},
	{"url without path", `{"request":{"method":"GET","url":"/"}}`, r4.IssueTypeValue, ".request.url"},
	{"url not a type", `{"request":{"method":"GET","url":"patient/1"}}`, r4.IssueTypeNotSupported, ".request.url"},
	{"metadata", `{"request":{"method":"GET","url":"metadata"}}`, r4.IssueTypeNotSupported, ".request.url"},
	{"bad id", `{"request":{"method":"GET","url":"Patient/a_b"}}`, r4.IssueTypeValue, ".request.url"},
	{"id too long", `{"request":{"method":"GET","url":"Patient/` + strings.Repeat("a", 65) + `"}}`, r4.IssueTypeValue, ".request.url"},
	{"bad version", `{"request":{"method":"GET","url":"Patient/1/_history/a_b"}}`, r4.IssueTypeValue, ".request.url"},
	{"empty segment", `{"request":{"method":"GET","url":"Patient//1"}}`, r4.IssueTypeValue, ".request.url"},
	{"bad escape in path", `{"request":{"method":"GET","url":"Patient/%zz"}}`, r4.IssueTypeValue, ".request.url"},
	{"compartment search", `{"request":{"method":"GET","url":"Patient/1/Goal"}}`, r4.IssueTypeNotSupported, ".request.url"},
	{"_search", `{"request":{"method":"GET","url":"Patient/_search?name=x"}}`, r4.IssueTypeNotSupported, ".request.url"},
	{"after an operation", `{"request":{"method":"GET","url":"Patient/1/$everything/x"}}`, r4.IssueTypeValue, ".request.url"},
	{"bad operation name", `{"request":{"method":"GET","url":"Patient/$a%2Fb"}}`, r4.IssueTypeValue, ".request.url"},
	{"bare $", `{"request":{"method":"GET","url":"$"}}`, r4.IssueTypeValue, ".request.url"},
	{"after a system operation", `{"request":{"method":"GET","url":"$meta/x"}}`, r4.IssueTypeValue, ".request.url"},
	{"after _history", `{"request":{"method":"GET","url":"_history/1"}}`, r4.IssueTypeValue, ".request.url"},
	{"too long", `{"request":{"method":"GET","url":"Patient/1/_history/2/x"}}`, r4.IssueTypeValue, ".request.url"},
	{"POST to an id", `{"resource":` + patient + `,"request":{"method":"POST","url":"Patient/1"}}`, r4.IssueTypeInvalid, ".request.url"},
	{"POST with a query", `{"resource":` + patient + `,"request":{"method":"POST","url":"Patient?identifier=x"}}`, r4.IssueTypeInvalid, ".request.url"},
	{"POST to history", `{"resource":` + patient + `,"request":{"method":"POST","url":"Patient/_history"}}`, r4.IssueTypeInvalid, ".request.url"},
	{"POST system", `{"resource":` + patient + `,"request":{"method":"POST","url":"?_type=Patient"}}`, r4.IssueTypeInvalid, ".request.url"},
	{"PUT without id or query", `{"resource":` + patient + `,"request":{"method":"PUT","url":"Patient"}}`, r4.IssueTypeInvalid, ".request.url"},
	{"PUT with empty query", `{"resource":` + patient + `,"request":{"method":"PUT","url":"Patient?"}}`, r4.IssueTypeInvalid, ".request.url"},
	{"PUT with id and query", `{"resource":` + patient1 + `,"request":{"method":"PUT","url":"Patient/1?active=true"}}`, r4.IssueTypeInvalid, ".request.url"},
	{"PUT a version", `{"resource":` + patient1 + `,"request":{"method":"PUT","url":"Patient/1/_history/2"}}`, r4.IssueTypeInvalid, ".request.url"},
	{"PUT an operation", `{"resource":` + patient1 + `,"request":{"method":"PUT","url":"Patient/1/$x"}}`, r4.IssueTypeInvalid, ".request.url"},
	{"DELETE history", `{"request":{"method":"DELETE","url":"_history"}}`, r4.IssueTypeInvalid, ".request.url"},
	{"DELETE type", `{"request":{"method":"DELETE","url":"Patient"}}`, r4.IssueTypeInvalid, ".request.url"},
	{"DELETE system search", `{"request":{"method":"DELETE","url":"?_type=Patient"}}`, r4.IssueTypeInvalid, ".request.url"},
	{"PATCH without id", `{"resource":{` + binaryType + `,"data":"` + b64(jsonPatch) + `"},"request":{"method":"PATCH","url":"Patient"}}`, r4.IssueTypeInvalid, ".request.url"},
	{"POST without resource", `{"request":{"method":"POST","url":"Patient"}}`, r4.IssueTypeRequired, ".resource"},
	{"PUT without resource", `{"request":{"method":"PUT","url":"Patient/1"}}`, r4.IssueTypeRequired, ".resource"},
	{"resource not an object", `{"resource":[1],"request":{"method":"POST","url":"Patient"}}`, r4.IssueTypeStructure, ".resource"},
	{"resource without resourceType", `{"resource":{"active":true},"request":{"method":"POST","url":"Patient"}}`, r4.IssueTypeRequired, ".resource.resourceType"},
	{"resourceType not a string", `{"resource":{"resourceType":["Patient"]},"request":{"method":"POST","url":"Patient"}}`, r4.IssueTypeRequired, ".resource.resourceType"},
	{"POST type mismatch", `{"resource":` + patient + `,"request":{"method":"POST","url":"Goal"}}`, r4.IssueTypeInvalid, ".resource.resourceType"},
	{"PUT type mismatch", `{"resource":` + patient1 + `,"request":{"method":"PUT","url":"Goal/1"}}`, r4.IssueTypeInvalid, ".resource.resourceType"},
	{"conditional PUT type mismatch", `{"resource":` + patient + `,"request":{"method":"PUT","url":"Goal?identifier=x"}}`, r4.IssueTypeInvalid, ".resource.resourceType"},
	{"PUT without id", `{"resource":` + patient + `,"request":{"method":"PUT","url":"Patient/1"}}`, r4.IssueTypeRequired, ".resource.id"},
	{"PUT id mismatch", `{"resource":` + patient1 + `,"request":{"method":"PUT","url":"Patient/2"}}`, r4.IssueTypeInvalid, ".resource.id"},
	{"GET with resource", `{"resource":` + patient + `,"request":{"method":"GET","url":"Patient/1"}}`, r4.IssueTypeInvalid, ".resource"},
	{"DELETE with resource", `{"resource":` + patient1 + `,"request":{"method":"DELETE","url":"Patient/1"}}`, r4.IssueTypeInvalid, ".resource"},
	{"PATCH without resource", `{"request":{"method":"PATCH","url":"Patient/1"}}`, r4.IssueTypeRequired, ".resource"},
	{"FHIRPath Patch", `{"resource":{"resourceType":"Parameters","parameter":[{"name":"operation","part":[{"name":"type","valueCode":"delete"},{"name":"path","valueString":"Patient.active"}]}]},"request":{"method":"PATCH","url":"Patient/1"}}`, r4.IssueTypeNotSupported, ".resource"},
	{"PATCH with a resource", `{"resource":` + patient1 + `,"request":{"method":"PATCH","url":"Patient/1"}}`, r4.IssueTypeInvalid, ".resource.resourceType"},
	{"PATCH Binary without contentType", `{"resource":{"resourceType":"Binary","data":"` + b64(jsonPatch) + `"},"request":{"method":"PATCH","url":"Patient/1"}}`, r4.IssueTypeRequired, ".resource.contentType"},
	{"PATCH Binary of JSON", `{"resource":{"resourceType":"Binary","contentType":"application/json","data":"` + b64(jsonPatch) + `"},"request":{"method":"PATCH","url":"Patient/1"}}`, r4.IssueTypeNotSupported, ".resource.contentType"},
	{"PATCH Binary of XML patch", `{"resource":{"resourceType":"Binary","contentType":"application/xml-patch+xml","data":"PGRpZmYvPg=="},"request":{"method":"PATCH","url":"Patient/1"}}`, r4.IssueTypeNotSupported, ".resource.contentType"},
	{"PATCH Binary without data", `{"resource":{` + binaryType + `},"request":{"method":"PATCH","url":"Patient/1"}}`, r4.IssueTypeRequired, ".resource.data"},
	{"PATCH Binary bad base64", `{"resource":{` + binaryType + `,"data":"not base64!"},"request":{"method":"PATCH","url":"Patient/1"}}`, r4.IssueTypeValue, ".resource.data"},
	{"PATCH Binary not an array", `{"resource":{` + binaryType + `,"data":"` + b64(`{"op":"remove","path":"/active"}`) + `"},"request":{"method":"PATCH","url":"Patient/1"}}`, r4.IssueTypeValue, ".resource.data"},
	{"PATCH Binary not JSON", `{"resource":{` + binaryType + `,"data":"` + b64(`[{"op":`) + `"},"request":{"method":"PATCH","url":"Patient/1"}}`, r4.IssueTypeValue, ".resource.data"},
	{"ifNoneExist on PUT", `{"resource":` + patient1 + `,"request":{"method":"PUT","url":"Patient/1","ifNoneExist":"identifier=x"}}`, r4.IssueTypeInvalid, ".request.ifNoneExist"},
	{"bad ifNoneExist", `{"resource":` + patient + `,"request":{"method":"POST","url":"Patient","ifNoneExist":"identifier=%zz"}}`, r4.IssueTypeValue, ".request.ifNoneExist"},
	{"fullUrl relative", `{"fullUrl":"Patient/1","resource":` + patient1 + `,"request":{"method":"PUT","url":"Patient/1"}}`, r4.IssueTypeValue, ".fullUrl"},
	{"fullUrl not a string", `{"fullUrl":1,"request":{"method":"GET","url":"Patient/1"}}`, r4.IssueTypeStructure, ".fullUrl"},
	{"fullUrl fragment", `{"fullUrl":"#a","resource":` + patient + `,"request":{"method":"POST","url":"Patient"}}`, r4.IssueTypeValue, ".fullUrl"},
	{"fullUrl conditional", `{"fullUrl":"Patient?identifier=x","resource":` + patient + `,"request":{"method":"POST","url":"Patient"}}`, r4.IssueTypeValue, ".fullUrl"},
	{"fullUrl bad uuid", `{"fullUrl":"urn:uuid:1234","resource":` + patient + `,"request":{"method":"POST","url":"Patient"}}`, r4.IssueTypeValue, ".fullUrl"},
	{"fullUrl bad oid", `{"fullUrl":"urn:oid:1.02","resource":` + patient + `,"request":{"method":"POST","url":"Patient"}}`, r4.IssueTypeValue, ".fullUrl"},
	{"fullUrl version specific", `{"fullUrl":"http://example.org/fhir/Patient/1/_history/1","resource":` + patient1 + `,"request":{"method":"PUT","url":"Patient/1"}}`, r4.IssueTypeValue, ".fullUrl"},
	{"external fullUrl version specific", `{"fullUrl":"http://other.org/Patient/1/_history/1","resource":` + patient1 + `,"request":{"method":"PUT","url":"Patient/1"}}`, r4.IssueTypeValue, ".fullUrl"},
	{"fullUrl of another type", `{"fullUrl":"http://example.org/fhir/Goal/1","resource":` + patient1 + `,"request":{"method":"PUT","url":"Patient/1"}}`, r4.IssueTypeInvalid, ".fullUrl"},
	{"fullUrl of another id", `{"fullUrl":"http://other.org/fhir/Patient/2","resource":` + patient1 + `,"request":{"method":"POST","url":"Patient"}}`, r4.IssueTypeInvalid, ".fullUrl"},
	{"resource id not a string", `{"resource":{"resourceType":"Patient","id":1},"request":{"method":"POST","url":"Patient"}}`, r4.IssueTypeStructure, ".resource.id"},
	{"fullUrl on this server but not a resource", `{"fullUrl":"http://example.org/fhir/x","resource":` + patient + `,"request":{"method":"POST","url":"Patient"}}`, r4.IssueTypeValue, ".fullUrl"},
}

func TestParseBundleEntryErrors(t *testing.T) {
	for _, tt := range entryTests {
		t.Run(tt.name, func(t *testing.T) {
			expr := "Bundle.entry[0]" + tt.expr
			// A transaction fails as a whole ...
			b, err := ParseBundle(bundleOf("transaction", tt.entry), testBase)
			if b != nil {
				t.Fatalf("transaction accepted: %+v", b.Entries[0])
			}
			wantIssue(t, err, tt.code, expr)
			if fe := err.(*Error); len(fe.Issues) != 1 {
				t.Errorf("issues = %v, want one", fe.Issues)
			}
			// ... a batch answers the entry with its error.
			b, err = ParseBundle(bundleOf("batch", `{"request":{"method":"GET","url":"Patient/1"}}`, tt.entry), testBase)
			if err != nil {
				t.Fatalf("batch: %v", err)
			}
			if b.Entries[0].Err != nil {
				t.Errorf("good entry has error %v", b.Entries[0].Err)
			}
			if b.Entries[1].Err == nil {
				t.Fatalf("bad entry accepted in a batch: %+v", b.Entries[1])
			}
			wantIssue(t, b.Entries[1].Err, tt.code, "Bundle.entry[1]"+tt.expr)
		})
	}
}

func TestParseBundleTransactionIdentities(t *testing.T) {
	put := func(fullURL, url, res string) string {
		f := ""
		if fullURL != "" {
			f = `"fullUrl":"` + fullURL + `",`
		}
		return `{` + f + `"resource":` + res + `,"request":{"method":"PUT","url":"` + url + `"}}`
	}
	post := func(fullURL string) string {
		return `{"fullUrl":"` + fullURL + `","resource":` + patient + `,"request":{"method":"POST","url":"Patient"}}`
	}
	req := func(method, url string) string {
		return `{"request":{"method":"` + method + `","url":"` + url + `"}}`
	}
	patch := func(url string) string {
		return `{"resource":{` + binaryType + `,"data":"` + b64(jsonPatch) + `"},"request":{"method":"PATCH","url":"` + url + `"}}`
	}
	tests := []struct {
		name    string
		entries []string
		exprs   []string // the issues' expressions; none: accepted
	}{
		{"distinct", []string{post(uuidA), post(uuidB), put("", "Patient/1", patient1), req("DELETE", "Patient/2"), req("GET", "Patient/1")}, nil},
		{"same fullUrl", []string{post(uuidA), post(uuidA)}, []string{"Bundle.entry[1].fullUrl"}},
		{"same uuid in other case", []string{post(uuidA), post(strings.ToUpper(uuidA))}, []string{"Bundle.entry[1].fullUrl"}},
		{"same oid", []string{post("urn:oid:1.2.3"), post("urn:oid:1.2.3")}, []string{"Bundle.entry[1].fullUrl"}},
		{"same URL by http and https", []string{put("http://example.org/fhir/Patient/1", "Patient/1", patient1), post("https://example.org/fhir/Patient/1")}, []string{"Bundle.entry[1].fullUrl"}},
		{"same external fullUrl", []string{post("http://other.org/Patient/1"), post("http://other.org/Patient/1")}, []string{"Bundle.entry[1].fullUrl"}},
		{"two PUTs", []string{put("", "Patient/1", patient1), put("", "Patient/1", patient1)}, []string{"Bundle.entry[1].request.url"}},
		{"DELETE and PUT", []string{req("DELETE", "Patient/1"), put("", "Patient/1", patient1)}, []string{"Bundle.entry[1].request.url"}},
		{"PUT and absolute PATCH", []string{put("", "Patient/1", patient1), patch("http://example.org/fhir/Patient/1")}, []string{"Bundle.entry[1].request.url"}},
		{"two DELETEs", []string{req("DELETE", "Patient/1"), req("DELETE", "/Patient/1")}, []string{"Bundle.entry[1].request.url"}},
		{"same conditional", []string{put("", "Patient?identifier=a&name=b", patient), req("DELETE", "Patient?name=b&identifier=a")}, []string{"Bundle.entry[1].request.url"}},
		{"different conditionals", []string{put("", "Patient?identifier=a", patient), req("DELETE", "Patient?identifier=b")}, nil},
		{"same id, other type", []string{req("DELETE", "Goal/1"), put("", "Patient/1", patient1)}, nil},
		{"reads do not write", []string{req("GET", "Patient/1"), req("HEAD", "Patient/1"), put("", "Patient/1", patient1)}, nil},
		{"POST claims the id a PUT writes", []string{post("http://example.org/fhir/Patient/1"), put("", "Patient/1", patient1)}, []string{"Bundle.entry[1].request.url"}},
		{"DELETE of a POST's fullUrl", []string{req("DELETE", "Patient/1"), post("https://example.org/fhir/Patient/1")}, []string{"Bundle.entry[1].fullUrl"}},
		{"PUT with its own fullUrl", []string{put("http://example.org/fhir/Patient/1", "Patient/1", patient1), put("http://example.org/fhir/Patient/2", "Patient/2", `{"resourceType":"Patient","id":"2"}`)}, nil},
		{"external fullUrl and local PUT", []string{put("http://other.org/fhir/Patient/1", "Patient/1", patient1), req("DELETE", "Patient/2")}, nil},
		{"every problem", []string{post(uuidA), req("GET", "patient"), post(uuidA), req("DELETE", "Patient/1"), req("DELETE", "Patient/1")},
			[]string{"Bundle.entry[1].request.url", "Bundle.entry[2].fullUrl", "Bundle.entry[4].request.url"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := ParseBundle(bundleOf("transaction", tt.entries...), testBase)
			if tt.exprs == nil {
				if err != nil {
					t.Fatalf("ParseBundle: %v", err)
				}
				if len(b.Entries) != len(tt.entries) {
					t.Errorf("%d entries", len(b.Entries))
				}
				return
			}
			wantIssue(t, err, err.(*Error).Issues[0].Code, tt.exprs[0])
			var got []string
			for _, is := range err.(*Error).Issues {
				got = append(got, is.Expression...)
			}
			if diff := cmp.Diff(tt.exprs, got); diff != "" {
				t.Errorf("expressions (-want +got):\n%s", diff)
			}
			// The same entries make a valid batch (batch entries do not
			// depend on one another), bad urls aside.
			b, err = ParseBundle(bundleOf("batch", tt.entries...), testBase)
			if err != nil {
				t.Fatal(err)
			}
			for i, e := range b.Entries {
				if e.Err != nil && !strings.Contains(e.Err.Error(), "not a resource type") {
					t.Errorf("batch entry %d: %v", i, e.Err)
				}
			}
		})
	}
}

func TestParseBundleEntries(t *testing.T) {
	// The resource keeps the client's bytes: layout, decimals, escapes.
	obs := "{ \"resourceType\" : \"Observation\",\n  \"valueQuantity\": {\"value\": 1.50},\n  \"note\":[{\"text\":\"caf\\u00e9\"}], \"x\": 0.10000000000000000001 }"
	body := bundleOf("transaction",
		`{"fullUrl":"`+uuidA+`","resource":`+obs+`,"request":{"method":"POST","url":"Observation","ifNoneExist":"identifier=http://x|1&_tag=a"}}`,
		`{"fullUrl":"http://example.org/fhir/Patient/1","resource":`+patient1+`,"request":{"method":"PUT","url":"http://example.org/fhir/Patient/1","ifMatch":"W/\"3\""}}`,
		`{"resource":{"resourceType":"Binary","contentType":"application/json-patch+json; charset=utf-8","data":"`+b64(jsonPatch)[:8]+"\\n  "+b64(jsonPatch)[8:]+`"},"request":{"method":"PATCH","url":"/Goal/g1"}}`,
		`{"request":{"method":"DELETE","url":"Goal?patient=Patient/1&lifecycle-status=cancelled"}}`,
		`{"request":{"method":"GET","url":"Patient/1/_history/2","ifNoneMatch":"W/\"2\"","ifModifiedSince":"2024-01-01T00:00:00Z"}}`,
		`{"request":{"method":"HEAD","url":"Patient?name=a&name=b"}}`,
		`{"request":{"method":"GET","url":"Patient/1/_history"}}`,
		`{"request":{"method":"GET","url":"Patient/_history"}}`,
		`{"request":{"method":"GET","url":"_history?_count=1"}}`,
		`{"request":{"method":"GET","url":"Patient/1/$everything"}}`,
		`{"resource":{"resourceType":"Parameters"},"request":{"method":"POST","url":"Patient/$match"}}`,
		`{"request":{"method":"GET","url":"$meta"}}`,
		`{"request":{"method":"GET","url":"?_type=Patient,Goal"}}`,
		`{"fullUrl":"urn:oid:1.2.3","resource":`+patient+`,"request":{"method":"POST","url":"Patient","ifNoneExist":"Patient?identifier=a"}}`,
	)
	b, err := ParseBundle(body, testBase+"/")
	if err != nil {
		t.Fatal(err)
	}
	if b.Type != Transaction {
		t.Errorf("type = %q", b.Type)
	}
	type got struct {
		FullURL, ResourceType, Patch string
		Resource                     string
		Request                      Request
	}
	var gots []got
	for _, e := range b.Entries {
		if e.Err != nil {
			t.Errorf("entry error in a transaction: %v", e.Err)
		}
		gots = append(gots, got{e.FullURL, e.ResourceType, string(e.Patch), string(e.Resource), e.Request})
	}
	want := []got{
		{FullURL: uuidA, ResourceType: "Observation", Resource: obs, Request: Request{Method: "POST",
			URL:         RequestURL{Raw: "Observation", Type: "Observation"},
			IfNoneExist: url.Values{"identifier": {"http://x|1"}, "_tag": {"a"}}}},
		{FullURL: "http://example.org/fhir/Patient/1", ResourceType: "Patient", Resource: patient1, Request: Request{Method: "PUT",
			URL:     RequestURL{Raw: "http://example.org/fhir/Patient/1", Type: "Patient", ID: "1", Absolute: true},
			IfMatch: `W/"3"`}},
		{ResourceType: "Binary", Patch: jsonPatch, Resource: `{"resourceType":"Binary","contentType":"application/json-patch+json; charset=utf-8","data":"` + b64(jsonPatch)[:8] + "\\n  " + b64(jsonPatch)[8:] + `"}`,
			Request: Request{Method: "PATCH", URL: RequestURL{Raw: "/Goal/g1", Type: "Goal", ID: "g1"}}},
		{Request: Request{Method: "DELETE", URL: RequestURL{Raw: "Goal?patient=Patient/1&lifecycle-status=cancelled", Type: "Goal",
			Query: url.Values{"patient": {"Patient/1"}, "lifecycle-status": {"cancelled"}}}}},
		{Request: Request{Method: "GET", URL: RequestURL{Raw: "Patient/1/_history/2", Type: "Patient", ID: "1", VersionID: "2"},
			IfNoneMatch: `W/"2"`, IfModifiedSince: "2024-01-01T00:00:00Z"}},
		{Request: Request{Method: "HEAD", URL: RequestURL{Raw: "Patient?name=a&name=b", Type: "Patient", Query: url.Values{"name": {"a", "b"}}}}},
		{Request: Request{Method: "GET", URL: RequestURL{Raw: "Patient/1/_history", Type: "Patient", ID: "1", History: true}}},
		{Request: Request{Method: "GET", URL: RequestURL{Raw: "Patient/_history", Type: "Patient", History: true}}},
		{Request: Request{Method: "GET", URL: RequestURL{Raw: "_history?_count=1", History: true, Query: url.Values{"_count": {"1"}}}}},
		{Request: Request{Method: "GET", URL: RequestURL{Raw: "Patient/1/$everything", Type: "Patient", ID: "1", Operation: "$everything"}}},
		{ResourceType: "Parameters", Resource: `{"resourceType":"Parameters"}`,
			Request: Request{Method: "POST", URL: RequestURL{Raw: "Patient/$match", Type: "Patient", Operation: "$match"}}},
		{Request: Request{Method: "GET", URL: RequestURL{Raw: "$meta", Operation: "$meta"}}},
		{Request: Request{Method: "GET", URL: RequestURL{Raw: "?_type=Patient,Goal", Query: url.Values{"_type": {"Patient,Goal"}}}}},
		{FullURL: "urn:oid:1.2.3", ResourceType: "Patient", Resource: patient, Request: Request{Method: "POST",
			URL: RequestURL{Raw: "Patient", Type: "Patient"}, IfNoneExist: url.Values{"identifier": {"a"}}}},
	}
	if diff := cmp.Diff(want, gots); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
	// RequestURL's helpers.
	urls := map[int]struct {
		cond bool
		str  string
	}{
		1: {false, "Patient/1"}, 2: {false, "Goal/g1"}, 3: {true, "Goal?lifecycle-status=cancelled&patient=Patient%2F1"},
		4: {false, "Patient/1/_history/2"}, 6: {false, "Patient/1/_history"}, 8: {false, "_history?_count=1"},
		9: {false, "Patient/1/$everything"}, 12: {false, "?_type=Patient%2CGoal"},
	}
	for i, w := range urls {
		u := b.Entries[i].Request.URL
		if u.Conditional() != w.cond || u.String() != w.str {
			t.Errorf("entry %d: Conditional() = %v, String() = %q; want %v, %q", i, u.Conditional(), u.String(), w.cond, w.str)
		}
	}
	if diff := cmp.Diff([]int{3, 0, 10, 13, 1, 2, 4, 5, 6, 7, 8, 9, 11, 12}, Order(b.Entries)); diff != "" {
		t.Errorf("Order (-want +got):\n%s", diff)
	}
}

func TestParseBundleEmpty(t *testing.T) {
	for _, typ := range []string{"batch", "transaction"} {
		b, err := ParseBundle(bundleOf(typ), testBase)
		if err != nil || b.Type != BundleType(typ) || len(b.Entries) != 0 {
			t.Errorf("%s without entries: %+v, %v", typ, b, err)
		}
	}
}

func TestOrder(t *testing.T) {
	methods := []string{"GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "POST", "", "DELETE", "GET", "BREW"}
	entries := make([]Entry, len(methods))
	for i, m := range methods {
		entries[i].Request.Method = m
	}
	if diff := cmp.Diff([]int{3, 8, 2, 6, 1, 4, 0, 5, 9, 7, 10}, Order(entries)); diff != "" {
		t.Errorf("Order (-want +got):\n%s", diff)
	}
	if got := Order(nil); len(got) != 0 {
		t.Errorf("Order(nil) = %v", got)
	}
}

func readExample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/bundle/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestParseBundleOfficialTransaction parses the R4 example transaction
// (Bundle/bundle-transaction, hl7.fhir.r4.examples 4.0.1).
func TestParseBundleOfficialTransaction(t *testing.T) {
	body := readExample(t, "Bundle-bundle-transaction.json")
	b, err := ParseBundle(body, "http://example.org/fhir")
	if err != nil {
		t.Fatal(err)
	}
	if b.Type != Transaction || len(b.Entries) != 10 {
		t.Fatalf("type %s, %d entries", b.Type, len(b.Entries))
	}
	type row struct{ Method, URL, FullURL, ResourceType, Str string }
	var got []row
	for _, e := range b.Entries {
		got = append(got, row{e.Request.Method, e.Request.URL.Raw, e.FullURL, e.ResourceType, e.Request.URL.String()})
		if e.Resource != nil && !bytes.Contains(body, e.Resource) {
			t.Errorf("resource of %s is not the body's bytes", e.FullURL)
		}
	}
	want := []row{
		{"POST", "Patient", "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a", "Patient", "Patient"},
		{"POST", "Patient", "urn:uuid:88f151c0-a954-468a-88bd-5ae15c08e059", "Patient", "Patient"},
		{"PUT", "Patient/123", "http://example.org/fhir/Patient/123", "Patient", "Patient/123"},
		{"PUT", "Patient?identifier=http:/example.org/fhir/ids|456456", "urn:uuid:74891afc-ed52-42a2-bcd7-f13d9b60f096", "Patient", "Patient?identifier=http%3A%2Fexample.org%2Ffhir%2Fids%7C456456"},
		{"PUT", "Patient/123a", "http://example.org/fhir/Patient/123a", "Patient", "Patient/123a"},
		{"DELETE", "Patient/234", "", "", "Patient/234"},
		{"DELETE", "Patient?identifier=123456", "", "", "Patient?identifier=123456"},
		{"POST", "ValueSet/$lookup", "urn:uuid:79378cb8-8f58-48e8-a5e8-60ac2755b674", "Parameters", "ValueSet/$lookup"},
		{"GET", "Patient?name=peter", "", "", "Patient?name=peter"},
		{"GET", "Patient/12334", "", "", "Patient/12334"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
	e := b.Entries
	if diff := cmp.Diff(url.Values{"identifier": {"http:/example.org/fhir/ids|234234"}}, e[1].Request.IfNoneExist); diff != "" {
		t.Errorf("ifNoneExist (-want +got):\n%s", diff)
	}
	if !e[3].Request.URL.Conditional() || !e[6].Request.URL.Conditional() || e[2].Request.URL.Conditional() {
		t.Error("Conditional() wrong for the conditional update/delete")
	}
	if e[4].Request.IfMatch != `W/"2"` || e[9].Request.IfNoneMatch != `W/"4"` || e[9].Request.IfModifiedSince != "2015-08-31T08:14:33+10:00" {
		t.Errorf("headers: %+v %+v", e[4].Request, e[9].Request)
	}
	if e[7].Request.URL.Operation != "$lookup" || e[7].Request.URL.Type != "ValueSet" {
		t.Errorf("operation: %+v", e[7].Request.URL)
	}
	// The resources are the file's bytes, indentation and all.
	if !bytes.HasPrefix(e[0].Resource, []byte("{\n        \"resourceType\": \"Patient\",\n        \"text\"")) {
		t.Errorf("resource 0 = %.60q", e[0].Resource)
	}
	// DELETEs, then POSTs, then PUTs, then GETs.
	if diff := cmp.Diff([]int{5, 6, 0, 1, 7, 2, 3, 4, 8, 9}, Order(e)); diff != "" {
		t.Errorf("Order (-want +got):\n%s", diff)
	}
	// Each written resource is a valid Patient.
	for _, i := range []int{0, 1, 2, 3, 4} {
		if _, err := Parse("Patient", e[i].Resource); err != nil {
			t.Errorf("entry %d: %v", i, err)
		}
	}
}

// TestParseBundleOfficialBatch parses the R4 example batch
// Bundle/bundle-request-medsallergies: GETs whose urls start with '/'.
func TestParseBundleOfficialBatch(t *testing.T) {
	b, err := ParseBundle(readExample(t, "Bundle-bundle-request-medsallergies.json"), testBase)
	if err != nil {
		t.Fatal(err)
	}
	if b.Type != Batch || len(b.Entries) != 5 {
		t.Fatalf("type %s, %d entries", b.Type, len(b.Entries))
	}
	want := []RequestURL{
		{Raw: "/Patient/example", Type: "Patient", ID: "example"},
		{Raw: "/MedicationStatement?patient=example&_list=$current-medications", Type: "MedicationStatement", Query: url.Values{"patient": {"example"}, "_list": {"$current-medications"}}},
		{Raw: "/AllergyIntolerance?patient=example&_list=$current-allergies", Type: "AllergyIntolerance", Query: url.Values{"patient": {"example"}, "_list": {"$current-allergies"}}},
		{Raw: "/Condition?patient=example&_list=$current-problems", Type: "Condition", Query: url.Values{"patient": {"example"}, "_list": {"$current-problems"}}},
		{Raw: "/MedicationStatement?patient=example&notgiven:not=true", Type: "MedicationStatement", Query: url.Values{"patient": {"example"}, "notgiven:not": {"true"}}},
	}
	var got []RequestURL
	for _, e := range b.Entries {
		if e.Err != nil || e.Request.Method != "GET" {
			t.Errorf("entry: %+v", e)
		}
		got = append(got, e.Request.URL)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("urls (-want +got):\n%s", diff)
	}
}

// TestTransactionReferenceFlow resolves the R4 example transaction
// Bundle/xds the way a server would: POSTed entries get new ids, and the
// references between entries (relative ones here, matching fullUrls that
// are absolute with the server's base) and the narrative links are
// rewritten, nothing else.
func TestTransactionReferenceFlow(t *testing.T) {
	const base = "http://localhost:9556/svc/fhir"
	body := readExample(t, "Bundle-xds.json")
	b, err := ParseBundle(body, base)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{} // fullUrl key → new reference
	for i, e := range b.Entries {
		r, err := ParseReference(e.FullURL, base)
		if err != nil {
			t.Fatal(err)
		}
		if e.Request.Method == "POST" {
			ids[r.String()] = e.Request.URL.Type + "/new" + itoa(i)
		}
	}
	if diff := cmp.Diff(map[string]string{
		"urn:uuid:3fdc72f4-a11d-4a9d-9260-a9f745779e1d": "DocumentReference/new0",
		"Patient/a2":      "Patient/new1",
		"Practitioner/a3": "Practitioner/new2",
		"Practitioner/a4": "Practitioner/new3",
		"Binary/1e404af3-077f-4bee-b7a6-a9be97e1ce32": "Binary/new4",
	}, ids); diff != "" {
		t.Errorf("fullUrl keys (-want +got):\n%s", diff)
	}
	resolve := func(ref string) (string, bool, error) {
		r, err := ParseReference(ref, base)
		if err != nil {
			return "", false, err
		}
		s, ok := ids[r.String()]
		return s, ok, nil
	}
	doc := b.Entries[0].Resource
	out, err := RewriteReferences(doc, resolve)
	if err != nil {
		t.Fatal(err)
	}
	refs, err := References(out)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"Patient/new1", "Practitioner/new2", "Practitioner/new3"}, refs); diff != "" {
		t.Errorf("references (-want +got):\n%s", diff)
	}
	out, err = RewriteNarrativeLinks(out, resolve)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.NewReplacer(
		`"reference": "Patient/a2"`, `"reference": "Patient/new1"`,
		`"reference": "Practitioner/a3"`, `"reference": "Practitioner/new2"`,
		`"reference": "Practitioner/a4"`, `"reference": "Practitioner/new3"`,
		`<a href=\"http://localhost:9556/svc/fhir/Binary/1e404af3-077f-4bee-b7a6-a9be97e1ce32\">`, `<a href=\"Binary/new4\">`,
	).Replace(string(doc))
	if string(out) != want {
		t.Errorf("rewritten DocumentReference:\n%s\nwant\n%s", out, want)
	}
	// Attachment.url (a url element) still names the Binary by its
	// fullUrl: RewriteReferences handles Reference.reference only.
	if !bytes.Contains(out, []byte(`"url": "http://localhost:9556/svc/fhir/Binary/1e404af3`)) {
		t.Error("Attachment.url changed")
	}
	var v any
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatal(err)
	}
}
