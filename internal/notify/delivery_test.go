package notify_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/identity"
	"github.com/yuncan/yuncan/internal/notify"
	"github.com/yuncan/yuncan/internal/sqlstore"
	"github.com/yuncan/yuncan/internal/storetest"
)

// clock is a settable clock shared by the services under test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fakePusher stands for a push service (the outside world): it records
// each push and answers with fail's error, if any.
type fakePusher struct {
	mu    sync.Mutex
	calls []pushCall
	fail  func(t notify.Target, n int) error // n counts this device's pushes, from 1
}

type pushCall struct {
	Target  notify.Target
	Payload notify.Payload
}

func (f *fakePusher) Push(_ context.Context, t notify.Target, p notify.Payload) error {
	f.mu.Lock()
	f.calls = append(f.calls, pushCall{t, p})
	n := 0
	for _, c := range f.calls {
		if c.Target.DeviceID == t.DeviceID {
			n++
		}
	}
	fail := f.fail
	f.mu.Unlock()
	if fail != nil {
		return fail(t, n)
	}
	return nil
}

func (f *fakePusher) devices() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []string
	for _, c := range f.calls {
		ids = append(ids, c.Target.DeviceID)
	}
	slices.Sort(ids)
	return ids
}

// env is the notify area on a real database, with fake push services.
type env struct {
	db      *sqlstore.DB
	clock   *clock
	inbox   *notify.Inbox
	disp    *notify.Dispatcher
	consent *consent.Service
	apns    *fakePusher
	fcm     *fakePusher
	web     *fakePusher
	sleeps  []time.Duration
	logs    *bytes.Buffer
}

func newEnv(t *testing.T, target storetest.Target, cfg notify.DispatcherConfig) *env {
	t.Helper()
	db := storetest.Open(t, target)
	e := &env{db: db, clock: &clock{t: time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)},
		apns: &fakePusher{}, fcm: &fakePusher{}, web: &fakePusher{}, logs: &bytes.Buffer{}}
	dm, err := consent.LoadDataMap()
	if err != nil {
		t.Fatal(err)
	}
	e.consent = consent.NewService(db.Consent(), dm, func() string { return "test" }, e.clock.Now, slog.New(slog.DiscardHandler))
	e.inbox = notify.NewInbox(db.Notify(), notify.InboxConfig{}, e.clock.Now)
	var mu sync.Mutex
	if cfg.Sleep == nil {
		cfg.Sleep = func(_ context.Context, d time.Duration) error {
			mu.Lock()
			defer mu.Unlock()
			e.sleeps = append(e.sleeps, d)
			return nil
		}
	}
	cfg.MarketingAllowed = marketingGate(e.consent)
	e.disp = notify.NewDispatcher(e.inbox, map[notify.Channel]notify.Pusher{
		notify.ChannelAPNs: e.apns, notify.ChannelFCM: e.fcm, notify.ChannelWebPush: e.web,
	}, cfg, slog.New(slog.NewJSONHandler(e.logs, nil)))
	return e
}

// marketingGate is how cmd/yuncan wires the consent gate (P60).
func marketingGate(cs *consent.Service) func(context.Context, notify.Subject) (bool, error) {
	return func(ctx context.Context, s notify.Subject) (bool, error) {
		return cs.Granted(ctx, consent.Subject{Kind: consent.SubjectKind(s.Kind), ID: s.ID}, consent.PurposeMarketingPush)
	}
}

func forEachTarget(t *testing.T, fn func(t *testing.T, target storetest.Target)) {
	t.Parallel()
	for _, target := range storetest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			t.Parallel()
			fn(t, target)
		})
	}
}

func (e *env) user(t *testing.T, id string) {
	t.Helper()
	err := e.db.Identity().CreateUser(context.Background(), identity.UserRecord{ID: id, PhoneSealed: "sealed-" + id, PhoneIndex: "idx-" + id,
		Role: identity.RoleUser, Nickname: id, AgeBand: identity.AgeAdult, CreatedAt: e.clock.Now(), UpdatedAt: e.clock.Now()}, identity.PolicyAcceptance{})
	if err != nil {
		t.Fatal(err)
	}
}

func (e *env) device(t *testing.T, id, userID, platform, token string) {
	t.Helper()
	now := e.clock.Now()
	err := e.db.Identity().CreateDevice(context.Background(), identity.DeviceRecord{Device: identity.Device{ID: id, UserID: userID,
		Platform: platform, Model: "m", OSVersion: "1", AppVersion: "1", PushToken: token, CreatedAt: now, LastSeenAt: now},
		TokenHash: []byte("hash-" + id)})
	if err != nil {
		t.Fatal(err)
	}
}

func (e *env) webPush(t *testing.T, deviceID string) notify.WebPushSubscription {
	t.Helper()
	s := notify.WebPushSubscription{Endpoint: "https://push.example/SECRET-" + deviceID,
		P256DH: "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM",
		Auth:   "tBHItJI5svbpez7KI4CCXg"}
	if err := e.disp.SaveWebPush(context.Background(), deviceID, s); err != nil {
		t.Fatal(err)
	}
	return s
}

// familyDevices: an account with an iPhone, an Android phone, a browser
// and a phone without a push token; and a logged-out device.
func (e *env) familyDevices(t *testing.T) {
	e.user(t, "u-1")
	e.device(t, "d-ios", "u-1", "ios", "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90")
	e.device(t, "d-and", "u-1", "android", "fcm-SECRET-token")
	e.device(t, "d-web", "u-1", "web", "")
	e.device(t, "d-none", "u-1", "android", "")
	e.device(t, "d-out", "", "android", "fcm-other")
	e.webPush(t, "d-web")
}

func alert(recipient notify.Subject, caseID string, km int) notify.Notification {
	return notify.Notification{Recipient: recipient, Kind: notify.KindSeekingAlert,
		DedupeKey: "alert:" + caseID + ":" + recipient.ID, Title: "附近有人走失", Body: "请留意",
		Data: notify.Data{CaseID: caseID, Ring: 1, DistanceKM: km, Link: "/cases/" + caseID}}
}

func dispatch(t *testing.T, e *env, n notify.Notification) notify.Result {
	t.Helper()
	r, err := e.disp.Dispatch(context.Background(), n)
	if err != nil {
		t.Fatalf("Dispatch %s: %v", n.DedupeKey, err)
	}
	return r
}

func deliveries(t *testing.T, e *env, id string) map[string]string {
	t.Helper()
	ds, err := e.db.Notify().Deliveries(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, d := range ds {
		out[d.DeviceID] = fmt.Sprintf("%s %s %d %s", d.Channel, d.Status, d.Attempts, d.LastError)
	}
	return out
}

func same(t *testing.T, what string, got, want any) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s:\n got %v\nwant %v", what, got, want)
	}
}

// P04: an account's pushes reach its bound devices, each once per
// notification however often it is dispatched, over the device's channel.
func TestDispatchPushesEachDeviceOnce(t *testing.T) {
	forEachTarget(t, func(t *testing.T, target storetest.Target) {
		e := newEnv(t, target, notify.DispatcherConfig{})
		e.familyDevices(t)
		n := alert(notify.User("u-1"), "case-1", 37)
		sub := e.inbox.Subscribe(n.Recipient)
		defer sub.Close()

		// Several workers dispatch the same alert at once (a retried job).
		var wg sync.WaitGroup
		results := make([]notify.Result, 5)
		for i := range results {
			wg.Go(func() { results[i] = dispatch(t, e, n) })
		}
		wg.Wait()
		created, pushes := 0, 0
		for _, r := range results {
			if r.Created {
				created++
			}
			pushes += len(r.Deliveries)
		}
		if created != 1 || pushes != 3 {
			t.Errorf("%d created, %d pushes; want 1 and 3", created, pushes)
		}
		same(t, "APNs pushes", e.apns.devices(), []string{"d-ios"})
		same(t, "FCM pushes", e.fcm.devices(), []string{"d-and"})
		same(t, "Web Push pushes", e.web.devices(), []string{"d-web"})
		id := results[0].Notification.ID
		same(t, "deliveries", deliveries(t, e, id), map[string]string{
			"d-and": "fcm sent 1 ", "d-ios": "apns sent 1 ", "d-web": "webpush sent 1 "})

		p := e.fcm.calls[0].Payload
		if p.NotificationID != id || p.Title != n.Title || p.Data != n.Data || p.Urgency != notify.UrgencyHigh || p.Collapse != "case-1" {
			t.Errorf("payload = %+v", p)
		}
		// The open stream heard it once.
		if got := <-sub.C(); got.ID != id {
			t.Errorf("stream got %s", got.ID)
		}
		select {
		case got := <-sub.C():
			t.Errorf("stream got a second event %s", got.ID)
		default:
		}
		page, _ := e.inbox.List(context.Background(), n.Recipient, "", 0)
		if len(page.Items) != 1 || page.Unread != 1 {
			t.Errorf("inbox holds %d items, %d unread; want 1, 1", len(page.Items), page.Unread)
		}

		// P04: a device without an account gets its own pushes.
		r := dispatch(t, e, alert(notify.Device("d-out"), "case-1", 5))
		same(t, "logged-out device", deliveries(t, e, r.Notification.ID), map[string]string{"d-out": "fcm sent 1 "})
	})
}

func TestDispatchRetriesWithBackoff(t *testing.T) {
	forEachTarget(t, func(t *testing.T, target storetest.Target) {
		e := newEnv(t, target, notify.DispatcherConfig{BaseDelay: 100 * time.Millisecond, MaxDelay: 2 * time.Second, MaxAttempts: 4})
		e.familyDevices(t)
		e.fcm.fail = func(_ notify.Target, n int) error {
			switch n {
			case 1:
				return &notify.PushError{Channel: notify.ChannelFCM, Status: 503, Reason: "UNAVAILABLE", Retry: true}
			case 2:
				// Retry-After beyond MaxDelay is capped at it.
				return &notify.PushError{Channel: notify.ChannelFCM, Status: 429, Reason: "QUOTA_EXCEEDED", Retry: true, RetryAfter: time.Minute}
			}
			return nil
		}
		e.apns.fail = func(notify.Target, int) error {
			return &notify.PushError{Channel: notify.ChannelAPNs, Status: 503, Reason: "ServiceUnavailable", Retry: true}
		}
		e.web.fail = func(notify.Target, int) error {
			return &notify.PushError{Channel: notify.ChannelWebPush, Status: 400, Retry: false}
		}
		r := dispatch(t, e, alert(notify.User("u-1"), "case-1", 3))
		same(t, "deliveries", deliveries(t, e, r.Notification.ID), map[string]string{
			"d-and": "fcm sent 3 ",
			"d-ios": "apns failed 4 503 ServiceUnavailable",
			"d-web": "webpush failed 1 HTTP 400",
		})
		// APNs waited 3 times, FCM twice: 5 waits, each within the bounds.
		if len(e.sleeps) != 5 {
			t.Fatalf("slept %v, want 5 waits", e.sleeps)
		}
		capped := 0
		for _, d := range e.sleeps {
			if d < 50*time.Millisecond || d > 2*time.Second {
				t.Errorf("wait %v outside [50ms, 2s]", d)
			}
			if d == 2*time.Second {
				capped++
			}
		}
		if capped < 1 {
			t.Errorf("no wait honoured Retry-After (capped at 2s): %v", e.sleeps)
		}
		// A failed delivery is not retried by the next dispatch of the same
		// notification: one delivery per device per alert.
		dispatch(t, e, alert(notify.User("u-1"), "case-1", 3))
		if n := len(e.apns.devices()); n != 4 {
			t.Errorf("APNs pushed %d times, want the 4 attempts only", n)
		}
	})
}

// A gone token or subscription is forgotten at once and never pushed to
// again; the logs name devices, never tokens.
func TestDispatchForgetsGoneTokens(t *testing.T) {
	forEachTarget(t, func(t *testing.T, target storetest.Target) {
		e := newEnv(t, target, notify.DispatcherConfig{})
		e.familyDevices(t)
		e.fcm.fail = func(notify.Target, int) error {
			return &notify.PushError{Channel: notify.ChannelFCM, Status: 404, Reason: "UNREGISTERED", Gone: true}
		}
		e.web.fail = func(notify.Target, int) error {
			return &notify.PushError{Channel: notify.ChannelWebPush, Status: 410, Gone: true}
		}
		r := dispatch(t, e, alert(notify.User("u-1"), "case-1", 3))
		same(t, "deliveries", deliveries(t, e, r.Notification.ID), map[string]string{
			"d-and": "fcm gone 1 404 UNREGISTERED", "d-ios": "apns sent 1 ", "d-web": "webpush gone 1 HTTP 410"})
		targets, err := e.db.Notify().PushTargets(context.Background(), notify.User("u-1"))
		if err != nil {
			t.Fatal(err)
		}
		for _, tg := range targets {
			if (tg.DeviceID == "d-and" && tg.Token != "") || (tg.DeviceID == "d-web" && tg.WebPush != nil) {
				t.Errorf("device %s still has its gone token or subscription", tg.DeviceID)
			}
		}
		dispatch(t, e, alert(notify.User("u-1"), "case-2", 3))
		if len(e.fcm.devices()) != 1 || len(e.web.devices()) != 1 || len(e.apns.devices()) != 2 {
			t.Errorf("after forgetting: fcm %v, web %v, apns %v", e.fcm.devices(), e.web.devices(), e.apns.devices())
		}
		logs := e.logs.String()
		if !strings.Contains(logs, "d-and") {
			t.Errorf("the log does not name the device: %s", logs)
		}
		if strings.Contains(logs, "SECRET") || strings.Contains(logs, "附近") {
			t.Errorf("the log holds a token, endpoint or message text: %s", logs)
		}
	})
}

// P60: marketing goes out only with the marketing_push consent; alerts
// and security notices need none.
func TestDispatchMarketingNeedsConsent(t *testing.T) {
	forEachTarget(t, func(t *testing.T, target storetest.Target) {
		e := newEnv(t, target, notify.DispatcherConfig{})
		e.familyDevices(t)
		ctx, u := context.Background(), notify.User("u-1")
		promo := func(key string) notify.Notification {
			return notify.Notification{Recipient: u, Kind: notify.KindMarketing, DedupeKey: key, Title: "活动"}
		}
		r := dispatch(t, e, promo("promo-1"))
		if r.Skipped != notify.SkippedConsent || r.Notification.ID != "" {
			t.Errorf("marketing without consent: %+v", r)
		}
		sec := dispatch(t, e, notify.Notification{Recipient: u, Kind: notify.KindSecurity, DedupeKey: "login:1", Title: "新设备登录"})
		if !sec.Created || len(sec.Deliveries) != 3 {
			t.Errorf("security notice without marketing consent: %+v", sec)
		}

		cu := consent.User("u-1")
		if err := e.consent.Grant(ctx, cu, consent.PurposeMarketingPush, consent.ChannelApp); err != nil {
			t.Fatal(err)
		}
		if r := dispatch(t, e, promo("promo-2")); !r.Created || len(r.Deliveries) != 3 {
			t.Errorf("marketing with consent: %+v", r)
		}
		if err := e.consent.Withdraw(ctx, cu, consent.PurposeMarketingPush, consent.ChannelApp); err != nil {
			t.Fatal(err)
		}
		if r := dispatch(t, e, promo("promo-3")); r.Skipped != notify.SkippedConsent {
			t.Errorf("marketing after withdrawal: %+v", r)
		}
		page, _ := e.inbox.List(ctx, u, "", 0)
		var kinds []string
		for _, n := range page.Items {
			kinds = append(kinds, n.DedupeKey)
		}
		same(t, "inbox", kinds, []string{"promo-2", "login:1"})

		// Without a gate wired, no marketing at all.
		bare := notify.NewDispatcher(e.inbox, nil, notify.DispatcherConfig{}, nil)
		if r, err := bare.Dispatch(ctx, promo("promo-4")); err != nil || r.Skipped != notify.SkippedConsent {
			t.Errorf("marketing without a gate: %+v, %v", r, err)
		}
	})
}

// abroadPusher is a push service outside China (as APNs, FCM and the
// browsers' Web Push services are).
type abroadPusher struct{ *fakePusher }

func (abroadPusher) CrossBorder() bool { return true }

// P50: pushes through services abroad need the separate cross_border_push
// consent; without it the notification still reaches the inbox and the
// pushers at home.
func TestDispatchAbroadNeedsConsent(t *testing.T) {
	forEachTarget(t, func(t *testing.T, target storetest.Target) {
		e := newEnv(t, target, notify.DispatcherConfig{})
		e.familyDevices(t)
		ctx, u := context.Background(), notify.User("u-1")
		gate := func(ctx context.Context, s notify.Subject) (bool, error) {
			return e.consent.Granted(ctx, consent.Subject{Kind: consent.SubjectKind(s.Kind), ID: s.ID}, consent.PurposeCrossBorderPush)
		}
		pushers := map[notify.Channel]notify.Pusher{
			notify.ChannelAPNs: abroadPusher{e.apns}, notify.ChannelFCM: e.fcm, notify.ChannelWebPush: abroadPusher{e.web}}
		disp := notify.NewDispatcher(e.inbox, pushers, notify.DispatcherConfig{CrossBorderAllowed: gate}, nil)

		r, err := disp.Dispatch(ctx, alert(u, "case-1", 3))
		if err != nil || !r.Created {
			t.Fatalf("alert without the consent: %+v, %v", r, err)
		}
		same(t, "pushed without the consent", [][]string{e.apns.devices(), e.fcm.devices(), e.web.devices()}, [][]string{nil, {"d-and"}, nil})

		if err := e.consent.Grant(ctx, consent.User("u-1"), consent.PurposeCrossBorderPush, consent.ChannelApp); err != nil {
			t.Fatal(err)
		}
		if _, err := disp.Dispatch(ctx, alert(u, "case-2", 3)); err != nil {
			t.Fatal(err)
		}
		same(t, "pushed with the consent", [][]string{e.apns.devices(), e.fcm.devices(), e.web.devices()},
			[][]string{{"d-ios"}, {"d-and", "d-and"}, {"d-web"}})

		for _, p := range []notify.CrossBorder{&notify.APNs{}, &notify.FCM{}, &notify.WebPush{}} {
			if !p.CrossBorder() {
				t.Errorf("%T says it is not abroad", p)
			}
		}
		// Without a gate wired, nothing goes abroad.
		bare := notify.NewDispatcher(e.inbox, pushers, notify.DispatcherConfig{}, nil)
		if _, err := bare.Dispatch(ctx, alert(u, "case-3", 3)); err != nil {
			t.Fatal(err)
		}
		same(t, "pushed abroad without a gate", [][]string{e.apns.devices(), e.web.devices()}, [][]string{{"d-ios"}, {"d-web"}})
	})
}

// P56: the "X" with a reason shields similar pushes, and undoing the
// shield lets them through again.
func TestDispatchHonoursShields(t *testing.T) {
	forEachTarget(t, func(t *testing.T, target storetest.Target) {
		e := newEnv(t, target, notify.DispatcherConfig{})
		e.user(t, "u-1")
		ctx, u := context.Background(), notify.User("u-1")
		dismiss := func(n notify.Notification, rs ...notify.Reason) []notify.Shield {
			t.Helper()
			sh, err := e.inbox.Dismiss(ctx, u, n.ID, rs)
			if err != nil {
				t.Fatalf("Dismiss %v: %v", rs, err)
			}
			return sh
		}
		delivered := func(n notify.Notification) bool {
			t.Helper()
			return dispatch(t, e, n).Skipped == ""
		}
		again := func(caseID string, km int, key string) notify.Notification {
			n := alert(u, caseID, km)
			n.DedupeKey = key
			return n
		}

		first := dispatch(t, e, alert(u, "case-1", 37)).Notification
		if got := first.Reasons(); len(got) != 5 {
			t.Errorf("an alert with case and distance offers %v", got)
		}
		dismiss(first, notify.ReasonNotInterested, notify.ReasonNotNearby)
		if delivered(again("case-1", 5, "clue:case-1:2:u-1")) {
			t.Error("not_interested: the same case came again")
		}
		if delivered(again("case-2", 50, "alert:case-2:u-1")) {
			t.Error("not_nearby at 37 km: a case 50 km away came")
		}
		near := again("case-3", 10, "alert:case-3:u-1")
		if !delivered(near) {
			t.Error("a nearer case was shielded")
		}
		if ok, _ := e.inbox.Shielded(ctx, u, notify.KindSeekingAlert, notify.Data{CaseID: "case-1"}); !ok {
			t.Error("Shielded does not report the shielded case")
		}
		// The resolution of a case reaches everyone who was alerted.
		res := notify.Notification{Recipient: u, Kind: notify.KindSeekingResolution, DedupeKey: "found:case-1:u-1", Title: "已找到",
			Data: notify.Data{CaseID: "case-1"}}
		if !delivered(res) {
			t.Error("the resolution of a shielded case was shielded")
		}

		page, _ := e.inbox.List(ctx, u, "", 0)
		nearN := page.Items[1]
		shields := dismiss(nearN, notify.ReasonKind)
		if delivered(again("case-4", 1, "alert:case-4:u-1")) {
			t.Error("kind shield: an alert came")
		}
		if err := e.inbox.DeleteShield(ctx, u, shields[0].ID); err != nil {
			t.Fatal(err)
		}
		if !delivered(again("case-5", 1, "alert:case-5:u-1")) {
			t.Error("after undoing the kind shield, an alert was shielded")
		}
		list, _ := e.inbox.Shields(ctx, u)
		if len(list) != 2 {
			t.Errorf("shields = %+v, want not_interested and not_nearby", list)
		}

		// too_frequent: one per window.
		freq := dispatch(t, e, notify.Notification{Recipient: u, Kind: notify.KindPolicyUpdated, DedupeKey: "policy:2", Title: "政策更新"}).Notification
		_, err := e.inbox.Dismiss(ctx, u, freq.ID, []notify.Reason{notify.ReasonTooFrequent})
		if yuncan.ErrorReason(err) != "reason_not_applicable" {
			t.Errorf("too_frequent on a policy notice: %v", err)
		}
		r := dispatch(t, e, again("case-6", 1, "alert:case-6:u-1")).Notification
		dismiss(r, notify.ReasonTooFrequent)
		if delivered(again("case-7", 1, "alert:case-7:u-1")) {
			t.Error("too_frequent: a second alert came within the window")
		}
		e.clock.Add(25 * time.Hour)
		if !delivered(again("case-8", 1, "alert:case-8:u-1")) {
			t.Error("too_frequent: an alert after the window was shielded")
		}

		// Reasons are checked; a refused dismissal changes nothing.
		sec := dispatch(t, e, notify.Notification{Recipient: u, Kind: notify.KindSecurity, DedupeKey: "login:1", Title: "新设备登录"}).Notification
		for _, rs := range [][]notify.Reason{{notify.ReasonKind}, {"bogus"}} {
			if _, err := e.inbox.Dismiss(ctx, u, sec.ID, rs); yuncan.ErrorCode(err) != yuncan.Invalid {
				t.Errorf("Dismiss security with %v: %v, want invalid", rs, err)
			}
		}
		if _, err := e.inbox.Dismiss(ctx, notify.User("u-2"), sec.ID, nil); yuncan.ErrorCode(err) != yuncan.NotFound {
			t.Errorf("Dismiss of another's notification: %v", err)
		}
		if _, err := e.inbox.Dismiss(ctx, u, sec.ID, nil); err != nil {
			t.Errorf("a plain dismissal of a security notice: %v", err)
		}
	})
}

// A process that died while pushing leaves its deliveries "sending";
// Resume pushes them once the lease has passed.
func TestDispatchResumesStaleDeliveries(t *testing.T) {
	forEachTarget(t, func(t *testing.T, target storetest.Target) {
		e := newEnv(t, target, notify.DispatcherConfig{Lease: time.Minute})
		e.familyDevices(t)
		ctx := context.Background()
		n, _, err := e.inbox.Deliver(ctx, alert(notify.User("u-1"), "case-1", 3))
		if err != nil {
			t.Fatal(err)
		}
		// The dead process had claimed the Android phone and the phone
		// without a token (whose token was cleared since).
		for _, dev := range []string{"d-and", "d-none"} {
			ok, err := e.db.Notify().ClaimDelivery(ctx, notify.Delivery{NotificationID: n.ID, DeviceID: dev, Channel: notify.ChannelFCM,
				Status: notify.StatusSending, CreatedAt: e.clock.Now(), UpdatedAt: e.clock.Now()}, e.clock.Now().Add(-time.Minute))
			if err != nil || !ok {
				t.Fatal(ok, err)
			}
		}
		if err := e.disp.Resume(ctx); err != nil {
			t.Fatal(err)
		}
		if len(e.fcm.devices()) != 0 {
			t.Error("Resume took over deliveries inside their lease")
		}
		e.clock.Add(2 * time.Minute)
		if err := e.disp.Resume(ctx); err != nil {
			t.Fatal(err)
		}
		same(t, "deliveries", deliveries(t, e, n.ID), map[string]string{"d-and": "fcm sent 1 ", "d-none": "fcm failed 0 no_target"})
		same(t, "pushes", e.fcm.devices(), []string{"d-and"})
		// Dispatching it again now does the devices never claimed.
		r := dispatch(t, e, alert(notify.User("u-1"), "case-1", 3))
		if r.Created || len(r.Deliveries) != 2 {
			t.Errorf("re-dispatch after the crash: %+v", r)
		}
		if err := e.disp.Resume(ctx); err != nil || len(e.fcm.devices()) != 1 {
			t.Errorf("a second Resume: %v, pushes %v", err, e.fcm.devices())
		}
	})
}

func TestInboxList(t *testing.T) {
	forEachTarget(t, func(t *testing.T, target storetest.Target) {
		e := newEnv(t, target, notify.DispatcherConfig{})
		ctx, u := context.Background(), notify.Device("d-1")
		var ids []string
		for i := range 5 {
			n, created, err := e.inbox.Deliver(ctx, alert(u, fmt.Sprint("case-", i), i+1))
			if err != nil || !created {
				t.Fatal(created, err)
			}
			ids = append(ids, n.ID)
			e.clock.Add(time.Second)
		}
		// Idempotent by dedupe key.
		if n, created, err := e.inbox.Deliver(ctx, alert(u, "case-0", 1)); err != nil || created || n.ID != ids[0] {
			t.Errorf("Deliver again = %s, %v, %v; want the first, false", n.ID, created, err)
		}
		var got []string
		cursor := ""
		for range 3 {
			p, err := e.inbox.List(ctx, u, cursor, 2)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range p.Items {
				got = append(got, n.ID)
			}
			if p.Unread != 5 {
				t.Errorf("Unread = %d", p.Unread)
			}
			cursor = p.Next
		}
		slices.Reverse(ids)
		same(t, "pages", got, ids)
		if cursor != "" {
			t.Errorf("the last page has a next cursor %q", cursor)
		}
		if err := e.inbox.Open(ctx, u, ids[0]); err != nil {
			t.Fatal(err)
		}
		if err := e.inbox.MarkRead(ctx, u, ids[1]); err != nil {
			t.Fatal(err)
		}
		if err := e.inbox.MarkRead(ctx, notify.Device("d-2"), ids[1]); yuncan.ErrorCode(err) != yuncan.NotFound {
			t.Errorf("MarkRead by another subject: %v", err)
		}
		p, _ := e.inbox.List(ctx, u, "", 0)
		if p.Unread != 3 || p.Items[0].OpenedAt.IsZero() || p.Items[0].ReadAt.IsZero() || !p.Items[1].OpenedAt.IsZero() {
			t.Errorf("after open and read: unread %d, first %+v", p.Unread, p.Items[0])
		}
		alerted, opened, err := e.inbox.Counts(ctx, notify.KindSeekingAlert, "case-4")
		if err != nil || alerted != 1 || opened != 1 {
			t.Errorf("Counts = %d, %d, %v", alerted, opened, err)
		}

		newest, _ := e.inbox.Newest(ctx, u)
		if newest.ID != ids[0] {
			t.Errorf("Newest = %v", newest)
		}
		since, _ := e.inbox.Since(ctx, u, notify.PositionOf(p.Items[2]), 10)
		if len(since) != 2 || since[0].ID != ids[1] || since[1].ID != ids[0] {
			t.Errorf("Since = %v", since)
		}
		for _, c := range []struct {
			cursor string
			limit  int
		}{{"!!", 10}, {"", 101}, {"", -1}} {
			if _, err := e.inbox.List(ctx, u, c.cursor, c.limit); yuncan.ErrorCode(err) != yuncan.Invalid {
				t.Errorf("List(%q, %d): %v, want invalid", c.cursor, c.limit, err)
			}
		}
		for name, n := range map[string]notify.Notification{
			"no recipient": {Kind: notify.KindSecurity, DedupeKey: "k", Title: "t"},
			"bad kind":     {Recipient: u, Kind: "spam", DedupeKey: "k", Title: "t"},
			"no key":       {Recipient: u, Kind: notify.KindSecurity, Title: "t"},
			"no title":     {Recipient: u, Kind: notify.KindSecurity, DedupeKey: "k", Title: " "},
			"long body":    {Recipient: u, Kind: notify.KindSecurity, DedupeKey: "k", Title: "t", Body: strings.Repeat("长", 501)},
			"outside link": {Recipient: u, Kind: notify.KindSecurity, DedupeKey: "k", Title: "t", Data: notify.Data{Link: "//evil.example"}},
			"script link":  {Recipient: u, Kind: notify.KindSecurity, DedupeKey: "k", Title: "t", Data: notify.Data{Link: "javascript:alert(1)"}},
		} {
			if _, _, err := e.inbox.Deliver(ctx, n); yuncan.ErrorCode(err) != yuncan.Invalid {
				t.Errorf("%s: %v, want invalid", name, err)
			}
		}

		// Erasure and retention.
		if err := e.inbox.DeleteSubject(ctx, u); err != nil {
			t.Fatal(err)
		}
		if p, _ := e.inbox.List(ctx, u, "", 0); len(p.Items) != 0 {
			t.Errorf("an erased inbox holds %d items", len(p.Items))
		}
		e.user(t, "u-9")
		e.inbox.Deliver(ctx, alert(notify.User("u-9"), "case-9", 1))
		e.clock.Add(181 * 24 * time.Hour)
		if err := e.inbox.Expire(ctx); err != nil {
			t.Fatal(err)
		}
		if p, _ := e.inbox.List(ctx, notify.User("u-9"), "", 0); len(p.Items) != 0 {
			t.Errorf("an expired notification remains")
		}
	})
}

func TestSaveWebPush(t *testing.T) {
	forEachTarget(t, func(t *testing.T, target storetest.Target) {
		e := newEnv(t, target, notify.DispatcherConfig{})
		ctx := context.Background()
		e.device(t, "d-1", "", "web", "")
		s := e.webPush(t, "d-1")
		bad := s
		bad.Endpoint = "http://10.0.0.1/x"
		if err := e.disp.SaveWebPush(ctx, "d-1", bad); yuncan.ErrorCode(err) != yuncan.Invalid {
			t.Errorf("an http endpoint: %v", err)
		}
		if err := e.disp.SaveWebPush(ctx, "d-9", s); yuncan.ErrorCode(err) != yuncan.NotFound {
			t.Errorf("no device: %v", err)
		}
		if err := e.disp.DeleteWebPush(ctx, "d-1"); err != nil {
			t.Fatal(err)
		}
		if ts, _ := e.db.Notify().PushTargets(ctx, notify.Device("d-1")); len(ts) != 1 || ts[0].WebPush != nil {
			t.Errorf("after DeleteWebPush: %+v", ts)
		}
		if e.disp.VAPIDPublicKey() != "" {
			t.Error("a fake Web Push pusher has a public key")
		}
	})
}
