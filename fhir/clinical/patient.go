package clinical

import (
	"strconv"
	"strings"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

func hasCHI(p *patient) bool {
	for _, id := range p.Identifier {
		if id.System == CHISystem {
			return true
		}
	}
	return false
}

// patientRules are matcare-patient's rules. Diagnostics never repeat an
// identifier's value or a date of birth: they may be logged.
//
//   - an identifier in CHISystem whose value is not a CHI number: error;
//   - its date of birth (DDMMYY) differs from birthDate, or its sex digit
//     from gender male/female: warning (gender identity, data errors:
//     DOMAIN.md §4.3);
//   - two different CHI numbers: warning;
//   - a Patient claiming the profile without a CHI number: information.
func patientRules(c *checker, p *patient, claimed bool) {
	c.prefix = ProfilePatient
	valid := map[string]bool{}
	for i, id := range p.Identifier {
		if id.System != CHISystem {
			continue
		}
		at := "Patient.identifier[" + strconv.Itoa(i) + "]"
		chi, err := ParseCHI(id.Value)
		if err != nil {
			c.errorf(r4.IssueTypeInvariant, at+".value", "identifier[%d] is in the CHI system but is not a CHI number: %v", i, err)
			continue
		}
		valid[id.Value] = true
		if y, m, d, ok := dateParts(p.BirthDate); ok {
			if y%100 != chi.Year2 || (m != 0 && m != chi.Month) || (d != 0 && d != chi.Day) {
				c.warnf(r4.IssueTypeBusinessRule, "Patient.birthDate", "the date of birth in the CHI number of identifier[%d] (digits 1-6, DDMMYY) differs from birthDate", i)
			}
		}
		switch {
		case p.Gender == "male" && !chi.Male, p.Gender == "female" && chi.Male:
			sex := map[bool]string{true: "male (odd)", false: "female (even)"}[chi.Male]
			c.warnf(r4.IssueTypeBusinessRule, "Patient.gender", "the sex digit of the CHI number of identifier[%d] (digit 9) records %s; gender is %s", i, sex, p.Gender)
		}
	}
	if len(valid) > 1 {
		c.warnf(r4.IssueTypeBusinessRule, "Patient.identifier", "the Patient has %d different CHI numbers; a person has one", len(valid))
	}
	if claimed && !hasCHI(p) {
		c.infof(r4.IssueTypeInformational, "Patient.identifier", "no CHI number (identifier system %s)", CHISystem)
	}
}

// dateParts reads an R4 date or dateTime's year, month and day (0 when
// the value is less precise); ok is false for "" or a malformed value.
func dateParts(s string) (y, m, d int, ok bool) {
	if len(s) < 4 {
		return 0, 0, 0, false
	}
	parts := strings.SplitN(strings.SplitN(s, "T", 2)[0], "-", 3)
	nums := make([]int, 3)
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil {
			return 0, 0, 0, false
		}
		nums[i] = n
	}
	return nums[0], nums[1], nums[2], true
}
