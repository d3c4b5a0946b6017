package fhir

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestStampBoardLabel(t *testing.T) {
	other := `{"system":"http://terminology.hl7.org/CodeSystem/v3-Confidentiality","code":"R"}`
	forged := `{"system":"` + BoardSystem + `","code":"S08000024"}`
	mine := `{"code":"S08000031","display":"NHS Greater Glasgow and Clyde","system":"` + BoardSystem + `"}`
	tests := []struct {
		name, meta, board, want string
	}{
		{"no meta", ``, "S08000031", `{"versionId":"1","lastUpdated":"2024-01-01T00:00:00.000Z","security":[` + mine + `]}`},
		{"shared, no board", `,"meta":{"tag":[{"code":"x"}]}`, "", `{"versionId":"1","lastUpdated":"2024-01-01T00:00:00.000Z","tag":[{"code":"x"}]}`},
		{"other labels kept in place", `,"meta":{"security":[` + other + `],"tag":[{"code":"x"}]}`, "S08000031",
			`{"versionId":"1","lastUpdated":"2024-01-01T00:00:00.000Z","security":[` + other + `,` + mine + `],"tag":[{"code":"x"}]}`},
		{"forged board label replaced", `,"meta":{"security":[` + forged + `]}`, "S08000031",
			`{"versionId":"1","lastUpdated":"2024-01-01T00:00:00.000Z","security":[` + mine + `]}`},
		{"forged label removed from shared content", `,"meta":{"security":[` + forged + `]}`, "",
			`{"versionId":"1","lastUpdated":"2024-01-01T00:00:00.000Z"}`},
		{"unknown board has no display", ``, "X1",
			`{"versionId":"1","lastUpdated":"2024-01-01T00:00:00.000Z","security":[{"code":"X1","system":"` + BoardSystem + `"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"resourceType":"Patient"` + tt.meta + `}`
			res, err := Parse("Patient", []byte(body))
			if err != nil {
				t.Fatal(err)
			}
			got, err := res.Stamp("p", 1, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), tt.board)
			if err != nil {
				t.Fatal(err)
			}
			want := `{"resourceType":"Patient","id":"p","meta":` + tt.want + `}`
			if string(got) != want {
				t.Errorf("Stamp =\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func TestPatients(t *testing.T) {
	tests := []struct {
		typ, body string
		want      []string
	}{
		{"Patient", `{"resourceType":"Patient"}`, []string{"self"}},
		{"Goal", `{"resourceType":"Goal","lifecycleStatus":"active","description":{"text":"x"},"subject":{"reference":"Patient/p1"}}`, []string{"p1"}},
		{"Goal", `{"resourceType":"Goal","lifecycleStatus":"active","description":{"text":"x"},"subject":{"reference":"Patient/p1/_history/2"}}`, []string{"p1"}},
		{"Goal", `{"resourceType":"Goal","lifecycleStatus":"active","description":{"text":"x"},"subject":{"reference":"Group/g"}}`, nil},
		{"Goal", `{"resourceType":"Goal","lifecycleStatus":"active","description":{"text":"x"},"subject":{"reference":"http://elsewhere/Patient/p1"}}`, nil},
		{"CarePlan", `{"resourceType":"CarePlan","status":"active","intent":"plan","subject":{"reference":"Patient/p1"},
			"activity":[{"detail":{"status":"scheduled","performer":[{"reference":"Patient/p2"},{"reference":"Practitioner/x"},{"reference":"Patient/p1"}]}}]}`, []string{"p1", "p2"}},
		{"QuestionnaireResponse", `{"resourceType":"QuestionnaireResponse","status":"completed","subject":{"reference":"Patient/p3"},"author":{"reference":"Patient/p4"}}`, []string{"p3", "p4"}},
		{"Questionnaire", `{"resourceType":"Questionnaire","status":"active"}`, nil},
		{"RelatedPerson", `{"resourceType":"RelatedPerson","patient":{"reference":"Patient/p5"}}`, []string{"p5"}},
		{"CareTeam", `{"resourceType":"CareTeam","subject":{"reference":"Patient/p6"},
			"participant":[{"member":{"reference":"Patient/p7"}},{"member":{"reference":"RelatedPerson/r"}},{"onBehalfOf":{"reference":"Patient/p8"}}]}`, []string{"p6", "p7"}},
		{"Observation", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p9"},
			"performer":[{"reference":"Practitioner/x"},{"reference":"Patient/p10"}],"focus":[{"reference":"Patient/p11"}]}`, []string{"p10", "p9"}},
		// Not in the patient compartment: directory entries and shared content.
		{"Organization", `{"resourceType":"Organization","name":"x","partOf":{"reference":"Patient/p1"}}`, nil},
		{"Practitioner", `{"resourceType":"Practitioner","name":[{"family":"x"}]}`, nil},
		{"CodeSystem", `{"resourceType":"CodeSystem","status":"active","content":"complete"}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.typ+strings.Join(tt.want, ","), func(t *testing.T) {
			res, err := Parse(tt.typ, []byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Patients("self"); !slices.Equal(got, tt.want) {
				t.Errorf("Patients = %q, want %q", got, tt.want)
			}
		})
	}
}
