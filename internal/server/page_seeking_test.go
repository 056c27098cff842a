package server

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/identity"
	"github.com/yuncan/yuncan/internal/notify"
	"github.com/yuncan/yuncan/internal/seeking"
)

// The people-seeking pages through plain HTTP, as a browser without
// scripts uses them: who sees what, bad input that changes nothing, CSRF
// on every form. The browser journey is in page_seeking_browser_test.go.

// verifiedPublisher signs up and verifies a real name through the
// certifier, after the separate consent (P10).
func verifiedPublisher(t *testing.T, e *pageEnv, phone string) (*webClient, string) {
	t.Helper()
	c, id := pageUser(t, e, phone, identity.RoleUser)
	if r := c.submit("/me/privacy/consents/real_name/grant", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("grant real_name: %d", r.StatusCode)
	}
	if _, err := e.realNames.Verify(t.Context(), id, identity.RealNameRequest{RealName: "李四", IDNumber: rnID("19850512", "321")}); err != nil {
		t.Fatalf("verify: %v", err)
	}
	return c, id
}

// caseFormValues is the publish-a-case form filled in.
func caseFormValues(category string) url.Values {
	f := url.Values{"category": {category}, "full_name": {"王小明"}, "sex": {"male"}, "age": {"7"}, "height_cm": {"120"},
		"clothing": {"红色外套"}, "description": {"性格内向"}, "last_seen_at": {time.Now().Add(-2 * time.Hour).In(chinaTime).Format("2006-01-02T15:04")},
		"place_name": {"西湖公园"}, "lat": {"30.259"}, "lng": {"120.149"}, "relationship": {"父亲"}, "contact_phone": {"13712345678"}}
	if category == "adult" {
		f.Set("age", "35")
	}
	return f
}

// createCaseByPage saves a draft through the form and returns its id.
func createCaseByPage(t *testing.T, c *webClient, form url.Values) string {
	t.Helper()
	r := c.submit("/cases/new", form)
	loc := r.Header.Get("Location")
	if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/cases/") {
		t.Fatalf("POST /cases/new: %d → %q\n%s", r.StatusCode, loc, r.text())
	}
	return strings.TrimPrefix(strings.SplitN(loc, "?", 2)[0], "/cases/")
}

// publishByPages takes a new case through the form and the review queue.
func publishByPages(t *testing.T, pub, mod *webClient, form url.Values) string {
	t.Helper()
	id := createCaseByPage(t, pub, form)
	if r := pub.submit("/cases/"+id+"/submit", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("submit: %d\n%s", r.StatusCode, r.text())
	}
	if r := mod.submit("/staff/review/"+id+"/approve", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("approve: %d\n%s", r.StatusCode, r.text())
	}
	return id
}

func wantStatus(t *testing.T, what string, r pageResp, status int) {
	t.Helper()
	if r.StatusCode != status {
		t.Errorf("%s: %d, want %d\n%s", what, r.StatusCode, status, r.text())
	}
}

func wantLogin(t *testing.T, what string, r pageResp) {
	t.Helper()
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login" {
		t.Errorf("%s logged out: %d → %q; want 303 → /login", what, r.StatusCode, r.Header.Get("Location"))
	}
}

func TestPageSeekingLoggedOut(t *testing.T) {
	t.Parallel()
	e := newPageEnv(t, "")
	c := e.client()
	r := c.get("/cases")
	wantStatus(t, "GET /cases", r, http.StatusOK)
	if !strings.Contains(r.Body, `id="cases-empty"`) || !strings.Contains(r.Body, `id="cases-login"`) {
		t.Error("the empty list does not say so, or does not offer a login to publish")
	}
	// The map comes from this site only; the tile server is the one
	// configured, allowed for images by the CSP and nothing else.
	for _, ref := range regexp.MustCompile(`(?:src|href)="(https?:)?//[^"]*"`).FindAllString(r.Body, -1) {
		t.Errorf("the case list loads from another site: %s", ref)
	}
	if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "img-src 'self' data: https://tile.openstreetmap.org;") ||
		!strings.Contains(csp, "script-src 'self';") {
		t.Errorf("CSP %q", csp)
	}
	if r := c.get("/cases?near=me"); r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Body, `id="list-error"`) {
		t.Errorf("near me logged out: %d", r.StatusCode)
	}
	for _, q := range []string{"lat=x&lng=1", "lat=91&lng=0", "lat=30&lng=120&radius_km=0", "lat=30&lng=120&radius_km=5000"} {
		if r := c.get("/cases?" + q); r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Body, `id="list-error"`) {
			t.Errorf("GET /cases?%s: %d, want 400 with a message", q, r.StatusCode)
		}
	}
	if r := c.get("/cases?lat=30&lng=120&radius_km=50"); r.StatusCode != http.StatusOK || !strings.Contains(r.Body, `id="cases-empty"`) {
		t.Errorf("near a point: %d", r.StatusCode)
	}
	wantStatus(t, "an unknown case", c.get("/cases/no-such-case"), http.StatusNotFound)
	for _, p := range []string{"/cases/new", "/inbox", "/me/location", "/staff/review", "/cases/x/clues/y", "/cases/x/edit"} {
		wantLogin(t, "GET "+p, c.get(p))
	}
	for _, p := range []string{"/cases/new", "/cases/x/clues", "/cases/x/submit", "/staff/review/x/approve", "/inbox/x/dismiss", "/me/location",
		"/me/location/delete"} {
		wantLogin(t, "POST "+p, c.submit(p, nil))
	}
	for _, p := range []string{"/static/leaflet/leaflet.js", "/static/leaflet/leaflet.css", "/static/leaflet/images/marker-icon.png",
		"/static/cases-map.js", "/static/inbox-live.js", "/static/geolocate.js", "/static/seeking.css"} {
		wantStatus(t, "GET "+p, c.get(p), http.StatusOK)
	}
}

func TestPageTileURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url, origin string
	}{
		{DefaultTileURL, "https://tile.openstreetmap.org"},
		{"https://{s}.tiles.example.cn/{z}/{x}/{y}.png", "https://*.tiles.example.cn"},
		{"http://127.0.0.1:8081/tiles/{z}/{x}/{y}.png?key=k", "http://127.0.0.1:8081"},
	} {
		if got, err := tileOrigin(tc.url); err != nil || got != tc.origin {
			t.Errorf("tileOrigin(%q) = %q, %v; want %q", tc.url, got, err, tc.origin)
		}
	}
	for _, bad := range []string{"", "tile.example.cn/{z}/{x}/{y}.png", "ftp://t.example/{z}/{x}/{y}", "https://t.example/{z}/{x}.png",
		"https://t.example; script-src *;/{z}/{x}/{y}", "https://t.example/{z}/{x}/{y}.png' 'unsafe-inline", "https:///{z}/{x}/{y}"} {
		if CheckTileURL(bad) == nil {
			t.Errorf("CheckTileURL(%q) accepted it", bad)
		}
	}
	e := newPageEnvWith(t, Config{TileURL: "https://{s}.tiles.example.cn/{z}/{x}/{y}.png"}, "")
	r := e.client().get("/cases")
	if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "img-src 'self' data: https://*.tiles.example.cn;") {
		t.Errorf("CSP with another tile server: %q", csp)
	}
	if !strings.Contains(r.Body, `data-tiles="https://{s}.tiles.example.cn/{z}/{x}/{y}.png"`) {
		t.Error("the map does not name the configured tile server")
	}
}

func TestPageCaseForm(t *testing.T) {
	t.Parallel()
	e := newPageEnv(t, "")
	ctx := t.Context()

	// P10: an account without a real name is told how to get one, and
	// nothing is stored.
	plain, plainID := pageUser(t, e, "13800138201", identity.RoleUser)
	wantStatus(t, "GET /cases/new", plain.get("/cases/new"), http.StatusOK)
	r := plain.submit("/cases/new", caseFormValues("child"))
	wantStatus(t, "publish without a real name", r, http.StatusForbidden)
	if !strings.Contains(r.Body, `id="verify-link"`) || !strings.Contains(r.text(), translate(langZH, "case.form.real_name_required")) ||
		!strings.Contains(r.Body, `value="王小明"`) {
		t.Error("the refusal does not explain the real-name rule, link to it, or keep what was typed")
	}
	if cs, err := e.seeking.MyCases(ctx, seeking.Viewer{UserID: plainID}); err != nil || len(cs) != 0 {
		t.Errorf("a refused case was stored: %d (%v)", len(cs), err)
	}

	pub, pubID := verifiedPublisher(t, e, "13800138202")
	// Bad input: every problem shows at once beside its field, in the
	// page's language, and nothing is stored.
	bad := caseFormValues("child")
	bad.Set("full_name", "")
	bad.Set("lat", "north")
	bad.Set("age", "seven")
	bad.Set("contact_phone", "12")
	r = pub.submit("/cases/new", bad)
	wantStatus(t, "bad case form", r, http.StatusBadRequest)
	for _, id := range []string{"full_name-error", "lat-error", "age-error", "contact_phone-error", "form-error"} {
		if !strings.Contains(r.Body, `id="`+id+`"`) {
			t.Errorf("bad case form: no %s", id)
		}
	}
	if !strings.Contains(r.text(), seekingProblemsZH["must be a number"]) || !strings.Contains(r.Body, `value="西湖公园"`) {
		t.Error("bad case form: the problems are not in Chinese, or the typed values are lost")
	}
	future := caseFormValues("child")
	future.Set("last_seen_at", time.Now().Add(48*time.Hour).In(chinaTime).Format("2006-01-02T15:04"))
	if r := pub.submit("/cases/new", future); r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Body, `id="last_seen_at-error"`) {
		t.Errorf("a last-seen time in the future: %d", r.StatusCode)
	}
	// No token, or a form from elsewhere: refused.
	if r := pub.post("/cases/new", caseFormValues("child")); r.StatusCode != http.StatusForbidden {
		t.Errorf("POST /cases/new without a token: %d", r.StatusCode)
	}
	if cs, err := e.seeking.MyCases(ctx, seeking.Viewer{UserID: pubID}); err != nil || len(cs) != 0 {
		t.Fatalf("refused forms stored %d cases (%v)", len(cs), err)
	}

	id := createCaseByPage(t, pub, caseFormValues("child"))
	r = pub.get("/cases/" + id + "?ok=case_draft")
	wantStatus(t, "the draft's page", r, http.StatusOK)
	for _, want := range []string{`id="flash-case_draft"`, `id="case-submit"`, `id="case-edit"`, `id="case-private"`, "137****5678"} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("the draft's page lacks %s", want)
		}
	}
	if strings.Contains(r.Body, "13712345678") {
		t.Error("the reporter's page shows the contact number unmasked")
	}
	// A draft is the reporter's own: others do not find it.
	wantStatus(t, "someone else's draft", plain.get("/cases/"+id), http.StatusNotFound)
	wantStatus(t, "a draft logged out", e.client().get("/cases/"+id), http.StatusNotFound)

	// Edit: the form holds the draft; a bad edit changes nothing.
	r = pub.get("/cases/" + id + "/edit")
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Body, `value="&#43;8613712345678"`) || !strings.Contains(r.Body, `action="/cases/`+id+`/edit"`) {
		t.Errorf("the edit form: %d", r.StatusCode)
	}
	wantStatus(t, "someone else edits", plain.get("/cases/"+id+"/edit"), http.StatusNotFound)
	bad = caseFormValues("child")
	bad.Set("age", "40")
	if r := pub.submit("/cases/"+id+"/edit", bad); r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Body, `id="category-error"`) {
		t.Errorf("a child of 40: %d", r.StatusCode)
	}
	edit := caseFormValues("child")
	edit.Set("clothing", "蓝色外套")
	if r := pub.submit("/cases/"+id+"/edit", edit); r.StatusCode != http.StatusSeeOther {
		t.Errorf("edit: %d", r.StatusCode)
	}
	c, err := e.seeking.Case(ctx, seeking.Viewer{UserID: pubID}, id)
	if err != nil || c.Person.Clothing != "蓝色外套" || c.Person.Age == nil || *c.Person.Age != 7 {
		t.Errorf("after the edit: %+v, %v", c.Person, err)
	}

	// Photos: the token part first; a bad image is refused with a
	// message and nothing stored.
	if r := pub.postPhoto("/cases/"+id+"/photos", false, pagePNG(t)); r.StatusCode != http.StatusForbidden {
		t.Errorf("photo without a token: %d", r.StatusCode)
	}
	if r := pub.postPhoto("/cases/"+id+"/photos", true, []byte("not an image")); r.StatusCode != http.StatusUnsupportedMediaType &&
		r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Body, `id="photo-error"`) {
		t.Errorf("a fake image: %d", r.StatusCode)
	}
	if r := pub.postPhoto("/cases/"+id+"/photos", true, pagePNG(t)); r.StatusCode != http.StatusSeeOther {
		t.Errorf("photo: %d", r.StatusCode)
	}
	c, _ = e.seeking.Case(ctx, seeking.Viewer{UserID: pubID}, id)
	if len(c.Photos) != 1 {
		t.Fatalf("photos after one good upload: %d", len(c.Photos))
	}
	photoURL := casePagePhotoURL(c.Photos[0].Key)
	wantStatus(t, "the reporter sees the draft's photo", pub.get(photoURL), http.StatusOK)
	wantStatus(t, "others do not", e.client().get(photoURL), http.StatusNotFound)
	wantStatus(t, "a path trick", pub.get("/cases/"+id+"/photos/..%2F..%2Fsecret"), http.StatusNotFound)

	if r := pub.submit("/cases/"+id+"/submit", nil); r.StatusCode != http.StatusSeeOther {
		t.Errorf("submit: %d", r.StatusCode)
	}
	// Once in review it no longer changes.
	if r := pub.submit("/cases/"+id+"/edit", edit); r.StatusCode != http.StatusConflict {
		t.Errorf("edit in review: %d", r.StatusCode)
	}
	if r := pub.submit("/cases/"+id+"/submit", nil); r.StatusCode != http.StatusConflict || !strings.Contains(r.Body, `id="action-error"`) {
		t.Errorf("submit twice: %d", r.StatusCode)
	}
	c, _ = e.seeking.Case(ctx, seeking.Viewer{UserID: pubID}, id)
	if c.Status != seeking.StatusInReview || c.Person.Clothing != "蓝色外套" {
		t.Errorf("after the refusals: %s, %q", c.Status, c.Person.Clothing)
	}
}

// postPhoto uploads an image as the photo forms do, the token first.
func (c *webClient) postPhoto(path string, withToken bool, img []byte) pageResp {
	c.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if withToken {
		mw.WriteField("csrf", c.cookie(csrfCookie))
	}
	fw, err := mw.CreateFormFile("photo", "photo.png")
	if err != nil {
		c.t.Fatal(err)
	}
	fw.Write(img)
	mw.Close()
	req, err := http.NewRequest("POST", c.base+path, &body)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return c.do(req)
}

func TestPageStaffReview(t *testing.T) {
	t.Parallel()
	e := newPageEnv(t, "")
	ctx := t.Context()
	pub, _ := verifiedPublisher(t, e, "13800138301")
	mod, modID := pageUser(t, e, "13800138302", identity.RoleModerator)
	plain, _ := pageUser(t, e, "13800138303", identity.RoleUser)

	adult := createCaseByPage(t, pub, caseFormValues("adult"))
	child := createCaseByPage(t, pub, caseFormValues("child"))
	for _, id := range []string{adult, child} {
		if r := pub.submit("/cases/"+id+"/submit", nil); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("submit: %d", r.StatusCode)
		}
	}

	// Others get 403, and their posts change nothing.
	wantStatus(t, "the queue for a user", plain.get("/staff/review"), http.StatusForbidden)
	wantStatus(t, "approve by a user", plain.submit("/staff/review/"+child+"/approve", nil), http.StatusForbidden)
	if r := plain.get("/"); strings.Contains(r.Body, `id="nav-review"`) {
		t.Error("the menu offers the review queue to a user")
	}

	r := mod.get("/staff/review")
	wantStatus(t, "the queue", r, http.StatusOK)
	if !strings.Contains(r.Body, `id="review-`+adult+`"`) || !strings.Contains(r.Body, `id="review-`+child+`"`) || !strings.Contains(r.Body, `id="nav-review"`) {
		t.Error("the queue lacks a case, or the menu the queue")
	}
	if strings.Contains(r.Body, "13712345678") || strings.Contains(r.Body, "137****5678") {
		t.Error("the queue shows the reporter's contact number")
	}
	// A rejection needs a reason; the refusal shows beside its case.
	r = mod.submit("/staff/review/"+child+"/reject", url.Values{"reason": {"  "}})
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Body, `id="review-error-`+child+`"`) {
		t.Errorf("reject without a reason: %d", r.StatusCode)
	}
	// An adult without a police receipt needs a recorded check first.
	r = mod.submit("/staff/review/"+adult+"/approve", nil)
	if r.StatusCode != http.StatusConflict || !strings.Contains(r.text(), translate(langZH, "reason.verification_required")) {
		t.Errorf("approve an unchecked adult: %d", r.StatusCode)
	}
	mv := seeking.Viewer{UserID: modID, Role: identity.RoleModerator}
	for _, id := range []string{adult, child} {
		if c, err := e.seeking.Case(ctx, mv, id); err != nil || c.Status != seeking.StatusInReview {
			t.Errorf("after refusals case %s is %s (%v)", id, c.Status, err)
		}
	}
	if r := mod.submit("/staff/review/"+adult+"/verify", url.Values{"note": {"电话联系了报案派出所，情况属实"}}); r.StatusCode != http.StatusSeeOther {
		t.Errorf("verify: %d\n%s", r.StatusCode, r.text())
	}
	if r := mod.submit("/staff/review/"+adult+"/approve", nil); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/staff/review?ok=case_approved" {
		t.Errorf("approve after the check: %d", r.StatusCode)
	}
	if r := mod.submit("/staff/review/"+child+"/return", url.Values{"reason": {"请补充照片"}}); r.StatusCode != http.StatusSeeOther {
		t.Errorf("return: %d", r.StatusCode)
	}
	// Approving what left the queue says so, and changes nothing.
	if r := mod.submit("/staff/review/"+child+"/approve", nil); r.StatusCode < 400 || r.StatusCode >= 500 {
		t.Errorf("approve a returned case: %d", r.StatusCode)
	}
	if c, _ := e.seeking.Case(ctx, mv, adult); c.Status != seeking.StatusPublished {
		t.Errorf("the adult's case is %s", c.Status)
	}
	// The reporter sees why it came back.
	r = pub.get("/cases/" + child)
	if !strings.Contains(r.Body, `id="status-reason"`) || !strings.Contains(r.Body, "请补充照片") || !strings.Contains(r.Body, `id="case-submit"`) {
		t.Error("the returned draft does not show the reason or the way to send it again")
	}
	if r := mod.get("/staff/review"); !strings.Contains(r.Body, `id="review-empty"`) {
		t.Error("the queue is not empty at the end")
	}
}

func TestPageLocation(t *testing.T) {
	t.Parallel()
	e := newPageEnv(t, "")
	ctx := t.Context()
	c, id := pageUser(t, e, "13800138401", identity.RoleUser)
	sub := consent.User(id)

	// P05: without the consent the page explains and links to it, offers
	// no button, and a post stores nothing.
	r := c.get("/me/location")
	wantStatus(t, "GET /me/location", r, http.StatusOK)
	if !strings.Contains(r.Body, `id="location-consent-off"`) || strings.Contains(r.Body, `id="share-form"`) ||
		!strings.Contains(r.Body, `href="/me/privacy#purpose-seeking_alert_location"`) {
		t.Error("P05: the page without the consent")
	}
	r = c.submit("/me/location", url.Values{"lat": {"30.27"}, "lng": {"120.16"}})
	if r.StatusCode != http.StatusForbidden || !strings.Contains(r.Body, `id="location-error"`) {
		t.Errorf("P05: share without the consent: %d", r.StatusCode)
	}
	if _, err := e.positions.Position(ctx, sub); yuncan.ErrorCode(err) != yuncan.NotFound {
		t.Fatalf("P05: a position was stored without the consent (%v)", err)
	}

	if r := c.submit("/me/privacy/consents/seeking_alert_location/grant", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("grant: %d", r.StatusCode)
	}
	if r := c.get("/me/location"); !strings.Contains(r.Body, `id="share-form"`) || !strings.Contains(r.Body, `id="no-position"`) {
		t.Error("with the consent the page offers no button")
	}
	for _, f := range []url.Values{{"lat": {"north"}, "lng": {"120"}}, {"lat": {"95"}, "lng": {"120"}}, {"lng": {"120"}}, {"lat": {"NaN"}, "lng": {"1"}}} {
		if r := c.submit("/me/location", f); r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Body, `id="location-error"`) {
			t.Errorf("bad position %v: %d", f, r.StatusCode)
		}
	}
	if _, err := e.positions.Position(ctx, sub); yuncan.ErrorCode(err) != yuncan.NotFound {
		t.Fatalf("a bad position was stored (%v)", err)
	}

	// Coarse: only a cell's centre is kept.
	if r := c.submit("/me/location", url.Values{"lat": {"30.27"}, "lng": {"120.16"}, "coarse": {"on"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("share coarse: %d\n%s", r.StatusCode, r.text())
	}
	p, err := e.positions.Position(ctx, sub)
	if err != nil || !p.Coarse || p.Lat == 30.27 {
		t.Errorf("coarse position: %+v, %v", p, err)
	}
	r = c.get("/me/location?ok=location_saved")
	if !strings.Contains(r.Body, `data-coarse="true"`) || !strings.Contains(r.Body, `id="position-expires"`) ||
		!strings.Contains(r.Body, translate(langZH, "time.just_now")) || !strings.Contains(r.Body, `id="coarse" checked`) {
		t.Error("the stored coarse position, its age or expiry, is not shown")
	}
	// Near me uses the shared position: nothing more is sent.
	if r := c.get("/cases?near=me"); r.StatusCode != http.StatusOK || !strings.Contains(r.Body, `id="near-from-position"`) {
		t.Errorf("near my shared position: %d", r.StatusCode)
	}

	if r := c.submit("/me/location/delete", nil); r.StatusCode != http.StatusSeeOther {
		t.Errorf("delete: %d", r.StatusCode)
	}
	if _, err := e.positions.Position(ctx, sub); yuncan.ErrorCode(err) != yuncan.NotFound {
		t.Errorf("the position outlived its deletion (%v)", err)
	}
	// P63: withdrawing the consent deletes a stored position at once.
	c.submit("/me/location", url.Values{"lat": {"30.27"}, "lng": {"120.16"}})
	if r := c.submit("/me/privacy/consents/seeking_alert_location/withdraw", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("withdraw: %d", r.StatusCode)
	}
	if _, err := e.positions.Position(ctx, sub); yuncan.ErrorCode(err) != yuncan.NotFound {
		t.Errorf("P63: the position outlived the withdrawal (%v)", err)
	}
	if m, _ := e.positions.Within(30.27, 120.16, 10); len(m) != 0 {
		t.Errorf("P63: the index still holds %d positions", len(m))
	}
}

func TestPageInbox(t *testing.T) {
	t.Parallel()
	e := newPageEnv(t, "")
	ctx := t.Context()
	c, id := pageUser(t, e, "13800138501", identity.RoleUser)
	other, _ := pageUser(t, e, "13800138502", identity.RoleUser)
	dispatch := func(key string, d notify.Data) notify.Notification {
		t.Helper()
		res, err := e.push.Dispatch(ctx, notify.Notification{Recipient: notify.User(id), Kind: notify.KindSeekingAlert, DedupeKey: key,
			Title: "寻人提醒", Body: "有人在您附近走失。", Data: d})
		if err != nil {
			t.Fatal(err)
		}
		return res.Notification
	}
	near := dispatch("alert:a", notify.Data{CaseID: "case-a", Ring: 2, DistanceKM: 3, Link: "/cases/case-a"})
	plain := dispatch("alert:b", notify.Data{CaseID: "case-b"})

	r := c.get("/inbox")
	wantStatus(t, "GET /inbox", r, http.StatusOK)
	for _, want := range []string{`id="item-` + near.ID + `"`, `id="item-` + plain.ID + `"`, `data-unread="2"`,
		translate(langZH, "inbox.why.ring_km", 2, 3), `id="reason-` + near.ID + `-not_nearby"`, `data-stream="/api/v1/inbox/stream?last_event_id=`} {
		if !strings.Contains(r.text(), want) {
			t.Errorf("the inbox lacks %s", want)
		}
	}
	if strings.Contains(r.Body, `id="reason-`+plain.ID+`-not_nearby"`) || strings.Contains(r.Body, `id="why-`+plain.ID+`"`) {
		t.Error("an item without a distance offers not_nearby or a why line")
	}
	if r := other.get("/inbox"); !strings.Contains(r.Body, `id="inbox-empty"`) {
		t.Error("another person sees the items")
	}

	// Bad reasons are refused beside the item, and change nothing.
	for _, rs := range [][]string{{"bogus"}, {"not_nearby"}, {"kind", "kind", "kind", "kind", "kind", "kind"}} {
		r := c.submit("/inbox/"+plain.ID+"/dismiss", url.Values{"reason": rs})
		if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Body, `id="inbox-error"`) || !strings.Contains(r.Body, `id="item-`+plain.ID+`"`) {
			t.Errorf("dismiss with %v: %d", rs, r.StatusCode)
		}
	}
	if r := c.post("/inbox/"+plain.ID+"/dismiss", url.Values{}); r.StatusCode != http.StatusForbidden {
		t.Errorf("dismiss without a token: %d", r.StatusCode)
	}
	wantStatus(t, "another person's item", other.submit("/inbox/"+near.ID+"/dismiss", nil), http.StatusNotFound)
	wantStatus(t, "another person marks it read", other.submit("/inbox/"+near.ID+"/read", nil), http.StatusNotFound)
	if sh, _ := e.inbox.Shields(ctx, notify.User(id)); len(sh) != 0 {
		t.Errorf("refused dismissals left %d shields", len(sh))
	}

	if r := c.submit("/inbox/"+plain.ID+"/read", nil); r.StatusCode != http.StatusSeeOther {
		t.Errorf("mark read: %d", r.StatusCode)
	}
	if r := c.get("/inbox"); !strings.Contains(r.Body, `data-unread="1"`) || !strings.Contains(r.Body, `id="item-`+plain.ID+`" data-item="`+plain.ID+`" data-read="true"`) {
		t.Error("after marking read")
	}
	// Open goes where the item points, only on this site.
	r = c.submit("/inbox/"+near.ID+"/open", url.Values{"to": {"/cases/case-a"}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/cases/case-a" {
		t.Errorf("open: %d → %q", r.StatusCode, r.Header.Get("Location"))
	}
	r = c.submit("/inbox/"+near.ID+"/open", url.Values{"to": {"//evil.example/x"}})
	if r.Header.Get("Location") != "/inbox" {
		t.Errorf("open to another site went to %q", r.Header.Get("Location"))
	}
	p, err := e.inbox.List(ctx, notify.User(id), "", 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range p.Items {
		if n.ID == near.ID && n.OpenedAt.IsZero() {
			t.Error("opening was not recorded")
		}
	}

	// P56: the X with a reason hides the item and shields its dimension.
	r = c.submit("/inbox/"+near.ID+"/dismiss", url.Values{"reason": {"not_nearby"}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/inbox?ok=dismissed" {
		t.Fatalf("dismiss: %d", r.StatusCode)
	}
	if r := c.get("/inbox?ok=dismissed"); strings.Contains(r.Body, `id="item-`+near.ID+`"`) || !strings.Contains(r.Body, `id="flash-dismissed"`) {
		t.Error("the dismissed item still shows")
	}
	sh, err := e.inbox.Shields(ctx, notify.User(id))
	if err != nil || len(sh) != 1 || sh[0].Reason != notify.ReasonNotNearby || sh[0].DistanceKM != 3 {
		t.Errorf("shields: %+v (%v)", sh, err)
	}
}

func TestPageCluesAndRelay(t *testing.T) {
	t.Parallel()
	e := newPageEnv(t, "")
	ctx := t.Context()
	pub, _ := verifiedPublisher(t, e, "13800138601")
	mod, _ := pageUser(t, e, "13800138602", identity.RoleModerator)
	giver, giverID := pageUser(t, e, "13800138603", identity.RoleUser)
	id := publishByPages(t, pub, mod, caseFormValues("child"))

	// The public page: the record, no private field; a login for clues.
	anon := e.client()
	r := anon.get("/cases/" + id)
	wantStatus(t, "the published case", r, http.StatusOK)
	if !strings.Contains(r.Body, "王小明") || !strings.Contains(r.Body, `id="clue-login"`) || strings.Contains(r.Body, "137") ||
		strings.Contains(r.Body, "父亲") || strings.Contains(r.Body, `id="history"`) {
		t.Error("the public case page")
	}
	wantStatus(t, "a clue logged out", anon.submit("/cases/"+id+"/clues", url.Values{"text": {"x"}}), http.StatusSeeOther)

	// The clue form: bad input changes nothing.
	r = giver.get("/cases/" + id)
	if !strings.Contains(r.Body, `id="clue-form"`) || !strings.Contains(r.Body, `id="clue-no-location"`) || strings.Contains(r.Body, `id="clue-locate"`) {
		t.Error("the clue form, or its position button without the precise location consent")
	}
	for _, f := range []url.Values{
		{"text": {""}},
		{"text": {"看到了"}, "seen_at": {"yesterday"}},
		{"text": {"看到了"}, "seen_at": {time.Now().Add(24 * time.Hour).In(chinaTime).Format("2006-01-02T15:04")}},
		{"text": {"看到了"}, "lat": {"30.2"}},
	} {
		if r := giver.submit("/cases/"+id+"/clues", f); r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Body, `id="clue-error"`) {
			t.Errorf("clue %v: %d", f, r.StatusCode)
		}
	}
	// P05: the device's position needs the precise location consent.
	r = giver.submit("/cases/"+id+"/clues", url.Values{"text": {"看到了"}, "lat": {"30.26"}, "lng": {"120.15"}, "source": {"device"}})
	if r.StatusCode != http.StatusForbidden || !strings.Contains(r.text(), translate(langZH, "clue.consent_required")) {
		t.Errorf("a device position without consent: %d", r.StatusCode)
	}
	if cs, _ := e.seeking.Clues(ctx, seeking.Viewer{UserID: giverID}, id, ""); len(cs) != 0 {
		t.Fatalf("refused clues stored: %d", len(cs))
	}
	if r := giver.submit("/me/privacy/consents/precise_location/grant", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatal(r.StatusCode)
	}
	if r := giver.get("/cases/" + id); !strings.Contains(r.Body, `id="clue-locate"`) {
		t.Error("with the consent the clue form offers no position button")
	}
	r = giver.submit("/cases/"+id+"/clues", url.Values{"text": {"在断桥附近看到一个穿红外套的男孩"}, "place_name": {"断桥"},
		"seen_at": {time.Now().Add(-30 * time.Minute).In(chinaTime).Format("2006-01-02T15:04")},
		"lat":     {"30.26"}, "lng": {"120.15"}, "source": {"device"}})
	loc := r.Header.Get("Location")
	if r.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "/cases/"+id+"/clues/") {
		t.Fatalf("send a clue: %d → %q\n%s", r.StatusCode, loc, r.text())
	}
	cluePath := strings.SplitN(loc, "?", 2)[0]
	clueID := cluePath[strings.LastIndex(cluePath, "/")+1:]

	// The giver's page: the clue, photos, the thread.
	r = giver.get(loc)
	if !strings.Contains(r.Body, `id="flash-clue_sent"`) || !strings.Contains(r.Body, "断桥") || !strings.Contains(r.Body, `id="clue-photo"`) {
		t.Error("the clue's page for its sender")
	}
	if r := giver.postPhoto(cluePath+"/photos", true, pagePNG(t)); r.StatusCode != http.StatusSeeOther {
		t.Errorf("clue photo: %d", r.StatusCode)
	}
	if r := giver.submit(cluePath+"/messages", url.Values{"text": {""}}); r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Body, `id="message-error"`) {
		t.Errorf("an empty message: %d", r.StatusCode)
	}
	if r := giver.submit(cluePath+"/messages", url.Values{"text": {"我可以带您去看"}}); r.StatusCode != http.StatusSeeOther {
		t.Errorf("message: %d", r.StatusCode)
	}

	// The reporter: the clue on the case page, the thread, a reply; no
	// number of the other side anywhere.
	r = pub.get("/cases/" + id)
	if !strings.Contains(r.Body, `data-clue="`+clueID+`"`) {
		t.Error("the reporter does not see the clue")
	}
	r = pub.get(cluePath)
	if !strings.Contains(r.Body, "我可以带您去看") || strings.Contains(r.Body, "13800138603") || strings.Contains(r.Body, giverID) ||
		!strings.Contains(r.Body, `src="`+cluePath+`/photos/`) || strings.Contains(r.Body, `id="clue-photo"`) {
		t.Error("the reporter's view of the clue")
	}
	if r := pub.submit(cluePath+"/messages", url.Values{"text": {"谢谢，我马上过去"}}); r.StatusCode != http.StatusSeeOther {
		t.Errorf("reply: %d", r.StatusCode)
	}
	if r := giver.get(cluePath); !strings.Contains(r.Body, "谢谢，我马上过去") || strings.Contains(r.Body, "13712345678") {
		t.Error("the giver's thread")
	}
	// Someone else does not find the clue.
	stranger, _ := pageUser(t, e, "13800138604", identity.RoleUser)
	wantStatus(t, "a stranger opens the clue", stranger.get(cluePath), http.StatusNotFound)
	if r := stranger.get("/cases/" + id); strings.Contains(r.Body, clueID) {
		t.Error("a stranger sees the clue on the case page")
	}

	// Staff read clues only after giving a reason: each read audited.
	r = mod.get("/cases/" + id)
	if !strings.Contains(r.Body, `id="clues-audit"`) || strings.Contains(r.Body, clueID) {
		t.Error("staff see clues without asking")
	}
	admin := seeking.Viewer{UserID: "admin", Role: identity.RoleAdmin}
	before, _ := e.seeking.AuditEventsFor(ctx, admin, "case", id)
	r = mod.get("/cases/" + id + "?clues=1&reason=" + url.QueryEscape("核实线索"))
	if !strings.Contains(r.Body, clueID) {
		t.Error("staff asked with a reason and see no clue")
	}
	after, _ := e.seeking.AuditEventsFor(ctx, admin, "case", id)
	if len(after) != len(before)+1 || after[len(after)-1].Reason != "核实线索" {
		t.Errorf("P52: audit events %d → %d", len(before), len(after))
	}
	r = mod.get(cluePath + "?reason=" + url.QueryEscape("核实线索"))
	if !strings.Contains(r.Body, `id="clue-review"`) || strings.Contains(r.Body, `id="message-text"`) {
		t.Error("the staff view of a clue")
	}
	if r := mod.submit(cluePath+"/review", url.Values{"verdict": {"maybe"}}); r.StatusCode != http.StatusBadRequest {
		t.Errorf("a bad verdict: %d", r.StatusCode)
	}
	if r := mod.submit(cluePath+"/review", url.Values{"verdict": {"verified"}}); r.StatusCode != http.StatusSeeOther {
		t.Errorf("verify the clue: %d", r.StatusCode)
	}
	if r := giver.get(cluePath); !strings.Contains(r.Body, `id="clue-status">`+translate(langZH, "clue.status.verified")) {
		t.Error("the giver does not see the verdict")
	}

	// (c) over HTTP: resolved, the public page keeps neither name nor
	// photo, and the photo itself is gone from public view.
	if r := pub.submit("/cases/"+id+"/resolve", url.Values{"outcome": {"found"}}); r.StatusCode != http.StatusBadRequest {
		t.Errorf("a bad outcome: %d", r.StatusCode)
	}
	if r := pub.submit("/cases/"+id+"/resolve", url.Values{"outcome": {"found_safe"}, "note": {"已平安回家"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("resolve: %d", r.StatusCode)
	}
	r = anon.get("/cases/" + id)
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Body, `id="case-redacted"`) || strings.Contains(r.Body, "王小明") ||
		strings.Contains(r.Body, "/photos/") || strings.Contains(r.Body, "西湖公园") {
		t.Errorf("the resolved case's public page: %d", r.StatusCode)
	}
	if r := pub.get("/cases/" + id); !strings.Contains(r.Body, "王小明") || !strings.Contains(r.Body, `id="case-closed"`) {
		t.Error("the reporter lost the record of the resolved case")
	}
}

// TestPageSeekingMessages: every value the pages name by key has its
// message in both languages.
func TestPageSeekingMessages(t *testing.T) {
	t.Parallel()
	var keys []string
	for _, c := range caseCategories {
		keys = append(keys, "seeking.category."+c)
	}
	for _, st := range []seeking.Status{seeking.StatusDraft, seeking.StatusInReview, seeking.StatusPublished, seeking.StatusRejected,
		seeking.StatusFoundSafe, seeking.StatusFoundSafePrivate, seeking.StatusFoundDeceased, seeking.StatusWithdrawn} {
		keys = append(keys, "seeking.status."+string(st))
	}
	for _, o := range resolutions {
		keys = append(keys, "case.outcome."+o)
	}
	for _, sx := range []string{"female", "male", "other"} {
		keys = append(keys, "seeking.sex."+sx)
	}
	for _, cs := range []seeking.ClueStatus{seeking.ClueNew, seeking.ClueVerified, seeking.ClueDismissed} {
		keys = append(keys, "clue.status."+string(cs))
	}
	for _, by := range []string{seeking.ActorReporter, seeking.ActorModerator, seeking.ActorPartner} {
		keys = append(keys, "case.by."+by)
	}
	for _, p := range []seeking.Party{seeking.PartyReporter, seeking.PartyClueGiver} {
		keys = append(keys, "relay.from."+string(p))
	}
	for _, k := range []notify.Kind{notify.KindSeekingAlert, notify.KindSeekingResolution, notify.KindPolicyUpdated, notify.KindSecurity, notify.KindMarketing} {
		keys = append(keys, "inbox.kind."+string(k))
	}
	all := notify.Notification{Kind: notify.KindSeekingAlert, Data: notify.Data{CaseID: "c", DistanceKM: 1}}
	for _, rs := range all.Reasons() {
		keys = append(keys, "inbox.reason."+string(rs))
	}
	keys = append(keys, "cases.title", "case.title", "case.form.title", "case.form.edit_title", "clue.title", "staff.title", "inbox.title",
		"location.title", "staff.only", "nav.cases", "nav.inbox", "nav.review")
	for _, k := range keys {
		if !hasMessage(k) {
			t.Errorf("missing message %q", k)
		}
	}
	if got := whyText(langEN, notify.Data{Ring: 2, DistanceKM: 7}); got != "You got this because you are about 7 km from the place (alert ring 2)." {
		t.Errorf("why, English: %q", got)
	}
	if got := whyText(langZH, notify.Data{Ring: 2, DistanceKM: 7}); !strings.Contains(got, "约 7 公里") || !strings.Contains(got, "第 2 轮") {
		t.Errorf("why, Chinese: %q", got)
	}
	if got := problemText(langZH, "is longer than 64 characters"); got != "不能超过 64 个字符" {
		t.Errorf("a long text's problem in Chinese: %q", got)
	}
}
