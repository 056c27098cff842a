package server

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/yuncan/yuncan/internal/identity"
	"github.com/yuncan/yuncan/internal/media"
	"github.com/yuncan/yuncan/internal/notify"
	"github.com/yuncan/yuncan/internal/seeking"
	"github.com/yuncan/yuncan/internal/storetest"
)

// seekUser is an account in a seeking test.
type seekUser struct {
	token, id, phone string
}

// seekUser signs up an account; verified gives it a real-name
// verification (as the certifier would, straight into the store).
func (e *apiEnv) seekUser(tb testing.TB, role identity.Role, verified bool) seekUser {
	tb.Helper()
	phone := apiPhone()
	var tok string
	if role == identity.RoleUser {
		tok, _ = e.signUp(tb, phone)
	} else {
		if _, err := e.ident.CreateUser(context.Background(), phone, role); err != nil {
			tb.Fatal(err)
		}
		code := e.sendCode(tb, phone)
		r := e.send(tb, "POST", "/api/v1/auth/login", "", map[string]string{"phone": phone, "code": code, "accept_policy_version": e.policyVersion(tb)})
		apiWant(tb, r, http.StatusOK)
		tok = r.JSON(tb)["token"].(string)
	}
	me := e.get(tb, "/api/v1/me", tok)
	apiWant(tb, me, http.StatusOK)
	u := seekUser{token: tok, id: me.JSON(tb)["id"].(string), phone: phone}
	if verified {
		err := e.db.Identity().CreateRealName(context.Background(), identity.RealNameRecord{UserID: u.id, NameSealed: "k:x",
			IDNumberSealed: "k:y", IDNumberIndex: "idx-" + u.id, CertifierReference: "test", VerifiedAt: time.Now()})
		if err != nil {
			tb.Fatal(err)
		}
	}
	return u
}

// seekContactPhone is the reporter's contact number in every test case:
// it must never reach anyone but the reporter and staff.
const seekContactPhone = "13712345678"

func caseBody(category string, lat, lng float64) map[string]any {
	b := map[string]any{
		"category": category,
		"person": map[string]any{"full_name": "王小明", "given_name": "小明", "family_name": "王", "alternate_names": []string{"明明"},
			"sex": "male", "date_of_birth": "2018-05-01", "age": 7, "home_city": "杭州", "height_cm": 120, "build": "slim",
			"clothing": "red coat", "distinguishing_marks": "mole on the left cheek", "description": "shy, answers to 明明",
			"circumstances": "lost near the boat pier"},
		"last_seen": map[string]any{"at": time.Now().Add(-2 * time.Hour).UTC().Format(time.RFC3339), "lat": lat, "lng": lng, "place_name": "西湖公园"},
		"private":   map[string]any{"relationship": "father", "contact_phone": seekContactPhone},
	}
	if category == "adult" {
		b["private"].(map[string]any)["police_receipt"] = "HZ-2025-0042"
	}
	return b
}

// createCase creates a case and returns its id.
func (e *apiEnv) createCase(tb testing.TB, u seekUser, body map[string]any) string {
	tb.Helper()
	r := e.send(tb, "POST", "/api/v1/cases", u.token, body)
	apiWant(tb, r, http.StatusCreated)
	return r.JSON(tb)["id"].(string)
}

// publishCase takes a new case through review.
func (e *apiEnv) publishCase(tb testing.TB, rep, mod seekUser, body map[string]any) string {
	tb.Helper()
	id := e.createCase(tb, rep, body)
	apiWant(tb, e.send(tb, "POST", "/api/v1/cases/"+id+"/submit", rep.token, nil), http.StatusOK)
	apiWant(tb, e.send(tb, "POST", "/api/v1/review/cases/"+id+"/approve", mod.token, nil), http.StatusOK)
	return id
}

// apiJPEGWithGPS is a JPEG carrying an EXIF segment with a GPS IFD and a
// marker string, the metadata a case photo must lose.
func apiJPEGWithGPS(tb testing.TB, marker string) []byte {
	tb.Helper()
	m := image.NewRGBA(image.Rect(0, 0, 32, 24))
	for y := range 24 {
		for x := range 32 {
			m.Set(x, y, color.RGBA{uint8(x * 8), uint8(y * 10), 90, 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, m, nil); err != nil {
		tb.Fatal(err)
	}
	jpg := buf.Bytes()
	be := binary.BigEndian
	t := []byte("MM\x00*")
	t = be.AppendUint32(t, 8)
	t = be.AppendUint16(t, 1)
	t = be.AppendUint16(t, 0x8825) // GPSInfo
	t = be.AppendUint16(t, 4)
	t = be.AppendUint32(t, 1)
	t = be.AppendUint32(t, 8+2+12+4)
	t = be.AppendUint32(t, 0)
	t = be.AppendUint16(t, 1)
	t = be.AppendUint16(t, 0x0001) // GPSLatitudeRef
	t = be.AppendUint16(t, 2)
	t = be.AppendUint32(t, 2)
	t = append(t, 'N', 0, 0, 0)
	t = be.AppendUint32(t, 0)
	t = append(t, marker...)
	payload := append([]byte("Exif\x00\x00"), t...)
	seg := be.AppendUint16([]byte{0xFF, 0xE1}, uint16(len(payload)+2))
	seg = append(seg, payload...)
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	return append(out, jpg[2:]...)
}

// photoForm is a multipart upload with the file in the "photo" part.
func photoForm(tb testing.TB, method, path, token string, file []byte) apiReq {
	tb.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile("photo", "p.jpg")
	if err != nil {
		tb.Fatal(err)
	}
	fw.Write(file)
	mw.Close()
	return apiReq{Method: method, Path: path, Token: token, CType: mw.FormDataContentType(), Body: buf.Bytes()}
}

// getRaw fetches a path outside the API (media) with an optional token.
func (e *apiEnv) getRaw(tb testing.TB, path, token string) apiResp {
	tb.Helper()
	return e.do(tb, apiReq{Method: "GET", Path: path, Token: token})
}

// TestCaseAPIJourney: a verified reporter writes a case with a photo
// (EXIF stripped), submits it; a moderator reads the private fields
// (P52: audited) and approves; the public finds it near a point, on the
// map and by id (P15: without the reporter's contact or account);
// resolution redacts it and found_safe_private hides it.
func TestCaseAPIJourney(t *testing.T) {
	apiForEachTarget(t, func(t *testing.T, target storetest.Target) {
		e := newAPIEnv(t, target, apiEnvOptions{})
		rep := e.seekUser(t, identity.RoleUser, true)
		mod := e.seekUser(t, identity.RoleModerator, false)
		anon := ""

		r := e.send(t, "POST", "/api/v1/cases", rep.token, caseBody("child", 30.25, 120.15))
		apiWant(t, r, http.StatusCreated)
		c := r.JSON(t)
		id := c["id"].(string)
		if c["status"] != "draft" || c["access"] != "reporter" || c["private"].(map[string]any)["contact_phone"] != "+86"+seekContactPhone {
			t.Fatalf("created case: %s", r.Body)
		}
		if h := c["history"].([]any); len(h) != 1 || h[0].(map[string]any)["to"] != "draft" || h[0].(map[string]any)["from"] != nil {
			t.Fatalf("history of a new case: %v", h)
		}
		// A draft does not exist for anyone else.
		apiWantError(t, e.get(t, "/api/v1/cases/"+id, anon), http.StatusNotFound, "not_found")
		apiWantError(t, e.get(t, "/api/v1/cases/"+id, mod.token), http.StatusNotFound, "not_found")

		// The photo loses its EXIF and GPS.
		const marker = "GPS-SECRET-30.2500N"
		r = e.do(t, photoForm(t, "POST", "/api/v1/cases/"+id+"/photos", rep.token, apiJPEGWithGPS(t, marker)))
		apiWant(t, r, http.StatusCreated)
		photoURL := r.JSON(t)["url"].(string)
		if !strings.HasPrefix(photoURL, "/media/cases/"+id+"/") {
			t.Fatalf("photo url %q", photoURL)
		}
		key := strings.TrimPrefix(photoURL, "/media/")
		f, _, err := e.media.Open(context.Background(), key)
		if err != nil {
			t.Fatal(err)
		}
		var stored bytes.Buffer
		stored.ReadFrom(f)
		f.Close()
		if bytes.Contains(stored.Bytes(), []byte("Exif")) || bytes.Contains(stored.Bytes(), []byte(marker)) {
			t.Fatal("the stored case photo still holds EXIF")
		}
		// Not public while a draft; the reporter sees it, uncached.
		apiWantError(t, e.getRaw(t, photoURL, anon), http.StatusNotFound, "not_found")
		pr := e.getRaw(t, photoURL, rep.token)
		apiWant(t, pr, http.StatusOK)
		if pr.Header.Get("Cache-Control") != "private, no-store" || bytes.Contains(pr.Body, []byte(marker)) {
			t.Fatalf("the reporter's photo: Cache-Control %q", pr.Header.Get("Cache-Control"))
		}

		apiWant(t, e.send(t, "POST", "/api/v1/cases/"+id+"/submit", rep.token, nil), http.StatusOK)
		q := e.get(t, "/api/v1/review/cases", mod.token)
		apiWant(t, q, http.StatusOK)
		if cs := q.JSON(t)["cases"].([]any); len(cs) != 1 || cs[0].(map[string]any)["id"] != id || cs[0].(map[string]any)["private"] != nil {
			t.Fatalf("review queue: %s", q.Body)
		}
		apiWantError(t, e.get(t, "/api/v1/review/cases", rep.token), http.StatusForbidden, "forbidden")

		// The moderator's view of the case holds no private fields; the
		// private read is its own, audited call.
		mv := e.get(t, "/api/v1/cases/"+id, mod.token)
		apiWant(t, mv, http.StatusOK)
		if m := mv.JSON(t); m["access"] != "staff" || m["private"] != nil || strings.Contains(string(mv.Body), seekContactPhone) {
			t.Fatalf("the moderator's view: %s", mv.Body)
		}
		pv := e.get(t, "/api/v1/cases/"+id+"/private?reason="+url.QueryEscape("review"), mod.token)
		apiWant(t, pv, http.StatusOK)
		if pv.JSON(t)["contact_phone"] != "+86"+seekContactPhone {
			t.Fatalf("private read: %s", pv.Body)
		}
		log, err := e.seeking.AuditEventsFor(context.Background(), seeking.Viewer{Role: identity.RoleAdmin}, "case", id)
		if err != nil || len(log) != 1 || log[0].Reason != "review" {
			t.Fatalf("audit after a staff read: %+v %v", log, err)
		}

		ap := e.send(t, "POST", "/api/v1/review/cases/"+id+"/approve", mod.token, nil)
		apiWant(t, ap, http.StatusOK)
		if ap.JSON(t)["status"] != "published" {
			t.Fatalf("approve: %s", ap.Body)
		}

		// The public view.
		pub := e.get(t, "/api/v1/cases/"+id, anon)
		apiWant(t, pub, http.StatusOK)
		pm := pub.JSON(t)
		for _, k := range []string{"private", "review", "history"} {
			if _, ok := pm[k]; ok {
				t.Errorf("the public view has %q", k)
			}
		}
		if pm["access"] != "public" || pm["person"].(map[string]any)["full_name"] != "王小明" ||
			pm["person"].(map[string]any)["photo_url"] != photoURL || strings.Contains(string(pub.Body), seekContactPhone) {
			t.Fatalf("the public view: %s", pub.Body)
		}
		pp := e.getRaw(t, photoURL, anon)
		apiWant(t, pp, http.StatusOK)
		if !strings.HasPrefix(pp.Header.Get("Cache-Control"), "public") {
			t.Fatalf("public photo Cache-Control %q", pp.Header.Get("Cache-Control"))
		}

		// Near a point: ~3 km away.
		near := e.get(t, "/api/v1/cases?lat=30.27&lng=120.17&radius_km=10", anon)
		apiWant(t, near, http.StatusOK)
		nm := near.JSON(t)
		cs := nm["cases"].([]any)
		if len(cs) != 1 || cs[0].(map[string]any)["id"] != id || nm["next_cursor"] != nil {
			t.Fatalf("near: %s", near.Body)
		}
		if d := cs[0].(map[string]any)["distance_km"].(float64); d < 2 || d > 4 {
			t.Fatalf("distance %v", d)
		}
		far := e.get(t, "/api/v1/cases?lat=39.9&lng=116.4&radius_km=100", anon)
		apiWant(t, far, http.StatusOK)
		if len(far.JSON(t)["cases"].([]any)) != 0 {
			t.Fatalf("far: %s", far.Body)
		}

		// The map feed: RFC 7946 GeoJSON, longitude first.
		g := e.get(t, "/api/v1/cases.geojson", anon)
		apiWant(t, g, http.StatusOK)
		if ct := g.Header.Get("Content-Type"); ct != "application/geo+json" {
			t.Fatalf("GeoJSON Content-Type %q", ct)
		}
		var fc struct {
			Type     string `json:"type"`
			Features []struct {
				Type     string `json:"type"`
				ID       string `json:"id"`
				Geometry struct {
					Type        string    `json:"type"`
					Coordinates []float64 `json:"coordinates"`
				} `json:"geometry"`
				Properties map[string]any `json:"properties"`
			} `json:"features"`
		}
		if err := json.Unmarshal(g.Body, &fc); err != nil {
			t.Fatal(err)
		}
		if fc.Type != "FeatureCollection" || len(fc.Features) != 1 || fc.Features[0].Type != "Feature" || fc.Features[0].ID != id ||
			fc.Features[0].Geometry.Type != "Point" || fc.Features[0].Geometry.Coordinates[0] != 120.15 ||
			fc.Features[0].Geometry.Coordinates[1] != 30.25 || fc.Features[0].Properties["full_name"] != "王小明" ||
			strings.Contains(string(g.Body), seekContactPhone) {
			t.Fatalf("GeoJSON: %s", g.Body)
		}
		g = e.get(t, "/api/v1/cases.geojson?bbox=116,39,117,41", anon)
		apiWant(t, g, http.StatusOK)
		if strings.Contains(string(g.Body), id) {
			t.Fatal("a case outside the bbox is in the feed")
		}

		// Found safe: the public keeps the status only.
		rs := e.send(t, "POST", "/api/v1/cases/"+id+"/resolve", rep.token, map[string]string{"outcome": "found_safe", "note": "home safe"})
		apiWant(t, rs, http.StatusOK)
		red := e.get(t, "/api/v1/cases/"+id, anon)
		apiWant(t, red, http.StatusOK)
		rm := red.JSON(t)
		if rm["access"] != "redacted" || rm["status"] != "found_safe" || rm["person"] != nil || rm["last_seen"] != nil ||
			len(rm["photos"].([]any)) != 0 || strings.Contains(string(red.Body), "王小明") {
			t.Fatalf("the redacted view: %s", red.Body)
		}
		apiWantError(t, e.getRaw(t, photoURL, anon), http.StatusNotFound, "not_found")
		if n := e.get(t, "/api/v1/cases?lat=30.27&lng=120.17&radius_km=10", anon); len(n.JSON(t)["cases"].([]any)) != 0 {
			t.Fatal("a resolved case is still listed near the point")
		}
		if strings.Contains(string(e.get(t, "/api/v1/cases.geojson", anon).Body), id) {
			t.Fatal("a resolved case is still on the map")
		}

		// Found safe, does not want to be contacted: gone.
		apiWant(t, e.send(t, "POST", "/api/v1/cases/"+id+"/resolve", rep.token, map[string]string{"outcome": "found_safe_private"}), http.StatusOK)
		apiWantError(t, e.get(t, "/api/v1/cases/"+id, anon), http.StatusNotFound, "not_found")
		apiWantError(t, e.get(t, "/api/v1/cases/"+id, e.seekUser(t, identity.RoleUser, false).token), http.StatusNotFound, "not_found")
		if m := e.get(t, "/api/v1/cases/"+id, rep.token).JSON(t); m["status"] != "found_safe_private" || m["person"] == nil {
			t.Fatalf("the reporter's view after found_safe_private: %v", m)
		}
		hist := e.get(t, "/api/v1/cases/"+id, mod.token).JSON(t)["history"].([]any)
		var tos []string
		for _, h := range hist {
			hm := h.(map[string]any)
			tos = append(tos, fmt.Sprint(hm["to"], "/", hm["by"]))
			if hm["actor_id"] == nil || hm["at"] == nil {
				t.Fatalf("staff history without who or when: %v", hm)
			}
		}
		if strings.Join(tos, " ") != "draft/reporter in_review/reporter published/moderator found_safe/reporter found_safe_private/reporter" {
			t.Fatalf("history %v", tos)
		}
		mine := e.get(t, "/api/v1/me/cases", rep.token)
		apiWant(t, mine, http.StatusOK)
		if cs := mine.JSON(t)["cases"].([]any); len(cs) != 1 {
			t.Fatalf("my cases: %s", mine.Body)
		}
	})
}

// P10: without a real-name verification, creating a case is 403
// real_name_required and nothing is written; partner police or rescue
// station staff (set up by an admin) may publish.
func TestCaseAPIWhoMayPublish(t *testing.T) {
	apiForEachTarget(t, func(t *testing.T, target storetest.Target) {
		e := newAPIEnv(t, target, apiEnvOptions{})
		plain := e.seekUser(t, identity.RoleUser, false)
		apiWantError(t, e.send(t, "POST", "/api/v1/cases", plain.token, caseBody("child", 30, 120)), http.StatusForbidden, "real_name_required")
		if cs := e.get(t, "/api/v1/me/cases", plain.token).JSON(t)["cases"].([]any); len(cs) != 0 {
			t.Fatal("a refused case was stored")
		}
		apiWantError(t, e.send(t, "POST", "/api/v1/cases", "", caseBody("child", 30, 120)), http.StatusUnauthorized, "unauthenticated")

		admin := e.seekUser(t, identity.RoleAdmin, false)
		apiWantError(t, e.send(t, "POST", "/api/v1/admin/partner-orgs", plain.token, map[string]string{"name": "x", "kind": "police"}),
			http.StatusForbidden, "forbidden")
		o := e.send(t, "POST", "/api/v1/admin/partner-orgs", admin.token, map[string]string{"name": "西湖区公安分局", "kind": "police"})
		apiWant(t, o, http.StatusCreated)
		orgID := o.JSON(t)["id"].(string)
		apiWantError(t, e.send(t, "POST", "/api/v1/admin/partner-orgs", admin.token, map[string]string{"name": "x", "kind": "army"}),
			http.StatusBadRequest, "invalid")
		apiWantError(t, e.send(t, "POST", "/api/v1/admin/partner-orgs/"+orgID+"/staff", admin.token, map[string]string{"user_id": "nobody"}),
			http.StatusBadRequest, "unknown_user")
		apiWantError(t, e.send(t, "POST", "/api/v1/admin/partner-orgs/nope/staff", admin.token, map[string]string{"user_id": plain.id}),
			http.StatusNotFound, "not_found")
		st := e.send(t, "POST", "/api/v1/admin/partner-orgs/"+orgID+"/staff", admin.token, map[string]string{"user_id": plain.id})
		apiWant(t, st, http.StatusCreated)
		if m := st.JSON(t); m["org_id"] != orgID || m["user_id"] != plain.id {
			t.Fatalf("staff: %s", st.Body)
		}
		apiWantError(t, e.send(t, "POST", "/api/v1/admin/partner-orgs/"+orgID+"/staff", admin.token, map[string]string{"user_id": plain.id}),
			http.StatusConflict, "already_staff")
		if l := e.get(t, "/api/v1/admin/partner-orgs", admin.token); len(l.JSON(t)["orgs"].([]any)) != 1 {
			t.Fatalf("orgs: %s", l.Body)
		}

		body := caseBody("child", 30, 120)
		body["org_id"] = orgID
		r := e.send(t, "POST", "/api/v1/cases", plain.token, body)
		apiWant(t, r, http.StatusCreated)
		if org := r.JSON(t)["org"].(map[string]any); org["id"] != orgID || org["kind"] != "police" {
			t.Fatalf("the case's organisation: %v", org)
		}
		apiWant(t, e.send(t, "DELETE", "/api/v1/admin/partner-orgs/"+orgID+"/staff/"+plain.id, admin.token, nil), http.StatusNoContent)
		apiWantError(t, e.send(t, "POST", "/api/v1/cases", plain.token, caseBody("child", 30, 120)), http.StatusForbidden, "real_name_required")
	})
}

// TestCaseAPIReview: reviewing one's own case is 403; an adult case
// without a police receipt needs a recorded verification (409 until
// then); forbidden changes are 409 invalid_transition.
func TestCaseAPIReview(t *testing.T) {
	apiForEachTarget(t, func(t *testing.T, target storetest.Target) {
		e := newAPIEnv(t, target, apiEnvOptions{})
		rep := e.seekUser(t, identity.RoleUser, true)
		mod := e.seekUser(t, identity.RoleModerator, true)
		mod2 := e.seekUser(t, identity.RoleModerator, false)

		own := e.createCase(t, mod, caseBody("child", 30, 120))
		apiWant(t, e.send(t, "POST", "/api/v1/cases/"+own+"/submit", mod.token, nil), http.StatusOK)
		apiWantError(t, e.send(t, "POST", "/api/v1/review/cases/"+own+"/approve", mod.token, nil), http.StatusForbidden, "own_case")
		apiWantError(t, e.send(t, "POST", "/api/v1/review/cases/"+own+"/reject", mod.token, map[string]string{"reason": "x"}),
			http.StatusForbidden, "own_case")

		adult := caseBody("adult", 30, 120)
		delete(adult["private"].(map[string]any), "police_receipt")
		id := e.createCase(t, rep, adult)
		apiWant(t, e.send(t, "POST", "/api/v1/cases/"+id+"/submit", rep.token, nil), http.StatusOK)
		apiWantError(t, e.send(t, "POST", "/api/v1/review/cases/"+id+"/approve", mod2.token, nil), http.StatusConflict, "verification_required")
		if s := e.get(t, "/api/v1/cases/"+id, rep.token).JSON(t)["status"]; s != "in_review" {
			t.Fatalf("a refused approval changed the status to %v", s)
		}
		apiWantError(t, e.send(t, "POST", "/api/v1/review/cases/"+id+"/verification", mod2.token, map[string]string{"note": ""}),
			http.StatusBadRequest, "invalid")
		v := e.send(t, "POST", "/api/v1/review/cases/"+id+"/verification", mod2.token, map[string]string{"note": "phoned the sister and the station"})
		apiWant(t, v, http.StatusOK)
		if !v.JSON(t)["review"].(map[string]any)["verified"].(bool) || strings.Contains(string(v.Body), "phoned") {
			t.Fatalf("verification: %s", v.Body)
		}
		if p := e.get(t, "/api/v1/cases/"+id+"/private", mod2.token).JSON(t); p["verification_note"] != "phoned the sister and the station" {
			t.Fatalf("verification note: %v", p)
		}
		apiWant(t, e.send(t, "POST", "/api/v1/review/cases/"+id+"/approve", mod2.token, nil), http.StatusOK)
		apiWantError(t, e.send(t, "POST", "/api/v1/review/cases/"+id+"/approve", mod2.token, nil), http.StatusConflict, "invalid_transition")
		apiWantError(t, e.send(t, "POST", "/api/v1/cases/"+id+"/submit", rep.token, nil), http.StatusConflict, "invalid_transition")
		apiWantError(t, e.send(t, "PUT", "/api/v1/cases/"+id, rep.token, caseBody("adult", 30, 120)), http.StatusConflict, "not_editable")

		// Reject and return need a reason; a rejected case is final.
		id2 := e.createCase(t, rep, caseBody("child", 30, 120))
		apiWant(t, e.send(t, "POST", "/api/v1/cases/"+id2+"/submit", rep.token, nil), http.StatusOK)
		apiWantError(t, e.send(t, "POST", "/api/v1/review/cases/"+id2+"/return", mod2.token, map[string]string{"reason": " "}),
			http.StatusBadRequest, "invalid")
		ret := e.send(t, "POST", "/api/v1/review/cases/"+id2+"/return", mod2.token, map[string]string{"reason": "add a recent photo"})
		apiWant(t, ret, http.StatusOK)
		if m := ret.JSON(t); m["status"] != "draft" || m["review"].(map[string]any)["status_reason"] != "add a recent photo" {
			t.Fatalf("return: %s", ret.Body)
		}
		apiWant(t, e.send(t, "PUT", "/api/v1/cases/"+id2, rep.token, caseBody("elder", 30, 120)), http.StatusOK)
		apiWant(t, e.send(t, "POST", "/api/v1/cases/"+id2+"/submit", rep.token, nil), http.StatusOK)
		apiWant(t, e.send(t, "POST", "/api/v1/review/cases/"+id2+"/reject", mod2.token, map[string]string{"reason": "duplicate"}), http.StatusOK)
		apiWantError(t, e.send(t, "POST", "/api/v1/cases/"+id2+"/resolve", rep.token, map[string]string{"outcome": "found_safe"}),
			http.StatusConflict, "invalid_transition")
		apiWantError(t, e.send(t, "POST", "/api/v1/cases/"+id2+"/resolve", rep.token, map[string]string{"outcome": "published"}),
			http.StatusBadRequest, "invalid")
	})
}

// TestCaseAPIBadInput: bad coordinates, NaN, radii out of bounds, dates
// in the future, oversize and fake images, unknown fields: each a clear
// 4xx, and nothing written.
func TestCaseAPIBadInput(t *testing.T) {
	apiForEachTarget(t, func(t *testing.T, target storetest.Target) {
		e := newAPIEnv(t, target, apiEnvOptions{})
		rep := e.seekUser(t, identity.RoleUser, true)
		future := time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)
		edit := func(f func(b map[string]any)) map[string]any {
			b := caseBody("child", 30, 120)
			f(b)
			return b
		}
		ls := func(b map[string]any) map[string]any { return b["last_seen"].(map[string]any) }
		person := func(b map[string]any) map[string]any { return b["person"].(map[string]any) }
		for _, tc := range []struct {
			name   string
			body   any
			status int
			code   string
			field  string
		}{
			{"lat out of range", edit(func(b map[string]any) { ls(b)["lat"] = 91 }), 400, "invalid", "last_seen.lat"},
			{"lng out of range", edit(func(b map[string]any) { ls(b)["lng"] = -180.5 }), 400, "invalid", "last_seen.lng"},
			{"lat missing", edit(func(b map[string]any) { delete(ls(b), "lat") }), 400, "invalid", "last_seen.lat"},
			{"lat as text", edit(func(b map[string]any) { ls(b)["lat"] = "NaN" }), 400, "wrong_type", "last_seen.lat"},
			{"seen in the future", edit(func(b map[string]any) { ls(b)["at"] = future }), 400, "invalid", "last_seen.at"},
			{"seen at no time", edit(func(b map[string]any) { ls(b)["at"] = "yesterday" }), 400, "invalid", "last_seen.at"},
			{"born in the future", edit(func(b map[string]any) { person(b)["date_of_birth"] = "2099-01-01" }), 400, "invalid", "date_of_birth"},
			{"age 131", edit(func(b map[string]any) { b["category"] = "elder"; person(b)["age"] = 131 }), 400, "invalid", "age"},
			{"unknown category", edit(func(b map[string]any) { b["category"] = "teen" }), 400, "invalid", "category"},
			{"no name", edit(func(b map[string]any) { person(b)["full_name"] = "" }), 400, "invalid", "full_name"},
			{"bad contact", edit(func(b map[string]any) { b["private"].(map[string]any)["contact_phone"] = "110" }), 400, "invalid", "private.contact_phone"},
			{"unknown field", edit(func(b map[string]any) { person(b)["ssn"] = "x" }), 400, "unknown_field", ""},
			{"not JSON", "{", 400, "malformed_json", ""},
		} {
			r := e.do(t, apiReq{Method: "POST", Path: "/api/v1/cases", Token: rep.token, CType: "application/json", Body: tc.body})
			er := apiWantError(t, r, tc.status, tc.code)
			if tc.field != "" && er.Error.Fields[tc.field] == "" {
				t.Errorf("%s: fields %v, want %s", tc.name, er.Error.Fields, tc.field)
			}
		}
		apiWantError(t, e.do(t, apiReq{Method: "POST", Path: "/api/v1/cases", Token: rep.token, CType: "text/plain", Body: "{}"}),
			http.StatusUnsupportedMediaType, "unsupported_media_type")
		if cs := e.get(t, "/api/v1/me/cases", rep.token).JSON(t)["cases"].([]any); len(cs) != 0 {
			t.Fatalf("refused cases were stored: %d", len(cs))
		}

		for _, q := range []struct{ query, field, code string }{
			{"lat=NaN&lng=120&radius_km=10", "lat", "invalid_coordinates"},
			{"lat=30&lng=Inf&radius_km=10", "lng", "invalid_coordinates"},
			{"lat=-91&lng=120&radius_km=10", "lat", "invalid_coordinates"},
			{"lat=30&lng=120&radius_km=0", "radius_km", "invalid_radius"},
			{"lat=30&lng=120&radius_km=-1", "radius_km", "invalid_radius"},
			{"lat=30&lng=120&radius_km=1e9", "radius_km", "invalid_radius"},
			{"lat=30&lng=120&radius_km=NaN", "radius_km", "invalid_radius"},
			{"lat=30&lng=120", "radius_km", "invalid"},
			{"lat=x&lng=120&radius_km=5", "lat", "invalid"},
			{"lat=30&lng=120&radius_km=5&limit=0", "limit", "invalid_limit"},
			{"lat=30&lng=120&radius_km=5&limit=1000", "limit", "invalid_limit"},
			{"lat=30&lng=120&radius_km=5&cursor=%21%21", "cursor", "invalid_cursor"},
		} {
			er := apiWantError(t, e.get(t, "/api/v1/cases?"+q.query, ""), http.StatusBadRequest, q.code)
			if er.Error.Fields[q.field] == "" {
				t.Errorf("%s: fields %v, want %s", q.query, er.Error.Fields, q.field)
			}
		}
		for _, bbox := range []string{"1,2,3", "x,0,1,1", "0,0,1,NaN", "10,0,5,1", "0,-95,1,1"} {
			apiWantError(t, e.get(t, "/api/v1/cases.geojson?bbox="+url.QueryEscape(bbox), ""), http.StatusBadRequest, "invalid_bbox")
		}

		// Images: a fake one is 415, an oversize one 413; neither is
		// stored.
		id := e.createCase(t, rep, caseBody("child", 30, 120))
		apiWantError(t, e.do(t, photoForm(t, "POST", "/api/v1/cases/"+id+"/photos", rep.token, []byte("this is not an image at all"))),
			http.StatusUnsupportedMediaType, "unsupported_image_type")
		apiWantError(t, e.do(t, apiReq{Method: "POST", Path: "/api/v1/cases/" + id + "/photos", Token: rep.token, CType: "image/jpeg",
			Body: []byte("<html>")}), http.StatusUnsupportedMediaType, "unsupported_image_type")
		big := make([]byte, media.PhotoOptions.MaxBytes+1024)
		copy(big, "\x89PNG\r\n\x1a\n")
		apiWantError(t, e.do(t, apiReq{Method: "POST", Path: "/api/v1/cases/" + id + "/photos", Token: rep.token, CType: "image/png", Body: big}),
			http.StatusRequestEntityTooLarge, "image_too_large")
		if ps := e.get(t, "/api/v1/cases/"+id, rep.token).JSON(t)["photos"].([]any); len(ps) != 0 {
			t.Fatalf("refused photos were stored: %v", ps)
		}
		// Someone else's case, or a case that does not exist.
		other := e.seekUser(t, identity.RoleUser, true)
		apiWantError(t, e.do(t, photoForm(t, "POST", "/api/v1/cases/"+id+"/photos", other.token, apiJPEGWithGPS(t, ""))),
			http.StatusNotFound, "not_found")
		apiWantError(t, e.send(t, "PUT", "/api/v1/cases/"+id, other.token, caseBody("child", 30, 120)), http.StatusNotFound, "not_found")
		apiWantError(t, e.get(t, "/api/v1/cases/"+id+"/private", other.token), http.StatusNotFound, "not_found")
		apiWantError(t, e.get(t, "/api/v1/cases/no-such-case", ""), http.StatusNotFound, "not_found")
	})
}

// TestClueAPIVisibilityAndRelay: clues are seen by the reporter,
// moderators, partner police and their sender only; the reporter and a
// giver talk through the relay, and no relay or clue response carries
// either side's phone digits or the reporter's contact.
func TestClueAPIVisibilityAndRelay(t *testing.T) {
	apiForEachTarget(t, func(t *testing.T, target storetest.Target) {
		e := newAPIEnv(t, target, apiEnvOptions{})
		rep := e.seekUser(t, identity.RoleUser, true)
		mod := e.seekUser(t, identity.RoleModerator, false)
		giver := e.seekUser(t, identity.RoleUser, false)
		stranger := e.seekUser(t, identity.RoleUser, false)
		id := e.publishCase(t, rep, mod, caseBody("elder", 30.25, 120.15))

		// Every body a participant receives is checked for phone digits.
		secrets := []string{rep.phone, giver.phone, seekContactPhone, rep.id, giver.id}
		check := func(who string, r apiResp, allowed ...string) {
			t.Helper()
			for _, s := range secrets {
				if strings.Contains(string(r.Body), s) && !contains(allowed, s) {
					t.Fatalf("%s received %q: %s", who, s, r.Body)
				}
			}
		}

		seen := time.Now().Add(-30 * time.Minute).UTC().Format(time.RFC3339)
		cr := e.send(t, "POST", "/api/v1/cases/"+id+"/clues", giver.token,
			map[string]any{"text": "an old man in a grey coat at the bus stop", "seen_at": seen, "lat": 30.26, "lng": 120.16, "place_name": "北山街公交站"})
		apiWant(t, cr, http.StatusCreated)
		check("the giver", cr)
		clue := cr.JSON(t)
		clueID := clue["id"].(string)
		if clue["mine"] != true || clue["status"] != "new" || clue["point"].(map[string]any)["lat"] != 30.26 || clue["source"] != "typed" {
			t.Fatalf("clue: %s", cr.Body)
		}
		r := e.do(t, photoForm(t, "POST", "/api/v1/cases/"+id+"/clues/"+clueID+"/photos", giver.token, apiJPEGWithGPS(t, "CLUE-GPS")))
		apiWant(t, r, http.StatusCreated)
		cluePhoto := r.JSON(t)["url"].(string)

		apiWantError(t, e.send(t, "POST", "/api/v1/cases/"+id+"/clues", rep.token, map[string]any{"text": "x"}), http.StatusForbidden, "own_case")
		apiWantError(t, e.send(t, "POST", "/api/v1/cases/"+id+"/clues", "", map[string]any{"text": "x"}), http.StatusUnauthorized, "unauthenticated")
		apiWantError(t, e.send(t, "POST", "/api/v1/cases/"+id+"/clues", stranger.token,
			map[string]any{"text": "here", "lat": 30.3, "lng": 120.2, "source": "device"}), http.StatusForbidden, "consent_required") // P05

		// Who sees what.
		list := func(u seekUser) []any {
			r := e.get(t, "/api/v1/cases/"+id+"/clues", u.token)
			apiWant(t, r, http.StatusOK)
			return r.JSON(t)["clues"].([]any)
		}
		if n := len(list(stranger)); n != 0 {
			t.Fatalf("a stranger sees %d clues", n)
		}
		rc := list(rep)
		if len(rc) != 1 || rc[0].(map[string]any)["author_id"] != nil {
			t.Fatalf("the reporter's clues: %v", rc)
		}
		if mc := list(mod); len(mc) != 1 || mc[0].(map[string]any)["author_id"] != giver.id {
			t.Fatalf("the moderator's clues: %v", mc)
		}
		apiWantError(t, e.get(t, "/api/v1/cases/"+id+"/clues/"+clueID, stranger.token), http.StatusNotFound, "not_found")
		apiWantError(t, e.getRaw(t, cluePhoto, stranger.token), http.StatusNotFound, "not_found")
		cp := e.getRaw(t, cluePhoto, rep.token)
		apiWant(t, cp, http.StatusOK)
		if bytes.Contains(cp.Body, []byte("CLUE-GPS")) || bytes.Contains(cp.Body, []byte("Exif")) || cp.Header.Get("Cache-Control") != "private, no-store" {
			t.Fatal("the clue photo kept its EXIF or may be cached")
		}

		// The relay.
		thread := "/api/v1/cases/" + id + "/clues/" + clueID + "/messages"
		m1 := e.send(t, "POST", thread, giver.token, map[string]string{"text": "I can show you where"})
		apiWant(t, m1, http.StatusCreated)
		check("the giver", m1)
		m2 := e.send(t, "POST", thread, rep.token, map[string]string{"text": "thank you! which bus line?"})
		apiWant(t, m2, http.StatusCreated)
		check("the reporter", m2)
		for _, u := range []seekUser{rep, giver} {
			r := e.get(t, thread, u.token)
			apiWant(t, r, http.StatusOK)
			check("a participant", r)
			ms := r.JSON(t)["messages"].([]any)
			if len(ms) != 2 || ms[0].(map[string]any)["from"] != "clue_giver" || ms[1].(map[string]any)["from"] != "reporter" {
				t.Fatalf("thread: %s", r.Body)
			}
			for _, m := range ms {
				for k := range m.(map[string]any) {
					switch k {
					case "id", "from", "mine", "text", "created_at":
					default:
						t.Fatalf("a message carries %q", k)
					}
				}
			}
		}
		check("the giver", e.get(t, "/api/v1/cases/"+id+"/clues/"+clueID, giver.token))
		check("the reporter", e.get(t, "/api/v1/cases/"+id+"/clues", rep.token))
		check("the giver", e.get(t, "/api/v1/cases/"+id, giver.token))
		apiWantError(t, e.get(t, thread, stranger.token), http.StatusNotFound, "not_found")
		apiWantError(t, e.send(t, "POST", thread, stranger.token, map[string]string{"text": "hi"}), http.StatusNotFound, "not_found")
		apiWantError(t, e.send(t, "POST", thread, mod.token, map[string]string{"text": "hi"}), http.StatusForbidden, "not_participant")
		apiWantError(t, e.send(t, "POST", thread, giver.token, map[string]string{"text": ""}), http.StatusBadRequest, "invalid")
		apiWant(t, e.get(t, thread+"?reason=complaint", mod.token), http.StatusOK)
		log, _ := e.seeking.AuditEventsFor(context.Background(), seeking.Viewer{Role: identity.RoleAdmin}, "clue", clueID)
		if len(log) != 1 || log[0].Action != seeking.AuditRelayRead {
			t.Fatalf("audit of the moderator's thread read: %+v", log)
		}

		// Staff review; a giver may not.
		apiWantError(t, e.send(t, "POST", "/api/v1/cases/"+id+"/clues/"+clueID+"/review", giver.token, map[string]string{"verdict": "verified"}),
			http.StatusForbidden, "staff_required")
		rv := e.send(t, "POST", "/api/v1/cases/"+id+"/clues/"+clueID+"/review", mod.token, map[string]string{"verdict": "verified", "note": "matches CCTV"})
		apiWant(t, rv, http.StatusOK)
		if rv.JSON(t)["status"] != "verified" {
			t.Fatalf("review: %s", rv.Body)
		}

		// found_safe_private hides the clue and the thread from the giver.
		apiWant(t, e.send(t, "POST", "/api/v1/cases/"+id+"/resolve", rep.token, map[string]string{"outcome": "found_safe_private"}), http.StatusOK)
		apiWantError(t, e.get(t, "/api/v1/cases/"+id+"/clues/"+clueID, giver.token), http.StatusNotFound, "not_found")
		apiWantError(t, e.get(t, thread, giver.token), http.StatusNotFound, "not_found")
		apiWantError(t, e.send(t, "POST", thread, rep.token, map[string]string{"text": "x"}), http.StatusConflict, "case_closed")
	})
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// TestClueAPIRateLimit: clue floods get 429 with Retry-After, and the
// refused clue is not stored.
func TestClueAPIRateLimit(t *testing.T) {
	apiForEachTarget(t, func(t *testing.T, target storetest.Target) {
		e := newAPIEnv(t, target, apiEnvOptions{})
		rep := e.seekUser(t, identity.RoleUser, true)
		mod := e.seekUser(t, identity.RoleModerator, false)
		giver := e.seekUser(t, identity.RoleUser, false)
		id := e.publishCase(t, rep, mod, caseBody("child", 30, 120))
		for i := range e.seeking.Config().CluesPerHour {
			apiWant(t, e.send(t, "POST", "/api/v1/cases/"+id+"/clues", giver.token, map[string]any{"text": fmt.Sprintf("clue %d", i)}), http.StatusCreated)
		}
		r := e.send(t, "POST", "/api/v1/cases/"+id+"/clues", giver.token, map[string]any{"text": "one more"})
		apiWantError(t, r, http.StatusTooManyRequests, "rate_limited")
		if n := apiWantRetryAfter(t, r); n > 3601 {
			t.Fatalf("Retry-After %d", n)
		}
		if cs := e.get(t, "/api/v1/cases/"+id+"/clues", giver.token).JSON(t)["clues"].([]any); len(cs) != e.seeking.Config().CluesPerHour {
			t.Fatalf("%d clues stored", len(cs))
		}
	})
}

// P52: partner police read private fields with an audit record each
// time; rescue station staff and strangers get 404; the reporter's own
// reads are not audited; the fields are ciphertext at rest.
func TestCaseAPIPrivateFieldsAudited(t *testing.T) {
	apiForEachTarget(t, func(t *testing.T, target storetest.Target) {
		e := newAPIEnv(t, target, apiEnvOptions{})
		rep := e.seekUser(t, identity.RoleUser, true)
		mod := e.seekUser(t, identity.RoleModerator, false)
		admin := e.seekUser(t, identity.RoleAdmin, false)
		police, rescue := e.seekUser(t, identity.RoleUser, false), e.seekUser(t, identity.RoleUser, false)
		for _, s := range []struct {
			u    seekUser
			kind string
		}{{police, "police"}, {rescue, "rescue_station"}} {
			o := e.send(t, "POST", "/api/v1/admin/partner-orgs", admin.token, map[string]string{"name": s.kind + " 1", "kind": s.kind})
			apiWant(t, o, http.StatusCreated)
			apiWant(t, e.send(t, "POST", "/api/v1/admin/partner-orgs/"+o.JSON(t)["id"].(string)+"/staff", admin.token,
				map[string]string{"user_id": s.u.id}), http.StatusCreated)
		}
		id := e.publishCase(t, rep, mod, caseBody("adult", 30, 120))
		for range 2 {
			r := e.get(t, "/api/v1/cases/"+id+"/private", police.token)
			apiWant(t, r, http.StatusOK)
			if r.JSON(t)["police_receipt"] != "HZ-2025-0042" {
				t.Fatalf("police read: %s", r.Body)
			}
		}
		apiWant(t, e.get(t, "/api/v1/cases/"+id+"/private", rep.token), http.StatusOK)
		apiWantError(t, e.get(t, "/api/v1/cases/"+id+"/private", rescue.token), http.StatusNotFound, "not_found")
		apiWantError(t, e.get(t, "/api/v1/cases/"+id+"/private", ""), http.StatusUnauthorized, "unauthenticated")
		apiWantError(t, e.get(t, "/api/v1/cases/"+id+"/private?reason=%00", police.token), http.StatusBadRequest, "invalid")
		// P52: the moderator's approval, then the two police reads.
		log, err := e.seeking.AuditEventsFor(context.Background(), seeking.Viewer{Role: identity.RoleAdmin}, "case", id)
		if err != nil || len(log) != 3 || log[0].Action != seeking.AuditCaseApprove || log[1].ActorID != police.id || log[2].ActorID != police.id {
			t.Fatalf("audit: %+v %v", log, err)
		}
		// Sealed at rest: the contact number is not in the database.
		var n int
		row := e.db.SQL().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM cases WHERE reporter_contact_sealed LIKE '%'||$1||'%' OR police_receipt_sealed LIKE '%HZ-2025%'`, seekContactPhone)
		if e.target == "sqlite" {
			row = e.db.SQL().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM cases WHERE reporter_contact_sealed LIKE '%'||?||'%' OR police_receipt_sealed LIKE '%HZ-2025%'`, seekContactPhone)
		}
		if err := row.Scan(&n); err != nil || n != 0 {
			t.Fatalf("private fields in clear at rest: %d %v", n, err)
		}
	})
}

// TestCaseReachAPI: the reporter and staff see how far a case went
// (people alerted, alerts opened, clues received); nobody else does.
func TestCaseReachAPI(t *testing.T) {
	apiForEachTarget(t, func(t *testing.T, target storetest.Target) {
		e := newAPIEnv(t, target, apiEnvOptions{})
		rep := e.seekUser(t, identity.RoleUser, true)
		mod := e.seekUser(t, identity.RoleModerator, false)
		giver := e.seekUser(t, identity.RoleUser, false)
		id := e.publishCase(t, rep, mod, caseBody("child", 30, 120))
		reach := func(tok string) map[string]any {
			t.Helper()
			r := e.get(t, "/api/v1/cases/"+id+"/reach", tok)
			apiWant(t, r, http.StatusOK)
			return r.JSON(t)
		}
		if got := reach(rep.token); got["alerted"] != 0.0 || got["opened"] != 0.0 || got["clues"] != 0.0 {
			t.Fatalf("reach of a new case: %v", got)
		}
		// The giver was alerted (as the alert engine delivers) and opened
		// it, then sent a clue.
		n, _, err := e.inbox.Deliver(context.Background(), notify.Notification{Recipient: notify.User(giver.id), Kind: notify.KindSeekingAlert,
			DedupeKey: "alert:" + id, Title: "寻人", Data: notify.Data{CaseID: id, Ring: 1, DistanceKM: 3}})
		if err != nil {
			t.Fatal(err)
		}
		apiWant(t, e.do(t, apiReq{Method: "POST", Path: "/api/v1/inbox/" + n.ID + "/open", Token: giver.token}), http.StatusNoContent)
		apiWant(t, e.send(t, "POST", "/api/v1/cases/"+id+"/clues", giver.token, map[string]any{"text": "seen at the gate"}), http.StatusCreated)
		for who, tok := range map[string]string{"reporter": rep.token, "moderator": mod.token} {
			if got := reach(tok); got["alerted"] != 1.0 || got["opened"] != 1.0 || got["clues"] != 1.0 {
				t.Errorf("reach for the %s: %v; want 1 alerted, 1 opened, 1 clue", who, got)
			}
		}
		apiWantError(t, e.get(t, "/api/v1/cases/"+id+"/reach", giver.token), http.StatusNotFound, "not_found")
		apiWantError(t, e.get(t, "/api/v1/cases/"+id+"/reach", ""), http.StatusUnauthorized, "unauthenticated")
		apiWantError(t, e.get(t, "/api/v1/cases/00000000-0000-0000-0000-000000000000/reach", rep.token), http.StatusNotFound, "not_found")
	})
}
