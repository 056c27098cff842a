package seeking

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/yuncan/yuncan"
)

var now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func fp(f float64) *float64 { return &f }
func ip(n int) *int         { return &n }

func goodInput() CaseInput {
	return CaseInput{
		Category: CategoryChild,
		Person:   Person{FullName: " 王小明 ", Sex: "male", DateOfBirth: "2018-05-01", Age: ip(7), HeightCm: ip(120)},
		LastSeen: LastSeen{At: now.Add(-time.Hour), Lat: 30.25, Lng: 120.15, PlaceName: "西湖公园"},
		Private:  Private{Relationship: "father", ContactPhone: "138 0013 8000"},
	}
}

// TestCaseInputValidate: every bad field is a 400 naming the field, and
// a good input is normalised.
func TestCaseInputValidate(t *testing.T) {
	in := goodInput()
	if err := in.Validate(now); err != nil {
		t.Fatalf("good input refused: %v", err)
	}
	if in.Person.FullName != "王小明" || in.Private.ContactPhone != "+8613800138000" {
		t.Fatalf("not normalised: %q %q", in.Person.FullName, in.Private.ContactPhone)
	}
	for _, tc := range []struct {
		field string
		edit  func(*CaseInput)
	}{
		{"category", func(c *CaseInput) { c.Category = "teen" }},
		{"category", func(c *CaseInput) { c.Person.Age = ip(30) }}, // a child of 30
		{"full_name", func(c *CaseInput) { c.Person.FullName = "  " }},
		{"full_name", func(c *CaseInput) { c.Person.FullName = strings.Repeat("名", MaxName+1) }},
		{"full_name", func(c *CaseInput) { c.Person.FullName = "a\x00b" }},
		{"full_name", func(c *CaseInput) { c.Person.FullName = "a\nb" }},
		{"full_name", func(c *CaseInput) { c.Person.FullName = "\xff" }},
		{"alternate_names", func(c *CaseInput) { c.Person.AlternateNames = make([]string, MaxAlternateNames+1) }},
		{"alternate_names[0]", func(c *CaseInput) { c.Person.AlternateNames = []string{""} }},
		{"sex", func(c *CaseInput) { c.Person.Sex = "m" }},
		{"date_of_birth", func(c *CaseInput) { c.Person.DateOfBirth = "2026-01-01" }}, // the future
		{"date_of_birth", func(c *CaseInput) { c.Person.DateOfBirth = "01/05/2018" }},
		{"date_of_birth", func(c *CaseInput) { c.Person.DateOfBirth = "2018-02-30" }},
		{"date_of_birth", func(c *CaseInput) { c.Person.DateOfBirth = "1850" }},
		{"age", func(c *CaseInput) { c.Category = CategoryAdult; c.Person.Age = ip(131) }},
		{"age", func(c *CaseInput) { c.Person.Age = ip(-1) }},
		{"height_cm", func(c *CaseInput) { c.Person.HeightCm = ip(5) }},
		{"description", func(c *CaseInput) { c.Person.Description = strings.Repeat("x", MaxLongText+1) }},
		{"last_seen.at", func(c *CaseInput) { c.LastSeen.At = time.Time{} }},
		{"last_seen.at", func(c *CaseInput) { c.LastSeen.At = now.Add(time.Hour) }}, // the future
		{"last_seen.lat", func(c *CaseInput) { c.LastSeen.Lat = math.NaN() }},
		{"last_seen.lat", func(c *CaseInput) { c.LastSeen.Lat = 91 }},
		{"last_seen.lng", func(c *CaseInput) { c.LastSeen.Lng = math.Inf(1) }},
		{"last_seen.lng", func(c *CaseInput) { c.LastSeen.Lng = -181 }},
		{"last_seen.place_name", func(c *CaseInput) { c.LastSeen.PlaceName = "" }},
		{"private.relationship", func(c *CaseInput) { c.Private.Relationship = "" }},
		{"private.contact_phone", func(c *CaseInput) { c.Private.ContactPhone = "" }},
		{"private.contact_phone", func(c *CaseInput) { c.Private.ContactPhone = "12345" }},
		{"private.police_receipt", func(c *CaseInput) { c.Private.PoliceReceipt = strings.Repeat("1", MaxReceipt+1) }},
	} {
		in := goodInput()
		tc.edit(&in)
		err := in.Validate(now)
		e, ok := err.(*yuncan.Error)
		if !ok || e.Code != yuncan.Invalid || e.Fields[tc.field] == "" {
			t.Errorf("%s: got %v, want an invalid %s", tc.field, err, tc.field)
		}
	}
	// Ages and dates at the edges are fine: a newborn, 130 years, a
	// partial PFIF date, seen a minute ago by a phone whose clock runs
	// fast.
	in = goodInput()
	in.Category, in.Person.Age, in.Person.DateOfBirth = CategoryElder, ip(130), "1895"
	in.LastSeen.At = now.Add(time.Minute)
	if err := in.Validate(now); err != nil {
		t.Fatalf("edge values refused: %v", err)
	}
	in = goodInput()
	in.Person.Age, in.Person.DateOfBirth = ip(0), "2025-05"
	if err := in.Validate(now); err != nil {
		t.Fatalf("a newborn refused: %v", err)
	}
}

func TestClueInputValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		in    ClueInput
		field string // "" when valid
	}{
		{"text only", ClueInput{Text: "saw him at the station"}, ""},
		{"typed place", ClueInput{Text: "x", Lat: fp(30), Lng: fp(120), PlaceName: "车站"}, ""},
		{"device place", ClueInput{Text: "x", Lat: fp(30), Lng: fp(120), Source: SourceDevice}, ""},
		{"no text", ClueInput{Text: " "}, "text"},
		{"long text", ClueInput{Text: strings.Repeat("x", MaxClueText+1)}, "text"},
		{"lat without lng", ClueInput{Text: "x", Lat: fp(30)}, "lng"},
		{"NaN", ClueInput{Text: "x", Lat: fp(math.NaN()), Lng: fp(120)}, "lat"},
		{"out of range", ClueInput{Text: "x", Lat: fp(30), Lng: fp(200)}, "lng"},
		{"device without a point", ClueInput{Text: "x", Source: SourceDevice}, "lat"},
		{"unknown source", ClueInput{Text: "x", Source: "gps"}, "source"},
		{"seen in the future", ClueInput{Text: "x", SeenAt: now.Add(time.Hour)}, "seen_at"},
	} {
		err := tc.in.Validate(now)
		if tc.field == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		e, ok := err.(*yuncan.Error)
		if !ok || e.Code != yuncan.Invalid || e.Fields[tc.field] == "" {
			t.Errorf("%s: got %v, want an invalid %s", tc.name, err, tc.field)
		}
	}
}

func TestParseBBox(t *testing.T) {
	b, err := ParseBBox("116.0,39.5,117.0,40.5")
	if err != nil || b != (Box{MinLat: 39.5, MaxLat: 40.5, MinLng: 116, MaxLng: 117}) {
		t.Fatalf("ParseBBox = %+v, %v", b, err)
	}
	for _, s := range []string{"", "1,2,3", "a,b,c,d", "NaN,0,1,1", "0,0,1,Inf", "0,-91,1,1", "10,0,5,1", "0,10,1,5", "1,2,3,4,5"} {
		if _, err := ParseBBox(s); yuncan.ErrorCode(err) != yuncan.Invalid {
			t.Errorf("ParseBBox(%q) = %v, want invalid", s, err)
		}
	}
}

// TestBoxAroundHoldsTheCircle: every point at the radius lies in the box
// (and so in its area cells), near the equator, near a pole and across
// the antimeridian.
func TestBoxAroundHoldsTheCircle(t *testing.T) {
	for _, c := range []struct{ lat, lng, r float64 }{{30, 120, 100}, {0, 0, 500}, {85, 10, 300}, {-60, 179.5, 200}, {10, -179.9, 50}, {40, 116, 0.1}} {
		b := boxAround(c.lat, c.lng, c.r)
		ab := areaBox(b)
		for deg := 0.0; deg < 360; deg += 5 {
			// A point at distance r along bearing deg.
			lat1, lng1 := c.lat*math.Pi/180, c.lng*math.Pi/180
			d := c.r / earthRadiusKm
			br := deg * math.Pi / 180
			lat2 := math.Asin(math.Sin(lat1)*math.Cos(d) + math.Cos(lat1)*math.Sin(d)*math.Cos(br))
			lng2 := lng1 + math.Atan2(math.Sin(br)*math.Sin(d)*math.Cos(lat1), math.Cos(d)-math.Sin(lat1)*math.Sin(lat2))
			plat, plng := lat2*180/math.Pi, math.Mod(lng2*180/math.Pi+540, 360)-180
			if got := distanceKm(c.lat, c.lng, plat, plng); math.Abs(got-c.r) > 0.01*c.r+0.001 {
				t.Fatalf("distanceKm = %v, want %v", got, c.r)
			}
			if !b.Contains(plat, plng) {
				t.Errorf("centre %v,%v r %v: %v,%v is outside %+v", c.lat, c.lng, c.r, plat, plng, b)
			}
			if al, ag := areaOf(plat), areaOf(plng); al < ab.MinLat || al > ab.MaxLat || ag < ab.MinLng || ag > ab.MaxLng {
				t.Errorf("centre %v,%v r %v: cell %d,%d outside %+v", c.lat, c.lng, c.r, al, ag, ab)
			}
		}
	}
}

func TestCursorRoundTrip(t *testing.T) {
	c := encodeCursor(1234, "0190-abc")
	n, id, ok := decodeCursor(c)
	if !ok || n != 1234 || id != "0190-abc" {
		t.Fatalf("decodeCursor(encodeCursor) = %d %q %v", n, id, ok)
	}
	for _, bad := range []string{"!", "eA", encodeCursor(1, "")[:2], strings.Repeat("a", 300)} {
		if _, _, ok := decodeCursor(bad); ok {
			t.Errorf("decodeCursor(%q) accepted", bad)
		}
	}
}

// TestLifecycleTable: the resolutions are the only statuses without a
// way out, except found_safe, which may still become private.
func TestLifecycleTable(t *testing.T) {
	for _, st := range []Status{StatusDraft, StatusInReview, StatusPublished, StatusRejected, StatusFoundSafe,
		StatusFoundSafePrivate, StatusFoundDeceased, StatusWithdrawn} {
		if !st.Valid() {
			t.Errorf("%s not valid", st)
		}
		out := Transitions(st)
		switch st {
		case StatusRejected, StatusFoundSafePrivate, StatusFoundDeceased, StatusWithdrawn:
			if len(out) != 0 {
				t.Errorf("%s is final but moves to %v", st, out)
			}
		default:
			if len(out) == 0 {
				t.Errorf("%s has no way out", st)
			}
		}
		for _, to := range out {
			if to.Resolved() && lifecycle[st][to]&byReporter == 0 {
				t.Errorf("%s → %s: the reporter may not resolve", st, to)
			}
		}
	}
}
