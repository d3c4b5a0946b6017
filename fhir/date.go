package fhir

import (
	"fmt"
	"regexp"
	"time"
)

// dateTimePattern is R4's dateTime (and instant) with optional parts.
var dateTimePattern = regexp.MustCompile(`^(\d{4})(-(\d{2})(-(\d{2})(T(\d{2}):(\d{2})(:(\d{2})(\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$`)

// DateRange parses an R4 date, dateTime or instant as the range of
// instants [lo, hi) it covers: "2024" is the whole year, "2024-06-12"
// the whole day, a time to the second that second. A value without a time
// zone is read in loc (R4 search.html leaves the zone to the server).
func DateRange(s string, loc *time.Location) (lo, hi time.Time, err error) {
	m := dateTimePattern.FindStringSubmatch(s)
	if m == nil {
		return lo, hi, fmt.Errorf("%q is not a FHIR date or dateTime (YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm[:ss[.fff]][Z|+hh:mm])", s)
	}
	zone := loc
	if m[13] != "" {
		t, perr := time.Parse("Z07:00", m[13])
		if perr != nil {
			return lo, hi, fmt.Errorf("%q: bad time zone", s)
		}
		zone = t.Location()
	}
	atoi := func(x string) int {
		n := 0
		for _, c := range x {
			n = n*10 + int(c-'0')
		}
		return n
	}
	year, month, day := atoi(m[1]), 1, 1
	if m[3] != "" {
		month = atoi(m[3])
	}
	if m[5] != "" {
		day = atoi(m[5])
	}
	hour, minute, sec, nsec := 0, 0, 0, 0
	if m[7] != "" {
		hour, minute = atoi(m[7]), atoi(m[8])
	}
	if m[10] != "" {
		sec = atoi(m[10])
	}
	frac := m[12]
	if frac != "" {
		n := atoi(frac)
		for i := len(frac); i < 9; i++ {
			n *= 10
		}
		nsec = n
	}
	if month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 60 {
		return lo, hi, fmt.Errorf("%q is not a valid date", s)
	}
	lo = time.Date(year, time.Month(month), day, hour, minute, sec, nsec, zone)
	if lo.Day() != day || int(lo.Month()) != month {
		return lo, hi, fmt.Errorf("%q is not a valid date", s)
	}
	switch {
	case m[3] == "":
		hi = lo.AddDate(1, 0, 0)
	case m[5] == "":
		hi = lo.AddDate(0, 1, 0)
	case m[7] == "":
		hi = lo.AddDate(0, 0, 1)
	case m[10] == "":
		hi = lo.Add(time.Minute)
	case frac == "":
		hi = lo.Add(time.Second)
	default:
		unit := time.Duration(1)
		for i := len(frac); i < 9; i++ {
			unit *= 10
		}
		hi = lo.Add(unit)
	}
	return lo.UTC(), hi.UTC(), nil
}
