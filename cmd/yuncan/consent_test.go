package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/yuncan/yuncan/internal/storetest"
)

// who is how a request identifies its caller: an account's session token
// or, before login, a device token.
type who struct{ token, device string }

// send sends a JSON request as w and returns the status and the raw body.
func send(t testing.TB, inst *instance, w who, method, path string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, inst.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if w.token != "" {
		req.Header.Set("Authorization", "Bearer "+w.token)
	}
	if w.device != "" {
		req.Header.Set("X-Device-Token", w.device)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// sendWant sends and fails unless the status is want; it decodes a JSON
// answer into out when out is non-nil.
func sendWant(t testing.TB, inst *instance, w who, method, path string, body any, want int, out any) {
	t.Helper()
	st, b := send(t, inst, w, method, path, body)
	if st != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, st, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
}

// sendError sends and fails unless the answer is an error with status
// and code.
func sendError(t testing.TB, inst *instance, w who, method, path string, body any, status int, code string) {
	t.Helper()
	var e struct {
		Error struct{ Code, Purpose string }
	}
	sendWant(t, inst, w, method, path, body, status, &e)
	if e.Error.Code != code {
		t.Fatalf("%s %s: code %q, want %q", method, path, e.Error.Code, code)
	}
}

type consentState struct {
	Purpose     string  `json:"purpose"`
	Basis       string  `json:"basis"`
	Sensitive   bool    `json:"sensitive"`
	Granted     bool    `json:"granted"`
	GrantedAt   *string `json:"granted_at"`
	WithdrawnAt *string `json:"withdrawn_at"`
}

type consentEvent struct {
	Purpose, Action, Channel string
	PolicyVersion            string `json:"policy_version"`
	At                       string
}

func consentsOf(t testing.TB, inst *instance, w who) map[string]consentState {
	t.Helper()
	var out struct{ Consents []consentState }
	sendWant(t, inst, w, "GET", "/api/v1/consents", nil, http.StatusOK, &out)
	m := map[string]consentState{}
	for _, c := range out.Consents {
		m[c.Purpose] = c
	}
	return m
}

func historyOf(t testing.TB, inst *instance, w who) []consentEvent {
	t.Helper()
	var out struct{ Events []consentEvent }
	sendWant(t, inst, w, "GET", "/api/v1/consents/history", nil, http.StatusOK, &out)
	return out.Events
}

// The optional purposes P01 names: off until the person says otherwise.
var p01Optional = []string{"precise_location", "contacts", "camera_photos_microphone", "personalized_recommendation",
	"programmatic_ads", "marketing_push", "marketing_sms"}

// TestConsentLedgerServe drives the consent ledger through the real
// `yuncan serve` on both databases, then restarts the process on the same
// data and database and finds the ledger intact.
func TestConsentLedgerServe(t *testing.T) {
	for _, tg := range storetest.Targets(t) {
		t.Run(tg.Name, func(t *testing.T) {
			t.Parallel()
			inst := start(t, tg.DataDir, tg.DSN)
			user := who{token: signUp(t, inst, "+8613800138001").Token}

			// P01: with only the policy accepted, every optional purpose is
			// off and only the necessary ones are on.
			st := consentsOf(t, inst, user)
			for _, p := range p01Optional {
				if _, ok := st[p]; !ok {
					t.Errorf("P01: GET /consents does not list %s", p)
				}
			}
			for p, c := range st {
				if c.Granted != (c.Basis == "necessary") {
					t.Errorf("P01: %s (basis %s) granted = %v after sign-up", p, c.Basis, c.Granted)
				}
				if c.Basis != "necessary" && (c.GrantedAt != nil || c.WithdrawnAt != nil) {
					t.Errorf("P01: %s has decision times before any decision: %+v", p, c)
				}
			}
			if h := historyOf(t, inst, user); len(h) != 0 {
				t.Fatalf("P01: sign-up wrote consent events %+v", h)
			}

			// P05: a sensitive purpose is granted on its own; in a bundle it
			// is refused and nothing of the bundle is granted.
			sendWant(t, inst, user, "PUT", "/api/v1/consents/precise_location", nil, http.StatusNoContent, nil)
			sendError(t, inst, user, "POST", "/api/v1/consents", map[string]any{"purposes": []string{"precise_location", "contacts"}},
				http.StatusBadRequest, "sensitive_needs_separate_consent")
			st = consentsOf(t, inst, user)
			if !st["precise_location"].Granted || st["contacts"].Granted {
				t.Fatalf("P05: after the refused bundle: precise_location %v, contacts %v", st["precise_location"].Granted, st["contacts"].Granted)
			}
			if h := historyOf(t, inst, user); len(h) != 1 {
				t.Fatalf("P05: the refused bundle stored something: %+v", h)
			}

			// P63: withdrawal is recorded next to the grant, each with its
			// time; withdrawing again is a conflict that stores nothing.
			sendWant(t, inst, user, "DELETE", "/api/v1/consents/precise_location", nil, http.StatusNoContent, nil)
			h := historyOf(t, inst, user)
			if len(h) != 2 || h[0].Purpose != "precise_location" || h[0].Action != "grant" ||
				h[1].Purpose != "precise_location" || h[1].Action != "withdraw" {
				t.Fatalf("P63: history %+v, want the grant then the withdrawal", h)
			}
			granted, err1 := time.Parse(time.RFC3339Nano, h[0].At)
			withdrawn, err2 := time.Parse(time.RFC3339Nano, h[1].At)
			if err1 != nil || err2 != nil || withdrawn.Before(granted) || time.Since(granted) > time.Minute {
				t.Errorf("P63: grant at %q, withdrawal at %q", h[0].At, h[1].At)
			}
			if h[0].PolicyVersion == "" {
				t.Errorf("P63: the grant names no policy version: %+v", h[0])
			}
			if c := consentsOf(t, inst, user)["precise_location"]; c.Granted || c.GrantedAt == nil || c.WithdrawnAt == nil {
				t.Errorf("P63: after withdrawal: %+v", c)
			}
			sendError(t, inst, user, "DELETE", "/api/v1/consents/precise_location", nil, http.StatusConflict, "not_granted")
			if n := len(historyOf(t, inst, user)); n != 2 {
				t.Errorf("P63: a second withdrawal stored an event (%d events)", n)
			}
			sendError(t, inst, user, "PUT", "/api/v1/consents/mind_reading", nil, http.StatusBadRequest, "unknown_purpose")
			sendError(t, inst, user, "DELETE", "/api/v1/consents/mind_reading", nil, http.StatusBadRequest, "unknown_purpose")
			sendError(t, inst, user, "POST", "/api/v1/consents", map[string]any{"purposes": []string{"mind_reading"}}, http.StatusBadRequest, "unknown_purpose")

			// A device without an account has its own consents, apart from
			// the account's.
			var dev struct{ Token string }
			sendWant(t, inst, who{}, "POST", "/api/v1/devices", map[string]string{"platform": "android"}, http.StatusCreated, &dev)
			device := who{device: dev.Token}
			for p, c := range consentsOf(t, inst, device) {
				if c.Granted != (c.Basis == "necessary") {
					t.Errorf("P01: the new device has %s granted = %v", p, c.Granted)
				}
			}
			sendWant(t, inst, device, "PUT", "/api/v1/consents/contacts", nil, http.StatusNoContent, nil)
			if !consentsOf(t, inst, device)["contacts"].Granted || consentsOf(t, inst, user)["contacts"].Granted {
				t.Error("the device's consent is not its own")
			}
			if h := historyOf(t, inst, device); len(h) != 1 || h[0].Purpose != "contacts" {
				t.Errorf("device history %+v", h)
			}

			// P72, P68: the policy history lists the version in force.
			var pol struct{ Version string }
			sendWant(t, inst, who{}, "GET", "/api/v1/privacy/policy", nil, http.StatusOK, &pol)
			var ph struct{ Versions []struct{ Version string } }
			sendWant(t, inst, who{}, "GET", "/api/v1/privacy/policy/history", nil, http.StatusOK, &ph)
			if !slices.ContainsFunc(ph.Versions, func(v struct{ Version string }) bool { return v.Version == pol.Version }) {
				t.Errorf("P72: policy history %+v lacks the current version %s", ph.Versions, pol.Version)
			}

			// Acknowledged writes survive a restart on the same data folder
			// and database.
			userHist, devHist := historyOf(t, inst, user), historyOf(t, inst, device)
			userState := consentsOf(t, inst, user)
			inst.stop()
			inst = start(t, tg.DataDir, tg.DSN)
			if got := historyOf(t, inst, user); !slices.Equal(got, userHist) {
				t.Errorf("after restart the account's ledger is %+v, want %+v", got, userHist)
			}
			if got := historyOf(t, inst, device); !slices.Equal(got, devHist) {
				t.Errorf("after restart the device's ledger is %+v, want %+v", got, devHist)
			}
			got := consentsOf(t, inst, user)
			for p, c := range userState {
				g := got[p]
				if g.Granted != c.Granted || !eqPtr(g.GrantedAt, c.GrantedAt) || !eqPtr(g.WithdrawnAt, c.WithdrawnAt) {
					t.Errorf("after restart %s is %+v, was %+v", p, g, c)
				}
			}
			// The restarted process still enforces the ledger.
			sendError(t, inst, user, "DELETE", "/api/v1/consents/precise_location", nil, http.StatusConflict, "not_granted")
		})
	}
}

func eqPtr(a, b *string) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}
