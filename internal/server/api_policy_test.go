package server

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/identity"
	"github.com/yuncan/yuncan/internal/storetest"
)

// staffToken creates a staff account the way an operator does (admin
// create-user), logs it in by code, accepting the policy at that first
// login, and returns the session token.
func (e *apiEnv) staffToken(tb testing.TB, role identity.Role) string {
	tb.Helper()
	phone := apiPhone()
	if _, err := e.ident.CreateUser(context.Background(), phone, role); err != nil {
		tb.Fatal(err)
	}
	code := e.sendCode(tb, phone)
	r := e.send(tb, "POST", "/api/v1/auth/login", "", map[string]string{"phone": phone, "code": code, "accept_policy_version": e.policyVersion(tb)})
	apiWant(tb, r, http.StatusOK)
	return r.JSON(tb)["token"].(string)
}

// newPolicyVersion is a valid publication body.
func newPolicyVersion(version string, changed ...string) map[string]any {
	if changed == nil {
		changed = []string{}
	}
	return map[string]any{"version": version, "text": "云寻隐私政策 " + version + "\nYuncan privacy policy " + version,
		"summary_zh": "通讯录用途变更", "summary_en": "Contacts are used differently", "changed_purposes": changed,
		"reduces_rights": false, "adds_purposes": false}
}

// P72, P25, P68: an admin publishes a version that reduces rights; each
// account is told on its next visit, the changed purpose is held back
// until the person accepts, the history lists every version, and sign-ups
// from then on accept the new version.
func TestAPIPolicyVersionJourney(t *testing.T) {
	apiForEachTarget(t, func(t *testing.T, target storetest.Target) {
		e := newAPIEnv(t, target, apiEnvOptions{})
		ctx, base := context.Background(), consent.Base()
		tok, m := e.signUp(t, apiPhone())
		user := consent.User(m["user"].(map[string]any)["id"].(string))
		admin := e.staffToken(t, identity.RoleAdmin)
		moderator := e.staffToken(t, identity.RoleModerator)

		// Grant first, so that only the policy can hold the purpose back.
		for _, p := range []string{"contacts", "marketing_push"} {
			apiWant(t, e.send(t, "PUT", "/api/v1/consents/"+p, tok, nil), http.StatusNoContent)
		}
		if err := e.consent.Require(ctx, user, consent.PurposeContacts); err != nil {
			t.Fatalf("Require after the grant: %v", err)
		}
		r := e.get(t, "/api/v1/me/notices", tok)
		apiWant(t, r, http.StatusOK)
		if n := r.JSON(t)["notices"].([]any); len(n) != 0 {
			t.Fatalf("notices before any new version: %v", n)
		}

		// Only admins publish.
		body := newPolicyVersion("2030-v2", "contacts")
		body["reduces_rights"] = true
		apiWantError(t, e.send(t, "POST", "/api/v1/admin/policy-versions", tok, body), http.StatusForbidden, "forbidden")
		apiWantError(t, e.send(t, "POST", "/api/v1/admin/policy-versions", moderator, body), http.StatusForbidden, "forbidden")
		apiWantError(t, e.send(t, "POST", "/api/v1/admin/policy-versions", "", body), http.StatusUnauthorized, "unauthenticated")
		bad := newPolicyVersion("2030-v2", "mind_reading")
		apiWantError(t, e.send(t, "POST", "/api/v1/admin/policy-versions", admin, bad), http.StatusBadRequest, "invalid")
		bad = newPolicyVersion("2030-v2")
		bad["effective"] = "next week"
		apiWantError(t, e.send(t, "POST", "/api/v1/admin/policy-versions", admin, bad), http.StatusBadRequest, "invalid")
		bad = newPolicyVersion("2030-v2")
		bad["reduces_rights"] = true // of nothing named
		apiWantError(t, e.send(t, "POST", "/api/v1/admin/policy-versions", admin, bad), http.StatusBadRequest, "invalid")

		r = e.send(t, "POST", "/api/v1/admin/policy-versions", admin, body)
		apiWant(t, r, http.StatusCreated)
		if loc := r.Header.Get("Location"); loc != "/api/v1/privacy/policy/2030-v2" {
			t.Errorf("Location %q", loc)
		}
		pv := r.JSON(t)
		if pv["version"] != "2030-v2" || pv["reduces_rights"] != true || pv["summary"] != "通讯录用途变更" || pv["effective"] == "" || pv["effective_at"] == "" {
			t.Errorf("published version: %s", r.Body)
		}
		apiWantError(t, e.send(t, "POST", "/api/v1/admin/policy-versions", admin, body), http.StatusConflict, "policy_version_exists")

		// P68: the policy in force is the new one.
		if v := e.policyVersion(t); v != "2030-v2" {
			t.Fatalf("GET /api/v1/privacy/policy names %s, want 2030-v2", v)
		}
		// P72: the account is told on its next visit.
		r = e.do(t, apiReq{Method: "GET", Path: "/api/v1/me/notices?lang=en", Token: tok})
		apiWant(t, r, http.StatusOK)
		notices := r.JSON(t)["notices"].([]any)
		if len(notices) != 1 {
			t.Fatalf("notices: %s", r.Body)
		}
		if n := notices[0].(map[string]any); n["kind"] != "policy_updated" || n["version"] != "2030-v2" ||
			n["summary"] != "Contacts are used differently" || n["effective"] != pv["effective"] {
			t.Errorf("notice: %v", n)
		}
		// P72, P25: the changed purpose waits for the acceptance; others
		// do not.
		err := e.consent.Require(ctx, user, consent.PurposeContacts)
		var ae *yuncan.Error
		if !errors.As(err, &ae) || ae.Code != yuncan.Forbidden || ae.Reason != "policy_acceptance_required" || ae.Extra["purpose"] != "contacts" {
			t.Fatalf("Require of the changed purpose: %v; want policy_acceptance_required for contacts", err)
		}
		if err := e.consent.Require(ctx, user, consent.PurposeMarketingPush); err != nil {
			t.Errorf("Require of a purpose the version did not change: %v", err)
		}

		// Only the version in force can be accepted.
		apiWantError(t, e.send(t, "POST", "/api/v1/privacy/policy/"+base.Version+"/accept", tok, nil), http.StatusConflict, "policy_version_stale")
		apiWantError(t, e.send(t, "POST", "/api/v1/privacy/policy/1999-01-01/accept", tok, nil), http.StatusNotFound, "not_found")
		apiWantError(t, e.send(t, "POST", "/api/v1/privacy/policy/2030-v2/accept", "", nil), http.StatusUnauthorized, "unauthenticated")
		apiWant(t, e.do(t, apiReq{Method: "POST", Path: "/api/v1/privacy/policy/2030-v2/accept", Token: tok,
			Header: map[string]string{"X-Yuncan-Client": "app"}}), http.StatusNoContent)
		apiWant(t, e.send(t, "POST", "/api/v1/privacy/policy/2030-v2/accept", tok, nil), http.StatusNoContent)
		if err := e.consent.Require(ctx, user, consent.PurposeContacts); err != nil {
			t.Errorf("Require after the acceptance: %v", err)
		}
		r = e.get(t, "/api/v1/me/notices", tok)
		if n := r.JSON(t)["notices"].([]any); len(n) != 0 {
			t.Errorf("notices after the acceptance: %v", n)
		}
		as, err := e.db.Identity().PolicyAcceptances(ctx, user.ID)
		if err != nil || len(as) != 2 || as[1].Version != "2030-v2" || as[1].Channel != "app" {
			t.Errorf("acceptances %+v, %v; want the sign-up's and one of 2030-v2 from the app", as, err)
		}

		// P72: the history lists both, newest first, without texts.
		r = e.get(t, "/api/v1/privacy/policy/history", "")
		apiWant(t, r, http.StatusOK)
		vs := r.JSON(t)["versions"].([]any)
		if len(vs) != 2 || vs[0].(map[string]any)["version"] != "2030-v2" || vs[1].(map[string]any)["version"] != base.Version {
			t.Fatalf("history: %s", r.Body)
		}
		if first := vs[0].(map[string]any); first["reduces_rights"] != true || len(first["changed_purposes"].([]any)) != 1 || first["text"] != nil {
			t.Errorf("history entry: %v", first)
		}
		r = e.get(t, "/api/v1/privacy/policy/2030-v2", "")
		apiWant(t, r, http.StatusOK)
		if !strings.Contains(r.JSON(t)["text"].(string), "Yuncan privacy policy 2030-v2") {
			t.Errorf("version text: %s", r.Body)
		}
		r = e.get(t, "/api/v1/privacy/policy/"+base.Version, "")
		apiWant(t, r, http.StatusOK)
		if r.JSON(t)["text"] != base.Text {
			t.Error("the base version does not serve the embedded text")
		}
		apiWantError(t, e.get(t, "/api/v1/privacy/policy/1999-01-01", ""), http.StatusNotFound, "not_found")

		// A sign-up from now on accepts the new version, not the old.
		phone := apiPhone()
		code := e.sendCode(t, phone)
		apiWantError(t, e.send(t, "POST", "/api/v1/auth/login", "", map[string]string{"phone": phone, "code": code, "accept_policy_version": base.Version}),
			http.StatusBadRequest, "policy_version_stale")
		e.wantNoAccount(t, phone)
		newTok, nm := e.signUp(t, apiPhone()) // with the version GET /privacy/policy names
		newID := nm["user"].(map[string]any)["id"].(string)
		if as, err := e.db.Identity().PolicyAcceptances(ctx, newID); err != nil || len(as) != 1 || as[0].Version != "2030-v2" {
			t.Errorf("a new account accepted %+v, %v; want 2030-v2", as, err)
		}
		if n := e.get(t, "/api/v1/me/notices", newTok).JSON(t)["notices"].([]any); len(n) != 0 {
			t.Errorf("notices of an account that signed up under the new version: %v", n)
		}
		if err := e.consent.Grant(ctx, consent.User(newID), consent.PurposeContacts, consent.ChannelApp); err != nil {
			t.Errorf("an account that signed up under the new version cannot grant contacts: %v", err)
		}

		// A version scheduled for later is listed but not yet in force,
		// nor acceptable.
		later := newPolicyVersion("2999-01-01")
		later["effective"] = "2999-01-01"
		apiWant(t, e.send(t, "POST", "/api/v1/admin/policy-versions", admin, later), http.StatusCreated)
		if v := e.policyVersion(t); v != "2030-v2" {
			t.Errorf("with a version scheduled, GET /api/v1/privacy/policy names %s", v)
		}
		vs = e.get(t, "/api/v1/privacy/policy/history", "").JSON(t)["versions"].([]any)
		if len(vs) != 3 || vs[0].(map[string]any)["version"] != "2999-01-01" {
			t.Errorf("history with a scheduled version: %v", vs)
		}
		apiWantError(t, e.send(t, "POST", "/api/v1/privacy/policy/2999-01-01/accept", tok, nil), http.StatusConflict, "policy_version_not_in_force")
	})
}

// A full policy may exceed the usual JSON limit, not the policy's own.
func TestAPIPolicyVersionBodyLimit(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t, storetest.Targets(t)[0], apiEnvOptions{})
	admin := e.staffToken(t, identity.RoleAdmin)
	body := newPolicyVersion("big")
	body["text"] = strings.Repeat("政策", 40<<10) // 240 KiB
	apiWant(t, e.send(t, "POST", "/api/v1/admin/policy-versions", admin, body), http.StatusCreated)
	body = newPolicyVersion("bigger")
	body["text"] = strings.Repeat("x", maxPolicyBody)
	apiWantError(t, e.send(t, "POST", "/api/v1/admin/policy-versions", admin, body), http.StatusRequestEntityTooLarge, "too_large")
	apiWantError(t, e.do(t, apiReq{Method: "POST", Path: "/api/v1/admin/policy-versions", Token: admin, CType: "text/plain", Body: "{}"}),
		http.StatusUnsupportedMediaType, "unsupported_media_type")
}

// FuzzPolicyVersionDecode: the publication decoder never panics and
// refuses only with client errors.
func FuzzPolicyVersionDecode(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"version":"2026-12-01","text":"t","summary_zh":"z","summary_en":"e","changed_purposes":["contacts"],"reduces_rights":true}`,
		`{"effective":"2026-12-01"}`, `{"effective":"2026-12-01T08:00:00+08:00"}`, `{"effective":"2026-13-45"}`, `{"effective":5}`,
		`{"changed_purposes":"contacts"}`, `{"changed_purposes":[1]}`, `{"reduces_rights":"yes"}`, `{"x":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req policyVersionCreateRequest
		if err := decodeJSON(body, &req); err != nil {
			checkDecodeError(t, body, err)
			return
		}
		if _, err := req.publishRequest(); err != nil {
			checkDecodeError(t, body, err)
		}
	})
}
