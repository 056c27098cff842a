package server

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/storetest"
)

// P31: the site declares that it honours Global Privacy Control, at the
// address and in the form the GPC specification gives.
func TestGPCWellKnown(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t, storetest.Targets(t)[0], apiEnvOptions{})
	r := e.do(t, apiReq{Method: "GET", Path: "/.well-known/gpc.json"})
	apiWant(t, r, http.StatusOK)
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	var doc map[string]any
	if err := json.Unmarshal(r.Body, &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, r.Body)
	}
	if len(doc) != 2 || doc["gpc"] != true || doc["lastUpdate"] != "2026-11-29" {
		t.Errorf("gpc.json = %s", r.Body)
	}
}

// P31: a person who switched programmatic ads on sees the switch on, and
// is told the signal is active, when the browser sends Sec-GPC: 1; the
// gate refuses ads for that request, and grants them again without the
// signal. The choice itself is untouched.
func TestAPIGPCRefusesAdsKeepsChoice(t *testing.T) {
	apiForEachTarget(t, func(t *testing.T, target storetest.Target) {
		e := newAPIEnv(t, target, apiEnvOptions{})
		tok, login := e.signUp(t, apiPhone())
		userID := login["user"].(map[string]any)["id"].(string)
		apiWant(t, e.send(t, "PATCH", settingsPath, tok, map[string]any{"programmatic_ads": true, "marketing_push": true}), http.StatusOK)

		withGPC := map[string]string{"Sec-GPC": "1"}
		r := e.do(t, apiReq{Method: "GET", Path: settingsPath, Token: tok, Header: withGPC})
		apiWant(t, r, http.StatusOK)
		if m := r.JSON(t); m["gpc_active"] != true || m["programmatic_ads"] != true || m["marketing_push"] != true {
			t.Errorf("settings with Sec-GPC: 1 = %s; want the stored choices and gpc_active true", r.Body)
		}
		for _, v := range []string{"0", "", "yes"} {
			r := e.do(t, apiReq{Method: "GET", Path: settingsPath, Token: tok, Header: map[string]string{"Sec-GPC": v}})
			if m := r.JSON(t); m["gpc_active"] != false {
				t.Errorf("settings with Sec-GPC %q: gpc_active %v", v, m["gpc_active"])
			}
		}
		// Switching a setting under the signal records the choice.
		r = e.do(t, apiReq{Method: "PATCH", Path: settingsPath, Token: tok, Header: withGPC, Body: map[string]any{"marketing_sms": true}})
		apiWant(t, r, http.StatusOK)
		if m := r.JSON(t); m["marketing_sms"] != true || m["programmatic_ads"] != true || m["gpc_active"] != true {
			t.Errorf("PATCH under GPC answered %s", r.Body)
		}

		// The gate, asked with the request's context behind the same
		// middleware the server uses: a tiny test-only route.
		gate := httptest.NewServer(honourGPC(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			for _, p := range []consent.Purpose{consent.PurposeProgrammaticAds, consent.PurposeMarketingPush} {
				if err := e.srv.consent.Require(r.Context(), consent.User(userID), p); err != nil {
					w.WriteHeader(http.StatusForbidden)
					io.WriteString(w, string(p)+" "+yuncan.ErrorReason(err))
					return
				}
			}
			w.WriteHeader(http.StatusNoContent)
		})))
		t.Cleanup(gate.Close)
		ask := func(gpc bool) (int, string) {
			req, _ := http.NewRequest("GET", gate.URL, nil)
			if gpc {
				req.Header.Set("Sec-GPC", "1")
			}
			res, err := gate.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			return res.StatusCode, string(b)
		}
		if status, body := ask(true); status != http.StatusForbidden || body != "programmatic_ads consent_required" {
			t.Errorf("gate with Sec-GPC: 1 = %d %q; want ads refused (consent_required)", status, body)
		}
		if status, body := ask(false); status != http.StatusNoContent {
			t.Errorf("gate without the signal = %d %q; want ads and push allowed", status, body)
		}
	})
}
