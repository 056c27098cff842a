package rights

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/notify"
)

// Ceasing operations (policy 6.7, P69): an admin declares it with a notice
// and a notice period; at once collection stops (the server refuses every
// endpoint that collects, and sign-ups) and every account is told through
// its inbox and push; the public status carries the announcement. When the
// period ends, every account is cancelled and erased as at P66, and then
// everything else the registry holds is erased or anonymised, files too.

// Cease is the declaration as stored.
type Cease struct {
	DeclaredAt time.Time
	// PurgeAt is when the erasure of everything starts.
	PurgeAt            time.Time
	NoticeZH, NoticeEN string
	// ToldThrough is the last account told (accounts go in id order);
	// ToldAt is when all were.
	ToldThrough string
	ToldAt      time.Time
	PurgedAt    time.Time
}

// CeaseStore keeps the declaration and erases what is left at the end.
type CeaseStore interface {
	// DeclareCease stores c; Conflict when operations are already ceasing.
	DeclareCease(ctx context.Context, c Cease) error
	// CeaseState returns the declaration; NotFound when there is none.
	CeaseState(ctx context.Context) (Cease, error)
	// SaveCease saves the progress fields (ToldThrough, ToldAt, PurgedAt).
	SaveCease(ctx context.Context, c Cease) error
	// AccountsAfter lists up to limit account ids after after, in order.
	AccountsAfter(ctx context.Context, after string, limit int) ([]string, error)
	// EraseEverything erases, in one transaction and in order, every row
	// of every table whose action is delete, anonymises every row of the
	// anonymised ones and leaves the kept ones, and returns the media keys
	// of the erased rows.
	EraseEverything(ctx context.Context, order []Table) ([]string, error)
}

// Notifier delivers a notice to the inbox and the push channels
// (notify.Dispatcher).
type Notifier interface {
	Dispatch(ctx context.Context, n notify.Notification) (notify.Result, error)
}

// MinCeaseNotice is the shortest notice period: people need time to
// download their data.
const MinCeaseNotice = 30 * 24 * time.Hour

const maxNotice = 450

// CeaseRequest is what an admin declares.
type CeaseRequest struct {
	NoticeZH, NoticeEN string
	// Notice is the notice period; zero means MinCeaseNotice.
	Notice time.Duration
}

func (r CeaseRequest) validate() error {
	fields := map[string]string{}
	for name, v := range map[string]string{"notice_zh": r.NoticeZH, "notice_en": r.NoticeEN} {
		switch {
		case strings.TrimSpace(v) == "":
			fields[name] = "is required"
		case !utf8.ValidString(v) || utf8.RuneCountInString(v) > maxNotice:
			fields[name] = fmt.Sprintf("must be text of at most %d characters", maxNotice)
		}
	}
	if r.Notice != 0 && r.Notice < MinCeaseNotice {
		fields["notice_days"] = fmt.Sprintf("must be at least %d", int(MinCeaseNotice/(24*time.Hour)))
	}
	if len(fields) > 0 {
		return &yuncan.Error{Code: yuncan.Invalid, Message: "the declaration is incomplete", Fields: fields}
	}
	return nil
}

// DeclareCease starts ceasing operations. Conflict when already declared.
func (s *Service) DeclareCease(ctx context.Context, r CeaseRequest) (Cease, error) {
	if err := r.validate(); err != nil {
		return Cease{}, err
	}
	if r.Notice == 0 {
		r.Notice = MinCeaseNotice
	}
	now := s.now().UTC()
	c := Cease{DeclaredAt: now, PurgeAt: now.Add(r.Notice), NoticeZH: strings.TrimSpace(r.NoticeZH), NoticeEN: strings.TrimSpace(r.NoticeEN)}
	if err := s.store.DeclareCease(ctx, c); err != nil {
		if yuncan.ErrorCode(err) == yuncan.Conflict {
			return Cease{}, &yuncan.Error{Code: yuncan.Conflict, Reason: "already_ceasing", Message: "operations are already ceasing", Err: err}
		}
		return Cease{}, fmt.Errorf("rights: declare cease: %w", err)
	}
	s.ceased.Store(&ceaseCache{c: c, ok: true, at: s.now()})
	s.logger.WarnContext(ctx, "operations ceasing", "purge_at", c.PurgeAt)
	return c, nil
}

type ceaseCache struct {
	c  Cease
	ok bool
	at time.Time
}

// CeaseStatus returns the declaration, if any, read again at most every
// 10 seconds (other replicas may declare it).
func (s *Service) CeaseStatus(ctx context.Context) (Cease, bool) {
	if c := s.ceased.Load(); c != nil && s.now().Sub(c.at) < 10*time.Second && s.now().Sub(c.at) >= 0 {
		return c.c, c.ok
	}
	c, err := s.store.CeaseState(ctx)
	if err != nil && yuncan.ErrorCode(err) != yuncan.NotFound {
		// Unknown: keep the last answer rather than reopen collection.
		if old := s.ceased.Load(); old != nil {
			return old.c, old.ok
		}
		return Cease{}, false
	}
	ok := err == nil
	s.ceased.Store(&ceaseCache{c: c, ok: ok, at: s.now()})
	return c, ok
}

// Ceasing reports whether operations are ceasing: collection is closed.
func (s *Service) Ceasing(ctx context.Context) bool {
	_, ok := s.CeaseStatus(ctx)
	return ok
}

var ceaseTitle = "云寻即将停止运营 · Yuncan is closing"

// RunCease is the job: once operations are ceasing it tells every account
// (resuming where it stopped; the notice's dedupe key makes a repeat a
// no-op), and when the notice period is over it cancels and erases every
// account and then erases everything else.
func (s *Service) RunCease(ctx context.Context) error {
	c, err := s.store.CeaseState(ctx)
	if yuncan.ErrorCode(err) == yuncan.NotFound {
		return nil
	}
	if err != nil {
		return fmt.Errorf("rights: cease state: %w", err)
	}
	if !c.PurgedAt.IsZero() {
		return nil
	}
	if c.ToldAt.IsZero() {
		if err := s.tellEveryone(ctx, &c); err != nil {
			return err
		}
	}
	if s.now().Before(c.PurgeAt) {
		return nil
	}
	return s.purge(ctx, c)
}

func (s *Service) tellEveryone(ctx context.Context, c *Cease) error {
	if s.notifier == nil {
		return errors.New("rights: no notifier to tell people operations are ceasing")
	}
	for {
		ids, err := s.store.AccountsAfter(ctx, c.ToldThrough, 500)
		if err != nil {
			return fmt.Errorf("rights: accounts: %w", err)
		}
		if len(ids) == 0 {
			break
		}
		for _, id := range ids {
			n := notify.Notification{Recipient: notify.User(id), Kind: notify.KindPolicyUpdated,
				DedupeKey: "cease:" + c.DeclaredAt.Format(time.RFC3339Nano), Title: ceaseTitle,
				Body: c.NoticeZH + "\n" + c.NoticeEN, Data: notify.Data{Link: "/privacy/status"}}
			if _, err := s.notifier.Dispatch(ctx, n); err != nil {
				return fmt.Errorf("rights: tell %s: %w", id, err)
			}
		}
		c.ToldThrough = ids[len(ids)-1]
		if err := s.store.SaveCease(ctx, *c); err != nil {
			return fmt.Errorf("rights: cease progress: %w", err)
		}
	}
	c.ToldAt = s.now().UTC()
	if err := s.store.SaveCease(ctx, *c); err != nil {
		return fmt.Errorf("rights: cease progress: %w", err)
	}
	s.logger.InfoContext(ctx, "everyone told operations are ceasing")
	return nil
}

func (s *Service) purge(ctx context.Context, c Cease) error {
	now := s.now().UTC()
	// Every account, cancelled as at P66 and due now: its rows, files,
	// archives, index entries and cached states go, and its record says
	// what legal records stay.
	for after := ""; ; {
		ids, err := s.store.AccountsAfter(ctx, after, 500)
		if err != nil {
			return fmt.Errorf("rights: accounts: %w", err)
		}
		if len(ids) == 0 {
			break
		}
		for _, id := range ids {
			rec := Cancellation{ID: newID(), UserID: id, Status: CancelPending, RequestedAt: now, DueAt: now}
			open, err := s.store.CreateCancellation(ctx, rec)
			switch {
			case yuncan.ErrorCode(err) == yuncan.Conflict && open.Status == CancelPending:
				open.DueAt = now
				if err := s.store.SaveCancellation(ctx, open); err != nil {
					return fmt.Errorf("rights: cancellation of %s: %w", id, err)
				}
			case yuncan.ErrorCode(err) == yuncan.Conflict, yuncan.ErrorCode(err) == yuncan.NotFound:
				// Under way already, or gone meanwhile.
			case err != nil:
				return fmt.Errorf("rights: cancellation of %s: %w", id, err)
			}
		}
		after = ids[len(ids)-1]
	}
	if err := s.RunCancellations(ctx); err != nil {
		return err
	}
	// Then what belongs to no account: devices that never logged in,
	// their consents and positions, codes, requests, anything left.
	order, err := ErasureOrder(Registry)
	if err != nil {
		return err
	}
	keys, err := s.store.EraseEverything(ctx, order)
	if err != nil {
		return fmt.Errorf("rights: erase everything: %w", err)
	}
	if s.media != nil {
		for _, k := range keys {
			if err := s.media.Delete(ctx, k); err != nil {
				return fmt.Errorf("rights: delete file: %w", err)
			}
		}
	}
	if err := os.RemoveAll(s.dir); err != nil {
		return fmt.Errorf("rights: delete archives: %w", err)
	}
	if s.positions != nil {
		if err := s.positions.ForgetAll(ctx); err != nil {
			return err
		}
	}
	if s.consents != nil {
		s.consents.InvalidateAll()
	}
	c.PurgedAt = s.now().UTC()
	if err := s.store.SaveCease(ctx, c); err != nil {
		return fmt.Errorf("rights: cease progress: %w", err)
	}
	s.logger.WarnContext(ctx, "operations ceased: personal data erased")
	return nil
}
