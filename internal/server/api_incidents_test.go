package server

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/yuncan/yuncan/internal/identity"
	"github.com/yuncan/yuncan/internal/storetest"
)

// incidentBody is a valid declaration for affected ("all" or ids), in
// Chinese and English.
func incidentBody(affected any) map[string]any {
	return map[string]any{
		"severity":      "high",
		"occurred_at":   time.Now().Add(-30 * time.Hour).UTC().Format(time.RFC3339),
		"discovered_at": time.Now().Add(-3 * time.Hour).UTC().Format(time.RFC3339),
		"texts": []map[string]string{
			{"lang": "zh", "what_happened": "一台备份服务器被公开访问约 3 小时。", "impact": "手机号和昵称可能被他人获取。",
				"measures": "已关闭访问、更换密钥并报警。", "advice": "警惕冒充客服的来电，不要透露验证码。", "remedies": "免费提供 12 个月号码保护服务。"},
			{"lang": "en", "what_happened": "A backup server was open for about 3 hours.", "impact": "Numbers and nicknames may have leaked.",
				"measures": "Access closed, keys rotated, police told.", "advice": "Beware of fake calls; never give out a code.",
				"remedies": "12 months of free number protection."},
		},
		"affected": affected,
	}
}

var zhElements = []string{"一台备份服务器被公开访问约 3 小时。", "手机号和昵称可能被他人获取。", "已关闭访问、更换密钥并报警。",
	"警惕冒充客服的来电，不要透露验证码。", "免费提供 12 个月号码保护服务。"}

// securityNotices lists the security notices in the inbox of token.
func (e *apiEnv) securityNotices(tb testing.TB, token string) []map[string]any {
	tb.Helper()
	r := e.get(tb, "/api/v1/inbox", token)
	apiWant(tb, r, http.StatusOK)
	var out []map[string]any
	for _, it := range r.JSON(tb)["items"].([]any) {
		if it := it.(map[string]any); it["kind"] == "security" {
			out = append(out, it)
		}
	}
	return out
}

func (e *apiEnv) runIncidentJob(tb testing.TB) {
	tb.Helper()
	if err := e.srv.incidents.Notify(context.Background()); err != nil {
		tb.Fatal(err)
	}
}

// TestAPIIncidentJourney: P54: an admin declares a security incident
// through the API; each affected person gets a notice with all five
// required elements, in the inbox, and nobody else does; with "all" an
// announcement is published, readable without a login, and everyone is
// told; the regulator report record exists from the declaration and is
// marked submitted; every staff action is in the audit log. Bad input
// and non-admins are refused with a 4xx and change nothing.
func TestAPIIncidentJourney(t *testing.T) {
	apiForEachTarget(t, func(t *testing.T, target storetest.Target) {
		e := newAPIEnv(t, target, apiEnvOptions{})
		admin := e.staffToken(t, identity.RoleAdmin)
		mod := e.staffToken(t, identity.RoleModerator)
		aTok, aLogin := e.signUp(t, apiPhone())
		bTok, bLogin := e.signUp(t, apiPhone())
		cTok, _ := e.signUp(t, apiPhone())
		a := aLogin["user"].(map[string]any)["id"].(string)
		b := bLogin["user"].(map[string]any)["id"].(string)

		// Refused: not an admin, and bad input. Nothing is stored.
		apiWantError(t, e.send(t, "POST", "/api/v1/admin/incidents", mod, incidentBody([]string{a})), http.StatusForbidden, "forbidden")
		apiWantError(t, e.send(t, "POST", "/api/v1/admin/incidents", aTok, incidentBody([]string{a})), http.StatusForbidden, "forbidden")
		apiWantError(t, e.send(t, "POST", "/api/v1/admin/incidents", "", incidentBody([]string{a})), http.StatusUnauthorized, "unauthenticated")
		apiWantError(t, e.get(t, "/api/v1/admin/incidents", mod), http.StatusForbidden, "forbidden")
		missing := incidentBody([]string{a})
		delete(missing["texts"].([]map[string]string)[0], "remedies")
		if er := apiWantError(t, e.send(t, "POST", "/api/v1/admin/incidents", admin, missing), http.StatusBadRequest, "invalid"); er.Error.Fields["texts[0].remedies"] == "" {
			t.Errorf("a missing element is not named: %+v", er)
		}
		unknown := incidentBody([]string{a, "019a0000-0000-7000-8000-000000000000"})
		if er := apiWantError(t, e.send(t, "POST", "/api/v1/admin/incidents", admin, unknown), http.StatusBadRequest, "unknown_accounts"); er.Error.Fields["affected"] == "" {
			t.Errorf("an unknown account is not named: %+v", er)
		}
		for _, bad := range []any{"some", []string{}, 42, nil} {
			apiWantError(t, e.send(t, "POST", "/api/v1/admin/incidents", admin, incidentBody(bad)), http.StatusBadRequest, "invalid")
		}
		late := incidentBody([]string{a})
		late["occurred_at"] = "yesterday"
		apiWantError(t, e.send(t, "POST", "/api/v1/admin/incidents", admin, late), http.StatusBadRequest, "invalid")
		r := e.get(t, "/api/v1/admin/incidents", admin)
		apiWant(t, r, http.StatusOK)
		if n := len(r.JSON(t)["incidents"].([]any)); n != 0 {
			t.Fatalf("refused declarations stored %d incidents", n)
		}
		e.runIncidentJob(t)
		if n := e.securityNotices(t, aTok); len(n) != 0 {
			t.Fatalf("a refused declaration told someone: %v", n)
		}

		// Declared for a and b.
		r = e.send(t, "POST", "/api/v1/admin/incidents", admin, incidentBody([]string{a, b}))
		apiWant(t, r, http.StatusCreated)
		inc := r.JSON(t)
		id := inc["id"].(string)
		if r.Header.Get("Location") != "/api/v1/admin/incidents/"+id || inc["status"] != "declared" || inc["affected"] != "listed" ||
			inc["announcement"] != nil || r.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("declared: %s", r.Body)
		}
		if p := inc["progress"].(map[string]any); p["affected"] != float64(2) || p["pending"] != float64(2) || p["done"] != false {
			t.Errorf("progress before the job: %v", p)
		}
		// P54: a regulator report record is created with the declaration.
		rep := inc["regulator_report"].(map[string]any)
		if rep["submitted"] != false || !strings.Contains(rep["authority"].(string), "网信") || !strings.Contains(rep["facts"].(string), "2 个账号") {
			t.Errorf("regulator report record: %v", rep)
		}

		e.runIncidentJob(t)
		// P54: each notice carries all five elements, and reaches only the
		// affected accounts.
		for name, tok := range map[string]string{"a": aTok, "b": bTok} {
			ns := e.securityNotices(t, tok)
			if len(ns) != 1 {
				t.Fatalf("%s has %d notices", name, len(ns))
			}
			for _, el := range zhElements {
				if !strings.Contains(ns[0]["body"].(string), el) {
					t.Errorf("%s's notice lacks %q: %v", name, el, ns[0]["body"])
				}
			}
		}
		if n := e.securityNotices(t, cTok); len(n) != 0 {
			t.Errorf("P54: an unaffected account was told: %v", n)
		}
		r = e.get(t, "/api/v1/admin/incidents/"+id, admin)
		apiWant(t, r, http.StatusOK)
		if got := r.JSON(t); got["status"] != "notified" || got["progress"].(map[string]any)["notified"] != float64(2) ||
			got["progress"].(map[string]any)["done"] != true || got["notified_at"] == nil {
			t.Errorf("after the job: %s", r.Body)
		}
		r = e.get(t, "/api/v1/announcements", "")
		apiWant(t, r, http.StatusOK)
		if n := len(r.JSON(t)["announcements"].([]any)); n != 0 {
			t.Errorf("an incident of two accounts was announced")
		}

		// The regulator report, marked submitted once; the closing.
		apiWantError(t, e.send(t, "POST", "/api/v1/admin/incidents/"+id+"/regulator-report", admin, map[string]string{"reference": ""}),
			http.StatusBadRequest, "invalid")
		r = e.send(t, "POST", "/api/v1/admin/incidents/"+id+"/regulator-report", admin, map[string]string{"reference": "京网信〔2026〕8号"})
		apiWant(t, r, http.StatusOK)
		if rep := r.JSON(t)["regulator_report"].(map[string]any); rep["submitted"] != true || rep["reference"] != "京网信〔2026〕8号" || rep["submitted_at"] == nil {
			t.Errorf("submitted: %v", rep)
		}
		apiWantError(t, e.send(t, "POST", "/api/v1/admin/incidents/"+id+"/regulator-report", admin, map[string]string{"reference": "again"}),
			http.StatusConflict, "report_submitted")
		apiWantError(t, e.send(t, "POST", "/api/v1/admin/incidents/"+id+"/close", mod, nil), http.StatusForbidden, "forbidden")
		r = e.send(t, "POST", "/api/v1/admin/incidents/"+id+"/close", admin, nil)
		apiWant(t, r, http.StatusOK)
		if r.JSON(t)["status"] != "closed" {
			t.Errorf("closed: %s", r.Body)
		}
		apiWantError(t, e.send(t, "POST", "/api/v1/admin/incidents/"+id+"/close", admin, nil), http.StatusConflict, "invalid_transition")
		apiWantError(t, e.get(t, "/api/v1/admin/incidents/019a0000-0000-7000-8000-000000000000", admin), http.StatusNotFound, "not_found")

		// Everyone: announced at once, then everyone told.
		r = e.send(t, "POST", "/api/v1/admin/incidents", admin, incidentBody("all"))
		apiWant(t, r, http.StatusCreated)
		all := r.JSON(t)
		ann, _ := all["announcement"].(map[string]any)
		if all["affected"] != "all" || ann == nil {
			t.Fatalf("declared for all: %s", r.Body)
		}
		apiWantError(t, e.send(t, "POST", "/api/v1/admin/incidents/"+all["id"].(string)+"/close", admin, nil), http.StatusConflict, "notification_pending")
		r = e.get(t, "/api/v1/announcements", "")
		apiWant(t, r, http.StatusOK)
		anns := r.JSON(t)["announcements"].([]any)
		if len(anns) != 1 || anns[0].(map[string]any)["id"] != ann["id"] || len(anns[0].(map[string]any)["texts"].([]any)) != 2 {
			t.Fatalf("P54: the announcement is not public: %s", r.Body)
		}
		e.runIncidentJob(t)
		for name, tok := range map[string]string{"a": aTok, "b": bTok, "c": cTok, "admin": admin, "moderator": mod} {
			ns := e.securityNotices(t, tok)
			var link string
			for _, n := range ns {
				if l, _ := n["data"].(map[string]any)["link"].(string); l != "" {
					link = l
				}
			}
			if link != ann["url"] {
				t.Errorf("P54: %s was not told of the incident that affects everyone (%d notices)", name, len(ns))
			}
		}

		// P52: every staff action is in the audit log.
		r = e.get(t, "/api/v1/admin/audit?target_kind=incident", admin)
		apiWant(t, r, http.StatusOK)
		var actions []string
		for _, en := range r.JSON(t)["entries"].([]any) {
			actions = append(actions, en.(map[string]any)["action"].(string))
		}
		if want := "incident.declare,incident.close,incident.report_submitted,incident.declare"; strings.Join(actions, ",") != want {
			t.Errorf("audit %v, want %s", actions, want)
		}
	})
}
