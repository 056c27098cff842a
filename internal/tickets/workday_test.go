package tickets

import (
	"strings"
	"testing"
	"time"
)

// cst is a time in China.
func cst(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, chinaTime)
}

// The embedded data parses, covers 2026 and holds the State Council's
// 2026 arrangement: the parser already refuses a make-up working day on
// a weekday.
func TestCalendarData(t *testing.T) {
	c := DefaultCalendar()
	if !c.Covers(2026) {
		t.Fatalf("holidays_cn.txt does not cover 2026: %v", c.Years())
	}
	for _, tc := range []struct {
		day  time.Time
		want bool
	}{
		{cst(2026, 1, 1, 12, 0), false},                       // 元旦, a Thursday
		{cst(2026, 1, 2, 12, 0), false},                       // a Friday off
		{cst(2026, 1, 4, 12, 0), true},                        // a Sunday worked
		{cst(2026, 1, 5, 12, 0), true},                        // an ordinary Monday
		{cst(2026, 1, 10, 12, 0), false},                      // an ordinary Saturday
		{cst(2026, 2, 14, 12, 0), true},                       // a Saturday worked before 春节
		{cst(2026, 2, 16, 12, 0), false},                      // 春节, a Monday
		{cst(2026, 2, 23, 12, 0), false},                      // the last day of 春节, a Monday
		{cst(2026, 2, 24, 12, 0), true},                       // back to work
		{cst(2026, 2, 28, 12, 0), true},                       // a Saturday worked after 春节
		{cst(2026, 4, 6, 12, 0), false},                       // 清明节, a Monday
		{cst(2026, 5, 5, 12, 0), false},                       // 劳动节, a Tuesday
		{cst(2026, 5, 9, 12, 0), true},                        // a Saturday worked
		{cst(2026, 6, 19, 12, 0), false},                      // 端午节, a Friday
		{cst(2026, 9, 20, 12, 0), true},                       // a Sunday worked before 国庆节
		{cst(2026, 9, 25, 12, 0), false},                      // 中秋节, a Friday
		{cst(2026, 10, 7, 12, 0), false},                      // 国庆节, a Wednesday
		{cst(2026, 10, 8, 12, 0), true},                       // back to work, a Thursday
		{cst(2026, 10, 10, 12, 0), true},                      // a Saturday worked
		{cst(2027, 1, 1, 12, 0), true},                        // not covered: a Friday counts
		{cst(2027, 1, 2, 12, 0), false},                       // a Saturday
		{time.Date(2026, 1, 3, 16, 30, 0, 0, time.UTC), true}, // 4 January in China
	} {
		if got := c.IsWorkday(tc.day); got != tc.want {
			t.Errorf("IsWorkday(%s) = %v, want %v", tc.day.In(chinaTime).Format("2006-01-02 Mon"), got, tc.want)
		}
	}
}

// P67: the deadline is the end of the 15th working day after the day of
// filing, in China: weekends are skipped, holidays too, and a weekend day
// made a working day counts.
func TestCalendarDeadline(t *testing.T) {
	c := DefaultCalendar()
	for _, tc := range []struct {
		name string
		from time.Time
		n    int
		want time.Time
	}{
		{"three ordinary weeks", cst(2026, 3, 2, 10, 0), 15, cst(2026, 3, 24, 0, 0)},
		{"filed late on a Friday", cst(2026, 3, 6, 23, 30), 15, cst(2026, 3, 28, 0, 0)},
		// 17:00 UTC on Friday is 01:00 on Saturday in China.
		{"the day is China's", time.Date(2026, 3, 6, 17, 0, 0, 0, time.UTC), 15, cst(2026, 3, 28, 0, 0)},
		// 14 Feb (Sat, worked) is 1, 15–23 Feb are off, 24–27 Feb are
		// 2–5, 28 Feb (Sat, worked) is 6, 2–6 Mar 7–11, 9–12 Mar 12–15.
		{"across 春节", cst(2026, 2, 13, 10, 0), 15, cst(2026, 3, 13, 0, 0)},
		// 1–7 Oct off, 8–9 Oct 1–2, 10 Oct (Sat, worked) 3, 12–16 Oct
		// 4–8, 19–23 Oct 9–13, 26–27 Oct 14–15.
		{"across 国庆节", cst(2026, 9, 30, 9, 0), 15, cst(2026, 10, 28, 0, 0)},
		{"filed on a holiday", cst(2026, 5, 1, 9, 0), 1, cst(2026, 5, 7, 0, 0)},
		{"one day from a Friday", cst(2026, 3, 6, 9, 0), 1, cst(2026, 3, 10, 0, 0)},
		{"a year not covered: weekdays only", cst(2027, 3, 1, 9, 0), 15, cst(2027, 3, 23, 0, 0)},
	} {
		got := c.Deadline(tc.from, tc.n)
		if !got.Equal(tc.want) {
			t.Errorf("%s: Deadline(%s, %d) = %s, want %s", tc.name, tc.from.In(chinaTime).Format("2006-01-02 15:04 Mon"), tc.n,
				got.In(chinaTime).Format("2006-01-02 15:04 Mon"), tc.want.Format("2006-01-02 15:04 Mon"))
		}
		if got.Location() != time.UTC {
			t.Errorf("%s: the deadline is not in UTC", tc.name)
		}
	}
}

func TestCalendarWorkdaysLeft(t *testing.T) {
	c := DefaultCalendar()
	due := c.Deadline(cst(2026, 2, 13, 10, 0), 15) // end of 12 March
	for _, tc := range []struct {
		now  time.Time
		want int
	}{
		{cst(2026, 2, 13, 10, 0), 16}, // the day of filing is a working day too
		{cst(2026, 2, 16, 10, 0), 14}, // during 春节: 14 Feb is behind
		{cst(2026, 3, 12, 23, 59), 1},
		{cst(2026, 3, 13, 0, 0), 0},
		{cst(2026, 4, 1, 0, 0), 0},
	} {
		if got := c.WorkdaysLeft(tc.now, due); got != tc.want {
			t.Errorf("WorkdaysLeft(%s) = %d, want %d", tc.now.Format("01-02 15:04"), got, tc.want)
		}
	}
}

func TestParseCalendarRejects(t *testing.T) {
	for name, doc := range map[string]string{
		"a weekday worked":   "year 2026\n2026-01-05 work x\n",
		"an undeclared year": "year 2026\n2027-01-01 off x\n",
		"a day twice":        "year 2026\n2026-01-01 off x\n2026-01-01 off y\n",
		"off and worked":     "year 2026\n2026-01-03..2026-01-04 off x\n2026-01-04 work y\n",
		"no name":            "year 2026\n2026-01-01 off\n",
		"a bad word":         "year 2026\n2026-01-01 holiday x\n",
		"a bad date":         "year 2026\n2026-02-30 off x\n",
		"a backward range":   "year 2026\n2026-01-03..2026-01-01 off x\n",
		"a range too long":   "year 2026\n2026-01-01..2026-03-01 off x\n",
		"a year twice":       "year 2026\nyear 2026\n",
		"a bad year":         "year twenty\n",
	} {
		if _, err := ParseCalendar(strings.NewReader(doc)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	c, err := ParseCalendar(strings.NewReader("# only comments\n\nyear 2030\n"))
	if err != nil || !c.Covers(2030) || c.Covers(2031) {
		t.Errorf("a year without holidays: %v, covers %v", err, c.Years())
	}
}
