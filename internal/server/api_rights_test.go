package server

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yuncan/yuncan/internal/identity"
	"github.com/yuncan/yuncan/internal/storetest"
)

// TestExportAPIJourney (P65, PIPL Art. 45): a person signs up with
// distinctive values in every field they can reach, asks for their data,
// the job builds it, they download it and find every value in it, and
// none of another person's; the link needs their login and its token.
func TestExportAPIJourney(t *testing.T) {
	apiForEachTarget(t, func(t *testing.T, target storetest.Target) {
		e := newAPIEnv(t, target, apiEnvOptions{})
		ctx := context.Background()

		// Another person, with a published case the first sends a clue on.
		other := e.seekUser(t, identity.RoleUser, true)
		mod := e.seekUser(t, identity.RoleModerator, false)
		apiWant(t, e.send(t, "PATCH", "/api/v1/me", other.token, map[string]any{"nickname": "OTHERNICK", "introduction": "OTHER-INTRO-zz"}), http.StatusOK)
		otherBody := caseBody("child", 30.25, 120.15)
		otherBody["private"] = map[string]any{"relationship": "OTHER-REL", "contact_phone": "13611112222"}
		otherCase := e.publishCase(t, other, mod, otherBody)

		me := e.seekUser(t, identity.RoleUser, false)
		if err := e.db.Identity().CreateRealName(ctx, identity.RealNameRecord{UserID: me.id,
			NameSealed: e.keys.Seal("real_names.name", []byte("实名张三QX")), IDNumberSealed: e.keys.Seal("real_names.id_number", []byte("11010519491231002X")),
			IDNumberIndex: "idx-" + me.id, CertifierReference: "test", VerifiedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		apiWant(t, e.send(t, "PATCH", "/api/v1/me", me.token, map[string]any{"nickname": "寻亲者ZX9Q", "introduction": "INTRO-7f3k 我的简介"}), http.StatusOK)
		apiWant(t, e.do(t, apiReq{Method: "PUT", Path: "/api/v1/me/avatar", Token: me.token, CType: "image/png", Body: apiPNG(t, 48, 48, "A")}), http.StatusOK)
		apiWant(t, e.send(t, "PUT", "/api/v1/consents/seeking_alert_location", me.token, nil), http.StatusNoContent)
		apiWant(t, e.send(t, "PUT", "/api/v1/me/location", me.token, map[string]any{"lat": 31.234567, "lng": 121.456789}), http.StatusOK)
		body := caseBody("adult", 30.3, 120.2)
		body["private"] = map[string]any{"relationship": "BROTHER-RX", "contact_phone": "13798765432", "police_receipt": "HZ-RCPT-5521"}
		body["person"].(map[string]any)["description"] = "DESC-q8w7 wears glasses"
		caseID := e.createCase(t, me, body)
		apiWant(t, e.do(t, photoForm(t, "POST", "/api/v1/cases/"+caseID+"/photos", me.token, apiJPEGWithGPS(t, "X"))), http.StatusCreated)
		cr := e.send(t, "POST", "/api/v1/cases/"+otherCase+"/clues", me.token,
			map[string]any{"text": "CLUE-TEXT-88xy at the gate", "seen_at": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339),
				"lat": 30.26, "lng": 120.16, "place_name": "CLUE-PLACE-桥"})
		apiWant(t, cr, http.StatusCreated)
		clueID := cr.JSON(t)["id"].(string)
		apiWant(t, e.do(t, photoForm(t, "POST", "/api/v1/cases/"+otherCase+"/clues/"+clueID+"/photos", me.token, apiJPEGWithGPS(t, "Y"))), http.StatusCreated)

		// Ask; a second request inside the week is 429 with Retry-After.
		r := e.send(t, "POST", "/api/v1/me/exports", me.token, nil)
		apiWant(t, r, http.StatusAccepted)
		id := r.JSON(t)["id"].(string)
		r = e.send(t, "POST", "/api/v1/me/exports", me.token, nil)
		apiWant(t, r, http.StatusTooManyRequests)
		if r.Header.Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
		apiWant(t, e.send(t, "POST", "/api/v1/me/exports/"+id+"/link", me.token, nil), http.StatusConflict)

		if err := e.rights.BuildExports(ctx); err != nil {
			t.Fatal(err)
		}
		r = e.get(t, "/api/v1/me/exports", me.token)
		apiWant(t, r, http.StatusOK)
		if x := r.JSON(t)["exports"].([]any)[0].(map[string]any); x["status"] != "ready" || x["progress"] != float64(100) {
			t.Fatalf("after the job: %s", r.Body)
		}
		// Someone else's export is not found, and nothing changes.
		apiWant(t, e.send(t, "POST", "/api/v1/me/exports/"+id+"/link", other.token, nil), http.StatusNotFound)
		if r := e.get(t, "/api/v1/me/exports", other.token); !strings.Contains(string(r.Body), `"exports":[]`) {
			t.Errorf("the other person's list: %s", r.Body)
		}
		r = e.send(t, "POST", "/api/v1/me/exports/"+id+"/link", me.token, nil)
		apiWant(t, r, http.StatusOK)
		link := r.JSON(t)["url"].(string)
		apiWant(t, e.do(t, apiReq{Method: "GET", Path: link}), http.StatusUnauthorized)
		apiWant(t, e.get(t, link, other.token), http.StatusNotFound)
		apiWant(t, e.get(t, link+"x", me.token), http.StatusNotFound)
		r = e.get(t, link, me.token)
		apiWant(t, r, http.StatusOK)

		files := apiUnzip(t, r.Body)
		var all strings.Builder
		for _, b := range files {
			all.Write(b)
		}
		for _, want := range []string{apiE164(me.phone), "寻亲者ZX9Q", "INTRO-7f3k 我的简介", "31.234567", "121.456789", "实名张三QX", "11010519491231002X",
			"BROTHER-RX", "13798765432", "HZ-RCPT-5521", "DESC-q8w7 wears glasses", "CLUE-TEXT-88xy at the gate", "CLUE-PLACE-桥",
			"seeking_alert_location", "PIPL Art. 45"} {
			if !strings.Contains(all.String(), want) {
				t.Errorf("the archive lacks %q", want)
			}
		}
		for _, not := range []string{apiE164(other.phone), "OTHERNICK", "OTHER-INTRO-zz", "OTHER-REL", "13611112222", other.id, mod.id} {
			if strings.Contains(all.String(), not) {
				t.Errorf("the archive holds another person's %q", not)
			}
		}
		// Every stored media file is theirs here (the other person
		// uploaded none): each is in the archive, byte for byte.
		n := 0
		err := filepath.WalkDir(e.mediaDir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			n++
			for name, got := range files {
				if strings.HasPrefix(name, "media/") && bytes.Equal(got, b) {
					return nil
				}
			}
			t.Errorf("media file %s is not in the archive", p)
			return nil
		})
		if err != nil || n != 3 {
			t.Errorf("media files: %d, %v", n, err)
		}
	})
}

func apiUnzip(tb testing.TB, b []byte) map[string][]byte {
	tb.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			tb.Fatal(err)
		}
		out[f.Name], err = io.ReadAll(rc)
		rc.Close()
		if err != nil {
			tb.Fatal(err)
		}
	}
	return out
}
