package identity_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/identity"
	"github.com/yuncan/yuncan/internal/keyring"
	"github.com/yuncan/yuncan/internal/notify"
	"github.com/yuncan/yuncan/internal/sqlstore"
	"github.com/yuncan/yuncan/internal/storetest"
)

// policy is the current privacy policy version in these tests.
const policy = "2025-01"

// clientIP is where the test's code requests come from.
const clientIP = "203.0.113.7"

// clock is the fake clock the service and the outbox read.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// fixture is an identity service on a real database, sending its codes to
// an outbox file the test reads.
type fixture struct {
	db     *sqlstore.DB
	store  *sqlstore.IdentityStore
	keys   *keyring.Keyring
	clock  *clock
	outbox string
	svc    *identity.Service
}

// eachDB runs fn on every database the suite covers, in parallel
// subtests, each with a fresh database and service.
func eachDB(t *testing.T, cfg identity.Config, fn func(t *testing.T, f *fixture)) {
	t.Parallel()
	for _, target := range storetest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			t.Parallel()
			db := storetest.Open(t, target)
			keys, err := keyring.New()
			if err != nil {
				t.Fatal(err)
			}
			c := &clock{now: time.Date(2025, 3, 1, 8, 0, 0, 123456789, time.UTC)}
			outbox := filepath.Join(t.TempDir(), "outbox", "sms.jsonl")
			svc := identity.NewService(db.Identity(), keys, notify.NewOutbox(outbox, c.Now), func() string { return policy }, c.Now, cfg)
			fn(t, &fixture{db: db, store: db.Identity(), keys: keys, clock: c, outbox: outbox, svc: svc})
		})
	}
}

func e164(t *testing.T, phone string) string {
	t.Helper()
	p, err := identity.ParsePhone(phone)
	if err != nil {
		t.Fatalf("ParsePhone(%q): %v", phone, err)
	}
	return string(p)
}

type outboxLine struct {
	At   string `json:"at"`
	To   string `json:"to"`
	Body string `json:"body"`
	Code string `json:"code"`
}

// messages reads the outbox.
func (f *fixture) messages(t *testing.T) []outboxLine {
	t.Helper()
	file, err := os.Open(f.outbox)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	var ms []outboxLine
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		var m outboxLine
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("outbox line %q: %v", sc.Text(), err)
		}
		ms = append(ms, m)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return ms
}

// lastCode is the code most recently sent to phone.
func (f *fixture) lastCode(t *testing.T, phone string) string {
	t.Helper()
	to := e164(t, phone)
	ms := f.messages(t)
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].To == to {
			return ms[i].Code
		}
	}
	t.Fatalf("no code in the outbox for %s", to)
	return ""
}

// sendCode asks for a code for phone and returns it from the outbox.
func (f *fixture) sendCode(t *testing.T, phone string) string {
	t.Helper()
	if err := f.svc.SendCode(context.Background(), phone, clientIP); err != nil {
		t.Fatalf("SendCode(%q): %v", phone, err)
	}
	return f.lastCode(t, phone)
}

// login logs in by code (signing up with the current policy when the
// number has no account), first waiting out the resend interval.
func (f *fixture) login(t *testing.T, phone string) identity.LoginResult {
	t.Helper()
	return f.loginWith(t, identity.LoginRequest{Phone: phone, AcceptPolicyVersion: policy, AgeBand: "adult", Channel: "app"})
}

func (f *fixture) loginWith(t *testing.T, req identity.LoginRequest) identity.LoginResult {
	t.Helper()
	f.clock.Advance(f.svc.Config().CodeResendInterval)
	req.Code = f.sendCode(t, req.Phone)
	res, err := f.svc.Login(context.Background(), req)
	if err != nil {
		t.Fatalf("Login(%q) by code: %v", req.Phone, err)
	}
	return res
}

// count runs a COUNT(*) query (without parameters) on the raw handle.
func (f *fixture) count(t *testing.T, query string) int {
	t.Helper()
	var n int
	if err := f.db.SQL().QueryRowContext(context.Background(), query).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// wantErr fails the test unless err has code and reason.
func wantErr(t *testing.T, what string, err error, code yuncan.Code, reason string) {
	t.Helper()
	if yuncan.ErrorCode(err) != code || yuncan.ErrorReason(err) != reason {
		t.Errorf("%s: error %v; want %s/%s", what, err, code, reason)
	}
}

// wantRateLimited fails the test unless err is RateLimited with a
// RetryAfter in (0, most].
func wantRateLimited(t *testing.T, what string, err error, reason string, most time.Duration) time.Duration {
	t.Helper()
	if reason == "" {
		reason = string(yuncan.RateLimited)
	}
	wantErr(t, what, err, yuncan.RateLimited, reason)
	e := yuncan.AsError(err)
	if e.RetryAfter <= 0 || e.RetryAfter > most {
		t.Errorf("%s: RetryAfter %v; want in (0, %v]", what, e.RetryAfter, most)
	}
	return e.RetryAfter
}

// otherCode is a well-formed code that is not code.
func otherCode(code string) string {
	b := []byte(code)
	b[5] = '0' + (b[5]-'0'+1)%10
	return string(b)
}

func TestSignUpByCode(t *testing.T) {
	eachDB(t, identity.Config{}, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		signedUpAt := f.clock.Now().Add(f.svc.Config().CodeResendInterval) // login waits that long first
		res := f.login(t, "13800138000")
		if !res.Created || res.Token == "" {
			t.Fatalf("first login: created %v, token %q; want a new account and a token", res.Created, res.Token)
		}
		u := res.User
		// P08: a number and a code make an account; nothing optional is required.
		if u.Phone != "+8613800138000" || u.Role != identity.RoleUser || !strings.HasPrefix(u.Nickname, "云寻用户") || u.HasPassword {
			t.Errorf("new account: phone %q, role %q, nickname %q, has password %v", u.Phone, u.Role, u.Nickname, u.HasPassword)
		}
		if u.Gender != nil || u.Birthday != nil || u.Region != nil || u.Introduction != nil {
			t.Errorf("new account's optional fields = %v %v %v %v; want nil", u.Gender, u.Birthday, u.Region, u.Introduction)
		}
		if !u.CreatedAt.Equal(signedUpAt) {
			t.Errorf("created at %v, want %v", u.CreatedAt, signedUpAt)
		}
		stored, err := f.store.UserByID(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if stored.Gender != nil || stored.Birthday != nil || stored.Region != nil || stored.Introduction != nil {
			t.Errorf("stored optional fields = %v %v %v %v; want NULL", stored.Gender, stored.Birthday, stored.Region, stored.Introduction)
		}
		// P52: the number is sealed and indexed, never stored in clear.
		for _, v := range []string{stored.PhoneSealed, stored.PhoneIndex} {
			if strings.Contains(v, "13800138000") {
				t.Errorf("stored phone value %q holds the number", v)
			}
		}
		if !strings.HasPrefix(stored.PhoneSealed, f.keys.ActiveKeyID()+":") {
			t.Errorf("sealed phone %q is not under the active key", stored.PhoneSealed)
		}
		// P68: the accepted version is recorded with the account.
		as, err := f.store.PolicyAcceptances(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(as) != 1 || as[0].Version != policy || as[0].Channel != "app" || !as[0].AcceptedAt.Equal(signedUpAt) {
			t.Errorf("policy acceptances = %+v; want one of %s by app at %v", as, policy, signedUpAt)
		}

		// The next code login finds the account; no acceptance needed.
		again := f.loginWith(t, identity.LoginRequest{Phone: "13800138000"})
		if again.Created || again.User.ID != u.ID || again.Token == res.Token {
			t.Errorf("second login: created %v, user %s, same token %v; want the same account, a new session", again.Created, again.User.ID, again.Token == res.Token)
		}
		// Accepting a version again on login records it again.
		f.loginWith(t, identity.LoginRequest{Phone: "13800138000", AcceptPolicyVersion: policy, AgeBand: "adult", Channel: "web"})
		if as, _ := f.store.PolicyAcceptances(ctx, u.ID); len(as) != 2 || as[1].Channel != "web" {
			t.Errorf("policy acceptances after a login that accepted = %+v; want a second, by web", as)
		}

		// Each SMS went to the E.164 number and carries its code.
		ms := f.messages(t)
		if len(ms) != 3 || ms[0].To != "+8613800138000" || !strings.Contains(ms[0].Body, ms[0].Code) {
			t.Errorf("outbox = %+v; want three messages to +8613800138000 with their codes", ms)
		}
	})
}

func TestSignUpNeedsPolicy(t *testing.T) {
	eachDB(t, identity.Config{}, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		const phone = "13800138001"
		code := f.sendCode(t, phone)

		_, err := f.svc.Login(ctx, identity.LoginRequest{Phone: phone, Code: code})
		wantErr(t, "sign-up without accepting the policy", err, yuncan.Invalid, "policy_acceptance_required")
		if e := yuncan.AsError(err); e.Fields["accept_policy_version"] == "" {
			t.Errorf("fields %v; want accept_policy_version named", e.Fields)
		}
		_, err = f.svc.Login(ctx, identity.LoginRequest{Phone: phone, Code: code, AcceptPolicyVersion: "2024-06"})
		wantErr(t, "sign-up accepting an old version", err, yuncan.Invalid, "policy_version_stale")
		if n := f.count(t, "SELECT COUNT(*) FROM users"); n != 0 {
			t.Fatalf("%d accounts after refused sign-ups, want 0", n)
		}
		if n := f.count(t, "SELECT COUNT(*) FROM policy_acceptances"); n != 0 {
			t.Fatalf("%d acceptances after refused sign-ups, want 0", n)
		}
		// A refusal changes nothing: the same code still signs up once
		// the policy is accepted.
		res, err := f.svc.Login(ctx, identity.LoginRequest{Phone: phone, Code: code, AcceptPolicyVersion: policy, AgeBand: "adult"})
		if err != nil || !res.Created {
			t.Fatalf("sign-up with the same code after accepting: %v", err)
		}
		// A stale version is refused for an existing account too.
		f.clock.Advance(time.Minute)
		code = f.sendCode(t, phone)
		_, err = f.svc.Login(ctx, identity.LoginRequest{Phone: phone, Code: code, AcceptPolicyVersion: "2024-06"})
		wantErr(t, "login accepting an old version", err, yuncan.Invalid, "policy_version_stale")
		if as, _ := f.store.PolicyAcceptances(ctx, res.User.ID); len(as) != 1 {
			t.Errorf("acceptances %+v; want only the sign-up's", as)
		}
	})
}

func TestCodeRules(t *testing.T) {
	eachDB(t, identity.Config{}, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		login := func(phone, code string) error {
			_, err := f.svc.Login(ctx, identity.LoginRequest{Phone: phone, Code: code, AcceptPolicyVersion: policy, AgeBand: "adult"})
			return err
		}
		const a, b, c = "13800138010", "13800138011", "13800138012"

		// Six digits, valid for five minutes.
		codeA, codeB := f.sendCode(t, a), f.sendCode(t, b)
		for _, code := range []string{codeA, codeB} {
			if len(code) != 6 || strings.Trim(code, "0123456789") != "" {
				t.Fatalf("code %q is not 6 digits", code)
			}
		}
		f.clock.Advance(5*time.Minute - time.Nanosecond)
		if err := login(a, codeA); err != nil {
			t.Fatalf("login just before the code expires: %v", err)
		}
		f.clock.Advance(time.Nanosecond)
		wantErr(t, "login with an expired code", login(b, codeB), yuncan.Invalid, "code_expired")

		// Single use.
		wantErr(t, "the same code again", login(a, codeA), yuncan.Invalid, "code_used")

		// Malformed codes are refused without counting a try.
		codeC := f.sendCode(t, c)
		for _, bad := range []string{"12345", "1234567", "12345a", "１２３４５６", " " + codeC[:5]} {
			wantErr(t, "malformed code "+bad, login(c, bad), yuncan.Invalid, "code_invalid")
		}
		if rec, err := f.store.LatestCode(ctx, f.keys.BlindIndex("phone", e164(t, c))); err != nil || rec.Attempts != 0 {
			t.Fatalf("attempts after malformed codes = %d, %v; want 0", rec.Attempts, err)
		}
		// Four wrong tries are just wrong; the fifth kills the code, which
		// then refuses even the right one.
		wrong := otherCode(codeC)
		for i := 1; i <= 4; i++ {
			wantErr(t, "wrong code", login(c, wrong), yuncan.Invalid, "code_invalid")
		}
		wantRateLimited(t, "fifth wrong code", login(c, wrong), "code_attempts_exceeded", time.Minute+time.Second)
		wantRateLimited(t, "right code after five wrong", login(c, codeC), "code_attempts_exceeded", time.Minute+time.Second)
		if n := f.count(t, "SELECT COUNT(*) FROM users"); n != 1 {
			t.Errorf("%d accounts, want only a's", n)
		}
		// A new code works.
		f.clock.Advance(time.Minute)
		if err := login(c, f.sendCode(t, c)); err != nil {
			t.Errorf("login with a new code after the old one died: %v", err)
		}

		// No code was ever sent to this number.
		wantErr(t, "a code for a number never sent one", login("13800138013", "123456"), yuncan.Invalid, "code_invalid")
		// Either a code or a password, not both, not neither.
		_, err := f.svc.Login(ctx, identity.LoginRequest{Phone: a})
		wantErr(t, "neither code nor password", err, yuncan.Invalid, "invalid")
		_, err = f.svc.Login(ctx, identity.LoginRequest{Phone: a, Code: "123456", Password: "Abcdefg1!"})
		wantErr(t, "code and password", err, yuncan.Invalid, "invalid")
	})
}

func TestCodeRateLimits(t *testing.T) {
	eachDB(t, identity.Config{CodesPerPhoneDay: 3, CodesPerIPHour: 4}, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		const phone = "13800138020"
		send := func(phone, ip string) error { return f.svc.SendCode(ctx, phone, ip) }

		// One code a minute to a number, however it is written.
		if err := send(phone, "ip-a"); err != nil {
			t.Fatal(err)
		}
		first := wantRateLimited(t, "resend at once", send(phone, "ip-a"), "", 61*time.Second)
		f.clock.Advance(30 * time.Second)
		second := wantRateLimited(t, "resend after 30 s", send("+86 138 0013 8020", "ip-b"), "", 31*time.Second)
		if second >= first {
			t.Errorf("RetryAfter did not shrink: %v then %v", first, second)
		}
		f.clock.Advance(30 * time.Second)
		if err := send(phone, "ip-a"); err != nil {
			t.Fatalf("resend after a minute: %v", err)
		}

		// Three codes a day to one number.
		f.clock.Advance(time.Minute)
		if err := send(phone, "ip-a"); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(time.Minute)
		wantRateLimited(t, "fourth code in a day", send(phone, "ip-c"), "", time.Hour+time.Second)
		if n := f.count(t, "SELECT COUNT(*) FROM sms_codes"); n != 3 {
			t.Errorf("%d codes stored, want 3: a refused request stores nothing", n)
		}
		if n := len(f.messages(t)); n != 3 {
			t.Errorf("%d messages sent, want 3", n)
		}
		f.clock.Advance(24*time.Hour - 2*time.Minute)
		if err := send(phone, "ip-a"); err != nil {
			t.Errorf("a code a day later: %v", err)
		}

		// Four codes an hour from one client, to any numbers.
		const ip = "198.51.100.9"
		for _, p := range []string{"13800138021", "13800138022", "13800138023", "13800138024"} {
			if err := send(p, ip); err != nil {
				t.Fatalf("SendCode(%s) from %s: %v", p, ip, err)
			}
		}
		wantRateLimited(t, "fifth code from one client in an hour", send("13800138025", ip), "", 10*time.Minute+time.Second)
		if err := send("13800138025", "198.51.100.10"); err != nil {
			t.Errorf("the same number from another client: %v", err)
		}
		f.clock.Advance(time.Hour + time.Nanosecond)
		if err := send("13800138026", ip); err != nil {
			t.Errorf("from the client an hour later: %v", err)
		}
	})
}

func TestInvalidPhone(t *testing.T) {
	eachDB(t, identity.Config{}, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		for _, phone := range []string{
			"abcdefghijk",                   // letters
			"138abcd8000",                   // letters that libphonenumber would read as digits
			"12345",                         // too short
			"1380013800",                    // one digit short
			"+861012345678",                 // Beijing landline: cannot receive SMS
			"010-65529988",                  // landline, national form
			"4001234567",                    // service number
			"+44 20 7946 0958",              // London landline
			"+999123456",                    // no such country
			"++--()",                        // foreign garbage
			"13800138000; DROP TABLE users", // letters and garbage
			strings.Repeat("9", 40),
		} {
			wantErr(t, "SendCode("+phone+")", f.svc.SendCode(ctx, phone, clientIP), yuncan.Invalid, "invalid_phone")
			_, err := f.svc.Login(ctx, identity.LoginRequest{Phone: phone, Code: "123456", AcceptPolicyVersion: policy})
			wantErr(t, "Login("+phone+")", err, yuncan.Invalid, "invalid_phone")
			_, err = f.svc.CreateUser(ctx, phone, identity.RoleAdmin)
			wantErr(t, "CreateUser("+phone+")", err, yuncan.Invalid, "invalid_phone")
		}
		err := f.svc.SendCode(ctx, "", clientIP)
		wantErr(t, "SendCode of no number", err, yuncan.Invalid, "invalid")
		if e := yuncan.AsError(err); e.Fields["phone"] == "" {
			t.Errorf("fields %v; want phone named", e.Fields)
		}
		for table, n := range map[string]int{
			"sms_codes": f.count(t, "SELECT COUNT(*) FROM sms_codes"),
			"users":     f.count(t, "SELECT COUNT(*) FROM users"),
		} {
			if n != 0 {
				t.Errorf("%d rows in %s after invalid numbers, want 0", n, table)
			}
		}
		if ms := f.messages(t); len(ms) != 0 {
			t.Errorf("messages sent to invalid numbers: %+v", ms)
		}
	})
}

func TestPhoneNormalised(t *testing.T) {
	eachDB(t, identity.Config{}, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		first := f.login(t, "138 0013 8000")
		second := f.login(t, "+86 138-0013-8000")
		third := f.login(t, "008613800138000")
		if !first.Created || second.Created || third.Created || second.User.ID != first.User.ID || third.User.ID != first.User.ID {
			t.Errorf("logins as three spellings: created %v %v %v, ids %s %s %s; want one account",
				first.Created, second.Created, third.Created, first.User.ID, second.User.ID, third.User.ID)
		}
		if second.User.Phone != "+8613800138000" {
			t.Errorf("phone %q, want the E.164 form", second.User.Phone)
		}
		// The resend limit is per number, not per spelling.
		wantRateLimited(t, "resend under another spelling", f.svc.SendCode(ctx, "13800138000", clientIP), "", 61*time.Second)
		if n := f.count(t, "SELECT COUNT(*) FROM users"); n != 1 {
			t.Errorf("%d accounts, want 1", n)
		}
	})
}

func TestPassword(t *testing.T) {
	eachDB(t, identity.Config{}, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		const phone, pw, wrong = "13800138030", "Yun-Can-2025", "Yun-Can-2024"
		u := f.login(t, phone).User
		password := func(p string) (identity.LoginResult, error) {
			return f.svc.Login(ctx, identity.LoginRequest{Phone: phone, Password: p})
		}

		// A password login before any password is set fails like a wrong one.
		_, err := password(pw)
		wantErr(t, "password login without a password", err, yuncan.Unauthenticated, "invalid_credentials")

		for _, weak := range []string{"short1!", "alllowercase", "Password1!"} {
			wantErr(t, "weak password "+weak, f.svc.SetPassword(ctx, u.ID, "", weak), yuncan.Invalid, "weak_password")
		}
		if err := f.svc.SetPassword(ctx, u.ID, "", pw); err != nil {
			t.Fatal(err)
		}
		if got, _ := f.svc.User(ctx, u.ID); !got.HasPassword {
			t.Error("HasPassword = false after SetPassword")
		}
		// P53: stored as argon2id, never as itself.
		stored, err := f.store.UserByID(ctx, u.ID)
		if err != nil || !strings.HasPrefix(stored.PasswordHash, "$argon2id$") || strings.Contains(stored.PasswordHash, pw) {
			t.Errorf("stored password %q, %v; want an argon2id hash", stored.PasswordHash, err)
		}
		if stored.LoginFailures != 0 {
			t.Errorf("failures after setting a password = %d, want 0", stored.LoginFailures)
		}
		// Changing it needs the current one.
		wantErr(t, "change with a wrong current password", f.svc.SetPassword(ctx, u.ID, wrong, "Another-Pass-1"), yuncan.Invalid, "invalid_credentials")

		res, err := password(pw)
		if err != nil || res.User.ID != u.ID || res.Created {
			t.Fatalf("password login = %v; want the account", err)
		}
		_, err = f.svc.Login(ctx, identity.LoginRequest{Phone: "13800138031", Password: pw})
		wantErr(t, "password login to an unknown number", err, yuncan.Unauthenticated, "invalid_credentials")

		// Five failures lock the password login. (The try before a
		// password was set counted one; setting the password cleared it.)
		for i := 0; i < 5; i++ {
			_, err = password(wrong)
			wantErr(t, "wrong password", err, yuncan.Unauthenticated, "invalid_credentials")
		}
		_, err = password(pw)
		wantRateLimited(t, "right password while locked", err, "login_locked", time.Minute+time.Second)
		// A code login still works while the password is locked.
		if res := f.loginWith(t, identity.LoginRequest{Phone: phone}); res.User.ID != u.ID {
			t.Errorf("code login while locked: user %s", res.User.ID)
		}
		// The lock grows with each further failure once it expires.
		f.clock.Advance(time.Minute)
		_, err = password(wrong)
		wantErr(t, "wrong password after the lock", err, yuncan.Unauthenticated, "invalid_credentials")
		_, err = password(pw)
		if wait := wantRateLimited(t, "right password in the second lock", err, "login_locked", 2*time.Minute+time.Second); wait <= time.Minute+time.Second {
			t.Errorf("second lock lasts %v; want longer than the first", wait)
		}
		// After it, the right password logs in and clears the failures.
		f.clock.Advance(2 * time.Minute)
		if _, err := password(pw); err != nil {
			t.Fatalf("right password after the lock: %v", err)
		}
		stored, err = f.store.UserByID(ctx, u.ID)
		if err != nil || stored.LoginFailures != 0 || !stored.LockedUntil.IsZero() {
			t.Errorf("after a good login: failures %d, locked until %v, %v; want cleared", stored.LoginFailures, stored.LockedUntil, err)
		}
	})
}

func TestAuthenticate(t *testing.T) {
	eachDB(t, identity.Config{}, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		res := f.login(t, "13800138040")
		loggedIn := f.clock.Now()
		a, err := f.svc.Authenticate(ctx, res.Token)
		if err != nil || a.User.ID != res.User.ID || a.Session.ID != res.Session.ID || a.User.Phone != "+8613800138040" {
			t.Fatalf("Authenticate = %+v, %v; want the login's user and session", a, err)
		}
		for _, tok := range []string{"", "yct_unknown", res.Token + "x", strings.TrimPrefix(res.Token, "yct_")} {
			_, err := f.svc.Authenticate(ctx, tok)
			wantErr(t, "Authenticate("+tok+")", err, yuncan.Unauthenticated, "unauthenticated")
		}

		lastSeen := func() time.Time {
			t.Helper()
			ss, err := f.store.SessionsByUser(ctx, res.User.ID)
			if err != nil || len(ss) != 1 {
				t.Fatalf("sessions = %v, %v", ss, err)
			}
			return ss[0].LastSeenAt
		}
		// Last seen is written at most once a minute.
		f.clock.Advance(30 * time.Second)
		if _, err := f.svc.Authenticate(ctx, res.Token); err != nil {
			t.Fatal(err)
		}
		if got := lastSeen(); !got.Equal(loggedIn) {
			t.Errorf("last seen %v after 30 s; want still %v", got, loggedIn)
		}
		f.clock.Advance(31 * time.Second)
		a, err = f.svc.Authenticate(ctx, res.Token)
		if err != nil {
			t.Fatal(err)
		}
		touched := f.clock.Now()
		if got := lastSeen(); !got.Equal(touched) || !a.Session.LastSeenAt.Equal(touched) {
			t.Errorf("last seen %v (returned %v) after 61 s; want %v", got, a.Session.LastSeenAt, touched)
		}
		f.clock.Advance(59 * time.Second)
		if _, err := f.svc.Authenticate(ctx, res.Token); err != nil {
			t.Fatal(err)
		}
		if got := lastSeen(); !got.Equal(touched) {
			t.Errorf("last seen %v 59 s after a write; want still %v", got, touched)
		}

		// Expired at ExpiresAt exactly.
		expires := res.Session.ExpiresAt
		if want := loggedIn.Add(30 * 24 * time.Hour); !expires.Equal(want) {
			t.Errorf("session expires %v, want %v (30 days)", expires, want)
		}
		f.clock.Advance(expires.Sub(f.clock.Now()) - time.Nanosecond)
		if _, err := f.svc.Authenticate(ctx, res.Token); err != nil {
			t.Errorf("Authenticate just before expiry: %v", err)
		}
		f.clock.Advance(time.Nanosecond)
		_, err = f.svc.Authenticate(ctx, res.Token)
		wantErr(t, "Authenticate at expiry", err, yuncan.Unauthenticated, "unauthenticated")
	})
}

func TestLogoutUnbindsDevice(t *testing.T) {
	eachDB(t, identity.Config{}, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		info := identity.DeviceInfo{Platform: "android", Model: "Mate 60", OSVersion: "14", AppVersion: "1.0.0", PushToken: "push-1"}
		_, _, err := f.svc.RegisterDevice(ctx, identity.DeviceInfo{Platform: "palm"}, "")
		wantErr(t, "RegisterDevice with a bad platform", err, yuncan.Invalid, "invalid")

		// P04: a device is known, and can get pushes, before any login.
		dev, devToken, err := f.svc.RegisterDevice(ctx, info, "")
		if err != nil || dev.UserID != "" || devToken == "" {
			t.Fatalf("RegisterDevice = %+v, %q, %v; want an anonymous device and a token", dev, devToken, err)
		}
		if got, err := f.svc.DeviceByToken(ctx, devToken); err != nil || got.ID != dev.ID || got.PushToken != "push-1" {
			t.Fatalf("DeviceByToken = %+v, %v", got, err)
		}
		_, err = f.svc.DeviceByToken(ctx, "ycd_unknown")
		wantErr(t, "DeviceByToken of an unknown token", err, yuncan.Unauthenticated, "device_unknown")

		// Login binds it to the account.
		const phone = "13800138050"
		res := f.loginWith(t, identity.LoginRequest{Phone: phone, AcceptPolicyVersion: policy, AgeBand: "adult", DeviceToken: devToken})
		if res.Session.DeviceID != dev.ID {
			t.Errorf("session device %q, want %s", res.Session.DeviceID, dev.ID)
		}
		ds, err := f.svc.Devices(ctx, res.User.ID)
		if err != nil || len(ds) != 1 || ds[0].ID != dev.ID || ds[0].UserID != res.User.ID {
			t.Errorf("Devices after login = %+v, %v; want the device, bound", ds, err)
		}
		// An unknown device token refuses the login before the code is spent.
		f.clock.Advance(time.Minute)
		code := f.sendCode(t, phone)
		_, err = f.svc.Login(ctx, identity.LoginRequest{Phone: phone, Code: code, DeviceToken: "ycd_unknown"})
		wantErr(t, "login with an unknown device token", err, yuncan.Unauthenticated, "device_unknown")
		if _, err := f.svc.Login(ctx, identity.LoginRequest{Phone: phone, Code: code}); err != nil {
			t.Errorf("the code after the refused login: %v", err)
		}

		// Logout ends the session and hands the device back, anonymous.
		a, err := f.svc.Authenticate(ctx, res.Token)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.svc.Logout(ctx, a); err != nil {
			t.Fatal(err)
		}
		_, err = f.svc.Authenticate(ctx, res.Token)
		wantErr(t, "Authenticate after logout", err, yuncan.Unauthenticated, "unauthenticated")
		if ds, err := f.svc.Devices(ctx, res.User.ID); err != nil || len(ds) != 0 {
			t.Errorf("Devices after logout = %+v, %v; want none", ds, err)
		}
		got, err := f.svc.DeviceByToken(ctx, devToken)
		if err != nil || got.UserID != "" {
			t.Errorf("device after logout: user %q, %v; want known and anonymous", got.UserID, err)
		}
		// Logging out twice is harmless.
		if err := f.svc.Logout(ctx, a); err != nil {
			t.Errorf("second Logout: %v", err)
		}
	})
}

func TestSessions(t *testing.T) {
	eachDB(t, identity.Config{}, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		const phone = "13800138060"
		r1 := f.loginWith(t, identity.LoginRequest{Phone: phone, AcceptPolicyVersion: policy, AgeBand: "adult", Kind: identity.SessionApp, UserAgent: "Yuncan/1.0 Android"})
		r2 := f.loginWith(t, identity.LoginRequest{Phone: phone, Kind: identity.SessionWeb, UserAgent: "Mozilla/5.0 " + strings.Repeat("x", 300)})
		r3 := f.loginWith(t, identity.LoginRequest{Phone: phone})
		other := f.login(t, "13800138061")
		uid := r1.User.ID

		ss, err := f.svc.Sessions(ctx, uid)
		if err != nil || len(ss) != 3 || ss[0].ID != r3.Session.ID || ss[1].ID != r2.Session.ID || ss[2].ID != r1.Session.ID {
			t.Fatalf("Sessions = %+v, %v; want the three, newest first", ss, err)
		}
		if ss[1].Kind != identity.SessionWeb || len(ss[1].UserAgent) != 200 || ss[2].UserAgent != "Yuncan/1.0 Android" || ss[0].Kind != identity.SessionApp {
			t.Errorf("sessions: kinds %s %s %s, user agents %d bytes and %q", ss[0].Kind, ss[1].Kind, ss[2].Kind, len(ss[1].UserAgent), ss[2].UserAgent)
		}

		// Another person's session is not found, and stays.
		wantErr(t, "revoke another user's session", f.svc.RevokeSession(ctx, uid, other.Session.ID), yuncan.NotFound, "not_found")
		if _, err := f.svc.Authenticate(ctx, other.Token); err != nil {
			t.Errorf("the other user's session after the refused revoke: %v", err)
		}
		if err := f.svc.RevokeSession(ctx, uid, r1.Session.ID); err != nil {
			t.Fatal(err)
		}
		_, err = f.svc.Authenticate(ctx, r1.Token)
		wantErr(t, "a revoked session", err, yuncan.Unauthenticated, "unauthenticated")
		wantErr(t, "revoke twice", f.svc.RevokeSession(ctx, uid, r1.Session.ID), yuncan.NotFound, "not_found")

		a, err := f.svc.Authenticate(ctx, r3.Token)
		if err != nil {
			t.Fatal(err)
		}
		if n, err := f.svc.RevokeOtherSessions(ctx, a); err != nil || n != 1 {
			t.Errorf("RevokeOtherSessions = %d, %v; want 1", n, err)
		}
		_, err = f.svc.Authenticate(ctx, r2.Token)
		wantErr(t, "a session revoked with the others", err, yuncan.Unauthenticated, "unauthenticated")
		if _, err := f.svc.Authenticate(ctx, r3.Token); err != nil {
			t.Errorf("the current session after revoking the others: %v", err)
		}
		if ss, _ := f.svc.Sessions(ctx, uid); len(ss) != 1 || ss[0].ID != r3.Session.ID {
			t.Errorf("Sessions = %+v; want only the current", ss)
		}
		if _, err := f.svc.Authenticate(ctx, other.Token); err != nil {
			t.Errorf("the other user's session after revoke-others: %v", err)
		}
	})
}

func ptr[T any](v T) *T { return &v }

func TestUpdateProfile(t *testing.T) {
	eachDB(t, identity.Config{}, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		u := f.login(t, "13800138070").User
		var none *string
		today := f.clock.Now().Format(time.DateOnly)
		tomorrow := f.clock.Now().Add(24 * time.Hour).Format(time.DateOnly)

		bad := []struct {
			name  string
			p     identity.Profile
			field string
		}{
			{"blank nickname", identity.Profile{Nickname: ptr("   ")}, "nickname"},
			{"long nickname", identity.Profile{Nickname: ptr(strings.Repeat("云", identity.MaxNickname+1))}, "nickname"},
			{"control in nickname", identity.Profile{Nickname: ptr("云\x1b[31m寻")}, "nickname"},
			{"future birthday", identity.Profile{Birthday: ptr(ptr(tomorrow))}, "birthday"},
			{"bad birthday", identity.Profile{Birthday: ptr(ptr("1990/01/01"))}, "birthday"},
			{"unknown gender", identity.Profile{Gender: ptr(ptr("unknown"))}, "gender"},
			{"long region", identity.Profile{Region: ptr(ptr(strings.Repeat("x", identity.MaxRegion+1)))}, "region"},
			{"long introduction", identity.Profile{Introduction: ptr(ptr(strings.Repeat("x", identity.MaxIntroduction+1)))}, "introduction"},
			// One bad field refuses the whole edit.
			{"good nickname, bad gender", identity.Profile{Nickname: ptr("小云"), Gender: ptr(ptr("x"))}, "gender"},
		}
		for _, tc := range bad {
			_, err := f.svc.UpdateProfile(ctx, u.ID, tc.p)
			wantErr(t, tc.name, err, yuncan.Invalid, "invalid")
			if e := yuncan.AsError(err); e.Fields[tc.field] == "" {
				t.Errorf("%s: fields %v; want %s named", tc.name, e.Fields, tc.field)
			}
		}
		if got, _ := f.svc.User(ctx, u.ID); got.Nickname != u.Nickname || got.Gender != nil || !got.UpdatedAt.Equal(u.UpdatedAt) {
			t.Fatalf("refused edits changed the profile: %+v", got)
		}

		f.clock.Advance(time.Minute)
		got, err := f.svc.UpdateProfile(ctx, u.ID, identity.Profile{
			Nickname: ptr("小云"), Gender: ptr(ptr("female")), Birthday: ptr(ptr(today)),
			Region: ptr(ptr("浙江 杭州")), Introduction: ptr(ptr("寻亲志愿者\n杭州")),
		})
		if err != nil {
			t.Fatal(err)
		}
		want := func(u identity.User, nick string, gender, birthday, region, intro *string) {
			t.Helper()
			eq := func(a, b *string) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
			if u.Nickname != nick || !eq(u.Gender, gender) || !eq(u.Birthday, birthday) || !eq(u.Region, region) || !eq(u.Introduction, intro) {
				t.Errorf("profile %q %v %v %v %v; want %q %v %v %v %v", u.Nickname, u.Gender, u.Birthday, u.Region, u.Introduction,
					nick, gender, birthday, region, intro)
			}
		}
		want(got, "小云", ptr("female"), ptr(today), ptr("浙江 杭州"), ptr("寻亲志愿者\n杭州"))
		if !got.UpdatedAt.Equal(f.clock.Now()) {
			t.Errorf("updated at %v, want %v", got.UpdatedAt, f.clock.Now())
		}
		stored, err := f.svc.User(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		want(stored, "小云", ptr("female"), ptr(today), ptr("浙江 杭州"), ptr("寻亲志愿者\n杭州"))

		// A pointer to nil clears a field; an absent field stays.
		if _, err := f.svc.UpdateProfile(ctx, u.ID, identity.Profile{Gender: &none, Birthday: &none}); err != nil {
			t.Fatal(err)
		}
		stored, err = f.svc.User(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		want(stored, "小云", nil, nil, ptr("浙江 杭州"), ptr("寻亲志愿者\n杭州"))
		rec, _ := f.store.UserByID(ctx, u.ID)
		if rec.Gender != nil || rec.Birthday != nil {
			t.Errorf("stored gender %v, birthday %v; want NULL", rec.Gender, rec.Birthday)
		}

		_, err = f.svc.UpdateProfile(ctx, "no-such-user", identity.Profile{Nickname: ptr("x")})
		wantErr(t, "UpdateProfile of an unknown account", err, yuncan.NotFound, "not_found")
	})
}

func TestCreateUser(t *testing.T) {
	eachDB(t, identity.Config{}, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		admin, err := f.svc.CreateUser(ctx, "13900139000", identity.RoleAdmin)
		if err != nil || admin.Role != identity.RoleAdmin || admin.Phone != "+8613900139000" {
			t.Fatalf("CreateUser admin = %+v, %v", admin, err)
		}
		// Nobody accepts the policy on the staff member's behalf.
		if as, err := f.store.PolicyAcceptances(ctx, admin.ID); err != nil || len(as) != 0 {
			t.Errorf("acceptances of a staff account = %+v, %v; want none", as, err)
		}
		_, err = f.svc.CreateUser(ctx, "13900139001", identity.Role("root"))
		wantErr(t, "CreateUser with an unknown role", err, yuncan.Invalid, "invalid")
		if n := f.count(t, "SELECT COUNT(*) FROM users"); n != 1 {
			t.Errorf("%d accounts, want 1", n)
		}

		// For a number with an account, CreateUser changes the role.
		member := f.login(t, "13900139002").User
		mod, err := f.svc.CreateUser(ctx, "139 0013 9002", identity.RoleModerator)
		if err != nil || mod.ID != member.ID || mod.Role != identity.RoleModerator {
			t.Fatalf("CreateUser for an existing account = %+v, %v; want %s as moderator", mod, err, member.ID)
		}
		if got, _ := f.svc.User(ctx, member.ID); got.Role != identity.RoleModerator {
			t.Errorf("stored role %q, want moderator", got.Role)
		}

		// The staff member logs in by code and finds the account.
		res := f.login(t, "13900139000")
		if res.Created || res.User.ID != admin.ID || res.User.Role != identity.RoleAdmin {
			t.Errorf("staff login: created %v, user %s, role %s; want the admin account", res.Created, res.User.ID, res.User.Role)
		}
	})
}

func TestExpireRecords(t *testing.T) {
	eachDB(t, identity.Config{}, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		day := 24 * time.Hour
		info := identity.DeviceInfo{Platform: "ios"}
		_, oldToken, err := f.svc.RegisterDevice(ctx, info, "")
		if err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(2 * day)
		_, recentToken, err := f.svc.RegisterDevice(ctx, info, "")
		if err != nil {
			t.Fatal(err)
		}
		old := f.login(t, "13800138090")            // a session and a code, long ago
		resend := f.svc.Config().CodeResendInterval // each login first waits this long
		f.clock.Advance(179*day - 2*resend)

		// Now: the old device was last seen 181 days ago, the recent one
		// 179 days ago. A fresh login leaves a live session and code.
		fresh := f.login(t, "13800138091")
		if err := f.svc.ExpireRecords(ctx); err != nil {
			t.Fatal(err)
		}
		_, err = f.svc.DeviceByToken(ctx, oldToken)
		wantErr(t, "a device unseen for 181 days", err, yuncan.Unauthenticated, "device_unknown")
		if _, err := f.svc.DeviceByToken(ctx, recentToken); err != nil {
			t.Errorf("a device unseen for 179 days: %v", err)
		}
		_, err = f.svc.Authenticate(ctx, old.Token)
		wantErr(t, "an expired session", err, yuncan.Unauthenticated, "unauthenticated")
		if _, err := f.svc.Authenticate(ctx, fresh.Token); err != nil {
			t.Errorf("a live session: %v", err)
		}
		if n := f.count(t, "SELECT COUNT(*) FROM sessions"); n != 1 {
			t.Errorf("%d sessions left, want 1 (the live one)", n)
		}
		if n := f.count(t, "SELECT COUNT(*) FROM sms_codes"); n != 1 {
			t.Errorf("%d codes left, want 1 (today's)", n)
		}
		// The accounts themselves stay.
		if n := f.count(t, "SELECT COUNT(*) FROM users"); n != 2 {
			t.Errorf("%d accounts, want 2", n)
		}
	})
}
