package synth

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/matcare/matcare/fhir/content"
)

// terms is what the generator reads from matcare's content (fhir/content)
// under the configured base: the displays of its code systems' codes and
// the bps-benzo and sds-benzo Questionnaires. Codes are looked up here,
// so a code the content does not define stops the generator at once.
type terms struct {
	base     string
	displays map[string]map[string]string // CodeSystem id -> code -> display
	bps, sds *form
}

// form is the part of a Questionnaire the responses are built from.
type form struct {
	url, version string
	items        []*formItem
	// texts: the response repeats each item's text (the SDS, whose
	// wording matters); the assessment's long form does not, which keeps
	// the stored responses small.
	texts bool
}

type formItem struct {
	LinkID  string      `json:"linkId"`
	Type    string      `json:"type"`
	Text    string      `json:"text"`
	Repeats bool        `json:"repeats"`
	Item    []*formItem `json:"item"`
	Options []struct {
		ValueCoding *struct {
			System  string `json:"system"`
			Code    string `json:"code"`
			Display string `json:"display"`
		} `json:"valueCoding"`
	} `json:"answerOption"`
}

func loadTerms(base string) (*terms, error) {
	rs, err := content.Load(base)
	if err != nil {
		return nil, err
	}
	t := &terms{base: strings.TrimSuffix(base, "/"), displays: map[string]map[string]string{}}
	if t.base == "" {
		t.base = content.DefaultBase
	}
	for _, r := range rs {
		switch r.Type {
		case "CodeSystem":
			var cs struct {
				Concept []concept `json:"concept"`
			}
			if err := json.Unmarshal(r.Body, &cs); err != nil {
				return nil, fmt.Errorf("synth: CodeSystem/%s: %w", r.ID, err)
			}
			m := map[string]string{}
			var walk func([]concept)
			walk = func(cs []concept) {
				for _, c := range cs {
					m[c.Code] = c.Display
					walk(c.Concept)
				}
			}
			walk(cs.Concept)
			t.displays[r.ID] = m
		case "Questionnaire":
			var q struct {
				URL     string      `json:"url"`
				Version string      `json:"version"`
				Item    []*formItem `json:"item"`
			}
			if err := json.Unmarshal(r.Body, &q); err != nil {
				return nil, fmt.Errorf("synth: Questionnaire/%s: %w", r.ID, err)
			}
			f := &form{url: q.URL, version: q.Version, items: q.Item}
			switch r.ID {
			case "bps-benzo":
				t.bps = f
			case "sds-benzo":
				f.texts = true
				t.sds = f
			}
		}
	}
	if t.bps == nil || t.sds == nil {
		return nil, fmt.Errorf("synth: the content has no bps-benzo or sds-benzo Questionnaire")
	}
	return t, nil
}

type concept struct {
	Code    string    `json:"code"`
	Display string    `json:"display"`
	Concept []concept `json:"concept"`
}

// system is the canonical url of matcare's CodeSystem id.
func (t *terms) system(id string) string { return t.base + "/CodeSystem/" + id }

// coding is a Coding of matcare's CodeSystem id with the code's display.
func (t *terms) coding(id, code string) obj {
	d, ok := t.displays[id][code]
	if !ok {
		panic(fmt.Sprintf("synth: code %q is not in CodeSystem/%s", code, id))
	}
	return o("system", t.system(id), "code", code, "display", d)
}

// concept is a CodeableConcept of one coding of matcare's CodeSystem id.
func (t *terms) concept(id, code string) obj {
	return o("coding", []obj{t.coding(id, code)})
}

// ext is the url of matcare's extension id.
func (t *terms) ext(id string) string { return t.base + "/StructureDefinition/" + id }

// profile is the url of matcare's profile id.
func (t *terms) profile(id string) string { return t.base + "/StructureDefinition/" + id }
