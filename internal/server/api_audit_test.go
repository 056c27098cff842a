package server

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/yuncan/yuncan/internal/identity"
	"github.com/yuncan/yuncan/internal/storetest"
)

// TestAuditAPI (P52): after a seeking journey the admin sees the staff
// read and the staff approval in the audit log, filtered and paged, and
// the chain verifies; moderators and users get 403.
func TestAuditAPI(t *testing.T) {
	apiForEachTarget(t, func(t *testing.T, target storetest.Target) {
		e := newAPIEnv(t, target, apiEnvOptions{})
		rep := e.seekUser(t, identity.RoleUser, true)
		mod := e.seekUser(t, identity.RoleModerator, false)
		admin := e.seekUser(t, identity.RoleAdmin, false)

		id := e.createCase(t, rep, caseBody("child", 30.25, 120.15))
		apiWant(t, e.send(t, "POST", "/api/v1/cases/"+id+"/submit", rep.token, nil), http.StatusOK)
		apiWant(t, e.get(t, "/api/v1/cases/"+id+"/private?reason="+url.QueryEscape("checking the report"), mod.token), http.StatusOK)
		apiWant(t, e.send(t, "POST", "/api/v1/review/cases/"+id+"/approve", mod.token, nil), http.StatusOK)

		for _, u := range []seekUser{mod, rep} {
			apiWant(t, e.get(t, "/api/v1/admin/audit", u.token), http.StatusForbidden)
			apiWant(t, e.send(t, "POST", "/api/v1/admin/audit/verify", u.token, nil), http.StatusForbidden)
		}

		r := e.get(t, "/api/v1/admin/audit?target_kind=case&target_id="+id+"&actor="+mod.id, admin.token)
		apiWant(t, r, http.StatusOK)
		es := r.JSON(t)["entries"].([]any)
		if len(es) != 2 {
			t.Fatalf("audit entries: %s", r.Body)
		}
		approve, read := es[0].(map[string]any), es[1].(map[string]any)
		if approve["action"] != "case.approve" || approve["actor_role"] != "moderator" ||
			read["action"] != "case.private.read" || read["reason"] != "checking the report" || approve["prev_hash"] != read["hash"] {
			t.Fatalf("audit entries: %s", r.Body)
		}
		p1 := e.get(t, "/api/v1/admin/audit?limit=1&target_id="+id, admin.token)
		apiWant(t, p1, http.StatusOK)
		next, _ := p1.JSON(t)["next_cursor"].(string)
		p2 := e.get(t, "/api/v1/admin/audit?limit=1&target_id="+id+"&cursor="+next, admin.token)
		apiWant(t, p2, http.StatusOK)
		if got := p2.JSON(t)["entries"].([]any); next == "" || len(got) != 1 || got[0].(map[string]any)["action"] != "case.private.read" {
			t.Fatalf("second page: %s (cursor %q)", p2.Body, next)
		}
		apiWant(t, e.get(t, "/api/v1/admin/audit?since=yesterday", admin.token), http.StatusBadRequest)

		v := e.send(t, "POST", "/api/v1/admin/audit/verify", admin.token, nil)
		apiWant(t, v, http.StatusOK)
		if m := v.JSON(t); m["ok"] != true || m["broken_at"] != nil || m["entries"].(float64) < 2 {
			t.Fatalf("verify: %s", v.Body)
		}
	})
}
