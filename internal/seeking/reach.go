package seeking

import (
	"context"
	"fmt"
)

// Reach is how far a case went: the people its alerts reached, how many
// of them opened the alert, and the clues it received.
type Reach struct {
	Alerted int
	Opened  int
	Clues   int
}

// AlertReach counts a case's alerts and how many were opened (the notify
// inbox's delivery records); nil counts none.
type AlertReach func(ctx context.Context, caseID string) (alerted, opened int, err error)

// Reach returns the reach figures of a case to its reporter and to staff;
// others get NotFound, as for anything private of a case. The figures
// are counts: no staff read of personal data, so nothing is audited.
func (s *Service) Reach(ctx context.Context, v Viewer, caseID string) (Reach, error) {
	if v.Anonymous() {
		return Reach{}, errUnauthenticated
	}
	r, _, a, err := s.caseFor(ctx, v, caseID)
	if err != nil {
		return Reach{}, err
	}
	if a != AccessReporter && a != AccessStaff {
		return Reach{}, errCaseNotFound
	}
	clues, err := s.store.Clues(ctx, r.ID, "")
	if err != nil {
		return Reach{}, fmt.Errorf("seeking: reach: %w", err)
	}
	out := Reach{Clues: len(clues)}
	if s.reach != nil {
		if out.Alerted, out.Opened, err = s.reach(ctx, r.ID); err != nil {
			return Reach{}, fmt.Errorf("seeking: reach: %w", err)
		}
	}
	return out, nil
}
