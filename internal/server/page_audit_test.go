package server

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/yuncan/yuncan/internal/audit"
	"github.com/yuncan/yuncan/internal/identity"
)

// auditEntries is the whole log, newest first, read without recording a
// read (the test looks, not a person).
func auditEntries(t *testing.T, a *apiEnv) []audit.Entry {
	t.Helper()
	p, err := a.srv.audit.Entries(context.Background(), audit.Filter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	return p.Entries
}

// userIDOf is the account behind a web client.
func userIDOf(t *testing.T, a *apiEnv, c *webClient) string {
	t.Helper()
	au, err := a.ident.Authenticate(context.Background(), c.cookie(sessionCookie))
	if err != nil {
		t.Fatal(err)
	}
	return au.User.ID
}

var auditRowSeq = regexp.MustCompile(`<tr id="entry-(\d+)"`)

func auditAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestPageAudit: P52: the staff console shows admins the hash-chained
// audit log, filtered by actor, target and time and paged; the look is
// itself recorded before anything is shown; the chain verifies from the
// page (a CSRF-checked post), a changed entry is reported where it is,
// and after a prune the anchor is shown. Moderators and users get 403.
func TestPageAudit(t *testing.T) {
	t.Parallel()
	a, e := ticketPageEnv(t)
	ctx := context.Background()

	// A staff read to look at: a moderator opens a person's ticket.
	user := ticketPageUser(t, a, e, identity.RoleUser)
	r := user.submit("/help/tickets", url.Values{"category": {"privacy_complaint"}, "text": {"请删除我的手机号。"}})
	m := ticketLink.FindStringSubmatch(r.Header.Get("Location"))
	if m == nil {
		t.Fatalf("filing a ticket: %d → %s", r.StatusCode, r.Header.Get("Location"))
	}
	ticketID := m[1]
	mod := ticketPageUser(t, a, e, identity.RoleModerator)
	modID := userIDOf(t, a, mod)
	if r := mod.get("/staff/tickets/" + ticketID); r.StatusCode != http.StatusOK {
		t.Fatalf("the moderator opens the ticket: %d", r.StatusCode)
	}

	// Only admins: a moderator and a user get 403 and write nothing; a
	// visitor is sent to log in.
	before := len(auditEntries(t, a))
	for who, c := range map[string]*webClient{"moderator": mod, "user": user} {
		if r := c.get("/staff/audit"); r.StatusCode != http.StatusForbidden || strings.Contains(r.Body, `id="audit-log"`) {
			t.Errorf("a %s opens the audit log: %d", who, r.StatusCode)
		}
		if r := c.submit("/staff/audit/verify", nil); r.StatusCode != http.StatusForbidden || strings.Contains(r.Body, `id="verify-result"`) {
			t.Errorf("a %s verifies the chain: %d", who, r.StatusCode)
		}
	}
	if r := e.client().get("/staff/audit"); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login" {
		t.Errorf("logged out: %d → %s", r.StatusCode, r.Header.Get("Location"))
	}
	if r := mod.get("/staff/tickets"); !strings.Contains(r.Body, `id="nav-staff-tickets"`) || strings.Contains(r.Body, `id="nav-audit"`) {
		t.Errorf("a moderator's staff navigation links the audit log, or has no staff links")
	}
	if n := len(auditEntries(t, a)); n != before {
		t.Fatalf("refused looks wrote %d entries", n-before)
	}

	admin := ticketPageUser(t, a, e, identity.RoleAdmin)
	adminID := userIDOf(t, a, admin)
	r = admin.get("/staff/audit")
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Body, `id="nav-audit"`) || !strings.Contains(r.Body, `id="audit-log"`) {
		t.Fatalf("GET /staff/audit: %d\n%s", r.StatusCode, r.Body)
	}
	read := regexp.MustCompile(`data-action="ticket.read" data-actor="` + modID + `" data-target="ticket/` + ticketID + `"`)
	if !read.MatchString(r.Body) || !strings.Contains(r.text(), "handling the ticket") {
		t.Errorf("the moderator's read of the ticket is not shown:\n%s", r.Body)
	}
	// The look itself is the newest entry, written before the page.
	es := auditEntries(t, a)
	self := es[0]
	if self.Action != audit.ActionRead || self.ActorID != adminID || self.ActorRole != identity.RoleAdmin || self.Reason != "all" {
		t.Fatalf("the newest entry is %+v; want the admin's look", self)
	}
	if seqs := auditRowSeq.FindAllStringSubmatch(r.Body, -1); len(seqs) == 0 || seqs[0][1] != fmt.Sprint(self.Seq) {
		t.Errorf("the page does not start with its own look (seq %d)", self.Seq)
	}

	// Filters: by actor, by target, by time.
	r = admin.get("/staff/audit?actor=" + url.QueryEscape(modID))
	if !read.MatchString(r.Body) || strings.Contains(r.Body, `data-action="audit.read"`) || !strings.Contains(r.Body, `id="filter-clear"`) {
		t.Errorf("filtered by the moderator:\n%s", r.Body)
	}
	r = admin.get("/staff/audit?target_kind=ticket&target_id=" + ticketID)
	if !read.MatchString(r.Body) || len(auditRowSeq.FindAllString(r.Body, -1)) != 1 {
		t.Errorf("filtered by the ticket: %d rows", len(auditRowSeq.FindAllString(r.Body, -1)))
	}
	if last := auditEntries(t, a)[0]; last.Reason != "target_kind=ticket target_id="+ticketID {
		t.Errorf("the filtered look is recorded as %q", last.Reason)
	}
	future := time.Now().Add(time.Hour).In(chinaTime).Format("2006-01-02T15:04")
	r = admin.get("/staff/audit?since=" + url.QueryEscape(future))
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Body, `id="audit-empty"`) || !strings.Contains(r.Body, `value="`+future+`"`) {
		t.Errorf("nothing after an hour from now: %d", r.StatusCode)
	}
	past := time.Now().Add(-time.Hour).In(chinaTime).Format("2006-01-02T15:04")
	if r := admin.get("/staff/audit?actor=" + url.QueryEscape(modID) + "&since=" + url.QueryEscape(past)); !read.MatchString(r.Body) {
		t.Errorf("the last hour does not hold the moderator's read")
	}

	// A bad filter is a 400 that keeps what was typed, reads nothing and
	// writes nothing.
	before = len(auditEntries(t, a))
	r = admin.get("/staff/audit?since=yesterday&actor=" + url.QueryEscape(modID))
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Body, `id="since-error"`) || strings.Contains(r.Body, `id="audit-log"`) ||
		!strings.Contains(r.Body, `value="`+modID+`"`) {
		t.Errorf("since=yesterday: %d\n%s", r.StatusCode, r.Body)
	}
	r = admin.get("/staff/audit?since=" + url.QueryEscape(future) + "&until=" + url.QueryEscape(past))
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Body, `id="until-error"`) {
		t.Errorf("until before since: %d", r.StatusCode)
	}
	if r := admin.get("/staff/audit?cursor=-3"); r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Body, `id="cursor-error"`) {
		t.Errorf("a bad cursor: %d", r.StatusCode)
	}
	if n := len(auditEntries(t, a)); n != before {
		t.Errorf("refused filters wrote %d entries", n-before)
	}

	// Paging: 60 more entries make a second page, older, with the filter
	// kept.
	for i := range 60 {
		if _, err := a.srv.audit.Append(ctx, audit.Record{ActorID: modID, ActorRole: identity.RoleModerator, Action: "clue.read",
			TargetKind: "clue", TargetID: fmt.Sprint("k", i), Reason: "check"}); err != nil {
			t.Fatal(err)
		}
	}
	r = admin.get("/staff/audit?actor=" + url.QueryEscape(modID))
	first := auditRowSeq.FindAllStringSubmatch(r.Body, -1)
	more := regexp.MustCompile(`href="(/staff/audit\?[^"]+)" id="more-entries"`).FindStringSubmatch(r.Body)
	if len(first) != 50 || more == nil || !strings.Contains(more[1], "actor=") {
		t.Fatalf("first page: %d rows, more %v", len(first), more)
	}
	r = admin.get(strings.ReplaceAll(more[1], "&amp;", "&"))
	second := auditRowSeq.FindAllStringSubmatch(r.Body, -1)
	if len(second) != 11 || auditAtoi(t, second[0][1]) >= auditAtoi(t, first[49][1]) || !read.MatchString(r.Body) {
		t.Errorf("second page: %d rows from %v (first page ended at %s)", len(second), second[0], first[49][1])
	}

	// Verify: the post needs the CSRF token; the chain holds.
	if r := admin.post("/staff/audit/verify", url.Values{}); r.StatusCode != http.StatusForbidden || strings.Contains(r.Body, `id="verify-result"`) {
		t.Errorf("verify without the CSRF token: %d", r.StatusCode)
	}
	r = admin.submit("/staff/audit/verify", nil)
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Body, `id="verify-ok"`) || !strings.Contains(r.Body, `data-anchor-seq="0"`) {
		t.Fatalf("verify: %d\n%s", r.StatusCode, r.Body)
	}
	// English.
	if r := admin.get("/staff/audit?lang=en"); !strings.Contains(r.Body, "Audit log") || !strings.Contains(r.Body, "Verify the chain") {
		t.Errorf("the English page")
	}

	// A changed entry: the page names it and links to it.
	es = auditEntries(t, a)
	target := es[len(es)/2].Seq
	if _, err := a.db.SQL().ExecContext(ctx, `UPDATE audit_log SET reason = 'nothing to see' WHERE seq = ?`, target); err != nil {
		t.Fatal(err)
	}
	r = admin.submit("/staff/audit/verify", nil)
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Body, `id="verify-broken"`) || !strings.Contains(r.Body, fmt.Sprintf(`data-broken-at="%d"`, target)) ||
		!strings.Contains(r.Body, fmt.Sprintf(`href="/staff/audit?cursor=%d" id="verify-broken-link"`, target+1)) {
		t.Fatalf("verify after a change at %d: %d\n%s", target, r.StatusCode, r.Body)
	}
	if _, err := a.db.SQL().ExecContext(ctx, `UPDATE audit_log SET reason = ? WHERE seq = ?`, es[len(es)/2].Reason, target); err != nil {
		t.Fatal(err)
	}

	// After a prune the page shows the anchor verification starts from.
	time.Sleep(time.Millisecond)
	n, err := a.srv.audit.Prune(ctx, time.Nanosecond)
	if err != nil || n == 0 {
		t.Fatalf("Prune = %d, %v", n, err)
	}
	r = admin.submit("/staff/audit/verify", nil)
	if !strings.Contains(r.Body, `id="verify-ok"`) || strings.Contains(r.Body, `data-anchor-seq="0"`) || !strings.Contains(r.Body, fmt.Sprintf(`data-anchor-seq="%d"`, n)) {
		t.Errorf("verify after pruning %d entries:\n%s", n, r.Body)
	}
}
