package alert

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/yuncan/yuncan/internal/seeking"
)

// Ring is one step of a schedule: After the centre's time (the last-seen
// time, or the time of a verified clue) the alert reaches RadiusKm around
// the centre.
type Ring struct {
	After    time.Duration
	RadiusKm float64
}

// Schedule is the rings of one category, in order: each opens later and
// reaches farther than the one before.
type Schedule []Ring

// Schedules holds a schedule per case category.
type Schedules map[seeking.Category]Schedule

// Limits on a schedule file.
const (
	MaxRadiusKm = 1000
	MaxRings    = 20
	// MaxAfter bounds when a ring may open: a ring a month after the
	// person was last seen would alert people about something stale.
	MaxAfter = 30 * 24 * time.Hour
)

// categories is every category a schedules file must cover.
var categories = []seeking.Category{seeking.CategoryChild, seeking.CategoryElder, seeking.CategoryDementia,
	seeking.CategoryAdult, seeking.CategoryOther}

//go:embed rings.json
var defaultRings []byte

// DefaultSchedules are the embedded schedules (rings.json): for a child
// the national rule (100 km at once, 200 km after 2 h, 300 km after 3 h,
// 500 km after 4 h); for an elder or a person with dementia, who is
// usually on foot, 3 km widening at walking speed to 40 km after 8 h; for
// an adult or other, 5, 20 and 50 km at 0, 6 and 24 h.
func DefaultSchedules() Schedules {
	s, err := ParseSchedules(bytes.NewReader(defaultRings))
	if err != nil {
		panic("alert: the embedded rings.json is invalid: " + err.Error())
	}
	return s
}

// LoadSchedules reads a schedules file (the format of rings.json).
func LoadSchedules(path string) (Schedules, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("alert: rings file: %w", err)
	}
	defer f.Close()
	s, err := ParseSchedules(f)
	if err != nil {
		return nil, fmt.Errorf("alert: rings file %s: %w", path, err)
	}
	return s, nil
}

// ringJSON is one ring as written in a schedules file.
type ringJSON struct {
	After    *string  `json:"after"`
	RadiusKm *float64 `json:"radius_km"`
}

// ParseSchedules reads and checks schedules: one list of rings for each
// category ({"after": "2h", "radius_km": 200}, durations in Go syntax),
// radii more than 0 and at most 1000 km, both increasing from ring to
// ring. Unknown categories and fields are refused.
func ParseSchedules(r io.Reader) (Schedules, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var raw map[string][]ringJSON
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("not a JSON object of category → rings: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("not a JSON object of category → rings: data after the object")
	}
	out := Schedules{}
	var errs []error
	for name, rings := range raw {
		c := seeking.Category(name)
		if !c.Valid() {
			errs = append(errs, fmt.Errorf("%q is not a category (child, elder, dementia, adult, other)", name))
			continue
		}
		s, err := parseSchedule(rings)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		out[c] = s
	}
	for _, c := range categories {
		if _, ok := raw[string(c)]; !ok {
			errs = append(errs, fmt.Errorf("%s: no rings: every category needs a schedule", c))
		}
	}
	if len(errs) > 0 {
		slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
		return nil, errors.Join(errs...)
	}
	return out, nil
}

func parseSchedule(rings []ringJSON) (Schedule, error) {
	if len(rings) == 0 {
		return nil, errors.New("no rings: a schedule needs at least one")
	}
	if len(rings) > MaxRings {
		return nil, fmt.Errorf("%d rings: at most %d", len(rings), MaxRings)
	}
	s := make(Schedule, 0, len(rings))
	for i, rj := range rings {
		if rj.After == nil || rj.RadiusKm == nil {
			return nil, fmt.Errorf("ring %d: needs both after and radius_km", i+1)
		}
		after, err := time.ParseDuration(*rj.After)
		if err != nil {
			return nil, fmt.Errorf("ring %d: after %q is not a duration like \"90m\" or \"2h\"", i+1, *rj.After)
		}
		s = append(s, Ring{After: after, RadiusKm: *rj.RadiusKm})
	}
	return s, s.Validate()
}

// Validate checks a schedule: at least one ring and at most MaxRings;
// radii more than 0 and at most MaxRadiusKm, times from 0 to MaxAfter,
// both strictly increasing.
func (s Schedule) Validate() error {
	if len(s) == 0 {
		return errors.New("no rings: a schedule needs at least one")
	}
	if len(s) > MaxRings {
		return fmt.Errorf("%d rings: at most %d", len(s), MaxRings)
	}
	for i, r := range s {
		n := i + 1
		switch {
		case !(r.RadiusKm > 0 && r.RadiusKm <= MaxRadiusKm): // also refuses NaN
			return fmt.Errorf("ring %d: radius_km %v must be more than 0 and at most %d", n, r.RadiusKm, MaxRadiusKm)
		case r.After < 0 || r.After > MaxAfter:
			return fmt.Errorf("ring %d: after %s must be from 0 to %s", n, r.After, MaxAfter)
		case i > 0 && r.RadiusKm <= s[i-1].RadiusKm:
			return fmt.Errorf("ring %d: radius_km %v must be more than ring %d's %v", n, r.RadiusKm, i, s[i-1].RadiusKm)
		case i > 0 && r.After <= s[i-1].After:
			return fmt.Errorf("ring %d: after %s must be later than ring %d's %s", n, r.After, i, s[i-1].After)
		}
	}
	return nil
}

// Validate checks every schedule and that each category has one.
func (ss Schedules) Validate() error {
	for _, c := range categories {
		s, ok := ss[c]
		if !ok {
			return fmt.Errorf("%s: no rings: every category needs a schedule", c)
		}
		if err := s.Validate(); err != nil {
			return fmt.Errorf("%s: %w", c, err)
		}
	}
	return nil
}

// Plan times the rings of s from the centre's time: ring n (from 1) is due
// at from + s[n-1].After.
func (s Schedule) Plan(alertID string, from time.Time) []RingState {
	out := make([]RingState, len(s))
	for i, r := range s {
		out[i] = RingState{AlertID: alertID, N: i + 1, RadiusKm: r.RadiusKm, DueAt: from.Add(r.After)}
	}
	return out
}
