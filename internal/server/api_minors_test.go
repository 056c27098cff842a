package server

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/storetest"
)

// signUpWith creates an account for phone through the API with the age
// fields in age, and returns its token.
func (e *apiEnv) signUpWith(tb testing.TB, phone string, age map[string]any) string {
	tb.Helper()
	body := map[string]any{"phone": phone, "code": e.sendCode(tb, phone), "accept_policy_version": e.policyVersion(tb)}
	for k, v := range age {
		body[k] = v
	}
	r := e.send(tb, "POST", "/api/v1/auth/login", "", body)
	apiWant(tb, r, http.StatusOK)
	return r.JSON(tb)["token"].(string)
}

// TestAPISignUpAge: P70: a new account gives its age; a minor the
// guardian's acknowledgement. A refused sign-up spends nothing.
func TestAPISignUpAge(t *testing.T) {
	apiForEachTarget(t, func(t *testing.T, target storetest.Target) {
		e := newAPIEnv(t, target, apiEnvOptions{})
		phone := apiPhone()
		code := e.sendCode(t, phone)
		login := func(extra map[string]any) apiResp {
			body := map[string]any{"phone": phone, "code": code, "accept_policy_version": e.policyVersion(t)}
			for k, v := range extra {
				body[k] = v
			}
			return e.send(t, "POST", "/api/v1/auth/login", "", body)
		}
		er := apiWantError(t, login(nil), http.StatusBadRequest, "age_required")
		if er.Error.Fields["age_band"] == "" {
			t.Errorf("age_required does not name age_band: %+v", er)
		}
		er = apiWantError(t, login(map[string]any{"age_band": "14_17"}), http.StatusBadRequest, "guardian_acknowledgement_required")
		if er.Error.Fields["guardian_acknowledged"] == "" {
			t.Errorf("guardian_acknowledgement_required does not name the field: %+v", er)
		}
		apiWantError(t, login(map[string]any{"age_band": "14_17", "guardian_acknowledged": false}), http.StatusBadRequest, "guardian_acknowledgement_required")
		apiWantError(t, login(map[string]any{"birth_date": "2999-01-01"}), http.StatusBadRequest, "invalid_birth_date")
		apiWantError(t, login(map[string]any{"age_band": "teen"}), http.StatusBadRequest, "invalid")
		apiWantError(t, login(map[string]any{"guardian_acknowledged": "yes", "age_band": "14_17"}), http.StatusBadRequest, "wrong_type")
		e.wantNoAccount(t, phone)

		// The same code signs up once the age is given: a birth date ten
		// years ago is under 14.
		born := e.srv.now().AddDate(-10, 0, 0).Format("2006-01-02")
		r := login(map[string]any{"birth_date": born, "guardian_acknowledged": true})
		apiWant(t, r, http.StatusOK)
		tok := r.JSON(t)["token"].(string)
		u, err := e.userRecord(t, phone)
		if err != nil || u.AgeBand != "under_14" || u.GuardianAckAt.IsZero() {
			t.Fatalf("stored account: band %q, acknowledged at %v (%v)", u.AgeBand, u.GuardianAckAt, err)
		}
		if u.Birthday != nil {
			t.Errorf("the birth date was kept in the profile: %q", *u.Birthday)
		}
		r = e.get(t, "/api/v1/me/guardian", tok)
		apiWant(t, r, http.StatusOK)
		m := r.JSON(t)
		if m["age_band"] != "under_14" || m["guardian_required"] != true || m["verified"] != false || m["delete_after"] == nil {
			t.Errorf("GET /me/guardian: %s", r.Body)
		}
	})
}

// TestAPIGuardianJourney: P70: a child under 14 gets no optional purpose
// until the guardian's code comes back; then it does, but never ads.
func TestAPIGuardianJourney(t *testing.T) {
	apiForEachTarget(t, func(t *testing.T, target storetest.Target) {
		e := newAPIEnv(t, target, apiEnvOptions{})
		child := apiPhone()
		tok := e.signUpWith(t, child, map[string]any{"age_band": "under_14", "guardian_acknowledged": true})

		er := apiWantError(t, e.send(t, "PUT", "/api/v1/consents/personalized_recommendation", tok, nil), http.StatusForbidden, "guardian_consent_required")
		if er.Error.Purpose != "personalized_recommendation" {
			t.Errorf("refusal names purpose %q", er.Error.Purpose)
		}
		apiWantError(t, e.send(t, "POST", "/api/v1/consents", tok, map[string]any{"purposes": []string{"personalized_recommendation"}}),
			http.StatusForbidden, "guardian_consent_required")

		apiWantError(t, e.send(t, "POST", "/api/v1/me/guardian/verify", tok, map[string]string{"code": "123456"}), http.StatusConflict, "guardian_not_requested")
		er = apiWantError(t, e.send(t, "POST", "/api/v1/me/guardian", tok, map[string]string{"guardian_phone": child}), http.StatusBadRequest, "guardian_phone_same")
		if er.Error.Fields["guardian_phone"] == "" {
			t.Errorf("guardian_phone_same does not name the field: %+v", er)
		}
		er = apiWantError(t, e.send(t, "POST", "/api/v1/me/guardian", tok, map[string]string{"guardian_phone": "12345"}), http.StatusBadRequest, "invalid_phone")
		if er.Error.Fields["guardian_phone"] == "" {
			t.Errorf("a bad number does not name guardian_phone: %+v", er)
		}
		apiWantError(t, e.send(t, "POST", "/api/v1/me/guardian", "", map[string]string{"guardian_phone": apiPhone()}), http.StatusUnauthorized, "unauthenticated")

		guardian := apiPhone()
		r := e.send(t, "POST", "/api/v1/me/guardian", tok, map[string]string{"guardian_phone": guardian})
		apiWant(t, r, http.StatusAccepted)
		if m := r.JSON(t); m["guardian_phone_masked"] != maskPhone(apiE164(guardian)) || m["verified"] != false {
			t.Errorf("after asking: %s", r.Body)
		}
		code := e.codeFor(t, guardian)
		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}
		apiWantError(t, e.send(t, "POST", "/api/v1/me/guardian/verify", tok, map[string]string{"code": wrong}), http.StatusBadRequest, "code_invalid")
		r = e.send(t, "POST", "/api/v1/me/guardian/verify", tok, map[string]string{"code": code})
		apiWant(t, r, http.StatusOK)
		if m := r.JSON(t); m["verified"] != true || m["verified_at"] == nil || m["delete_after"] != nil {
			t.Errorf("after verifying: %s", r.Body)
		}
		apiWantError(t, e.send(t, "POST", "/api/v1/me/guardian/verify", tok, map[string]string{"code": code}), http.StatusConflict, "guardian_already_verified")

		apiWant(t, e.send(t, "PUT", "/api/v1/consents/personalized_recommendation", tok, nil), http.StatusNoContent)
		er = apiWantError(t, e.send(t, "PUT", "/api/v1/consents/programmatic_ads", tok, nil), http.StatusForbidden, "adults_only")
		if er.Error.Purpose != "programmatic_ads" {
			t.Errorf("adults_only names purpose %q", er.Error.Purpose)
		}

		// An adult needs no guardian.
		adult := e.signUpWith(t, apiPhone(), map[string]any{"age_band": "adult"})
		r = e.get(t, "/api/v1/me/guardian", adult)
		apiWant(t, r, http.StatusOK)
		if m := r.JSON(t); m["age_band"] != "adult" || m["guardian_required"] != false || m["delete_after"] != nil {
			t.Errorf("adult's guardian state: %s", r.Body)
		}
		apiWantError(t, e.send(t, "POST", "/api/v1/me/guardian", adult, map[string]string{"guardian_phone": apiPhone()}), http.StatusConflict, "guardian_not_required")
		apiWant(t, e.send(t, "PUT", "/api/v1/consents/programmatic_ads", adult, nil), http.StatusNoContent)
	})
}

// TestAPIGuardianRequests: P71: a guardian writes in without an account
// and follows the request with its id.
func TestAPIGuardianRequests(t *testing.T) {
	apiForEachTarget(t, func(t *testing.T, target storetest.Target) {
		e := newAPIEnv(t, target, apiEnvOptions{})
		body := map[string]string{"guardian_phone": apiPhone(), "minor_phone": apiPhone(), "kind": "access", "message": "我想查看孩子账号里的信息。"}
		r := e.send(t, "POST", "/api/v1/guardian-requests", "", body)
		apiWant(t, r, http.StatusCreated)
		m := r.JSON(t)
		id, _ := m["id"].(string)
		if m["status"] != "received" || m["kind"] != "access" || len(id) != 36 {
			t.Fatalf("created: %s", r.Body)
		}
		if loc := r.Header.Get("Location"); loc != "/api/v1/guardian-requests/"+id {
			t.Errorf("Location %q", loc)
		}
		r = e.get(t, "/api/v1/guardian-requests/"+id, "")
		apiWant(t, r, http.StatusOK)
		if got := r.JSON(t); got["id"] != id || got["status"] != "received" {
			t.Errorf("GET: %s", r.Body)
		}
		if r.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("Cache-Control %q, want no-store", r.Header.Get("Cache-Control"))
		}
		apiWantError(t, e.get(t, "/api/v1/guardian-requests/00000000-0000-4000-8000-000000000000", ""), http.StatusNotFound, "not_found")
		apiWantError(t, e.get(t, "/api/v1/guardian-requests/nope", ""), http.StatusNotFound, "not_found")

		bad := map[string]string{"guardian_phone": "1", "minor_phone": body["minor_phone"], "kind": "complaint"}
		er := apiWantError(t, e.send(t, "POST", "/api/v1/guardian-requests", "", bad), http.StatusBadRequest, "invalid")
		if er.Error.Fields["guardian_phone"] == "" || er.Error.Fields["kind"] == "" {
			t.Errorf("fields %v; want guardian_phone and kind", er.Error.Fields)
		}
		long := map[string]string{"guardian_phone": apiPhone(), "minor_phone": apiPhone(), "kind": "other", "message": strings.Repeat("字", 2001)}
		apiWantError(t, e.send(t, "POST", "/api/v1/guardian-requests", "", long), http.StatusBadRequest, "invalid")

		// The limit per client IP: ten an hour (one is filed already).
		for i := 1; i < e.minors.Config().RequestsPerIPHour; i++ {
			apiWant(t, e.send(t, "POST", "/api/v1/guardian-requests", "", body), http.StatusCreated)
		}
		apiWantError(t, e.send(t, "POST", "/api/v1/guardian-requests", "", body), http.StatusTooManyRequests, "rate_limited")
	})
}

// FuzzDecodeMinors: the minors decoders refuse what they cannot read as
// a client error, never an internal one.
func FuzzDecodeMinors(f *testing.F) {
	for _, s := range []string{
		``, `{}`, `null`, `{"guardian_phone":"13800138000"}`, `{"code":"123456"}`, `{"code":123456}`,
		`{"guardian_phone":"13800138000","minor_phone":"13900139000","kind":"access","message":"x"}`,
		`{"kind":["access"]}`, `{"message":"\u0000"}`, `{"guardian_phone":null}`,
		`{"phone":"13800138000","code":"123456","age_band":"under_14","guardian_acknowledged":"true"}`,
		`{"birth_date":20110301}`,
	} {
		f.Add([]byte(s))
	}
	targets := []func() any{
		func() any { return new(guardianPhoneRequest) },
		func() any { return new(guardianCodeRequest) },
		func() any { return new(guardianRequestCreate) },
		func() any { return new(loginRequest) },
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, newV := range targets {
			if err := decodeJSON(body, newV()); err != nil {
				checkDecodeError(t, body, err)
			}
		}
	})
}

// TestPageSignUpAge: P70: the web sign-up asks for the age too, keeps the
// answers when it refuses, and spends nothing.
func TestPageSignUpAge(t *testing.T) {
	e := newPageEnv(t, "")
	c := e.client()
	c.get("/login")
	const phone = "15012345670"
	r := c.submit("/login/code", url.Values{"phone": {phone}, "age_band": {"14_17"}})
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Body, `id="age-band"`) || !strings.Contains(r.Body, `value="14_17" selected`) {
		t.Fatalf("send code: %d, age question missing or answer lost", r.StatusCode)
	}
	code := e.code("+86" + phone)
	form := url.Values{"phone": {phone}, "code": {code}, "accept_policy_version": {consent.Current().Version}}
	r = c.submit("/login", form)
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Body, `id="age-error"`) {
		t.Errorf("sign-up without an age: %d, age error missing", r.StatusCode)
	}
	form.Set("age_band", "under_14")
	r = c.submit("/login", form)
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Body, `id="guardian-ack-error"`) || !strings.Contains(r.Body, `value="under_14" selected`) {
		t.Errorf("under 14 without acknowledgement: %d, error or kept answer missing", r.StatusCode)
	}
	if c.cookie(sessionCookie) != "" {
		t.Fatal("a refused sign-up set a session cookie")
	}
	form.Set("guardian_acknowledged", "true")
	r = c.submit("/login", form)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/me?ok=welcome_created" {
		t.Errorf("sign-up under 14 with acknowledgement: %d → %q", r.StatusCode, r.Header.Get("Location"))
	}
}
