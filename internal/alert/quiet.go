package alert

import (
	"fmt"
	"strings"
	"time"
)

// QuietHours is when alerts reach the inbox without a push. Start and End
// are times of day in Zone; when Start is after End the hours wrap
// midnight. Off means no quiet hours.
type QuietHours struct {
	Start, End time.Duration
	Zone       *time.Location
	Off        bool
}

// DefaultQuietHours are 22:00 to 07:00, Beijing time.
func DefaultQuietHours() QuietHours {
	return QuietHours{Start: 22 * time.Hour, End: 7 * time.Hour, Zone: shanghai()}
}

// shanghai is Asia/Shanghai: from the system's zone data when it has it,
// else UTC+8, which is the same (China keeps no daylight saving time).
func shanghai() *time.Location {
	if z, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return z
	}
	return time.FixedZone("Asia/Shanghai", 8*3600)
}

// ParseQuietHours reads "HH:MM-HH:MM" in zone, or "off".
func ParseQuietHours(s string, zone *time.Location) (QuietHours, error) {
	if zone == nil {
		zone = shanghai()
	}
	if strings.EqualFold(strings.TrimSpace(s), "off") {
		return QuietHours{Off: true, Zone: zone}, nil
	}
	a, b, ok := strings.Cut(s, "-")
	start, err1 := parseClock(a)
	end, err2 := parseClock(b)
	if !ok || err1 != nil || err2 != nil {
		return QuietHours{}, fmt.Errorf("quiet hours %q: want HH:MM-HH:MM, for example 22:00-07:00, or off", s)
	}
	if start == end {
		return QuietHours{}, fmt.Errorf("quiet hours %q: start and end are the same; say off for none", s)
	}
	return QuietHours{Start: start, End: end, Zone: zone}, nil
}

func parseClock(s string) (time.Duration, error) {
	t, err := time.Parse("15:04", strings.TrimSpace(s))
	if err != nil {
		return 0, err
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}

// In reports whether t falls in the quiet hours.
func (q QuietHours) In(t time.Time) bool {
	if q.Off || q.Start == q.End {
		return false
	}
	zone := q.Zone
	if zone == nil {
		zone = shanghai()
	}
	lt := t.In(zone)
	d := time.Duration(lt.Hour())*time.Hour + time.Duration(lt.Minute())*time.Minute + time.Duration(lt.Second())*time.Second
	if q.Start < q.End {
		return d >= q.Start && d < q.End
	}
	return d >= q.Start || d < q.End
}

// String is the form ParseQuietHours reads.
func (q QuietHours) String() string {
	if q.Off || q.Start == q.End {
		return "off"
	}
	clock := func(d time.Duration) string { return fmt.Sprintf("%02d:%02d", int(d.Hours()), int(d.Minutes())%60) }
	return clock(q.Start) + "-" + clock(q.End)
}
