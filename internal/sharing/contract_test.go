package sharing_test

import (
	"context"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yuncan/yuncan/internal/certify"
	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/identity"
	"github.com/yuncan/yuncan/internal/notify"
	"github.com/yuncan/yuncan/internal/sharing"
)

// The contract tests (P34): for each recipient the policy data declares,
// the real adapter sends one message to a fake of the provider on a local
// port, and every part of the request the provider received is named:
// either as one of the policy data's fields for that recipient, or as
// protocol that carries no personal data. The set of fields received must
// equal the fields declared, the fields the adapter reports
// (notify.ThirdParty) and the fields the ledger recorded for that
// message.

// notIntegrated are the declared recipients no code sends anything to:
// there is no payload to hold to the policy, so there is no contract
// test for them; each says why. An integration added later must add its
// contract case and leave this list.
var notIntegrated = map[string]string{
	"amap":          "no map or geocoding call exists: the case map loads OpenStreetMap tiles in the browser",
	"ad_partners":   "no advertising integration exists (Disclose still refuses identifiers to it: TestNoIdentifiersToDeidentifiedRecipients)",
	"video_partner": "no video partner integration exists",
}

// received is what one provider request carried, as policy field names.
type received struct {
	fields  map[string]bool
	unnamed []string // parts neither a field nor declared protocol
}

func (r *received) field(f string) { r.fields[f] = true }

func (r *received) unknown(part string) { r.unnamed = append(r.unnamed, part) }

func newReceived() *received { return &received{fields: map[string]bool{}} }

func (r *received) names() []string {
	out := slices.Collect(maps.Keys(r.fields))
	sort.Strings(out)
	return out
}

// checkContract holds one recipient's request to the policy data, the
// adapter and the ledger.
func checkContract(t *testing.T, e *env, recipient string, adapter notify.ThirdParty, got *received, entry sharing.Entry) {
	t.Helper()
	r := e.ledger.Recipient(recipient)
	if r == nil {
		t.Fatalf("%s is not declared", recipient)
	}
	if len(got.unnamed) > 0 {
		t.Errorf("%s received parts the contract does not name: %v", recipient, got.unnamed)
	}
	sent := got.names()
	want := slices.Clone(r.Fields)
	sort.Strings(want)
	if !slices.Equal(sent, want) {
		t.Errorf("P34: %s received %v, the policy data declares %v", recipient, sent, want)
	}
	reported := slices.Clone(adapter.Fields())
	sort.Strings(reported)
	if adapter.Recipient() != recipient || !slices.Equal(reported, sent) {
		t.Errorf("the adapter reports %s %v, it sent %v to %s", adapter.Recipient(), reported, sent, recipient)
	}
	recorded := slices.Clone(entry.Fields)
	sort.Strings(recorded)
	if entry.Recipient != recipient || !slices.Equal(recorded, sent) {
		t.Errorf("the ledger recorded %s %v for what went to %s: %v", entry.Recipient, recorded, recipient, sent)
	}
}

// entriesTo returns the account's ledger entries for recipient.
func entriesTo(t *testing.T, e *env, userID, recipient string) []sharing.Entry {
	t.Helper()
	var out []sharing.Entry
	for _, x := range e.mine(t, userID) {
		if x.Recipient == recipient {
			out = append(out, x)
		}
	}
	return out
}

// P35: every third party is declared with its purpose, the fields it
// gets, where it processes data, and the date of its last security
// assessment; and each has a contract test below or says why it has none.
func TestEveryRecipientIsDeclaredAndContracted(t *testing.T) {
	e := newEnv(t)
	contracted := map[string]bool{"sms_provider": true, "certifier": true, "apns": true, "fcm": true, "web_push_services": true}
	seen := map[string]bool{}
	for _, r := range e.ledger.DataMap().Recipients {
		if seen[r.ID] {
			t.Errorf("recipient %s declared twice", r.ID)
		}
		seen[r.ID] = true
		if e.ledger.DataMap().Purpose(r.Purpose) == nil {
			t.Errorf("P35: %s has no declared purpose (%q)", r.ID, r.Purpose)
		}
		if len(r.Fields) == 0 || r.Region == "" || r.Name.ZH == "" || r.Name.EN == "" {
			t.Errorf("P35: %s lacks fields, region or names: %+v", r.ID, r)
		}
		for _, f := range r.Fields {
			if !regexp.MustCompile(`^[a-z][a-z_]*$`).MatchString(f) {
				t.Errorf("%s: field %q is not a field name", r.ID, f)
			}
		}
		if _, err := time.Parse(time.DateOnly, r.Assessed); err != nil {
			t.Errorf("P35: %s: security assessment date %q: %v", r.ID, r.Assessed, err)
		}
		_, skip := notIntegrated[r.ID]
		if contracted[r.ID] == skip {
			t.Errorf("recipient %s: needs exactly one of a contract test or a reason it has none", r.ID)
		}
	}
	for id := range contracted {
		if !seen[id] {
			t.Errorf("a contract test names %s, which the policy data does not declare", id)
		}
	}
	for id := range notIntegrated {
		if !seen[id] {
			t.Errorf("notIntegrated names %s, which the policy data does not declare", id)
		}
	}
}

// P34: the SMS provider receives the number and the code, nothing else.
func TestContractSMSProvider(t *testing.T) {
	e := newEnv(t)
	uid, phone := e.signUp(t)
	qs := e.sms.sent()
	if len(qs) != 1 {
		t.Fatalf("%d messages reached the provider", len(qs))
	}
	got := newReceived()
	protocol := []string{"AccessKeyId", "Action", "Format", "RegionId", "SignName", "SignatureMethod", "SignatureNonce",
		"SignatureVersion", "TemplateCode", "Timestamp", "Version", "Signature"}
	for k, v := range qs[0] {
		switch {
		case k == "PhoneNumbers":
			if v[0] != strings.TrimPrefix(phone, "+86") {
				t.Errorf("PhoneNumbers = %q", v[0])
			}
			got.field("phone")
		case k == "TemplateParam":
			var p map[string]string
			if err := json.Unmarshal([]byte(v[0]), &p); err != nil {
				t.Fatal(err)
			}
			for pk := range p {
				if pk == "code" {
					got.field("code")
				} else {
					got.unknown("TemplateParam." + pk)
				}
			}
		case slices.Contains(protocol, k):
		default:
			got.unknown(k)
		}
	}
	es := entriesTo(t, e, uid, "sms_provider")
	if len(es) != 1 {
		t.Fatalf("%d ledger entries for the SMS", len(es))
	}
	checkContract(t, e, "sms_provider", e.sms.adapter(t), got, es[0])
}

// fakeCertifier is a real-name verification API (docs/identity.md).
type fakeCertifier struct {
	srv    *httptest.Server
	mu     sync.Mutex
	bodies []map[string]any
}

func newFakeCertifier(t *testing.T) *fakeCertifier {
	f := &fakeCertifier{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		json.NewDecoder(r.Body).Decode(&m)
		f.mu.Lock()
		f.bodies = append(f.bodies, m)
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"result":"match","reference":"cert-ref-1"}`))
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// P34, P10: the certifier receives the name and ID number, and the
// mobile number only for a three-element check; the three-element check
// is what the policy data declares, the two-element check a part of it.
func TestContractCertifier(t *testing.T) {
	for _, three := range []bool{true, false} {
		e := newEnv(t)
		ctx := context.Background()
		uid, _ := e.signUp(t)
		if err := e.cs.Grant(ctx, consent.User(uid), consent.PurposeRealName, consent.ChannelAPI); err != nil {
			t.Fatal(err)
		}
		fake := newFakeCertifier(t)
		h, err := certify.NewHTTP(certify.HTTPConfig{URL: fake.srv.URL + "/verify", AppCode: "appcode", SendPhone: three}, fake.srv.Client())
		if err != nil {
			t.Fatal(err)
		}
		v := identity.NewRealNameVerifier(e.ids, sharing.Certifier(h, e.ledger), func(ctx context.Context, userID string) error {
			return e.cs.Require(ctx, consent.User(userID), consent.PurposeRealName)
		}, identity.RealNameConfig{})
		if _, err := v.Verify(ctx, uid, identity.RealNameRequest{RealName: "张三", IDNumber: "11010119900307803X"}); err != nil {
			t.Fatal(err)
		}
		if len(fake.bodies) != 1 {
			t.Fatalf("%d checks reached the certifier", len(fake.bodies))
		}
		got := newReceived()
		for k := range fake.bodies[0] {
			switch k {
			case "name":
				got.field("real_name")
			case "id_number":
				got.field("id_number")
			case "mobile":
				got.field("phone")
			default:
				got.unknown(k)
			}
		}
		es := entriesTo(t, e, uid, "certifier")
		if len(es) != 1 || es[0].Basis != sharing.BasisConsent {
			t.Fatalf("ledger entries for the check = %+v", es)
		}
		if three {
			checkContract(t, e, "certifier", h, got, es[0])
			continue
		}
		// Two elements: exactly what the adapter reports and the ledger
		// recorded, all of it declared, the phone left out.
		sent := got.names()
		recorded := slices.Clone(es[0].Fields)
		sort.Strings(recorded)
		if !slices.Equal(sent, []string{"id_number", "real_name"}) || !slices.Equal(recorded, sent) || len(got.unnamed) > 0 {
			t.Errorf("two-element check: sent %v (unnamed %v), recorded %v", sent, got.unnamed, recorded)
		}
	}
}

// pushWorld is a real dispatcher pushing through the real APNs, FCM and
// Web Push adapters to fakes of the three services, with the ledger's
// PushDisclose wired as cmd/yuncan wires it, to an account with an
// iPhone, an Android phone and a browser.
type pushWorld struct {
	e        *env
	uid      string
	dispatch *notify.Dispatcher
	apns     *notify.APNs
	fcm      *notify.FCM
	webpush  *notify.WebPush

	mu       sync.Mutex
	requests map[string][]*capturedRequest // by service
}

type capturedRequest struct {
	path   string
	header http.Header
	body   []byte
}

const iosToken = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"

func newPushWorld(t *testing.T) *pushWorld {
	t.Helper()
	e := newEnv(t)
	ctx := context.Background()
	w := &pushWorld{e: e, requests: map[string][]*capturedRequest{}}
	w.uid, _ = e.signUp(t)
	capture := func(service string, answer func(http.ResponseWriter, *http.Request)) http.Handler {
		return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			w.mu.Lock()
			w.requests[service] = append(w.requests[service], &capturedRequest{path: r.URL.Path, header: r.Header.Clone(), body: b})
			w.mu.Unlock()
			answer(rw, r)
		})
	}

	// APNs: HTTP/2 over TLS, a .p8 provider key.
	apnsSrv := httptest.NewUnstartedServer(capture("apns", func(rw http.ResponseWriter, r *http.Request) { rw.WriteHeader(200) }))
	apnsSrv.EnableHTTP2 = true
	apnsSrv.StartTLS()
	t.Cleanup(apnsSrv.Close)
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(ec)
	if err != nil {
		t.Fatal(err)
	}
	w.apns, err = notify.NewAPNs(notify.APNsConfig{Endpoint: apnsSrv.URL, Key: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}),
		KeyID: "KEY1", TeamID: "TEAM1", Topic: "cn.yuncan.app"}, apnsSrv.Client())
	if err != nil {
		t.Fatal(err)
	}

	// FCM: Google's token endpoint and the v1 send API.
	fcmSrv := httptest.NewServer(capture("fcm", func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/token" {
			rw.Write([]byte(`{"access_token":"ya29.t","expires_in":3599,"token_type":"Bearer"}`))
			return
		}
		rw.Write([]byte(`{"name":"projects/yuncan-p/messages/1"}`))
	}))
	t.Cleanup(fcmSrv.Close)
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	w.fcm, err = notify.NewFCM(notify.FCMCredentials{Type: "service_account", ProjectID: "yuncan-p", ClientEmail: "push@yuncan-p.iam.gserviceaccount.com",
		PrivateKey: string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rk)})),
		TokenURI:   fcmSrv.URL + "/token"}, fcmSrv.URL, fcmSrv.Client())
	if err != nil {
		t.Fatal(err)
	}

	// Web Push: a browser's push service.
	wpSrv := httptest.NewTLSServer(capture("webpush", func(rw http.ResponseWriter, r *http.Request) { rw.WriteHeader(201) }))
	t.Cleanup(wpSrv.Close)
	vapid, err := notify.GenerateVAPIDKeys()
	if err != nil {
		t.Fatal(err)
	}
	w.webpush, err = notify.NewWebPush(notify.WebPushConfig{Keys: vapid, Subject: "mailto:push@yuncan.example"}, wpSrv.Client())
	if err != nil {
		t.Fatal(err)
	}

	inbox := notify.NewInbox(e.db.Notify(), notify.InboxConfig{}, nil)
	w.dispatch = notify.NewDispatcher(inbox, map[notify.Channel]notify.Pusher{
		notify.ChannelAPNs: w.apns, notify.ChannelFCM: w.fcm, notify.ChannelWebPush: w.webpush,
	}, notify.DispatcherConfig{
		CrossBorderAllowed: func(ctx context.Context, s notify.Subject) (bool, error) {
			return e.cs.Granted(ctx, consent.Subject{Kind: consent.SubjectKind(s.Kind), ID: s.ID}, consent.PurposeCrossBorderPush)
		},
		Disclose: e.ledger.PushDisclose,
		Sleep:    func(context.Context, time.Duration) error { return nil },
	}, nil)

	// The account's devices: an iPhone, an Android phone, a browser.
	for _, d := range []identity.DeviceInfo{{Platform: "ios", PushToken: iosToken}, {Platform: "android", PushToken: "fcm-registration-token-1"}} {
		if _, _, err := e.ids.RegisterDevice(ctx, d, w.uid); err != nil {
			t.Fatal(err)
		}
	}
	web, _, err := e.ids.RegisterDevice(ctx, identity.DeviceInfo{Platform: "web"}, w.uid)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	auth := make([]byte, 16)
	rand.Read(auth)
	if err := w.dispatch.SaveWebPush(ctx, web.ID, notify.WebPushSubscription{Endpoint: wpSrv.URL + "/push/sub-1",
		P256DH: base64.RawURLEncoding.EncodeToString(priv.PublicKey().Bytes()), Auth: base64.RawURLEncoding.EncodeToString(auth)}); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *pushWorld) send(t *testing.T, key string) notify.Result {
	t.Helper()
	res, err := w.dispatch.Dispatch(context.Background(), notify.Notification{Recipient: notify.User(w.uid), Kind: notify.KindSeekingAlert,
		DedupeKey: key, Title: "寻人提醒", Body: "一名儿童在您附近走失",
		Data: notify.Data{CaseID: "case-1", Ring: 1, DistanceKM: 3, Link: "/cases/case-1"}})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func (w *pushWorld) sent(service string) []*capturedRequest {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.requests[service])
}

// pushMessageFields names the members of the JSON message every push
// carries (notify's pushMessage): the title and body, and the rest data.
func pushMessageFields(got *received, prefix string, m map[string]any) {
	for k := range m {
		switch k {
		case "title", "body":
			got.field(k)
		case "id", "kind", "data":
			got.field("data")
		default:
			got.unknown(prefix + k)
		}
	}
}

// P34, P50: what APNs, FCM and a browser's push service receive is what
// the policy data declares for each, and the ledger records each push.
// Without the cross-border consent nothing goes to them, and nothing is
// recorded.
func TestContractPushServices(t *testing.T) {
	w := newPushWorld(t)
	e := w.e
	res := w.send(t, "alert:without-consent")
	if len(res.Deliveries) != 0 || len(w.sent("apns"))+len(w.sent("fcm"))+len(w.sent("webpush")) != 0 {
		t.Fatalf("pushed abroad without the consent: %+v", res.Deliveries)
	}
	for _, r := range []string{"apns", "fcm", "web_push_services"} {
		if n := len(entriesTo(t, e, w.uid, r)); n != 0 {
			t.Fatalf("%d ledger entries for %s without a push", n, r)
		}
	}

	if err := e.cs.Grant(context.Background(), consent.User(w.uid), consent.PurposeCrossBorderPush, consent.ChannelAPI); err != nil {
		t.Fatal(err)
	}
	res = w.send(t, "alert:with-consent")
	if len(res.Deliveries) != 3 {
		t.Fatalf("deliveries = %+v, want 3", res.Deliveries)
	}
	for _, d := range res.Deliveries {
		if d.Status != notify.StatusSent {
			t.Fatalf("delivery %+v", d)
		}
	}

	t.Run("apns", func(t *testing.T) {
		reqs := w.sent("apns")
		if len(reqs) != 1 {
			t.Fatalf("%d requests", len(reqs))
		}
		r, got := reqs[0], newReceived()
		if r.path == "/3/device/"+iosToken {
			got.field("push_token")
		} else {
			got.unknown("path " + r.path)
		}
		for k := range r.header {
			switch strings.ToLower(k) {
			case "apns-id": // the notification's id
				got.field("data")
			case "apns-collapse-id": // a hash of the case id
				got.field("data")
			case "authorization", "content-type", "content-length", "apns-topic", "apns-push-type", "apns-priority",
				"apns-expiration", "accept-encoding", "user-agent":
			default:
				got.unknown("header " + k)
			}
		}
		var body map[string]any
		if err := json.Unmarshal(r.body, &body); err != nil {
			t.Fatal(err)
		}
		for k, v := range body {
			if k != "aps" {
				continue
			}
			delete(body, k)
			for ak, av := range v.(map[string]any) {
				switch ak {
				case "alert":
					for lk := range av.(map[string]any) {
						if lk == "title" || lk == "body" {
							got.field(lk)
						} else {
							got.unknown("aps.alert." + lk)
						}
					}
				case "thread-id": // the case id
					got.field("data")
				case "sound", "interruption-level":
				default:
					got.unknown("aps." + ak)
				}
			}
		}
		pushMessageFields(got, "", body)
		es := entriesTo(t, e, w.uid, "apns")
		if len(es) != 1 || es[0].Basis != sharing.BasisConsent || es[0].Purpose != consent.PurposeCrossBorderPush {
			t.Fatalf("ledger entries = %+v", es)
		}
		checkContract(t, e, "apns", w.apns, got, es[0])
	})

	t.Run("fcm", func(t *testing.T) {
		var send *capturedRequest
		for _, r := range w.sent("fcm") {
			if r.path == "/token" {
				// The service account's own assertion: no one's data.
				continue
			}
			if send != nil {
				t.Fatal("more than one message sent")
			}
			send = r
		}
		if send == nil || send.path != "/v1/projects/yuncan-p/messages:send" {
			t.Fatalf("no message sent: %+v", send)
		}
		got := newReceived()
		var body struct {
			Message map[string]json.RawMessage `json:"message"`
		}
		if err := json.Unmarshal(send.body, &body); err != nil {
			t.Fatal(err)
		}
		for k, raw := range body.Message {
			switch k {
			case "token":
				got.field("push_token")
			case "notification":
				var n map[string]any
				json.Unmarshal(raw, &n)
				for nk := range n {
					if nk == "title" || nk == "body" {
						got.field(nk)
					} else {
						got.unknown("notification." + nk)
					}
				}
			case "data":
				got.field("data")
			case "android":
				var a map[string]any
				json.Unmarshal(raw, &a)
				for ak := range a {
					switch ak {
					case "priority", "ttl":
					case "collapse_key", "notification": // a hash of the case id, as collapse key and tag
						got.field("data")
					default:
						got.unknown("android." + ak)
					}
				}
			default:
				got.unknown("message." + k)
			}
		}
		es := entriesTo(t, e, w.uid, "fcm")
		if len(es) != 1 {
			t.Fatalf("ledger entries = %+v", es)
		}
		checkContract(t, e, "fcm", w.fcm, got, es[0])
	})

	t.Run("web_push_services", func(t *testing.T) {
		reqs := w.sent("webpush")
		if len(reqs) != 1 {
			t.Fatalf("%d requests", len(reqs))
		}
		r, got := reqs[0], newReceived()
		if r.path == "/push/sub-1" {
			got.field("push_endpoint")
		} else {
			got.unknown("path " + r.path)
		}
		if len(r.body) > 0 && !strings.Contains(string(r.body), "寻人") && !strings.Contains(string(r.body), "case-1") {
			got.field("encrypted_payload")
		} else {
			got.unknown("a body in clear")
		}
		for k := range r.header {
			switch strings.ToLower(k) {
			// VAPID, RFC 8291 encryption and RFC 8030 delivery
			// headers; Topic is a hash of the public case id.
			case "authorization", "content-encoding", "content-type", "content-length", "ttl", "urgency", "topic",
				"accept-encoding", "user-agent", "crypto-key":
			default:
				got.unknown("header " + k)
			}
		}
		es := entriesTo(t, e, w.uid, "web_push_services")
		if len(es) != 1 {
			t.Fatalf("ledger entries = %+v", es)
		}
		checkContract(t, e, "web_push_services", w.webpush, got, es[0])
	})
}

// P33: a push the ledger refuses does not go, and its delivery fails
// with not_disclosed: here the push services are left out of the policy
// data the ledger holds to.
func TestRefusedPushIsNotSent(t *testing.T) {
	w := newPushWorld(t)
	e := w.e
	ctx := context.Background()
	if err := e.cs.Grant(ctx, consent.User(w.uid), consent.PurposeCrossBorderPush, consent.ChannelAPI); err != nil {
		t.Fatal(err)
	}
	dm, err := consent.LoadDataMap()
	if err != nil {
		t.Fatal(err)
	}
	dm.Recipients = slices.DeleteFunc(dm.Recipients, func(r consent.RecipientDecl) bool { return r.Purpose == consent.PurposeCrossBorderPush })
	cs := consent.NewService(e.db.Consent(), dm, func() string { return "test-version" }, nil, nil)
	strict := sharing.NewLedger(sharing.Deps{Store: e.db.Sharing(), Consent: cs, Keys: e.keys}, sharing.Config{})
	inbox := notify.NewInbox(e.db.Notify(), notify.InboxConfig{}, nil)
	d := notify.NewDispatcher(inbox, map[notify.Channel]notify.Pusher{
		notify.ChannelAPNs: w.apns, notify.ChannelFCM: w.fcm, notify.ChannelWebPush: w.webpush,
	}, notify.DispatcherConfig{
		CrossBorderAllowed: func(context.Context, notify.Subject) (bool, error) { return true, nil },
		Disclose:           strict.PushDisclose,
	}, nil)
	res, err := d.Dispatch(ctx, notify.Notification{Recipient: notify.User(w.uid), Kind: notify.KindSecurity, DedupeKey: "sec-1",
		Title: "新设备登录", Body: "您的账号在新设备登录"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Deliveries) != 3 {
		t.Fatalf("deliveries = %+v", res.Deliveries)
	}
	for _, dl := range res.Deliveries {
		if dl.Status != notify.StatusFailed || dl.LastError != "not_disclosed" || dl.Attempts != 0 {
			t.Errorf("delivery %+v, want failed not_disclosed without an attempt", dl)
		}
	}
	if n := len(w.sent("apns")) + len(w.sent("fcm")) + len(w.sent("webpush")); n != 0 {
		t.Fatalf("%d requests reached the push services", n)
	}
	if !res.Created {
		t.Fatal("the notification did not reach the inbox")
	}
}
