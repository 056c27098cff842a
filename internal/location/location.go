// Package location keeps the last known position of the people who
// consented to people-seeking alerts, and the in-memory geo index the
// alerts select recipients from. No history is kept: one position per
// person (an account, or a device before login), replaced on each update,
// deleted when it goes stale or the consent is withdrawn.
package location

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/golang/geo/s2"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/consent"
)

// Config holds the location rules an operator may tune; zero values take
// the defaults.
type Config struct {
	// Freshness is how long a position is used and kept: older ones are
	// not matched, and the expiry job deletes them (default 12 hours).
	Freshness time.Duration
	// CoarseLevel is the S2 cell level a coarse position is snapped to
	// (default 11: cells about 4–5 km across).
	CoarseLevel int
}

func (c Config) withDefaults() Config {
	if c.Freshness == 0 {
		c.Freshness = 12 * time.Hour
	}
	if c.CoarseLevel == 0 {
		c.CoarseLevel = 11
	}
	return c
}

// Position is a person's last known position.
type Position struct {
	Subject consent.Subject
	Lat     float64
	Lng     float64
	// Coarse positions are the centre of a cell of a few km: the precise
	// point was never stored.
	Coarse    bool
	UpdatedAt time.Time
}

// Match is a person inside an alert ring.
type Match struct {
	Subject    consent.Subject
	DistanceKm float64
}

// CheckCoordinates refuses latitudes and longitudes that are not finite
// or out of range.
func CheckCoordinates(lat, lng float64) error {
	e := yuncan.Errorf(yuncan.Invalid, "the coordinates are not valid")
	if math.IsNaN(lat) || math.IsInf(lat, 0) || lat < -90 || lat > 90 {
		e.WithField("lat", "must be a number from -90 to 90")
	}
	if math.IsNaN(lng) || math.IsInf(lng, 0) || lng < -180 || lng > 180 {
		e.WithField("lng", "must be a number from -180 to 180")
	}
	if len(e.Fields) > 0 {
		return e.WithReason("invalid_coordinates")
	}
	return nil
}

// snap returns the centre of the level-level S2 cell holding the point.
func snap(lat, lng float64, level int) (float64, float64) {
	c := s2.CellIDFromLatLng(s2.LatLngFromDegrees(lat, lng)).Parent(level)
	ll := c.LatLng()
	return ll.Lat.Degrees(), ll.Lng.Degrees()
}

// encodePoint and decodePoint are the plaintext form of a sealed
// position: "lat,lng" with the precision a phone reports (about 1 m).
func encodePoint(lat, lng float64) []byte {
	return []byte(strconv.FormatFloat(lat, 'f', 6, 64) + "," + strconv.FormatFloat(lng, 'f', 6, 64))
}

func decodePoint(b []byte) (float64, float64, error) {
	a, c, ok := strings.Cut(string(b), ",")
	if !ok {
		return 0, 0, fmt.Errorf("location: malformed position")
	}
	lat, err1 := strconv.ParseFloat(a, 64)
	lng, err2 := strconv.ParseFloat(c, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("location: malformed position")
	}
	return lat, lng, nil
}
