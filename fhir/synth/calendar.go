package synth

import (
	"slices"
	"time"
)

// The UK civil calendar the generated times follow, computed rather than
// read from the system's time zone database so the population is the
// same on every machine.

var (
	gmt = time.FixedZone("GMT", 0)
	bst = time.FixedZone("BST", 3600)
)

// lastSunday returns the last Sunday of month m of year y.
func lastSunday(y int, m time.Month) time.Time {
	d := time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC) // the month's last day
	return d.AddDate(0, 0, -int(d.Weekday()))
}

// bstStart and bstEnd are the instants British Summer Time starts and
// ends in year y: 01:00 UTC on the last Sundays of March and October
// (the rule since 1996).
func bstStart(y int) time.Time { return lastSunday(y, time.March).Add(time.Hour) }
func bstEnd(y int) time.Time   { return lastSunday(y, time.October).Add(time.Hour) }

// inLondon returns instant t as UK civil time: in BST (+01:00) or GMT
// (+00:00).
func inLondon(t time.Time) time.Time {
	u := t.UTC()
	if !u.Before(bstStart(u.Year())) && u.Before(bstEnd(u.Year())) {
		return u.In(bst)
	}
	return u.In(gmt)
}

// london returns the instant the UK civil clock shows y-m-d h:min. A
// wall time in the hour skipped in March is read as GMT (it is BST an
// hour later); one in the hour repeated in October as its first (BST)
// occurrence.
func london(y int, m time.Month, d, h, min int) time.Time {
	wall := time.Date(y, m, d, h, min, 0, 0, time.UTC)
	if t := wall.Add(-time.Hour); inLondon(t).Location() == bst {
		return t.In(bst)
	}
	return wall.In(gmt)
}

// at returns the instant the civil clock shows h:min on day (a date at
// midnight UTC standing for a calendar day).
func at(day time.Time, h, min int) time.Time {
	return london(day.Year(), day.Month(), day.Day(), h, min)
}

// civilDay returns the UK calendar day of instant t, as midnight UTC of
// that date.
func civilDay(t time.Time) time.Time {
	l := inLondon(t)
	return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, time.UTC)
}

// dateOf formats a calendar day (or the UK day of an instant) as an R4
// date.
func dateOf(t time.Time) string { return civilDay(t).Format("2006-01-02") }

// dateTime formats an instant as an R4 dateTime in UK civil time with
// its offset, "+00:00" in winter and "+01:00" in summer.
func dateTime(t time.Time) string { return inLondon(t).Format("2006-01-02T15:04:05-07:00") }

// utcDateTime formats an instant as an R4 dateTime in UTC ("Z"), as some
// systems send them: its UTC date may not be its UK date.
func utcDateTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z07:00") }

// easterSunday returns Easter Sunday of year y (Gregorian calendar,
// the anonymous Gregorian algorithm).
func easterSunday(y int) time.Time {
	a := y % 19
	b, c := y/100, y%100
	d, e := b/4, b%4
	f := (b + 8) / 25
	g := (b - f + 1) / 3
	h := (19*a + b - d - g + 15) % 30
	i, k := c/4, c%4
	l := (32 + 2*e + 2*i - h - k) % 7
	m := (a + 11*h + 22*l) / 451
	month := (h + l - 7*m + 114) / 31
	day := (h+l-7*m+114)%31 + 1
	return time.Date(y, time.Month(month), day, 0, 0, 0, 0, time.UTC)
}

// bankHolidays returns Scotland's bank holidays of year y, sorted, as
// days at midnight UTC: New Year's Day and 2 January, Good Friday, the
// first and last Mondays of May, the first Monday of August, St
// Andrew's Day (30 November), Christmas Day and Boxing Day. A fixed-date
// holiday on a weekend, or on a day another holiday already took, moves
// to the next weekday free (gov.uk's substitute days). One-off holidays
// (royal occasions) and local holidays are not included.
func bankHolidays(y int) []time.Time {
	date := func(m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	firstMonday := func(m time.Month) time.Time {
		d := date(m, 1)
		return d.AddDate(0, 0, (8-int(d.Weekday()))%7)
	}
	lastMonday := func(m time.Month) time.Time {
		d := date(m+1, 0)
		return d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7))
	}
	out := []time.Time{easterSunday(y).AddDate(0, 0, -2), firstMonday(time.May), lastMonday(time.May), firstMonday(time.August)}
	taken := func(d time.Time) bool { return slices.ContainsFunc(out, d.Equal) }
	for _, d := range []time.Time{date(time.January, 1), date(time.January, 2), date(time.November, 30), date(time.December, 25), date(time.December, 26)} {
		for weekend(d) || taken(d) {
			d = d.AddDate(0, 0, 1)
		}
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return out
}

func weekend(d time.Time) bool { return d.Weekday() == time.Saturday || d.Weekday() == time.Sunday }

// calendar answers whether a day is a working day: Monday to Friday and
// not a Scottish bank holiday.
type calendar struct {
	holidays map[time.Time]bool
}

func newCalendar(from, to int) *calendar {
	c := &calendar{holidays: map[time.Time]bool{}}
	for y := from; y <= to; y++ {
		for _, d := range bankHolidays(y) {
			c.holidays[d] = true
		}
	}
	return c
}

func (c *calendar) holiday(day time.Time) bool { return c.holidays[day] }

func (c *calendar) working(day time.Time) bool { return !weekend(day) && !c.holidays[day] }

// workingDays counts the working days after the UK day of from up to and
// including the UK day of to: 0 on the same day, 1 from Friday 16:00 to
// Monday 10:00 (DOMAIN.md §1.4, mat1-days-to-start).
func (c *calendar) workingDays(from, to time.Time) int {
	n := 0
	for d := civilDay(from).AddDate(0, 0, 1); !d.After(civilDay(to)); d = d.AddDate(0, 0, 1) {
		if c.working(d) {
			n++
		}
	}
	return n
}

// nextWorking returns the first working day after day.
func (c *calendar) nextWorking(day time.Time) time.Time {
	d := day.AddDate(0, 0, 1)
	for !c.working(d) {
		d = d.AddDate(0, 0, 1)
	}
	return d
}

// addWorking returns the day n working days after day.
func (c *calendar) addWorking(day time.Time, n int) time.Time {
	for range n {
		day = c.nextWorking(day)
	}
	return day
}
