package tickets_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
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
	"github.com/yuncan/yuncan/internal/sqlstore"
	"github.com/yuncan/yuncan/internal/storetest"
	"github.com/yuncan/yuncan/internal/tickets"
)

// env is the tickets service on a real SQLite database, with a clock the
// test moves and the real inbox.
type env struct {
	t     *testing.T
	db    *sqlstore.DB
	keys  *keyring.Keyring
	ids   *identity.Service
	inbox *notify.Inbox
	svc   *tickets.Service
	clock time.Time
}

// china is a time in China.
var china = time.FixedZone("CST", 8*60*60)

func newEnv(t *testing.T, cfg tickets.Config) *env {
	t.Helper()
	db := storetest.Open(t, storetest.Targets(t)[0])
	keys, err := keyring.New()
	if err != nil {
		t.Fatal(err)
	}
	// Friday 13 February 2026, 10:00 in China: the day before the 春节
	// make-up Saturday.
	e := &env{t: t, db: db, keys: keys, clock: time.Date(2026, 2, 13, 10, 0, 0, 0, china).UTC()}
	now := func() time.Time { return e.clock }
	e.ids = identity.NewService(db.Identity(), keys, notify.NewOutbox(filepath.Join(t.TempDir(), "sms.jsonl"), nil),
		func() string { return "2021-05-01" }, now, identity.Config{})
	e.inbox = notify.NewInbox(db.Notify(), notify.InboxConfig{}, now)
	e.svc = tickets.NewService(tickets.Deps{Store: db.Tickets(), Keys: keys, Notifier: e.inbox, Accounts: e.ids, Now: now,
		Logger: slog.New(slog.DiscardHandler)}, cfg)
	return e
}

var phoneSeq atomic.Int64

func newPhone() string { return fmt.Sprintf("139%08d", phoneSeq.Add(1)) }

// user creates an account with role.
func (e *env) user(role identity.Role) tickets.Actor {
	e.t.Helper()
	u, err := e.ids.CreateUser(context.Background(), newPhone(), role)
	if err != nil {
		e.t.Fatal(err)
	}
	return tickets.ActorOf(u)
}

func (e *env) file(a tickets.Actor, in tickets.Input) tickets.Ticket {
	e.t.Helper()
	tk, err := e.svc.File(context.Background(), a, in)
	if err != nil {
		e.t.Fatalf("File: %v", err)
	}
	return tk
}

func complaint(text string) tickets.Input {
	return tickets.Input{Category: tickets.CategoryPrivacyComplaint, Text: text}
}

func wantCode(t *testing.T, what string, err error, code yuncan.Code, reason string) {
	t.Helper()
	if yuncan.ErrorCode(err) != code || (reason != "" && yuncan.ErrorReason(err) != reason) {
		t.Fatalf("%s: %v; want %s %s", what, err, code, reason)
	}
}

// inbox lists the notifications of an account.
func (e *env) inboxOf(a tickets.Actor) []notify.Notification {
	e.t.Helper()
	p, err := e.inbox.List(context.Background(), notify.User(a.UserID), "", 100)
	if err != nil {
		e.t.Fatal(err)
	}
	return p.Items
}

// P67: bad input is refused with every field named, and nothing is
// written.
func TestFileRefusesBadInput(t *testing.T) {
	e := newEnv(t, tickets.Config{})
	a := e.user(identity.RoleUser)
	for _, tc := range []struct {
		name   string
		in     tickets.Input
		fields []string
	}{
		{"no category", tickets.Input{Text: "x"}, []string{"category"}},
		{"unknown category", tickets.Input{Category: "praise", Text: "x"}, []string{"category"}},
		{"blank text", complaint("  \n "), []string{"text"}},
		{"text too long", complaint(strings.Repeat("长", tickets.MaxText+1)), []string{"text"}},
		{"control characters", complaint("a\x00b"), []string{"text"}},
		{"invalid UTF-8", complaint("a\xffb"), []string{"text"}},
		{"a kind on a complaint", tickets.Input{Category: tickets.CategoryPrivacyComplaint, Kind: tickets.KindAccess, Text: "x"}, []string{"kind"}},
		{"a rights request without kind", tickets.Input{Category: tickets.CategoryRightsRequest, Text: "x"}, []string{"kind"}},
		{"a guardian's kind on a rights request", tickets.Input{Category: tickets.CategoryRightsRequest, Kind: tickets.KindOther, Text: "x"}, []string{"kind"}},
		{"a report without reference", tickets.Input{Category: tickets.CategoryReportContent, Text: "x"}, []string{"reference_id"}},
		{"a report of content naming an account", tickets.Input{Category: tickets.CategoryReportContent, Text: "x",
			Reference: tickets.Reference{Kind: tickets.RefAccount, ID: "u1"}}, []string{"reference_kind"}},
		{"a report of an account naming a post", tickets.Input{Category: tickets.CategoryReportAccount, Text: "x",
			Reference: tickets.Reference{Kind: tickets.RefPost, ID: "p1"}}, []string{"reference_kind"}},
		{"an unknown reference kind", tickets.Input{Category: tickets.CategoryPrivacyComplaint, Text: "x",
			Reference: tickets.Reference{Kind: "video", ID: "v1"}}, []string{"reference_kind"}},
		{"a reference id with spaces", tickets.Input{Category: tickets.CategoryPrivacyComplaint, Text: "x",
			Reference: tickets.Reference{Kind: tickets.RefCase, ID: "a b"}}, []string{"reference_id"}},
		{"a reference kind without id", tickets.Input{Category: tickets.CategoryPrivacyComplaint, Text: "x",
			Reference: tickets.Reference{Kind: tickets.RefCase}}, []string{"reference_id"}},
		{"a guardian's request without the minor's number", tickets.Input{Category: tickets.CategoryGuardianRequest, Kind: tickets.KindAccess,
			Text: "x"}, []string{"minor_phone"}},
		{"a bad minor's number", tickets.Input{Category: tickets.CategoryGuardianRequest, Kind: tickets.KindAccess, Text: "x",
			MinorPhone: "12"}, []string{"minor_phone"}},
		{"a minor's number on a complaint", tickets.Input{Category: tickets.CategoryPrivacyComplaint, Text: "x", MinorPhone: "13800138000"},
			[]string{"minor_phone"}},
		{"everything wrong", tickets.Input{Category: "x", Text: ""}, []string{"category", "text"}},
	} {
		_, err := e.svc.File(context.Background(), a, tc.in)
		if yuncan.ErrorCode(err) != yuncan.Invalid {
			t.Errorf("%s: %v, want invalid", tc.name, err)
			continue
		}
		fields := yuncan.AsError(err).Fields
		for _, f := range tc.fields {
			if fields[f] == "" {
				t.Errorf("%s: field %s not named in %v", tc.name, f, fields)
			}
		}
		if len(fields) != len(tc.fields) {
			t.Errorf("%s: fields %v, want exactly %v", tc.name, fields, tc.fields)
		}
	}
	items, _, err := e.svc.Mine(context.Background(), a, "", 0)
	if err != nil || len(items) != 0 {
		t.Errorf("after refused tickets the person has %d: %v", len(items), err)
	}
}

// P67: a person files a privacy complaint and gets a ticket id with a
// status; staff reply and the person is told in the inbox and reads the
// reply; nobody else sees the ticket.
func TestComplaintJourney(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, tickets.Config{})
	person, other := e.user(identity.RoleUser), e.user(identity.RoleUser)
	mod := e.user(identity.RoleModerator)

	tk := e.file(person, tickets.Input{Category: tickets.CategoryPrivacyComplaint, Text: "你们在我没有同意时读取了通讯录。",
		Reference: tickets.Reference{Kind: tickets.RefAccount, ID: person.UserID}})
	if tk.Status != tickets.StatusOpen || tk.Channel != tickets.ChannelApp || tk.RequesterID != person.UserID || tk.Overdue {
		t.Fatalf("filed: %+v", tk)
	}
	got, err := e.svc.Get(ctx, person, tk.ID)
	if err != nil || got.Text != "你们在我没有同意时读取了通讯录。" {
		t.Fatalf("Get: %+v %v", got, err)
	}
	// What the viewer may not see is not found: another person, staff on
	// the person's route, and ids that are no ticket.
	for _, a := range []tickets.Actor{other, mod} {
		_, err := e.svc.Get(ctx, a, tk.ID)
		wantCode(t, "Get by someone else", err, yuncan.NotFound, "")
		_, err = e.svc.Reply(ctx, a, tk.ID, "hi")
		wantCode(t, "Reply by someone else", err, yuncan.NotFound, "")
		_, err = e.svc.Close(ctx, a, tk.ID)
		wantCode(t, "Close by someone else", err, yuncan.NotFound, "")
	}
	for _, id := range []string{"nope", "00000000-0000-7000-8000-000000000000"} {
		_, err := e.svc.Get(ctx, person, id)
		wantCode(t, "Get "+id, err, yuncan.NotFound, "")
	}

	// Staff read it: the read is in the audit log (P52).
	st, err := e.svc.StaffGet(ctx, mod, tk.ID)
	if err != nil || st.Text != tk.Text || len(st.Events) != 1 || st.Events[0].Action != tickets.ActionFiled {
		t.Fatalf("StaffGet: %+v %v", st, err)
	}
	logged, err := e.db.Audit().Entries(ctx, audit.Filter{TargetKind: "ticket", TargetID: tk.ID, Limit: 10})
	if err != nil || len(logged) != 1 || logged[0].ActorRole != mod.Role || logged[0].ActorID != mod.UserID || logged[0].Action != "ticket.read" {
		t.Errorf("audit of the staff read (P52): %+v %v", logged, err)
	}
	_, err = e.svc.StaffGet(ctx, person, tk.ID)
	wantCode(t, "StaffGet by a person", err, yuncan.Forbidden, "")

	e.clock = e.clock.Add(time.Hour)
	st, err = e.svc.StaffReply(ctx, mod, tk.ID, "我们已核查，通讯录功能未被调用。请提供时间。", "")
	if err != nil || st.Status != tickets.StatusAnswered || !st.AnsweredAt.Equal(e.clock) || len(st.Messages) != 1 {
		t.Fatalf("StaffReply: %+v %v", st, err)
	}
	if m := st.Messages[0]; m.AuthorID != mod.UserID || m.AuthorRole != tickets.RoleModerator {
		t.Errorf("the staff reply: %+v", m)
	}
	// P67: the person is told in the inbox, with a link to the ticket
	// and none of its text.
	in := e.inboxOf(person)
	if len(in) != 1 || in[0].Kind != tickets.NotifyKind || in[0].Data.Link != "/help/tickets/"+tk.ID || strings.Contains(in[0].Body, "通讯录") {
		t.Fatalf("inbox: %+v", in)
	}
	if n := e.inboxOf(other); len(n) != 0 {
		t.Errorf("someone else was told: %+v", n)
	}

	// The person writes again: back to staff, with a fresh deadline.
	e.clock = time.Date(2026, 3, 2, 9, 0, 0, 0, china).UTC()
	got, err = e.svc.Reply(ctx, person, tk.ID, "时间是 2 月 12 日晚上。")
	if err != nil || got.Status != tickets.StatusOpen || len(got.Messages) != 2 || got.Messages[1].AuthorRole != tickets.RoleRequester {
		t.Fatalf("Reply: %+v %v", got, err)
	}
	if want := time.Date(2026, 3, 24, 0, 0, 0, 0, china); !got.DueAt.Equal(want) {
		t.Errorf("after the person wrote again the deadline is %s, want %s", got.DueAt.In(china), want)
	}

	// P73: a refusal needs a reason; with one, the person is told.
	_, err = e.svc.SetStatus(ctx, mod, tk.ID, tickets.StatusRefused, " ")
	wantCode(t, "a refusal without reason", err, yuncan.Invalid, "")
	st, err = e.svc.SetStatus(ctx, mod, tk.ID, tickets.StatusRefused, "日志显示该功能从未被调用，无法认定违规。")
	if err != nil || st.Status != tickets.StatusRefused || st.StatusReason != "日志显示该功能从未被调用，无法认定违规。" {
		t.Fatalf("refuse: %+v %v", st, err)
	}
	if in := e.inboxOf(person); len(in) != 2 {
		t.Errorf("the refusal was not told: %d notifications", len(in))
	}
	_, err = e.svc.Reply(ctx, person, tk.ID, "不同意")
	wantCode(t, "a reply to a refused ticket", err, yuncan.Conflict, "ticket_closed")

	got, err = e.svc.Close(ctx, person, tk.ID)
	if err != nil || got.Status != tickets.StatusClosed || got.ClosedAt.IsZero() {
		t.Fatalf("Close: %+v %v", got, err)
	}
	_, err = e.svc.Close(ctx, person, tk.ID)
	wantCode(t, "Close twice", err, yuncan.Conflict, "ticket_closed")

	// Every action, with who and when.
	st, err = e.svc.StaffGet(ctx, mod, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	var log []string
	for _, ev := range st.Events {
		log = append(log, fmt.Sprintf("%s %s %s→%s", ev.ActorRole, ev.Action, ev.From, ev.To))
		if ev.At.IsZero() || ev.ActorID == "" {
			t.Errorf("event without who or when: %+v", ev)
		}
	}
	want := []string{"requester filed →open", "moderator replied open→answered", "requester replied answered→open",
		"moderator status open→refused", "requester status refused→closed"}
	if strings.Join(log, "; ") != strings.Join(want, "; ") {
		t.Errorf("history:\n got %q\nwant %q", log, want)
	}
	items, _, err := e.svc.Mine(ctx, person, "", 0)
	if err != nil || len(items) != 1 || items[0].ID != tk.ID || items[0].Status != tickets.StatusClosed {
		t.Errorf("Mine: %+v %v", items, err)
	}
}

// P67: the deadline is 15 working days, counted across the Spring
// Festival, and a ticket still waiting at its end is flagged and counted
// in the queue until staff answer.
func TestDeadlineAndOverdue(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, tickets.Config{})
	person, mod := e.user(identity.RoleUser), e.user(identity.RoleModerator)
	tk := e.file(person, complaint("请删除我的位置记录。"))
	// Filed on Friday 13 February: 14 Feb (a make-up Saturday) is the
	// first working day, 15–23 Feb are off, the 15th is 12 March.
	due := time.Date(2026, 3, 13, 0, 0, 0, 0, china)
	if !tk.DueAt.Equal(due) {
		t.Fatalf("due %s, want %s", tk.DueAt.In(china), due)
	}
	other := e.file(person, tickets.Input{Category: tickets.CategoryReportContent, Text: "虚假寻人信息",
		Reference: tickets.Reference{Kind: tickets.RefCase, ID: "case-9"}})

	queue := func(q tickets.QueueQuery) tickets.QueuePage {
		t.Helper()
		p, err := e.svc.Queue(ctx, mod, q)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	e.clock = due.Add(-time.Minute).UTC()
	if p := queue(tickets.QueueQuery{}); p.Overdue != 0 || len(p.Items) != 2 || p.Items[0].Overdue {
		t.Fatalf("a minute before the deadline: %+v", p)
	}
	e.clock = due.UTC()
	p := queue(tickets.QueueQuery{})
	if p.Overdue != 2 || !p.Items[0].Overdue || !p.Items[1].Overdue {
		t.Fatalf("at the deadline: %+v", p)
	}
	if got, _ := e.svc.Get(ctx, person, tk.ID); !got.Overdue {
		t.Errorf("the person's view does not show the ticket overdue")
	}
	if p := queue(tickets.QueueQuery{Category: "report_content"}); p.Overdue != 1 || len(p.Items) != 1 || p.Items[0].ID != other.ID {
		t.Errorf("reports only: %+v", p)
	}

	// An answer stops the clock.
	if _, err := e.svc.StaffReply(ctx, mod, tk.ID, "已删除。", tickets.StatusAnswered); err != nil {
		t.Fatal(err)
	}
	p = queue(tickets.QueueQuery{})
	if p.Overdue != 1 || len(p.Items) != 1 || p.Items[0].ID != other.ID {
		t.Errorf("after the answer: %+v", p)
	}
	if p := queue(tickets.QueueQuery{Status: "all", Overdue: true}); len(p.Items) != 1 || p.Items[0].ID != other.ID {
		t.Errorf("overdue only: %+v", p)
	}
	if p := queue(tickets.QueueQuery{Status: "answered", Overdue: true}); len(p.Items) != 0 || p.Overdue != 1 {
		t.Errorf("overdue among the answered: %+v", p)
	}
	if p := queue(tickets.QueueQuery{Status: "answered"}); len(p.Items) != 1 || p.Items[0].ID != tk.ID || p.Items[0].Overdue {
		t.Errorf("answered: %+v", p)
	}
	// in_progress keeps the clock running; reopening a closed ticket
	// restarts it.
	if _, err := e.svc.SetStatus(ctx, mod, other.ID, tickets.StatusInProgress, ""); err != nil {
		t.Fatal(err)
	}
	if p := queue(tickets.QueueQuery{}); p.Overdue != 1 {
		t.Errorf("in progress is still overdue: %+v", p)
	}
	if _, err := e.svc.SetStatus(ctx, mod, other.ID, tickets.StatusClosed, "重复"); err != nil {
		t.Fatal(err)
	}
	st, err := e.svc.SetStatus(ctx, mod, other.ID, tickets.StatusInProgress, "重新核查")
	if err != nil || st.Overdue || !st.DueAt.After(e.clock) {
		t.Errorf("reopened: %+v %v", st, err)
	}
}

func TestQueueQuery(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, tickets.Config{})
	person, admin := e.user(identity.RoleUser), e.user(identity.RoleAdmin)
	var ids []string
	for i := range 5 {
		ids = append(ids, e.file(person, complaint(fmt.Sprintf("第 %d 条", i))).ID)
		e.clock = e.clock.Add(24 * time.Hour)
	}
	var seen []string
	cursor := ""
	for {
		p, err := e.svc.Queue(ctx, admin, tickets.QueueQuery{Cursor: cursor, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range p.Items {
			seen = append(seen, it.ID)
		}
		if p.Next == "" {
			break
		}
		cursor = p.Next
	}
	if strings.Join(seen, ",") != strings.Join(ids, ",") {
		t.Errorf("the queue in pages by deadline:\n got %v\nwant %v", seen, ids)
	}
	for _, q := range []tickets.QueueQuery{{Category: "praise"}, {Status: "lost"}, {Limit: 101}, {Limit: -1}, {Cursor: "garbage"},
		{Cursor: "MTIzLm5vdC1hLXV1aWQ"}} {
		_, err := e.svc.Queue(ctx, admin, q)
		wantCode(t, fmt.Sprintf("Queue %+v", q), err, yuncan.Invalid, "")
	}
	_, err := e.svc.Queue(ctx, person, tickets.QueueQuery{})
	wantCode(t, "Queue by a person", err, yuncan.Forbidden, "")

	// The person's own list, newest first, in pages.
	seen = nil
	cursor = ""
	for {
		items, next, err := e.svc.Mine(ctx, person, cursor, 3)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			seen = append(seen, it.ID)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if len(seen) != 5 || seen[0] != ids[4] || seen[4] != ids[0] {
		t.Errorf("Mine in pages: %v", seen)
	}
}

// P67: a flood is refused with when to try again; a day later it is fine.
func TestFloodLimits(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, tickets.Config{TicketsPerDay: 2, RepliesPerDay: 2})
	person := e.user(identity.RoleUser)
	first := e.file(person, complaint("一"))
	e.clock = e.clock.Add(time.Hour)
	e.file(person, complaint("二"))
	_, err := e.svc.File(ctx, person, complaint("三"))
	wantCode(t, "a third ticket in a day", err, yuncan.RateLimited, "ticket_limit")
	if ra := yuncan.AsError(err).RetryAfter; ra != 23*time.Hour {
		t.Errorf("RetryAfter %s, want 23h (when the first leaves the day)", ra)
	}
	for range 2 {
		if _, err := e.svc.Reply(ctx, person, first.ID, "补充"); err != nil {
			t.Fatal(err)
		}
	}
	_, err = e.svc.Reply(ctx, person, first.ID, "再补充")
	wantCode(t, "a third reply in a day", err, yuncan.RateLimited, "ticket_limit")
	e.clock = e.clock.Add(23 * time.Hour)
	e.file(person, complaint("三"))
}

func TestStaffRules(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, tickets.Config{})
	person, mod, mod2 := e.user(identity.RoleUser), e.user(identity.RoleModerator), e.user(identity.RoleModerator)
	tk := e.file(person, complaint("投诉"))
	own := e.file(mod, complaint("我自己的反馈"))

	_, err := e.svc.StaffReply(ctx, person, tk.ID, "x", "")
	wantCode(t, "a person replying as staff", err, yuncan.Forbidden, "")
	_, err = e.svc.SetStatus(ctx, person, tk.ID, tickets.StatusClosed, "")
	wantCode(t, "a person setting a status", err, yuncan.Forbidden, "")
	_, err = e.svc.StaffReply(ctx, mod, own.ID, "x", "")
	wantCode(t, "staff on their own ticket", err, yuncan.Forbidden, "own_ticket")
	if _, err := e.svc.StaffReply(ctx, mod2, own.ID, "收到", ""); err != nil {
		t.Errorf("another moderator on it: %v", err)
	}
	_, err = e.svc.StaffReply(ctx, mod, tk.ID, "", "")
	wantCode(t, "an empty reply", err, yuncan.Invalid, "")
	_, err = e.svc.StaffReply(ctx, mod, tk.ID, "x", tickets.StatusRefused)
	wantCode(t, "a reply that refuses", err, yuncan.Invalid, "")
	_, err = e.svc.SetStatus(ctx, mod, tk.ID, tickets.StatusOpen, "")
	wantCode(t, "back to open", err, yuncan.Invalid, "")
	_, err = e.svc.SetStatus(ctx, mod, tk.ID, tickets.StatusAnswered, "")
	wantCode(t, "answered without a reply", err, yuncan.Conflict, "reply_first")
	_, err = e.svc.SetStatus(ctx, mod, tk.ID, tickets.StatusRefused, strings.Repeat("因", tickets.MaxReason+1))
	wantCode(t, "a reason too long", err, yuncan.Invalid, "")
	_, err = e.svc.SetStatus(ctx, mod, "00000000-0000-7000-8000-000000000000", tickets.StatusClosed, "")
	wantCode(t, "no such ticket", err, yuncan.NotFound, "")

	st, err := e.svc.StaffReply(ctx, mod, tk.ID, "正在处理", tickets.StatusInProgress)
	if err != nil || st.Status != tickets.StatusInProgress || !st.AnsweredAt.IsZero() {
		t.Fatalf("a progress note: %+v %v", st, err)
	}
	_, err = e.svc.SetStatus(ctx, mod, tk.ID, tickets.StatusInProgress, "")
	wantCode(t, "the same status", err, yuncan.Conflict, "invalid_transition")
	if _, err := e.svc.SetStatus(ctx, mod, tk.ID, tickets.StatusAnswered, ""); err != nil {
		t.Errorf("answered after a reply: %v", err)
	}
	if _, err := e.svc.SetStatus(ctx, mod, tk.ID, tickets.StatusClosed, ""); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.SetStatus(ctx, mod, tk.ID, tickets.StatusRefused, "晚了")
	wantCode(t, "refusing a closed ticket", err, yuncan.Conflict, "invalid_transition")
	_, err = e.svc.StaffReply(ctx, mod, tk.ID, "还有一点", "")
	wantCode(t, "a reply on a closed ticket", err, yuncan.Conflict, "ticket_closed")
	_, err = e.svc.Reply(ctx, person, tk.ID, "还有一点")
	wantCode(t, "the person on a closed ticket", err, yuncan.Conflict, "ticket_closed")
}

// P71: the guardian form and guardian_request tickets are one thing: a
// request from the form is a ticket in the staff queue, on the same
// clock, and the guardian sees the ticket's status with the request's id.
// It is stored once, as the ticket.
func TestGuardianChannel(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, tickets.Config{})
	dm, err := consent.LoadDataMap()
	if err != nil {
		t.Fatal(err)
	}
	cs := consent.NewService(e.db.Consent(), dm, func() string { return "2021-05-01" }, nil, slog.New(slog.DiscardHandler))
	minors := consent.NewMinors(e.svc.GuardianChannel(e.db.Minors()), e.db.Consent(), cs, e.ids,
		media.NewFileStore(filepath.Join(t.TempDir(), "media")), e.keys, func() time.Time { return e.clock },
		consent.MinorsConfig{RequestsPerIPHour: 2}, nil)
	mod := e.user(identity.RoleModerator)

	guardian, minor := newPhone(), newPhone()
	req, err := minors.FileGuardianRequest(ctx, consent.GuardianRequestInput{GuardianPhone: guardian, MinorPhone: minor,
		Kind: "deletion", Message: "请删除孩子账号中的照片。"}, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	if req.Status != consent.RequestReceived {
		t.Errorf("the form answers status %q, want received", req.Status)
	}
	p, err := e.svc.Queue(ctx, mod, tickets.QueueQuery{Category: "guardian_request"})
	if err != nil || len(p.Items) != 1 {
		t.Fatalf("the queue: %+v %v", p, err)
	}
	st, err := e.svc.StaffGet(ctx, mod, p.Items[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.Channel != tickets.ChannelGuardianForm || st.Kind != tickets.KindDeletion || st.Text != "请删除孩子账号中的照片。" ||
		st.Contact != "+86"+guardian || st.MinorPhone != identity.Phone("+86"+minor) || st.RequesterID != "" ||
		!st.DueAt.Equal(time.Date(2026, 3, 13, 0, 0, 0, 0, china)) {
		t.Errorf("the guardian's ticket: %+v", st)
	}
	// Stored once: the ticket, not a guardian_requests row.
	var rows int
	if err := e.db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM guardian_requests`).Scan(&rows); err != nil || rows != 0 {
		t.Errorf("guardian_requests holds %d rows (%v), want 0", rows, err)
	}

	// Staff work it; the guardian sees the ticket's status.
	if _, err := e.svc.StaffReply(ctx, mod, st.ID, "已核实监护关系，正在删除。", tickets.StatusInProgress); err != nil {
		t.Fatal(err)
	}
	got, err := minors.GuardianRequest(ctx, req.ID)
	if err != nil || got.Status != "in_progress" || got.Kind != consent.RequestDeletion {
		t.Errorf("the guardian's view: %+v %v", got, err)
	}
	_, err = minors.GuardianRequest(ctx, "00000000-0000-4000-8000-000000000000")
	wantCode(t, "an id that is no request", err, yuncan.NotFound, "")

	// The form's limit per network counts the tickets.
	if _, err := minors.FileGuardianRequest(ctx, consent.GuardianRequestInput{GuardianPhone: guardian, MinorPhone: minor, Kind: "access"},
		"192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	_, err = minors.FileGuardianRequest(ctx, consent.GuardianRequestInput{GuardianPhone: guardian, MinorPhone: minor, Kind: "access"}, "192.0.2.1")
	wantCode(t, "a third request from one network in an hour", err, yuncan.RateLimited, "")
}

// P73: a request that came by e-mail is logged by staff as a ticket on
// the same clock, counted from when it arrived; a linked account follows
// it in the app.
func TestLogRequest(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, tickets.Config{})
	person, admin := e.user(identity.RoleUser), e.user(identity.RoleAdmin)
	received := time.Date(2026, 2, 10, 16, 0, 0, 0, china) // a Tuesday
	st, err := e.svc.LogRequest(ctx, admin, tickets.LoggedInput{Input: tickets.Input{Category: tickets.CategoryRightsRequest,
		Kind: tickets.KindAccess, Text: "请提供你们保存的我的全部信息。"}, Channel: tickets.ChannelEmail, Contact: "someone@example.com",
		RequesterID: person.UserID, ReceivedAt: received})
	if err != nil {
		t.Fatal(err)
	}
	// 11–13 Feb, 14 Feb (worked), 24–27 Feb, 28 Feb (worked), 2–6 Mar =
	// 14; 9 Mar is the 15th.
	if want := time.Date(2026, 3, 10, 0, 0, 0, 0, china); !st.DueAt.Equal(want) || !st.CreatedAt.Equal(received) {
		t.Errorf("due %s created %s; want due %s, created when received", st.DueAt.In(china), st.CreatedAt.In(china), want)
	}
	if st.Channel != tickets.ChannelEmail || st.Contact != "someone@example.com" || st.Events[0].ActorID != admin.UserID {
		t.Errorf("logged: %+v", st)
	}
	if got, err := e.svc.Get(ctx, person, st.ID); err != nil || got.Text != st.Text {
		t.Errorf("the linked person cannot see it: %v", err)
	}
	if in := e.inboxOf(person); len(in) != 1 {
		t.Errorf("the linked person was not told: %+v", in)
	}
	for name, in := range map[string]tickets.LoggedInput{
		"no channel":     {Input: complaint("x"), Contact: "a@example.com"},
		"the app":        {Input: complaint("x"), Channel: tickets.ChannelApp, Contact: "a@example.com"},
		"no contact":     {Input: complaint("x"), Channel: tickets.ChannelWeChat},
		"two lines":      {Input: complaint("x"), Channel: tickets.ChannelLetter, Contact: "a\nb"},
		"long ago":       {Input: complaint("x"), Channel: tickets.ChannelPhone, Contact: "x", ReceivedAt: e.clock.Add(-31 * 24 * time.Hour)},
		"in the future":  {Input: complaint("x"), Channel: tickets.ChannelPhone, Contact: "x", ReceivedAt: e.clock.Add(time.Hour)},
		"no account":     {Input: complaint("x"), Channel: tickets.ChannelEmail, Contact: "x", RequesterID: "nope"},
		"their own":      {Input: complaint("x"), Channel: tickets.ChannelEmail, Contact: "x", RequesterID: admin.UserID},
		"a bad category": {Input: tickets.Input{Category: "x", Text: "x"}, Channel: tickets.ChannelEmail, Contact: "x"},
	} {
		_, err := e.svc.LogRequest(ctx, admin, in)
		wantCode(t, name, err, yuncan.Invalid, "")
	}
	_, err = e.svc.LogRequest(ctx, person, tickets.LoggedInput{Input: complaint("x"), Channel: tickets.ChannelEmail, Contact: "x"})
	wantCode(t, "a person logging", err, yuncan.Forbidden, "")
	info := e.svc.ContactInfo()
	if info.Email == "" || info.WeChat == "" || info.DueWorkdays != 15 || !strings.Contains(info.Regulator.ZH, "12377") {
		t.Errorf("ContactInfo: %+v", info)
	}
}

// Retention: a handled ticket goes 3 years after its last change; one
// still waiting stays.
func TestExpire(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, tickets.Config{})
	person, mod := e.user(identity.RoleUser), e.user(identity.RoleModerator)
	done := e.file(person, complaint("已处理"))
	waiting := e.file(person, complaint("未处理"))
	if _, err := e.svc.SetStatus(ctx, mod, done.ID, tickets.StatusClosed, ""); err != nil {
		t.Fatal(err)
	}
	e.clock = e.clock.Add(1094 * 24 * time.Hour)
	if err := e.svc.Expire(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Get(ctx, person, done.ID); err != nil {
		t.Errorf("deleted before 3 years: %v", err)
	}
	e.clock = e.clock.Add(2 * 24 * time.Hour)
	if err := e.svc.Expire(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.Get(ctx, person, done.ID)
	wantCode(t, "a handled ticket after 3 years", err, yuncan.NotFound, "")
	if _, err := e.svc.Get(ctx, person, waiting.ID); err != nil {
		t.Errorf("a waiting ticket went: %v", err)
	}
}
