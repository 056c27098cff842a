package seeking

import (
	"context"
	"fmt"
	"math"
	"sort"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/location"
)

// Nearby is a published case with its distance from the asked point.
type Nearby struct {
	CaseView
	DistanceKm float64
}

// Near lists the published cases last seen within radiusKm of a point,
// nearest first, a page at a time. cursor is "" or what the previous
// page returned.
func (s *Service) Near(ctx context.Context, lat, lng, radiusKm float64, cursor string, limit int) ([]Nearby, string, error) {
	if err := location.CheckCoordinates(lat, lng); err != nil {
		return nil, "", err
	}
	if math.IsNaN(radiusKm) || math.IsInf(radiusKm, 0) || radiusKm <= 0 || radiusKm > s.cfg.MaxRadiusKm {
		return nil, "", yuncan.FieldError("radius_km", fmt.Sprintf("must be more than 0 and at most %g", s.cfg.MaxRadiusKm)).WithReason("invalid_radius")
	}
	if err := checkLimit(limit); err != nil {
		return nil, "", err
	}
	var afterM int64 = -1
	afterID := ""
	if cursor != "" {
		m, id, ok := decodeCursor(cursor)
		if !ok {
			return nil, "", yuncan.FieldError("cursor", "is not a cursor this list returned").WithReason("invalid_cursor")
		}
		afterM, afterID = m, id
	}
	rs, err := s.store.CasesInArea(ctx, StatusPublished, areaBox(boxAround(lat, lng, radiusKm)), s.cfg.MaxCandidates)
	if err != nil {
		return nil, "", fmt.Errorf("seeking: cases near a point: %w", err)
	}
	type hit struct {
		r  CaseRecord
		c  Case
		d  float64
		dm int64 // metres, the cursor's unit
	}
	var hits []hit
	for _, r := range rs {
		c, err := s.open(r)
		if err != nil {
			return nil, "", err
		}
		d := distanceKm(lat, lng, c.LastSeen.Lat, c.LastSeen.Lng)
		if d > radiusKm {
			continue
		}
		h := hit{r: r, c: c, d: d, dm: int64(math.Round(d * 1000))}
		if h.dm < afterM || h.dm == afterM && r.ID <= afterID {
			continue
		}
		hits = append(hits, h)
	}
	sort.Slice(hits, func(i, j int) bool {
		if hits[i].dm != hits[j].dm {
			return hits[i].dm < hits[j].dm
		}
		return hits[i].r.ID < hits[j].r.ID
	})
	next := ""
	if len(hits) > limit {
		hits = hits[:limit]
		last := hits[len(hits)-1]
		next = encodeCursor(last.dm, last.r.ID)
	}
	out := make([]Nearby, 0, len(hits))
	for _, h := range hits {
		cv, err := s.view(ctx, h.r, AccessPublic, true)
		if err != nil {
			return nil, "", err
		}
		out = append(out, Nearby{CaseView: cv, DistanceKm: math.Round(h.d*1000) / 1000})
	}
	return out, next, nil
}

// Feed lists the published cases for a map, newest published first, at
// most Config.MaxFeed; box, when not nil, limits them to a rectangle.
func (s *Service) Feed(ctx context.Context, box *Box) ([]CaseView, error) {
	ab := AreaBox{MinLat: -900, MaxLat: 900, MinLng: -1800, MaxLng: 1800}
	if box != nil {
		ab = areaBox(*box)
	}
	rs, err := s.store.CasesInArea(ctx, StatusPublished, ab, s.cfg.MaxCandidates)
	if err != nil {
		return nil, fmt.Errorf("seeking: case feed: %w", err)
	}
	out := []CaseView{}
	for _, r := range rs {
		if len(out) >= s.cfg.MaxFeed {
			break
		}
		cv, err := s.view(ctx, r, AccessPublic, true)
		if err != nil {
			return nil, err
		}
		if box != nil && !box.Contains(cv.LastSeen.Lat, cv.LastSeen.Lng) {
			continue
		}
		out = append(out, cv)
	}
	return out, nil
}
