package tickets

import (
	"bufio"
	_ "embed"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// chinaTime is where working days are counted: China keeps UTC+8 all
// year, so a fixed zone needs no time zone database.
var chinaTime = time.FixedZone("CST", 8*60*60)

//go:embed holidays_cn.txt
var holidaysCN string

// Calendar knows the working days of mainland China: Monday to Friday,
// minus the public holidays, plus the weekend days the State Council
// makes working days. Years the data does not cover count Monday to
// Friday only (Covers tells them). It is safe for concurrent use.
type Calendar struct {
	off, work map[string]bool // by YYYY-MM-DD
	years     []int
}

// DefaultCalendar is the embedded calendar (holidays_cn.txt). The
// embedded file is checked by the tests, so this cannot fail in a build
// that passed them.
func DefaultCalendar() *Calendar {
	c, err := ParseCalendar(strings.NewReader(holidaysCN))
	if err != nil {
		panic("tickets: holidays_cn.txt: " + err.Error())
	}
	return c
}

// ParseCalendar reads a calendar in the format of holidays_cn.txt: lines
// "year YYYY" declaring the years covered, and "YYYY-MM-DD[..YYYY-MM-DD]
// off|work name" for the days off and the make-up working days (which
// must fall on a weekend). Blank lines and lines starting with # are
// skipped.
func ParseCalendar(r io.Reader) (*Calendar, error) {
	c := &Calendar{off: map[string]bool{}, work: map[string]bool{}}
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if f[0] == "year" {
			y, err := strconv.Atoi(strings.Join(f[1:], ""))
			if len(f) != 2 || err != nil || y < 2000 || y > 2200 {
				return nil, fmt.Errorf("line %d: want \"year YYYY\"", n)
			}
			if slices.Contains(c.years, y) {
				return nil, fmt.Errorf("line %d: year %d declared twice", n, y)
			}
			c.years = append(c.years, y)
			continue
		}
		if len(f) < 3 || (f[1] != "off" && f[1] != "work") {
			return nil, fmt.Errorf("line %d: want \"YYYY-MM-DD[..YYYY-MM-DD] off|work name\"", n)
		}
		first, last, err := dayRange(f[0])
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
			if !slices.Contains(c.years, d.Year()) {
				return nil, fmt.Errorf("line %d: %s is in a year not declared above it", n, d.Format(time.DateOnly))
			}
			key := d.Format(time.DateOnly)
			if c.off[key] || c.work[key] {
				return nil, fmt.Errorf("line %d: %s is listed twice", n, key)
			}
			if f[1] == "work" {
				if wd := d.Weekday(); wd != time.Saturday && wd != time.Sunday {
					return nil, fmt.Errorf("line %d: %s is a %s; only a weekend day can be a make-up working day", n, key, wd)
				}
				c.work[key] = true
			} else {
				c.off[key] = true
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return c, nil
}

// dayRange parses "YYYY-MM-DD" or "YYYY-MM-DD..YYYY-MM-DD" (at most a
// month long) in China time.
func dayRange(s string) (first, last time.Time, err error) {
	a, b, isRange := strings.Cut(s, "..")
	if first, err = time.ParseInLocation(time.DateOnly, a, chinaTime); err != nil {
		return first, last, fmt.Errorf("%q is not a date", a)
	}
	last = first
	if isRange {
		if last, err = time.ParseInLocation(time.DateOnly, b, chinaTime); err != nil {
			return first, last, fmt.Errorf("%q is not a date", b)
		}
		if !last.After(first) || last.Sub(first) > 31*24*time.Hour {
			return first, last, fmt.Errorf("%q is not a range of 2 to 32 days", s)
		}
	}
	return first, last, nil
}

// Covers reports whether the calendar knows year's holidays; in other
// years only weekends are days off.
func (c *Calendar) Covers(year int) bool { return slices.Contains(c.years, year) }

// Years lists the years the calendar covers.
func (c *Calendar) Years() []int { return slices.Clone(c.years) }

// IsWorkday reports whether the day t falls on, in China, is a working
// day.
func (c *Calendar) IsWorkday(t time.Time) bool {
	key := t.In(chinaTime).Format(time.DateOnly)
	if c.work[key] {
		return true
	}
	if c.off[key] {
		return false
	}
	wd := t.In(chinaTime).Weekday()
	return wd != time.Saturday && wd != time.Sunday
}

// Deadline returns when the n-th working day after the day of from ends
// (midnight China time at its end): the day of filing does not count,
// whatever the hour. n must be at least 1.
func (c *Calendar) Deadline(from time.Time, n int) time.Time {
	l := from.In(chinaTime)
	d := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, chinaTime)
	for n > 0 {
		d = d.AddDate(0, 0, 1)
		if c.IsWorkday(d) {
			n--
		}
	}
	return d.AddDate(0, 0, 1).UTC()
}

// WorkdaysLeft counts the working days from the day of now to the
// deadline, the day of now included when it is one; 0 once due has
// passed.
func (c *Calendar) WorkdaysLeft(now, due time.Time) int {
	if !now.Before(due) {
		return 0
	}
	l := now.In(chinaTime)
	d := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, chinaTime)
	n := 0
	for ; d.Before(due); d = d.AddDate(0, 0, 1) {
		if c.IsWorkday(d) {
			n++
		}
	}
	return n
}
