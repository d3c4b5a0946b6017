package clinical

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// CHI is what a CHI number says about its holder (DOMAIN.md §4.3).
type CHI struct {
	// Day, Month and Year2 are the date of birth in digits 1-6 (DDMMYY):
	// Year2 is the year modulo 100, the century is not recorded.
	Day, Month, Year2 int
	// Male is digit 9 odd; even means female.
	Male bool
}

// ParseCHI checks that s is a CHI number and returns what it records. A
// CHI number is ten digits: the date of birth as DDMMYY (a date that
// exists in 19YY or 20YY), two random digits, a sex digit and a
// modulus-11 check digit computed like the NHS number's: the first nine
// digits weighted 10 down to 2, check = 11 - (sum mod 11), 11 becomes 0,
// and a number whose check would be 10 is never issued. The error says
// what is wrong, in words fit for a client; it never repeats digits of s
// (a date of birth), since diagnostics may be logged.
func ParseCHI(s string) (CHI, error) {
	var chi CHI
	if strings.TrimSpace(s) != s || s == "" {
		return chi, errors.New("a CHI number is ten digits with no spaces")
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return chi, errors.New("a CHI number is ten digits with no spaces or other characters")
		}
	}
	switch {
	case len(s) == 9:
		return chi, errors.New("a CHI number is ten digits; this has nine (was a leading zero lost?)")
	case len(s) != 10:
		return chi, fmt.Errorf("a CHI number is ten digits; this has %d", len(s))
	}
	d := func(i int) int { return int(s[i] - '0') }
	chi.Day, chi.Month, chi.Year2 = d(0)*10+d(1), d(2)*10+d(3), d(4)*10+d(5)
	if !dateExists(chi.Day, chi.Month, 1900+chi.Year2) && !dateExists(chi.Day, chi.Month, 2000+chi.Year2) {
		return chi, errors.New("the first six digits of a CHI number are the date of birth (DDMMYY), and these are not a date")
	}
	sum := 0
	for i := range 9 {
		sum += d(i) * (10 - i)
	}
	check := 11 - sum%11
	switch check {
	case 11:
		check = 0
	case 10:
		return chi, errors.New("the check digit of these first nine digits would be 10: no CHI number starts with them")
	}
	if d(9) != check {
		return chi, errors.New("the check digit (the tenth digit) does not match the first nine digits: a digit was probably mistyped")
	}
	chi.Male = d(8)%2 == 1
	return chi, nil
}

// ValidCHI reports whether s is a CHI number: ten digits, a date of birth
// that exists and a correct check digit (see ParseCHI).
func ValidCHI(s string) bool {
	_, err := ParseCHI(s)
	return err == nil
}

func dateExists(day, month, year int) bool {
	t := time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
	return month >= 1 && month <= 12 && t.Day() == day && int(t.Month()) == month
}
