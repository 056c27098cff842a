package seeking

import (
	"context"
	"fmt"

	"github.com/yuncan/yuncan"
)

// CaseForAlerts returns a case with its last-seen point, for the alerts
// area: a read by the system, not by a viewer, so it asks no access; the
// alerts area shows only what a published case shows the public. NotFound
// when the case is gone.
func (s *Service) CaseForAlerts(ctx context.Context, id string) (Case, error) {
	r, err := s.store.CaseByID(ctx, id)
	if yuncan.ErrorCode(err) == yuncan.NotFound {
		return Case{}, errCaseNotFound
	}
	if err != nil {
		return Case{}, fmt.Errorf("seeking: case %s: %w", id, err)
	}
	return s.open(r)
}

// ClueForAlerts returns a clue of a case with its point, for the alerts
// area (a verified clue is a new centre). The alerts never show the
// clue's text or place. NotFound when the clue is gone.
func (s *Service) ClueForAlerts(ctx context.Context, caseID, clueID string) (Clue, error) {
	c, err := s.store.ClueByID(ctx, caseID, clueID)
	if yuncan.ErrorCode(err) == yuncan.NotFound {
		return Clue{}, errClueNotFound
	}
	if err != nil {
		return Clue{}, fmt.Errorf("seeking: clue %s: %w", clueID, err)
	}
	return s.openClue(ctx, c)
}
