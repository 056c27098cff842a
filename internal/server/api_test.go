package server

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	_ "image/jpeg" // decode the served avatar
	"image/png"
	"log/slog"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/identity"
	"github.com/yuncan/yuncan/internal/media"
	"github.com/yuncan/yuncan/internal/storetest"
)

// TestAPIAccountJourney drives one person through the API: sign-up,
// profile, avatar, password, sessions, logout.
func TestAPIAccountJourney(t *testing.T) {
	apiForEachTarget(t, func(t *testing.T, target storetest.Target) {
		e := newAPIEnv(t, target, apiEnvOptions{})
		phone := apiPhone()

		// P68: the policy is readable without login, and sign-up records
		// the version accepted.
		pol := e.get(t, "/api/v1/privacy/policy", "")
		apiWant(t, pol, http.StatusOK)
		pm := pol.JSON(t)
		if pm["version"] != consent.Current().Version || pm["text"] == "" || pm["effective"] == "" {
			t.Fatalf("policy: %s", pol.Body)
		}
		tok1, login := e.signUp(t, phone)
		rec, err := e.userRecord(t, phone)
		if err != nil {
			t.Fatalf("no account after sign-up: %v", err)
		}
		acc, err := e.db.Identity().PolicyAcceptances(context.Background(), rec.ID)
		if err != nil || len(acc) != 1 || acc[0].Version != pm["version"] || acc[0].Channel != "app" {
			t.Fatalf("policy acceptances %+v, %v", acc, err)
		}
		// P52: the phone number is stored sealed, never in clear.
		if strings.Contains(rec.PhoneSealed, phone) || strings.Contains(rec.PhoneIndex, phone) {
			t.Fatal("the phone number is stored in clear")
		}

		// P08: a phone number alone makes an account; the optional fields
		// are null, the nickname is generated, the phone is masked.
		me := e.get(t, "/api/v1/me", tok1)
		apiWant(t, me, http.StatusOK)
		m := me.JSON(t)
		for _, f := range []string{"gender", "birthday", "region", "introduction", "avatar_url"} {
			if v, ok := m[f]; !ok || v != nil {
				t.Errorf("P08: %s = %v (present %v), want null", f, v, ok)
			}
		}
		if nick, _ := m["nickname"].(string); !strings.HasPrefix(nick, "云寻用户") {
			t.Errorf("P08: nickname %q is not generated", nick)
		}
		if want := phone[:3] + "****" + phone[7:]; m["phone_masked"] != want {
			t.Errorf("phone_masked %v, want %s", m["phone_masked"], want)
		}
		if strings.Contains(string(me.Body), phone) || m["has_password"] != false || m["role"] != "user" {
			t.Errorf("profile: %s", me.Body)
		}
		if login["user"].(map[string]any)["id"] != m["id"] {
			t.Errorf("login user %v is not /me %v", login["user"], m["id"])
		}

		// P08: the optional fields can be set, then cleared with null (a
		// JSON merge patch).
		set := map[string]any{"gender": "female", "birthday": "1990-05-01", "region": "浙江 杭州", "introduction": "第一行\n第二行"}
		r := e.send(t, "PATCH", "/api/v1/me", tok1, set)
		apiWant(t, r, http.StatusOK)
		for k, v := range set {
			if got := r.JSON(t)[k]; got != v {
				t.Errorf("after PATCH %s = %v, want %v", k, got, v)
			}
		}
		r = e.send(t, "PATCH", "/api/v1/me", tok1, map[string]any{"nickname": "寻人志愿者", "region": nil})
		apiWant(t, r, http.StatusOK)
		if m := r.JSON(t); m["nickname"] != "寻人志愿者" || m["region"] != nil || m["gender"] != "female" {
			t.Errorf("a merge patch changed more or less than it said: %s", r.Body)
		}
		r = e.send(t, "PATCH", "/api/v1/me", tok1, map[string]any{"gender": nil, "birthday": nil, "introduction": nil})
		apiWant(t, r, http.StatusOK)
		for _, f := range []string{"gender", "birthday", "region", "introduction"} {
			if v := r.JSON(t)[f]; v != nil {
				t.Errorf("after clearing, %s = %v", f, v)
			}
		}

		// Refused edits change nothing.
		before := e.get(t, "/api/v1/me", tok1).Body
		for _, c := range []struct {
			name  string
			body  string
			code  string
			field string
		}{
			{"nickname null", `{"nickname":null}`, "invalid", "nickname"},
			{"nickname blank", `{"nickname":"  "}`, "invalid", "nickname"},
			{"unknown field", `{"region":"上海","nick":"x"}`, "unknown_field", "nick"},
			{"wrong type", `{"region":"上海","gender":5}`, "wrong_type", "gender"},
			{"wrong type object", `{"introduction":{"a":1}}`, "wrong_type", "introduction"},
			{"bad gender", `{"gender":"robot"}`, "invalid", "gender"},
			{"future birthday", `{"birthday":"2999-01-01"}`, "invalid", "birthday"},
			{"birthday not a date", `{"birthday":"01/05/1990"}`, "invalid", "birthday"},
			{"region multi-line", `{"region":"a\nb"}`, "invalid", "region"},
			{"introduction too long", `{"introduction":"` + strings.Repeat("长", 501) + `"}`, "invalid", "introduction"},
		} {
			r := e.do(t, apiReq{Method: "PATCH", Path: "/api/v1/me", Token: tok1, CType: "application/json", Body: c.body})
			er := apiWantError(t, r, http.StatusBadRequest, c.code)
			if er.Error.Fields[c.field] == "" {
				t.Errorf("%s: fields %v do not name %s", c.name, er.Error.Fields, c.field)
			}
			if after := e.get(t, "/api/v1/me", tok1).Body; !bytes.Equal(before, after) {
				t.Fatalf("%s: the refused PATCH changed the profile:\n%s\n%s", c.name, before, after)
			}
		}

		// The avatar: a PNG with a text chunk goes in, fresh pixels come
		// out.
		orig := apiPNG(t, 300, 200, "GPS 30.2741N 120.1551E")
		r = e.do(t, apiReq{Method: "PUT", Path: "/api/v1/me/avatar", Token: tok1, CType: "image/png", Body: orig})
		apiWant(t, r, http.StatusOK)
		url1, _ := r.JSON(t)["avatar_url"].(string)
		if !strings.HasPrefix(url1, "/media/avatars/") {
			t.Fatalf("avatar_url %q", url1)
		}
		img := e.do(t, apiReq{Method: "GET", Path: url1})
		apiWant(t, img, http.StatusOK)
		if bytes.Equal(img.Body, orig) || bytes.Contains(img.Body, []byte("GPS")) {
			t.Error("the served avatar is the uploaded file, or keeps its metadata")
		}
		dec, format, err := image.Decode(bytes.NewReader(img.Body))
		if err != nil {
			t.Fatalf("the served avatar does not decode: %v", err)
		}
		if b := dec.Bounds(); b.Dx() != 200 || b.Dy() != 200 || format != "jpeg" {
			t.Errorf("avatar is %s %v, want a 200x200 square JPEG", format, b)
		}
		if img.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Error("media served without nosniff")
		}
		// The same as a multipart form replaces it; the old file goes.
		r = e.do(t, apiAvatarForm(t, tok1, "avatar", apiPNG(t, 64, 64, "")))
		apiWant(t, r, http.StatusOK)
		url2, _ := r.JSON(t)["avatar_url"].(string)
		if url2 == url1 || url2 == "" {
			t.Fatalf("multipart upload: avatar_url %q", url2)
		}
		apiWant(t, e.do(t, apiReq{Method: "GET", Path: url1}), http.StatusNotFound)
		apiWant(t, e.do(t, apiReq{Method: "GET", Path: url2}), http.StatusOK)

		before = e.get(t, "/api/v1/me", tok1).Body
		for _, c := range []struct {
			name   string
			req    apiReq
			status int
			code   string
		}{
			{"text file", apiReq{CType: "text/plain", Body: "hello, not an image\n"}, http.StatusUnsupportedMediaType, "unsupported_image_type"},
			{"text labelled png", apiReq{CType: "image/png", Body: "hello, not an image\n"}, http.StatusUnsupportedMediaType, "unsupported_image_type"},
			{"empty", apiReq{CType: "image/png", Body: []byte{}}, http.StatusUnsupportedMediaType, "unsupported_image_type"},
			{"oversize", apiReq{CType: "image/png", Body: apiOversizePNG(t)}, http.StatusRequestEntityTooLarge, "image_too_large"},
			{"truncated png", apiReq{CType: "image/png", Body: orig[:len(orig)/2]}, http.StatusBadRequest, "image_corrupt"},
			{"form without avatar part", apiAvatarForm(t, tok1, "photo", orig), http.StatusBadRequest, "invalid"},
			{"form cut short", apiCutForm(apiAvatarForm(t, tok1, "avatar", orig)), http.StatusBadRequest, "upload_incomplete"},
			{"form garbled", apiReq{CType: "multipart/form-data; boundary=xyz", Body: "--xyz\r\nno headers end"}, http.StatusBadRequest, "malformed_multipart"},
			{"form huge other part", apiAvatarForm(t, tok1, "note", make([]byte, media.AvatarOptions.MaxBytes+maxJSONBody)), http.StatusRequestEntityTooLarge, "image_too_large"},
			{"form oversize", apiAvatarForm(t, tok1, "avatar", apiOversizePNG(t)), http.StatusRequestEntityTooLarge, "image_too_large"},
		} {
			req := c.req
			req.Method, req.Path, req.Token = "PUT", "/api/v1/me/avatar", tok1
			r := e.do(t, req)
			if r.Status != c.status {
				t.Errorf("%s: status %d, want %d: %s", c.name, r.Status, c.status, r.Body)
				continue
			}
			apiWantError(t, r, c.status, c.code)
			if after := e.get(t, "/api/v1/me", tok1).Body; !bytes.Equal(before, after) {
				t.Fatalf("%s: the refused upload changed the profile", c.name)
			}
		}
		r = e.do(t, apiReq{Method: "DELETE", Path: "/api/v1/me/avatar", Token: tok1})
		apiWant(t, r, http.StatusOK)
		if r.JSON(t)["avatar_url"] != nil {
			t.Errorf("after DELETE avatar_url = %v", r.JSON(t)["avatar_url"])
		}
		apiWant(t, e.do(t, apiReq{Method: "GET", Path: url2}), http.StatusNotFound)

		// P53: weak passwords are refused; a strong one is set.
		for _, pw := range []string{"abc", "abcdefgh", "Abcdefgh", "Password1", "Aa123456!"} {
			r := e.send(t, "PUT", "/api/v1/me/password", tok1, map[string]string{"password": pw})
			er := apiWantError(t, r, http.StatusBadRequest, "weak_password")
			if er.Error.Fields["password"] == "" {
				t.Errorf("weak password %q: fields %v", pw, er.Error.Fields)
			}
		}
		const password = "Yun-Can 2024 pass"
		apiWant(t, e.send(t, "PUT", "/api/v1/me/password", tok1, map[string]string{"password": password}), http.StatusNoContent)
		if e.get(t, "/api/v1/me", tok1).JSON(t)["has_password"] != true {
			t.Error("has_password stays false")
		}
		rec, _ = e.userRecord(t, phone)
		if !strings.HasPrefix(rec.PasswordHash, "$argon2id$") || strings.Contains(rec.PasswordHash, password) {
			t.Errorf("P53: password stored as %q", rec.PasswordHash)
		}
		// Changing it needs the current one.
		r = e.send(t, "PUT", "/api/v1/me/password", tok1, map[string]string{"password": "Another-Pass-99"})
		apiWantError(t, r, http.StatusBadRequest, "invalid_credentials")

		// Password login: wrong then right.
		r = e.send(t, "POST", "/api/v1/auth/login", "", map[string]string{"phone": phone, "password": password + "x"})
		apiWantError(t, r, http.StatusUnauthorized, "invalid_credentials")
		r = e.do(t, apiReq{Method: "POST", Path: "/api/v1/auth/login", Body: map[string]string{"phone": phone, "password": password},
			Header: map[string]string{"User-Agent": "YuncanTest/2"}})
		apiWant(t, r, http.StatusOK)
		if r.JSON(t)["created"] != false {
			t.Error("a password login claims to create the account")
		}
		tok2 := r.JSON(t)["token"].(string)

		// Sessions: two, the current one marked; revoke the other.
		r = e.get(t, "/api/v1/me/sessions", tok2)
		apiWant(t, r, http.StatusOK)
		var sl struct {
			Sessions []struct {
				ID      string `json:"id"`
				Current bool   `json:"current"`
			} `json:"sessions"`
		}
		json.Unmarshal(r.Body, &sl)
		if len(sl.Sessions) != 2 {
			t.Fatalf("%d sessions, want 2: %s", len(sl.Sessions), r.Body)
		}
		other := ""
		for _, s := range sl.Sessions {
			if !s.Current {
				other = s.ID
			}
		}
		if other == "" || sl.Sessions[0].Current == sl.Sessions[1].Current {
			t.Fatalf("exactly one session must be current: %s", r.Body)
		}
		apiWant(t, e.do(t, apiReq{Method: "DELETE", Path: "/api/v1/me/sessions/" + other, Token: tok2}), http.StatusNoContent)
		apiWantError(t, e.get(t, "/api/v1/me", tok1), http.StatusUnauthorized, "unauthenticated")
		apiWantError(t, e.do(t, apiReq{Method: "DELETE", Path: "/api/v1/me/sessions/" + other, Token: tok2}), http.StatusNotFound, "not_found")

		// revoke-others ends a third session and keeps the current one.
		r = e.send(t, "POST", "/api/v1/auth/login", "", map[string]string{"phone": phone, "password": password})
		apiWant(t, r, http.StatusOK)
		tok3 := r.JSON(t)["token"].(string)
		r = e.do(t, apiReq{Method: "POST", Path: "/api/v1/me/sessions/revoke-others", Token: tok2})
		apiWant(t, r, http.StatusOK)
		if r.JSON(t)["revoked"] != float64(1) {
			t.Errorf("revoke-others: %s", r.Body)
		}
		apiWantError(t, e.get(t, "/api/v1/me", tok3), http.StatusUnauthorized, "unauthenticated")
		apiWant(t, e.get(t, "/api/v1/me", tok2), http.StatusOK)

		// Logout ends the session for good.
		apiWant(t, e.do(t, apiReq{Method: "POST", Path: "/api/v1/auth/logout", Token: tok2}), http.StatusNoContent)
		r = e.get(t, "/api/v1/me", tok2)
		apiWantError(t, r, http.StatusUnauthorized, "unauthenticated")
		if !strings.Contains(r.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
			t.Errorf("WWW-Authenticate %q", r.Header.Get("WWW-Authenticate"))
		}
	})
}

// TestAPIDeviceJourney: P04: without login, push uses the device; with
// login, the account; logging out reverts to the device.
func TestAPIDeviceJourney(t *testing.T) {
	apiForEachTarget(t, func(t *testing.T, target storetest.Target) {
		e := newAPIEnv(t, target, apiEnvOptions{})

		// P04: a device registers without an account.
		r := e.send(t, "POST", "/api/v1/devices", "", map[string]string{"platform": "android", "model": "Mate 60", "os_version": "14", "app_version": "1.0.0"})
		apiWant(t, r, http.StatusCreated)
		dtok, _ := r.JSON(t)["token"].(string)
		devID, _ := r.JSON(t)["device"].(map[string]any)["id"].(string)
		if dtok == "" || devID == "" {
			t.Fatalf("device create: %s", r.Body)
		}
		show := func(want bool) {
			t.Helper()
			r := e.do(t, apiReq{Method: "GET", Path: "/api/v1/devices/current", Device: dtok})
			apiWant(t, r, http.StatusOK)
			if m := r.JSON(t); m["bound_to_account"] != want || m["id"] != devID {
				t.Fatalf("P04: device %s, want bound_to_account %v", r.Body, want)
			}
		}
		show(false)
		r = e.do(t, apiReq{Method: "PUT", Path: "/api/v1/devices/current", Device: dtok,
			Body: map[string]string{"platform": "android", "model": "Mate 60", "app_version": "1.0.1", "push_token": "hms-token-1"}})
		apiWant(t, r, http.StatusOK)
		if m := r.JSON(t); m["has_push_token"] != true || m["app_version"] != "1.0.1" || m["os_version"] != "" {
			t.Errorf("device update: %s", r.Body)
		}
		apiWantError(t, e.get(t, "/api/v1/devices/current", ""), http.StatusUnauthorized, "device_unknown")
		apiWantError(t, e.do(t, apiReq{Method: "GET", Path: "/api/v1/devices/current", Device: "ycd_nope"}), http.StatusUnauthorized, "device_unknown")
		apiWantError(t, e.send(t, "POST", "/api/v1/devices", "", map[string]string{"platform": "symbian"}), http.StatusBadRequest, "invalid")

		// P04: login with the device token binds it to the account.
		phone := apiPhone()
		code := e.sendCode(t, phone)
		r = e.do(t, apiReq{Method: "POST", Path: "/api/v1/auth/login", Device: dtok,
			Body: map[string]string{"phone": phone, "code": code, "accept_policy_version": e.policyVersion(t), "age_band": "adult"}})
		apiWant(t, r, http.StatusOK)
		tok := r.JSON(t)["token"].(string)
		show(true)
		r = e.get(t, "/api/v1/me/devices", tok)
		apiWant(t, r, http.StatusOK)
		var dl struct {
			Devices []map[string]any `json:"devices"`
		}
		json.Unmarshal(r.Body, &dl)
		if len(dl.Devices) != 1 || dl.Devices[0]["id"] != devID || dl.Devices[0]["bound_to_account"] != true {
			t.Fatalf("P04: /me/devices %s", r.Body)
		}
		r = e.get(t, "/api/v1/me/sessions", tok)
		if !strings.Contains(string(r.Body), devID) {
			t.Errorf("the session does not name its device: %s", r.Body)
		}

		// A device registered while logged in is bound at once.
		r = e.send(t, "POST", "/api/v1/devices", tok, map[string]string{"platform": "ios"})
		apiWant(t, r, http.StatusCreated)
		if r.JSON(t)["device"].(map[string]any)["bound_to_account"] != true {
			t.Errorf("device registered with a bearer token is not bound: %s", r.Body)
		}
		apiWantError(t, e.send(t, "POST", "/api/v1/devices", "yct_bogus", map[string]string{"platform": "ios"}), http.StatusUnauthorized, "unauthenticated")

		// P04: logout reverts to the device identifier.
		apiWant(t, e.do(t, apiReq{Method: "POST", Path: "/api/v1/auth/logout", Token: tok}), http.StatusNoContent)
		show(false)

		// A login with an unknown device token is refused and spends
		// nothing.
		phone2 := apiPhone()
		code = e.sendCode(t, phone2)
		login := map[string]string{"phone": phone2, "code": code, "accept_policy_version": e.policyVersion(t), "age_band": "adult"}
		r = e.do(t, apiReq{Method: "POST", Path: "/api/v1/auth/login", Device: "ycd_unknown", Body: login})
		apiWantError(t, r, http.StatusUnauthorized, "device_unknown")
		e.wantNoAccount(t, phone2)
		apiWant(t, e.send(t, "POST", "/api/v1/auth/login", "", login), http.StatusOK)
	})
}

// TestAPIBadInput: every JSON route refuses bad bodies in the error shape,
// every bearer route refuses a missing or bad token, and nothing changes.
func TestAPIBadInput(t *testing.T) {
	apiForEachTarget(t, func(t *testing.T, target storetest.Target) {
		e := newAPIEnv(t, target, apiEnvOptions{})
		phone := apiPhone()
		tok, _ := e.signUp(t, phone)
		// Staff routes check the role before the body: a user is refused,
		// and the body table below runs as an admin.
		userTok, _ := e.signUp(t, apiPhone())
		apiWantError(t, e.send(t, "POST", "/api/v1/admin/policy-versions", userTok, map[string]string{}), http.StatusForbidden, "forbidden")
		if _, err := e.ident.CreateUser(context.Background(), phone, identity.RoleAdmin); err != nil {
			t.Fatal(err)
		}
		r := e.send(t, "POST", "/api/v1/devices", "", map[string]string{"platform": "ios"})
		dtok := r.JSON(t)["token"].(string)

		// What a refused request must leave as it was.
		snapshot := func() string {
			return fmt.Sprintf("%s|%s|%s|%s|%s|%s|outbox=%d",
				e.get(t, "/api/v1/me", tok).Body, e.get(t, "/api/v1/me/sessions", tok).Body,
				e.get(t, "/api/v1/me/devices", tok).Body, e.do(t, apiReq{Method: "GET", Path: "/api/v1/devices/current", Device: dtok}).Body,
				e.get(t, "/api/v1/consents/history", tok).Body, e.do(t, apiReq{Method: "GET", Path: "/api/v1/consents/history", Device: dtok}).Body,
				e.outboxLines(t))
		}
		before := snapshot()

		// The JSON routes, from the document, so a new one is covered.
		type route struct{ method, path string }
		var jsonRoutes, bearerRoutes, subjectRoutes, deviceRoutes, optionalBearerRoutes []route
		for path, item := range openAPIDoc(t)["paths"].(map[string]any) {
			for method, o := range item.(map[string]any) {
				op := o.(map[string]any)
				rt := route{strings.ToUpper(method), path}
				if rb, ok := op["requestBody"].(map[string]any); ok && rb["content"].(map[string]any)["application/json"] != nil {
					jsonRoutes = append(jsonRoutes, rt)
				}
				switch fmt.Sprint(op["security"]) {
				case "[map[bearerAuth:[]]]":
					bearerRoutes = append(bearerRoutes, rt)
				case "[map[bearerAuth:[]] map[deviceToken:[]]]",
					// The live stream also takes the web session cookie.
					"[map[bearerAuth:[]] map[deviceToken:[]] map[sessionCookie:[]]]":
					subjectRoutes = append(subjectRoutes, rt)
				case "[map[deviceToken:[]]]":
					deviceRoutes = append(deviceRoutes, rt)
				case "[map[] map[bearerAuth:[]]]":
					optionalBearerRoutes = append(optionalBearerRoutes, rt)
				case "[]", "[map[] map[deviceToken:[]]]":
					// Public; login checks a device token it is sent
					// (TestAPIDeviceJourney).
				default:
					t.Errorf("%s %s: security %v is not checked here; teach TestAPIBadInput", rt.method, rt.path, op["security"])
				}
			}
		}
		if len(jsonRoutes) < 7 || len(bearerRoutes) < 10 || len(subjectRoutes) < 5 || len(deviceRoutes) < 3 {
			t.Fatalf("found %d JSON, %d bearer, %d account-or-device and %d device routes in openapi.json",
				len(jsonRoutes), len(bearerRoutes), len(subjectRoutes), len(deviceRoutes))
		}
		for _, rt := range jsonRoutes {
			limit := maxJSONBody
			if rt.path == "/api/v1/admin/policy-versions" {
				limit = maxPolicyBody // a whole policy text
			}
			if rt.path == "/api/v1/admin/incidents" {
				limit = maxIncidentBody // up to incidents.MaxAffected account ids
			}
			big := `{"phone":"` + strings.Repeat("1", limit) + `"}`
			for _, c := range []struct {
				name, ctype, body string
				status            int
				code              string
			}{
				{"malformed", "application/json", `{"phone":`, 400, "malformed_json"},
				{"not JSON", "application/json", `phone=13800138000`, 400, "malformed_json"},
				{"empty", "application/json", ``, 400, "malformed_json"},
				{"blank", "application/json", " \n\t", 400, "malformed_json"},
				{"array", "application/json", `[]`, 400, "malformed_json"},
				{"string", "application/json", `"x"`, 400, "malformed_json"},
				{"two values", "application/json", `{} {}`, 400, "malformed_json"},
				{"trailing data", "application/json", `{}x`, 400, "malformed_json"},
				{"unknown field", "application/json", `{"zzz_unknown":1}`, 400, "unknown_field"},
				{"too large", "application/json", big, 413, "too_large"},
				{"text/plain", "text/plain", `{}`, 415, "unsupported_media_type"},
				{"form", "application/x-www-form-urlencoded", `phone=1`, 415, "unsupported_media_type"},
				{"no content type", "", `{}`, 415, "unsupported_media_type"},
				{"bad content type", "application/json; charset", `{}`, 415, "unsupported_media_type"},
			} {
				r := e.do(t, apiReq{Method: rt.method, Path: rt.path, Token: tok, Device: dtok, CType: c.ctype, Body: c.body})
				if r.Status != c.status {
					t.Errorf("%s %s %s: status %d, want %d: %s", rt.method, rt.path, c.name, r.Status, c.status, r.Body)
					continue
				}
				er := apiWantError(t, r, c.status, c.code)
				if c.code == "unknown_field" && er.Error.Fields["zzz_unknown"] == "" {
					t.Errorf("%s %s: unknown field not named: %s", rt.method, rt.path, r.Body)
				}
			}
		}
		for _, rt := range bearerRoutes {
			path := strings.ReplaceAll(rt.path, "{id}", "0190c0de-0000-7000-8000-000000000000")
			for _, c := range []struct{ name, auth, www string }{
				{"no header", "", `Bearer realm="yuncan"`},
				{"unknown token", "Bearer yct_unknown", `error="invalid_token"`},
				{"other scheme", "Basic dXNlcjpwYXNz", `Bearer realm="yuncan"`},
				{"empty bearer", "Bearer ", `Bearer realm="yuncan"`},
			} {
				h := map[string]string{}
				if c.auth != "" {
					h["Authorization"] = c.auth
				}
				r := e.do(t, apiReq{Method: rt.method, Path: path, Header: h, CType: "application/json", Body: `{}`})
				if r.Status != http.StatusUnauthorized {
					t.Errorf("%s %s %s: status %d, want 401", rt.method, path, c.name, r.Status)
					continue
				}
				apiWantError(t, r, http.StatusUnauthorized, "unauthenticated")
				if !strings.Contains(r.Header.Get("WWW-Authenticate"), c.www) {
					t.Errorf("%s %s %s: WWW-Authenticate %q, want %q", rt.method, path, c.name, r.Header.Get("WWW-Authenticate"), c.www)
				}
			}
		}

		// Routes for an account or a device want one of the two.
		for _, rt := range subjectRoutes {
			path := strings.ReplaceAll(rt.path, "{purpose}", "marketing_push")
			for _, c := range []struct {
				name string
				req  apiReq
				code string
			}{
				{"nothing", apiReq{}, "unauthenticated"},
				{"unknown token", apiReq{Token: "yct_unknown"}, "unauthenticated"},
				{"unknown token, known device", apiReq{Token: "yct_unknown", Device: dtok}, "unauthenticated"},
				{"unknown device", apiReq{Device: "ycd_unknown"}, "device_unknown"},
			} {
				req := c.req
				req.Method, req.Path, req.CType, req.Body = rt.method, path, "application/json", `{"purposes":["marketing_push"]}`
				r := e.do(t, req)
				if r.Status != http.StatusUnauthorized {
					t.Errorf("%s %s %s: status %d, want 401", rt.method, path, c.name, r.Status)
					continue
				}
				apiWantError(t, r, http.StatusUnauthorized, c.code)
				if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("%s %s %s: no WWW-Authenticate", rt.method, path, c.name)
				}
			}
		}

		// Routes open to anyone refuse a bearer token that is not valid
		// rather than serve it as anonymous.
		for _, rt := range optionalBearerRoutes {
			path := strings.ReplaceAll(rt.path, "{id}", "0190c0de-0000-7000-8000-000000000000")
			r := e.do(t, apiReq{Method: rt.method, Path: path, Token: "yct_unknown", CType: "application/json", Body: `{"platform":"ios"}`})
			if r.Status != http.StatusUnauthorized {
				t.Errorf("%s %s with an unknown token: status %d, want 401", rt.method, path, r.Status)
				continue
			}
			apiWantError(t, r, http.StatusUnauthorized, "unauthenticated")
			if !strings.Contains(r.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
				t.Errorf("%s %s: WWW-Authenticate %q", rt.method, path, r.Header.Get("WWW-Authenticate"))
			}
		}

		// Routes for a device want a known X-Device-Token; a bearer token
		// does not stand in for it.
		for _, rt := range deviceRoutes {
			for _, c := range []struct {
				name string
				req  apiReq
			}{
				{"nothing", apiReq{}},
				{"unknown device", apiReq{Device: "ycd_unknown"}},
				{"bearer token only", apiReq{Token: tok}},
			} {
				req := c.req
				// A body valid for PUT /devices/current, which reads it first.
				req.Method, req.Path, req.CType, req.Body = rt.method, rt.path, "application/json", `{"platform":"android"}`
				r := e.do(t, req)
				if r.Status != http.StatusUnauthorized {
					t.Errorf("%s %s %s: status %d, want 401", rt.method, rt.path, c.name, r.Status)
					continue
				}
				apiWantError(t, r, http.StatusUnauthorized, "device_unknown")
			}
		}

		// Invalid phone numbers, on both routes that take one.
		for _, p := range []string{"12345", "1380013800", "138001380001", "23800138000", "138abcd8000", "13800138000 ext. 12",
			"+86 10 6552 9988", "010-65529988", "400-800-8000", "phone", "13800138000\x00", strings.Repeat("1", 40), "１３８ａ"} {
			for _, path := range []string{"/api/v1/auth/sms-codes", "/api/v1/auth/login"} {
				body := map[string]string{"phone": p}
				if strings.HasSuffix(path, "/login") {
					body["code"], body["accept_policy_version"] = "123456", consent.Current().Version
				}
				r := e.send(t, "POST", path, "", body)
				er := apiWantError(t, r, http.StatusBadRequest, "invalid_phone")
				if er.Error.Fields["phone"] == "" {
					t.Errorf("%s %q: phone not named: %s", path, p, r.Body)
				}
			}
		}
		apiWantError(t, e.send(t, "POST", "/api/v1/auth/sms-codes", "", map[string]string{}), http.StatusBadRequest, "invalid")
		apiWantError(t, e.send(t, "POST", "/api/v1/auth/login", "", map[string]string{"phone": apiPhone()}), http.StatusBadRequest, "invalid")
		apiWantError(t, e.send(t, "POST", "/api/v1/auth/login", "", map[string]string{"phone": apiPhone(), "code": "123456", "password": "Yun-Can 2024 pass"}), http.StatusBadRequest, "invalid")
		apiWantError(t, e.send(t, "POST", "/api/v1/auth/login", "", map[string]any{"phone": 13800138000}), http.StatusBadRequest, "wrong_type")

		// Unknown routes and methods answer 404 in the error shape.
		for _, p := range []string{"/api/v1/nope", "/api/v2/me", "/api/", "/api/v1/me/", "/api/v1/me/sessions/"} {
			apiWantError(t, e.get(t, p, tok), http.StatusNotFound, "not_found")
		}
		apiWantError(t, e.send(t, "POST", "/api/v1/me", tok, map[string]string{}), http.StatusNotFound, "not_found")

		if after := snapshot(); after != before {
			t.Fatalf("refused requests changed the state:\n%s\n%s", before, after)
		}
	})
}

// TestAPICodeRules: wrong, reused and exhausted codes, resending too soon,
// and sign-up without accepting the policy.
func TestAPICodeRules(t *testing.T) {
	apiForEachTarget(t, func(t *testing.T, target storetest.Target) {
		e := newAPIEnv(t, target, apiEnvOptions{})
		version := e.policyVersion(t)
		login := func(phone, code, accept string) apiResp {
			return e.send(t, "POST", "/api/v1/auth/login", "", map[string]string{"phone": phone, "code": code, "accept_policy_version": accept, "age_band": "adult"})
		}

		t.Run("resend too soon", func(t *testing.T) {
			phone := apiPhone()
			e.sendCode(t, phone)
			n := e.outboxLines(t)
			r := e.send(t, "POST", "/api/v1/auth/sms-codes", "", map[string]string{"phone": phone})
			apiWantError(t, r, http.StatusTooManyRequests, "rate_limited")
			if s := apiWantRetryAfter(t, r); s > 61 {
				t.Errorf("Retry-After %d, want at most a minute", s)
			}
			if e.outboxLines(t) != n {
				t.Error("a refused resend sent an SMS")
			}
		})

		t.Run("wrong code then too many tries", func(t *testing.T) {
			phone := apiPhone()
			code := e.sendCode(t, phone)
			wrong := apiOtherCode(code)
			apiWantError(t, login(phone, "12345", version), http.StatusBadRequest, "code_invalid")
			apiWantError(t, login(phone, "12345a", version), http.StatusBadRequest, "code_invalid")
			for range 4 {
				er := apiWantError(t, login(phone, wrong, version), http.StatusBadRequest, "code_invalid")
				if er.Error.Fields["code"] == "" {
					t.Errorf("the wrong code is not named: %+v", er)
				}
			}
			e.wantNoAccount(t, phone)
			apiWantError(t, login(phone, wrong, version), http.StatusTooManyRequests, "code_attempts_exceeded")
			// Even the right code is refused now.
			apiWantError(t, login(phone, code, version), http.StatusTooManyRequests, "code_attempts_exceeded")
			e.wantNoAccount(t, phone)
		})

		t.Run("reused code", func(t *testing.T) {
			phone := apiPhone()
			code := e.sendCode(t, phone)
			r := login(phone, code, version)
			apiWant(t, r, http.StatusOK)
			apiWantError(t, login(phone, code, version), http.StatusBadRequest, "code_used")
			apiWantError(t, login(phone, code, ""), http.StatusBadRequest, "code_used")
		})

		t.Run("no code sent", func(t *testing.T) {
			phone := apiPhone()
			apiWantError(t, login(phone, "123456", version), http.StatusBadRequest, "code_invalid")
			e.wantNoAccount(t, phone)
		})

		// P68: a new account must accept the current policy; the refused
		// attempt leaves no account and the code usable.
		t.Run("policy acceptance required", func(t *testing.T) {
			phone := apiPhone()
			code := e.sendCode(t, phone)
			er := apiWantError(t, login(phone, code, ""), http.StatusBadRequest, "policy_acceptance_required")
			if er.Error.Fields["accept_policy_version"] == "" {
				t.Errorf("the field is not named: %+v", er)
			}
			e.wantNoAccount(t, phone)
			apiWantError(t, login(phone, code, "1999-01-01"), http.StatusBadRequest, "policy_version_stale")
			e.wantNoAccount(t, phone)
			r := login(phone, code, version)
			apiWant(t, r, http.StatusOK)
			if r.JSON(t)["created"] != true {
				t.Errorf("created = %v", r.JSON(t)["created"])
			}
		})
	})
}

// TestAPIConsentJourney: consents through the API, for a device before
// login and for an account, each response checked against openapi.json.
func TestAPIConsentJourney(t *testing.T) {
	apiForEachTarget(t, func(t *testing.T, target storetest.Target) {
		e := newAPIEnv(t, target, apiEnvOptions{})

		// P02: the inventory is public.
		r := e.get(t, "/api/v1/privacy/inventory?lang=en", "")
		apiWant(t, r, http.StatusOK)
		inv := r.JSON(t)
		if inv["policy_version"] != consent.Current().Version || len(inv["purposes"].([]any)) == 0 {
			t.Fatalf("inventory: %.300s", r.Body)
		}
		apiWant(t, e.do(t, apiReq{Method: "GET", Path: "/api/v1/privacy/inventory", Header: map[string]string{"Accept-Language": "zh-CN"}}), http.StatusOK)

		r = e.send(t, "POST", "/api/v1/devices", "", map[string]string{"platform": "android"})
		dev := r.JSON(t)["token"].(string)
		states := func(who apiReq) map[string]bool {
			t.Helper()
			who.Method, who.Path = "GET", "/api/v1/consents"
			r := e.do(t, who)
			apiWant(t, r, http.StatusOK)
			out := map[string]bool{}
			for _, c := range r.JSON(t)["consents"].([]any) {
				c := c.(map[string]any)
				out[c["purpose"].(string)] = c["granted"].(bool)
			}
			return out
		}
		asDevice := apiReq{Device: dev}

		// P01, P05: before any choice, only what the basic service needs is
		// on.
		st := states(asDevice)
		for p, g := range st {
			if necessary := e.consent.DataMap().Purpose(consent.Purpose(p)).Basis == consent.BasisNecessary; g != necessary {
				t.Errorf("P01: %s granted = %v before any choice (necessary: %v)", p, g, necessary)
			}
		}
		grant := func(who apiReq, method, path string, body any) apiResp {
			who.Method, who.Path, who.Body = method, path, body
			return e.do(t, who)
		}
		apiWant(t, grant(asDevice, "PUT", "/api/v1/consents/personalized_recommendation", nil), http.StatusNoContent)
		apiWant(t, grant(asDevice, "POST", "/api/v1/consents", map[string]any{"purposes": []string{"marketing_push", "marketing_sms"}}), http.StatusNoContent)
		// P05: a sensitive purpose is never granted in bulk.
		apiWantError(t, grant(asDevice, "POST", "/api/v1/consents", map[string]any{"purposes": []string{"programmatic_ads", "precise_location"}}), http.StatusBadRequest, "sensitive_needs_separate_consent")
		apiWantError(t, grant(asDevice, "POST", "/api/v1/consents", map[string]any{"purposes": []string{}}), http.StatusBadRequest, "invalid")
		apiWantError(t, grant(asDevice, "POST", "/api/v1/consents", map[string]any{"purposes": []string{"nope"}}), http.StatusBadRequest, "unknown_purpose")
		apiWantError(t, grant(asDevice, "POST", "/api/v1/consents", map[string]any{"purposes": []string{"account"}}), http.StatusBadRequest, "purpose_necessary")
		apiWantError(t, grant(asDevice, "PUT", "/api/v1/consents/nope", nil), http.StatusBadRequest, "unknown_purpose")
		apiWantError(t, grant(asDevice, "PUT", "/api/v1/consents/account", nil), http.StatusBadRequest, "purpose_necessary")
		apiWantError(t, grant(asDevice, "DELETE", "/api/v1/consents/account", nil), http.StatusBadRequest, "purpose_necessary")
		st = states(asDevice)
		if !st["personalized_recommendation"] || !st["marketing_push"] || !st["marketing_sms"] || st["programmatic_ads"] || st["precise_location"] {
			t.Fatalf("after grants: %v", st)
		}
		app := asDevice
		app.Header = map[string]string{"X-Yuncan-Client": "app"}
		apiWant(t, grant(app, "PUT", "/api/v1/consents/precise_location", nil), http.StatusNoContent)

		// P63: withdrawing works once; again is a conflict.
		apiWant(t, grant(asDevice, "DELETE", "/api/v1/consents/precise_location", nil), http.StatusNoContent)
		apiWantError(t, grant(asDevice, "DELETE", "/api/v1/consents/precise_location", nil), http.StatusConflict, "not_granted")
		if states(asDevice)["precise_location"] {
			t.Error("P63: precise_location still granted after withdrawal")
		}
		r = grant(asDevice, "GET", "/api/v1/consents/history", nil)
		apiWant(t, r, http.StatusOK)
		var h struct {
			Events []struct{ Purpose, Action, Channel string } `json:"events"`
		}
		json.Unmarshal(r.Body, &h)
		if n := len(h.Events); n != 5 || h.Events[3].Purpose != "precise_location" || h.Events[3].Channel != "app" || h.Events[4].Action != "withdraw" {
			t.Fatalf("history: %s", r.Body)
		}

		// An account's choices are its own: the device's do not carry over.
		tok, _ := e.signUp(t, apiPhone())
		asUser := apiReq{Token: tok}
		if st := states(asUser); st["marketing_push"] {
			t.Error("the device's consent leaked to the account")
		}
		apiWant(t, grant(asUser, "PUT", "/api/v1/consents/contacts", nil), http.StatusNoContent)
		if !states(asUser)["contacts"] || states(asDevice)["contacts"] {
			t.Error("the account's consent is not its own")
		}
	})
}

// TestAPISessionOfAnother: another person's session id answers 404 and
// stays alive.
func TestAPISessionOfAnother(t *testing.T) {
	apiForEachTarget(t, func(t *testing.T, target storetest.Target) {
		e := newAPIEnv(t, target, apiEnvOptions{})
		tokA, _ := e.signUp(t, apiPhone())
		tokB, _ := e.signUp(t, apiPhone())
		r := e.get(t, "/api/v1/me/sessions", tokB)
		apiWant(t, r, http.StatusOK)
		idB := r.JSON(t)["sessions"].([]any)[0].(map[string]any)["id"].(string)
		apiWantError(t, e.do(t, apiReq{Method: "DELETE", Path: "/api/v1/me/sessions/" + idB, Token: tokA}), http.StatusNotFound, "not_found")
		apiWantError(t, e.do(t, apiReq{Method: "DELETE", Path: "/api/v1/me/sessions/not-a-session", Token: tokA}), http.StatusNotFound, "not_found")
		apiWant(t, e.get(t, "/api/v1/me", tokB), http.StatusOK)
		r = e.do(t, apiReq{Method: "POST", Path: "/api/v1/me/sessions/revoke-others", Token: tokA})
		apiWant(t, r, http.StatusOK)
		if r.JSON(t)["revoked"] != float64(0) {
			t.Errorf("revoke-others reached another person: %s", r.Body)
		}
		apiWant(t, e.get(t, "/api/v1/me", tokB), http.StatusOK)
	})
}

// TestHealthReadyMetrics: the operations endpoints.
func TestHealthReadyMetrics(t *testing.T) {
	apiForEachTarget(t, func(t *testing.T, target storetest.Target) {
		e := newAPIEnv(t, target, apiEnvOptions{})
		r := e.get(t, "/healthz", "")
		apiWant(t, r, http.StatusOK)
		if r.JSON(t)["status"] != "ok" {
			t.Errorf("/healthz: %s", r.Body)
		}
		apiWant(t, e.get(t, "/readyz", ""), http.StatusOK)

		tok, _ := e.signUp(t, apiPhone())
		apiWant(t, e.get(t, "/api/v1/me", tok), http.StatusOK)
		apiWant(t, e.get(t, "/api/v1/nope", tok), http.StatusNotFound)
		r = e.get(t, "/metrics", "")
		apiWant(t, r, http.StatusOK)
		body := string(r.Body)
		for _, want := range []string{
			`yuncan_http_requests_total{route="GET /api/v1/me",status="200"} 1`,
			`yuncan_http_requests_total{route="POST /api/v1/auth/login",status="200"} 1`,
			`yuncan_http_requests_total{route="/api/",status="404"} 1`,
			`yuncan_http_request_duration_seconds_bucket{route="GET /api/v1/me",le=`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
		// Labels carry route patterns, never concrete paths.
		if strings.Contains(body, "/api/v1/nope") {
			t.Error("/metrics has a concrete path as a label")
		}
	})
}

// TestHealthReadyDatabaseDown: /readyz answers 503 in the error shape when
// the database is closed, while /healthz still says the process is up.
func TestHealthReadyDatabaseDown(t *testing.T) {
	apiForEachTarget(t, func(t *testing.T, target storetest.Target) {
		e := newAPIEnv(t, target, apiEnvOptions{})
		e.db.Close()
		r := e.get(t, "/readyz", "")
		apiWantError(t, r, http.StatusServiceUnavailable, "database_unavailable")
		if strings.Contains(string(r.Body), "closed") {
			t.Errorf("the cause leaks to the client: %s", r.Body)
		}
		apiWant(t, e.get(t, "/healthz", ""), http.StatusOK)
	})
}

// TestLogNoPersonalData: P52 and ARCHITECTURE: a whole journey logged at
// debug level leaves no phone number, code, token or password in the log.
func TestLogNoPersonalData(t *testing.T) {
	apiForEachTarget(t, func(t *testing.T, target storetest.Target) {
		var buf apiSyncBuffer
		logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
		e := newAPIEnv(t, target, apiEnvOptions{logger: logger})

		phone := apiPhone()
		r := e.send(t, "POST", "/api/v1/devices", "", map[string]string{"platform": "ios", "push_token": "apns-secret-push-token"})
		dtok := r.JSON(t)["token"].(string)
		code := e.sendCode(t, phone)
		apiWantError(t, e.send(t, "POST", "/api/v1/auth/login", "", map[string]string{"phone": phone, "code": code}), http.StatusBadRequest, "policy_acceptance_required")
		r = e.do(t, apiReq{Method: "POST", Path: "/api/v1/auth/login", Device: dtok,
			Body: map[string]string{"phone": phone, "code": code, "accept_policy_version": e.policyVersion(t), "age_band": "adult"}})
		apiWant(t, r, http.StatusOK)
		tok := r.JSON(t)["token"].(string)
		const password = "Secret-Pass-4-Log"
		apiWant(t, e.send(t, "PUT", "/api/v1/me/password", tok, map[string]string{"password": password}), http.StatusNoContent)
		apiWantError(t, e.send(t, "POST", "/api/v1/auth/login", "", map[string]string{"phone": phone, "password": password + "!"}), http.StatusUnauthorized, "invalid_credentials")
		r = e.send(t, "POST", "/api/v1/auth/login", "", map[string]string{"phone": phone, "password": password})
		apiWant(t, r, http.StatusOK)
		tok2 := r.JSON(t)["token"].(string)
		apiWant(t, e.send(t, "PATCH", "/api/v1/me", tok2, map[string]any{"region": "四川 成都", "introduction": "寻找失散的亲人"}), http.StatusOK)
		apiWantError(t, e.send(t, "POST", "/api/v1/auth/sms-codes", "", map[string]string{"phone": phone}), http.StatusTooManyRequests, "rate_limited")
		apiWant(t, e.do(t, apiReq{Method: "POST", Path: "/api/v1/auth/logout", Token: tok}), http.StatusNoContent)
		e.ts.Close() // every request has finished logging

		log := buf.String()
		if !strings.Contains(log, `"route":"POST /api/v1/auth/login"`) {
			t.Fatalf("the log lacks request lines; is the logger wired?\n%s", log)
		}
		for name, secret := range map[string]string{
			"phone": phone, "phone digits": phone[3:], "E.164 phone": apiE164(phone)[1:], "session token": tok, "second token": tok2,
			"device token": dtok, "push token": "apns-secret-push-token", "password": password, "region": "成都", "introduction": "亲人",
		} {
			if strings.Contains(log, secret) {
				t.Errorf("the log holds the %s", name)
			}
		}
		// The code is 6 digits: look for it in strings, not in durations.
		for line := range strings.Lines(log) {
			var rec map[string]any
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatalf("log line is not JSON: %q", line)
			}
			for _, s := range apiStrings(rec) {
				if strings.Contains(s, code) {
					t.Errorf("the log holds the SMS code: %q", line)
				}
			}
		}
	})
}

// apiStrings returns every key and string value in v.
func apiStrings(v any) []string {
	var out []string
	switch x := v.(type) {
	case string:
		out = append(out, x)
	case map[string]any:
		for k, c := range x {
			out = append(out, k)
			out = append(out, apiStrings(c)...)
		}
	case []any:
		for _, c := range x {
			out = append(out, apiStrings(c)...)
		}
	}
	return out
}

// apiOtherCode returns a six-digit code that is not code.
func apiOtherCode(code string) string {
	n, _ := strconv.Atoi(code)
	return fmt.Sprintf("%06d", (n+1)%1_000_000)
}

// apiPNG draws an opaque w×h PNG; a non-empty text is added as a tEXt
// chunk, the kind of metadata an upload must lose.
func apiPNG(tb testing.TB, w, h int, text string) []byte {
	tb.Helper()
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			m.Set(x, y, color.NRGBA{uint8(x), uint8(y), uint8(x ^ y), 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, m); err != nil {
		tb.Fatal(err)
	}
	b := buf.Bytes()
	if text == "" {
		return b
	}
	// After the signature (8) and IHDR (4+4+13+4).
	const at = 8 + 25
	data := append([]byte("Comment\x00"), text...)
	chunk := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	chunk = append(chunk, "tEXt"...)
	chunk = append(chunk, data...)
	chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(chunk[4:]))
	return append(append(append([]byte{}, b[:at]...), chunk...), b[at:]...)
}

// apiOversizePNG is a PNG signature padded just past the avatar limit:
// over it by a little, so the server drains the rest and the client sees
// the answer.
func apiOversizePNG(tb testing.TB) []byte {
	b := make([]byte, media.AvatarOptions.MaxBytes+1024)
	copy(b, "\x89PNG\r\n\x1a\n")
	return b
}

// apiAvatarForm is a multipart avatar upload with the file in part.
func apiAvatarForm(tb testing.TB, token, part string, file []byte) apiReq {
	tb.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("note", "from the test")
	fw, err := mw.CreateFormFile(part, "me.png")
	if err != nil {
		tb.Fatal(err)
	}
	fw.Write(file)
	mw.Close()
	return apiReq{Method: "PUT", Path: "/api/v1/me/avatar", Token: token, CType: mw.FormDataContentType(), Body: buf.Bytes()}
}

// apiCutForm cuts a multipart body inside the file part, before its
// closing boundary.
func apiCutForm(r apiReq) apiReq {
	b := r.Body.([]byte)
	r.Body = b[:len(b)-200]
	return r
}
