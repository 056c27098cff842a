package audit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/identity"
)

// Log is the audit log: the one place entries are appended, listed and
// verified.
type Log struct {
	store Store
	now   func() time.Time
}

// NewLog returns the log over store; now nil means time.Now.
func NewLog(store Store, now func() time.Time) *Log {
	if now == nil {
		now = time.Now
	}
	return &Log{store: store, now: now}
}

// Actor is who asks to read the log.
type Actor struct {
	UserID string
	Role   identity.Role
}

var errUnsealed = errors.New("the head entry is not sealed")

var errAdminOnly = yuncan.Errorf(yuncan.Forbidden, "the audit log is for admins only")

// Append adds r to the end of the chain and returns the entry. The store
// serialises appends, so the chain never forks.
func (l *Log) Append(ctx context.Context, r Record) (Entry, error) {
	if r.ActorID == "" || r.Action == "" || r.TargetKind == "" {
		return Entry{}, fmt.Errorf("audit: append %q: actor, action and target kind are required", r.Action)
	}
	at := l.now().UTC()
	link := func(head Entry) (Entry, error) {
		if head.Seq > 0 && head.Hash == "" {
			return Entry{}, errUnsealed
		}
		return Link(head, Entry{At: at, ActorID: r.ActorID, ActorRole: r.ActorRole, Action: r.Action,
			TargetKind: r.TargetKind, TargetID: r.TargetID, Reason: strings.TrimSpace(r.Reason)}), nil
	}
	e, err := l.store.AppendEntry(ctx, link)
	if errors.Is(err, errUnsealed) {
		// The first append after migration 0012: chain the carried-over
		// entries, then append.
		if _, err := l.Seal(ctx); err != nil {
			return Entry{}, err
		}
		e, err = l.store.AppendEntry(ctx, link)
	}
	if err != nil {
		return Entry{}, fmt.Errorf("audit: append %s of %s %s: %w", r.Action, r.TargetKind, r.TargetID, err)
	}
	return e, nil
}

// Seal chains the entries carried over from the unchained log (migration
// 0012 copies them with no hash), in order, after the last hashed entry.
// Append and Verify call it when the head is not
// hashed; once it is, Seal changes nothing.
func (l *Log) Seal(ctx context.Context) (int, error) {
	n, err := l.store.SealEntries(ctx, func(prev, e Entry) Entry {
		e.PrevHash = prev.Hash
		e.Hash = HashOf(e.PrevHash, e)
		return e
	})
	if err != nil {
		return 0, fmt.Errorf("audit: seal: %w", err)
	}
	return n, nil
}

// List returns a page of entries f selects, newest first. Admins only.
func (l *Log) List(ctx context.Context, a Actor, f Filter) (Page, error) {
	if a.Role != identity.RoleAdmin {
		return Page{}, errAdminOnly
	}
	return l.Entries(ctx, f)
}

// Entries is List without the role check, for the service's own callers
// (tests, the admin command).
func (l *Log) Entries(ctx context.Context, f Filter) (Page, error) {
	switch {
	case f.Limit < 0 || f.Limit > 500:
		return Page{}, yuncan.FieldError("limit", "must be between 1 and 500")
	case f.Limit == 0:
		f.Limit = 50
	}
	if f.Before < 0 {
		return Page{}, yuncan.FieldError("cursor", "is not a cursor")
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return Page{}, yuncan.FieldError("until", "must be after since")
	}
	want := f.Limit
	f.Limit++
	es, err := l.store.Entries(ctx, f)
	if err != nil {
		return Page{}, fmt.Errorf("audit: list: %w", err)
	}
	p := Page{Entries: es}
	if len(es) > want {
		p.Entries = es[:want]
		p.Next = es[want-1].Seq
	}
	return p, nil
}

// VerifyAs is Verify for an admin.
func (l *Log) VerifyAs(ctx context.Context, a Actor) (Result, error) {
	if a.Role != identity.RoleAdmin {
		return Result{}, errAdminOnly
	}
	return l.Verify(ctx)
}

// Verify walks the chain from the first entry and reports the first
// sequence number whose link does not hold: a changed entry (its hash no
// longer matches), a missing one (a gap in the numbers) or a rewired one
// (its previous hash is not its predecessor's hash). Entries carried over
// from the unchained log are sealed first.
func (l *Log) Verify(ctx context.Context) (Result, error) {
	if _, err := l.Seal(ctx); err != nil {
		return Result{}, err
	}
	var res Result
	var prev Entry
	const page = 500
	for {
		es, err := l.store.Chain(ctx, prev.Seq, page)
		if err != nil {
			return Result{}, fmt.Errorf("audit: verify: %w", err)
		}
		for _, e := range es {
			res.Entries++
			if res.BrokenAt == 0 {
				switch {
				case e.Seq != prev.Seq+1:
					res.BrokenAt = prev.Seq + 1
				case e.PrevHash != prev.Hash || e.Hash == "" || e.Hash != HashOf(e.PrevHash, e):
					res.BrokenAt = e.Seq
				}
			}
			prev = e
		}
		if len(es) < page {
			break
		}
	}
	res.OK = res.BrokenAt == 0
	res.HeadSeq, res.HeadHash = prev.Seq, prev.Hash
	return res, nil
}
