// Package alert is the people-seeking fan-out: the rings that widen with
// time around where a missing person was last seen and around every
// verified clue, the scheduler that opens them, and the workers that
// deliver each alert to the people inside.
//
// Publishing a case starts an alert at its last-seen point; verifying a
// clue adds one at the clue's point. Each alert has the rings of its
// category's schedule, timed from the centre's time. When a ring is due the
// scheduler selects the consenting, fresh positions inside it
// (location.Service.Within), drops the people already alerted for the
// case, and enqueues the rest in batches on the durable queue "alerts";
// workers take the batches, apply the daily cap and quiet hours, and
// dispatch one notification per person per case (notify.Dispatcher, which
// honours the person's shields). Resolving the case closes its alerts and
// sends everyone who was alerted the resolution.
//
// Every step may be repeated after a crash without anyone getting an alert
// twice: batches have stable ids the queue deduplicates, a ring is marked
// opened only after its batches are stored, a recipient is recorded before
// the dispatch, and dispatches are idempotent by their dedupe key. See
// docs/alerts.md.
package alert

import (
	"log/slog"
	"math"
	"time"

	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/seeking"
)

// Alert is one centre of a case's alerts with its rings: the case's
// last-seen point, or the point of a verified clue.
type Alert struct {
	ID     string
	CaseID string
	// ClueID is the verified clue the centre is, "" for the case's
	// last-seen point.
	ClueID   string
	Category seeking.Category
	// CentreSealed is keyring.Seal("alerts.centre", "lat,lng"): the
	// centre is a precise location of the missing person.
	CentreSealed string
	// CentreAt is when the person was there: the rings are timed from it.
	CentreAt  time.Time
	CreatedAt time.Time
	// ClosedAt is when the case was resolved (no more rings open); zero
	// while open.
	ClosedAt time.Time
	// NotifiedAt is when the resolution was handed to delivery for every
	// recipient recorded then; zero before.
	NotifiedAt time.Time
	Rings      []RingState
}

// LogValue logs ids only.
func (a Alert) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", a.ID), slog.String("case", a.CaseID), slog.String("clue", a.ClueID))
}

// RingState is a ring of an alert: when it is due and whether it opened.
type RingState struct {
	AlertID  string
	N        int // from 1, innermost first
	RadiusKm float64
	DueAt    time.Time
	// OpenedAt is when its recipients were all enqueued; zero until then.
	OpenedAt time.Time
	// Batches is how many batches its recipients were split into, fixed
	// the first time the ring is opened so that a repeated opening makes
	// the same batches (and the queue drops the ones it has). 0 before.
	Batches int
	// Recipients is how many people it enqueued when it opened; 0 for an
	// inner ring that opened with an outer one (catching up).
	Recipients int
}

// Recipient is one person alerted about a case: the "already alerted"
// set, the daily cap's counter, and who gets the resolution.
type Recipient struct {
	CaseID  string
	Subject consent.Subject
	// AlertID and Ring are the centre and ring that reached the person.
	AlertID string
	Ring    int
	// DistanceKm is the distance to the centre in whole kilometres,
	// rounded up (at least 1); the position itself is never kept.
	DistanceKm int
	// Quiet tells that the alert went to the inbox without a push
	// (quiet hours), so that a repeated dispatch does not push either.
	Quiet     bool
	AlertedAt time.Time
	// ResolvedAt is when the resolution was sent; zero before.
	ResolvedAt time.Time
}

// ceilKm is a distance in whole kilometres, rounded up, at least 1: how
// far an alert says the person is ("about N km").
func ceilKm(d float64) int {
	if !(d > 1) {
		return 1
	}
	return int(math.Ceil(d))
}

// due lists the rings of rs that are due at now and not opened yet, in
// order.
func due(rs []RingState, now time.Time) []RingState {
	var out []RingState
	for _, r := range rs {
		if r.OpenedAt.IsZero() && !r.DueAt.After(now) {
			out = append(out, r)
		}
	}
	return out
}

// ringOf is the ring that reaches a person distKm from the centre among
// the rings opening together: the innermost that contains them. The
// outermost is the one selected, so it contains everyone.
func ringOf(opening []RingState, distKm float64) RingState {
	for _, r := range opening {
		if distKm <= r.RadiusKm {
			return r
		}
	}
	return opening[len(opening)-1]
}
