package server

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/yuncan/yuncan/internal/identity"
	"github.com/yuncan/yuncan/internal/rights"
	"github.com/yuncan/yuncan/internal/storetest"
)

// TestCeaseOperationsJourney is the proof of P69: an admin declares that
// operations cease; at once the collection endpoints answer 503 and
// sign-ups are refused while logging in, exports and the status still
// work; every account is told through its inbox and the public status
// carries the announcement; after the notice period the job leaves no
// personal data in any table (sealed columns opened) or data folder,
// outside the legal records.
func TestCeaseOperationsJourney(t *testing.T) {
	apiForEachTarget(t, func(t *testing.T, target storetest.Target) {
		e := newAPIEnv(t, target, apiEnvOptions{identity: identity.Config{CodeResendInterval: time.Millisecond}})
		ctx := context.Background()
		admin := e.seekUser(t, identity.RoleAdmin, false)
		mod := e.seekUser(t, identity.RoleModerator, false)
		a := e.seekUser(t, identity.RoleUser, true)
		b := e.seekUser(t, identity.RoleUser, false)
		apiWant(t, e.send(t, "PATCH", "/api/v1/me", a.token, map[string]any{"nickname": "NICK-Cz1", "introduction": "INTRO-Cz2"}), http.StatusOK)
		apiWant(t, e.send(t, "PATCH", "/api/v1/me", b.token, map[string]any{"nickname": "NICK-Cz3"}), http.StatusOK)
		apiWant(t, e.do(t, apiReq{Method: "PUT", Path: "/api/v1/me/avatar", Token: b.token, CType: "image/png", Body: apiPNG(t, 48, 48, "B")}), http.StatusOK)
		apiWant(t, e.send(t, "PUT", "/api/v1/consents/seeking_alert_location", b.token, nil), http.StatusNoContent)
		apiWant(t, e.send(t, "PUT", "/api/v1/me/location", b.token, map[string]any{"lat": 29.876543, "lng": 119.765432}), http.StatusOK)
		body := caseBody("child", 30.3, 120.2)
		body["person"].(map[string]any)["full_name"] = "NAME-Cz4"
		e.publishCase(t, a, mod, body)
		// A device that never logged in, with a model of its own.
		r := e.send(t, "POST", "/api/v1/devices", "", map[string]string{"platform": "android", "model": "MODEL-Cz5", "os_version": "14", "app_version": "1.0.0"})
		apiWant(t, r, http.StatusCreated)

		// Only admins declare; bad declarations change nothing.
		decl := map[string]any{"notice_zh": "云寻将于 30 天后停止运营", "notice_en": "Yuncan closes in 30 days", "notice_days": 30}
		apiWantError(t, e.send(t, "POST", "/api/v1/admin/cease-operations", mod.token, decl), http.StatusForbidden, "forbidden")
		apiWantError(t, e.send(t, "POST", "/api/v1/admin/cease-operations", admin.token, map[string]any{"notice_zh": "x"}), http.StatusBadRequest, "invalid")
		apiWantError(t, e.send(t, "POST", "/api/v1/admin/cease-operations", admin.token,
			map[string]any{"notice_zh": "x", "notice_en": "y", "notice_days": 5}), http.StatusBadRequest, "invalid")
		if r := e.get(t, "/api/v1/privacy/status", ""); r.JSON(t)["ceasing"] != false {
			t.Fatalf("ceasing before the declaration: %s", r.Body)
		}
		apiWant(t, e.send(t, "POST", "/api/v1/admin/cease-operations", admin.token, decl), http.StatusCreated)
		apiWantError(t, e.send(t, "POST", "/api/v1/admin/cease-operations", admin.token, decl), http.StatusConflict, "already_ceasing")
		st := e.get(t, "/api/v1/privacy/status", "")
		apiWant(t, st, http.StatusOK)
		if m := st.JSON(t); m["ceasing"] != true || m["notice_en"] != "Yuncan closes in 30 days" {
			t.Fatalf("status: %s", st.Body)
		}

		// P69: collection stops at once.
		apiWantError(t, e.send(t, "PATCH", "/api/v1/me", a.token, map[string]any{"nickname": "late"}), http.StatusServiceUnavailable, "service_ceased")
		apiWantError(t, e.send(t, "POST", "/api/v1/cases", a.token, caseBody("child", 30.3, 120.2)), http.StatusServiceUnavailable, "service_ceased")
		apiWantError(t, e.send(t, "PUT", "/api/v1/me/location", b.token, map[string]any{"lat": 29.9, "lng": 119.8}), http.StatusServiceUnavailable, "service_ceased")
		apiWantError(t, e.send(t, "POST", "/api/v1/devices", "", map[string]string{"platform": "ios"}), http.StatusServiceUnavailable, "service_ceased")
		newcomer := apiPhone()
		code := e.sendCode(t, newcomer)
		apiWantError(t, e.send(t, "POST", "/api/v1/auth/login", "", map[string]string{"phone": newcomer, "code": code,
			"accept_policy_version": e.policyVersion(t), "age_band": "adult"}), http.StatusServiceUnavailable, "service_ceased")
		e.wantNoAccount(t, newcomer)
		// What people need to leave still works.
		code = e.sendCode(t, a.phone)
		apiWant(t, e.send(t, "POST", "/api/v1/auth/login", "", map[string]string{"phone": a.phone, "code": code}), http.StatusOK)
		apiWant(t, e.send(t, "POST", "/api/v1/me/exports", b.token, nil), http.StatusAccepted)
		apiWant(t, e.send(t, "DELETE", "/api/v1/consents/seeking_alert_location", b.token, nil), http.StatusNoContent)
		if err := e.rights.BuildExports(ctx); err != nil {
			t.Fatal(err)
		}

		// Everyone is told; running the job again tells no one twice.
		for range 2 {
			if err := e.rights.RunCease(ctx); err != nil {
				t.Fatal(err)
			}
		}
		for _, u := range []seekUser{admin, mod, a, b} {
			r := e.get(t, "/api/v1/inbox", u.token)
			apiWant(t, r, http.StatusOK)
			if n := strings.Count(string(r.Body), "Yuncan closes in 30 days"); n != 1 {
				t.Errorf("%s was told %d times: %s", u.id, n, r.Body)
			}
		}

		needles := map[string][]byte{}
		for _, v := range []string{"NICK-Cz1", "INTRO-Cz2", "NICK-Cz3", "29.876543", "119.765432", "NAME-Cz4", "MODEL-Cz5",
			apiE164(a.phone), apiE164(b.phone), apiE164(admin.phone), apiE164(mod.phone)} {
			needles[v] = []byte(v)
		}
		if found := storetest.ScanTables(t, e.db, e.keys, needles, nil); len(found) < 5 {
			t.Fatalf("the scan finds too little before the purge: %v", found)
		}
		// Nothing is erased before the notice period ends.
		if err := e.rights.RunCease(ctx); err != nil {
			t.Fatal(err)
		}
		apiWant(t, e.get(t, "/api/v1/me", b.token), http.StatusOK)

		e.rightsClock.advance(30*24*time.Hour + time.Minute)
		if err := e.rights.RunCease(ctx); err != nil {
			t.Fatal(err)
		}
		for _, u := range []seekUser{admin, mod, a, b} {
			apiWantError(t, e.get(t, "/api/v1/me", u.token), http.StatusUnauthorized, "unauthenticated")
		}
		// The legal records (kept by the registry, with their basis) are
		// left out of the scan; everything else holds nothing.
		legal := func(table string, _ map[string]any) bool {
			tb, ok := rights.Lookup(table)
			return ok && tb.Erase.Action == rights.Keep
		}
		if found := storetest.ScanTables(t, e.db, e.keys, needles, legal); len(found) > 0 {
			t.Errorf("after the purge, the tables hold: %v", found)
		}
		for _, d := range []string{e.mediaDir, e.exportsDir, target.DataDir} {
			if found := storetest.ScanFiles(t, d, needles); len(found) > 0 {
				t.Errorf("after the purge, files hold: %v", found)
			}
		}
		if n := countFiles(e.mediaDir) + countFiles(e.exportsDir); n != 0 {
			t.Errorf("%d files left", n)
		}
		var devices int
		if err := e.db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM devices`).Scan(&devices); err != nil || devices != 0 {
			t.Errorf("devices left: %d, %v", devices, err)
		}
		if ms, err := e.positions.Within(29.876543, 119.765432, 10); err != nil || len(ms) != 0 {
			t.Errorf("the geo index still holds %d positions (%v)", len(ms), err)
		}
	})
}
