package seeking_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"log/slog"
	"math"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/audit"
	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/identity"
	"github.com/yuncan/yuncan/internal/keyring"
	"github.com/yuncan/yuncan/internal/media"
	"github.com/yuncan/yuncan/internal/notify"
	"github.com/yuncan/yuncan/internal/seeking"
	"github.com/yuncan/yuncan/internal/sqlstore"
	"github.com/yuncan/yuncan/internal/storetest"
)

// env is the seeking service on a real SQLite database, with a clock the
// test moves and a publisher that records what it is told.
type env struct {
	t     *testing.T
	db    *sqlstore.DB
	ids   *identity.Service
	cs    *consent.Service
	svc   *seeking.Service
	media media.Store
	pub   *recorder
	clock time.Time
}

// recorder is a seeking.Publisher that remembers the calls.
type recorder struct {
	mu    sync.Mutex
	calls []string
}

func (r *recorder) add(s string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, s)
	return nil
}

func (r *recorder) CasePublished(_ context.Context, c seeking.Case) error {
	return r.add("published " + c.ID)
}

func (r *recorder) ClueVerified(_ context.Context, c seeking.Case, cl seeking.Clue) error {
	return r.add("clue " + c.ID + " " + cl.ID)
}

func (r *recorder) CaseResolved(_ context.Context, c seeking.Case) error {
	return r.add("resolved " + c.ID + " " + string(c.Status))
}

func newEnv(t *testing.T, cfg seeking.Config) *env {
	t.Helper()
	db := storetest.Open(t, storetest.Targets(t)[0])
	keys, err := keyring.New()
	if err != nil {
		t.Fatal(err)
	}
	dm, err := consent.LoadDataMap()
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	version := func() string { return "2021-05-01" }
	e := &env{t: t, db: db, pub: &recorder{}, clock: time.Now().UTC().Add(-48 * time.Hour)}
	e.cs = consent.NewService(db.Consent(), dm, version, nil, logger)
	e.ids = identity.NewService(db.Identity(), keys, notify.NewOutbox(filepath.Join(t.TempDir(), "sms.jsonl"), nil), version, nil, identity.Config{})
	e.media = media.NewFileStore(filepath.Join(t.TempDir(), "media"))
	e.svc = seeking.NewService(seeking.Deps{Store: db.Seeking(), RealNames: e.ids, Gate: e.cs, Media: e.media, Keys: keys,
		Publisher: e.pub, Now: func() time.Time { return e.clock }, Logger: logger}, cfg)
	return e
}

var phoneSeq atomic.Int64

// user creates an account with role.
func (e *env) user(role identity.Role) seeking.Viewer {
	e.t.Helper()
	u, err := e.ids.CreateUser(context.Background(), fmt.Sprintf("139%08d", phoneSeq.Add(1)), role)
	if err != nil {
		e.t.Fatal(err)
	}
	return seeking.Viewer{UserID: u.ID, Role: role}
}

// verify gives an account a real-name verification, as the certifier
// would.
func (e *env) verify(v seeking.Viewer) {
	e.t.Helper()
	err := e.db.Identity().CreateRealName(context.Background(), identity.RealNameRecord{UserID: v.UserID, NameSealed: "k:x",
		IDNumberSealed: "k:y", IDNumberIndex: "idx-" + v.UserID, CertifierReference: "test", VerifiedAt: e.clock})
	if err != nil {
		e.t.Fatal(err)
	}
}

// reporter is a verified account.
func (e *env) reporter() seeking.Viewer {
	v := e.user(identity.RoleUser)
	e.verify(v)
	return v
}

// staffOf makes v staff of a new organisation of kind.
func (e *env) staffOf(v seeking.Viewer, kind seeking.OrgKind) seeking.Org {
	e.t.Helper()
	admin := seeking.Viewer{UserID: "admin", Role: identity.RoleAdmin}
	o, err := e.svc.CreateOrg(context.Background(), admin, fmt.Sprintf("%s %d", kind, phoneSeq.Add(1)), kind)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.svc.AddStaff(context.Background(), admin, o.ID, v.UserID); err != nil {
		e.t.Fatal(err)
	}
	return o
}

func fp(f float64) *float64 { return &f }

func (e *env) input(cat seeking.Category, lat, lng float64) seeking.CaseInput {
	in := seeking.CaseInput{Category: cat,
		Person:   seeking.Person{FullName: "王小明", Sex: "male", Description: "wears glasses"},
		LastSeen: seeking.LastSeen{At: e.clock.Add(-time.Hour), Lat: lat, Lng: lng, PlaceName: "西湖公园"},
		Private:  seeking.Private{Relationship: "father", ContactPhone: "13700137000"}}
	if cat == seeking.CategoryAdult {
		in.Private.PoliceReceipt = "JJ-2025-0001"
	}
	return in
}

func (e *env) draft(rep seeking.Viewer, cat seeking.Category) seeking.CaseView {
	e.t.Helper()
	c, err := e.svc.CreateCase(context.Background(), rep, e.input(cat, 30.25, 120.15))
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// published takes a new case through review.
func (e *env) published(rep, mod seeking.Viewer) seeking.CaseView {
	e.t.Helper()
	c := e.draft(rep, seeking.CategoryChild)
	return e.publish(c.ID, rep, mod)
}

func (e *env) publish(id string, rep, mod seeking.Viewer) seeking.CaseView {
	e.t.Helper()
	ctx := context.Background()
	if _, err := e.svc.Submit(ctx, rep, id); err != nil {
		e.t.Fatal(err)
	}
	c, err := e.svc.Approve(ctx, mod, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func wantCode(t *testing.T, what string, err error, code yuncan.Code, reason string) {
	t.Helper()
	if yuncan.ErrorCode(err) != code || reason != "" && yuncan.ErrorReason(err) != reason {
		t.Fatalf("%s: %v (code %s, reason %s), want %s %s", what, err, yuncan.ErrorCode(err), yuncan.ErrorReason(err), code, reason)
	}
}

// TestSeekingLifecycle drives every pair of statuses: the allowed changes
// succeed and are recorded with who and when; every other one is 409
// invalid_transition and changes nothing.
func TestSeekingLifecycle(t *testing.T) {
	e := newEnv(t, seeking.Config{})
	ctx := context.Background()
	rep, mod := e.reporter(), e.user(identity.RoleModerator)
	statuses := []seeking.Status{seeking.StatusDraft, seeking.StatusInReview, seeking.StatusPublished, seeking.StatusRejected,
		seeking.StatusFoundSafe, seeking.StatusFoundSafePrivate, seeking.StatusFoundDeceased, seeking.StatusWithdrawn}
	allowed := map[[2]seeking.Status]bool{
		{"draft", "in_review"}: true, {"draft", "withdrawn"}: true,
		{"in_review", "published"}: true, {"in_review", "rejected"}: true, {"in_review", "draft"}: true, {"in_review", "withdrawn"}: true,
		{"published", "found_safe"}: true, {"published", "found_safe_private"}: true, {"published", "found_deceased"}: true,
		{"published", "withdrawn"}: true, {"found_safe", "found_safe_private"}: true,
	}
	// reach brings a new case to st along allowed changes.
	reach := func(st seeking.Status) string {
		c := e.draft(rep, seeking.CategoryChild)
		steps := map[seeking.Status][]seeking.Status{
			"draft": {}, "in_review": {"in_review"}, "published": {"in_review", "published"}, "rejected": {"in_review", "rejected"},
			"found_safe": {"in_review", "published", "found_safe"}, "found_safe_private": {"in_review", "published", "found_safe_private"},
			"found_deceased": {"in_review", "published", "found_deceased"}, "withdrawn": {"withdrawn"},
		}[st]
		for _, s := range steps {
			if err := move(ctx, e.svc, rep, mod, c.ID, s); err != nil {
				t.Fatalf("reaching %s via %s: %v", st, s, err)
			}
		}
		return c.ID
	}
	for _, from := range statuses {
		for _, to := range statuses {
			t.Run(string(from)+"→"+string(to), func(t *testing.T) {
				id := reach(from)
				err := move(ctx, e.svc, rep, mod, id, to)
				got, gerr := e.svc.Case(ctx, rep, id)
				if gerr != nil {
					t.Fatal(gerr)
				}
				if allowed[[2]seeking.Status{from, to}] {
					if err != nil {
						t.Fatalf("allowed change refused: %v", err)
					}
					last := got.History[len(got.History)-1]
					if got.Status != to || last.From != from || last.To != to || last.ActorID == "" || last.At.IsZero() {
						t.Fatalf("status %s, last event %+v", got.Status, last)
					}
					return
				}
				// Staff never see a draft that was never submitted (the
				// withdrawn case here was withdrawn as a draft).
				if (from == seeking.StatusDraft || from == seeking.StatusWithdrawn) && actor(to) == "moderator" {
					wantCode(t, "a moderator acting on a fresh draft", err, yuncan.NotFound, "")
				} else {
					wantCode(t, "forbidden change", err, yuncan.Conflict, "invalid_transition")
				}
				if got.Status != from {
					t.Fatalf("a refused change moved the case to %s", got.Status)
				}
			})
		}
	}
}

// actor says who tries a change in the lifecycle table.
func actor(to seeking.Status) string {
	switch to {
	case seeking.StatusPublished, seeking.StatusRejected, seeking.StatusDraft:
		return "moderator"
	}
	return "reporter"
}

func move(ctx context.Context, svc *seeking.Service, rep, mod seeking.Viewer, id string, to seeking.Status) error {
	var err error
	switch to {
	case seeking.StatusInReview:
		_, err = svc.Submit(ctx, rep, id)
	case seeking.StatusPublished:
		_, err = svc.Approve(ctx, mod, id)
	case seeking.StatusRejected:
		_, err = svc.Reject(ctx, mod, id, "not enough detail")
	case seeking.StatusDraft:
		_, err = svc.Return(ctx, mod, id, "add a photo")
	default:
		_, err = svc.Resolve(ctx, rep, id, to, "")
	}
	return err
}

// P10: publishing a case is tied to a real name — an unverified account
// gets 403 real_name_required and nothing is written; staff of police or
// a rescue station may publish without; a volunteer group is not enough.
func TestSeekingWhoMayPublish(t *testing.T) {
	e := newEnv(t, seeking.Config{})
	ctx := context.Background()
	plain := e.user(identity.RoleUser)
	_, err := e.svc.CreateCase(ctx, plain, e.input(seeking.CategoryChild, 30, 120))
	wantCode(t, "unverified", err, yuncan.Forbidden, "real_name_required")
	if cs, _ := e.svc.MyCases(ctx, plain); len(cs) != 0 {
		t.Fatalf("a refused case was stored: %+v", cs)
	}
	_, err = e.svc.CreateCase(ctx, seeking.Viewer{}, e.input(seeking.CategoryChild, 30, 120))
	wantCode(t, "anonymous", err, yuncan.Unauthenticated, "")

	for _, kind := range []seeking.OrgKind{seeking.OrgPolice, seeking.OrgRescueStation} {
		staff := e.user(identity.RoleUser)
		o := e.staffOf(staff, kind)
		in := e.input(seeking.CategoryChild, 30, 120)
		in.OrgID = o.ID
		c, err := e.svc.CreateCase(ctx, staff, in)
		if err != nil {
			t.Fatalf("%s staff: %v", kind, err)
		}
		if c.Org == nil || c.Org.ID != o.ID {
			t.Fatalf("%s staff: case org %+v", kind, c.Org)
		}
		if _, err := e.svc.Submit(ctx, staff, c.ID); err != nil {
			t.Fatalf("%s staff submits: %v", kind, err)
		}
	}
	volunteer := e.user(identity.RoleUser)
	vo := e.staffOf(volunteer, seeking.OrgVolunteerGroup)
	in := e.input(seeking.CategoryChild, 30, 120)
	in.OrgID = vo.ID
	_, err = e.svc.CreateCase(ctx, volunteer, in)
	wantCode(t, "volunteer group staff, unverified", err, yuncan.Forbidden, "real_name_required")

	rep := e.reporter()
	in = e.input(seeking.CategoryChild, 30, 120)
	in.OrgID = vo.ID
	_, err = e.svc.CreateCase(ctx, rep, in)
	wantCode(t, "naming an organisation one is not staff of", err, yuncan.Forbidden, "not_org_staff")

	// A verification withdrawn after the draft began stops the submission.
	c := e.draft(rep, seeking.CategoryChild)
	if err := e.ids.DeleteRealName(ctx, rep.UserID); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Submit(ctx, rep, c.ID)
	wantCode(t, "submitting after the verification went", err, yuncan.Forbidden, "real_name_required")
}

// TestSeekingReviewRules: no one reviews their own case; an adult case
// needs a police receipt or a moderator's recorded verification; only
// moderators review.
func TestSeekingReviewRules(t *testing.T) {
	e := newEnv(t, seeking.Config{})
	ctx := context.Background()
	rep := e.reporter()
	mod := e.user(identity.RoleModerator)

	// A moderator who reports a case cannot approve, reject, return or
	// verify it.
	e.verify(mod)
	own := e.draft(mod, seeking.CategoryChild)
	if _, err := e.svc.Submit(ctx, mod, own.ID); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.Approve(ctx, mod, own.ID)
	wantCode(t, "approving one's own case", err, yuncan.Forbidden, "own_case")
	_, err = e.svc.Reject(ctx, mod, own.ID, "x")
	wantCode(t, "rejecting one's own case", err, yuncan.Forbidden, "own_case")
	_, err = e.svc.Verify(ctx, mod, own.ID, "called myself")
	wantCode(t, "verifying one's own case", err, yuncan.Forbidden, "own_case")
	// Another moderator may.
	mod2 := e.user(identity.RoleModerator)
	if _, err := e.svc.Approve(ctx, mod2, own.ID); err != nil {
		t.Fatal(err)
	}

	// An adult without a receipt waits for a verification.
	in := e.input(seeking.CategoryAdult, 30, 120)
	in.Private.PoliceReceipt = ""
	adult, err := e.svc.CreateCase(ctx, rep, in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Submit(ctx, rep, adult.ID); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Approve(ctx, mod2, adult.ID)
	wantCode(t, "an adult without receipt or verification", err, yuncan.Conflict, "verification_required")
	_, err = e.svc.Verify(ctx, mod2, adult.ID, " ")
	wantCode(t, "a verification without a note", err, yuncan.Invalid, "")
	v, err := e.svc.Verify(ctx, mod2, adult.ID, "called the family and the local station")
	if err != nil {
		t.Fatal(err)
	}
	if v.VerifiedAt.IsZero() {
		t.Fatalf("verification not shown to staff: %+v", v.Case)
	}
	if _, err := e.svc.Approve(ctx, mod2, adult.ID); err != nil {
		t.Fatalf("approving a verified adult case: %v", err)
	}
	// With a receipt, no verification is needed; "other" counts as adult.
	withReceipt := e.draft(rep, seeking.CategoryAdult)
	e.publish(withReceipt.ID, rep, mod2)
	other, err := e.svc.CreateCase(ctx, rep, e.input(seeking.CategoryOther, 30, 120))
	if err != nil {
		t.Fatal(err)
	}
	e.svc.Submit(ctx, rep, other.ID)
	_, err = e.svc.Approve(ctx, mod2, other.ID)
	wantCode(t, "category other without receipt", err, yuncan.Conflict, "verification_required")

	// Reviewing is for moderators; reasons are required.
	police := e.user(identity.RoleUser)
	e.staffOf(police, seeking.OrgPolice)
	_, err = e.svc.Approve(ctx, police, other.ID)
	wantCode(t, "police approving", err, yuncan.Forbidden, "moderator_required")
	_, err = e.svc.Approve(ctx, rep, other.ID)
	wantCode(t, "the reporter approving", err, yuncan.Forbidden, "")
	_, err = e.svc.Reject(ctx, mod2, other.ID, "")
	wantCode(t, "rejecting without a reason", err, yuncan.Invalid, "")
	r, err := e.svc.Reject(ctx, mod2, other.ID, "we could not confirm the report")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := e.svc.Case(ctx, rep, r.ID)
	if got.StatusReason != "we could not confirm the report" {
		t.Fatalf("the reporter does not see the reason: %q", got.StatusReason)
	}

	// The queue lists cases in review, oldest first, paged.
	for range 3 {
		c := e.draft(rep, seeking.CategoryChild)
		e.clock = e.clock.Add(time.Second)
		e.svc.Submit(ctx, rep, c.ID)
	}
	page, next, err := e.svc.Queue(ctx, mod2, "", 2)
	if err != nil || len(page) != 2 || next == "" {
		t.Fatalf("queue page 1: %d cases, next %q, %v", len(page), next, err)
	}
	page2, next2, err := e.svc.Queue(ctx, mod2, next, 2)
	if err != nil || len(page2) != 1 || next2 != "" || page2[0].ID == page[1].ID {
		t.Fatalf("queue page 2: %+v, next %q, %v", page2, next2, err)
	}
	_, _, err = e.svc.Queue(ctx, rep, "", 2)
	wantCode(t, "queue for a user", err, yuncan.Forbidden, "")
	_, _, err = e.svc.Queue(ctx, mod2, "garbage!", 2)
	wantCode(t, "queue with a bad cursor", err, yuncan.Invalid, "invalid_cursor")

	// Every change told the publisher what it needs.
	if len(e.pub.calls) != 3 || e.pub.calls[0] != "published "+own.ID {
		t.Fatalf("publisher calls %v", e.pub.calls)
	}
}

// P52: only the reporter, moderators and partner police see the private
// fields, and every staff read is audited; others get 404.
// P15: the public view holds the case record, never the reporter's
// contact, account or the review's workings.
func TestSeekingPrivateFields(t *testing.T) {
	e := newEnv(t, seeking.Config{})
	ctx := context.Background()
	rep, mod := e.reporter(), e.user(identity.RoleModerator)
	c := e.published(rep, mod)

	mine, err := e.svc.Case(ctx, rep, c.ID)
	if err != nil || mine.Private == nil || mine.Private.ContactPhone != "+8613700137000" || mine.Access != seeking.AccessReporter {
		t.Fatalf("the reporter's view: %+v %v", mine.Private, err)
	}
	p, err := e.svc.CasePrivate(ctx, rep, c.ID, "")
	if err != nil || p.Relationship != "father" {
		t.Fatalf("the reporter's private read: %+v %v", p, err)
	}

	stranger := e.user(identity.RoleUser)
	pub, err := e.svc.Case(ctx, stranger, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if pub.Private != nil || pub.ReporterID != "" || pub.History != nil || pub.HasPoliceReceipt || pub.Access != seeking.AccessPublic {
		t.Fatalf("the public view shows workings: %+v", pub)
	}
	_, err = e.svc.CasePrivate(ctx, stranger, c.ID, "")
	wantCode(t, "a stranger reading private fields", err, yuncan.NotFound, "")
	rescue := e.user(identity.RoleUser)
	e.staffOf(rescue, seeking.OrgRescueStation)
	_, err = e.svc.CasePrivate(ctx, rescue, c.ID, "")
	wantCode(t, "rescue station staff reading private fields", err, yuncan.NotFound, "")

	police := e.user(identity.RoleUser)
	e.staffOf(police, seeking.OrgPolice)
	for _, staff := range []seeking.Viewer{mod, police} {
		p, err := e.svc.CasePrivate(ctx, staff, c.ID, "checking the report")
		if err != nil || p.ContactPhone != "+8613700137000" {
			t.Fatalf("staff read: %+v %v", p, err)
		}
	}
	_, err = e.svc.CasePrivate(ctx, mod, c.ID, "bad\x00reason")
	wantCode(t, "a reason with control characters", err, yuncan.Invalid, "")
	admin := seeking.Viewer{UserID: "admin", Role: identity.RoleAdmin}
	all, err := e.svc.AuditEventsFor(ctx, admin, "case", c.ID)
	if err != nil {
		t.Fatal(err)
	}
	// P52: the moderator's approval is logged too, before the reads.
	if all[0].Action != seeking.AuditCaseApprove || all[0].ActorID != mod.UserID || all[0].ActorRole != identity.RoleModerator {
		t.Fatalf("audit log %+v, want the approval first", all)
	}
	log := reads(all)
	if len(log) != 2 || log[0].ActorID != mod.UserID || log[1].ActorID != police.UserID ||
		log[0].Action != seeking.AuditCasePrivateRead || log[0].Reason != "checking the report" {
		t.Fatalf("audit log %+v, want one record per staff read and none for the reporter", log)
	}

	// Staff see a case in review (not a fresh draft); the public does not.
	inReview := e.draft(rep, seeking.CategoryChild)
	_, err = e.svc.Case(ctx, mod, inReview.ID)
	wantCode(t, "a moderator viewing a fresh draft", err, yuncan.NotFound, "")
	e.svc.Submit(ctx, rep, inReview.ID)
	if v, err := e.svc.Case(ctx, police, inReview.ID); err != nil || v.Access != seeking.AccessStaff || v.Private != nil {
		t.Fatalf("police view of a case in review: %+v %v", v.Access, err)
	}
	_, err = e.svc.Case(ctx, stranger, inReview.ID)
	wantCode(t, "the public viewing a case in review", err, yuncan.NotFound, "")
	_, err = e.svc.Case(ctx, seeking.Viewer{}, inReview.ID)
	wantCode(t, "anonymous viewing a case in review", err, yuncan.NotFound, "")
}

// P15: a resolved case keeps only its status in public view (no name,
// photo or place); found_safe_private hides it altogether, clues and
// threads included; the reporter and staff still see it.
func TestSeekingResolutionHides(t *testing.T) {
	e := newEnv(t, seeking.Config{})
	ctx := context.Background()
	rep, mod, giver := e.reporter(), e.user(identity.RoleModerator), e.user(identity.RoleUser)

	c := e.draft(rep, seeking.CategoryChild)
	if _, err := e.svc.AddCasePhoto(ctx, rep, c.ID, bytes.NewReader(pngBytes(t))); err != nil {
		t.Fatal(err)
	}
	e.publish(c.ID, rep, mod)
	key := mustCase(t, e, seeking.Viewer{}, c.ID).Photos[0].Key
	if f, err := e.svc.OpenCasePhoto(ctx, seeking.Viewer{}, key); err != nil || !f.Public {
		t.Fatalf("photo of a published case: %v", err)
	} else {
		f.Close()
	}
	cl, err := e.svc.AddClue(ctx, giver, c.ID, seeking.ClueInput{Text: "seen at the station"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Resolve(ctx, rep, c.ID, seeking.StatusFoundSafe, "home"); err != nil {
		t.Fatal(err)
	}
	red := mustCase(t, e, seeking.Viewer{}, c.ID)
	if !red.Redacted() || red.Person.FullName != "" || len(red.Photos) != 0 || red.LastSeen.PlaceName != "" || red.Person.Description != "" {
		t.Fatalf("the public view of a resolved case: %+v", red)
	}
	_, err = e.svc.OpenCasePhoto(ctx, seeking.Viewer{}, key)
	wantCode(t, "the photo of a resolved case", err, yuncan.NotFound, "")
	if f, err := e.svc.OpenCasePhoto(ctx, rep, key); err != nil || f.Public {
		t.Fatalf("the reporter's photo of a resolved case: %v", err)
	} else {
		f.Close()
	}
	_, err = e.svc.AddClue(ctx, giver, c.ID, seeking.ClueInput{Text: "more"})
	wantCode(t, "a clue on a resolved case", err, yuncan.Conflict, "case_closed")
	if _, err := e.svc.Clue(ctx, giver, c.ID, cl.ID, ""); err != nil {
		t.Fatalf("the giver's own clue on a resolved case: %v", err)
	}

	// The person asks not to be contacted.
	if _, err := e.svc.Resolve(ctx, rep, c.ID, seeking.StatusFoundSafePrivate, ""); err != nil {
		t.Fatal(err)
	}
	for _, v := range []seeking.Viewer{{}, giver} {
		_, err = e.svc.Case(ctx, v, c.ID)
		wantCode(t, "a found_safe_private case", err, yuncan.NotFound, "")
	}
	_, err = e.svc.Clue(ctx, giver, c.ID, cl.ID, "")
	wantCode(t, "the giver's clue on a found_safe_private case", err, yuncan.NotFound, "")
	_, err = e.svc.Messages(ctx, giver, c.ID, cl.ID, "")
	wantCode(t, "the giver's thread on a found_safe_private case", err, yuncan.NotFound, "")
	if v := mustCase(t, e, rep, c.ID); v.Status != seeking.StatusFoundSafePrivate || v.Person.FullName == "" {
		t.Fatalf("the reporter's view: %+v", v.Case)
	}
	if v := mustCase(t, e, mod, c.ID); v.Access != seeking.AccessStaff {
		t.Fatalf("the moderator's view: %v", v.Access)
	}
	want := []string{"published " + c.ID, "resolved " + c.ID + " found_safe", "resolved " + c.ID + " found_safe_private"}
	if fmt.Sprint(e.pub.calls) != fmt.Sprint(want) {
		t.Fatalf("publisher calls %v, want %v", e.pub.calls, want)
	}

	// Withdrawing before publication leaves nothing public, not even a
	// redacted stub.
	d := e.draft(rep, seeking.CategoryChild)
	e.svc.Resolve(ctx, rep, d.ID, seeking.StatusWithdrawn, "")
	_, err = e.svc.Case(ctx, seeking.Viewer{}, d.ID)
	wantCode(t, "a withdrawn draft", err, yuncan.NotFound, "")
}

func mustCase(t *testing.T, e *env, v seeking.Viewer, id string) seeking.CaseView {
	t.Helper()
	c, err := e.svc.Case(context.Background(), v, id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSeekingClueVisibility: the reporter, moderators and partner police
// see every clue (staff reads audited); a giver sees their own; anyone
// else sees none of them.
func TestSeekingClueVisibility(t *testing.T) {
	e := newEnv(t, seeking.Config{})
	ctx := context.Background()
	rep, mod := e.reporter(), e.user(identity.RoleModerator)
	c := e.published(rep, mod)
	g1, g2 := e.user(identity.RoleUser), e.user(identity.RoleUser)
	c1, err := e.svc.AddClue(ctx, g1, c.ID, seeking.ClueInput{Text: "saw him", Lat: fp(30.26), Lng: fp(120.16), PlaceName: "车站",
		SeenAt: e.clock.Add(-10 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if c1.Point == nil || c1.PlaceName != "车站" || c1.Source != seeking.SourceTyped || !c1.Mine {
		t.Fatalf("clue as sent: %+v", c1)
	}
	c2, err := e.svc.AddClue(ctx, g2, c.ID, seeking.ClueInput{Text: "maybe near the lake"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.AddClue(ctx, rep, c.ID, seeking.ClueInput{Text: "x"})
	wantCode(t, "the reporter sending a clue", err, yuncan.Forbidden, "own_case")

	count := func(v seeking.Viewer) int {
		cs, err := e.svc.Clues(ctx, v, c.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		return len(cs)
	}
	police := e.user(identity.RoleUser)
	e.staffOf(police, seeking.OrgPolice)
	if count(rep) != 2 || count(mod) != 2 || count(police) != 2 || count(g1) != 1 || count(e.user(identity.RoleUser)) != 0 {
		t.Fatal("clue visibility is wrong")
	}
	_, err = e.svc.Clue(ctx, g1, c.ID, c2.ID, "")
	wantCode(t, "another giver's clue", err, yuncan.NotFound, "")
	_, err = e.svc.Clues(ctx, seeking.Viewer{}, c.ID, "")
	wantCode(t, "anonymous", err, yuncan.Unauthenticated, "")
	cs, _ := e.svc.Clues(ctx, rep, c.ID, "")
	for _, cv := range cs {
		if cv.Staff {
			t.Fatal("the reporter is shown clue authors")
		}
	}
	all, _ := e.svc.AuditEventsFor(ctx, seeking.Viewer{Role: identity.RoleAdmin}, "case", c.ID)
	if log := reads(all); len(log) != 2 || log[0].Action != seeking.AuditCluesRead {
		t.Fatalf("audit of staff clue reads: %+v", all)
	}

	// P05: a position from the device needs the precise_location
	// consent; without it 403 and nothing is stored.
	_, err = e.svc.AddClue(ctx, g1, c.ID, seeking.ClueInput{Text: "here now", Lat: fp(30.3), Lng: fp(120.2), Source: seeking.SourceDevice})
	wantCode(t, "a device position without consent", err, yuncan.Forbidden, "consent_required")
	if err := e.cs.Grant(ctx, consent.User(g1.UserID), consent.PurposePreciseLocation, consent.ChannelAPI); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.AddClue(ctx, g1, c.ID, seeking.ClueInput{Text: "here now", Lat: fp(30.3), Lng: fp(120.2), Source: seeking.SourceDevice}); err != nil {
		t.Fatalf("a device position with consent: %v", err)
	}

	// Staff review; a verified clue is a new centre for alerts.
	_, err = e.svc.ReviewClue(ctx, g1, c.ID, c1.ID, seeking.ClueVerified, "")
	wantCode(t, "a giver reviewing their own clue", err, yuncan.Forbidden, "staff_required")
	_, err = e.svc.ReviewClue(ctx, rep, c.ID, c1.ID, seeking.ClueVerified, "")
	wantCode(t, "the reporter reviewing", err, yuncan.Forbidden, "staff_required")
	v, err := e.svc.ReviewClue(ctx, police, c.ID, c1.ID, seeking.ClueVerified, "confirmed on camera")
	if err != nil || v.Status != seeking.ClueVerified {
		t.Fatalf("police verifying a clue: %+v %v", v, err)
	}
	if last := e.pub.calls[len(e.pub.calls)-1]; last != "clue "+c.ID+" "+c1.ID {
		t.Fatalf("publisher not told of the verified clue: %v", e.pub.calls)
	}
}

// TestSeekingRelayMasking: the reporter and a giver talk through the
// platform; neither sees the other's phone or account id; strangers get
// 404. P52: staff read threads (audited) but do not write.
func TestSeekingRelayMasking(t *testing.T) {
	e := newEnv(t, seeking.Config{})
	ctx := context.Background()
	rep, mod, giver := e.reporter(), e.user(identity.RoleModerator), e.user(identity.RoleUser)
	c := e.published(rep, mod)
	cl, err := e.svc.AddClue(ctx, giver, c.ID, seeking.ClueInput{Text: "saw him"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SendMessage(ctx, giver, c.ID, cl.ID, "he wore a red coat"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SendMessage(ctx, rep, c.ID, cl.ID, "thank you, where exactly?"); err != nil {
		t.Fatal(err)
	}
	// A second clue by the same giver reaches the same thread.
	cl2, _ := e.svc.AddClue(ctx, giver, c.ID, seeking.ClueInput{Text: "again"})
	for _, v := range []seeking.Viewer{rep, giver} {
		ms, err := e.svc.Messages(ctx, v, c.ID, cl2.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 2 || ms[0].From != seeking.PartyClueGiver || ms[1].From != seeking.PartyReporter {
			t.Fatalf("thread %+v", ms)
		}
		if ms[0].Mine == (v == rep) || ms[1].Mine != (v == rep) {
			t.Fatalf("mine flags wrong for %v: %+v", v, ms)
		}
	}
	_, err = e.svc.Messages(ctx, e.user(identity.RoleUser), c.ID, cl.ID, "")
	wantCode(t, "a stranger reading a thread", err, yuncan.NotFound, "")
	_, err = e.svc.SendMessage(ctx, mod, c.ID, cl.ID, "staff here")
	wantCode(t, "staff writing in a thread", err, yuncan.Forbidden, "not_participant")
	if _, err := e.svc.Messages(ctx, mod, c.ID, cl.ID, "abuse report"); err != nil {
		t.Fatal(err)
	}
	log, _ := e.svc.AuditEventsFor(ctx, seeking.Viewer{Role: identity.RoleAdmin}, "clue", cl.ID)
	if len(log) != 1 || log[0].Action != seeking.AuditRelayRead || log[0].Reason != "abuse report" {
		t.Fatalf("audit of the staff thread read: %+v", log)
	}
	_, err = e.svc.SendMessage(ctx, giver, c.ID, cl.ID, "  ")
	wantCode(t, "an empty message", err, yuncan.Invalid, "")
}

// TestSeekingRateLimits: clue floods are limited per account, hourly and
// daily, with a Retry-After of when the oldest counted clue leaves the
// window; nothing is written when refused.
func TestSeekingRateLimits(t *testing.T) {
	e := newEnv(t, seeking.Config{CluesPerHour: 3, CluesPerDay: 5, MessagesPerHour: 2})
	ctx := context.Background()
	rep, mod, giver := e.reporter(), e.user(identity.RoleModerator), e.user(identity.RoleUser)
	c := e.published(rep, mod)
	send := func() error {
		_, err := e.svc.AddClue(ctx, giver, c.ID, seeking.ClueInput{Text: "clue"})
		return err
	}
	start := e.clock
	for i := range 3 {
		if err := send(); err != nil {
			t.Fatalf("clue %d: %v", i, err)
		}
		e.clock = e.clock.Add(time.Minute)
	}
	err := send()
	wantCode(t, "the fourth clue in an hour", err, yuncan.RateLimited, "rate_limited")
	if ra := yuncan.AsError(err).RetryAfter; ra < 56*time.Minute || ra > 58*time.Minute {
		t.Fatalf("Retry-After %v, want about 57 minutes", ra)
	}
	e.clock = start.Add(time.Hour + 3*time.Minute)
	for i := range 2 {
		if err := send(); err != nil {
			t.Fatalf("clue %d after an hour: %v", i, err)
		}
	}
	e.clock = start.Add(3 * time.Hour)
	err = send()
	wantCode(t, "the sixth clue in a day", err, yuncan.RateLimited, "rate_limited")
	if ra := yuncan.AsError(err).RetryAfter; ra < 20*time.Hour || ra > 21*time.Hour+time.Minute {
		t.Fatalf("Retry-After %v, want about 21 hours", ra)
	}
	cs, _ := e.svc.Clues(ctx, giver, c.ID, "")
	if len(cs) != 5 {
		t.Fatalf("%d clues stored, want 5", len(cs))
	}
	// Another account is not affected.
	if _, err := e.svc.AddClue(ctx, e.user(identity.RoleUser), c.ID, seeking.ClueInput{Text: "clue"}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := e.svc.SendMessage(ctx, giver, c.ID, cs[0].ID, "hello"); err != nil {
			t.Fatal(err)
		}
	}
	_, err = e.svc.SendMessage(ctx, giver, c.ID, cs[0].ID, "hello")
	wantCode(t, "a message flood", err, yuncan.RateLimited, "rate_limited")
}

// TestSeekingNear: cases near a point, nearest first, paged; resolved
// and unpublished cases are not listed; bad input is refused.
func TestSeekingNear(t *testing.T) {
	e := newEnv(t, seeking.Config{})
	ctx := context.Background()
	rep, mod := e.reporter(), e.user(identity.RoleModerator)
	// Beijing area: 0, ~11, ~22, ~111 km north of the centre, and one
	// across the antimeridian far away.
	var want []string
	for _, dlat := range []float64{0.2, 0, 0.1, 1.0} {
		c, err := e.svc.CreateCase(ctx, rep, e.input(seeking.CategoryChild, 39.9+dlat, 116.4))
		if err != nil {
			t.Fatal(err)
		}
		e.publish(c.ID, rep, mod)
		want = append(want, c.ID)
	}
	hidden, _ := e.svc.CreateCase(ctx, rep, e.input(seeking.CategoryChild, 39.9, 116.4)) // a draft
	resolved, _ := e.svc.CreateCase(ctx, rep, e.input(seeking.CategoryChild, 39.9, 116.4))
	e.publish(resolved.ID, rep, mod)
	e.svc.Resolve(ctx, rep, resolved.ID, seeking.StatusFoundSafe, "")

	all, next, err := e.svc.Near(ctx, 39.9, 116.4, 50, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if next != "" || len(all) != 3 || all[0].ID != want[1] || all[1].ID != want[2] || all[2].ID != want[0] {
		t.Fatalf("near: %v", nearIDs(all))
	}
	if all[0].DistanceKm != 0 || math.Abs(all[1].DistanceKm-11.1) > 0.2 || all[0].Access != seeking.AccessPublic || all[0].ReporterID != "" {
		t.Fatalf("near: distances %v %v, access %v", all[0].DistanceKm, all[1].DistanceKm, all[0].Access)
	}
	for _, n := range all {
		if n.ID == hidden.ID || n.ID == resolved.ID {
			t.Fatal("an unpublished or resolved case is listed")
		}
	}
	p1, next, err := e.svc.Near(ctx, 39.9, 116.4, 200, "", 2)
	if err != nil || len(p1) != 2 || next == "" {
		t.Fatalf("page 1: %v %q %v", nearIDs(p1), next, err)
	}
	p2, next2, err := e.svc.Near(ctx, 39.9, 116.4, 200, next, 2)
	if err != nil || len(p2) != 2 || next2 != "" || p2[0].ID != want[0] || p2[1].ID != want[3] {
		t.Fatalf("page 2: %v %q %v", nearIDs(p2), next2, err)
	}
	for _, tc := range []struct {
		lat, lng, r float64
		limit       int
		cursor      string
		field       string
	}{
		{math.NaN(), 116, 10, 10, "", "lat"},
		{39, math.Inf(-1), 10, 10, "", "lng"},
		{91, 116, 10, 10, "", "lat"},
		{39, 116, 0, 10, "", "radius_km"},
		{39, 116, -5, 10, "", "radius_km"},
		{39, 116, 1001, 10, "", "radius_km"},
		{39, 116, math.NaN(), 10, "", "radius_km"},
		{39, 116, 10, 0, "", "limit"},
		{39, 116, 10, 101, "", "limit"},
		{39, 116, 10, 10, "%%%", "cursor"},
	} {
		_, _, err := e.svc.Near(ctx, tc.lat, tc.lng, tc.r, tc.cursor, tc.limit)
		if yuncan.ErrorCode(err) != yuncan.Invalid || yuncan.AsError(err).Fields[tc.field] == "" {
			t.Errorf("Near(%v,%v,%v,%d,%q) = %v, want invalid %s", tc.lat, tc.lng, tc.r, tc.limit, tc.cursor, err, tc.field)
		}
	}
	feed, err := e.svc.Feed(ctx, &seeking.Box{MinLat: 39.8, MaxLat: 40.05, MinLng: 116, MaxLng: 117})
	if err != nil || len(feed) != 2 {
		t.Fatalf("feed in a box: %d cases, %v", len(feed), err)
	}
}

func nearIDs(ns []seeking.Nearby) []string {
	var out []string
	for _, n := range ns {
		out = append(out, fmt.Sprintf("%s@%.1f", n.ID, n.DistanceKm))
	}
	return out
}

// TestSeekingEditsAndPhotos: only the reporter edits, only drafts; photos
// are stripped and limited.
func TestSeekingEditsAndPhotos(t *testing.T) {
	e := newEnv(t, seeking.Config{MaxCasePhotos: 2})
	ctx := context.Background()
	rep, mod := e.reporter(), e.user(identity.RoleModerator)
	c := e.draft(rep, seeking.CategoryChild)
	in := e.input(seeking.CategoryElder, 31, 121)
	in.Person.FullName = "王大明"
	u, err := e.svc.UpdateCase(ctx, rep, c.ID, in)
	if err != nil || u.Person.FullName != "王大明" || u.Category != seeking.CategoryElder || u.LastSeen.Lat != 31 {
		t.Fatalf("update: %+v %v", u.Case, err)
	}
	_, err = e.svc.UpdateCase(ctx, e.reporter(), c.ID, in)
	wantCode(t, "someone else editing a draft", err, yuncan.NotFound, "")
	bad := in
	bad.LastSeen.At = e.clock.Add(24 * time.Hour)
	_, err = e.svc.UpdateCase(ctx, rep, c.ID, bad)
	wantCode(t, "an edit seen in the future", err, yuncan.Invalid, "")
	_, err = e.svc.AddCasePhoto(ctx, rep, c.ID, bytes.NewReader([]byte("not an image")))
	wantCode(t, "a fake image", err, yuncan.UnsupportedMedia, "unsupported_image_type")
	for range 2 {
		if _, err := e.svc.AddCasePhoto(ctx, rep, c.ID, bytes.NewReader(pngBytes(t))); err != nil {
			t.Fatal(err)
		}
	}
	_, err = e.svc.AddCasePhoto(ctx, rep, c.ID, bytes.NewReader(pngBytes(t)))
	wantCode(t, "a third photo", err, yuncan.Conflict, "too_many_photos")
	v := mustCase(t, e, rep, c.ID)
	if err := e.svc.DeleteCasePhoto(ctx, rep, c.ID, v.Photos[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.media.Open(ctx, v.Photos[0].Key); yuncan.ErrorCode(err) != yuncan.NotFound {
		t.Fatalf("the photo file stayed: %v", err)
	}
	e.publish(c.ID, rep, mod)
	_, err = e.svc.UpdateCase(ctx, rep, c.ID, in)
	wantCode(t, "editing a published case", err, yuncan.Conflict, "not_editable")
	_, err = e.svc.AddCasePhoto(ctx, rep, c.ID, bytes.NewReader(pngBytes(t)))
	wantCode(t, "a photo on a published case", err, yuncan.Conflict, "not_editable")
	// The public sees the published photo.
	if f, err := e.svc.OpenCasePhoto(ctx, seeking.Viewer{}, v.Photos[1].Key); err != nil {
		t.Fatal(err)
	} else {
		f.Close()
	}
	_, err = e.svc.OpenCasePhoto(ctx, seeking.Viewer{}, "avatars/x.jpg")
	wantCode(t, "not a case photo", err, yuncan.NotFound, "")
}

// TestSeekingOrgs: admins manage partner organisations.
func TestSeekingOrgs(t *testing.T) {
	e := newEnv(t, seeking.Config{})
	ctx := context.Background()
	admin := seeking.Viewer{UserID: "admin", Role: identity.RoleAdmin}
	_, err := e.svc.CreateOrg(ctx, e.user(identity.RoleModerator), "x", seeking.OrgPolice)
	wantCode(t, "a moderator creating an organisation", err, yuncan.Forbidden, "admin_required")
	_, err = e.svc.CreateOrg(ctx, admin, "x", "army")
	wantCode(t, "an unknown kind", err, yuncan.Invalid, "")
	o, err := e.svc.CreateOrg(ctx, admin, "西湖派出所", seeking.OrgPolice)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.CreateOrg(ctx, admin, "西湖派出所", seeking.OrgPolice)
	wantCode(t, "a name in use", err, yuncan.Conflict, "org_exists")
	u := e.user(identity.RoleUser)
	if _, err := e.svc.AddStaff(ctx, admin, o.ID, u.UserID); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.AddStaff(ctx, admin, o.ID, u.UserID)
	wantCode(t, "staff twice", err, yuncan.Conflict, "already_staff")
	_, err = e.svc.AddStaff(ctx, admin, o.ID, "nobody")
	wantCode(t, "staff who is nobody", err, yuncan.Invalid, "unknown_user")
	_, err = e.svc.AddStaff(ctx, admin, "no-org", u.UserID)
	wantCode(t, "staff of nothing", err, yuncan.NotFound, "")
	if err := e.svc.RemoveStaff(ctx, admin, o.ID, u.UserID); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "removing twice", e.svc.RemoveStaff(ctx, admin, o.ID, u.UserID), yuncan.NotFound, "")
}

func pngBytes(t *testing.T) []byte {
	t.Helper()
	m := image.NewNRGBA(image.Rect(0, 0, 16, 16))
	for y := range 16 {
		for x := range 16 {
			m.Set(x, y, color.NRGBA{uint8(x * 16), uint8(y * 16), 0, 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, m); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// reads keeps the staff reads of an audit trail (P52), without the
// staff actions.
func reads(es []audit.Entry) []audit.Entry {
	var out []audit.Entry
	for _, e := range es {
		if strings.HasSuffix(e.Action, ".read") {
			out = append(out, e)
		}
	}
	return out
}
