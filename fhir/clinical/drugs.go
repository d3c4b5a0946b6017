package clinical

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode"

	"github.com/matcare/matcare/fhir/content"
)

// Drug is one concept of the benzodiazepine CodeSystem
// (fhir/content/CodeSystem-benzodiazepine.json).
type Drug struct {
	Code, Display string
	// FactorLow and FactorHigh are the mg of oral diazepam one mg of the
	// drug is approximately equivalent to, lowest and highest across the
	// sources (properties diazepamFactorLow/High).
	FactorLow, FactorHigh float64
	// Source names where the factors come from.
	Source string
	// UnknownEquivalence is set for street and novel psychoactive
	// benzodiazepines: no equivalent is ever computed for them.
	UnknownEquivalence bool
	// Synonyms are the words matched in a product's text (designations).
	Synonyms []string
}

// DrugTable is the benzodiazepine CodeSystem as data: the drugs matcare
// recognises in a CarePlan activity and their diazepam equivalence.
type DrugTable struct {
	// URL and Version are the CodeSystem's.
	URL, Version string
	drugs        map[string]Drug
	// phrases are the synonyms as lower-case word sequences, each with
	// its drug's code, longest first.
	phrases []phrase
}

type phrase struct {
	words []string
	code  string
}

// LoadDrugs reads the benzodiazepine CodeSystem from the content files
// under base.
func LoadDrugs(base string) (*DrugTable, error) {
	all, err := content.Load(base)
	if err != nil {
		return nil, err
	}
	for _, r := range all {
		if r.Type == "CodeSystem" && r.ID == CSBenzodiazepine {
			return ParseDrugs(r.Body)
		}
	}
	return nil, fmt.Errorf("clinical: no CodeSystem/%s in the content files", CSBenzodiazepine)
}

// ParseDrugs reads a DrugTable from a benzodiazepine CodeSystem's JSON,
// such as a new version a deployment stores. Every concept must have
// unknownEquivalence, and diazepamFactorLow <= diazepamFactorHigh, both
// positive, unless unknownEquivalence is true.
func ParseDrugs(codeSystem []byte) (*DrugTable, error) {
	var cs struct {
		ResourceType string `json:"resourceType"`
		URL          string `json:"url"`
		Version      string `json:"version"`
		Concept      []struct {
			Code        string `json:"code"`
			Display     string `json:"display"`
			Designation []struct {
				Value string `json:"value"`
			} `json:"designation"`
			Property []struct {
				Code         string   `json:"code"`
				ValueDecimal *float64 `json:"valueDecimal"`
				ValueString  *string  `json:"valueString"`
				ValueBoolean *bool    `json:"valueBoolean"`
			} `json:"property"`
		} `json:"concept"`
	}
	if err := json.Unmarshal(codeSystem, &cs); err != nil {
		return nil, fmt.Errorf("clinical: benzodiazepine CodeSystem: %w", err)
	}
	if cs.ResourceType != "CodeSystem" {
		return nil, fmt.Errorf("clinical: benzodiazepine CodeSystem: resourceType %q", cs.ResourceType)
	}
	t := &DrugTable{URL: cs.URL, Version: cs.Version, drugs: map[string]Drug{}}
	for _, c := range cs.Concept {
		d := Drug{Code: c.Code, Display: c.Display}
		var unknownSet bool
		for _, p := range c.Property {
			switch {
			case p.Code == "diazepamFactorLow" && p.ValueDecimal != nil:
				d.FactorLow = *p.ValueDecimal
			case p.Code == "diazepamFactorHigh" && p.ValueDecimal != nil:
				d.FactorHigh = *p.ValueDecimal
			case p.Code == "source" && p.ValueString != nil:
				d.Source = *p.ValueString
			case p.Code == "unknownEquivalence" && p.ValueBoolean != nil:
				d.UnknownEquivalence, unknownSet = *p.ValueBoolean, true
			}
		}
		switch {
		case c.Code == "":
			return nil, fmt.Errorf("clinical: benzodiazepine CodeSystem: a concept without code")
		case !unknownSet:
			return nil, fmt.Errorf("clinical: benzodiazepine %s: no unknownEquivalence", c.Code)
		case !d.UnknownEquivalence && (d.FactorLow <= 0 || d.FactorHigh < d.FactorLow):
			return nil, fmt.Errorf("clinical: benzodiazepine %s: factors %g-%g", c.Code, d.FactorLow, d.FactorHigh)
		}
		if _, dup := t.drugs[c.Code]; dup {
			return nil, fmt.Errorf("clinical: benzodiazepine %s: two concepts", c.Code)
		}
		for _, s := range c.Designation {
			d.Synonyms = append(d.Synonyms, s.Value)
			if w := words(s.Value); len(w) > 0 {
				t.phrases = append(t.phrases, phrase{words: w, code: c.Code})
			}
		}
		t.drugs[c.Code] = d
	}
	slices.SortStableFunc(t.phrases, func(a, b phrase) int { return len(b.words) - len(a.words) })
	return t, nil
}

// defaultDrugs is the embedded table. The content files are compiled in,
// so it is loaded once; the factors do not depend on the canonical base.
var defaultDrugs = sync.OnceValues(func() (*DrugTable, error) { return LoadDrugs(content.DefaultBase) })

// DefaultDrugs returns the embedded benzodiazepine table.
func DefaultDrugs() (*DrugTable, error) { return defaultDrugs() }

// Drug returns the drug with code.
func (t *DrugTable) Drug(code string) (Drug, bool) {
	d, ok := t.drugs[code]
	return d, ok
}

// Equivalent returns the approximate daily dose of oral diazepam, as a
// range in mg, equivalent to mg of the drug with code. ok is false for an
// unknown code, a negative dose, and street and novel psychoactive
// benzodiazepines (unknownEquivalence), for which diazepam is never
// assumed.
func (t *DrugTable) Equivalent(code string, mg float64) (low, high float64, ok bool) {
	d, found := t.drugs[code]
	if !found || d.UnknownEquivalence || mg < 0 {
		return 0, 0, false
	}
	return mg * d.FactorLow, mg * d.FactorHigh, true
}

// Equivalent is DrugTable.Equivalent on the embedded table.
func Equivalent(code string, mg float64) (low, high float64, ok bool) {
	t, err := DefaultDrugs()
	if err != nil {
		return 0, 0, false
	}
	return t.Equivalent(code, mg)
}

// Match returns the drug a product's free text names, by the synonyms of
// the table: the text is split into words, and at each word the longest
// synonym that starts there wins ("street valium" before "valium"). ok is
// false when no drug or more than one drug is named.
func (t *DrugTable) Match(text string) (code string, ok bool) {
	w := words(text)
	for i := 0; i < len(w); {
		n := 0
		for _, p := range t.phrases {
			if len(p.words) <= len(w)-i && slices.Equal(p.words, w[i:i+len(p.words)]) {
				if code != "" && code != p.code {
					return "", false
				}
				code, n = p.code, len(p.words)
				break // phrases are longest first
			}
		}
		if n == 0 {
			n = 1
		}
		i += n
	}
	return code, code != ""
}

// Identify returns the drug of a CarePlan activity's
// productCodeableConcept (as JSON): a coding in the benzodiazepine
// CodeSystem under base if it has one (a code the table does not know is
// not identified), else the text and the codings' displays (such as a
// dm+d coding's) matched by Match. dm+d codes themselves are not read: no
// dm+d table is embedded.
func (t *DrugTable) Identify(base string, productCodeableConcept []byte) (code string, ok bool) {
	var cc codeableConcept
	if json.Unmarshal(productCodeableConcept, &cc) != nil {
		return "", false
	}
	return t.identify(base, &cc)
}

func (t *DrugTable) identify(base string, cc *codeableConcept) (string, bool) {
	if cc == nil {
		return "", false
	}
	system := CodeSystemURL(base, CSBenzodiazepine)
	for _, c := range cc.Coding {
		if c.System == system {
			_, ok := t.drugs[c.Code]
			return c.Code, ok
		}
	}
	found := ""
	texts := []string{cc.Text}
	for _, c := range cc.Coding {
		texts = append(texts, c.Display)
	}
	for _, s := range texts {
		code, ok := t.Match(s)
		if !ok {
			continue
		}
		if found != "" && found != code {
			return "", false
		}
		found = code
	}
	return found, found != ""
}

// words splits s into lower-case words of letters and digits.
func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}
