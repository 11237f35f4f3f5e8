package models

import (
	"encoding/json"
	"reflect"
	"strings"
	"time"
)

// DateTime is a time as people send it: a date and time with its offset
// (2026-12-31T18:00:00+08:00), or a date alone (2026-12-31), whose time
// of day the service sets in its zone (DeadlinePolicy.Zone): a deadline
// ends at the end of its day, an issue date starts at its beginning.
type DateTime struct {
	Time time.Time
	// DateOnly marks a date without a time; Time then holds the date at
	// midnight UTC.
	DateOnly bool
}

// At is the DateTime of t.
func At(t time.Time) *DateTime { return &DateTime{Time: t} }

// OnDate is the DateTime of a date alone.
func OnDate(y int, m time.Month, d int) *DateTime {
	return &DateTime{Time: time.Date(y, m, d, 0, 0, 0, 0, time.UTC), DateOnly: true}
}

// DateTimeFormats says in words what a DateTime accepts, for messages.
const DateTimeFormats = "a date such as 2026-12-31, or a date and time with its offset such as 2026-12-31T18:00:00+08:00"

// UnmarshalJSON reads either form. Anything else is a type error that the
// decoder names with its field, and the API reports as invalid_date.
func (d *DateTime) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return &json.UnmarshalTypeError{Value: "non-string", Type: reflect.TypeOf(DateTime{})}
	}
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		*d = DateTime{Time: t, DateOnly: true}
		return nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		*d = DateTime{Time: t}
		return nil
	}
	return &json.UnmarshalTypeError{Value: "string " + strings.ToValidUTF8(s, "?"), Type: reflect.TypeOf(DateTime{})}
}

// MarshalJSON writes the form it was read in.
func (d DateTime) MarshalJSON() ([]byte, error) {
	if d.DateOnly {
		return json.Marshal(d.Time.Format(time.DateOnly))
	}
	return json.Marshal(d.Time)
}

// EndOfDay is the last second of the DateTime's day in loc when it is a
// date alone, the time itself otherwise.
func (d DateTime) EndOfDay(loc *time.Location) time.Time {
	if !d.DateOnly {
		return d.Time
	}
	y, m, day := d.Time.Date()
	return time.Date(y, m, day, 23, 59, 59, 0, loc)
}

// StartOfDay is midnight of the DateTime's day in loc when it is a date
// alone, the time itself otherwise.
func (d DateTime) StartOfDay(loc *time.Location) time.Time {
	if !d.DateOnly {
		return d.Time
	}
	y, m, day := d.Time.Date()
	return time.Date(y, m, day, 0, 0, 0, 0, loc)
}

// Review cadences of open-ended items.
const (
	CadenceMonthly    = "monthly"
	CadenceQuarterly  = "quarterly"
	CadenceSemiannual = "semiannual"
	CadenceAnnual     = "annual"
)

// ReviewCadences lists the cadences in order.
var ReviewCadences = []string{CadenceMonthly, CadenceQuarterly, CadenceSemiannual, CadenceAnnual}

// cadenceMonths is each cadence's period in months.
var cadenceMonths = map[string]int{CadenceMonthly: 1, CadenceQuarterly: 3, CadenceSemiannual: 6, CadenceAnnual: 12}

// ReviewDue is when the review of an open-ended item with the given
// cadence is due, for the period that contains t: the last second of the
// period's last day in loc. Periods are calendar months, quarters, half
// years and years.
func ReviewDue(cadence string, t time.Time, loc *time.Location) time.Time {
	n := cadenceMonths[cadence]
	if n == 0 {
		n = 3
	}
	t = t.In(loc)
	first := (int(t.Month()) - 1) / n * n // months before the period's first
	start := time.Date(t.Year(), time.Month(first+1), 1, 0, 0, 0, 0, loc)
	return start.AddDate(0, n, 0).Add(-time.Second)
}
