package alert

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/seeking"
)

// tickLimit bounds the alerts and cases one tick works on; the next tick
// takes the rest.
const tickLimit = 100

// Tick is the scheduler, run as a job every few seconds: it catches up on
// hooks a crash lost, then opens every due ring. After a restart, an
// alert whose several rings are overdue opens the outermost due one and
// marks the inner ones opened with it.
func (s *Service) Tick(ctx context.Context) error {
	errs := []error{s.catchUp(ctx)}
	alerts, err := s.store.DueAlerts(ctx, s.now(), tickLimit)
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("alert: due alerts: %w", err))...)
	}
	for _, a := range alerts {
		if ctx.Err() != nil {
			break
		}
		if err := s.openDue(ctx, a.ID); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// catchUp repeats what a hook would have done when the process died
// between a committed change of a case and the hook (seeking only logs a
// failing publisher): published cases and verified clues without an
// alert get one; resolved cases with open alerts are closed; closed
// cases whose resolution was not handed to delivery are resolved.
func (s *Service) catchUp(ctx context.Context) error {
	var errs []error
	ids, err := s.store.PublishedWithoutAlert(ctx, tickLimit)
	if err != nil {
		errs = append(errs, fmt.Errorf("alert: catch up on published cases: %w", err))
	}
	for _, id := range ids {
		c, err := s.cases.CaseForAlerts(ctx, id)
		if err == nil && c.Status == seeking.StatusPublished {
			s.logger.InfoContext(ctx, "alert catching up on a published case", slog.String("case", id))
			err = s.CasePublished(ctx, c)
		}
		if err != nil && !notFound(err) {
			errs = append(errs, err)
		}
	}
	refs, err := s.store.VerifiedCluesWithoutAlert(ctx, tickLimit)
	if err != nil {
		errs = append(errs, fmt.Errorf("alert: catch up on verified clues: %w", err))
	}
	for _, ref := range refs {
		c, err := s.cases.CaseForAlerts(ctx, ref.CaseID)
		if err == nil && c.Status == seeking.StatusPublished {
			var cl seeking.Clue
			if cl, err = s.cases.ClueForAlerts(ctx, ref.CaseID, ref.ClueID); err == nil {
				s.logger.InfoContext(ctx, "alert catching up on a verified clue", slog.String("case", ref.CaseID), slog.String("clue", ref.ClueID))
				err = s.ClueVerified(ctx, c, cl)
			}
		}
		if err != nil && !notFound(err) {
			errs = append(errs, err)
		}
	}
	ids, err = s.store.ResolvedWithOpenAlerts(ctx, tickLimit)
	if err != nil {
		errs = append(errs, fmt.Errorf("alert: catch up on resolved cases: %w", err))
	}
	for _, id := range ids {
		s.logger.InfoContext(ctx, "alert catching up on a resolved case", slog.String("case", id))
		if err := s.store.CloseAlerts(ctx, id, s.now()); err != nil {
			errs = append(errs, fmt.Errorf("alert: close alerts of case %s: %w", id, err))
		}
	}
	ids, err = s.store.PendingResolutions(ctx, tickLimit)
	if err != nil {
		errs = append(errs, fmt.Errorf("alert: pending resolutions: %w", err))
	}
	for _, id := range ids {
		if err := s.resolve(ctx, id); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// openDue opens the due rings of an alert: it selects the people inside
// the outermost due ring, drops those already alerted for the case,
// enqueues the rest in batches, and only then marks the rings opened. A
// crash anywhere before the mark opens the ring again on the next tick,
// with the same batches.
func (s *Service) openDue(ctx context.Context, alertID string) error {
	s.openMu.Lock()
	defer s.openMu.Unlock()
	// Read again under the lock: another run may have opened them.
	a, err := s.store.AlertByID(ctx, alertID)
	if err != nil {
		return fmt.Errorf("alert: alert %s: %w", alertID, err)
	}
	now := s.now()
	opening := due(a.Rings, now)
	if !a.ClosedAt.IsZero() || len(opening) == 0 {
		return nil
	}
	outer := opening[len(opening)-1]
	start := time.Now()
	n, batches, err := s.fanOut(ctx, a, opening)
	if err != nil {
		return err
	}
	if err := s.store.MarkRingsOpened(ctx, a.ID, outer.N, n, now); err != nil {
		return fmt.Errorf("alert: mark ring %d of %s opened: %w", outer.N, a.ID, err)
	}
	s.logger.InfoContext(ctx, "alert ring opened", slog.Any("alert", a), slog.Int("ring", outer.N),
		slog.Int("rings_caught_up", len(opening)-1), slog.Int("recipients", n), slog.Int("batches", batches),
		slog.Duration("took", time.Since(start)))
	return nil
}

// fanOut selects and enqueues the recipients of the rings opening, and
// returns how many people and batches it enqueued.
func (s *Service) fanOut(ctx context.Context, a Alert, opening []RingState) (int, int, error) {
	outer := opening[len(opening)-1]
	lat, lng, err := s.centre(a)
	if err != nil {
		return 0, 0, err
	}
	matches, err := s.loc.Within(lat, lng, outer.RadiusKm)
	if err != nil {
		return 0, 0, fmt.Errorf("alert: select ring %d of %s: %w", outer.N, a.ID, err)
	}
	alerted, err := s.store.AlertedSubjects(ctx, a.CaseID)
	if err != nil {
		return 0, 0, fmt.Errorf("alert: who was alerted for case %s: %w", a.CaseID, err)
	}
	skip := make(map[consent.Subject]struct{}, len(alerted))
	for _, sub := range alerted {
		skip[sub] = struct{}{}
	}
	items := make([]item, 0, len(matches))
	for _, m := range matches {
		if _, ok := skip[m.Subject]; ok || !validID(m.Subject.ID) {
			continue
		}
		items = append(items, item{Subject: m.Subject, Ring: ringOf(opening, m.DistanceKm).N, Km: ceilKm(m.DistanceKm)})
	}
	if len(items) == 0 {
		return 0, 0, nil
	}
	n, err := s.store.SetRingBatches(ctx, a.ID, outer.N, batchCount(len(items), s.cfg.BatchSize))
	if err != nil {
		return 0, 0, fmt.Errorf("alert: batches of ring %d of %s: %w", outer.N, a.ID, err)
	}
	sent, err := s.enqueue(ctx, batchRing, a.ID, a.CaseID, items, n, func(b int) string {
		return ringMessageID(a.ID, outer.N, b)
	})
	return len(items), sent, err
}
