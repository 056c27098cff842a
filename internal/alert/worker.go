package alert

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/notify"
	"github.com/yuncan/yuncan/internal/queue"
	"github.com/yuncan/yuncan/internal/seeking"
)

// Run delivers the batches of the "alerts" queue until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	return s.queue.Consume(ctx, QueueName, s.cfg.Workers, s.Handle)
}

// Handle delivers one batch. It returns an error only for a failure worth
// a retry (the queue offers the batch again); a batch that can never be
// delivered (malformed, its case gone or resolved) is dropped. Delivering
// a batch again does no harm: who was alerted is recorded before the
// dispatch, and a dispatch with the same dedupe key only completes what is
// missing.
func (s *Service) Handle(ctx context.Context, m queue.Message) error {
	b, err := decodeBatch(m.Data)
	if err != nil {
		s.logger.ErrorContext(ctx, "alert: dropping a malformed batch", slog.String("message", m.ID), slog.Any("err", err))
		return nil
	}
	switch b.Kind {
	case batchRing:
		return s.deliverRing(ctx, m.ID, b)
	default:
		return s.deliverResolution(ctx, m.ID, b)
	}
}

// tally counts what a batch came to, for the log.
type tally struct {
	sent, quiet, repeated, capped, noConsent, shielded int
}

func (t tally) attrs() []any {
	return []any{slog.Int("sent", t.sent), slog.Int("quiet", t.quiet), slog.Int("repeated", t.repeated),
		slog.Int("capped", t.capped), slog.Int("no_consent", t.noConsent), slog.Int("shielded", t.shielded)}
}

// deliverRing alerts the recipients of a ring batch.
func (s *Service) deliverRing(ctx context.Context, msgID string, b batch) error {
	a, err := s.store.AlertByID(ctx, b.AlertID)
	if notFound(err) || err == nil && a.CaseID != b.CaseID {
		s.logger.WarnContext(ctx, "alert: dropping a batch of an unknown alert", slog.String("message", msgID))
		return nil
	}
	if err != nil {
		return fmt.Errorf("alert: batch %s: %w", msgID, err)
	}
	if !a.ClosedAt.IsZero() {
		// Resolved while the batch waited: no alert after the resolution.
		return nil
	}
	c, err := s.cases.CaseForAlerts(ctx, a.CaseID)
	if notFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("alert: batch %s: %w", msgID, err)
	}
	if c.Status != seeking.StatusPublished {
		return nil
	}
	subs := make([]consent.Subject, len(b.Items))
	for i, it := range b.Items {
		subs[i] = it.Subject
	}
	done, err := s.store.Recipients(ctx, c.ID, subs)
	if err != nil {
		return fmt.Errorf("alert: batch %s: %w", msgID, err)
	}
	recorded := make(map[consent.Subject]Recipient, len(done))
	for _, r := range done {
		recorded[r.Subject] = r
	}
	now := s.now()
	counts, err := s.store.AlertCounts(ctx, subs, now.Add(-s.cfg.CapWindow))
	if err != nil {
		return fmt.Errorf("alert: batch %s: %w", msgID, err)
	}
	quiet := s.cfg.Quiet.In(now) && !s.pushesInQuiet(c, now)
	alerts := map[string]Alert{a.ID: a}
	var t tally
	for _, it := range b.Items {
		if err := ctx.Err(); err != nil {
			return err
		}
		r, repeat := recorded[it.Subject]
		if !repeat {
			// P63: the position was selected while the consent was live;
			// a withdrawal since then stops the alert.
			granted, err := s.gate.Granted(ctx, it.Subject, consent.PurposeAlertLocation)
			if err != nil {
				return fmt.Errorf("alert: batch %s: consent: %w", msgID, err)
			}
			if !granted {
				t.noConsent++
				continue
			}
			if counts[it.Subject] >= s.cfg.DailyCap {
				t.capped++
				continue
			}
			r = Recipient{CaseID: c.ID, Subject: it.Subject, AlertID: a.ID, Ring: it.Ring, DistanceKm: it.Km, Quiet: quiet, AlertedAt: now}
			added, err := s.store.AddRecipient(ctx, r)
			if err != nil {
				return fmt.Errorf("alert: batch %s: record recipient: %w", msgID, err)
			}
			if added {
				counts[it.Subject]++
			} else if r, err = s.recipient(ctx, c.ID, it.Subject); err != nil {
				// Another worker recorded the person meanwhile.
				return fmt.Errorf("alert: batch %s: %w", msgID, err)
			}
		} else {
			t.repeated++
		}
		// The record says which centre and ring reached the person; a
		// repeat rebuilds the same notification from it.
		ra, known := alerts[r.AlertID]
		if !known {
			if ra, err = s.store.AlertByID(ctx, r.AlertID); err != nil {
				return fmt.Errorf("alert: batch %s: %w", msgID, err)
			}
			alerts[r.AlertID] = ra
		}
		res, err := s.dispatch(ctx, s.alertNotification(c, ra, r), r.Quiet)
		if err != nil {
			// The record stays, so the retry completes this dispatch.
			return fmt.Errorf("alert: batch %s: %w", msgID, err)
		}
		switch {
		case res.Skipped != "":
			// P56: shielded (Dispatch checks the person's shields), so not
			// alerted: no record, no resolution later.
			if err := s.store.DeleteRecipient(ctx, c.ID, it.Subject); err != nil {
				return fmt.Errorf("alert: batch %s: %w", msgID, err)
			}
			t.shielded++
		case repeat:
		case r.Quiet:
			t.quiet++
		default:
			t.sent++
		}
	}
	s.logger.DebugContext(ctx, "alert batch delivered", append([]any{slog.String("message", msgID), slog.String("case", c.ID)}, t.attrs()...)...)
	// Resolved while this batch ran: the people recorded after the
	// resolution was handed to delivery get it too.
	if a, err := s.store.AlertByID(ctx, a.ID); err == nil && !a.ClosedAt.IsZero() {
		return s.resolve(ctx, c.ID)
	}
	return nil
}

func (s *Service) recipient(ctx context.Context, caseID string, sub consent.Subject) (Recipient, error) {
	rs, err := s.store.Recipients(ctx, caseID, []consent.Subject{sub})
	if err != nil {
		return Recipient{}, err
	}
	if len(rs) == 0 {
		return Recipient{}, fmt.Errorf("alert: the record of a recipient of case %s vanished", caseID)
	}
	return rs[0], nil
}

// dispatch delivers n, to the inbox only when quiet.
func (s *Service) dispatch(ctx context.Context, n notify.Notification, quiet bool) (notify.Result, error) {
	if quiet {
		return s.notifier.DispatchQuiet(ctx, n)
	}
	return s.notifier.Dispatch(ctx, n)
}

// deliverResolution tells the recipients of a resolution batch that the
// case is over; each once (its own dedupe key). Outside quiet hours it
// pushes; it is not urgent enough to wake anyone.
func (s *Service) deliverResolution(ctx context.Context, msgID string, b batch) error {
	c, err := s.cases.CaseForAlerts(ctx, b.CaseID)
	if notFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("alert: batch %s: %w", msgID, err)
	}
	if !c.Status.Resolved() {
		s.logger.WarnContext(ctx, "alert: dropping a resolution batch of an open case", slog.String("message", msgID))
		return nil
	}
	subs := make([]consent.Subject, len(b.Items))
	for i, it := range b.Items {
		subs[i] = it.Subject
	}
	// Only those still on record: a person who withdrew the location
	// consent meanwhile is not processed any more.
	rs, err := s.store.Recipients(ctx, c.ID, subs)
	if err != nil {
		return fmt.Errorf("alert: batch %s: %w", msgID, err)
	}
	now := s.now()
	quiet := s.cfg.Quiet.In(now)
	sent := 0
	for _, r := range rs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !r.ResolvedAt.IsZero() {
			continue // a repeated batch: this one was done
		}
		if _, err := s.dispatch(ctx, resolutionNotification(c, r), quiet); err != nil {
			return fmt.Errorf("alert: batch %s: %w", msgID, err)
		}
		if err := s.store.MarkResolved(ctx, c.ID, r.Subject, now); err != nil {
			return fmt.Errorf("alert: batch %s: %w", msgID, err)
		}
		sent++
	}
	s.logger.DebugContext(ctx, "alert resolution delivered", slog.String("message", msgID), slog.String("case", c.ID), slog.Int("sent", sent))
	return nil
}
