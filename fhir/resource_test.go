package fhir

import (
	"errors"
	"strings"
	"testing"
	"time"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

const goal = `{"resourceType":"Goal","lifecycleStatus":"active","description":{"text":"cut down"},"subject":{"reference":"Patient/p1"}}`

func TestParse(t *testing.T) {
	tests := []struct {
		name, typ, body string
		wantCode        r4.IssueType // ignored when wantOK
		wantExpr        string
		wantStatus      int
		wantOK          bool
	}{
		{name: "valid goal", typ: "Goal", body: goal, wantOK: true},
		{name: "unknown type", typ: "Encounter", body: `{"resourceType":"Encounter"}`, wantCode: r4.IssueTypeNotSupported, wantStatus: 404},
		{name: "not json", typ: "Goal", body: `{"resourceType":`, wantCode: r4.IssueTypeStructure, wantExpr: "Goal"},
		{name: "array", typ: "Goal", body: `[]`, wantCode: r4.IssueTypeStructure, wantExpr: "Goal"},
		{name: "trailing data", typ: "Goal", body: goal + `{}`, wantCode: r4.IssueTypeStructure, wantExpr: "Goal"},
		{name: "duplicate key", typ: "Goal", body: `{"resourceType":"Goal","lifecycleStatus":"active","lifecycleStatus":"completed"}`, wantCode: r4.IssueTypeStructure, wantExpr: "Goal.lifecycleStatus"},
		{name: "nested duplicate", typ: "Goal", body: `{"resourceType":"Goal","target":[{"dueDate":"2024-01-01","dueDate":"2024-01-02"}]}`, wantCode: r4.IssueTypeStructure, wantExpr: "Goal.target[0].dueDate"},
		{name: "null member", typ: "Goal", body: `{"resourceType":"Goal","note":null}`, wantCode: r4.IssueTypeStructure, wantExpr: "Goal.note"},
		{name: "empty array", typ: "Goal", body: `{"resourceType":"Goal","note":[]}`, wantCode: r4.IssueTypeStructure, wantExpr: "Goal.note"},
		{name: "empty object", typ: "Goal", body: `{"resourceType":"Goal","description":{}}`, wantCode: r4.IssueTypeStructure, wantExpr: "Goal.description"},
		{name: "empty string", typ: "Goal", body: `{"resourceType":"Goal","description":{"text":""}}`, wantCode: r4.IssueTypeStructure, wantExpr: "Goal.description.text"},
		{name: "too deep", typ: "Goal", body: `{"resourceType":"Goal","x":` + strings.Repeat(`[`, MaxDepth) + `1` + strings.Repeat(`]`, MaxDepth) + `}`, wantCode: r4.IssueTypeStructure},
		{name: "no resourceType", typ: "Goal", body: `{"lifecycleStatus":"active"}`, wantCode: r4.IssueTypeRequired, wantExpr: "Goal.resourceType"},
		{name: "wrong resourceType", typ: "Goal", body: `{"resourceType":"Patient"}`, wantCode: r4.IssueTypeInvalid, wantExpr: "Goal.resourceType"},
		{name: "missing required", typ: "Goal", body: `{"resourceType":"Goal","description":{"text":"x"},"subject":{"reference":"Patient/1"}}`, wantCode: r4.IssueTypeRequired, wantExpr: "Goal.lifecycleStatus"},
		// R4 ele-1: a required primitive may carry only an extension.
		{name: "required as primitive extension only", typ: "Goal", body: `{"resourceType":"Goal","_lifecycleStatus":{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/data-absent-reason","valueCode":"unknown"}]},"description":{"text":"x"},"subject":{"reference":"Patient/1"}}`, wantOK: true},
		{name: "bad id", typ: "Goal", body: `{"resourceType":"Goal","id":"a b","lifecycleStatus":"active","description":{"text":"x"},"subject":{"reference":"Patient/1"}}`, wantCode: r4.IssueTypeValue, wantExpr: "Goal.id"},
		{name: "bad code", typ: "Goal", body: `{"resourceType":"Goal","lifecycleStatus":"bogus","description":{"text":"x"},"subject":{"reference":"Patient/1"}}`, wantCode: r4.IssueTypeCodeInvalid, wantExpr: "Goal.lifecycleStatus"},
		{name: "unknown element", typ: "Goal", body: `{"resourceType":"Goal","colour":"red","lifecycleStatus":"active","description":{"text":"x"},"subject":{"reference":"Patient/1"}}`, wantCode: r4.IssueTypeStructure, wantExpr: "Goal.colour"},
		{name: "wrong type", typ: "Goal", body: `{"resourceType":"Goal","lifecycleStatus":"active","description":{"text":"x"},"subject":{"reference":"Patient/1"},"startDate":"12 June"}`, wantCode: r4.IssueTypeValue, wantExpr: "Goal.startDate"},
		{name: "questionnaire item without linkId", typ: "Questionnaire", body: `{"resourceType":"Questionnaire","status":"draft","item":[{"linkId":"1","type":"group","item":[{"type":"string","text":"x"}]}]}`, wantCode: r4.IssueTypeRequired, wantExpr: "Questionnaire.item[0].item[0].linkId"},
		{name: "response answer item without linkId", typ: "QuestionnaireResponse", body: `{"resourceType":"QuestionnaireResponse","status":"completed","item":[{"linkId":"1","answer":[{"valueBoolean":true,"item":[{"text":"x"}]}]}]}`, wantCode: r4.IssueTypeRequired, wantExpr: "QuestionnaireResponse.item[0].answer[0].item[0].linkId"},
		{name: "patient without anything required", typ: "Patient", body: `{"resourceType":"Patient","active":true}`, wantOK: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Parse(tt.typ, []byte(tt.body))
			if tt.wantOK {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if res.Type != tt.typ {
					t.Errorf("Type = %q", res.Type)
				}
				return
			}
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("Parse error = %v, want *Error", err)
			}
			is := fe.Issues[0]
			if is.Code != tt.wantCode {
				t.Errorf("code = %v, want %v (%v)", is.Code, tt.wantCode, fe)
			}
			if tt.wantExpr != "" && (len(is.Expression) == 0 || is.Expression[0] != tt.wantExpr) {
				t.Errorf("expression = %v, want %q", is.Expression, tt.wantExpr)
			}
			if tt.wantStatus != 0 && fe.HTTPStatus() != tt.wantStatus {
				t.Errorf("status = %d, want %d", fe.HTTPStatus(), tt.wantStatus)
			}
			if is.Severity != r4.IssueSeverityError {
				t.Errorf("severity = %v", is.Severity)
			}
		})
	}
}

func TestStamp(t *testing.T) {
	body := `{ "id": "client", "resourceType": "Goal",
	  "meta": {"versionId": "9", "tag": [{"code": "HTEST"}], "lastUpdated": "2000-01-01T00:00:00Z"},
	  "lifecycleStatus": "active", "_lifecycleStatus": {"extension": [{"url": "http://x", "valueString": "y"}]},
	  "description": {"text": "a \u00e9 \"b\""}, "subject": {"reference": "Patient/p1"},
	  "target": [{"detailQuantity": {"value": 1.50}}, {"detailQuantity": {"value": 12345678901234567890}}]}`
	res, err := Parse("Goal", []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if res.ID != "client" {
		t.Errorf("ID = %q", res.ID)
	}
	lu := time.Date(2024, 6, 12, 10, 0, 0, 120e6, time.FixedZone("BST", 3600))
	got, err := res.Stamp("abc", 3, lu, "")
	if err != nil {
		t.Fatal(err)
	}
	want := `{"resourceType":"Goal","id":"abc","meta":{"versionId":"3","lastUpdated":"2024-06-12T09:00:00.120Z","tag":[{"code":"HTEST"}]},` +
		`"lifecycleStatus":"active","_lifecycleStatus":{"extension":[{"url":"http://x","valueString":"y"}]},` +
		`"description":{"text":"a \u00e9 \"b\""},"subject":{"reference":"Patient/p1"},` +
		`"target":[{"detailQuantity":{"value":1.50}},{"detailQuantity":{"value":12345678901234567890}}]}`
	if string(got) != want {
		t.Errorf("Stamp =\n%s\nwant\n%s", got, want)
	}
	// Stamping again (an update of a stored version) changes only meta.
	res2, err := Parse("Goal", got)
	if err != nil {
		t.Fatal(err)
	}
	got2, _ := res2.Stamp("abc", 4, lu, "")
	if w := strings.Replace(want, `"versionId":"3"`, `"versionId":"4"`, 1); string(got2) != w {
		t.Errorf("restamp =\n%s\nwant\n%s", got2, w)
	}
}

func TestDateRange(t *testing.T) {
	utc := time.UTC
	d := func(s string) time.Time {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			panic(err)
		}
		return t.UTC()
	}
	tests := []struct {
		in     string
		lo, hi string
		bad    bool
	}{
		{in: "2024", lo: "2024-01-01T00:00:00Z", hi: "2025-01-01T00:00:00Z"},
		{in: "2024-02", lo: "2024-02-01T00:00:00Z", hi: "2024-03-01T00:00:00Z"},
		{in: "2024-02-29", lo: "2024-02-29T00:00:00Z", hi: "2024-03-01T00:00:00Z"},
		{in: "2024-06-12T10:30", lo: "2024-06-12T10:30:00Z", hi: "2024-06-12T10:31:00Z"},
		{in: "2024-06-12T10:30:05+01:00", lo: "2024-06-12T09:30:05Z", hi: "2024-06-12T09:30:06Z"},
		{in: "2024-06-12T10:30:05.25Z", lo: "2024-06-12T10:30:05.25Z", hi: "2024-06-12T10:30:05.26Z"},
		{in: "2023-02-29", bad: true},
		{in: "2024-13", bad: true},
		{in: "24-01-01", bad: true},
		{in: "2024-06-12T25:00", bad: true},
		{in: "2024-06-12T10:00+1", bad: true},
		{in: "", bad: true},
	}
	for _, tt := range tests {
		lo, hi, err := DateRange(tt.in, utc)
		if tt.bad {
			if err == nil {
				t.Errorf("DateRange(%q) = %v, %v; want error", tt.in, lo, hi)
			}
			continue
		}
		if err != nil {
			t.Errorf("DateRange(%q): %v", tt.in, err)
			continue
		}
		if !lo.Equal(d(tt.lo)) || !hi.Equal(d(tt.hi)) {
			t.Errorf("DateRange(%q) = [%v, %v), want [%v, %v)", tt.in, lo, hi, tt.lo, tt.hi)
		}
	}
}

func TestStatusOf(t *testing.T) {
	for code, want := range map[r4.IssueType]int{
		r4.IssueTypeNotFound: 404, r4.IssueTypeDeleted: 410, r4.IssueTypeConflict: 409,
		r4.IssueTypeBusinessRule: 422, r4.IssueTypeRequired: 400, r4.IssueTypeTooLong: 413,
		r4.IssueTypeException: 500, r4.IssueTypeThrottled: 429,
	} {
		if got := StatusOf(code); got != want {
			t.Errorf("StatusOf(%v) = %d, want %d", code, got, want)
		}
	}
}
