package server

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/yuncan/yuncan/internal/audit"
	"github.com/yuncan/yuncan/internal/identity"
	"github.com/yuncan/yuncan/internal/storetest"
)

// ticketsOf lists the ids in a page of tickets.
func ticketsOf(tb testing.TB, r apiResp) []string {
	tb.Helper()
	var ids []string
	for _, t := range r.JSON(tb)["tickets"].([]any) {
		ids = append(ids, t.(map[string]any)["id"].(string))
	}
	return ids
}

// TestAPITicketJourney: P67: a person files a privacy complaint and gets
// a ticket id with a status; staff see it in the queue, reply, and the
// person is told in the inbox and reads the reply; P73: a refusal names
// its reason and the route to complain to the regulator. Nobody else
// sees the ticket.
func TestAPITicketJourney(t *testing.T) {
	apiForEachTarget(t, func(t *testing.T, target storetest.Target) {
		e := newAPIEnv(t, target, apiEnvOptions{})
		person, _ := e.signUp(t, apiPhone())
		other, _ := e.signUp(t, apiPhone())
		mod := e.staffToken(t, identity.RoleModerator)

		r := e.send(t, "POST", "/api/v1/tickets", person, map[string]string{"category": "privacy_complaint",
			"text": "应用在我拒绝后仍然读取了位置。", "reference_kind": "case", "reference_id": "case-42"})
		apiWant(t, r, http.StatusCreated)
		tk := r.JSON(t)
		id := tk["id"].(string)
		if tk["status"] != "open" || tk["channel"] != "app" || tk["overdue"] != false || tk["regulator"] != nil ||
			r.Header.Get("Location") != "/api/v1/tickets/"+id || r.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("filed: %s", r.Body)
		}
		if ref := tk["reference"].(map[string]any); ref["kind"] != "case" || ref["id"] != "case-42" {
			t.Errorf("reference %v", ref)
		}
		if wl := tk["workdays_left"].(float64); wl < 15 || wl > 16 {
			t.Errorf("workdays_left %v, want 15 or 16", wl)
		}
		r = e.get(t, "/api/v1/tickets", person)
		apiWant(t, r, http.StatusOK)
		if ids := ticketsOf(t, r); len(ids) != 1 || ids[0] != id {
			t.Errorf("my tickets: %v", ids)
		}

		// What the viewer may not see is not found.
		apiWantError(t, e.get(t, "/api/v1/tickets/"+id, other), http.StatusNotFound, "not_found")
		apiWantError(t, e.send(t, "POST", "/api/v1/tickets/"+id+"/replies", other, map[string]string{"text": "x"}), http.StatusNotFound, "not_found")
		apiWantError(t, e.send(t, "POST", "/api/v1/tickets/"+id+"/close", other, nil), http.StatusNotFound, "not_found")
		apiWantError(t, e.get(t, "/api/v1/tickets/"+id, mod), http.StatusNotFound, "not_found")
		if ids := ticketsOf(t, e.get(t, "/api/v1/tickets", other)); len(ids) != 0 {
			t.Errorf("another person lists %v", ids)
		}
		apiWantError(t, e.get(t, "/api/v1/staff/tickets", person), http.StatusForbidden, "forbidden")
		apiWantError(t, e.get(t, "/api/v1/staff/tickets/"+id, person), http.StatusForbidden, "forbidden")
		apiWantError(t, e.get(t, "/api/v1/tickets", ""), http.StatusUnauthorized, "unauthenticated")

		// The queue, by deadline.
		r = e.get(t, "/api/v1/staff/tickets", mod)
		apiWant(t, r, http.StatusOK)
		if ids := ticketsOf(t, r); len(ids) != 1 || ids[0] != id || r.JSON(t)["overdue_count"] != float64(0) {
			t.Fatalf("queue: %s", r.Body)
		}
		r = e.get(t, "/api/v1/staff/tickets/"+id, mod)
		apiWant(t, r, http.StatusOK)
		if st := r.JSON(t); st["requester_id"] == nil || len(st["events"].([]any)) != 1 {
			t.Errorf("staff view: %s", r.Body)
		}

		r = e.send(t, "POST", "/api/v1/staff/tickets/"+id+"/replies", mod, map[string]string{"text": "已核查：您撤回同意后没有再收集位置。"})
		apiWant(t, r, http.StatusCreated)
		if r.JSON(t)["status"] != "answered" {
			t.Errorf("after the staff reply: %s", r.Body)
		}
		// P67: the person is told in the inbox.
		r = e.get(t, "/api/v1/inbox", person)
		apiWant(t, r, http.StatusOK)
		items := r.JSON(t)["items"].([]any)
		if len(items) != 1 || items[0].(map[string]any)["kind"] != "ticket_reply" {
			t.Fatalf("inbox: %s", r.Body)
		}
		r = e.get(t, "/api/v1/tickets/"+id, person)
		apiWant(t, r, http.StatusOK)
		msgs := r.JSON(t)["messages"].([]any)
		if len(msgs) != 1 || msgs[0].(map[string]any)["from"] != "staff" || strings.Contains(string(r.Body), "author_id") {
			t.Errorf("the person's thread: %s", r.Body)
		}

		r = e.send(t, "POST", "/api/v1/tickets/"+id+"/replies", person, map[string]string{"text": "可是系统里还有我的位置。"})
		apiWant(t, r, http.StatusCreated)
		if r.JSON(t)["status"] != "open" {
			t.Errorf("after the person wrote again: %s", r.Body)
		}

		// P73: no refusal without a reason; with one, the person reads it
		// and where to complain.
		er := apiWantError(t, e.send(t, "POST", "/api/v1/staff/tickets/"+id+"/status", mod, map[string]string{"status": "refused"}),
			http.StatusBadRequest, "invalid")
		if er.Error.Fields["reason"] == "" {
			t.Errorf("the refusal without reason does not name the field: %+v", er)
		}
		reason := "位置记录已在撤回时删除，页面显示的是缓存。"
		r = e.send(t, "POST", "/api/v1/staff/tickets/"+id+"/status", mod, map[string]string{"status": "refused", "reason": reason})
		apiWant(t, r, http.StatusOK)
		r = e.get(t, "/api/v1/tickets/"+id, person)
		apiWant(t, r, http.StatusOK)
		got := r.JSON(t)
		reg, _ := got["regulator"].(map[string]any)
		if got["status"] != "refused" || got["status_reason"] != reason || reg == nil || !strings.Contains(reg["zh"].(string), "12377") {
			t.Fatalf("the refused ticket: %s", r.Body)
		}
		apiWantError(t, e.send(t, "POST", "/api/v1/tickets/"+id+"/replies", person, map[string]string{"text": "不服"}), http.StatusConflict, "ticket_closed")
		apiWant(t, e.send(t, "POST", "/api/v1/tickets/"+id+"/close", person, nil), http.StatusOK)
		apiWantError(t, e.send(t, "POST", "/api/v1/tickets/"+id+"/close", person, nil), http.StatusConflict, "ticket_closed")

		// Every staff action, with who and when.
		r = e.get(t, "/api/v1/staff/tickets/"+id, mod)
		apiWant(t, r, http.StatusOK)
		var actions []string
		for _, ev := range r.JSON(t)["events"].([]any) {
			ev := ev.(map[string]any)
			actions = append(actions, ev["actor_role"].(string)+" "+ev["action"].(string)+" "+ev["to"].(string))
		}
		if want := "requester filed open,moderator replied answered,requester replied open,moderator status refused,requester status closed"; strings.Join(actions, ",") != want {
			t.Errorf("history %v\nwant %s", actions, want)
		}
		// The staff reads are in the audit log (P52).
		// P52: so are the staff actions.
		logged, err := e.db.Audit().Entries(context.Background(), audit.Filter{TargetKind: "ticket", TargetID: id, Limit: 50})
		var acts []string
		for _, a := range logged {
			acts = append(acts, a.Action)
		}
		if got, want := strings.Join(acts, ","), "ticket.read,ticket.status,ticket.reply,ticket.read"; err != nil || got != want {
			t.Errorf("audit: %s, %v; want %s (newest first)", got, err, want)
		}
	})
}

// TestAPITicketBadInput: bad input gets a 4xx with a code and changes
// nothing.
func TestAPITicketBadInput(t *testing.T) {
	apiForEachTarget(t, func(t *testing.T, target storetest.Target) {
		e := newAPIEnv(t, target, apiEnvOptions{})
		person, _ := e.signUp(t, apiPhone())
		mod := e.staffToken(t, identity.RoleModerator)
		for _, tc := range []struct {
			name  string
			body  any
			code  string
			field string
		}{
			{"not JSON", "{", "malformed_json", ""},
			{"an unknown field", map[string]any{"category": "privacy_complaint", "text": "x", "urgent": true}, "unknown_field", "urgent"},
			{"text as a number", map[string]any{"category": "privacy_complaint", "text": 5}, "wrong_type", "text"},
			{"no category", map[string]any{"text": "x"}, "invalid", "category"},
			{"a made-up category", map[string]any{"category": "praise", "text": "x"}, "invalid", "category"},
			{"no text", map[string]any{"category": "privacy_complaint"}, "invalid", "text"},
			{"text too long", map[string]any{"category": "privacy_complaint", "text": strings.Repeat("字", 2001)}, "invalid", "text"},
			{"a report without what", map[string]any{"category": "report_account", "text": "x"}, "invalid", "reference_id"},
			{"a rights request without kind", map[string]any{"category": "rights_request", "text": "x"}, "invalid", "kind"},
			{"a guardian's request without the minor", map[string]any{"category": "guardian_request", "kind": "access", "text": "x"}, "invalid", "minor_phone"},
		} {
			req := apiReq{Method: "POST", Path: "/api/v1/tickets", Token: person, Body: tc.body}
			if _, raw := tc.body.(string); raw {
				req.CType = "application/json"
			}
			er := apiWantError(t, e.do(t, req), http.StatusBadRequest, tc.code)
			if tc.field != "" && er.Error.Fields[tc.field] == "" {
				t.Errorf("%s: fields %v lack %s", tc.name, er.Error.Fields, tc.field)
			}
		}
		apiWantError(t, e.do(t, apiReq{Method: "POST", Path: "/api/v1/tickets", Token: person, CType: "text/plain", Body: `{"category":"privacy_complaint","text":"x"}`}),
			http.StatusUnsupportedMediaType, "unsupported_media_type")
		if ids := ticketsOf(t, e.get(t, "/api/v1/tickets", person)); len(ids) != 0 {
			t.Fatalf("refused tickets were stored: %v", ids)
		}
		if ids := ticketsOf(t, e.get(t, "/api/v1/staff/tickets?status=all", mod)); len(ids) != 0 {
			t.Fatalf("the queue holds refused tickets: %v", ids)
		}
		for _, q := range []string{"limit=0x", "limit=1000", "cursor=zzz"} {
			apiWantError(t, e.get(t, "/api/v1/tickets?"+q, person), http.StatusBadRequest, "invalid")
		}
		for _, q := range []string{"category=praise", "status=lost", "overdue=maybe", "limit=-1", "cursor=abc"} {
			apiWantError(t, e.get(t, "/api/v1/staff/tickets?"+q, mod), http.StatusBadRequest, "invalid")
		}
		r := e.send(t, "POST", "/api/v1/tickets", person, map[string]string{"category": "privacy_complaint", "text": "投诉"})
		apiWant(t, r, http.StatusCreated)
		id := r.JSON(t)["id"].(string)
		apiWantError(t, e.send(t, "POST", "/api/v1/tickets/"+id+"/replies", person, map[string]string{"text": " "}), http.StatusBadRequest, "invalid")
		apiWantError(t, e.send(t, "POST", "/api/v1/staff/tickets/"+id+"/status", mod, map[string]string{"status": "open"}), http.StatusBadRequest, "invalid")
		apiWantError(t, e.send(t, "POST", "/api/v1/staff/tickets/"+id+"/status", mod, map[string]string{"status": "answered"}), http.StatusConflict, "reply_first")
		apiWantError(t, e.send(t, "POST", "/api/v1/staff/tickets/"+id+"/replies", mod, map[string]string{"text": "x", "status": "closed"}),
			http.StatusBadRequest, "invalid")
		apiWantError(t, e.send(t, "POST", "/api/v1/staff/tickets", mod, map[string]string{"channel": "app", "contact": "x", "category": "privacy_complaint", "text": "x"}),
			http.StatusBadRequest, "invalid")
		apiWantError(t, e.send(t, "POST", "/api/v1/staff/tickets", mod, map[string]string{"channel": "email", "contact": "x", "category": "privacy_complaint",
			"text": "x", "received_at": "yesterday"}), http.StatusBadRequest, "invalid")
		r = e.get(t, "/api/v1/staff/tickets/"+id, mod)
		apiWant(t, r, http.StatusOK)
		if st := r.JSON(t); st["status"] != "open" || len(st["messages"].([]any)) != 0 || len(st["events"].([]any)) != 1 {
			t.Errorf("refused changes changed the ticket: %s", r.Body)
		}
		for _, path := range []string{"/api/v1/staff/tickets/nope", "/api/v1/staff/tickets/00000000-0000-7000-8000-000000000000"} {
			apiWantError(t, e.get(t, path, mod), http.StatusNotFound, "not_found")
		}
	})
}

// TestAPITicketFloodLimit: P67: at most 10 tickets a day per account;
// the 11th answers 429 with when to try again.
func TestAPITicketFloodLimit(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t, storetest.Targets(t)[0], apiEnvOptions{})
	person, _ := e.signUp(t, apiPhone())
	body := map[string]string{"category": "privacy_complaint", "text": "同一件事"}
	for range e.tickets.Config().TicketsPerDay {
		apiWant(t, e.send(t, "POST", "/api/v1/tickets", person, body), http.StatusCreated)
	}
	r := e.send(t, "POST", "/api/v1/tickets", person, body)
	apiWantError(t, r, http.StatusTooManyRequests, "ticket_limit")
	if s := apiWantRetryAfter(t, r); s < int((23 * time.Hour).Seconds()) {
		t.Errorf("Retry-After %d s: the first ticket leaves the day in about 24 hours", s)
	}
	other, _ := e.signUp(t, apiPhone())
	apiWant(t, e.send(t, "POST", "/api/v1/tickets", other, body), http.StatusCreated)
}

// TestAPIGuardianRequestIsATicket: P71: the guardian form is a way in to
// tickets: the request is in the staff queue, and the guardian follows
// the ticket's status with the request's id.
func TestAPIGuardianRequestIsATicket(t *testing.T) {
	apiForEachTarget(t, func(t *testing.T, target storetest.Target) {
		e := newAPIEnv(t, target, apiEnvOptions{})
		admin := e.staffToken(t, identity.RoleAdmin)
		r := e.send(t, "POST", "/api/v1/guardian-requests", "", map[string]string{"guardian_phone": apiPhone(), "minor_phone": apiPhone(),
			"kind": "deletion", "message": "请删除孩子上传的照片。"})
		apiWant(t, r, http.StatusCreated)
		reqID := r.JSON(t)["id"].(string)

		r = e.get(t, "/api/v1/staff/tickets?category=guardian_request", admin)
		apiWant(t, r, http.StatusOK)
		ids := ticketsOf(t, r)
		if len(ids) != 1 {
			t.Fatalf("queue: %s", r.Body)
		}
		r = e.get(t, "/api/v1/staff/tickets/"+ids[0], admin)
		apiWant(t, r, http.StatusOK)
		st := r.JSON(t)
		if st["channel"] != "guardian_form" || st["kind"] != "deletion" || st["text"] != "请删除孩子上传的照片。" || st["requester_id"] != nil ||
			st["contact"] == nil || st["minor_phone_masked"] == nil || strings.Contains(string(r.Body), reqID) {
			t.Errorf("the guardian's ticket (the request id, the guardian's key, must not show): %s", r.Body)
		}
		apiWant(t, e.send(t, "POST", "/api/v1/staff/tickets/"+ids[0]+"/replies", admin, map[string]string{"text": "已联系监护人核实。", "status": "in_progress"}),
			http.StatusCreated)
		r = e.get(t, "/api/v1/guardian-requests/"+reqID, "")
		apiWant(t, r, http.StatusOK)
		if r.JSON(t)["status"] != "in_progress" {
			t.Errorf("the guardian sees %s", r.Body)
		}
	})
}

// TestAPITicketOtherChannels: P73: the contact channels are published,
// and a request that came by e-mail is logged into the same queue; the
// linked account follows it in the app.
func TestAPITicketOtherChannels(t *testing.T) {
	apiForEachTarget(t, func(t *testing.T, target storetest.Target) {
		e := newAPIEnv(t, target, apiEnvOptions{})
		r := e.get(t, "/api/v1/privacy/contact", "")
		apiWant(t, r, http.StatusOK)
		c := r.JSON(t)
		if c["email"] != "chensiqiang@xiaoqikeji.com.cn" || c["answer_within_working_days"] != float64(15) || c["help_page"] != "/help" {
			t.Errorf("contact: %s", r.Body)
		}
		_, login := e.signUp(t, apiPhone())
		person := login["token"].(string)
		userID := login["user"].(map[string]any)["id"].(string)
		admin := e.staffToken(t, identity.RoleAdmin)
		received := time.Now().Add(-48 * time.Hour).UTC().Format(time.RFC3339)
		r = e.send(t, "POST", "/api/v1/staff/tickets", admin, map[string]string{"channel": "email", "contact": "someone@example.com",
			"category": "rights_request", "kind": "deletion", "text": "请删除我的账号信息。", "requester_id": userID, "received_at": received})
		apiWant(t, r, http.StatusCreated)
		st := r.JSON(t)
		if st["channel"] != "email" || st["contact"] != "someone@example.com" || st["created_at"] != received {
			t.Errorf("logged: %s", r.Body)
		}
		r = e.get(t, "/api/v1/tickets", person)
		apiWant(t, r, http.StatusOK)
		if ids := ticketsOf(t, r); len(ids) != 1 || ids[0] != st["id"] {
			t.Errorf("the person does not follow the logged request: %s", r.Body)
		}
	})
}

// FuzzDecodeTickets: the tickets decoders refuse what they cannot read as
// a client error, never an internal one.
func FuzzDecodeTickets(f *testing.F) {
	for _, s := range []string{
		``, `{}`, `null`, `{"category":"privacy_complaint","text":"x"}`, `{"category":5}`, `{"text":"\u0000"}`,
		`{"category":"guardian_request","kind":"access","text":"x","minor_phone":"13800138000","reference_kind":"case","reference_id":"c"}`,
		`{"text":"x","status":"answered"}`, `{"status":"refused","reason":["x"]}`,
		`{"channel":"email","contact":"a@b.c","category":"privacy_complaint","text":"x","received_at":"2026-01-01T00:00:00Z"}`,
	} {
		f.Add([]byte(s))
	}
	targets := []func() any{
		func() any { return new(ticketCreateRequest) },
		func() any { return new(ticketReplyRequest) },
		func() any { return new(staffReplyRequest) },
		func() any { return new(staffStatusRequest) },
		func() any { return new(staffLogRequest) },
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, newV := range targets {
			if err := decodeJSON(body, newV()); err != nil {
				checkDecodeError(t, body, err)
			}
		}
	})
}
