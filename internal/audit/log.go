package audit

import (
	"context"
	"errors"
	"fmt"
	"strconv"
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
// It does not record the read: what a person is shown goes through Read.
func (l *Log) List(ctx context.Context, a Actor, f Filter) (Page, error) {
	if a.Role != identity.RoleAdmin {
		return Page{}, errAdminOnly
	}
	return l.Entries(ctx, f)
}

// ActionRead is the action of an entry that records a person reading
// the log itself: what they see names staff, targets and reasons, so it
// is a staff read of personal data like any other (P52).
const ActionRead = "audit.read"

// Read is List for a person: the read is appended to the log first
// (action audit.read, target audit_log, the filter as the reason), and
// if that fails nothing is shown. The API and the staff console list
// the log through Read.
func (l *Log) Read(ctx context.Context, a Actor, f Filter) (Page, error) {
	if a.Role != identity.RoleAdmin {
		return Page{}, errAdminOnly
	}
	if err := checkFilter(f); err != nil {
		return Page{}, err
	}
	if _, err := l.Append(ctx, Record{ActorID: a.UserID, ActorRole: a.Role, Action: ActionRead, TargetKind: "audit_log",
		Reason: f.describe()}); err != nil {
		return Page{}, err
	}
	return l.Entries(ctx, f)
}

// describe is the filter as the reason of an audit.read entry: which
// part of the log was looked at. It names accounts and targets by id
// only, as the log does.
func (f Filter) describe() string {
	var parts []string
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, k+"="+v)
		}
	}
	add("actor", f.ActorID)
	add("target_kind", f.TargetKind)
	add("target_id", f.TargetID)
	if !f.Since.IsZero() {
		add("since", f.Since.UTC().Format(time.RFC3339))
	}
	if !f.Until.IsZero() {
		add("until", f.Until.UTC().Format(time.RFC3339))
	}
	if f.Before > 0 {
		add("before", strconv.FormatInt(f.Before, 10))
	}
	if len(parts) == 0 {
		return "all"
	}
	return strings.Join(parts, " ")
}

// checkFilter refuses a filter Entries would refuse, before anything is
// written.
func checkFilter(f Filter) error {
	switch {
	case f.Limit < 0 || f.Limit > 500:
		return yuncan.FieldError("limit", "must be between 1 and 500")
	case f.Before < 0:
		return yuncan.FieldError("cursor", "is not a cursor")
	case !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until):
		return yuncan.FieldError("until", "must be after since")
	}
	return nil
}

// Entries is List without the role check, for the service's own callers
// (tests, the admin command).
func (l *Log) Entries(ctx context.Context, f Filter) (Page, error) {
	if err := checkFilter(f); err != nil {
		return Page{}, err
	}
	if f.Limit == 0 {
		f.Limit = 50
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

// Verify walks the chain from its anchor (entry 1 until the log is
// first pruned) and reports the first sequence number whose link does
// not hold: a changed entry (its hash no longer matches), a missing one
// (a gap in the numbers, or the first entry kept not following the
// anchor) or a rewired one (its previous hash is not its predecessor's
// hash, or the anchor's). Entries carried over from the unchained log
// are sealed first.
func (l *Log) Verify(ctx context.Context) (Result, error) {
	if _, err := l.Seal(ctx); err != nil {
		return Result{}, err
	}
	for attempt := 0; ; attempt++ {
		a, err := l.store.Anchor(ctx)
		if err != nil {
			return Result{}, fmt.Errorf("audit: verify: %w", err)
		}
		res, err := l.walk(ctx, a)
		if err != nil || res.OK || attempt == 2 {
			return res, err
		}
		// A prune that ran during the walk removes entries the walk
		// expected: start again from its anchor.
		if b, err := l.store.Anchor(ctx); err != nil || b.Seq == a.Seq {
			return res, err
		}
	}
}

// walk checks the links after anchor a.
func (l *Log) walk(ctx context.Context, a Anchor) (Result, error) {
	res := Result{Anchor: a}
	prev := a.head()
	const page = 500
	for {
		es, err := l.store.Chain(ctx, prev.Seq, page)
		if err != nil {
			return Result{}, fmt.Errorf("audit: verify: %w", err)
		}
		for _, e := range es {
			res.Entries++
			if res.BrokenAt == 0 {
				res.BrokenAt = brokenLink(prev, e)
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

// brokenLink is the sequence number at which e fails to follow prev, or
// 0 when the link holds.
func brokenLink(prev, e Entry) int64 {
	switch {
	case e.Seq != prev.Seq+1:
		return prev.Seq + 1
	case e.PrevHash != prev.Hash || e.Hash == "" || e.Hash != HashOf(e.PrevHash, e):
		return e.Seq
	}
	return 0
}

// ReasonChainBroken is the reason of Prune's error when it stops at a
// broken link.
const ReasonChainBroken = "audit_chain_broken"

// Prune removes the entries older than keep from the start of the chain
// (the audit_record retention of the policy data: three years) and keeps
// the last removed entry's sequence number, time and hash as the anchor
// that Verify then starts from. Only a prefix goes: it stops at the
// first entry as recent as now-keep, so an entry older than that but
// after a newer one (two replicas' clocks) waits for its turn.
//
// Pruning never removes the evidence of tampering: each entry is
// checked against its predecessor (or the anchor) before it goes, and at
// the first broken link Prune stops, keeps the broken entry and what
// follows, and returns a Conflict error (reason audit_chain_broken)
// naming its sequence number; Verify goes on reporting it. It returns
// how many entries it removed.
func (l *Log) Prune(ctx context.Context, keep time.Duration) (int, error) {
	if keep <= 0 {
		return 0, fmt.Errorf("audit: prune: a retention of %v would remove the whole log", keep)
	}
	if _, err := l.Seal(ctx); err != nil {
		return 0, err
	}
	now := l.now().UTC()
	cutoff := now.Add(-keep)
	const batch = 1000
	total := 0
	for {
		stop := false
		n, err := l.store.PruneEntries(ctx, batch, func(from Anchor, es []Entry) (Anchor, error) {
			stop = false
			prev, k := from.head(), 0
			for _, e := range es {
				if !e.At.Before(cutoff) {
					stop = true
					break
				}
				if b := brokenLink(prev, e); b != 0 {
					stop = true
					err := yuncan.Errorf(yuncan.Conflict, "the audit chain is broken at entry %d: nothing from there is pruned", b).
						WithReason(ReasonChainBroken)
					return anchorAt(from, prev, k, now), err
				}
				prev = e
				k++
			}
			if len(es) < batch {
				stop = true
			}
			return anchorAt(from, prev, k, now), nil
		})
		total += n
		if err != nil {
			return total, fmt.Errorf("audit: prune: %w", err)
		}
		if stop {
			return total, nil
		}
	}
}

// anchorAt is the anchor after removing k entries after from, the last
// of them last; from itself when k is 0.
func anchorAt(from Anchor, last Entry, k int, now time.Time) Anchor {
	if k == 0 {
		return from
	}
	return Anchor{Seq: last.Seq, At: last.At, Hash: last.Hash, PrunedAt: now, Entries: int64(k)}
}
