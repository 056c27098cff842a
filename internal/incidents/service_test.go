package incidents_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/audit"
	"github.com/yuncan/yuncan/internal/identity"
	"github.com/yuncan/yuncan/internal/incidents"
	"github.com/yuncan/yuncan/internal/keyring"
	"github.com/yuncan/yuncan/internal/notify"
	"github.com/yuncan/yuncan/internal/sqlstore"
	"github.com/yuncan/yuncan/internal/storetest"
)

// env is the incidents service on a real SQLite database, with the real
// inbox and dispatcher, a push service that records what it is asked to
// push (the outside world), and a clock the test moves.
type env struct {
	t      *testing.T
	db     *sqlstore.DB
	ids    *identity.Service
	inbox  *notify.Inbox
	push   *notify.Dispatcher
	pushed *pushLog
	audit  *audit.Log
	svc    *incidents.Service
	cfg    incidents.Config
	mu     sync.Mutex
	clock  time.Time
}

func (e *env) now() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.clock
}

func (e *env) advance(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.clock = e.clock.Add(d)
}

// pushLog is the domestic push service of the tests: it records each push
// by device.
type pushLog struct {
	mu  sync.Mutex
	got map[string][]notify.Payload
}

func (p *pushLog) Push(_ context.Context, t notify.Target, pl notify.Payload) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.got[t.DeviceID] = append(p.got[t.DeviceID], pl)
	return nil
}

func (p *pushLog) to(deviceID string) []notify.Payload {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.got[deviceID]
}

func newEnv(t *testing.T, cfg incidents.Config) *env {
	t.Helper()
	db := storetest.Open(t, storetest.Targets(t)[0])
	keys, err := keyring.New()
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, db: db, cfg: cfg, clock: time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC), pushed: &pushLog{got: map[string][]notify.Payload{}}}
	e.ids = identity.NewService(db.Identity(), keys, notify.NewOutbox(filepath.Join(t.TempDir(), "sms.jsonl"), nil),
		func() string { return "2021-05-01" }, e.now, identity.Config{})
	e.inbox = notify.NewInbox(db.Notify(), notify.InboxConfig{}, e.now)
	// No marketing gate at all (nil refuses every marketing push): a
	// security notice must go out regardless (P60).
	e.push = notify.NewDispatcher(e.inbox, map[notify.Channel]notify.Pusher{notify.ChannelFCM: e.pushed}, notify.DispatcherConfig{}, nil)
	e.audit = audit.NewLog(db.Audit(), e.now)
	e.svc = e.service(e.push)
	return e
}

// service is a fresh service over the same database: a restarted
// process.
func (e *env) service(n incidents.Notifier) *incidents.Service {
	return incidents.NewService(incidents.Deps{Store: e.db.Incidents(), Notifier: n, Audit: e.audit, Now: e.now,
		Logger: slog.New(slog.DiscardHandler)}, e.cfg)
}

var phoneSeq atomic.Int64

// person is an account with an Android device that has a push token.
type person struct {
	actor  incidents.Actor
	device string
}

func (e *env) person(role identity.Role) person {
	e.t.Helper()
	ctx := context.Background()
	u, err := e.ids.CreateUser(ctx, fmt.Sprintf("137%08d", phoneSeq.Add(1)), role)
	if err != nil {
		e.t.Fatal(err)
	}
	d, _, err := e.ids.RegisterDevice(ctx, identity.DeviceInfo{Platform: "android", PushToken: "fcm-" + u.ID}, u.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return person{actor: incidents.ActorOf(u), device: d.ID}
}

// notices lists the security notices in the person's inbox.
func (e *env) notices(p person) []notify.Notification {
	e.t.Helper()
	pg, err := e.inbox.List(context.Background(), notify.User(p.actor.UserID), "", 100)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []notify.Notification
	for _, n := range pg.Items {
		if n.Kind == notify.KindSecurity {
			out = append(out, n)
		}
	}
	return out
}

var zh = incidents.Text{Lang: incidents.LangZH, WhatHappened: "3 月 1 日一台备份服务器被公开访问约 3 小时。",
	Impact: "您的手机号和昵称可能被他人获取。", Measures: "已关闭访问、更换密钥，并向公安机关报案。",
	Advice: "警惕冒充客服的来电和短信，不要透露验证码。", Remedies: "我们为受影响用户免费提供 12 个月的号码保护服务。"}

var en = incidents.Text{Lang: incidents.LangEN, WhatHappened: "On 1 March a backup server was open to the public for about 3 hours.",
	Impact: "Your phone number and nickname may have been obtained by others.", Measures: "We closed access, rotated keys and reported it to the police.",
	Advice: "Beware of calls and texts pretending to be us; never give out a code.", Remedies: "Affected users get 12 months of free number protection."}

func (e *env) input(affected incidents.Affected) incidents.Input {
	return incidents.Input{Severity: incidents.SeverityHigh, OccurredAt: e.now().Add(-26 * time.Hour),
		DiscoveredAt: e.now().Add(-2 * time.Hour), Texts: []incidents.Text{en, zh}, Affected: affected}
}

func (e *env) declare(a incidents.Actor, in incidents.Input) incidents.Incident {
	e.t.Helper()
	i, err := e.svc.Declare(context.Background(), a, in)
	if err != nil {
		e.t.Fatalf("Declare: %v", err)
	}
	return i
}

func (e *env) notify(svc *incidents.Service) {
	e.t.Helper()
	if err := svc.Notify(context.Background()); err != nil {
		e.t.Fatalf("Notify: %v", err)
	}
}

// hasFive checks that a notice holds all five elements of t in full,
// each after its label.
func hasFive(t *testing.T, what, body string, tx incidents.Text) {
	t.Helper()
	for i, el := range tx.Elements() {
		if !strings.Contains(body, incidents.Label(tx.Lang, i)) || !strings.Contains(body, el.Value) {
			t.Errorf("%s lacks element %s (%s): %q", what, el.Field, incidents.Label(tx.Lang, i), body)
		}
	}
}

func wantCode(t *testing.T, what string, err error, code yuncan.Code, reason string) {
	t.Helper()
	if yuncan.ErrorCode(err) != code || (reason != "" && yuncan.ErrorReason(err) != reason) {
		t.Fatalf("%s: %v; want %s %s", what, err, code, reason)
	}
}

// P54: each notice carries the five elements, and the notices reach only
// the affected accounts — in the inbox and on their devices; a regulator
// report record is created at declaration.
func TestDeclareTellsOnlyTheAffected(t *testing.T) {
	e := newEnv(t, incidents.Config{BatchSize: 2})
	ctx := context.Background()
	admin := e.person(identity.RoleAdmin)
	a, b, c, bystander := e.person(identity.RoleUser), e.person(identity.RoleUser), e.person(identity.RoleUser), e.person(identity.RoleUser)
	in := e.input(incidents.Affected{UserIDs: []string{a.actor.UserID, c.actor.UserID, b.actor.UserID, a.actor.UserID}})
	i := e.declare(admin.actor, in)
	if i.Status != incidents.StatusDeclared || i.AffectedAll || i.AnnouncementID != "" || i.DeclaredBy != admin.actor.UserID ||
		i.Progress != (incidents.Progress{Affected: 3, Pending: 3}) || len(i.Texts) != 2 || i.Texts[0].Lang != incidents.LangZH {
		t.Fatalf("declared: %+v", i)
	}
	// P54: the regulator report record exists from the declaration on.
	rep := i.Report
	if rep.Authority != incidents.DefaultAuthority || rep.Submitted() || !rep.CreatedAt.Equal(e.now()) ||
		!strings.Contains(rep.Facts, "重大") || !strings.Contains(rep.Facts, "3 个账号") || !strings.Contains(rep.Facts, zh.Measures) {
		t.Errorf("regulator report record: %+v", rep)
	}
	// Nobody is told before the job runs; the job tells everyone listed.
	if len(e.notices(a)) != 0 {
		t.Fatal("told before the job ran")
	}
	e.notify(e.svc)
	for name, p := range map[string]person{"a": a, "b": b, "c": c} {
		ns := e.notices(p)
		if len(ns) != 1 {
			t.Fatalf("%s has %d notices, want 1", name, len(ns))
		}
		n := ns[0]
		// P54: all five elements, in full, in Chinese.
		hasFive(t, name+"'s notice", n.Body, zh)
		if n.Title != "个人信息安全事件告知" || n.Data.Link != "" {
			t.Errorf("%s's notice: %+v", name, n)
		}
		pushes := e.pushed.to(p.device)
		if len(pushes) != 1 || pushes[0].Kind != notify.KindSecurity || pushes[0].Urgency != notify.UrgencyHigh {
			t.Errorf("%s's device got %+v", name, pushes)
		} else {
			hasFive(t, name+"'s push", pushes[0].Body, zh)
		}
	}
	// P54: only the affected: the bystander and the admin got nothing.
	for name, p := range map[string]person{"bystander": bystander, "admin": admin} {
		if n := e.notices(p); len(n) != 0 || len(e.pushed.to(p.device)) != 0 {
			t.Errorf("%s was told: %v", name, n)
		}
	}
	got, err := e.svc.Get(ctx, admin.actor, i.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != incidents.StatusNotified || got.Progress != (incidents.Progress{Affected: 3, Notified: 3, Done: true}) ||
		!got.NotifiedAt.Equal(e.now()) {
		t.Errorf("after the job: %+v", got)
	}
	// Running the job again tells nobody twice.
	e.notify(e.svc)
	if n := e.notices(a); len(n) != 1 || len(e.pushed.to(a.device)) != 1 {
		t.Errorf("a second run told again: %d notices", len(n))
	}
	// P52: the declaration is in the audit log, with who and the scale.
	p, err := e.audit.Entries(ctx, audit.Filter{TargetKind: "incident", TargetID: i.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Entries) != 1 || p.Entries[0].Action != incidents.AuditDeclare || p.Entries[0].ActorID != admin.actor.UserID ||
		p.Entries[0].Reason != "high, 3 accounts" {
		t.Errorf("audit: %+v", p.Entries)
	}
}

// P54: when everyone is affected, an announcement is published at once,
// and every account there was at declaration is told, with a link to it.
func TestDeclareEveryonePublishesAnAnnouncement(t *testing.T) {
	e := newEnv(t, incidents.Config{BatchSize: 2})
	ctx := context.Background()
	admin := e.person(identity.RoleAdmin)
	people := []person{admin, e.person(identity.RoleUser), e.person(identity.RoleModerator), e.person(identity.RoleUser)}
	in := e.input(incidents.Affected{All: true})
	in.Texts = []incidents.Text{en}
	in.Authority = "北京市互联网信息办公室"
	e.advance(time.Second)
	i := e.declare(admin.actor, in)
	e.advance(time.Second)
	late := e.person(identity.RoleUser)
	if !i.AffectedAll || i.AnnouncementID == "" || i.Progress.Affected != 4 || i.Report.Authority != "北京市互联网信息办公室" ||
		!strings.Contains(i.Report.Facts, "全体用户") {
		t.Fatalf("declared: %+v", i)
	}
	// The announcement is public before anyone is told one by one.
	anns, next, err := e.svc.Announcements(ctx, "", 0)
	if err != nil || next != "" || len(anns) != 1 || anns[0].ID != i.AnnouncementID || anns[0].IncidentID != i.ID {
		t.Fatalf("announcements: %+v %q %v", anns, next, err)
	}
	a, err := e.svc.Announcement(ctx, i.AnnouncementID)
	if err != nil {
		t.Fatal(err)
	}
	// English only: the Chinese page falls back to it.
	if tx := a.Text(incidents.LangZH); tx != en || a.Severity != incidents.SeverityHigh {
		t.Errorf("announcement: %+v", a)
	}
	e.notify(e.svc)
	for k, p := range people {
		ns := e.notices(p)
		if len(ns) != 1 {
			t.Fatalf("account %d has %d notices", k, len(ns))
		}
		hasFive(t, "notice", ns[0].Body, en)
		if ns[0].Data.Link != incidents.AnnouncementLink(i.AnnouncementID) || ns[0].Title != "Notice of a personal information security incident" {
			t.Errorf("notice: %+v", ns[0])
		}
	}
	// Not affected: the account opened after the declaration.
	if n := e.notices(late); len(n) != 0 {
		t.Errorf("an account opened later was told")
	}
	got, err := e.svc.Get(ctx, admin.actor, i.ID)
	if err != nil || got.Progress != (incidents.Progress{Affected: 4, Notified: 4, Done: true}) {
		t.Errorf("progress: %+v, %v", got.Progress, err)
	}
	_, err = e.svc.Announcement(ctx, "nope")
	wantCode(t, "an unknown announcement", err, yuncan.NotFound, "")
	_, _, err = e.svc.Announcements(ctx, "garbage", 0)
	wantCode(t, "a bad cursor", err, yuncan.Invalid, "")
}

// Bad input is refused with the field named, and stores nothing, tells
// nobody and writes no audit entry; only admins declare.
func TestDeclareRefusesBadInput(t *testing.T) {
	e := newEnv(t, incidents.Config{})
	ctx := context.Background()
	admin, mod, p := e.person(identity.RoleAdmin), e.person(identity.RoleModerator), e.person(identity.RoleUser)
	valid := func() incidents.Input { return e.input(incidents.Affected{UserIDs: []string{p.actor.UserID}}) }
	long := strings.Repeat("长", incidents.MaxElement+1)
	for _, tc := range []struct {
		name  string
		edit  func(*incidents.Input)
		field string
	}{
		{"no severity", func(in *incidents.Input) { in.Severity = "" }, "severity"},
		{"unknown severity", func(in *incidents.Input) { in.Severity = "apocalyptic" }, "severity"},
		{"no occurrence", func(in *incidents.Input) { in.OccurredAt = time.Time{} }, "occurred_at"},
		{"occurs in the future", func(in *incidents.Input) { in.OccurredAt = e.now().Add(time.Hour) }, "occurred_at"},
		{"found before it occurred", func(in *incidents.Input) { in.DiscoveredAt = in.OccurredAt.Add(-time.Hour) }, "discovered_at"},
		{"no texts", func(in *incidents.Input) { in.Texts = nil }, "texts"},
		{"missing what happened", func(in *incidents.Input) { in.Texts[0].WhatHappened = " " }, "texts[0].what_happened"},
		{"missing impact", func(in *incidents.Input) { in.Texts[1].Impact = "" }, "texts[1].impact"},
		{"missing measures", func(in *incidents.Input) { in.Texts[1].Measures = "" }, "texts[1].measures"},
		{"missing advice", func(in *incidents.Input) { in.Texts[0].Advice = "" }, "texts[0].advice"},
		{"missing remedies", func(in *incidents.Input) { in.Texts[0].Remedies = "" }, "texts[0].remedies"},
		{"an element too long", func(in *incidents.Input) { in.Texts[1].Impact = long }, "texts[1].impact"},
		{"a notice too long", func(in *incidents.Input) {
			in.Texts[1].WhatHappened, in.Texts[1].Impact = strings.Repeat("长", 300), strings.Repeat("长", 300)
		}, "texts[1]"},
		{"control characters", func(in *incidents.Input) { in.Texts[0].Advice = "a\x00b" }, "texts[0].advice"},
		{"unknown language", func(in *incidents.Input) { in.Texts[0].Lang = "fr" }, "texts[0].lang"},
		{"a language twice", func(in *incidents.Input) { in.Texts[0].Lang = incidents.LangZH }, "texts[1].lang"},
		{"nobody affected", func(in *incidents.Input) { in.Affected = incidents.Affected{} }, "affected"},
		{"all and a list", func(in *incidents.Input) { in.Affected.All = true }, "affected"},
		{"not an account id", func(in *incidents.Input) { in.Affected.UserIDs = []string{"13800000000"} }, "affected"},
		{"an unknown account", func(in *incidents.Input) {
			in.Affected.UserIDs = append(in.Affected.UserIDs, "019a0000-0000-7000-8000-000000000000")
		}, "affected"},
		{"a two-line authority", func(in *incidents.Input) { in.Authority = "a\nb" }, "authority"},
	} {
		in := valid()
		tc.edit(&in)
		_, err := e.svc.Declare(ctx, admin.actor, in)
		if yuncan.ErrorCode(err) != yuncan.Invalid || yuncan.AsError(err).Fields[tc.field] == "" {
			t.Errorf("%s: %v; want invalid on %s", tc.name, err, tc.field)
		}
	}
	_, err := e.svc.Declare(ctx, mod.actor, valid())
	wantCode(t, "a moderator declares", err, yuncan.Forbidden, "")
	_, err = e.svc.Declare(ctx, p.actor, valid())
	wantCode(t, "a user declares", err, yuncan.Forbidden, "")
	_, _, err = e.svc.List(ctx, mod.actor, "", "", 0)
	wantCode(t, "a moderator lists", err, yuncan.Forbidden, "")

	// Nothing stored, nobody told, nothing audited.
	items, _, err := e.svc.List(ctx, admin.actor, "", "", 0)
	if err != nil || len(items) != 0 {
		t.Errorf("stored: %v, %v", items, err)
	}
	e.notify(e.svc)
	if n := e.notices(p); len(n) != 0 {
		t.Errorf("told: %v", n)
	}
	if pg, err := e.audit.Entries(ctx, audit.Filter{TargetKind: "incident"}); err != nil || len(pg.Entries) != 0 {
		t.Errorf("audited: %v, %v", pg.Entries, err)
	}
	if anns, _, _ := e.svc.Announcements(ctx, "", 0); len(anns) != 0 {
		t.Errorf("announced: %v", anns)
	}
}

// crashing is the dispatcher of a process that dies: from the crash-th
// dispatch on, it delivers and then fails, as a process killed between
// delivering a notice and recording it.
type crashing struct {
	next  incidents.Notifier
	n     atomic.Int64
	crash int64
}

var errCrash = errors.New("the process died")

func (c *crashing) Dispatch(ctx context.Context, n notify.Notification) (notify.Result, error) {
	res, err := c.next.Dispatch(ctx, n)
	if c.n.Add(1) >= c.crash {
		return notify.Result{}, errCrash
	}
	return res, err
}

// P54: a restart in the middle of the notification neither loses nor
// duplicates a notice: the job resumes from its saved progress, and what
// the dead process delivered but did not record is not delivered again.
func TestNotifyResumesAfterACrash(t *testing.T) {
	e := newEnv(t, incidents.Config{BatchSize: 2, Workers: 1})
	ctx := context.Background()
	admin := e.person(identity.RoleAdmin)
	var people []person
	var ids []string
	for range 5 {
		p := e.person(identity.RoleUser)
		people, ids = append(people, p), append(ids, p.actor.UserID)
	}
	i := e.declare(admin.actor, e.input(incidents.Affected{UserIDs: ids}))

	// The first process delivers two batches' worth and a half, then
	// dies on its fourth notice (delivered, never recorded).
	first := &crashing{next: e.push, crash: 4}
	if err := e.service(first).Notify(ctx); !errors.Is(err, errCrash) {
		t.Fatalf("the crashing run: %v", err)
	}
	mid, err := e.svc.Get(ctx, admin.actor, i.ID)
	if err != nil {
		t.Fatal(err)
	}
	if mid.Status != incidents.StatusDeclared || mid.Progress.Notified != 3 || mid.Progress.Pending != 2 {
		t.Fatalf("after the crash: %+v", mid.Progress)
	}

	// A process that claimed the incident and died without a word holds
	// it until its lease runs out; then the restarted service finishes.
	if _, err := e.db.Incidents().ClaimNotifying(ctx, e.now().Add(time.Second), e.now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	restarted := e.service(e.push)
	e.notify(restarted)
	if got, _ := e.svc.Get(ctx, admin.actor, i.ID); got.Status != incidents.StatusDeclared {
		t.Fatalf("taken over while another held the lease: %+v", got)
	}
	e.advance(2 * time.Minute)
	e.notify(restarted)

	for k, p := range people {
		if n := e.notices(p); len(n) != 1 {
			t.Errorf("person %d has %d notices, want exactly 1", k, len(n))
		}
		if pushes := e.pushed.to(p.device); len(pushes) != 1 {
			t.Errorf("person %d's device was pushed %d times, want exactly 1", k, len(pushes))
		}
	}
	got, err := e.svc.Get(ctx, admin.actor, i.ID)
	if err != nil || got.Status != incidents.StatusNotified || got.Progress != (incidents.Progress{Affected: 5, Notified: 5, Done: true}) {
		t.Errorf("after the restart: %+v, %v", got, err)
	}
}

// P54: staff mark the regulator report submitted with its reference, and
// close the incident once everyone is told; each action is audited.
func TestReportAndClose(t *testing.T) {
	e := newEnv(t, incidents.Config{})
	ctx := context.Background()
	admin, other, p := e.person(identity.RoleAdmin), e.person(identity.RoleAdmin), e.person(identity.RoleUser)
	i := e.declare(admin.actor, e.input(incidents.Affected{UserIDs: []string{p.actor.UserID}}))

	_, err := e.svc.Close(ctx, admin.actor, i.ID)
	wantCode(t, "closing while people are being told", err, yuncan.Conflict, "notification_pending")
	_, err = e.svc.SubmitReport(ctx, admin.actor, i.ID, " ", time.Time{}, "")
	wantCode(t, "a report without a reference", err, yuncan.Invalid, "")
	_, err = e.svc.SubmitReport(ctx, admin.actor, i.ID, "ref", e.now().Add(time.Hour), "")
	wantCode(t, "a report submitted in the future", err, yuncan.Invalid, "")
	_, err = e.svc.SubmitReport(ctx, p.actor, i.ID, "ref", time.Time{}, "")
	wantCode(t, "a user submits the report", err, yuncan.Forbidden, "")
	_, err = e.svc.SubmitReport(ctx, admin.actor, "019a0000-0000-7000-8000-000000000000", "ref", time.Time{}, "")
	wantCode(t, "the report of no incident", err, yuncan.NotFound, "")

	e.advance(30 * time.Minute)
	got, err := e.svc.SubmitReport(ctx, other.actor, i.ID, "京网信安〔2026〕17号", time.Time{}, "")
	if err != nil {
		t.Fatal(err)
	}
	if r := got.Report; !r.Submitted() || r.Reference != "京网信安〔2026〕17号" || r.SubmittedBy != other.actor.UserID ||
		!r.SubmittedAt.Equal(e.now()) || r.Authority != incidents.DefaultAuthority {
		t.Errorf("submitted report: %+v", r)
	}
	_, err = e.svc.SubmitReport(ctx, admin.actor, i.ID, "again", time.Time{}, "")
	wantCode(t, "submitting twice", err, yuncan.Conflict, "report_submitted")

	e.notify(e.svc)
	got, err = e.svc.Close(ctx, other.actor, i.ID)
	if err != nil || got.Status != incidents.StatusClosed || got.ClosedBy != other.actor.UserID {
		t.Fatalf("closed: %+v, %v", got, err)
	}
	_, err = e.svc.Close(ctx, admin.actor, i.ID)
	wantCode(t, "closing twice", err, yuncan.Conflict, "invalid_transition")

	pg, err := e.audit.Entries(ctx, audit.Filter{TargetKind: "incident", TargetID: i.ID})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, en := range pg.Entries {
		actions = append(actions, en.Action+" by "+map[bool]string{true: "admin", false: "other"}[en.ActorID == admin.actor.UserID])
	}
	if want := "incident.close by other,incident.report_submitted by other,incident.declare by admin"; strings.Join(actions, ",") != want {
		t.Errorf("audit: %v, want %s", actions, want)
	}

	// Retention: who was told goes 3 years after the closing; the
	// incident and its report stay.
	e.advance(1094 * 24 * time.Hour)
	if err := e.svc.Expire(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.svc.Get(ctx, admin.actor, i.ID); got.Progress.Notified != 1 {
		t.Fatalf("expired too early: %+v", got.Progress)
	}
	e.advance(2 * 24 * time.Hour)
	if err := e.svc.Expire(ctx); err != nil {
		t.Fatal(err)
	}
	got, err = e.svc.Get(ctx, admin.actor, i.ID)
	if err != nil || got.Progress.Notified != 0 || !got.Report.Submitted() || got.Progress.Affected != 1 {
		t.Errorf("after the retention: %+v, %v", got, err)
	}
}

// The list pages newest first and filters by status.
func TestList(t *testing.T) {
	e := newEnv(t, incidents.Config{})
	ctx := context.Background()
	admin, p := e.person(identity.RoleAdmin), e.person(identity.RoleUser)
	var want []string
	for range 3 {
		e.advance(time.Minute)
		want = append([]string{e.declare(admin.actor, e.input(incidents.Affected{UserIDs: []string{p.actor.UserID}})).ID}, want...)
	}
	page, next, err := e.svc.List(ctx, admin.actor, "", "", 2)
	if err != nil || len(page) != 2 || page[0].ID != want[0] || page[1].ID != want[1] || next == "" {
		t.Fatalf("first page: %v %q %v", page, next, err)
	}
	page, next, err = e.svc.List(ctx, admin.actor, "", next, 2)
	if err != nil || len(page) != 1 || page[0].ID != want[2] || next != "" {
		t.Fatalf("second page: %v %q %v", page, next, err)
	}
	e.notify(e.svc)
	if page, _, err := e.svc.List(ctx, admin.actor, incidents.StatusDeclared, "", 0); err != nil || len(page) != 0 {
		t.Errorf("declared after the job: %v, %v", page, err)
	}
	_, _, err = e.svc.List(ctx, admin.actor, "bogus", "", 0)
	wantCode(t, "an unknown status", err, yuncan.Invalid, "")
	_, _, err = e.svc.List(ctx, admin.actor, "", "", 101)
	wantCode(t, "too large a page", err, yuncan.Invalid, "")
}
