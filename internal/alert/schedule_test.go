package alert

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yuncan/yuncan/internal/seeking"
)

func TestDefaultSchedules(t *testing.T) {
	ss := DefaultSchedules()
	if err := ss.Validate(); err != nil {
		t.Fatal(err)
	}
	// The national rule for a child: 100 km at once, then 200, 300 and
	// 500 km at 2, 3 and 4 hours.
	want := Schedule{{0, 100}, {2 * time.Hour, 200}, {3 * time.Hour, 300}, {4 * time.Hour, 500}}
	if got := ss[seeking.CategoryChild]; !equalSchedule(got, want) {
		t.Errorf("child = %v, want %v", got, want)
	}
	// On foot: 3 km, widening at about walking speed (5 km/h).
	for _, c := range []seeking.Category{seeking.CategoryElder, seeking.CategoryDementia} {
		s := ss[c]
		if s[0].RadiusKm != 3 || s[0].After != 0 {
			t.Errorf("%s starts at %v", c, s[0])
		}
		for i := 1; i < len(s); i++ {
			speed := (s[i].RadiusKm - s[i-1].RadiusKm) / (s[i].After - s[i-1].After).Hours()
			if speed < 3 || speed > 6 {
				t.Errorf("%s ring %d widens at %.1f km/h, not walking speed", c, i+1, speed)
			}
		}
	}
	want = Schedule{{0, 5}, {6 * time.Hour, 20}, {24 * time.Hour, 50}}
	for _, c := range []seeking.Category{seeking.CategoryAdult, seeking.CategoryOther} {
		if got := ss[c]; !equalSchedule(got, want) {
			t.Errorf("%s = %v, want %v", c, got, want)
		}
	}
}

func equalSchedule(a, b Schedule) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A schedules file that is not right is refused with an error naming the
// category, the ring and what is wrong.
func TestParseSchedulesRefuses(t *testing.T) {
	rest := `"elder": [{"after": "0h", "radius_km": 3}], "dementia": [{"after": "0h", "radius_km": 3}],
		"adult": [{"after": "0h", "radius_km": 5}], "other": [{"after": "0h", "radius_km": 5}]`
	for _, tc := range []struct{ child, want string }{
		{`[{"after": "0h", "radius_km": 100}, {"after": "2h", "radius_km": 50}]`, "child: ring 2: radius_km 50 must be more than ring 1's 100"},
		{`[{"after": "0h", "radius_km": 100}, {"after": "2h", "radius_km": 100}]`, "ring 2: radius_km 100 must be more than"},
		{`[{"after": "2h", "radius_km": 100}, {"after": "1h", "radius_km": 200}]`, "child: ring 2: after 1h0m0s must be later than ring 1's 2h0m0s"},
		{`[{"after": "0h", "radius_km": 100}, {"after": "0h", "radius_km": 200}]`, "ring 2: after 0s must be later"},
		{`[{"after": "-1h", "radius_km": 100}]`, "child: ring 1: after -1h0m0s must be from 0"},
		{`[{"after": "0h", "radius_km": 0}]`, "child: ring 1: radius_km 0 must be more than 0 and at most 1000"},
		{`[{"after": "0h", "radius_km": -3}]`, "radius_km -3 must be more than 0"},
		{`[{"after": "0h", "radius_km": 1001}]`, "radius_km 1001 must be more than 0 and at most 1000"},
		{`[{"after": "800h", "radius_km": 10}]`, "after 800h0m0s must be from 0 to 720h0m0s"},
		{`[{"after": "soon", "radius_km": 10}]`, `child: ring 1: after "soon" is not a duration`},
		{`[{"radius_km": 10}]`, "child: ring 1: needs both after and radius_km"},
		{`[{"after": "0h", "radius_km": 10, "colour": "red"}]`, "unknown field"},
		{`[]`, "child: no rings"},
		{`{"after": "0h"}`, "not a JSON object"},
	} {
		_, err := ParseSchedules(strings.NewReader(`{"child": ` + tc.child + `, ` + rest + `}`))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.child, err, tc.want)
		}
	}
	for _, tc := range []struct{ file, want string }{
		{`{` + rest + `}`, "child: no rings: every category needs a schedule"},
		{`{"child": [{"after": "0h", "radius_km": 1}], "teen": [{"after": "0h", "radius_km": 1}], ` + rest + `}`, `"teen" is not a category`},
		{`{"child": [{"after": "0h", "radius_km": 1}], ` + rest + `} {}`, "data after the object"},
		{``, "not a JSON object"},
	} {
		_, err := ParseSchedules(strings.NewReader(tc.file))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.file, err, tc.want)
		}
	}
	long := `[` + strings.Repeat(`{"after": "0h", "radius_km": 1},`, MaxRings) + `{"after": "0h", "radius_km": 1}]`
	if _, err := ParseSchedules(strings.NewReader(`{"child": ` + long + `, ` + rest + `}`)); err == nil || !strings.Contains(err.Error(), "at most 20") {
		t.Errorf("21 rings: %v", err)
	}
}

func TestLoadSchedules(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "rings.json")
	os.WriteFile(good, []byte(`{"child": [{"after": "0s", "radius_km": 50}, {"after": "90m", "radius_km": 150.5}],
		"elder": [{"after": "0h", "radius_km": 2}], "dementia": [{"after": "0h", "radius_km": 2}],
		"adult": [{"after": "0h", "radius_km": 5}], "other": [{"after": "0h", "radius_km": 5}]}`), 0o600)
	ss, err := LoadSchedules(good)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Schedule{{0, 50}, {90 * time.Minute, 150.5}}); !equalSchedule(ss[seeking.CategoryChild], want) {
		t.Errorf("child = %v", ss[seeking.CategoryChild])
	}
	if _, err := LoadSchedules(filepath.Join(dir, "missing.json")); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("a missing file: %v", err)
	}
}

// The ring arithmetic: rings are timed from the centre's time; the due
// ones are those not opened whose time came; a person belongs to the
// innermost opening ring that holds them; distances are whole km rounded
// up.
func TestRingArithmetic(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	plan := DefaultSchedules()[seeking.CategoryChild].Plan("a", t0)
	if len(plan) != 4 || plan[1].N != 2 || !plan[1].DueAt.Equal(t0.Add(2*time.Hour)) || plan[3].RadiusKm != 500 {
		t.Fatalf("plan = %+v", plan)
	}
	ns := func(rs []RingState) []int {
		var out []int
		for _, r := range rs {
			out = append(out, r.N)
		}
		return out
	}
	for _, tc := range []struct {
		at   time.Duration
		want []int
	}{{-time.Minute, nil}, {0, []int{1}}, {119 * time.Minute, []int{1}}, {2 * time.Hour, []int{1, 2}}, {10 * time.Hour, []int{1, 2, 3, 4}}} {
		if got := ns(due(plan, t0.Add(tc.at))); !equalInts(got, tc.want) {
			t.Errorf("due at %v = %v, want %v", tc.at, got, tc.want)
		}
	}
	plan[0].OpenedAt = t0
	if got := ns(due(plan, t0.Add(3*time.Hour))); !equalInts(got, []int{2, 3}) {
		t.Errorf("due at 3 h with ring 1 open = %v", got)
	}
	opening := plan[1:3] // 200 and 300 km catching up together
	for _, tc := range []struct {
		d    float64
		want int
	}{{0.1, 2}, {150, 2}, {200, 2}, {200.01, 3}, {300, 3}, {300.0001, 3}} {
		if got := ringOf(opening, tc.d).N; got != tc.want {
			t.Errorf("ringOf(%v) = %d, want %d", tc.d, got, tc.want)
		}
	}
	for _, tc := range []struct {
		d    float64
		want int
	}{{0, 1}, {0.2, 1}, {1, 1}, {1.0001, 2}, {36.2, 37}, {37, 37}, {499.99, 500}} {
		if got := ceilKm(tc.d); got != tc.want {
			t.Errorf("ceilKm(%v) = %d, want %d", tc.d, got, tc.want)
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestQuietHours(t *testing.T) {
	q := DefaultQuietHours()
	sh := q.Zone
	for _, tc := range []struct {
		h, m int
		want bool
	}{{21, 59, false}, {22, 0, true}, {23, 30, true}, {0, 0, true}, {6, 59, true}, {7, 0, false}, {12, 0, false}} {
		at := time.Date(2026, 5, 1, tc.h, tc.m, 0, 0, sh)
		if got := q.In(at); got != tc.want {
			t.Errorf("In(%02d:%02d Beijing) = %v, want %v", tc.h, tc.m, got, tc.want)
		}
	}
	// 22:30 in Beijing is 14:30 UTC.
	if !q.In(time.Date(2026, 5, 1, 14, 30, 0, 0, time.UTC)) {
		t.Error("the zone is not applied")
	}
	day, err := ParseQuietHours("13:00-14:00", time.UTC)
	if err != nil || !day.In(time.Date(2026, 5, 1, 13, 30, 0, 0, time.UTC)) || day.In(time.Date(2026, 5, 1, 14, 0, 0, 0, time.UTC)) {
		t.Errorf("13:00-14:00: %v %v", day, err)
	}
	if day.String() != "13:00-14:00" || q.String() != "22:00-07:00" {
		t.Errorf("String = %s, %s", day, q)
	}
	off, err := ParseQuietHours("off", nil)
	if err != nil || off.In(time.Date(2026, 5, 1, 15, 0, 0, 0, time.UTC)) || off.String() != "off" {
		t.Errorf("off: %v %v", off, err)
	}
	for _, bad := range []string{"", "22:00", "25:00-07:00", "22:00-07:60", "10:00-10:00", "ten-eleven"} {
		if _, err := ParseQuietHours(bad, nil); err == nil {
			t.Errorf("ParseQuietHours(%q) accepted it", bad)
		}
	}
}
