package server

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/identity"
	"github.com/yuncan/yuncan/internal/storetest"
)

// The privacy center and the public privacy pages, through plain HTTP
// as a browser without scripts uses them, and once in headless Chromium.

// pageEnvOfAPI serves the pages of a fully wired API env (policy versions
// restricting the gate, the minors rules) to the page helpers.
func pageEnvOfAPI(t *testing.T, a *apiEnv) *pageEnv {
	return &pageEnv{t: t, srv: a.ts, ids: a.ident, outbox: a.outbox}
}

// signUpAs signs up through the login page with an age band; a minor
// also confirms reading the policy with a guardian.
func (c *webClient) signUpAs(e *pageEnv, phone string, band identity.AgeBand) {
	c.t.Helper()
	if r := c.get("/login"); r.StatusCode != http.StatusOK {
		c.t.Fatalf("GET /login: %d", r.StatusCode)
	}
	if r := c.submit("/login/code", url.Values{"phone": {phone}}); r.StatusCode != http.StatusOK {
		c.t.Fatalf("POST /login/code: %d\n%s", r.StatusCode, r.Body)
	}
	form := url.Values{"phone": {phone}, "code": {e.code("+86" + phone)}, "accept_policy_version": {consent.Current().Version},
		"age_band": {string(band)}}
	if band.Minor() {
		form.Set("guardian_acknowledged", "true")
	}
	if r := c.submit("/login", form); r.StatusCode != http.StatusSeeOther {
		c.t.Fatalf("sign-up as %s: %d\n%s", band, r.StatusCode, r.Body)
	}
}

// apiGet calls the JSON API with the web session's token, as the app
// would with its own: the pages and the API must agree.
func (c *webClient) apiGet(path string, out any) {
	c.t.Helper()
	req, err := http.NewRequest("GET", c.base+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.cookie(sessionCookie))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		c.t.Fatalf("GET %s: %d", path, res.StatusCode)
	}
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		c.t.Fatalf("GET %s: %v", path, err)
	}
}

// apiConsents is what GET /api/v1/consents reports: purpose → granted.
func (c *webClient) apiConsents() map[string]bool {
	c.t.Helper()
	var body struct {
		Consents []struct {
			Purpose string `json:"purpose"`
			Granted bool   `json:"granted"`
		} `json:"consents"`
	}
	c.apiGet("/api/v1/consents", &body)
	out := map[string]bool{}
	for _, s := range body.Consents {
		out[s.Purpose] = s.Granted
	}
	return out
}

type apiLedgerEvent struct {
	Purpose, Action, Channel, At, PolicyVersion string
}

func (c *webClient) apiHistory() []apiLedgerEvent {
	c.t.Helper()
	var body struct {
		Events []struct {
			Purpose       string `json:"purpose"`
			Action        string `json:"action"`
			Channel       string `json:"channel"`
			At            string `json:"at"`
			PolicyVersion string `json:"policy_version"`
		} `json:"events"`
	}
	c.apiGet("/api/v1/consents/history", &body)
	var out []apiLedgerEvent
	for _, e := range body.Events {
		out = append(out, apiLedgerEvent{e.Purpose, e.Action, e.Channel, e.At, e.PolicyVersion})
	}
	return out
}

// text is the page's HTML with entities decoded, for looking up texts.
func (r pageResp) text() string { return html.UnescapeString(r.Body) }

// purposeGranted reads a consent row's state from the privacy center.
func purposeGranted(t *testing.T, r pageResp, p string) bool {
	t.Helper()
	m := regexp.MustCompile(`id="purpose-` + regexp.QuoteMeta(p) + `" data-purpose="[^"]+" data-granted="(true|false)"`).FindStringSubmatch(r.Body)
	if m == nil {
		t.Fatalf("the privacy center shows no row for %s", p)
	}
	return m[1] == "true"
}

func loadDataMap(t *testing.T) *consent.DataMap {
	t.Helper()
	dm, err := consent.LoadDataMap()
	if err != nil {
		t.Fatal(err)
	}
	return dm
}

// TestPagePrivacyLoggedOut: the privacy center needs a login; the
// policy history and the inventory do not.
func TestPagePrivacyLoggedOut(t *testing.T) {
	e := newPageEnv(t, "")
	c := e.client()
	if r := c.get("/me/privacy"); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login" {
		t.Errorf("GET /me/privacy logged out: %d → %q; want 303 → /login", r.StatusCode, r.Header.Get("Location"))
	}
	for _, p := range []string{"/me/privacy/consents/contacts/grant", "/me/privacy/settings", "/me/privacy/guardian"} {
		if r := c.submit(p, nil); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login" {
			t.Errorf("POST %s logged out: %d → %q; want 303 → /login", p, r.StatusCode, r.Header.Get("Location"))
		}
	}
	for _, p := range []string{"/privacy/history", "/privacy/inventory", "/privacy/versions/" + consent.Base().Version} {
		if r := c.get(p); r.StatusCode != http.StatusOK {
			t.Errorf("GET %s logged out: %d, want 200", p, r.StatusCode)
		}
	}
	if r := c.get("/privacy/versions/no-such-version"); r.StatusCode != http.StatusNotFound {
		t.Errorf("GET an unknown version: %d, want 404", r.StatusCode)
	}
}

// TestPagePrivacyCSRF: every privacy form is refused without the
// double-submit token or from another site, and nothing changes.
func TestPagePrivacyCSRF(t *testing.T) {
	e := newPageEnv(t, "")
	c := e.client()
	c.login(e, "13900139010")
	var before privacySettingsJSON
	c.apiGet("/api/v1/me/privacy-settings", &before)

	allOn := url.Values{}
	for _, f := range []string{"recommend_me_to_contacts", "suggest_people_i_may_know", "programmatic_ads", "marketing_push", "personalized_recommendations"} {
		allOn.Set(f, "on")
	}
	posts := []struct {
		path string
		form url.Values
	}{
		{"/me/privacy/consents/personalized_recommendation/grant", nil},
		{"/me/privacy/consents/precise_location/grant", nil},
		{"/me/privacy/settings", allOn},
		{"/me/privacy/policy/" + consent.Base().Version + "/accept", nil},
	}
	for _, p := range posts {
		for name, tok := range map[string][]string{"missing": nil, "wrong": {strings.Repeat("A", csrfTokenLen)}} {
			form := url.Values{}
			for k, v := range p.form {
				form[k] = v
			}
			if tok != nil {
				form["csrf"] = tok
			}
			if r := c.post(p.path, form); r.StatusCode != http.StatusForbidden {
				t.Errorf("%s token: POST %s = %d, want 403", name, p.path, r.StatusCode)
			}
		}
	}
	c.header.Set("Origin", "http://evil.example")
	c.header.Set("Sec-Fetch-Site", "cross-site")
	for _, p := range posts {
		if r := c.submit(p.path, p.form); r.StatusCode != http.StatusForbidden {
			t.Errorf("cross-site POST %s with a valid token = %d, want 403", p.path, r.StatusCode)
		}
	}
	c.header = http.Header{}

	dm, err := consent.LoadDataMap()
	if err != nil {
		t.Fatal(err)
	}
	for p, granted := range c.apiConsents() {
		if granted && dm.Purpose(consent.Purpose(p)).Basis != consent.BasisNecessary {
			t.Errorf("a refused post granted %s", p)
		}
	}
	var after privacySettingsJSON
	c.apiGet("/api/v1/me/privacy-settings", &after)
	if after != before {
		t.Errorf("a refused post changed the settings: %+v → %+v", before, after)
	}
	if h := c.apiHistory(); len(h) != 0 {
		t.Errorf("a refused post wrote the ledger: %+v", h)
	}
}

// TestPagePrivacyConsents: the consents section lists every purpose,
// optional ones off (P01), and its buttons grant and withdraw exactly
// what GET /api/v1/consents then reports (P05, P63).
func TestPagePrivacyConsents(t *testing.T) {
	dm := loadDataMap(t)
	e := newPageEnv(t, "")
	c := e.client()
	c.login(e, "13900139011")

	r := c.get("/me/privacy")
	if r.StatusCode != http.StatusOK {
		t.Fatalf("GET /me/privacy: %d", r.StatusCode)
	}
	page := r.text()
	// P01: accepting the policy granted nothing optional: the page and
	// the API agree.
	api := c.apiConsents()
	for _, d := range dm.Purposes {
		if !strings.Contains(page, d.Name.ZH) || !strings.Contains(page, d.Description.ZH) {
			t.Errorf("the privacy center lacks the name or description of %s", d.ID)
		}
		id := string(d.ID)
		if d.Basis == consent.BasisNecessary {
			if strings.Contains(r.Body, `id="grant-`+id+`"`) || strings.Contains(r.Body, `id="withdraw-`+id+`"`) {
				t.Errorf("necessary purpose %s has a switch", id)
			}
			continue
		}
		if purposeGranted(t, r, id) || api[id] {
			t.Errorf("P01: %s is granted after sign-up (page %v, API %v)", id, purposeGranted(t, r, id), api[id])
		}
		if !strings.Contains(r.Body, `id="grant-`+id+`"`) {
			t.Errorf("optional purpose %s has no grant button", id)
		}
		if d.Sensitive != strings.Contains(r.Body, `id="sensitive-`+id+`"`) {
			t.Errorf("purpose %s: sensitive %v, but the page's marker disagrees", id, d.Sensitive)
		}
	}
	if !strings.Contains(page, translate(langZH, "privacy.consents.basic")) {
		t.Error("the necessary purposes are not marked as needed for the basic service")
	}
	if !strings.Contains(r.Body, `id="history-empty"`) {
		t.Error("a new account's history is not empty")
	}

	// P05: grant a non-sensitive and a sensitive purpose, each by its own
	// request.
	for _, p := range []string{"personalized_recommendation", "precise_location"} {
		r := c.submit("/me/privacy/consents/"+p+"/grant", nil)
		if want := "/me/privacy?ok=consent_granted#purpose-" + p; r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != want {
			t.Fatalf("grant %s: %d → %q; want 303 → %q\n%s", p, r.StatusCode, r.Header.Get("Location"), want, r.Body)
		}
	}
	api = c.apiConsents()
	if !api["personalized_recommendation"] || !api["precise_location"] || api["contacts"] {
		t.Errorf("after two grants the API reports %v", api)
	}
	r = c.get("/me/privacy?ok=consent_granted")
	if !strings.Contains(r.Body, `id="flash-consent_granted"`) {
		t.Error("no flash after a grant")
	}
	for _, p := range []string{"personalized_recommendation", "precise_location"} {
		if !purposeGranted(t, r, p) || !strings.Contains(r.Body, `id="withdraw-`+p+`"`) || !strings.Contains(r.Body, `id="granted-at-`+p+`"`) {
			t.Errorf("after granting %s the page shows it not granted, without a withdraw button or without its time", p)
		}
	}

	// P63: withdraw the sensitive one; the history keeps both times.
	r = c.submit("/me/privacy/consents/precise_location/withdraw", nil)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/me/privacy?ok=consent_withdrawn#purpose-precise_location" {
		t.Fatalf("withdraw: %d → %q", r.StatusCode, r.Header.Get("Location"))
	}
	if api = c.apiConsents(); api["precise_location"] || !api["personalized_recommendation"] {
		t.Errorf("after the withdrawal the API reports %v", api)
	}
	r = c.get("/me/privacy")
	if purposeGranted(t, r, "precise_location") || !strings.Contains(r.Body, `id="withdrawn-at-precise_location"`) {
		t.Error("the withdrawn purpose shows granted, or without its withdrawal time")
	}
	rows := regexp.MustCompile(`<tr data-purpose="([a-z_]+)" data-action="(grant|withdraw)">`).FindAllStringSubmatch(r.Body, -1)
	var got []string
	for _, m := range rows {
		got = append(got, m[1]+":"+m[2])
	}
	if want := []string{"precise_location:withdraw", "precise_location:grant", "personalized_recommendation:grant"}; !slices.Equal(got, want) {
		t.Errorf("history rows (newest first) = %v, want %v", got, want)
	}
	for _, ev := range c.apiHistory() {
		if ev.Channel != string(consent.ChannelWeb) || ev.PolicyVersion != consent.Base().Version {
			t.Errorf("ledger event %+v: want channel web and policy version %s", ev, consent.Base().Version)
		}
	}
	if !strings.Contains(r.text(), translate(langZH, "privacy.history.channel.web")) {
		t.Error("the history does not name the channel")
	}

	// A second withdrawal (a double click) is what was asked: no error,
	// no event.
	if r := c.submit("/me/privacy/consents/precise_location/withdraw", nil); r.StatusCode != http.StatusSeeOther {
		t.Errorf("withdrawing again: %d, want 303", r.StatusCode)
	}
	if n := len(c.apiHistory()); n != 3 {
		t.Errorf("after withdrawing again the ledger has %d events, want 3", n)
	}
	// Necessary purposes have no switch, and the service says why.
	r = c.submit("/me/privacy/consents/account/grant", nil)
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.text(), translate(langZH, "privacy.reason.purpose_necessary")) {
		t.Errorf("granting a necessary purpose: %d, want 400 with the reason", r.StatusCode)
	}
	if r := c.submit("/me/privacy/consents/mind_reading/grant", nil); r.StatusCode != http.StatusNotFound {
		t.Errorf("granting an unknown purpose: %d, want 404", r.StatusCode)
	}
}

// TestPagePrivacySettings: the settings form sets all seven; the four
// consent switches are the ledger's (P56 switch, P58, P61, P62).
func TestPagePrivacySettings(t *testing.T) {
	e := newPageEnv(t, "")
	c := e.client()
	c.login(e, "13900139012")

	r := c.get("/me/privacy")
	for _, f := range []string{"recommend_me_to_contacts", "suggest_people_i_may_know", "show_identity_on_share_pages",
		"personalized_recommendations", "programmatic_ads", "marketing_push", "marketing_sms"} {
		if !strings.Contains(r.Body, `id="setting-`+f+`" name="`+f+`"`) || !strings.Contains(r.Body, `<label for="setting-`+f+`">`) {
			t.Errorf("the settings form lacks a labelled checkbox for %s", f)
		}
		if label := translate(langZH, "privacy.setting."+f); label == "privacy.setting."+f || !hasMessage("privacy.setting."+f+".hint") {
			t.Errorf("setting %s has no label or explanation", f)
		}
	}
	// The defaults: only the share page identity is on (consent.DefaultSocialSettings).
	if !strings.Contains(r.Body, `name="show_identity_on_share_pages" value="on" checked`) {
		t.Error("the share-page switch does not start on")
	}

	r = c.submit("/me/privacy/settings", url.Values{"recommend_me_to_contacts": {"on"}, "programmatic_ads": {"on"}, "marketing_sms": {"on"}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/me/privacy?ok=privacy_settings#settings" {
		t.Fatalf("POST /me/privacy/settings: %d → %q\n%s", r.StatusCode, r.Header.Get("Location"), r.Body)
	}
	var st privacySettingsJSON
	c.apiGet("/api/v1/me/privacy-settings", &st)
	want := privacySettingsJSON{RecommendMeToContacts: true, ProgrammaticAds: true, MarketingSMS: true}
	if st != want {
		t.Errorf("settings after the form = %+v, want %+v", st, want)
	}
	api := c.apiConsents()
	if !api["programmatic_ads"] || !api["marketing_sms"] || api["marketing_push"] || api["personalized_recommendation"] {
		t.Errorf("consents after the settings form = %v", api)
	}
	r = c.get("/me/privacy")
	if !purposeGranted(t, r, "programmatic_ads") || !strings.Contains(r.Body, `name="programmatic_ads" value="on" checked`) {
		t.Error("the consents and the settings on the page disagree with the ledger")
	}

	// Everything off: the two consents are withdrawn in the ledger.
	if r := c.submit("/me/privacy/settings", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST all off: %d", r.StatusCode)
	}
	c.apiGet("/api/v1/me/privacy-settings", &st)
	if st != (privacySettingsJSON{}) {
		t.Errorf("settings after all off = %+v", st)
	}
	var withdrawn []string
	for _, ev := range c.apiHistory() {
		if ev.Action == "withdraw" {
			withdrawn = append(withdrawn, ev.Purpose)
		}
	}
	slices.Sort(withdrawn)
	if !slices.Equal(withdrawn, []string{"marketing_sms", "programmatic_ads"}) {
		t.Errorf("withdrawals in the ledger = %v", withdrawn)
	}
}

// TestPagePrivacyPolicyPending: P72: a version that reduces rights shows
// as a notice with its summary; the purposes it changed are refused with
// a clear message until the person accepts it with the notice's button.
func TestPagePrivacyPolicyPending(t *testing.T) {
	a := newAPIEnv(t, storetest.Targets(t)[0], apiEnvOptions{})
	e := pageEnvOfAPI(t, a)
	c := e.client()
	c.login(e, apiPhone())

	r := c.get("/me/privacy")
	if strings.Contains(r.Body, `id="policy-pending"`) || !strings.Contains(r.Body, `id="policy-in-force" data-version="`+consent.Base().Version+`"`) {
		t.Fatal("a new account sees a pending policy, or not the version in force")
	}
	if c.submit("/me/privacy/consents/personalized_recommendation/grant", nil).StatusCode != http.StatusSeeOther {
		t.Fatal("grant before the new version")
	}
	const next = "2031-v2"
	if _, err := a.versions.Publish(context.Background(), "staff-test", consent.PublishRequest{Version: next,
		Text: "云寻隐私政策 " + next + "\nYuncan privacy policy " + next, Summary: consent.Text{ZH: "通讯录和推荐的用法有变化", EN: "Contacts and recommendations change"},
		ChangedPurposes: []consent.Purpose{consent.PurposeContacts, consent.PurposePersonalized}, ReducesRights: true}); err != nil {
		t.Fatal(err)
	}

	// P72: the notice, with the summary and the paused purposes.
	r = c.get("/me/privacy")
	page := r.text()
	if !strings.Contains(r.Body, `id="policy-pending"`) || !strings.Contains(r.Body, `data-version="`+next+`"`) || !strings.Contains(page, "通讯录和推荐的用法有变化") {
		t.Fatalf("no pending notice with the new version's summary:\n%s", r.Body)
	}
	if !strings.Contains(r.Body, `id="policy-pending-held"`) || !strings.Contains(r.Body, `href="/privacy/versions/`+next+`"`) {
		t.Error("the notice does not name the paused purposes or link the new text")
	}
	// The granted purpose is shown paused, the other cannot be granted.
	held := translate(langZH, "privacy.reason.policy_acceptance_required")
	if strings.Count(page, held) < 2 || strings.Contains(r.Body, `id="grant-contacts"`) {
		t.Error("the purposes the new version holds back are not shown as paused")
	}
	r = c.submit("/me/privacy/consents/contacts/grant", nil)
	if r.StatusCode != http.StatusForbidden || !strings.Contains(r.text(), held) || !strings.Contains(r.Body, `id="consent-error"`) {
		t.Errorf("granting a held-back purpose: %d, want 403 with %q", r.StatusCode, held)
	}
	if c.apiConsents()["contacts"] {
		t.Error("a refused grant was recorded")
	}
	// Accepting an old version is refused with a clear message.
	r = c.submit("/me/privacy/policy/"+consent.Base().Version+"/accept", nil)
	if r.StatusCode != http.StatusConflict || !strings.Contains(r.text(), translate(langZH, "privacy.reason.policy_version_stale")) {
		t.Errorf("accepting the old version: %d", r.StatusCode)
	}
	r = c.submit("/me/privacy/policy/"+next+"/accept", nil)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/me/privacy?ok=policy_accepted#policy" {
		t.Fatalf("accept: %d → %q", r.StatusCode, r.Header.Get("Location"))
	}
	r = c.get("/me/privacy")
	if strings.Contains(r.Body, `id="policy-pending"`) || strings.Contains(r.text(), held) {
		t.Error("after accepting, the notice or the pause remains")
	}
	if r := c.submit("/me/privacy/consents/contacts/grant", nil); r.StatusCode != http.StatusSeeOther || !c.apiConsents()["contacts"] {
		t.Errorf("granting after accepting: %d", r.StatusCode)
	}
	r = c.submit("/me/privacy/policy/no-such-version/accept", nil)
	if r.StatusCode != http.StatusNotFound || !strings.Contains(r.Body, `id="policy-error"`) || !strings.Contains(r.text(), translate(langZH, "privacy.policy.no_such_version")) {
		t.Errorf("accepting an unknown version: %d, want 404 with a message in the policy section", r.StatusCode)
	}

	// The public history lists both versions, newest first, each linked.
	r = c.get("/privacy/history")
	versions := regexp.MustCompile(`<li class="card version[^"]*" id="version-([^"]+)"`).FindAllStringSubmatch(r.Body, -1)
	if len(versions) != 2 || versions[0][1] != next || versions[1][1] != consent.Base().Version {
		t.Errorf("history lists %v, want %s then %s", versions, next, consent.Base().Version)
	}
	r = c.get("/privacy/versions/" + next)
	if r.StatusCode != http.StatusOK || !strings.Contains(r.text(), "Yuncan privacy policy "+next) || !strings.Contains(r.text(), "通讯录和推荐的用法有变化") {
		t.Errorf("GET the new version: %d, without its text or summary", r.StatusCode)
	}
	r = c.get("/privacy/versions/" + consent.Base().Version + "?lang=en")
	if !strings.Contains(r.Body, `id="version-replaced"`) || !strings.Contains(r.Body, `lang="en"`) {
		t.Error("the old version is not marked replaced")
	}
}

// TestPagePrivacyMinors: P70: a child under 14 sees the deadline and sends
// and verifies the guardian's code from the page; until then every
// optional purpose is refused with a clear message. Under 18, ads stay
// off, and a refused settings form changes nothing.
func TestPagePrivacyMinors(t *testing.T) {
	a := newAPIEnv(t, storetest.Targets(t)[0], apiEnvOptions{})
	e := pageEnvOfAPI(t, a)

	child, childPhone := e.client(), apiPhone()
	child.signUpAs(e, childPhone, identity.AgeUnder14)
	r := child.get("/me/privacy")
	if !strings.Contains(r.Body, `id="guardian-required"`) || !strings.Contains(r.Body, `id="guardian-deadline"`) {
		t.Fatalf("no guardian notice for a child under 14:\n%s", r.Body)
	}
	if strings.Contains(r.Body, `id="grant-contacts"`) || !strings.Contains(r.text(), translate(langZH, "privacy.reason.guardian_consent_required")) {
		t.Error("optional purposes look grantable before the guardian agrees")
	}
	r = child.submit("/me/privacy/consents/contacts/grant", nil)
	if r.StatusCode != http.StatusForbidden || !strings.Contains(r.text(), translate(langZH, "privacy.reason.guardian_consent_required")) {
		t.Errorf("a child's grant: %d, want 403 with the guardian message", r.StatusCode)
	}
	r = child.submit("/me/privacy/guardian", url.Values{"guardian_phone": {childPhone}})
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Body, `id="guardian-phone-error"`) {
		t.Errorf("the child's own number as the guardian's: %d, want 400 beside the field", r.StatusCode)
	}
	guardian := apiPhone()
	r = child.submit("/me/privacy/guardian", url.Values{"guardian_phone": {guardian}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/me/privacy?ok=guardian_sent#minors" {
		t.Fatalf("send the guardian code: %d → %q\n%s", r.StatusCode, r.Header.Get("Location"), r.Body)
	}
	r = child.get("/me/privacy")
	if !strings.Contains(r.Body, `id="guardian-sent"`) || !strings.Contains(r.Body, maskPhone(apiE164(guardian))) {
		t.Error("the page does not say where the code went")
	}
	if r := child.submit("/me/privacy/guardian/verify", url.Values{"code": {"000000"}}); r.StatusCode < 400 || r.StatusCode >= 500 || !strings.Contains(r.Body, `id="guardian-error"`) {
		t.Errorf("a wrong guardian code: %d, want a 4xx with a message", r.StatusCode)
	}
	r = child.submit("/me/privacy/guardian/verify", url.Values{"code": {e.code(apiE164(guardian))}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/me/privacy?ok=guardian_verified#minors" {
		t.Fatalf("verify: %d → %q\n%s", r.StatusCode, r.Header.Get("Location"), r.Body)
	}
	r = child.get("/me/privacy")
	if !strings.Contains(r.Body, `id="guardian-verified"`) || strings.Contains(r.Body, `id="guardian-required"`) {
		t.Error("after verification the page still asks for a guardian")
	}
	if r := child.submit("/me/privacy/consents/contacts/grant", nil); r.StatusCode != http.StatusSeeOther || !child.apiConsents()["contacts"] {
		t.Errorf("a child's grant after the guardian agreed: %d", r.StatusCode)
	}
	// Still under 18: no ads.
	if r := child.submit("/me/privacy/consents/programmatic_ads/grant", nil); r.StatusCode != http.StatusForbidden ||
		!strings.Contains(r.text(), translate(langZH, "privacy.reason.adults_only")) {
		t.Errorf("a child's ads grant: %d, want 403 adults only", r.StatusCode)
	}

	teen := e.client()
	teen.signUpAs(e, apiPhone(), identity.Age14To17)
	r = teen.get("/me/privacy")
	if strings.Contains(r.Body, `id="guardian-required"`) || !strings.Contains(r.Body, `id="minors-adults-only"`) || strings.Contains(r.Body, `id="grant-programmatic_ads"`) {
		t.Error("a 14-17 account: wrong minors section, or ads offered")
	}
	r = teen.submit("/me/privacy/guardian", url.Values{"guardian_phone": {apiPhone()}})
	if r.StatusCode != http.StatusConflict || !strings.Contains(r.Body, `id="guardian-error"`) || !strings.Contains(r.text(), translate(langZH, "privacy.reason.guardian_not_required")) {
		t.Errorf("a 14-17 account asking for a guardian code: %d, want 409 with a message", r.StatusCode)
	}
	var before privacySettingsJSON
	teen.apiGet("/api/v1/me/privacy-settings", &before)
	r = teen.submit("/me/privacy/settings", url.Values{"suggest_people_i_may_know": {"on"}, "programmatic_ads": {"on"}})
	if r.StatusCode != http.StatusForbidden || !strings.Contains(r.Body, `id="settings-error"`) || !strings.Contains(r.text(), translate(langZH, "privacy.reason.adults_only")) {
		t.Errorf("a teen's settings form with ads on: %d, want 403 with the adults-only message", r.StatusCode)
	}
	var after privacySettingsJSON
	teen.apiGet("/api/v1/me/privacy-settings", &after)
	if after != before {
		t.Errorf("a refused settings form changed %+v → %+v", before, after)
	}
}

// TestPagePrivacyInventory: P02: the public inventory lists, item by
// item and in both languages, every purpose with its basis, data,
// retention and recipients, every third party, cookie and exemption.
func TestPagePrivacyInventory(t *testing.T) {
	dm := loadDataMap(t)
	e := newPageEnv(t, "")
	c := e.client()
	cats := map[string]consent.CategoryDecl{}
	for _, cd := range dm.Categories {
		cats[cd.ID] = cd
	}
	// P02: the necessary information, item by item, per function, with
	// its basis, retention and recipients, in Chinese and English.
	for _, lang := range []string{langZH, langEN} {
		r := c.get("/privacy/inventory?lang=" + lang)
		if r.StatusCode != http.StatusOK || !strings.Contains(r.Body, `<html lang="`+htmlLang(lang)+`"`) {
			t.Fatalf("GET /privacy/inventory?lang=%s: %d", lang, r.StatusCode)
		}
		page := r.text()
		for _, p := range dm.Purposes {
			if !strings.Contains(r.Body, `id="purpose-`+string(p.ID)+`"`) || !strings.Contains(page, p.Name.In(lang)) || !strings.Contains(page, p.Description.In(lang)) {
				t.Errorf("%s: purpose %s is missing", lang, p.ID)
			}
			for _, id := range p.Categories {
				if !strings.Contains(page, cats[id].Name.In(lang)) || !strings.Contains(page, cats[id].Retention.Text.In(lang)) {
					t.Errorf("%s: category %s of %s is missing, or its retention", lang, id, p.ID)
				}
			}
		}
		for _, rc := range dm.Recipients {
			if !strings.Contains(r.Body, `id="recipient-`+rc.ID+`"`) || !strings.Contains(page, rc.Name.In(lang)) {
				t.Errorf("%s: third party %s is missing", lang, rc.ID)
			}
			for _, f := range rc.Fields {
				if !strings.Contains(r.Body, "<code>"+f+"</code>") {
					t.Errorf("%s: what %s receives (%s) is missing", lang, rc.ID, f)
				}
			}
		}
		for _, ck := range dm.Cookies {
			if !strings.Contains(r.Body, `id="cookie-`+ck.Name+`"`) || !strings.Contains(page, ck.Lifetime.In(lang)) {
				t.Errorf("%s: cookie %s is missing, or its lifetime", lang, ck.Name)
			}
		}
		for _, ex := range dm.Exemptions {
			if !strings.Contains(page, ex.Text.In(lang)) {
				t.Errorf("%s: exemption %s is missing", lang, ex.Code)
			}
		}
		for _, k := range []string{"privacy.inventory.basis.necessary", "privacy.inventory.basis.consent", "privacy.inventory.region_cn"} {
			if !strings.Contains(page, translate(lang, k)) {
				t.Errorf("%s: the inventory does not say %q", lang, translate(lang, k))
			}
		}
	}

	// The policy page links the history and the inventory; the history
	// lists the base version with its summary and a link to its text.
	r := c.get("/privacy")
	if !strings.Contains(r.Body, `href="/privacy/history"`) || !strings.Contains(r.Body, `href="/privacy/inventory"`) {
		t.Error("the policy page links neither the history nor the inventory")
	}
	base := consent.Base()
	r = c.get("/privacy/history?lang=en")
	if !strings.Contains(r.Body, `href="/privacy/versions/`+base.Version+`"`) || !strings.Contains(r.text(), base.Summary.EN) ||
		!strings.Contains(r.text(), translate(langEN, "privacy.version.in_force")) {
		t.Error("the English history lacks the base version, its summary or the in-force mark")
	}
	r = c.get("/privacy/versions/" + base.Version)
	first, _, _ := strings.Cut(strings.TrimSpace(base.Text), "\n")
	if r.StatusCode != http.StatusOK || !strings.Contains(r.text(), strings.TrimSpace(first)) {
		t.Errorf("GET the base version: %d, without its text", r.StatusCode)
	}
}

// TestPagePrivacyEnglish: the privacy center in English, and every key
// its views build at run time exists.
func TestPagePrivacyEnglish(t *testing.T) {
	dm := loadDataMap(t)
	e := newPageEnv(t, "")
	c := e.client()
	c.login(e, "13900139013")
	if c.submit("/me/privacy/consents/contacts/grant", nil).StatusCode != http.StatusSeeOther {
		t.Fatal("grant contacts")
	}
	r := c.get("/me/privacy?lang=en")
	page := r.text()
	if !strings.Contains(r.Body, `<html lang="en"`) || !strings.Contains(page, translate(langEN, "privacy.center.title")) {
		t.Fatal("the privacy center is not in English")
	}
	for _, d := range dm.Purposes {
		if !strings.Contains(page, d.Name.EN) {
			t.Errorf("English page lacks %q", d.Name.EN)
		}
	}
	for _, k := range []string{"privacy.consents.grant", "privacy.consents.grant_sensitive", "privacy.consents.withdraw", "privacy.history.action.grant",
		"privacy.history.channel.web", "privacy.setting.programmatic_ads.hint"} {
		if !strings.Contains(page, translate(langEN, k)) {
			t.Errorf("English page lacks %q", translate(langEN, k))
		}
	}
	if strings.Contains(page, "privacy.") {
		t.Error("the page shows a raw message key")
	}
	for _, k := range []string{"privacy.history.action.withdraw", "privacy.history.channel.app", "privacy.history.channel.api"} {
		if !hasMessage(k) {
			t.Errorf("missing message %q", k)
		}
	}
	// The language switch on a privacy post leads back to the center.
	if p := langPath(httptestRequest("POST", "/me/privacy/settings")); p != "/me/privacy" {
		t.Errorf("langPath of a privacy post = %q", p)
	}
}

func httptestRequest(method, path string) *http.Request {
	r, _ := http.NewRequest(method, "http://example.test"+path, nil)
	return r
}

// TestPagePrivacyBrowserJourney drives headless Chromium: sign up, open
// the privacy center, grant a purpose and a sensitive one by clicking,
// withdraw the sensitive one and find the withdrawal in the history.
func TestPagePrivacyBrowserJourney(t *testing.T) {
	e := newPageEnv(t, "")
	dm := loadDataMap(t)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	bctx := headlessBrowser(t, ctx, 1000, 1000)

	do := func(step string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, steps...); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	attr := func(sel, name string) string {
		t.Helper()
		v, err := chromedp.Run(bctx, chromedp.AttributeValue(chromedp.CSS(sel), name))
		if err != nil {
			t.Fatalf("read %s of %s: %v", name, sel, err)
		}
		return v.Value
	}
	text := func(sel string) string {
		t.Helper()
		return browserText(t, bctx, sel)
	}
	const phone = "13800138010"

	do("sign up",
		chromedp.Navigate(e.srv.URL+"/login"),
		chromedp.WaitVisible(chromedp.CSS("#phone")),
		chromedp.SendKeys(chromedp.CSS("#phone"), phone),
		chromedp.Click(chromedp.CSS("#send-code")),
		chromedp.WaitVisible(chromedp.CSS("#code-sent")),
	)
	do("log in with the code",
		chromedp.SendKeys(chromedp.CSS("#code"), e.code("+86"+phone)),
		chromedp.Click(chromedp.CSS("#accept")),
		chromedp.SetValue(chromedp.CSS("#age-band"), "adult"),
		chromedp.Click(chromedp.CSS("#login")),
		chromedp.WaitVisible(chromedp.CSS("#flash-welcome_created")),
	)
	do("open the privacy center from the menu",
		chromedp.Click(chromedp.CSS("#nav-privacy")),
		chromedp.WaitVisible(chromedp.CSS("#consents")),
	)

	// P01: accepting the policy granted no optional purpose.
	for _, p := range dm.Optional() {
		if g := attr("#purpose-"+string(p), "data-granted"); g != "false" {
			t.Errorf("P01: %s shows data-granted=%s after sign-up", p, g)
		}
		if s := text("#state-" + string(p)); s != translate(langZH, "privacy.consents.not_granted") {
			t.Errorf("P01: %s reads %q after sign-up", p, s)
		}
	}

	// A non-sensitive purpose, then a sensitive one, each by its own click.
	for _, p := range []string{"personalized_recommendation", "precise_location"} {
		do("grant "+p,
			chromedp.Click(chromedp.CSS("#grant-"+p)),
			chromedp.WaitVisible(chromedp.CSS("#flash-consent_granted")),
			chromedp.WaitVisible(chromedp.CSS("#withdraw-"+p)),
		)
		if g, s := attr("#purpose-"+p, "data-granted"), text("#state-"+p); g != "true" || s != translate(langZH, "privacy.consents.granted") {
			t.Errorf("after granting %s: data-granted=%s, state %q", p, g, s)
		}
	}

	// P63: withdraw the sensitive one; its withdrawal time shows on the
	// purpose and in the history.
	do("withdraw precise location",
		chromedp.Click(chromedp.CSS("#withdraw-precise_location")),
		chromedp.WaitVisible(chromedp.CSS("#flash-consent_withdrawn")),
		chromedp.WaitVisible(chromedp.CSS("#grant-precise_location")),
		chromedp.WaitVisible(chromedp.CSS("#withdrawn-at-precise_location")),
	)
	if g := attr("#purpose-precise_location", "data-granted"); g != "false" {
		t.Errorf("after the withdrawal precise_location shows data-granted=%s", g)
	}
	if g := attr("#purpose-personalized_recommendation", "data-granted"); g != "true" {
		t.Errorf("withdrawing location changed personalised recommendation: data-granted=%s", g)
	}
	withdrawnAt := text(`#consent-history tr[data-purpose="precise_location"][data-action="withdraw"] td.at`)
	if _, err := time.Parse(time.DateTime, withdrawnAt); err != nil {
		t.Errorf("P63: the history's withdrawal time %q: %v", withdrawnAt, err)
	}
	if got := text("#withdrawn-at-precise_location"); !strings.Contains(got, withdrawnAt) {
		t.Errorf("P63: the purpose says %q, the history %q", got, withdrawnAt)
	}
	if grantedAt := text(`#consent-history tr[data-purpose="precise_location"][data-action="grant"] td.at`); grantedAt == "" {
		t.Error("P63: the history lost the grant")
	}

	if file := os.Getenv("YUNCAN_PRIVACY_SCREENSHOT"); file != "" {
		shot, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		if err := os.WriteFile(file, shot, 0o644); err != nil {
			t.Fatal(err)
		}
		do("narrow window", chromedp.EmulateViewport(390, 844), chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#consents")))
		if shot, err = chromedp.Run(bctx, chromedp.FullScreenshot(100)); err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		if err := os.WriteFile(strings.TrimSuffix(file, ".png")+"-mobile.png", shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
