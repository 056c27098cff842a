package seeking

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/yuncan/yuncan"
)

// mover is who may make a change.
type mover int

const (
	byReporter mover = 1 << iota
	byModerator
	byPolice // staff of a partner police organisation
	byAnyone = byReporter | byModerator | byPolice
)

// lifecycle is every allowed change of status and who may make it. Any
// other change is a Conflict with reason invalid_transition.
var lifecycle = map[Status]map[Status]mover{
	StatusDraft: {
		StatusInReview:  byReporter, // submit
		StatusWithdrawn: byReporter,
	},
	StatusInReview: {
		StatusPublished: byModerator, // approve
		StatusRejected:  byModerator, // reject, with a reason
		StatusDraft:     byModerator, // return for changes, with a reason
		StatusWithdrawn: byReporter | byModerator,
	},
	StatusPublished: {
		StatusFoundSafe:        byAnyone,
		StatusFoundSafePrivate: byAnyone,
		StatusFoundDeceased:    byAnyone,
		StatusWithdrawn:        byAnyone,
	},
	// Found safe, and then the person asks not to be contacted: the case
	// disappears from public view.
	StatusFoundSafe: {
		StatusFoundSafePrivate: byAnyone,
	},
}

// Transitions lists the statuses a case in from may move to.
func Transitions(from Status) []Status {
	var out []Status
	for to := range lifecycle[from] {
		out = append(out, to)
	}
	return out
}

func errInvalidTransition(from, to Status) error {
	return yuncan.Errorf(yuncan.Conflict, "a case that is %s cannot become %s", from, to).WithReason("invalid_transition")
}

// errOwnCase: no one reviews their own case.
var errOwnCase = yuncan.Errorf(yuncan.Forbidden, "you cannot review a case you reported").WithReason("own_case")

// move changes the status of r from its current one to to, for w, with
// reason, and records the event; then tells the publisher.
func (s *Service) move(ctx context.Context, w who, r CaseRecord, a Access, to Status, reason string) (CaseRecord, error) {
	allowed, ok := lifecycle[r.Status][to]
	if !ok {
		return CaseRecord{}, errInvalidTransition(r.Status, to)
	}
	isReporter := a == AccessReporter
	var role string
	switch {
	case allowed&byReporter != 0 && isReporter:
		role = ActorReporter
	case allowed&byModerator != 0 && w.moderator:
		if isReporter {
			return CaseRecord{}, errOwnCase
		}
		role = ActorModerator
	case allowed&byPolice != 0 && w.police && a == AccessStaff:
		role = ActorPartner
	case allowed == byModerator && isReporter:
		return CaseRecord{}, yuncan.Errorf(yuncan.Forbidden, "only a moderator may do this").WithReason("moderator_required")
	default:
		return CaseRecord{}, yuncan.Errorf(yuncan.Forbidden, "you may not change this case").WithReason("not_allowed")
	}
	now := s.now()
	next := r
	next.Status, next.StatusReason, next.UpdatedAt = to, reason, now
	switch {
	case to == StatusInReview:
		next.SubmittedAt = now
	case to == StatusPublished:
		next.PublishedAt = now
	case to.Resolved():
		if !r.Status.Resolved() {
			next.ResolvedAt = now
		}
	}
	ev := Event{ID: newID(), CaseID: r.ID, At: now, ActorID: w.v.UserID, ActorRole: role, From: r.Status, To: to, Reason: reason}
	if err := s.store.TransitionCase(ctx, next, r.Status, ev); err != nil {
		if yuncan.ErrorCode(err) == yuncan.Conflict {
			return CaseRecord{}, yuncan.Errorf(yuncan.Conflict, "the case changed meanwhile; reload it").WithReason("invalid_transition")
		}
		return CaseRecord{}, fmt.Errorf("seeking: case %s %s → %s: %w", r.ID, r.Status, to, err)
	}
	if role != ActorReporter {
		// P52: a staff action goes to the audit log, once it is done.
		if err := s.audit(ctx, w.v, staffAction(to), "case", r.ID, reason); err != nil {
			return CaseRecord{}, err
		}
	}
	s.announce(ctx, r.Status, next)
	return next, nil
}

// staffAction names a change of status made by staff in the audit log.
func staffAction(to Status) string {
	switch {
	case to == StatusPublished:
		return AuditCaseApprove
	case to == StatusRejected:
		return AuditCaseReject
	case to == StatusDraft:
		return AuditCaseReturn
	case to == StatusWithdrawn:
		return AuditCaseWithdraw
	default:
		return AuditCaseResolve
	}
}

// announce tells the publisher about a publication or a resolution. The
// change is committed already, so a failing publisher is logged, not
// returned.
func (s *Service) announce(ctx context.Context, from Status, r CaseRecord) {
	if s.pub == nil {
		return
	}
	var hook func(context.Context, Case) error
	switch {
	case r.Status == StatusPublished:
		hook = s.pub.CasePublished
	case r.Status.Resolved() && (from == StatusPublished || from.Resolved()):
		hook = s.pub.CaseResolved
	default:
		return
	}
	c, err := s.open(r)
	if err == nil {
		c.Photos, err = s.store.CasePhotos(ctx, r.ID)
	}
	if err == nil {
		err = hook(ctx, c)
	}
	if err != nil {
		s.logger.ErrorContext(ctx, "seeking: publisher failed", "case", r.ID, "status", string(r.Status), "err", err)
	}
}

// transition is the common path of the lifecycle methods.
func (s *Service) transition(ctx context.Context, v Viewer, id string, to Status, reason string, check func(CaseRecord, who, Access) error) (CaseView, error) {
	if v.Anonymous() {
		return CaseView{}, errUnauthenticated
	}
	r, w, a, err := s.caseFor(ctx, v, id)
	if err != nil {
		return CaseView{}, err
	}
	if check != nil {
		if err := check(r, w, a); err != nil {
			return CaseView{}, err
		}
	}
	next, err := s.move(ctx, w, r, a, to, reason)
	if err != nil {
		return CaseView{}, err
	}
	return s.view(ctx, next, a, false)
}

// checkReason trims and checks a reason; required ones must not be blank.
func checkReason(field string, reason *string, required bool) error {
	e := yuncan.Errorf(yuncan.Invalid, "the %s is not valid", field)
	text(e, field, reason, MaxReason, false, required)
	if len(e.Fields) > 0 {
		return e
	}
	return nil
}

// Submit sends a draft for review. Who-may-publish is asked again: a
// real-name verification may have been withdrawn since the draft began.
func (s *Service) Submit(ctx context.Context, v Viewer, id string) (CaseView, error) {
	return s.transition(ctx, v, id, StatusInReview, "", func(r CaseRecord, w who, a Access) error {
		if a != AccessReporter {
			return nil // move refuses
		}
		if r.Status != StatusDraft {
			return errInvalidTransition(r.Status, StatusInReview)
		}
		return s.mayPublish(ctx, w, r.OrgID)
	})
}

// Approve publishes a case in review. A moderator never approves their
// own case, and a case about an adult needs a police report receipt or a
// moderator's recorded verification.
func (s *Service) Approve(ctx context.Context, v Viewer, id string) (CaseView, error) {
	return s.transition(ctx, v, id, StatusPublished, "", func(r CaseRecord, w who, a Access) error {
		if err := requireReviewer(w, a); err != nil {
			return err
		}
		if r.Status == StatusInReview && r.Category.NeedsVerification() && r.ReceiptSealed == "" && r.VerifiedAt.IsZero() {
			return yuncan.Errorf(yuncan.Conflict,
				"a case about an adult needs a police report receipt or a moderator's recorded verification before it is published").
				WithReason("verification_required")
		}
		return nil
	})
}

// Reject refuses a case in review, with a reason the reporter sees.
func (s *Service) Reject(ctx context.Context, v Viewer, id, reason string) (CaseView, error) {
	if err := checkReason("reason", &reason, true); err != nil {
		return CaseView{}, err
	}
	return s.transition(ctx, v, id, StatusRejected, reason, func(_ CaseRecord, w who, a Access) error {
		return requireReviewer(w, a)
	})
}

// Return sends a case in review back to its reporter as a draft, with
// what to change.
func (s *Service) Return(ctx context.Context, v Viewer, id, reason string) (CaseView, error) {
	if err := checkReason("reason", &reason, true); err != nil {
		return CaseView{}, err
	}
	return s.transition(ctx, v, id, StatusDraft, reason, func(_ CaseRecord, w who, a Access) error {
		return requireReviewer(w, a)
	})
}

// requireReviewer: moderators review, never their own case.
func requireReviewer(w who, a Access) error {
	switch {
	case !w.moderator:
		return yuncan.Errorf(yuncan.Forbidden, "only a moderator may review cases").WithReason("moderator_required")
	case a == AccessReporter:
		return errOwnCase
	}
	return nil
}

// Verify records a moderator's verification of a case in review (for an
// adult without a police receipt: who was called, what was checked). The
// note is sealed and shown only with the private fields; the history
// records that a verification was made.
func (s *Service) Verify(ctx context.Context, v Viewer, id, note string) (CaseView, error) {
	if v.Anonymous() {
		return CaseView{}, errUnauthenticated
	}
	if err := checkReason("note", &note, true); err != nil {
		return CaseView{}, err
	}
	r, w, a, err := s.caseFor(ctx, v, id)
	if err != nil {
		return CaseView{}, err
	}
	if err := requireReviewer(w, a); err != nil {
		return CaseView{}, err
	}
	if r.Status != StatusInReview {
		return CaseView{}, yuncan.Errorf(yuncan.Conflict, "only a case in review is verified; this one is %s", r.Status).WithReason("invalid_transition")
	}
	now := s.now()
	sealed := s.keys.Seal(sealVerifyNote, []byte(note))
	if err := s.store.SetCaseVerification(ctx, r.ID, v.UserID, now, sealed); err != nil {
		return CaseView{}, fmt.Errorf("seeking: verify case %s: %w", r.ID, err)
	}
	// The note is personal data and stays sealed: the log names the act.
	if err := s.audit(ctx, v, AuditCaseVerify, "case", r.ID, ""); err != nil {
		return CaseView{}, err
	}
	r.VerifiedBy, r.VerifiedAt, r.VerificationNoteSealed = v.UserID, now, sealed
	return s.view(ctx, r, a, false)
}

// Resolve closes a case: found safe, found safe and not to be contacted,
// found deceased, or withdrawn. The reporter may withdraw a draft or a
// case in review; a published case is resolved by its reporter, a
// moderator or partner police.
func (s *Service) Resolve(ctx context.Context, v Viewer, id string, outcome Status, note string) (CaseView, error) {
	if !outcome.Resolved() {
		return CaseView{}, yuncan.FieldError("outcome", "must be found_safe, found_safe_private, found_deceased or withdrawn")
	}
	if err := checkReason("note", &note, false); err != nil {
		return CaseView{}, err
	}
	return s.transition(ctx, v, id, outcome, note, nil)
}

// Queue lists the cases waiting for review, oldest submission first, for
// moderators. cursor is "" or what the previous page returned.
func (s *Service) Queue(ctx context.Context, v Viewer, cursor string, limit int) ([]CaseView, string, error) {
	if !v.Moderator() {
		return nil, "", yuncan.Errorf(yuncan.Forbidden, "only a moderator may review cases").WithReason("moderator_required")
	}
	if err := checkLimit(limit); err != nil {
		return nil, "", err
	}
	var after time.Time
	afterID := ""
	if cursor != "" {
		ns, id, ok := decodeCursor(cursor)
		if !ok {
			return nil, "", yuncan.FieldError("cursor", "is not a cursor this list returned").WithReason("invalid_cursor")
		}
		after, afterID = time.Unix(0, ns).UTC(), id
	}
	rs, err := s.store.CasesByStatus(ctx, StatusInReview, after, afterID, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("seeking: review queue: %w", err)
	}
	next := ""
	if len(rs) > limit {
		rs = rs[:limit]
		last := rs[len(rs)-1]
		next = encodeCursor(last.SubmittedAt.UnixNano(), last.ID)
	}
	out := make([]CaseView, 0, len(rs))
	for _, r := range rs {
		a := AccessStaff
		if r.ReporterID == v.UserID {
			a = AccessReporter
		}
		cv, err := s.view(ctx, r, a, true)
		if err != nil {
			return nil, "", err
		}
		out = append(out, cv)
	}
	return out, next, nil
}

// MaxPage is the most items a page holds.
const MaxPage = 100

func checkLimit(limit int) error {
	if limit < 1 || limit > MaxPage {
		return yuncan.FieldError("limit", "must be from 1 to 100").WithReason("invalid_limit")
	}
	return nil
}

// Cursors are opaque to clients: base64url of "<number>:<id>".
func encodeCursor(n int64, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(n, 10) + ":" + id))
}

func decodeCursor(c string) (int64, string, bool) {
	if len(c) > 200 {
		return 0, "", false
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, "", false
	}
	num, id, ok := strings.Cut(string(b), ":")
	n, err := strconv.ParseInt(num, 10, 64)
	if !ok || err != nil || id == "" {
		return 0, "", false
	}
	return n, id, true
}
