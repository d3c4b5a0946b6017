package clinical

import (
	"encoding/json"
	"strings"

	"github.com/matcare/matcare/fhir"
)

// This file holds the few R4 elements the rules read, decoded from the
// client's JSON with encoding/json. The samply structs are not used: they
// drop primitive extensions and invent codes for missing elements (see
// fhir/doc.go), and the rules need to know which value[x] an extension
// carries.

type coding struct {
	System  string `json:"system"`
	Code    string `json:"code"`
	Display string `json:"display"`
}

type codeableConcept struct {
	Coding []coding `json:"coding"`
	Text   string   `json:"text"`
}

// has reports whether cc has a coding system|code.
func (cc *codeableConcept) has(system, code string) bool {
	if cc == nil {
		return false
	}
	for _, c := range cc.Coding {
		if c.System == system && c.Code == code {
			return true
		}
	}
	return false
}

// code returns the first code cc has in system, "" if none.
func (cc *codeableConcept) code(system string) string {
	if cc == nil {
		return ""
	}
	for _, c := range cc.Coding {
		if c.System == system {
			return c.Code
		}
	}
	return ""
}

// codesIn returns every code the concepts have in system, with the index
// of the concept each is in.
func codesIn(ccs []codeableConcept, system string) (codes []string, at []int) {
	for i, cc := range ccs {
		for _, c := range cc.Coding {
			if c.System == system {
				codes = append(codes, c.Code)
				at = append(at, i)
			}
		}
	}
	return codes, at
}

type reference struct {
	Reference string `json:"reference"`
	Type      string `json:"type"`
}

// targetType returns the resource type r points to: its type element, or
// the type in a relative or absolute RESTful reference; "" if unknown (a
// placeholder such as urn:uuid:, a contained or a logical reference).
func (r *reference) targetType() string {
	if r == nil {
		return ""
	}
	if r.Type != "" {
		return r.Type
	}
	if ref, ok := restful(r.Reference); ok {
		return ref.Type
	}
	return ""
}

// key returns the reference in the form Type/id (without version) used to
// look resources up, or the reference as written if it is not RESTful.
func (r *reference) key() string {
	if ref, ok := restful(r.Reference); ok {
		return ref.Type + "/" + ref.ID
	}
	return r.Reference
}

// restful parses a relative or absolute RESTful reference
// ([base/]Type/id[/_history/vid]).
func restful(s string) (fhir.Ref, bool) {
	ref, err := fhir.ParseReference(s, "")
	if err == nil && ref.Kind == fhir.RefLocal {
		return ref, true
	}
	// An absolute URL on another server: its last segments still name
	// the type and id.
	if i := strings.Index(s, "://"); i >= 0 {
		parts := strings.Split(s[i+3:], "/")
		if n := len(parts); n >= 4 && parts[n-2] == "_history" {
			parts = parts[:n-2]
		}
		if n := len(parts); n >= 3 {
			ref, err := fhir.ParseReference(parts[n-2]+"/"+parts[n-1], "")
			if err == nil && ref.Kind == fhir.RefLocal {
				return ref, true
			}
		}
	}
	return fhir.Ref{}, false
}

type period struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

type quantity struct {
	Value  *float64 `json:"value"`
	Unit   string   `json:"unit"`
	System string   `json:"system"`
	Code   string   `json:"code"`
}

type meta struct {
	Profile []string `json:"profile"`
}

// extension is an Extension with its value[x] kept raw: ValueType is the
// part after "value" (such as "Date"), "" if the extension has no value.
type extension struct {
	URL        string
	Extension  []extension
	ValueType  string
	Value      json.RawMessage
	valueCount int
}

func (e *extension) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	if u, ok := m["url"]; ok {
		if err := json.Unmarshal(u, &e.URL); err != nil {
			return err
		}
	}
	if x, ok := m["extension"]; ok {
		if err := json.Unmarshal(x, &e.Extension); err != nil {
			return err
		}
	}
	for k, v := range m {
		if t, ok := strings.CutPrefix(k, "value"); ok && t != "" {
			e.valueCount++
			e.ValueType, e.Value = t, v
		}
	}
	return nil
}

// str decodes a string value ("" if it is not one).
func (e *extension) str() string {
	var s string
	_ = json.Unmarshal(e.Value, &s)
	return s
}

// find returns the extensions with url.
func find(exts []extension, url string) []extension {
	var out []extension
	for _, e := range exts {
		if e.URL == url {
			out = append(out, e)
		}
	}
	return out
}

// patient is the part of a Patient the rules read.
type patient struct {
	Meta       meta `json:"meta"`
	Identifier []struct {
		System string `json:"system"`
		Value  string `json:"value"`
	} `json:"identifier"`
	Gender    string `json:"gender"`
	BirthDate string `json:"birthDate"`
}

// carePlan is the part of a CarePlan the rules read.
type carePlan struct {
	ID        string            `json:"id"`
	Meta      meta              `json:"meta"`
	Extension []extension       `json:"extension"`
	Status    string            `json:"status"`
	Category  []codeableConcept `json:"category"`
	Subject   *reference        `json:"subject"`
	Period    *period           `json:"period"`
	Created   string            `json:"created"`
	Goal      []reference       `json:"goal"`
	Activity  []activity        `json:"activity"`
}

type activity struct {
	Reference *reference      `json:"reference"`
	Detail    *activityDetail `json:"detail"`
}

type activityDetail struct {
	Extension              []extension       `json:"extension"`
	Kind                   string            `json:"kind"`
	Code                   *codeableConcept  `json:"code"`
	ReasonCode             []codeableConcept `json:"reasonCode"`
	Goal                   []reference       `json:"goal"`
	Status                 string            `json:"status"`
	ScheduledTiming        json.RawMessage   `json:"scheduledTiming"`
	ScheduledPeriod        *period           `json:"scheduledPeriod"`
	ScheduledString        string            `json:"scheduledString"`
	ProductCodeableConcept *codeableConcept  `json:"productCodeableConcept"`
	ProductReference       *reference        `json:"productReference"`
	DailyAmount            *quantity         `json:"dailyAmount"`
	Description            string            `json:"description"`
}

// scheduled reports whether the activity has a scheduled[x] with content.
func (d *activityDetail) scheduled() bool {
	return len(d.ScheduledTiming) > 0 || d.ScheduledString != "" ||
		(d.ScheduledPeriod != nil && (d.ScheduledPeriod.Start != "" || d.ScheduledPeriod.End != ""))
}

// goal is the part of a Goal the rules read.
type goal struct {
	ID                string            `json:"id"`
	Meta              meta              `json:"meta"`
	Extension         []extension       `json:"extension"`
	LifecycleStatus   string            `json:"lifecycleStatus"`
	AchievementStatus *codeableConcept  `json:"achievementStatus"`
	Category          []codeableConcept `json:"category"`
	Subject           *reference        `json:"subject"`
	Target            []struct {
		DueDate string `json:"dueDate"`
	} `json:"target"`
	StatusDate   string     `json:"statusDate"`
	StatusReason string     `json:"statusReason"`
	ExpressedBy  *reference `json:"expressedBy"`
}

// questionnaireResponse is the part of a QuestionnaireResponse the
// prescribing checks read.
type questionnaireResponse struct {
	Questionnaire string   `json:"questionnaire"`
	Status        string   `json:"status"`
	Item          []qrItem `json:"item"`
}

type qrItem struct {
	LinkID string     `json:"linkId"`
	Answer []qrAnswer `json:"answer"`
	Item   []qrItem   `json:"item"`
}

type qrAnswer struct {
	ValueBoolean *bool    `json:"valueBoolean"`
	ValueString  string   `json:"valueString"`
	ValueCoding  *coding  `json:"valueCoding"`
	Item         []qrItem `json:"item"`
}
