package synth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestSynthReproducible: the same Config gives the same bytes, another
// seed another population, a board's population does not depend on the
// boards generated with it, and the canonical base is the configured one.
func TestSynthReproducible(t *testing.T) {
	cfg := smallConfig()
	var first [][]byte
	Generate(cfg, func(r Resource) bool { first = append(first, r.Body); return true })
	if n := Count(cfg); n != len(first) {
		t.Errorf("Count = %d, generated %d", n, len(first))
	}
	i := 0
	Generate(cfg, func(r Resource) bool {
		if i >= len(first) || !bytes.Equal(r.Body, first[i]) {
			t.Fatalf("write %d differs on the second run", i)
		}
		i++
		return true
	})
	if i != len(first) {
		t.Errorf("second run: %d writes, first %d", i, len(first))
	}
	other := cfg
	other.Seed++
	same := 0
	j := 0
	Generate(other, func(r Resource) bool {
		if j < len(first) && bytes.Equal(r.Body, first[j]) {
			same++
		}
		j++
		return true
	})
	if same > len(first)/4 { // the directory's structure may repeat; people do not
		t.Errorf("another seed repeats %d of %d writes", same, len(first))
	}
	// One board alone is the same as that board among others.
	alone := cfg
	alone.Boards = cfg.Boards[1:]
	var second [][]byte
	Generate(cfg, func(r Resource) bool {
		if r.Board == cfg.Boards[1] {
			second = append(second, r.Body)
		}
		return true
	})
	k := 0
	Generate(alone, func(r Resource) bool {
		if k >= len(second) || !bytes.Equal(r.Body, second[k]) {
			t.Fatalf("board %s alone: write %d differs", r.Board, k)
		}
		k++
		return true
	})
	// Stopping early stops.
	n := 0
	Generate(cfg, func(Resource) bool { n++; return n < 5 })
	if n != 5 {
		t.Errorf("yield returned false at 5, Generate went on to %d", n)
	}
	// Another canonical base: every matcare canonical moves, and the
	// checks pass under it.
	moved := Config{Seed: 7, Patients: 3, Boards: []string{"S08000031"}, Base: "https://fhir.example.scot/r4"}
	Generate(moved, func(r Resource) bool {
		if bytes.Contains(r.Body, []byte("matcare.example")) {
			t.Fatalf("%s/%s names the default base", r.Type, r.ID)
		}
		return true
	})
	runChecks(t, moved)
}

func TestSynthCalendar(t *testing.T) {
	day := func(s string) time.Time { d, _ := time.Parse(time.DateOnly, s); return d }
	days := func(ds []time.Time) []string {
		var out []string
		for _, d := range ds {
			out = append(out, d.Format(time.DateOnly))
		}
		return out
	}
	// gov.uk's Scottish bank holidays (without one-off royal days).
	for y, want := range map[int][]string{
		2022: {"2022-01-03", "2022-01-04", "2022-04-15", "2022-05-02", "2022-05-30", "2022-08-01", "2022-11-30", "2022-12-26", "2022-12-27"},
		2025: {"2025-01-01", "2025-01-02", "2025-04-18", "2025-05-05", "2025-05-26", "2025-08-04", "2025-12-01", "2025-12-25", "2025-12-26"},
		2026: {"2026-01-01", "2026-01-02", "2026-04-03", "2026-05-04", "2026-05-25", "2026-08-03", "2026-11-30", "2026-12-25", "2026-12-28"},
	} {
		if got := days(bankHolidays(y)); !slices.Equal(got, want) {
			t.Errorf("bankHolidays(%d) = %v, want %v", y, got, want)
		}
	}
	// BST 2025: 30 March 01:00 UTC to 26 October 01:00 UTC.
	for _, tt := range []struct {
		y         int
		m         time.Month
		d, h, min int
		want      string
	}{
		{2025, time.March, 29, 22, 30, "2025-03-29T22:30:00+00:00"},
		{2025, time.March, 30, 0, 59, "2025-03-30T00:59:00+00:00"},
		{2025, time.March, 30, 3, 0, "2025-03-30T03:00:00+01:00"},
		{2025, time.July, 1, 12, 0, "2025-07-01T12:00:00+01:00"},
		{2025, time.October, 26, 0, 30, "2025-10-26T00:30:00+01:00"},
		{2025, time.October, 26, 2, 0, "2025-10-26T02:00:00+00:00"},
		{2025, time.December, 24, 16, 0, "2025-12-24T16:00:00+00:00"},
	} {
		if got := dateTime(london(tt.y, tt.m, tt.d, tt.h, tt.min)); got != tt.want {
			t.Errorf("london(%d-%d-%d %d:%02d) = %s, want %s", tt.y, tt.m, tt.d, tt.h, tt.min, got, tt.want)
		}
	}
	// 23:30 UTC in summer is the next UK day.
	late := time.Date(2025, time.July, 10, 23, 30, 0, 0, time.UTC)
	if got := dateOf(late); got != "2025-07-11" {
		t.Errorf("UK date of %v: %s", late, got)
	}
	c := newCalendar(2024, 2026)
	for _, tt := range []struct {
		from, to time.Time
		want     int
	}{
		{london(2025, time.June, 6, 16, 0), london(2025, time.June, 9, 10, 0), 1},           // Fri -> Mon
		{london(2025, time.June, 9, 9, 0), london(2025, time.June, 9, 17, 0), 0},            // same day
		{london(2025, time.April, 17, 15, 0), london(2025, time.April, 21, 10, 0), 1},       // Thu before Good Friday -> Mon
		{london(2025, time.December, 24, 15, 0), london(2025, time.December, 29, 10, 0), 1}, // Christmas Eve -> Mon
		{london(2025, time.June, 2, 10, 0), london(2025, time.June, 11, 10, 0), 7},          // Mon -> Wed next week
		{london(2025, time.October, 24, 16, 20), london(2025, time.October, 27, 10, 0), 1},  // across the clock change
	} {
		if got := c.workingDays(tt.from, tt.to); got != tt.want {
			t.Errorf("workingDays(%v, %v) = %d, want %d", tt.from, tt.to, got, tt.want)
		}
	}
	if !c.working(day("2025-12-23")) || c.working(day("2025-12-25")) || c.working(day("2025-12-27")) {
		t.Error("working days around Christmas 2025")
	}
}

// population is one board's case mix, read back from the generated
// writes: the latest version of every resource, and every version.
type population struct {
	latest   map[string]map[string]any
	versions map[string][]map[string]any
	order    []string
}

func generatePopulation(t *testing.T, cfg Config) population {
	p := population{latest: map[string]map[string]any{}, versions: map[string][]map[string]any{}}
	Generate(cfg, func(r Resource) bool {
		var m map[string]any
		if err := json.Unmarshal(r.Body, &m); err != nil {
			t.Fatal(err)
		}
		key := r.Type + "/" + r.ID
		if _, ok := p.latest[key]; !ok {
			p.order = append(p.order, key)
		}
		p.latest[key] = m
		p.versions[key] = append(p.versions[key], m)
		return true
	})
	return p
}

// path follows member names and array indexes ("activity", 0, "detail")
// through decoded JSON; nil where there is nothing.
func path(v any, steps ...any) any {
	for _, s := range steps {
		switch s := s.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[s]
		case int:
			a, _ := v.([]any)
			if s >= len(a) {
				return nil
			}
			v = a[s]
		}
	}
	return v
}

func str(v any, steps ...any) string { s, _ := path(v, steps...).(string); return s }

func list(v any, steps ...any) []any { a, _ := path(v, steps...).([]any); return a }

// code is the code of a CodeableConcept's first coding.
func code(cc any) string { return str(cc, "coding", 0, "code") }

// extension returns the extension of a resource or element whose url
// ends with suffix.
func extension(v any, suffix string) map[string]any {
	for _, e := range list(v, "extension") {
		if strings.HasSuffix(str(e, "url"), suffix) {
			return e.(map[string]any)
		}
	}
	return nil
}

func instant(t *testing.T, s string) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return at
}

// prescriptionStart is the earliest scheduledPeriod.start of an
// ost-prescription activity that is not not-started, cancelled or
// entered-in-error (DOMAIN.md §1.4), as written.
func prescriptionStart(t *testing.T, plan map[string]any) string {
	best, bestAt := "", time.Time{}
	for _, a := range list(plan, "activity") {
		d := path(a, "detail")
		switch str(d, "status") {
		case "not-started", "cancelled", "entered-in-error":
			continue
		}
		if code(path(d, "code")) != "ost-prescription" {
			continue
		}
		s := str(d, "scheduledPeriod", "start")
		if at := instant(t, s); best == "" || at.Before(bestAt) {
			best, bestAt = s, at
		}
	}
	return best
}

// TestSynthCaseMixTiming checks, from the generated CarePlans, that every row
// of the case mix is the MAT 1 case doc.go says: first contact against
// prescription start in UK days and working days, with the clock-change,
// UTC, bank-holiday and entered-in-error cases; and each row's end.
func TestSynthCaseMixTiming(t *testing.T) {
	cfg := Config{Seed: 11, Patients: len(caseMix), Boards: []string{"S08000031"}}
	pop := generatePopulation(t, cfg)
	cal := newCalendar(2023, 2026)
	for i, sc := range caseMix {
		n := i + 1
		plan := pop.latest[fmt.Sprintf("CarePlan/cp-S08000031-%06d", n)]
		t.Run(fmt.Sprintf("row%d-%s", i, sc.timing), func(t *testing.T) {
			switch sc.timing {
			case timingDraft:
				if str(plan, "status") != "draft" || !instant(t, str(plan, "period", "start")).After(cfg.Epoch) {
					t.Errorf("draft: %v %v", str(plan, "status"), str(plan, "period", "start"))
				}
				return
			case timingBenzoOnly:
				if plan != nil || pop.latest[fmt.Sprintf("CarePlan/bz-S08000031-%06d", n)] == nil {
					t.Error("a benzo-only row has a MAT episode, or no benzodiazepine plan")
				}
				return
			}
			if plan == nil {
				t.Fatal("no MAT episode")
			}
			fcText, rxText := str(plan, "period", "start"), prescriptionStart(t, plan)
			fc := instant(t, fcText)
			if end := str(extension(plan, "/episode-end-reason"), "valueCoding", "code"); end != sc.end {
				t.Errorf("ended by %q, want %q", end, sc.end)
			}
			if sc.timing == timingDeclined {
				if rxText != "" {
					t.Errorf("declined, yet a prescription start %s", rxText)
				}
				return
			}
			if rxText == "" {
				t.Fatal("no prescription start")
			}
			rx := instant(t, rxText)
			wd := cal.workingDays(fc, rx)
			sameDay := dateOf(fc) == dateOf(rx)
			want := map[string][2]int{timingSameDay: {0, 0}, timingLateSameDay: {0, 0}, timingPrisonSame: {0, 0},
				timingNextDay: {1, 1}, timingWeekend: {1, 1}, timingHolidayEve: {1, 1}, timingHoliday: {1, 1}, timingLateNextDay: {1, 1},
				timingBSTStart: {1, 1}, timingBSTEnd: {1, 1}, timingUTCMidnight: {1, 1}, timingErrorFirst: {1, 1},
				timingDays2to3: {2, 3}, timingDays4to5: {4, 5}, timingOver5: {6, 15}}[sc.timing]
			if wd < want[0] || wd > want[1] || sameDay != (want[1] == 0) {
				t.Errorf("%s -> %s: %d working days, same UK day %v; want %v", fcText, rxText, wd, sameDay, want)
			}
			hour := inLondon(fc).Hour()
			switch sc.timing {
			case timingWeekend:
				if inLondon(fc).Weekday() != time.Friday || inLondon(rx).Weekday() != time.Monday {
					t.Errorf("weekend: %s -> %s", fcText, rxText)
				}
			case timingHolidayEve:
				if !cal.holiday(civilDay(fc).AddDate(0, 0, 1)) {
					t.Errorf("the day after %s is no bank holiday", fcText)
				}
			case timingHoliday:
				if !cal.holiday(civilDay(fc)) {
					t.Errorf("%s is no bank holiday", fcText)
				}
			case timingLateSameDay, timingLateNextDay:
				if hour < 18 {
					t.Errorf("late evening first contact at %s", fcText)
				}
			case timingBSTStart:
				if !strings.HasSuffix(fcText, "+00:00") || !strings.HasSuffix(rxText, "+01:00") ||
					!civilDay(fc).AddDate(0, 0, 1).Equal(lastSunday(fc.Year(), time.March)) {
					t.Errorf("BST start: %s -> %s", fcText, rxText)
				}
			case timingBSTEnd:
				if !strings.HasSuffix(fcText, "+01:00") || !strings.HasSuffix(rxText, "+00:00") ||
					!civilDay(fc).AddDate(0, 0, 2).Equal(lastSunday(fc.Year(), time.October)) {
					t.Errorf("BST end: %s -> %s", fcText, rxText)
				}
			case timingUTCMidnight:
				// Written in UTC, the start has the first contact's date;
				// in the UK it is the next day.
				if !strings.HasSuffix(rxText, "Z") || rxText[:10] != fcText[:10] {
					t.Errorf("UTC midnight: %s -> %s", fcText, rxText)
				}
			case timingErrorFirst:
				found := false
				for _, a := range list(plan, "activity") {
					d := path(a, "detail")
					if str(d, "status") == "entered-in-error" && code(path(d, "code")) == "ost-prescription" &&
						dateOf(instant(t, str(d, "scheduledPeriod", "start"))) == dateOf(fc) {
						found = true
					}
				}
				if !found {
					t.Error("no ost-prescription entered in error on the day of first contact")
				}
			}
		})
	}
}

// TestSynthCaseMixMeasures checks that one board's case mix holds what every
// measure of DOMAIN.md §1.4 distinguishes (doc.go): each case below
// appears at least once in the generated data.
func TestSynthCaseMixMeasures(t *testing.T) {
	cfg := Config{Seed: 5, Patients: len(caseMix), Boards: []string{"S08000024"}}
	pop := generatePopulation(t, cfg)
	seen := map[string]int{}
	see := func(format string, args ...any) { seen[fmt.Sprintf(format, args...)]++ }
	epoch := cfg.Epoch
	if epoch.IsZero() {
		epoch = DefaultEpoch
	}
	for _, key := range pop.order {
		r := pop.latest[key]
		typ, _, _ := strings.Cut(key, "/")
		switch typ {
		case "Patient":
			if str(r, "deceasedDateTime") != "" {
				see("patient deceased")
			}
			if str(r, "meta", "security", 0, "code") == "R" {
				see("patient restricted")
			}
		case "CarePlan":
			cat := code(path(r, "category", 0))
			see("careplan %s %s", cat, str(r, "status"))
			if cat == "mat-episode" {
				if ref := str(extension(r, "/referral-date"), "valueDateTime"); ref == "" {
					see("referral none")
				} else if d, _ := time.Parse(time.DateOnly, ref); instant(t, str(r, "period", "start")).Sub(d) > 22*24*time.Hour {
					see("referral over 21 days")
				} else {
					see("referral within 21 days")
				}
				see("setting %s", str(extension(r, "/care-setting"), "valueCode"))
				if extension(r, "/outreach-contact-consent") != nil {
					see("outreach consent")
				}
			}
			for _, a := range list(r, "activity") {
				d := path(a, "detail")
				c, status := code(path(d, "code")), str(d, "status")
				see("activity %s", c)
				see("activity %s %s", c, status)
				if status == "cancelled" && str(d, "statusReason", "text") != "" {
					see("activity %s declined or not reached", c)
				}
				if c == "high-risk-event" && status == "completed" {
					see("event %s", code(path(d, "reasonCode", 0)))
				}
				if c == "outreach-contact" {
					see("outreach outcome %s", code(path(a, "outcomeCodeableConcept", 0)))
				}
				if c == "ost-prescription" && status == "in-progress" {
					mg, _ := path(d, "dailyAmount", "value").(float64)
					product := str(d, "productCodeableConcept", "text")
					switch {
					case strings.HasPrefix(product, "Methadone") && mg < 60, strings.HasPrefix(product, "Buprenorphine 8 mg") && mg < 12:
						see("dose below range")
					case strings.HasPrefix(product, "Methadone") && mg > 120, strings.HasPrefix(product, "Buprenorphine 8 mg") && mg > 16:
						see("dose above range")
					case strings.Contains(product, "injection"):
						see("dose depot")
					default:
						see("dose in range")
					}
				}
			}
		case "Goal":
			for _, v := range pop.versions[key] {
				see("goal %s", str(v, "lifecycleStatus"))
			}
			for _, c := range list(r, "category") {
				see("goal category %s", code(c))
			}
			switch {
			case strings.HasPrefix(str(r, "expressedBy", "reference"), "Patient/"):
				see("goal expressed by the patient")
			case str(r, "expressedBy", "reference") != "":
				see("goal expressed by a worker")
			default:
				see("goal expressed by nobody")
			}
			if acc := extension(r, "goal-acceptance"); acc != nil {
				see("goal acceptance %s", str(acc, "extension", 1, "valueCode"))
			}
			if extension(r, "goal-relationship") != nil {
				see("goal replaced")
			}
			if next := str(extension(r, "/next-review-date"), "valueDate"); next != "" && str(r, "lifecycleStatus") == "active" {
				if d, _ := time.Parse(time.DateOnly, next); d.Before(epoch) {
					see("goal review overdue")
				} else {
					see("goal review due")
				}
			}
		case "QuestionnaireResponse":
			q := str(r, "questionnaire")
			see("response %s %s", q[strings.LastIndex(q, "/")+1:], str(r, "status"))
			if answer(r, "formulation.protective") != nil {
				see("response with formulation")
			}
			if answer(r, "psych.mental-health.co-occurring") == true {
				see("response co-occurring mental health")
			}
			if bytes.Contains(mustJSON(r), []byte(`"code":"injected"`)) {
				see("response injecting")
			}
		case "CareTeam":
			see("careteam %s", str(r, "status"))
			if bytes.Contains(mustJSON(r), []byte(`"code":"62247001"`)) {
				see("careteam with GP")
			}
		}
	}
	want := []string{
		"patient deceased", "patient restricted",
		"careplan mat-episode active", "careplan mat-episode completed", "careplan mat-episode revoked", "careplan mat-episode draft",
		"careplan mat-episode entered-in-error", "careplan benzo-care-plan active", "careplan benzo-care-plan completed",
		"referral none", "referral over 21 days", "referral within 21 days", "outreach consent",
		"setting community", "setting prison", "setting hospital", "setting outreach",
		"activity ost-prescription cancelled", "activity ost-prescription entered-in-error", "activity ost-prescription stopped",
		"activity benzo-prescription in-progress", "activity benzo-prescription completed", "activity instalment-dispensing in-progress",
		"activity goal-review completed", "activity goal-review scheduled", "activity prescription-review completed",
		"activity bps-assessment completed",
		"activity naloxone completed", "activity iep completed", "activity bbv-test completed", "activity bbv-test declined or not reached",
		"activity injecting-risk-assessment completed", "activity wound-care completed", "activity wound-care declined or not reached",
		"activity tier-1", "activity tier-2", "activity tier-3", "activity tier-4",
		"activity shared-care-primary-care", "activity housing-support", "activity welfare-income-support", "activity independent-advocacy",
		"activity mental-health-care in-progress", "activity high-risk-event entered-in-error",
		"activity outreach-contact completed", "activity outreach-contact declined or not reached",
		"event non-fatal-overdose", "event prison-release", "event detox-discharge", "event unplanned-discharge",
		"outreach outcome mat-offered", "outreach outcome mat-started", "outreach outcome mat-continued", "outreach outcome mat-declined",
		"outreach outcome not-reached",
		"dose below range", "dose in range", "dose above range", "dose depot",
		"goal active", "goal completed", "goal cancelled", "goal rejected", "goal proposed", "goal entered-in-error",
		"goal category immediate-harm-reduction", "goal category psychosocial-intervention", "goal category supported-self-reduction",
		"goal category medication-assisted-detox", "goal category medication-assisted-stabilisation", "goal category motivational-enhancement",
		"goal category harm-reduction", "goal category abstinence", "goal category undecided", "goal category MAT2",
		"goal expressed by the patient", "goal expressed by a worker", "goal expressed by nobody",
		"goal acceptance agree", "goal acceptance pending", "goal acceptance disagree", "goal replaced",
		"goal review overdue", "goal review due",
		"response bps-benzo|1.0.0 completed", "response bps-benzo|1.0.0 in-progress", "response bps-benzo|1.0.0 entered-in-error",
		"response sds-benzo|1.0.0 completed", "response sds-benzo|1.0.0 in-progress", "response sds-benzo|1.0.0 entered-in-error",
		"response with formulation", "response co-occurring mental health", "response injecting",
		"careteam active", "careteam inactive", "careteam entered-in-error", "careteam with GP",
	}
	for _, w := range want {
		if seen[w] == 0 {
			t.Errorf("no %s", w)
		}
	}
	if t.Failed() {
		var all []string
		for k, n := range seen {
			all = append(all, fmt.Sprintf("%s ×%d", k, n))
		}
		slices.Sort(all)
		t.Logf("seen:\n%s", strings.Join(all, "\n"))
	}
}

// answer returns the value of the first answer to linkID in a
// QuestionnaireResponse, nil if there is none.
func answer(qr map[string]any, linkID string) any {
	var walk func(items []any) any
	walk = func(items []any) any {
		for _, it := range items {
			if str(it, "linkId") == linkID {
				for k, v := range path(it, "answer", 0).(map[string]any) {
					if strings.HasPrefix(k, "value") {
						return v
					}
				}
			}
			if v := walk(list(it, "item")); v != nil {
				return v
			}
		}
		return nil
	}
	return walk(list(qr, "item"))
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
