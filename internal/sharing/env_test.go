package sharing_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/identity"
	"github.com/yuncan/yuncan/internal/keyring"
	"github.com/yuncan/yuncan/internal/notify"
	"github.com/yuncan/yuncan/internal/sharing"
	"github.com/yuncan/yuncan/internal/sqlstore"
	"github.com/yuncan/yuncan/internal/storetest"
)

// env is the ledger wired as cmd/yuncan wires it, on a real SQLite
// database, with identity sending its codes through the real Aliyun
// adapter to a fake Dysmsapi on a local port. Only the outside world is
// fake.
type env struct {
	db     *sqlstore.DB
	keys   *keyring.Keyring
	cs     *consent.Service
	ledger *sharing.Ledger
	ids    *identity.Service
	sms    *fakeAliyun
	log    *syncBuffer
}

func newEnv(t testing.TB) *env {
	t.Helper()
	db := storetest.Open(t, storetest.Targets(t)[0])
	keys, err := keyring.New()
	if err != nil {
		t.Fatal(err)
	}
	dm, err := consent.LoadDataMap()
	if err != nil {
		t.Fatal(err)
	}
	log := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(log, nil))
	version := func() string { return "test-version" }
	cs := consent.NewService(db.Consent(), dm, version, nil, logger)
	ledger := sharing.NewLedger(sharing.Deps{Store: db.Sharing(), Consent: cs, Keys: keys, Logger: logger}, sharing.Config{})
	sms := newFakeAliyun(t)
	ids := identity.NewService(db.Identity(), keys, sharing.Sender(sms.adapter(t), ledger), version, nil,
		identity.Config{CodeResendInterval: time.Millisecond})
	return &env{db: db, keys: keys, cs: cs, ledger: ledger, ids: ids, sms: sms, log: log}
}

var phoneSeq atomic.Int64

// signUp creates an account the way the app does (a code by SMS, then
// the login) and returns its id and its number in E.164.
func (e *env) signUp(t *testing.T) (string, string) {
	t.Helper()
	ctx := context.Background()
	phone := fmt.Sprintf("139%08d", phoneSeq.Add(1))
	if err := e.ids.SendCode(ctx, phone, "127.0.0.1"); err != nil {
		t.Fatalf("SendCode: %v", err)
	}
	res, err := e.ids.Login(ctx, identity.LoginRequest{Phone: phone, Code: e.sms.lastCode(t), AcceptPolicyVersion: "test-version",
		Channel: "api", Kind: identity.SessionApp, AgeBand: "adult"})
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	return res.User.ID, "+86" + phone
}

// mine is the account's whole ledger.
func (e *env) mine(t *testing.T, userID string) []sharing.Entry {
	t.Helper()
	es, _, err := e.ledger.Mine(context.Background(), userID, "", yuncan.MaxPageLimit)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// rows counts the ledger's rows.
func (e *env) rows(t *testing.T) int {
	t.Helper()
	var n int
	if err := e.db.SQL().QueryRow(`SELECT COUNT(*) FROM sharing_ledger`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// fakeAliyun is Alibaba Cloud's Dysmsapi: it keeps the query of each
// SendSms and answers OK.
type fakeAliyun struct {
	srv     *httptest.Server
	mu      sync.Mutex
	queries []map[string][]string
}

func newFakeAliyun(t testing.TB) *fakeAliyun {
	f := &fakeAliyun{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.queries = append(f.queries, r.URL.Query())
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"Code":"OK","Message":"OK","RequestId":"req-1"}`))
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAliyun) adapter(t testing.TB) *notify.Aliyun {
	a, err := notify.NewAliyun(notify.AliyunConfig{Endpoint: f.srv.URL + "/", AccessKeyID: "id", AccessKeySecret: "secret",
		SignName: "云寻", TemplateCode: "SMS_1"}, f.srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func (f *fakeAliyun) sent() []map[string][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string][]string(nil), f.queries...)
}

func (f *fakeAliyun) lastCode(t *testing.T) string {
	t.Helper()
	qs := f.sent()
	if len(qs) == 0 {
		t.Fatal("no SMS reached the provider")
	}
	var p struct{ Code string }
	if err := json.Unmarshal([]byte(qs[len(qs)-1]["TemplateParam"][0]), &p); err != nil || p.Code == "" {
		t.Fatalf("TemplateParam %q: %v", qs[len(qs)-1]["TemplateParam"], err)
	}
	return p.Code
}

// syncBuffer is a log a logger and a test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
