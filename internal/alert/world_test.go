package alert_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/yuncan/yuncan/internal/alert"
	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/geo"
	"github.com/yuncan/yuncan/internal/identity"
	"github.com/yuncan/yuncan/internal/keyring"
	"github.com/yuncan/yuncan/internal/location"
	"github.com/yuncan/yuncan/internal/notify"
	"github.com/yuncan/yuncan/internal/queue"
	"github.com/yuncan/yuncan/internal/seeking"
	"github.com/yuncan/yuncan/internal/sqlstore"
	"github.com/yuncan/yuncan/internal/storetest"
)

// NATSEnv names the variable holding a NATS server to test against as
// well as the embedded one.
const NATSEnv = "YUNCAN_TEST_NATS_URL"

// clock is the settable clock every service of a world reads.
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
func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

// pusher stands for a push service (the outside world): it counts the
// pushes per device.
type pusher struct {
	mu sync.Mutex
	n  map[string]int
}

func (p *pusher) Push(_ context.Context, t notify.Target, _ notify.Payload) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n[t.DeviceID]++
	return nil
}

func (p *pusher) count(device string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n[device]
}

// lateCases lets the alert service read cases from a seeking service
// built after it (the seeking service needs the alerts as its publisher).
type lateCases struct{ s *seeking.Service }

func (l *lateCases) CaseForAlerts(ctx context.Context, id string) (seeking.Case, error) {
	return l.s.CaseForAlerts(ctx, id)
}

func (l *lateCases) ClueForAlerts(ctx context.Context, caseID, clueID string) (seeking.Clue, error) {
	return l.s.ClueForAlerts(ctx, caseID, clueID)
}

// failingQueue stores what it is given and then fails, as a process
// dying before it records that the batches are stored.
type failingQueue struct {
	*queue.Queue
	fail atomic.Bool
}

func (f *failingQueue) Publish(ctx context.Context, name string, msgs ...queue.Message) error {
	if err := f.Queue.Publish(ctx, name, msgs...); err != nil {
		return err
	}
	if f.fail.Load() {
		return fmt.Errorf("test: the process died after publishing")
	}
	return nil
}

// variant is a database and a NATS: the embedded server, or the one
// YUNCAN_TEST_NATS_URL names.
type variant struct {
	name   string
	target storetest.Target
	nats   string
}

// forEach runs fn on SQLite and PostgreSQL (when its DSN is set) with the
// embedded queue, and on SQLite with the external NATS when it is set.
func forEach(t *testing.T, fn func(t *testing.T, v variant)) {
	t.Parallel()
	var vs []variant
	for _, tg := range storetest.Targets(t) {
		vs = append(vs, variant{name: tg.Name + "-embedded", target: tg})
	}
	if url := os.Getenv(NATSEnv); url != "" {
		vs = append(vs, variant{name: "sqlite-nats", target: storetest.Target{Name: "sqlite", DataDir: t.TempDir()}, nats: url})
	}
	for _, v := range vs {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			fn(t, v)
		})
	}
}

// world is the seeking, location, consent, notify and alert areas on one
// database and one queue, as cmd/yuncan wires them, with a fake clock and
// a fake push service.
type world struct {
	t      *testing.T
	db     *sqlstore.DB
	keys   *keyring.Keyring
	clock  *clock
	cfg    alert.Config
	qcfg   queue.Config
	cs     *consent.Service
	ids    *identity.Service
	loc    *location.Service
	inbox  *notify.Inbox
	disp   *notify.Dispatcher
	push   *pusher
	seek   *seeking.Service
	alerts *alert.Service
	q      *failingQueue
	logs   *syncBuffer

	worker     context.CancelFunc
	workerDone chan struct{}
	rep, mod   seeking.Viewer
}

type syncBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b = append(s.b, p...)
	return len(p), nil
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.b)
}

// noon is 12:00 in Beijing: outside the quiet hours.
var noon = time.Date(2026, 5, 1, 4, 0, 0, 0, time.UTC)

func newWorld(t *testing.T, v variant, cfg alert.Config) *world {
	t.Helper()
	keys, err := keyring.New()
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	w := &world{t: t, db: storetest.Open(t, v.target), keys: keys, clock: &clock{t: noon}, cfg: cfg, logs: &syncBuffer{},
		qcfg: queue.Config{URL: v.nats, Dir: filepath.Join(t.TempDir(), "nats"), Prefix: "T" + hex.EncodeToString(b)}}
	w.build()
	ctx := context.Background()
	rep, err := w.ids.CreateUser(ctx, "13900000001", identity.RoleUser)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.db.Identity().CreateRealName(ctx, identity.RealNameRecord{UserID: rep.ID, NameSealed: "k:x", IDNumberSealed: "k:y",
		IDNumberIndex: "idx-" + rep.ID, CertifierReference: "test", VerifiedAt: w.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	mod, err := w.ids.CreateUser(ctx, "13900000002", identity.RoleModerator)
	if err != nil {
		t.Fatal(err)
	}
	w.rep, w.mod = seeking.Viewer{UserID: rep.ID, Role: identity.RoleUser}, seeking.Viewer{UserID: mod.ID, Role: identity.RoleModerator}
	return w
}

// build wires the services, as a process starting on the world's
// database and queue would.
func (w *world) build() {
	t := w.t
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	dm, err := consent.LoadDataMap()
	if err != nil {
		t.Fatal(err)
	}
	version := func() string { return "2021-05-01" }
	w.cs = consent.NewService(w.db.Consent(), dm, version, w.clock.Now, logger)
	w.ids = identity.NewService(w.db.Identity(), w.keys, notify.NewOutbox(filepath.Join(t.TempDir(), "sms.jsonl"), nil), version, w.clock.Now, identity.Config{})
	w.loc = location.NewService(w.db.Location(), &geo.Index{}, w.cs, w.keys, w.clock.Now, location.Config{}, logger)
	if _, err := w.loc.Load(ctx); err != nil {
		t.Fatal(err)
	}
	w.push = &pusher{n: map[string]int{}}
	w.inbox = notify.NewInbox(w.db.Notify(), notify.InboxConfig{}, w.clock.Now)
	w.disp = notify.NewDispatcher(w.inbox, map[notify.Channel]notify.Pusher{notify.ChannelFCM: w.push}, notify.DispatcherConfig{}, logger)
	qctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	q, err := queue.Open(qctx, w.qcfg)
	if err != nil {
		t.Fatal(err)
	}
	w.q = &failingQueue{Queue: q}
	t.Cleanup(func() { w.stopWorker(); q.Close() })
	cases := &lateCases{}
	w.alerts = alert.NewService(alert.Deps{Store: w.db.Alert(), Cases: cases, Locator: w.loc, Gate: w.cs, Notifier: w.disp,
		Queue: w.q, Keys: w.keys, Now: w.clock.Now, Logger: logger}, w.cfg)
	w.cs.OnWithdraw(consent.PurposeAlertLocation, "alert.recipients", w.alerts.DeleteSubject)
	w.seek = seeking.NewService(seeking.Deps{Store: w.db.Seeking(), RealNames: w.ids, Gate: w.cs, Keys: w.keys,
		Publisher: w.alerts, Now: w.clock.Now, Logger: logger}, seeking.Config{})
	cases.s = w.seek
}

// restart stops the worker and the queue, as a crash would, and builds
// every service again on the same database and queue.
func (w *world) restart() {
	w.stopWorker()
	w.q.Close()
	w.build()
}

// run starts delivering batches.
func (w *world) run() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	w.worker, w.workerDone = cancel, done
	go func() {
		defer close(done)
		if err := w.alerts.Run(ctx); err != nil {
			w.t.Errorf("alerts.Run: %v", err)
		}
	}()
}

func (w *world) stopWorker() {
	if w.worker == nil {
		return
	}
	w.worker()
	<-w.workerDone
	w.worker = nil
}

// settle waits until every batch is delivered.
func (w *world) settle() {
	w.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		n, err := w.q.Pending(context.Background(), alert.QueueName)
		if err != nil {
			w.t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("%d batches still pending after 60 s; logs:\n%s", n, w.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (w *world) tick() {
	w.t.Helper()
	if err := w.alerts.Tick(context.Background()); err != nil {
		w.t.Fatalf("Tick: %v", err)
	}
}

const zzLat, zzLng = 34.7466, 113.6254 // Zhengzhou

// point is a position.
type point struct{ lat, lng float64 }

// kmPerDegree is a degree of latitude on the sphere the index measures on.
const kmPerDegree = 111.19492664455873

// north is the point km north of Zhengzhou.
func north(km float64) point { return point{zzLat + km/kmPerDegree, zzLng} }

// person is someone who consented and sent a position.
func (w *world) person(sub consent.Subject, p point) consent.Subject {
	w.t.Helper()
	ctx := context.Background()
	if ok, _ := w.cs.Granted(ctx, sub, consent.PurposeAlertLocation); !ok {
		if err := w.cs.Grant(ctx, sub, consent.PurposeAlertLocation, consent.ChannelApp); err != nil {
			w.t.Fatal(err)
		}
	}
	if _, err := w.loc.Update(ctx, sub, p.lat, p.lng, false); err != nil {
		w.t.Fatal(err)
	}
	return sub
}

// phone is a logged-out device with a push token that consented and sent
// a position: its pushes are counted.
func (w *world) phone(id string, p point) consent.Subject {
	w.t.Helper()
	now := w.clock.Now()
	err := w.db.Identity().CreateDevice(context.Background(), identity.DeviceRecord{Device: identity.Device{ID: id,
		Platform: "android", Model: "m", OSVersion: "1", AppVersion: "1", PushToken: "fcm-" + id, CreatedAt: now, LastSeenAt: now},
		TokenHash: []byte("hash-" + id)})
	if err != nil {
		w.t.Fatal(err)
	}
	return w.person(consent.Device(id), p)
}

func (w *world) withdraw(sub consent.Subject) {
	w.t.Helper()
	if err := w.cs.Withdraw(context.Background(), sub, consent.PurposeAlertLocation, consent.ChannelApp); err != nil {
		w.t.Fatal(err)
	}
}

// publish creates, submits and approves a case last seen ago before now
// at the point; approving it starts the alert.
func (w *world) publish(cat seeking.Category, lat, lng float64, ago time.Duration) seeking.CaseView {
	w.t.Helper()
	return w.publishWith(w.seek, cat, lat, lng, ago)
}

func (w *world) publishWith(svc *seeking.Service, cat seeking.Category, lat, lng float64, ago time.Duration) seeking.CaseView {
	w.t.Helper()
	ctx := context.Background()
	in := seeking.CaseInput{Category: cat,
		Person:   seeking.Person{FullName: "王小明", Sex: "male", Description: "戴眼镜"},
		LastSeen: seeking.LastSeen{At: w.clock.Now().Add(-ago), Lat: lat, Lng: lng, PlaceName: "人民公园"},
		Private:  seeking.Private{Relationship: "father", ContactPhone: "13700137000", PoliceReceipt: "JJ-2026-0001"}}
	c, err := svc.CreateCase(ctx, w.rep, in)
	if err != nil {
		w.t.Fatal(err)
	}
	if _, err := svc.Submit(ctx, w.rep, c.ID); err != nil {
		w.t.Fatal(err)
	}
	c, err = svc.Approve(ctx, w.mod, c.ID)
	if err != nil {
		w.t.Fatal(err)
	}
	return c
}

// inbox lists a person's notifications of kind about a case.
func (w *world) inboxOf(sub consent.Subject, kind notify.Kind, caseID string) []notify.Notification {
	w.t.Helper()
	page, err := w.inbox.List(context.Background(), notify.Subject{Kind: string(sub.Kind), ID: sub.ID}, "", 100)
	if err != nil {
		w.t.Fatal(err)
	}
	var out []notify.Notification
	for _, n := range page.Items {
		if n.Kind == kind && (caseID == "" || n.Data.CaseID == caseID) {
			out = append(out, n)
		}
	}
	return out
}

// wantAlert checks that sub got exactly one alert about the case, from
// ring ring about km away, and returns it; ring 0 means none at all.
func (w *world) wantAlert(sub consent.Subject, caseID string, ring, km int) notify.Notification {
	w.t.Helper()
	got := w.inboxOf(sub, notify.KindSeekingAlert, caseID)
	switch {
	case ring == 0 && len(got) == 0:
		return notify.Notification{}
	case ring == 0:
		w.t.Errorf("%s got %d alerts about the case, want none", sub.ID, len(got))
		return got[0]
	case len(got) != 1:
		w.t.Errorf("%s got %d alerts about the case, want exactly one", sub.ID, len(got))
		if len(got) == 0 {
			return notify.Notification{}
		}
	}
	if d := got[0].Data; d.Ring != ring || d.DistanceKM != km {
		w.t.Errorf("%s got ring %d at %d km, want ring %d at %d km", sub.ID, d.Ring, d.DistanceKM, ring, km)
	}
	return got[0]
}
