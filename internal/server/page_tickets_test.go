package server

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/yuncan/yuncan/internal/identity"
	"github.com/yuncan/yuncan/internal/storetest"
)

// "Help & feedback" and the staff ticket queue: through plain HTTP as a
// browser without scripts uses them, and once in headless Chromium.

// ticketPageEnv is the fully wired server (tickets included) for the
// page helpers.
func ticketPageEnv(t *testing.T) (*apiEnv, *pageEnv) {
	a := newAPIEnv(t, storetest.Targets(t)[0], apiEnvOptions{})
	return a, pageEnvOfAPI(t, a)
}

// ticketPageUser logs a new account with role in through the login page.
func ticketPageUser(t *testing.T, a *apiEnv, e *pageEnv, role identity.Role) *webClient {
	t.Helper()
	phone := apiPhone()
	if role != identity.RoleUser {
		if _, err := a.ident.CreateUser(context.Background(), phone, role); err != nil {
			t.Fatal(err)
		}
	}
	c := e.client()
	c.login(e, phone)
	return c
}

var ticketLink = regexp.MustCompile(`/help/tickets/([0-9a-f-]{36})`)

// TestPageTickets: P67: the help page names every channel to anyone; a
// logged-in person files feedback, a refused form keeps what was typed,
// the person follows the ticket, nobody else sees it, and only staff
// open the queue.
func TestPageTickets(t *testing.T) {
	t.Parallel()
	a, e := ticketPageEnv(t)

	anon := e.client()
	r := anon.get("/help")
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Body, `id="help-login"`) || !strings.Contains(r.Body, "chensiqiang@xiaoqikeji.com.cn") ||
		!strings.Contains(r.text(), "12377") || strings.Contains(r.Body, `id="ticket-form"`) {
		t.Fatalf("GET /help logged out: %d\n%s", r.StatusCode, r.Body)
	}
	if r := anon.submit("/help/tickets", url.Values{"category": {"privacy_complaint"}, "text": {"x"}}); r.StatusCode != http.StatusSeeOther ||
		r.Header.Get("Location") != "/login" {
		t.Errorf("filing logged out: %d → %s", r.StatusCode, r.Header.Get("Location"))
	}

	c := ticketPageUser(t, a, e, identity.RoleUser)
	r = c.get("/help")
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Body, `id="ticket-form"`) || !strings.Contains(r.Body, `id="no-tickets"`) {
		t.Fatalf("GET /help: %d", r.StatusCode)
	}
	// CSRF: a post without the token is refused and files nothing.
	if r := c.post("/help/tickets", url.Values{"category": {"privacy_complaint"}, "text": {"x"}}); r.StatusCode != http.StatusForbidden {
		t.Errorf("post without the CSRF token: %d", r.StatusCode)
	}
	// A refused form shows why and keeps the text.
	r = c.submit("/help/tickets", url.Values{"category": {"report_account"}, "text": {"这个账号冒充警方。"}})
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Body, `id="reference-id-error"`) || !strings.Contains(r.Body, "这个账号冒充警方。") ||
		!strings.Contains(r.Body, `value="report_account" selected`) {
		t.Fatalf("a report without what: %d\n%s", r.StatusCode, r.Body)
	}
	r = c.submit("/help/tickets", url.Values{"category": {"privacy_complaint"}, "text": {"未经同意推送了营销短信。\r\n请停止。"}})
	loc := r.Header.Get("Location")
	m := ticketLink.FindStringSubmatch(loc)
	if r.StatusCode != http.StatusSeeOther || m == nil || !strings.HasSuffix(loc, "?ok=ticket_filed") {
		t.Fatalf("filing: %d → %s", r.StatusCode, loc)
	}
	id := m[1]
	r = c.get(loc)
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Body, `id="flash-ticket_filed"`) || !strings.Contains(r.text(), "未经同意推送了营销短信。\n请停止。") ||
		!strings.Contains(r.text(), translate(langZH, "tickets.status.open")) {
		t.Fatalf("the ticket page: %d\n%s", r.StatusCode, r.Body)
	}
	if r := c.get("/help"); !strings.Contains(r.Body, `id="ticket-`+id+`"`) {
		t.Errorf("the help page does not list the ticket")
	}
	r = c.submit("/help/tickets/"+id+"/replies", url.Values{"text": {" "}})
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Body, `id="reply-text-error"`) {
		t.Errorf("an empty reply: %d", r.StatusCode)
	}

	other := ticketPageUser(t, a, e, identity.RoleUser)
	if r := other.get("/help/tickets/" + id); r.StatusCode != http.StatusNotFound || strings.Contains(r.Body, "营销短信") {
		t.Errorf("another person opens the ticket: %d", r.StatusCode)
	}
	if r := other.submit("/help/tickets/"+id+"/close", nil); r.StatusCode != http.StatusNotFound {
		t.Errorf("another person closes the ticket: %d", r.StatusCode)
	}
	if r := c.get("/staff/tickets"); r.StatusCode != http.StatusForbidden {
		t.Errorf("a person opens the queue: %d", r.StatusCode)
	}

	// Staff: the queue flags nothing overdue yet; the ticket shows with
	// its history; an answer needs a reply first.
	mod := ticketPageUser(t, a, e, identity.RoleModerator)
	r = mod.get("/staff/tickets")
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Body, `id="queue-`+id+`"`) || !strings.Contains(r.Body, `data-count="0"`) {
		t.Fatalf("the queue: %d\n%s", r.StatusCode, r.Body)
	}
	if r := mod.get("/staff/tickets?category=report_account"); strings.Contains(r.Body, `id="queue-`+id+`"`) {
		t.Errorf("the category filter lets a privacy complaint through")
	}
	r = mod.submit("/staff/tickets/"+id+"/status", url.Values{"status": {"answered"}})
	if r.StatusCode != http.StatusConflict || !strings.Contains(r.Body, `id="status-error"`) {
		t.Errorf("answered without a reply: %d", r.StatusCode)
	}
	r = mod.submit("/staff/tickets/"+id+"/replies", url.Values{"text": {"已为您关闭营销短信。"}, "status": {"answered"}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/staff/tickets/"+id+"?ok=ticket_staff_replied" {
		t.Fatalf("the staff reply: %d → %s", r.StatusCode, r.Header.Get("Location"))
	}
	r = c.get("/help/tickets/" + id)
	if !strings.Contains(r.text(), "已为您关闭营销短信。") || !strings.Contains(r.Body, `data-from="staff"`) || !strings.Contains(r.text(), translate(langZH, "tickets.status.answered")) {
		t.Errorf("the person does not see the answer:\n%s", r.Body)
	}
	// English.
	if r := c.get("/help/tickets/" + id + "?lang=en"); !strings.Contains(r.Body, "Privacy complaint") || !strings.Contains(r.Body, "Answered") {
		t.Errorf("the English page:\n%s", r.Body)
	}
	if r := c.submit("/help/tickets/"+id+"/close", nil); r.StatusCode != http.StatusSeeOther {
		t.Errorf("closing: %d", r.StatusCode)
	}
	if r := c.get("/help/tickets/" + id); strings.Contains(r.Body, `id="reply"`) || strings.Contains(r.Body, `id="close-ticket"`) {
		t.Errorf("a closed ticket still offers a reply or closing")
	}
}

// TestPageTicketsBrowserJourney: P67, P73: in headless Chromium, a person
// files a privacy complaint, a moderator refuses it with a reason on the
// staff page, and the person sees the reason and where to complain.
func TestPageTicketsBrowserJourney(t *testing.T) {
	a, e := ticketPageEnv(t)
	person := ticketPageUser(t, a, e, identity.RoleUser)
	mod := ticketPageUser(t, a, e, identity.RoleModerator)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	bctx := headlessBrowser(t, ctx, 1000, 1000)
	// Each person in a browser context of their own (cookies apart),
	// logged in with the web session their client holds.
	session := func(c *webClient) context.Context {
		t.Helper()
		return browserSession(t, bctx, e, c)
	}
	do := func(bctx context.Context, step string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, steps...); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	text := func(bctx context.Context, sel string) string {
		t.Helper()
		return browserText(t, bctx, sel)
	}
	pctx, mctx := session(person), session(mod)

	const complaint = "我已撤回位置授权，但仍收到基于位置的推送。"
	do(pctx, "open help & feedback from the menu",
		chromedp.Navigate(e.srv.URL+"/me"),
		chromedp.Click(chromedp.CSS("#nav-help")),
		chromedp.WaitVisible(chromedp.CSS("#ticket-form")),
		chromedp.SetValue(chromedp.CSS("#category"), "privacy_complaint"),
		chromedp.SendKeys(chromedp.CSS("#text"), complaint),
		chromedp.Click(chromedp.CSS("#file-ticket")),
		chromedp.WaitVisible(chromedp.CSS("#flash-ticket_filed")),
	)
	id := text(pctx, "#ticket-id")
	if got := text(pctx, "#ticket-status"); got != translate(langZH, "tickets.status.open") {
		t.Errorf("the new ticket reads %q", got)
	}

	const reason = "经核查，推送来自您仍在关注的寻人信息，与位置无关。"
	do(mctx, "open the ticket from the staff queue",
		chromedp.Navigate(e.srv.URL+"/me"),
		chromedp.Click(chromedp.CSS("#nav-staff-tickets")),
		chromedp.WaitVisible(chromedp.CSS("#queue-"+id)),
		chromedp.Click(chromedp.CSS("#queue-"+id+" .open-ticket")),
		chromedp.WaitVisible(chromedp.CSS("#status-card")),
	)
	if got := text(mctx, "#ticket-text"); got != complaint {
		t.Errorf("staff read %q", got)
	}
	do(mctx, "refuse without a reason",
		chromedp.SetValue(chromedp.CSS("#status-select"), "refused"),
		chromedp.Click(chromedp.CSS("#status-submit")),
		chromedp.WaitVisible(chromedp.CSS("#status-reason-error")),
	)
	do(mctx, "refuse with a reason",
		chromedp.SetValue(chromedp.CSS("#status-select"), "refused"),
		chromedp.SendKeys(chromedp.CSS("#status-reason-input"), reason),
		chromedp.Click(chromedp.CSS("#status-submit")),
		chromedp.WaitVisible(chromedp.CSS("#flash-ticket_status")),
	)
	if got := text(mctx, "#ticket-status"); got != translate(langZH, "tickets.status.refused") {
		t.Errorf("after the refusal staff see %q", got)
	}

	do(pctx, "see the refusal",
		chromedp.Navigate(e.srv.URL+"/help/tickets/"+id),
		chromedp.WaitVisible(chromedp.CSS("#refusal")),
	)
	if got := text(pctx, "#status-reason"); got != reason {
		t.Errorf("the person reads the reason %q, want %q", got, reason)
	}
	if got := text(pctx, "#regulator"); !strings.Contains(got, "12377") {
		t.Errorf("P73: the refusal does not name the route to the regulator: %q", got)
	}
	if got := text(pctx, "#ticket-status"); got != translate(langZH, "tickets.status.refused") {
		t.Errorf("the person reads the status %q", got)
	}
}
