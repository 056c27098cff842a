package server

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yuncan/yuncan/internal/identity"
	"github.com/yuncan/yuncan/internal/rights"
	"github.com/yuncan/yuncan/internal/storetest"
)

// cancelCode asks for a cancellation code and reads it from the outbox.
func (e *apiEnv) cancelCode(tb testing.TB, u seekUser) string {
	tb.Helper()
	apiWant(tb, e.send(tb, "POST", "/api/v1/me/cancellation/code", u.token, nil), http.StatusAccepted)
	return e.codeFor(tb, u.phone)
}

// TestCancellationConditionsArePublic: P66, the conditions and the records
// kept are readable without logging in.
func TestCancellationConditionsArePublic(t *testing.T) {
	apiForEachTarget(t, func(t *testing.T, target storetest.Target) {
		e := newAPIEnv(t, target, apiEnvOptions{})
		r := e.get(t, "/api/v1/privacy/cancellation", "")
		apiWant(t, r, http.StatusOK)
		m := r.JSON(t)
		if m["cooling_off_days"] != float64(7) || m["deadline_working_days"] != float64(15) || m["known_login_hours"] != float64(24) {
			t.Fatalf("conditions: %s", r.Body)
		}
		if !strings.Contains(string(r.Body), `"table":"audit_log"`) || !strings.Contains(string(r.Body), "Cybersecurity Law") {
			t.Errorf("the security log is not listed as kept, with its basis: %s", r.Body)
		}
	})
}

// TestCancellationAPIJourney is the proof of P66: a person signs up with
// distinctive values in every field they can reach, asks to cancel (a
// known login, a fresh SMS code, the agreement), withdraws, asks again,
// the cooling-off passes and the job runs; then login fails, the profile
// and the case are gone, another person's clue on the case went with it,
// and no table (sealed columns opened) and no file in the data folders
// holds any of the values, outside the legal records marked with their
// basis and expiry.
func TestCancellationAPIJourney(t *testing.T) {
	apiForEachTarget(t, func(t *testing.T, target storetest.Target) {
		e := newAPIEnv(t, target, apiEnvOptions{identity: identity.Config{CodeResendInterval: time.Millisecond}})
		ctx := context.Background()

		mod := e.seekUser(t, identity.RoleModerator, false)
		other := e.seekUser(t, identity.RoleUser, true)
		otherCase := e.publishCase(t, other, mod, caseBody("child", 30.25, 120.15))

		me := e.seekUser(t, identity.RoleUser, false)
		if err := e.db.Identity().CreateRealName(ctx, identity.RealNameRecord{UserID: me.id,
			NameSealed: e.keys.Seal("real_names.name", []byte("REALNAME-Cq83")), IDNumberSealed: e.keys.Seal("real_names.id_number", []byte("11010519491231002X")),
			IDNumberIndex: e.keys.BlindIndex("id_number", "11010519491231002X"), CertifierReference: "CERTREF-Cq84", VerifiedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		apiWant(t, e.send(t, "PATCH", "/api/v1/me", me.token, map[string]any{"nickname": "NICK-Cq71", "introduction": "INTRO-Cq72 简介",
			"region": "REGION-Cq73"}), http.StatusOK)
		apiWant(t, e.do(t, apiReq{Method: "PUT", Path: "/api/v1/me/avatar", Token: me.token, CType: "image/png", Body: apiPNG(t, 48, 48, "A")}), http.StatusOK)
		apiWant(t, e.send(t, "PUT", "/api/v1/consents/seeking_alert_location", me.token, nil), http.StatusNoContent)
		apiWant(t, e.send(t, "PUT", "/api/v1/me/location", me.token, map[string]any{"lat": 31.246813, "lng": 121.579135}), http.StatusOK)
		body := caseBody("adult", 30.3, 120.2)
		body["private"] = map[string]any{"relationship": "REL-Cq74", "contact_phone": "13798761234", "police_receipt": "RCPT-Cq75"}
		body["person"].(map[string]any)["full_name"] = "NAME-Cq76"
		body["person"].(map[string]any)["description"] = "DESC-Cq77 wears glasses"
		myCase := e.createCase(t, me, body)
		apiWant(t, e.do(t, photoForm(t, "POST", "/api/v1/cases/"+myCase+"/photos", me.token, apiJPEGWithGPS(t, "X"))), http.StatusCreated)
		apiWant(t, e.send(t, "POST", "/api/v1/cases/"+myCase+"/submit", me.token, nil), http.StatusOK)
		apiWant(t, e.send(t, "POST", "/api/v1/review/cases/"+myCase+"/approve", mod.token, nil), http.StatusOK)
		seen := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
		cr := e.send(t, "POST", "/api/v1/cases/"+otherCase+"/clues", me.token,
			map[string]any{"text": "CLUE-Cq78 at the gate", "seen_at": seen, "lat": 30.26, "lng": 120.16, "place_name": "PLACE-Cq79"})
		apiWant(t, cr, http.StatusCreated)
		clueID := cr.JSON(t)["id"].(string)
		apiWant(t, e.do(t, photoForm(t, "POST", "/api/v1/cases/"+otherCase+"/clues/"+clueID+"/photos", me.token, apiJPEGWithGPS(t, "Y"))), http.StatusCreated)
		apiWant(t, e.send(t, "POST", "/api/v1/cases/"+otherCase+"/clues/"+clueID+"/messages", me.token, map[string]string{"text": "RELAY-Cq80"}), http.StatusCreated)
		// Another person's clue on my case, with a photo: it goes with the case.
		oc := e.send(t, "POST", "/api/v1/cases/"+myCase+"/clues", other.token, map[string]any{"text": "OTHERCLUE-Cq81", "seen_at": seen})
		apiWant(t, oc, http.StatusCreated)
		apiWant(t, e.do(t, photoForm(t, "POST", "/api/v1/cases/"+myCase+"/clues/"+oc.JSON(t)["id"].(string)+"/photos", other.token, apiJPEGWithGPS(t, "Z"))), http.StatusCreated)
		apiWant(t, e.send(t, "POST", "/api/v1/tickets", me.token, map[string]string{"category": "privacy_complaint", "text": "TICKET-Cq82 please"}), http.StatusCreated)
		apiWant(t, e.send(t, "POST", "/api/v1/me/exports", me.token, nil), http.StatusAccepted)
		if err := e.rights.BuildExports(ctx); err != nil {
			t.Fatal(err)
		}

		// The values, and the stored files' bytes (windows of each file).
		needles := map[string][]byte{}
		for _, v := range []string{apiE164(me.phone), me.phone, "NICK-Cq71", "INTRO-Cq72", "REGION-Cq73", "31.246813", "121.579135",
			"REL-Cq74", "13798761234", "RCPT-Cq75", "NAME-Cq76", "DESC-Cq77", "CLUE-Cq78", "PLACE-Cq79", "RELAY-Cq80", "OTHERCLUE-Cq81", "TICKET-Cq82",
			"REALNAME-Cq83", "11010519491231002X", "CERTREF-Cq84"} {
			needles[v] = []byte(v)
		}
		needles["phone blind index"] = []byte(e.keys.BlindIndex("phone", apiE164(me.phone)))
		files := 0
		filepath.WalkDir(e.mediaDir, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, _ := os.ReadFile(p)
			files++
			needles["the bytes of "+filepath.Base(p)] = b[len(b)/2 : len(b)/2+64]
			return nil
		})
		if files != 4 {
			t.Fatalf("%d media files before", files)
		}
		dataDirs := []string{e.mediaDir, e.exportsDir, target.DataDir}
		if found := storetest.ScanTables(t, e.db, e.keys, needles, nil); len(found) < 10 {
			t.Fatalf("the scan finds too little before the cancellation (is it blind?): %v", found)
		}
		if r := e.get(t, "/api/v1/me/exports", me.token); !strings.Contains(string(r.Body), `"ready"`) {
			t.Fatalf("the export: %s", r.Body)
		}
		// The archive is compressed, so it is counted rather than searched.
		if n := countFiles(e.exportsDir); n != 1 {
			t.Fatalf("%d export archives before the cancellation", n)
		}

		// Bad requests change nothing. A login younger than a day may not ask.
		apiWantError(t, e.send(t, "POST", "/api/v1/me/cancellation/code", me.token, nil), http.StatusForbidden, "device_not_known")
		apiWantError(t, e.send(t, "POST", "/api/v1/me/cancellation/code", "", nil), http.StatusUnauthorized, "unauthenticated")
		e.rightsClock.advance(25 * time.Hour)
		code := e.cancelCode(t, me)
		apiWantError(t, e.send(t, "POST", "/api/v1/me/cancellation", me.token, map[string]any{"code": code, "agree": false}), http.StatusBadRequest, "agreement_required")
		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}
		apiWantError(t, e.send(t, "POST", "/api/v1/me/cancellation", me.token, map[string]any{"code": wrong, "agree": true}), http.StatusBadRequest, "code_invalid")
		// Someone else's code does not cancel my account.
		otherCode := e.cancelCode(t, other)
		apiWantError(t, e.send(t, "POST", "/api/v1/me/cancellation", me.token, map[string]any{"code": otherCode, "agree": true}), http.StatusBadRequest, "code_invalid")
		apiWantError(t, e.get(t, "/api/v1/me/cancellation", me.token), http.StatusNotFound, "not_found")

		r := e.send(t, "POST", "/api/v1/me/cancellation", me.token, map[string]any{"code": code, "agree": true})
		apiWant(t, r, http.StatusAccepted)
		c := r.JSON(t)
		if c["status"] != "pending" {
			t.Fatalf("request: %s", r.Body)
		}
		due, _ := time.Parse(time.RFC3339, c["due_at"].(string))
		if d := due.Sub(e.rightsClock.now()); d < 6*24*time.Hour || d > 7*24*time.Hour {
			t.Errorf("due in %s, not after the 7-day cooling-off", d)
		}
		apiWantError(t, e.send(t, "POST", "/api/v1/me/cancellation", me.token, map[string]any{"code": code, "agree": true}), http.StatusConflict, "cancellation_open")
		// Withdrawn during the cooling-off; the old code cannot be replayed.
		r = e.send(t, "DELETE", "/api/v1/me/cancellation", me.token, nil)
		apiWant(t, r, http.StatusOK)
		if r.JSON(t)["status"] != "withdrawn" {
			t.Fatalf("withdraw: %s", r.Body)
		}
		apiWantError(t, e.send(t, "DELETE", "/api/v1/me/cancellation", me.token, nil), http.StatusNotFound, "no_pending_cancellation")
		apiWantError(t, e.send(t, "POST", "/api/v1/me/cancellation", me.token, map[string]any{"code": code, "agree": true}), http.StatusBadRequest, "code_used")
		// The job does nothing before the cooling-off ends.
		apiWant(t, e.send(t, "POST", "/api/v1/me/cancellation", me.token, map[string]any{"code": e.cancelCode(t, me), "agree": true}), http.StatusAccepted)
		if err := e.rights.RunCancellations(ctx); err != nil {
			t.Fatal(err)
		}
		apiWant(t, e.get(t, "/api/v1/me", me.token), http.StatusOK)

		// P66: after the cooling-off, one erasure.
		e.rightsClock.advance(7*24*time.Hour + time.Minute)
		if err := e.rights.RunCancellations(ctx); err != nil {
			t.Fatal(err)
		}
		apiWantError(t, e.get(t, "/api/v1/me", me.token), http.StatusUnauthorized, "unauthenticated")
		apiWantError(t, e.get(t, "/api/v1/cases/"+myCase, ""), http.StatusNotFound, "not_found")
		apiWantError(t, e.get(t, "/api/v1/cases/"+otherCase+"/clues/"+clueID, other.token), http.StatusNotFound, "not_found")
		e.wantNoAccount(t, me.phone)
		// The other people are untouched.
		apiWant(t, e.get(t, "/api/v1/cases/"+otherCase, ""), http.StatusOK)
		apiWant(t, e.get(t, "/api/v1/me", other.token), http.StatusOK)

		// The legal records that stay are marked, with basis and expiry.
		done, err := e.db.Rights().LatestCancellation(ctx, me.id)
		if err != nil || done.Status != rights.CancelCompleted {
			t.Fatalf("the cancellation record: %+v, %v", done, err)
		}
		holds := done.Held
		marked := map[string]bool{}
		for _, h := range holds {
			marked[h.Table] = true
			if h.Basis == "" || h.ExpiresAt.Before(time.Now().Add(179*24*time.Hour)) {
				t.Errorf("held %s: no basis, or it goes before six months: %+v", h.Table, h)
			}
		}
		if !marked["cancellations"] {
			t.Errorf("held: %+v", holds)
		}

		// The scan: nothing, in any table or file, outside the marked
		// legal records (which hold ids, never the values).
		legal := func(table string, _ map[string]any) bool { return marked[table] }
		if found := storetest.ScanTables(t, e.db, e.keys, needles, legal); len(found) > 0 {
			t.Errorf("after the cancellation, the tables hold: %v", found)
		}
		for _, d := range dataDirs {
			if found := storetest.ScanFiles(t, d, needles); len(found) > 0 {
				t.Errorf("after the cancellation, files hold: %v", found)
			}
		}
		if n, m := countFiles(e.mediaDir), countFiles(e.exportsDir); n+m != 0 {
			t.Errorf("%d media files and %d archives left", n, m)
		}
		// Logging in again with the number makes a new, empty account.
		_, m := e.signUp(t, me.phone)
		if m["user"].(map[string]any)["id"] == me.id || m["user"].(map[string]any)["nickname"] == "NICK-Cq71" {
			t.Errorf("the old account came back: %v", m)
		}
	})
}

// countFiles counts the files under dir.
func countFiles(dir string) int {
	n := 0
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}
