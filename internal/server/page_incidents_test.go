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

var incidentLink = regexp.MustCompile(`/staff/incidents/([0-9a-f-]{36})`)

// incidentForm is a valid declaration form: in Chinese, for the listed
// account ids.
func incidentPageForm(ids string) url.Values {
	return url.Values{
		"severity":         {"high"},
		"occurred_at":      {time.Now().Add(-30 * time.Hour).In(chinaTime).Format("2006-01-02T15:04")},
		"zh_what_happened": {"一台备份服务器被公开访问约 3 小时。"},
		"zh_impact":        {"手机号和昵称可能被他人获取。"},
		"zh_measures":      {"已关闭访问、更换密钥并报警。"},
		"zh_advice":        {"警惕冒充客服的来电，不要透露验证码。"},
		"zh_remedies":      {"免费提供 12 个月号码保护服务。"},
		"affected":         {"listed"},
		"affected_ids":     {ids},
	}
}

// TestPageIncidents: P54 in the staff console: only admins open it; a
// refused declaration says which element is missing and keeps what was
// typed; a declaration shows its progress and regulator report record,
// which is marked submitted, and the incident is closed once everyone is
// told. An incident that affects everyone is announced on the public
// page, linked from every page's footer, in Chinese and English.
func TestPageIncidents(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t, storetest.Targets(t)[0], apiEnvOptions{})
	e := pageEnvOfAPI(t, a)
	_, login := a.signUp(t, apiPhone())
	affected := login["user"].(map[string]any)["id"].(string)

	anon := e.client()
	r := anon.get("/announcements")
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Body, `id="no-announcements"`) || !strings.Contains(r.Body, `id="footer-announcements"`) {
		t.Fatalf("GET /announcements: %d\n%s", r.StatusCode, r.Body)
	}
	if r := anon.get("/staff/incidents"); r.StatusCode != http.StatusSeeOther {
		t.Errorf("the console logged out: %d", r.StatusCode)
	}
	mod := ticketPageUser(t, a, e, identity.RoleModerator)
	if r := mod.get("/staff/incidents"); r.StatusCode != http.StatusForbidden {
		t.Errorf("a moderator opens the console: %d", r.StatusCode)
	}
	if r := mod.submit("/staff/incidents", incidentPageForm(affected)); r.StatusCode != http.StatusForbidden {
		t.Errorf("a moderator declares: %d", r.StatusCode)
	}

	admin := ticketPageUser(t, a, e, identity.RoleAdmin)
	r = admin.get("/staff/incidents")
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Body, `id="declare-form"`) || !strings.Contains(r.Body, `id="no-incidents"`) ||
		!strings.Contains(r.Body, `id="nav-incidents"`) {
		t.Fatalf("the console: %d\n%s", r.StatusCode, r.Body)
	}
	// CSRF: a post without the token is refused and declares nothing.
	if r := admin.post("/staff/incidents", incidentPageForm(affected)); r.StatusCode != http.StatusForbidden {
		t.Errorf("a post without the CSRF token: %d", r.StatusCode)
	}
	// A missing element is named on the form, and what was typed stays.
	f := incidentPageForm(affected)
	f.Del("zh_remedies")
	r = admin.submit("/staff/incidents", f)
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Body, `id="zh-remedies-error"`) || !strings.Contains(r.text(), "手机号和昵称可能被他人获取。") {
		t.Fatalf("a declaration without remedies: %d\n%s", r.StatusCode, r.Body)
	}
	f = incidentPageForm(affected + "\n019a0000-0000-7000-8000-000000000000")
	if r := admin.submit("/staff/incidents", f); r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Body, `id="affected-error"`) {
		t.Errorf("an unknown account: %d", r.StatusCode)
	}
	if r := admin.get("/staff/incidents"); !strings.Contains(r.Body, `id="no-incidents"`) {
		t.Fatalf("a refused declaration was stored")
	}

	r = admin.submit("/staff/incidents", incidentPageForm(affected))
	loc := r.Header.Get("Location")
	m := incidentLink.FindStringSubmatch(loc)
	if r.StatusCode != http.StatusSeeOther || m == nil || !strings.HasSuffix(loc, "?ok=incident_declared") {
		t.Fatalf("declaring: %d → %s\n%s", r.StatusCode, loc, r.Body)
	}
	id := m[1]
	r = admin.get(loc)
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Body, `id="flash-incident_declared"`) || !strings.Contains(r.Body, `id="progress-running"`) ||
		!strings.Contains(r.Body, `id="report-pending"`) || !strings.Contains(r.text(), "事件级别：重大") || !strings.Contains(r.Body, `disabled>`) {
		t.Fatalf("the incident page: %d\n%s", r.StatusCode, r.Body)
	}
	a.runIncidentJob(t)
	r = admin.get("/staff/incidents/" + id)
	if !strings.Contains(r.Body, `id="progress-done"`) || !strings.Contains(r.text(), "已告知 1 / 1 个账号") {
		t.Errorf("the progress after the job:\n%s", r.Body)
	}
	if r := admin.submit("/staff/incidents/"+id+"/regulator-report", url.Values{"reference": {" "}}); r.StatusCode != http.StatusBadRequest ||
		!strings.Contains(r.Body, `id="reference-error"`) {
		t.Errorf("a report without a reference: %d", r.StatusCode)
	}
	r = admin.submit("/staff/incidents/"+id+"/regulator-report", url.Values{"reference": {"京网信〔2026〕9号"}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/staff/incidents/"+id+"?ok=incident_reported" {
		t.Fatalf("the report: %d → %s", r.StatusCode, r.Header.Get("Location"))
	}
	if r := admin.get("/staff/incidents/" + id); !strings.Contains(r.Body, `id="report-submitted"`) || !strings.Contains(r.text(), "京网信〔2026〕9号") {
		t.Errorf("the submitted report is not shown")
	}
	if r := admin.submit("/staff/incidents/"+id+"/close", nil); r.StatusCode != http.StatusSeeOther {
		t.Errorf("closing: %d", r.StatusCode)
	}
	if r := admin.get("/staff/incidents/" + id + "?lang=en"); !strings.Contains(r.Body, `data-status="closed"`) || strings.Contains(r.Body, `id="close-incident"`) ||
		!strings.Contains(r.Body, "Possible impact") {
		t.Errorf("the closed incident in English:\n%s", r.Body)
	}

	// Everyone: in English only, announced publicly.
	f = url.Values{"severity": {"critical"}, "occurred_at": {time.Now().Add(-time.Hour).In(chinaTime).Format("2006-01-02T15:04")},
		"en_what_happened": {"Our login service leaked session cookies."}, "en_impact": {"Someone may have used your account."},
		"en_measures": {"All sessions were ended."}, "en_advice": {"Log in again and check your devices."}, "en_remedies": {"We restore anything changed."},
		"affected": {"all"}}
	if r := admin.submit("/staff/incidents", f); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("declaring for everyone: %d\n%s", r.StatusCode, r.Body)
	}
	r = anon.get("/announcements")
	am := regexp.MustCompile(`href="/announcements/([0-9a-f-]{36})"`).FindStringSubmatch(r.Body)
	if r.StatusCode != http.StatusOK || am == nil || !strings.Contains(r.text(), "Our login service leaked session cookies.") {
		t.Fatalf("the public announcements: %d\n%s", r.StatusCode, r.Body)
	}
	r = anon.get("/announcements/" + am[1])
	for _, want := range []string{"事件情况", "对用户的补救措施", "All sessions were ended.", "We restore anything changed.", `lang="en"`} {
		if !strings.Contains(r.text(), want) {
			t.Errorf("the announcement lacks %q:\n%s", want, r.Body)
		}
	}
	if r := anon.get("/announcements/" + am[1] + "?lang=en"); !strings.Contains(r.Body, "What happened") || strings.Contains(r.Body, `<dl class="facts" lang=`) {
		t.Errorf("the English announcement:\n%s", r.Body)
	}
	if r := anon.get("/announcements/019a0000-0000-7000-8000-000000000000"); r.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown announcement: %d", r.StatusCode)
	}
}

// TestPageIncidentsBrowserJourney: P54 in headless Chromium: an admin
// opens the console from the menu and declares an incident that affects
// everyone; once the job ran, a person reads the notice with its five
// elements in the inbox and the announcement through the footer link.
func TestPageIncidentsBrowserJourney(t *testing.T) {
	a := newAPIEnv(t, storetest.Targets(t)[0], apiEnvOptions{})
	e := pageEnvOfAPI(t, a)
	admin := ticketPageUser(t, a, e, identity.RoleAdmin)
	person := ticketPageUser(t, a, e, identity.RoleUser)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	bctx := headlessBrowser(t, ctx, 1000, 1200)
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
	actx, pctx := session(admin), session(person)

	els := map[string]string{"what_happened": "登录服务泄露了会话凭据。", "impact": "他人可能登录过您的账号。", "measures": "已使所有会话失效。",
		"advice": "重新登录并检查登录设备。", "remedies": "被改动的资料将为您恢复。"}
	steps := []chromedp.Action[chromedp.Void]{
		chromedp.Navigate(e.srv.URL + "/me"),
		chromedp.Click(chromedp.CSS("#nav-incidents")),
		chromedp.WaitVisible(chromedp.CSS("#declare-form")),
		chromedp.SetValue(chromedp.CSS("#severity"), "critical"),
		chromedp.SetValue(chromedp.CSS("#occurred-at"), time.Now().Add(-2*time.Hour).In(chinaTime).Format("2006-01-02T15:04")),
	}
	for _, f := range []string{"what_happened", "impact", "measures", "advice", "remedies"} {
		steps = append(steps, chromedp.SendKeys(chromedp.CSS("#zh-"+f), els[f]))
	}
	steps = append(steps, chromedp.Click(chromedp.CSS("#affected-all")), chromedp.Click(chromedp.CSS("#declare")),
		chromedp.WaitVisible(chromedp.CSS("#flash-incident_declared")))
	do(actx, "declare an incident for everyone", steps...)
	if got := text(actx, "#incident-scope"); !strings.Contains(got, "全体用户") {
		t.Errorf("the scope reads %q", got)
	}
	if got := text(actx, "#incident-status"); got != translate(langZH, "incidents.status.declared") {
		t.Errorf("the status reads %q", got)
	}

	a.runIncidentJob(t)
	do(pctx, "read the notice in the inbox",
		chromedp.Navigate(e.srv.URL+"/inbox"),
		chromedp.WaitVisible(chromedp.CSS("main")),
	)
	inbox := text(pctx, "main")
	for f, v := range els {
		if !strings.Contains(inbox, v) {
			t.Errorf("P54: the inbox notice lacks %s %q:\n%s", f, v, inbox)
		}
	}
	do(pctx, "open the announcement from the footer",
		chromedp.Click(chromedp.CSS("#footer-announcements")),
		chromedp.WaitVisible(chromedp.CSS("#announcement-list")),
		chromedp.Click(chromedp.CSS("#announcement-list .open-announcement")),
		chromedp.WaitVisible(chromedp.CSS("#announcement")),
	)
	if got := text(pctx, `[data-element="remedies"]`); got != els["remedies"] {
		t.Errorf("the announcement's remedies read %q", got)
	}
}
