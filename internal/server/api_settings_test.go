package server

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/storetest"
)

const settingsPath = "/api/v1/me/privacy-settings"

// settingPurposes ties the consent-backed settings to their purposes, as
// the API names both.
var settingPurposes = map[string]string{
	"personalized_recommendations": "personalized_recommendation",
	"programmatic_ads":             "programmatic_ads",
	"marketing_push":               "marketing_push",
	"marketing_sms":                "marketing_sms",
}

// defaultSettings is what a new account's GET answers.
var defaultSettings = map[string]any{
	"recommend_me_to_contacts":     false,
	"suggest_people_i_may_know":    false,
	"show_identity_on_share_pages": true,
	"personalized_recommendations": false,
	"programmatic_ads":             false,
	"marketing_push":               false,
	"marketing_sms":                false,
	"gpc_active":                   false,
}

// settings reads the caller's settings, checking the shape.
func (e *apiEnv) settings(tb testing.TB, token string) map[string]any {
	tb.Helper()
	r := e.get(tb, settingsPath, token)
	apiWant(tb, r, http.StatusOK)
	m := r.JSON(tb)
	if len(m) != len(defaultSettings) {
		tb.Fatalf("settings hold %d members, want %d: %s", len(m), len(defaultSettings), r.Body)
	}
	for k := range defaultSettings {
		if _, ok := m[k].(bool); !ok {
			tb.Fatalf("settings member %q is not a boolean: %s", k, r.Body)
		}
	}
	return m
}

// grantedPurposes lists what GET /api/v1/consents says is granted.
func (e *apiEnv) grantedPurposes(tb testing.TB, token string) map[string]bool {
	tb.Helper()
	r := e.get(tb, "/api/v1/consents", token)
	apiWant(tb, r, http.StatusOK)
	out := map[string]bool{}
	for _, c := range r.JSON(tb)["consents"].([]any) {
		c := c.(map[string]any)
		if c["granted"] == true && c["basis"] != "necessary" {
			out[c["purpose"].(string)] = true
		}
	}
	return out
}

// consentEvents lists the caller's ledger as "action purpose channel".
func (e *apiEnv) consentEvents(tb testing.TB, token string) []string {
	tb.Helper()
	r := e.get(tb, "/api/v1/consents/history", token)
	apiWant(tb, r, http.StatusOK)
	out := []string{}
	for _, ev := range r.JSON(tb)["events"].([]any) {
		ev := ev.(map[string]any)
		out = append(out, ev["action"].(string)+" "+ev["purpose"].(string)+" "+ev["channel"].(string))
	}
	return out
}

// P61, P62, P56 switch, P58, P60: the settings journey. Defaults for a new
// account; each switch on and off again; the four that are consents show
// in GET /api/v1/consents and its history, with the channel.
func TestAPIPrivacySettingsJourney(t *testing.T) {
	apiForEachTarget(t, func(t *testing.T, target storetest.Target) {
		e := newAPIEnv(t, target, apiEnvOptions{})
		apiWantError(t, e.get(t, settingsPath, ""), http.StatusUnauthorized, "unauthenticated")
		apiWantError(t, e.send(t, "PATCH", settingsPath, "", map[string]any{"marketing_sms": true}), http.StatusUnauthorized, "unauthenticated")

		tok, _ := e.signUp(t, apiPhone())
		// P61: not recommended and no suggestions until opted in; P62:
		// the public profile shows on share pages.
		want := maps.Clone(defaultSettings)
		if got := e.settings(t, tok); !maps.Equal(got, want) {
			t.Fatalf("a new account's settings = %v; want %v", got, want)
		}

		for _, name := range []string{"recommend_me_to_contacts", "suggest_people_i_may_know", "show_identity_on_share_pages",
			"personalized_recommendations", "programmatic_ads", "marketing_push", "marketing_sms"} {
			flipped := !want[name].(bool)
			r := e.do(t, apiReq{Method: "PATCH", Path: settingsPath, Token: tok, Body: map[string]any{name: flipped},
				Header: map[string]string{"X-Yuncan-Client": "app"}})
			apiWant(t, r, http.StatusOK)
			want[name] = flipped
			if got := r.JSON(t); !maps.Equal(got, want) {
				t.Fatalf("PATCH %s=%v answered %v; want %v", name, flipped, got, want)
			}
			if got := e.settings(t, tok); !maps.Equal(got, want) {
				t.Fatalf("after PATCH %s=%v, GET = %v; want %v", name, flipped, got, want)
			}
		}
		// The four consent-backed switches are on: the consent API says
		// the same, and the ledger recorded each grant from the app.
		granted := e.grantedPurposes(t, tok)
		for _, p := range settingPurposes {
			if !granted[p] {
				t.Errorf("GET /api/v1/consents: %s not granted after its switch went on", p)
			}
		}
		if len(granted) != len(settingPurposes) {
			t.Errorf("granted %v; want only the four switched on", granted)
		}
		evs := e.consentEvents(t, tok)
		for _, p := range []string{"personalized_recommendation", "programmatic_ads", "marketing_push", "marketing_sms"} {
			if !slices.Contains(evs, "grant "+p+" app") {
				t.Errorf("history %v lacks the grant of %s from the app", evs, p)
			}
		}

		// All back, in one patch: the consents are withdrawn.
		back := map[string]any{}
		for k, v := range defaultSettings {
			if k != "gpc_active" {
				back[k] = v
			}
		}
		r := e.send(t, "PATCH", settingsPath, tok, back)
		apiWant(t, r, http.StatusOK)
		if got := r.JSON(t); !maps.Equal(got, defaultSettings) {
			t.Fatalf("PATCH back to the defaults answered %v", got)
		}
		if granted := e.grantedPurposes(t, tok); len(granted) != 0 {
			t.Errorf("after switching off, still granted: %v", granted)
		}
		evs = e.consentEvents(t, tok)
		if len(evs) != 8 {
			t.Errorf("history %v; want 4 grants and 4 withdrawals", evs)
		}
		for p := range maps.Values(settingPurposes) {
			if !slices.Contains(evs, "withdraw "+p+" api") {
				t.Errorf("history %v lacks the withdrawal of %s through the API", evs, p)
			}
		}

		// A grant through the consent API shows in the settings: one rule.
		apiWant(t, e.send(t, "PUT", "/api/v1/consents/marketing_push", tok, nil), http.StatusNoContent)
		if got := e.settings(t, tok); got["marketing_push"] != true {
			t.Errorf("granted marketing_push through /consents; settings say %v", got["marketing_push"])
		}
		// An empty patch changes nothing.
		r = e.send(t, "PATCH", settingsPath, tok, map[string]any{})
		apiWant(t, r, http.StatusOK)
		if r.JSON(t)["marketing_push"] != true || len(e.consentEvents(t, tok)) != 9 {
			t.Errorf("an empty patch changed something: %s", r.Body)
		}
	})
}

// A bad patch (unknown field, wrong type, null, not JSON) is refused with
// 400 and changes nothing, even the valid fields beside the bad one.
func TestAPIPrivacySettingsBadPatch(t *testing.T) {
	apiForEachTarget(t, func(t *testing.T, target storetest.Target) {
		e := newAPIEnv(t, target, apiEnvOptions{})
		tok, _ := e.signUp(t, apiPhone())
		before := e.settings(t, tok)
		for _, tc := range []struct {
			name   string
			body   string
			status int
			code   string
			field  string
		}{
			{"unknown field", `{"recommend_me_to_contacts":true,"dark_mode":true}`, 400, "unknown_field", "dark_mode"},
			{"setting name in another case", `{"Marketing_SMS":true}`, 400, "unknown_field", "Marketing_SMS"},
			{"the gpc field is not a setting", `{"gpc_active":true}`, 400, "unknown_field", "gpc_active"},
			{"string", `{"recommend_me_to_contacts":true,"programmatic_ads":"yes"}`, 400, "wrong_type", "programmatic_ads"},
			{"number", `{"marketing_push":1,"suggest_people_i_may_know":true}`, 400, "wrong_type", "marketing_push"},
			{"null", `{"show_identity_on_share_pages":false,"marketing_sms":null}`, 400, "invalid", "marketing_sms"},
			{"array", `[{"marketing_sms":true}]`, 400, "malformed_json", ""},
			{"not JSON", `{"marketing_sms":tru`, 400, "malformed_json", ""},
			{"two objects", `{"marketing_sms":true}{}`, 400, "malformed_json", ""},
		} {
			r := e.do(t, apiReq{Method: "PATCH", Path: settingsPath, Token: tok, Body: tc.body, CType: "application/json"})
			er := apiWantError(t, r, tc.status, tc.code)
			if tc.field != "" && er.Error.Fields[tc.field] == "" {
				t.Errorf("%s: error names no field %q: %s", tc.name, tc.field, r.Body)
			}
		}
		apiWantError(t, e.do(t, apiReq{Method: "PATCH", Path: settingsPath, Token: tok, Body: `{"marketing_sms":true}`, CType: "text/plain"}),
			http.StatusUnsupportedMediaType, "unsupported_media_type")
		if after := e.settings(t, tok); !maps.Equal(after, before) {
			t.Errorf("refused patches changed the settings: %v; was %v", after, before)
		}
		if evs := e.consentEvents(t, tok); len(evs) != 0 {
			t.Errorf("refused patches wrote consent events: %v", evs)
		}
	})
}

// A patch whose grant the gate refuses for a reason known in advance (a
// stand-in for the minors rule: adults-only purposes stay off) answers
// that refusal and changes nothing at all.
func TestAPIPrivacySettingsRefusedGrantChangesNothing(t *testing.T) {
	apiForEachTarget(t, func(t *testing.T, target storetest.Target) {
		e := newAPIEnv(t, target, apiEnvOptions{})
		var mu sync.Mutex
		minors := map[string]bool{}
		e.srv.consent.Restrict(func(ctx context.Context, sub consent.Subject, d *consent.PurposeDecl) error {
			mu.Lock()
			defer mu.Unlock()
			if d.AdultsOnly && minors[sub.ID] {
				return &yuncan.Error{Code: yuncan.Forbidden, Reason: "adults_only", Message: "not offered to people under 18",
					Extra: map[string]string{"purpose": string(d.ID)}}
			}
			return nil
		})
		tok, login := e.signUp(t, apiPhone())
		mu.Lock()
		minors[login["user"].(map[string]any)["id"].(string)] = true
		mu.Unlock()
		before := e.settings(t, tok)

		r := e.send(t, "PATCH", settingsPath, tok, map[string]any{"recommend_me_to_contacts": true, "show_identity_on_share_pages": false,
			"personalized_recommendations": true, "programmatic_ads": true})
		er := apiWantError(t, r, http.StatusForbidden, "adults_only")
		if er.Error.Purpose != "programmatic_ads" {
			t.Errorf("the refusal names purpose %q, want programmatic_ads", er.Error.Purpose)
		}
		if after := e.settings(t, tok); !maps.Equal(after, before) {
			t.Errorf("a refused patch changed the settings: %v; was %v", after, before)
		}
		if evs := e.consentEvents(t, tok); len(evs) != 0 {
			t.Errorf("a refused patch wrote consent events: %v", evs)
		}
		// Without the refused switch the same patch goes through.
		r = e.send(t, "PATCH", settingsPath, tok, map[string]any{"recommend_me_to_contacts": true, "personalized_recommendations": true})
		apiWant(t, r, http.StatusOK)
	})
}

// FuzzDecodePrivacySettings: the settings decoder never panics, and what
// it or the patch check refuses is the client's to fix (400), never ours.
func FuzzDecodePrivacySettings(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"marketing_sms":true}`, `{"marketing_sms":null}`, `{"marketing_sms":"true"}`, `{"marketing_sms":1}`,
		`{"recommend_me_to_contacts":false,"suggest_people_i_may_know":true,"show_identity_on_share_pages":false}`,
		`{"personalized_recommendations":true,"programmatic_ads":false,"marketing_push":true}`, `{"gpc_active":true}`,
		`{"marketing_sms":true,"marketing_sms":false}`, `null`, `[]`, `{"programmatic_ads":{}}`, `{"marketing_push":[true]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var p privacySettingsPatch
		err := decodeJSON(body, &p)
		if err == nil {
			_, err = p.patch()
			if err == nil {
				return
			}
		}
		checkDecodeError(t, body, err)
	})
}

// The patch the handler builds is the one the service gets: each JSON
// name sets its own field.
func TestPrivacySettingsPatchFields(t *testing.T) {
	t.Parallel()
	for name, get := range map[string]func(consent.SettingsPatch) *bool{
		"recommend_me_to_contacts":     func(p consent.SettingsPatch) *bool { return p.RecommendMeToContacts },
		"suggest_people_i_may_know":    func(p consent.SettingsPatch) *bool { return p.SuggestPeopleIMayKnow },
		"show_identity_on_share_pages": func(p consent.SettingsPatch) *bool { return p.ShowIdentityOnSharePages },
		"personalized_recommendations": func(p consent.SettingsPatch) *bool { return p.PersonalizedRecommendations },
		"programmatic_ads":             func(p consent.SettingsPatch) *bool { return p.ProgrammaticAds },
		"marketing_push":               func(p consent.SettingsPatch) *bool { return p.MarketingPush },
		"marketing_sms":                func(p consent.SettingsPatch) *bool { return p.MarketingSMS },
	} {
		body, _ := json.Marshal(map[string]bool{name: true})
		var req privacySettingsPatch
		if err := decodeJSON(body, &req); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		p, err := req.patch()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if v := get(p); v == nil || !*v {
			t.Errorf("%s=true did not set its field: %+v", name, p)
		}
		set := 0
		for _, g := range []*bool{p.RecommendMeToContacts, p.SuggestPeopleIMayKnow, p.ShowIdentityOnSharePages,
			p.PersonalizedRecommendations, p.ProgrammaticAds, p.MarketingPush, p.MarketingSMS} {
			if g != nil {
				set++
			}
		}
		if set != 1 {
			t.Errorf("%s=true set %d fields", name, set)
		}
	}
}
