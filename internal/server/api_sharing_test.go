package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/yuncan/yuncan/internal/certify"
	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/identity"
	"github.com/yuncan/yuncan/internal/notify"
	"github.com/yuncan/yuncan/internal/sharing"
	"github.com/yuncan/yuncan/internal/storetest"
)

// sharingEnv is the API with the sharing ledger wired as cmd/yuncan
// wires it, and the real Aliyun SMS and HTTP certifier adapters talking
// to fakes of the two providers on local ports: what goes to a third
// party is exactly what the ledger records.
type sharingEnv struct {
	*apiEnv
	ledger *sharing.Ledger

	mu    sync.Mutex
	codes map[string]string // by PhoneNumbers
	certs int
}

// lateSender lets the ledger, which needs the env's database, wrap the
// SMS sender identity was built with.
type lateSender struct{ next notify.Sender }

func (l *lateSender) Send(ctx context.Context, m notify.Message) error { return l.next.Send(ctx, m) }

func newSharingEnv(t *testing.T, target storetest.Target) *sharingEnv {
	t.Helper()
	late := &lateSender{}
	e := &sharingEnv{apiEnv: newAPIEnv(t, target, apiEnvOptions{sms: late}), codes: map[string]string{}}
	e.ledger = sharing.NewLedger(sharing.Deps{Store: e.db.Sharing(), Consent: e.consent, Keys: e.keys}, sharing.Config{})
	e.srv.sharing = e.ledger

	sms := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p struct{ Code string }
		json.Unmarshal([]byte(r.URL.Query().Get("TemplateParam")), &p)
		e.mu.Lock()
		e.codes[r.URL.Query().Get("PhoneNumbers")] = p.Code
		e.mu.Unlock()
		io.WriteString(w, `{"Code":"OK","Message":"OK","RequestId":"r"}`)
	}))
	t.Cleanup(sms.Close)
	aliyun, err := notify.NewAliyun(notify.AliyunConfig{Endpoint: sms.URL + "/", AccessKeyID: "id", AccessKeySecret: "s", SignName: "云寻",
		TemplateCode: "SMS_1"}, sms.Client())
	if err != nil {
		t.Fatal(err)
	}
	late.next = sharing.Sender(aliyun, e.ledger)

	cert := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.certs++
		e.mu.Unlock()
		io.WriteString(w, `{"result":"match","reference":"ref-1"}`)
	}))
	t.Cleanup(cert.Close)
	h, err := certify.NewHTTP(certify.HTTPConfig{URL: cert.URL, AppCode: "app"}, cert.Client())
	if err != nil {
		t.Fatal(err)
	}
	e.srv.realNames = identity.NewRealNameVerifier(e.ident, sharing.Certifier(h, e.ledger), func(ctx context.Context, userID string) error {
		return e.consent.Require(ctx, consent.User(userID), consent.PurposeRealName)
	}, identity.RealNameConfig{})
	return e
}

// signUpBySMS signs up through the API with the code the SMS provider
// received.
func (e *sharingEnv) signUpBySMS(t *testing.T, phone string) string {
	t.Helper()
	apiWant(t, e.send(t, "POST", "/api/v1/auth/sms-codes", "", map[string]string{"phone": phone}), http.StatusAccepted)
	e.mu.Lock()
	code := e.codes[phone]
	e.mu.Unlock()
	if code == "" {
		t.Fatalf("no code reached the SMS provider for %s", phone)
	}
	r := e.send(t, "POST", "/api/v1/auth/login", "", map[string]string{"phone": phone, "code": code, "accept_policy_version": e.policyVersion(t), "age_band": "adult"})
	apiWant(t, r, http.StatusOK)
	return r.JSON(t)["token"].(string)
}

type disclosurePage struct {
	Disclosures []struct {
		ID, At, Recipient, Region, Purpose, Basis string
		RecipientName                             string   `json:"recipient_name"`
		PurposeName                               string   `json:"purpose_name"`
		Fields                                    []string `json:"fields"`
		Exemption                                 *string  `json:"exemption"`
	} `json:"disclosures"`
	Next *string `json:"next_cursor"`
}

func (e *sharingEnv) disclosures(t *testing.T, token, query string) disclosurePage {
	t.Helper()
	r := e.get(t, "/api/v1/me/disclosures"+query, token)
	apiWant(t, r, http.StatusOK)
	var p disclosurePage
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// page fetches a page with the session as its cookie.
func (e *sharingEnv) page(t *testing.T, path, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", e.ts.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: token})
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// P33: "who received my data" after a real login SMS and a real
// real-name check went out: the privacy center (API and page, Chinese and
// English) names the SMS provider and the certifier, the purpose, the
// fields by name, the basis and the time, newest first; the data export
// carries the same entries; another person sees none of them.
func TestWhoReceivedMyData(t *testing.T) {
	apiForEachTarget(t, func(t *testing.T, target storetest.Target) {
		e := newSharingEnv(t, target)
		phone := apiPhone()
		tok := e.signUpBySMS(t, phone)

		p := e.disclosures(t, tok, "")
		if len(p.Disclosures) != 1 || p.Next != nil {
			t.Fatalf("after sign-up: %+v", p)
		}
		d := p.Disclosures[0]
		if d.Recipient != "sms_provider" || d.RecipientName != "短信服务商（阿里云短信）" || d.Purpose != "account" || d.Basis != "necessary" ||
			strings.Join(d.Fields, ",") != "phone,code" || d.Exemption != nil || d.Region != "CN" || d.At == "" {
			t.Fatalf("the login code's entry: %+v", d)
		}

		// P10 and P33: the real-name check needs its consent; then the
		// certifier gets the name and ID number, and the ledger says so.
		apiWantError(t, e.send(t, "POST", "/api/v1/me/real-name", tok, rnBody("张三", rnID("19900307", "123"))), http.StatusForbidden, "consent_required")
		if e.certs != 0 || len(e.disclosures(t, tok, "").Disclosures) != 1 {
			t.Fatal("a refused check reached the certifier or the ledger")
		}
		apiWant(t, e.send(t, "PUT", "/api/v1/consents/real_name", tok, nil), http.StatusNoContent)
		apiWant(t, e.send(t, "POST", "/api/v1/me/real-name", tok, rnBody("张三", rnID("19900307", "123"))), http.StatusCreated)
		if e.certs != 1 {
			t.Fatalf("%d checks reached the certifier", e.certs)
		}
		p = e.disclosures(t, tok, "?lang=en")
		if len(p.Disclosures) != 2 {
			t.Fatalf("after the check: %+v", p)
		}
		d = p.Disclosures[0]
		if d.Recipient != "certifier" || d.RecipientName != "Real-name certification provider" || d.PurposeName != "Real-name verification" ||
			d.Basis != "consent" || strings.Join(d.Fields, ",") != "real_name,id_number" {
			t.Fatalf("the check's entry: %+v", d)
		}
		if p.Disclosures[1].Recipient != "sms_provider" || p.Disclosures[1].RecipientName != "SMS provider (Alibaba Cloud SMS)" {
			t.Fatalf("the code's entry in English: %+v", p.Disclosures[1])
		}

		// A page at a time.
		first := e.disclosures(t, tok, "?limit=1")
		if len(first.Disclosures) != 1 || first.Next == nil || first.Disclosures[0].Recipient != "certifier" {
			t.Fatalf("first page: %+v", first)
		}
		second := e.disclosures(t, tok, "?limit=1&cursor="+*first.Next)
		if len(second.Disclosures) != 1 || second.Next != nil || second.Disclosures[0].Recipient != "sms_provider" {
			t.Fatalf("second page: %+v", second)
		}
		apiWantError(t, e.get(t, "/api/v1/me/disclosures?cursor=nope", tok), http.StatusBadRequest, "invalid")
		apiWantError(t, e.get(t, "/api/v1/me/disclosures?limit=101", tok), http.StatusBadRequest, "invalid")
		apiWantError(t, e.get(t, "/api/v1/me/disclosures", ""), http.StatusUnauthorized, "unauthenticated")

		// Someone else sees only their own code.
		other := e.signUpBySMS(t, apiPhone())
		if o := e.disclosures(t, other, ""); len(o.Disclosures) != 1 || o.Disclosures[0].ID == d.ID {
			t.Fatalf("another person's ledger: %+v", o)
		}

		// The page in the privacy center, linked from it.
		status, body := e.page(t, "/me/privacy", tok)
		if status != http.StatusOK || !strings.Contains(body, `href="/me/privacy/disclosures"`) {
			t.Fatalf("the privacy center (%d) does not link the ledger", status)
		}
		status, body = e.page(t, "/me/privacy/disclosures", tok)
		if status != http.StatusOK || !strings.Contains(body, "谁收到了我的信息") || !strings.Contains(body, "实名认证服务商") ||
			!strings.Contains(body, "短信服务商（阿里云短信）") || !strings.Contains(body, "真实姓名、身份证号") || !strings.Contains(body, "手机号、验证码") ||
			!strings.Contains(body, "您的同意") || !strings.Contains(body, "第十三条") {
			t.Fatalf("the page (%d):\n%s", status, body)
		}
		status, body = e.page(t, "/me/privacy/disclosures?lang=en", tok)
		if status != http.StatusOK || !strings.Contains(body, "Who received my data") || !strings.Contains(body, "Real name, ID number") ||
			!strings.Contains(body, "Phone number, Verification code") || !strings.Contains(body, "PIPL Art. 13(1)(2)") {
			t.Fatalf("the English page (%d):\n%s", status, body)
		}
		if status, _ := e.page(t, "/me/privacy/disclosures", ""); status != http.StatusSeeOther {
			t.Fatalf("the page without a login: %d, want a redirect to the login", status)
		}

		// The data export carries the ledger, without the blind index.
		r := e.send(t, "POST", "/api/v1/me/exports", tok, nil)
		apiWant(t, r, http.StatusAccepted)
		id := r.JSON(t)["id"].(string)
		if err := e.rights.BuildExports(context.Background()); err != nil {
			t.Fatal(err)
		}
		r = e.send(t, "POST", "/api/v1/me/exports/"+id+"/link", tok, nil)
		apiWant(t, r, http.StatusOK)
		dl := e.do(t, apiReq{Method: "GET", Path: r.JSON(t)["url"].(string), Token: tok})
		apiWant(t, dl, http.StatusOK)
		files := apiUnzip(t, dl.Body)
		var rows []map[string]any
		if err := json.Unmarshal(files["data/sharing_ledger.json"], &rows); err != nil {
			t.Fatalf("data/sharing_ledger.json: %v", err)
		}
		if len(rows) != 2 {
			t.Fatalf("the export holds %d ledger rows, want 2: %v", len(rows), rows)
		}
		for _, row := range rows {
			if _, ok := row["phone_index"]; ok {
				t.Fatalf("the export carries the blind index: %v", row)
			}
		}
	})
}

// P36: the partner statistics are for partner staff and admins, and a
// group under k (10) is not shown, only counted.
func TestPartnerStatisticsAPI(t *testing.T) {
	apiForEachTarget(t, func(t *testing.T, target storetest.Target) {
		e := newAPIEnv(t, target, apiEnvOptions{})
		e.srv.sharing = sharing.NewLedger(sharing.Deps{Store: e.db.Sharing(), Consent: e.consent, Keys: e.keys}, sharing.Config{})
		admin := e.seekUser(t, identity.RoleAdmin, false)
		mod := e.seekUser(t, identity.RoleModerator, false)
		rep := e.seekUser(t, identity.RoleUser, true)
		staff := e.seekUser(t, identity.RoleUser, false)
		e.publishCase(t, rep, mod, caseBody("child", 30.25, 120.15))

		apiWantError(t, e.get(t, "/api/v1/partner/statistics", staff.token), http.StatusForbidden, "partner_staff_required")
		o := e.send(t, "POST", "/api/v1/admin/partner-orgs", admin.token, map[string]string{"name": "西湖区救助站", "kind": "rescue_station"})
		apiWant(t, o, http.StatusCreated)
		apiWant(t, e.send(t, "POST", "/api/v1/admin/partner-orgs/"+o.JSON(t)["id"].(string)+"/staff", staff.token, map[string]string{"user_id": staff.id}), http.StatusForbidden)
		apiWant(t, e.send(t, "POST", "/api/v1/admin/partner-orgs/"+o.JSON(t)["id"].(string)+"/staff", admin.token, map[string]string{"user_id": staff.id}), http.StatusCreated)

		for _, tok := range []string{staff.token, admin.token} {
			r := e.get(t, "/api/v1/partner/statistics", tok)
			apiWant(t, r, http.StatusOK)
			m := r.JSON(t)
			if m["k"] != float64(10) || len(m["groups"].([]any)) != 0 || m["suppressed_groups"] != float64(1) {
				t.Fatalf("statistics with one case: %s", r.Body)
			}
		}
		apiWantError(t, e.get(t, "/api/v1/partner/statistics?from=2026-13-01", staff.token), http.StatusBadRequest, "invalid")
		apiWantError(t, e.get(t, "/api/v1/partner/statistics?from=2026-03-02&to=2026-03-01", staff.token), http.StatusBadRequest, "invalid")
		apiWantError(t, e.get(t, "/api/v1/partner/statistics?from=2024-01-01&to=2026-01-01", staff.token), http.StatusBadRequest, "invalid")
	})
}
