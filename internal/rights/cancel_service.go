package rights

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/consent"
)

// Codes sends and checks the one-time SMS code that proves, again, that
// the person asking to cancel holds the account's number (identity).
type Codes interface {
	SendCancelCode(ctx context.Context, userID, clientIP string) error
	CheckCancelCode(ctx context.Context, userID, code string) error
}

// Positions is the geo index's owner (location.Service): Delete drops a
// subject's position from the store and the index, ForgetAll empties the
// index. Both are idempotent.
type Positions interface {
	Delete(ctx context.Context, sub consent.Subject) error
	ForgetAll(ctx context.Context) error
}

// ConsentCache is the consent gate's cache of states (consent.Service).
type ConsentCache interface {
	Invalidate(sub consent.Subject)
	InvalidateAll()
}

// Caller is who asks: the account and when their login (this phone or
// browser) started.
type Caller struct {
	UserID         string
	LoginStartedAt time.Time
	ClientIP       string
}

var errCodesUnavailable = &yuncan.Error{Code: yuncan.Unavailable, Reason: "cancellation_unavailable", Message: "account cancellation is not available on this server"}

// knownDevice refuses a login younger than KnownAfter: cancelling needs a
// phone or browser the account has been using, not only the SMS code (a
// stolen SIM card alone must not be enough).
func (s *Service) knownDevice(c Caller) error {
	if age := s.now().Sub(c.LoginStartedAt); age < s.cfg.KnownAfter {
		return &yuncan.Error{Code: yuncan.Forbidden, Reason: "device_not_known",
			Message: fmt.Sprintf("for your safety, cancel from a phone or browser that has been logged in to this account for at least %d hours, or write to us through help & feedback",
				int(s.cfg.KnownAfter.Hours())),
			RetryAfter: s.cfg.KnownAfter - age}
	}
	return nil
}

// SendCancelCode sends the code that a cancellation request needs to the
// account's own number.
func (s *Service) SendCancelCode(ctx context.Context, c Caller) error {
	if s.codes == nil {
		return errCodesUnavailable
	}
	if err := s.knownDevice(c); err != nil {
		return err
	}
	return s.codes.SendCancelCode(ctx, c.UserID, c.ClientIP)
}

// CancelRequest is a request to cancel the caller's account.
type CancelRequest struct {
	// Code is the SMS code SendCancelCode sent.
	Code string
	// Agree says the person read the cancellation agreement and agrees.
	Agree bool
}

// RequestCancellation starts the cancellation of the caller's account
// (policy 6.4, P66): from a known login, with a fresh SMS code and the
// agreement accepted. The erasure starts when the cooling-off ends; until
// then WithdrawCancellation takes it back. A second request while one is
// under way is a Conflict.
func (s *Service) RequestCancellation(ctx context.Context, c Caller, req CancelRequest) (Cancellation, error) {
	if s.codes == nil {
		return Cancellation{}, errCodesUnavailable
	}
	if !req.Agree {
		return Cancellation{}, yuncan.FieldError("agree", "read the cancellation agreement and agree to it").WithReason("agreement_required")
	}
	if err := s.knownDevice(c); err != nil {
		return Cancellation{}, err
	}
	if open, err := s.store.LatestCancellation(ctx, c.UserID); err == nil && (open.Status == CancelPending || open.Status == CancelErasing) {
		return open, cancellationOpen(nil)
	}
	if err := s.codes.CheckCancelCode(ctx, c.UserID, req.Code); err != nil {
		return Cancellation{}, err
	}
	now := s.now().UTC()
	rec := Cancellation{ID: newID(), UserID: c.UserID, Status: CancelPending, RequestedAt: now, DueAt: now.Add(s.cfg.CoolingOff)}
	got, err := s.store.CreateCancellation(ctx, rec)
	if yuncan.ErrorCode(err) == yuncan.Conflict {
		return got, cancellationOpen(err)
	}
	if err != nil {
		return Cancellation{}, fmt.Errorf("rights: request cancellation: %w", err)
	}
	s.logger.InfoContext(ctx, "cancellation requested", "cancellation", got)
	return got, nil
}

func cancellationOpen(cause error) error {
	return &yuncan.Error{Code: yuncan.Conflict, Reason: "cancellation_open", Message: "your account's cancellation is already under way", Err: cause}
}

// CancellationOf returns the caller's newest cancellation request;
// NotFound when there is none.
func (s *Service) CancellationOf(ctx context.Context, userID string) (Cancellation, error) {
	return s.store.LatestCancellation(ctx, userID)
}

// WithdrawCancellation takes back the caller's pending cancellation.
// NotFound when none is pending; Conflict once the erasure has started.
func (s *Service) WithdrawCancellation(ctx context.Context, userID string) (Cancellation, error) {
	c, err := s.store.WithdrawCancellation(ctx, userID, s.now().UTC())
	if yuncan.ErrorCode(err) == yuncan.NotFound {
		if latest, lerr := s.store.LatestCancellation(ctx, userID); lerr == nil && latest.Status == CancelErasing {
			return latest, &yuncan.Error{Code: yuncan.Conflict, Reason: "cancellation_started", Message: "the erasure has started and cannot be stopped"}
		}
		return c, &yuncan.Error{Code: yuncan.NotFound, Reason: "no_pending_cancellation", Message: "there is no pending cancellation to withdraw"}
	}
	if err != nil {
		return c, fmt.Errorf("rights: withdraw cancellation: %w", err)
	}
	s.logger.InfoContext(ctx, "cancellation withdrawn", "cancellation", c)
	return c, nil
}

// RunCancellations is the job: it carries out every cancellation whose
// cooling-off is over, and finishes any a crash interrupted (its lease ran
// out). Each is erased in two steps: the rows, all in one transaction
// (ErasePerson), then what lies outside the database, recorded with the
// rows' erasure so a restart finishes it: files, archives, the geo index
// and the caches. Nothing half-erased is ever served: the rows go at once.
func (s *Service) RunCancellations(ctx context.Context) error {
	order, err := ErasureOrder(Registry)
	if err != nil {
		return err
	}
	for ctx.Err() == nil {
		now := s.now().UTC()
		c, err := s.store.ClaimCancellation(ctx, now, now.Add(s.cfg.Lease))
		if yuncan.ErrorCode(err) == yuncan.NotFound {
			return nil
		}
		if err != nil {
			return fmt.Errorf("rights: claim cancellation: %w", err)
		}
		if err := s.erase(ctx, c, order); err != nil {
			// The lease runs out and the next run takes it over.
			return fmt.Errorf("rights: cancellation %s: %w", c.ID, err)
		}
	}
	return ctx.Err()
}

func (s *Service) erase(ctx context.Context, c Cancellation, order []Table) error {
	if c.Pending == nil {
		var err error
		c, err = s.store.ErasePerson(ctx, c, order, func(t Table, rows int) Hold {
			return Hold{Table: t.Name, Rows: rows, Basis: t.Erase.Basis, Category: t.Erase.Category,
				ExpiresAt: s.now().UTC().Add(s.retention(t.Erase.Category))}
		})
		if err != nil {
			return err
		}
		s.logger.InfoContext(ctx, "account rows erased", "cancellation", c, "files", len(c.Pending.Media), "held", len(c.Held))
	}
	p := c.Pending
	if s.media != nil {
		for _, key := range p.Media {
			if err := s.media.Delete(ctx, key); err != nil {
				return fmt.Errorf("delete file: %w", err)
			}
		}
	}
	for _, id := range p.Exports {
		tmps, _ := filepath.Glob(filepath.Join(s.dir, id+".*.tmp"))
		for _, f := range append(tmps, s.archivePath(id)) {
			if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("delete archive: %w", err)
			}
		}
	}
	for _, sub := range p.Subjects {
		cs := consent.Subject{Kind: consent.SubjectKind(sub.Kind), ID: sub.ID}
		if s.positions != nil {
			if err := s.positions.Delete(ctx, cs); err != nil {
				return fmt.Errorf("forget %s: %w", sub.Kind, err)
			}
		}
		if s.consents != nil {
			s.consents.Invalidate(cs)
		}
	}
	c.Status, c.CompletedAt, c.LeaseUntil = CancelCompleted, s.now().UTC(), time.Time{}
	// What was pending is done: the record keeps only the held records.
	c.Pending = &Pending{}
	if err := s.store.SaveCancellation(ctx, c); err != nil {
		return err
	}
	s.logger.InfoContext(ctx, "account cancelled", "cancellation", c)
	return nil
}

// ExpireCancellations is the retention job of the cancellation records:
// they go when their legal period (category cancellation_record) is over.
func (s *Service) ExpireCancellations(ctx context.Context) error {
	keep := s.retention("cancellation_record")
	if keep <= 0 {
		return nil
	}
	if _, err := s.store.ExpireCancellations(ctx, s.now().UTC().Add(-keep)); err != nil {
		return fmt.Errorf("rights: %w", err)
	}
	return nil
}

// DeadlineWorkingDays is the latest a cancellation is completed, counted
// from the request (policy 6.4: 15 working days); by default it is done
// right after the cooling-off.
const DeadlineWorkingDays = 15

// Terms are the cancellation's conditions, readable without logging in.
type Terms struct {
	CoolingOff time.Duration
	KnownAfter time.Duration
	// Kept are the records that stay after a cancellation, and why; the
	// registry says it (one rule, one place).
	Kept []Table
	// Anonymised are records that stay without the person.
	Anonymised []Table
}

// CancelTerms returns the conditions in force.
func (s *Service) CancelTerms() Terms {
	t := Terms{CoolingOff: s.cfg.CoolingOff, KnownAfter: s.cfg.KnownAfter}
	for _, tb := range Registry {
		switch tb.Erase.Action {
		case Keep:
			t.Kept = append(t.Kept, tb)
		case Anonymise:
			t.Anonymised = append(t.Anonymised, tb)
		}
	}
	return t
}

// RetentionOf is how long the records of a category are kept.
func (s *Service) RetentionOf(category string) time.Duration { return s.retention(category) }
