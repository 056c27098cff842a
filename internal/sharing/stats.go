package sharing

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/identity"
)

// Partner statistics (policy 3.1.2a, 3.1.4b; P36): how many cases were
// published, and how many people their alerts reached, by week, region,
// category and status, for partner organisations. They are made from
// facts with no identifier at all (CaseFact: category, status, the week,
// a whole-degree cell), and a group of fewer than K cases (10 unless
// configured) is left out, so that no row points at one family. No total
// is given that would let a reader work a left-out group back out.
// Statistics are not personal data, so handing them over is not a
// disclosure of the ledger.

// StatsQuery is the period asked for: published in [From, To).
type StatsQuery struct {
	From, To time.Time
}

// MaxStatsPeriod bounds a query: about a year of weeks.
const MaxStatsPeriod = 53 * 7 * 24 * time.Hour

// statsZone is the time zone of the weeks: China Standard Time.
var statsZone = time.FixedZone("CST", 8*60*60)

// StatsGroup is one row of the statistics.
type StatsGroup struct {
	// Week is the ISO week of publication in China time, "2026-W07".
	Week string
	// Cell is the 1° × 1° cell (about 100 km) of the last-seen area, by
	// its south-west corner: "30N,114E". The data hold no province.
	Cell     string
	Category string
	// Status is where the case stands now: published, found_safe (also
	// when the person asked not to be contacted), found_deceased or
	// withdrawn.
	Status string
	Cases  int
	// Alerted is how many people the alert rings of these cases reached.
	Alerted int
}

// Stats are the statistics of a period.
type Stats struct {
	From, To time.Time
	// K is the smallest group shown.
	K      int
	Groups []StatsGroup
	// Suppressed counts the groups left out for being smaller than K
	// (not their cases).
	Suppressed int
}

// Viewer is who asks for statistics.
type Viewer struct {
	UserID string
	Role   identity.Role
}

// Statistics returns the partner statistics of q's period: for admins
// and partner organisations' staff (Forbidden, reason
// partner_staff_required, for anyone else). The period must end after
// it starts and span at most MaxStatsPeriod (Invalid).
func (l *Ledger) Statistics(ctx context.Context, v Viewer, q StatsQuery) (Stats, error) {
	if v.Role != identity.RoleAdmin {
		ok, err := l.store.IsPartnerStaff(ctx, v.UserID)
		if err != nil {
			return Stats{}, fmt.Errorf("sharing: statistics: %w", err)
		}
		if !ok {
			return Stats{}, yuncan.Errorf(yuncan.Forbidden, "statistics are for partner organisations' staff and admins").WithReason("partner_staff_required")
		}
	}
	if !q.To.After(q.From) {
		return Stats{}, yuncan.FieldError("to", "must be after from")
	}
	if q.To.Sub(q.From) > MaxStatsPeriod {
		return Stats{}, yuncan.FieldError("to", "the period may span at most 53 weeks")
	}
	facts, err := l.store.CaseFacts(ctx, q.From, q.To)
	if err != nil {
		return Stats{}, fmt.Errorf("sharing: statistics: %w", err)
	}
	st := Aggregate(facts, l.cfg.K)
	st.From, st.To = q.From, q.To
	return st, nil
}

// Aggregate groups facts by week, cell, category and status and leaves
// out every group of fewer than k cases (k below 2 counts as 2: a group
// of one is a person).
func Aggregate(facts []CaseFact, k int) Stats {
	k = max(k, 2)
	type key struct{ week, cell, category, status string }
	groups := map[key]*StatsGroup{}
	for _, f := range facts {
		y, w := f.PublishedAt.In(statsZone).ISOWeek()
		k := key{fmt.Sprintf("%04d-W%02d", y, w), cell(f.AreaLat, f.AreaLng), f.Category, statusOf(f.Status)}
		g := groups[k]
		if g == nil {
			g = &StatsGroup{Week: k.week, Cell: k.cell, Category: k.category, Status: k.status}
			groups[k] = g
		}
		g.Cases++
		g.Alerted += f.Alerted
	}
	st := Stats{K: k, Groups: []StatsGroup{}}
	for _, g := range groups {
		if g.Cases < k {
			st.Suppressed++
			continue
		}
		st.Groups = append(st.Groups, *g)
	}
	slices.SortFunc(st.Groups, func(a, b StatsGroup) int {
		return cmp.Or(cmp.Compare(a.Week, b.Week), cmp.Compare(a.Cell, b.Cell), cmp.Compare(a.Category, b.Category), cmp.Compare(a.Status, b.Status))
	})
	return st
}

// cell names the whole-degree cell holding an area given in tenths of a
// degree.
func cell(lat10, lng10 int) string {
	lat := int(math.Floor(float64(lat10) / 10))
	lng := int(math.Floor(float64(lng10) / 10))
	ns, ew := "N", "E"
	if lat < 0 {
		ns, lat = "S", -lat
	}
	if lng < 0 {
		ew, lng = "W", -lng
	}
	return fmt.Sprintf("%d%s,%d%s", lat, ns, lng, ew)
}

// statusOf folds "found safe, do not contact" into found_safe: the
// wish is the person's, and it would only split small groups further.
func statusOf(s string) string {
	if s == "found_safe_private" {
		return "found_safe"
	}
	return s
}
