package clinical

import (
	"strings"
	"testing"
)

// The check digits below were worked out by hand: the first nine digits
// weighted 10..2, summed, 11 - (sum mod 11).
func TestParseCHI(t *testing.T) {
	tests := []struct {
		chi   string
		male  bool
		error string // part of the error, "" if valid
	}{
		// 2*10+3*9+0*8+4*7+6*6+6*5+0*4+4*3+2*2 = 157; 157 mod 11 = 3; 11-3 = 8.
		{chi: "2304660428", male: false},
		// 1*10+2*9+0*8+3*7+8*6+5*5+4*4+7*3+1*2 = 161; 161 mod 11 = 7; 11-7 = 4.
		{chi: "1203854714", male: true},
		// 0+5*9+0+7*7+9*6+0+1*4+1*3+1*2 = 157 -> 8.
		{chi: "0507901118", male: true},
		// 1*10+5*9+0+6*7+8*6+8*5+0+0+1*2 = 187 = 17*11: 11 - 0 = 11 -> 0.
		{chi: "1506880010", male: true},
		// 29 February 2000 exists (1900 was not a leap year, 2000 was).
		{chi: "2902001231", male: true},
		// 1*10+2*9+1*8+2*7+1*6+2*5+1*4+2*3+1*2 = 78; 78 mod 11 = 1; 11-1 = 10: never issued.
		{chi: "1212121210", error: "would be 10"},
		{chi: "1212121219", error: "would be 10"},
		{chi: "2304660427", error: "check digit"},
		{chi: "2304660482", error: "check digit"},     // two digits swapped
		{chi: "290201123" + "7", error: "not a date"}, // 29/02/01 (check digit right)
		{chi: "011385123" + "5", error: "not a date"}, // month 13 (check digit right)
		{chi: "000185000" + "0", error: "not a date"}, // day 0
		{chi: "230466042", error: "leading zero"},     // nine digits
		{chi: "23046604281", error: "has 11"},
		{chi: "230466 0428", error: "ten digits"},
		{chi: " 2304660428", error: "no spaces"},
		{chi: "23O4660428", error: "ten digits"},
		{chi: "", error: "ten digits"},
	}
	for _, tt := range tests {
		chi, err := ParseCHI(tt.chi)
		switch {
		case tt.error == "" && err != nil:
			t.Errorf("ParseCHI(%q): %v", tt.chi, err)
		case tt.error != "" && (err == nil || !strings.Contains(err.Error(), tt.error)):
			t.Errorf("ParseCHI(%q) = %v, want an error with %q", tt.chi, err, tt.error)
		case tt.error == "" && chi.Male != tt.male:
			t.Errorf("ParseCHI(%q).Male = %v", tt.chi, chi.Male)
		}
		if ValidCHI(tt.chi) != (tt.error == "") {
			t.Errorf("ValidCHI(%q) = %v", tt.chi, !(tt.error == ""))
		}
	}
	chi, _ := ParseCHI("2304660428")
	if chi != (CHI{Day: 23, Month: 4, Year2: 66, Male: false}) {
		t.Errorf("ParseCHI = %+v", chi)
	}
}

// TestCHIErrorsHideTheNumber: diagnostics may be logged.
func TestCHIErrorsHideTheNumber(t *testing.T) {
	for _, s := range []string{"2304660427", "2902011237", "1212121210"} {
		_, err := ParseCHI(s)
		if err == nil || strings.Contains(err.Error(), s[:6]) {
			t.Errorf("ParseCHI(%q): %v", s, err)
		}
	}
}
