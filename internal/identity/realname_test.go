package identity_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/identity"
)

func TestParseRealName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"张三", "张三"},
		{"欧阳娜娜", "欧阳娜娜"},
		{"买买提·艾力", "买买提·艾力"},
		{"买买提•艾力", "买买提·艾力"},
		{"买买提・艾力", "买买提·艾力"},
		{"买买提.艾力", "买买提·艾力"},
		{"阿依古丽·买买提·吐尔逊", "阿依古丽·买买提·吐尔逊"},
		{" 张 三 ", "张三"},
		{"张\u3000三", "张三"},
		{"John Smith", "John Smith"},
		{"  John   Smith ", "John Smith"},
		{"Li", "Li"},
		{"𠇔三", "𠇔三"}, // a character outside the basic plane
		{strings.Repeat("张", 30), strings.Repeat("张", 30)},
	} {
		got, err := identity.ParseRealName(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseRealName(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{
		"", "   ", "张", "A", strings.Repeat("张", 31), strings.Repeat("ab ", 11),
		"张三John", "·张三", "张三·", "张··三", "John·Smith", "张三1", "O'Brien", "Jean-Luc",
		"张\x00三", "\xff\xfe", "José", "Ｊｏｈｎ", "···", strings.Repeat("a", 10000),
	} {
		_, err := identity.ParseRealName(in)
		if yuncan.ErrorCode(err) != yuncan.Invalid || yuncan.ErrorReason(err) != "invalid_real_name" {
			t.Errorf("ParseRealName(%q) error %v; want invalid/invalid_real_name", in, err)
		}
	}
}

func TestMaskRealName(t *testing.T) {
	for in, want := range map[string]string{
		"张三": "张*", "欧阳娜娜": "欧***", "买买提·艾力": "买*****", "John Smith": "J*********", "": "*",
	} {
		if got := identity.MaskRealName(in); got != want {
			t.Errorf("MaskRealName(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParseRealName(f *testing.F) {
	for _, s := range []string{"张三", "买买提·艾力", "John  Smith", "·", "\xff", "张 三"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		name, err := identity.ParseRealName(s)
		if err != nil {
			if yuncan.ErrorReason(err) != "invalid_real_name" {
				t.Fatalf("ParseRealName(%q): %v", s, err)
			}
			return
		}
		if n := utf8.RuneCountInString(name); n < identity.MinRealName || n > identity.MaxRealName {
			t.Fatalf("ParseRealName(%q) = %q, %d characters", s, name, n)
		}
		if again, err := identity.ParseRealName(name); err != nil || again != name {
			t.Fatalf("normal form %q does not parse to itself: %q, %v", name, again, err)
		}
	})
}

// fakeCertifier answers as told and records what it was asked.
type fakeCertifier struct {
	mu     sync.Mutex
	calls  int
	asked  []string // name, number, phone of the last call
	answer identity.Certification
	err    error
}

func (c *fakeCertifier) Verify(_ context.Context, name string, id identity.IDNumber, phone identity.Phone) (identity.Certification, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	c.asked = []string{name, string(id), string(phone)}
	return c.answer, c.err
}

func (c *fakeCertifier) set(match bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.answer, c.err = identity.Certification{Match: match, Reference: "cert-ref-1"}, err
}

func (c *fakeCertifier) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls
}

// fakeGate is the consent gate: open for the accounts in granted.
type fakeGate struct {
	mu      sync.Mutex
	granted map[string]bool
	// closeAfter closes the gate for everybody after that many asks
	// (0: never), to play a withdrawal racing with a verification.
	closeAfter, asks int
}

var errNoConsent = &yuncan.Error{Code: yuncan.Forbidden, Reason: "consent_required", Message: "needs consent",
	Extra: map[string]string{"purpose": "real_name"}}

func (g *fakeGate) check(_ context.Context, userID string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.asks++
	if g.granted[userID] && (g.closeAfter == 0 || g.asks <= g.closeAfter) {
		return nil
	}
	return errNoConsent
}

func (g *fakeGate) grant(userID string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.granted[userID] = true
}

type realNameFixture struct {
	*fixture
	cert     *fakeCertifier
	gate     *fakeGate
	verifier *identity.RealNameVerifier
}

func eachRealNameDB(t *testing.T, fn func(t *testing.T, f *realNameFixture)) {
	eachDB(t, identity.Config{}, func(t *testing.T, f *fixture) {
		cert := &fakeCertifier{answer: identity.Certification{Match: true, Reference: "cert-ref-1"}}
		gate := &fakeGate{granted: map[string]bool{}}
		v := identity.NewRealNameVerifier(f.svc, cert, gate.check, identity.RealNameConfig{})
		fn(t, &realNameFixture{fixture: f, cert: cert, gate: gate, verifier: v})
	})
}

// consentedUser signs up phone and grants it the real-name consent.
func (f *realNameFixture) consentedUser(t *testing.T, phone string) string {
	t.Helper()
	id := f.login(t, phone).User.ID
	f.gate.grant(id)
	return id
}

// rows counts the rows of the real-name tables.
func (f *realNameFixture) rows(t *testing.T) (names, attempts int) {
	t.Helper()
	return f.count(t, `SELECT COUNT(*) FROM real_names`), f.count(t, `SELECT COUNT(*) FROM real_name_attempts`)
}

var testID = validID("110101", "19900307", "123")

func TestRealNameVerifyMatch(t *testing.T) {
	eachRealNameDB(t, func(t *testing.T, f *realNameFixture) {
		ctx := context.Background()
		uid := f.consentedUser(t, "13800138100")
		if ok, err := f.svc.RealNameVerified(ctx, uid); err != nil || ok {
			t.Fatalf("RealNameVerified before = %v, %v", ok, err)
		}
		wantErr(t, "RequireRealName before", f.svc.RequireRealName(ctx, uid), yuncan.Forbidden, "real_name_required")

		st, err := f.verifier.Verify(ctx, uid, identity.RealNameRequest{RealName: " 张 三", IDNumber: strings.ToLower(testID)})
		if err != nil {
			t.Fatal(err)
		}
		want := identity.RealNameStatus{Verified: true, RealNameMasked: "张*", IDNumberMasked: "1101**********" + testID[14:],
			VerifiedAt: f.clock.Now()}
		if st != want {
			t.Errorf("Verify = %+v, want %+v", st, want)
		}
		// The certifier got the normal forms and the account's phone.
		if got := f.cert.asked; got[0] != "张三" || got[1] != testID || got[2] != "+8613800138100" {
			t.Errorf("certifier asked %q", got)
		}
		got, err := f.svc.RealName(ctx, uid)
		if err != nil || got.VerifiedAt.UnixNano() != want.VerifiedAt.UnixNano() {
			t.Fatalf("RealName = %+v, %v", got, err)
		}
		got.VerifiedAt = want.VerifiedAt
		if got != want {
			t.Errorf("RealName = %+v, want %+v", got, want)
		}
		if ok, err := f.svc.RealNameVerified(ctx, uid); err != nil || !ok {
			t.Errorf("RealNameVerified after = %v, %v", ok, err)
		}
		if err := f.svc.RequireRealName(ctx, uid); err != nil {
			t.Errorf("RequireRealName after: %v", err)
		}

		// P10: stored sealed under the column's context, with a blind
		// index; the certifier's reference is kept.
		r, err := f.store.RealNameByUser(ctx, uid)
		if err != nil {
			t.Fatal(err)
		}
		if name, err := f.keys.Open("real_names.name", r.NameSealed); err != nil || string(name) != "张三" {
			t.Errorf("sealed name opens to %q, %v", name, err)
		}
		if id, err := f.keys.Open("real_names.id_number", r.IDNumberSealed); err != nil || string(id) != testID {
			t.Errorf("sealed number opens to %q, %v", id, err)
		}
		if _, err := f.keys.Open("users.phone", r.IDNumberSealed); err == nil {
			t.Error("the sealed number opens under another column's context")
		}
		if r.IDNumberIndex != f.keys.BlindIndex("id_number", testID) || r.CertifierReference != "cert-ref-1" {
			t.Errorf("stored %+v", r)
		}
		for _, v := range []string{r.NameSealed, r.IDNumberSealed, r.IDNumberIndex, r.CertifierReference} {
			if strings.Contains(v, testID[6:14]) || strings.Contains(v, "张三") {
				t.Errorf("a stored value holds the number or name in clear: %q", v)
			}
		}

		// A second verification of the same account is refused without
		// asking the certifier.
		_, err = f.verifier.Verify(ctx, uid, identity.RealNameRequest{RealName: "张三", IDNumber: testID})
		wantErr(t, "second verification", err, yuncan.Conflict, "real_name_already_verified")
		if f.cert.count() != 1 {
			t.Errorf("certifier asked %d times, want 1", f.cert.count())
		}
	})
}

// P10: without the separate consent nothing is read, asked or stored.
func TestRealNameNeedsConsent(t *testing.T) {
	eachRealNameDB(t, func(t *testing.T, f *realNameFixture) {
		ctx := context.Background()
		uid := f.login(t, "13800138101").User.ID
		_, err := f.verifier.Verify(ctx, uid, identity.RealNameRequest{RealName: "张三", IDNumber: testID})
		wantErr(t, "Verify without consent", err, yuncan.Forbidden, "consent_required")
		// Even invalid fields answer the consent question first.
		_, err = f.verifier.Verify(ctx, uid, identity.RealNameRequest{RealName: "", IDNumber: "x"})
		wantErr(t, "Verify without consent, invalid fields", err, yuncan.Forbidden, "consent_required")
		if f.cert.count() != 0 {
			t.Errorf("the certifier was asked %d times", f.cert.count())
		}
		if names, attempts := f.rows(t); names != 0 || attempts != 0 {
			t.Errorf("stored %d verifications and %d attempts without consent", names, attempts)
		}
	})
}

func TestRealNameInvalidFieldsNotAsked(t *testing.T) {
	eachRealNameDB(t, func(t *testing.T, f *realNameFixture) {
		ctx := context.Background()
		uid := f.consentedUser(t, "13800138102")
		for _, tc := range []struct {
			req    identity.RealNameRequest
			reason string
			fields []string
		}{
			{identity.RealNameRequest{RealName: "张", IDNumber: testID}, "invalid_real_name", []string{"real_name"}},
			{identity.RealNameRequest{RealName: "张三", IDNumber: otherCheck(testID)}, "id_number_checksum", []string{"id_number"}},
			{identity.RealNameRequest{RealName: "张三", IDNumber: "110101900307123"}, "id_number_old_format", []string{"id_number"}},
			{identity.RealNameRequest{RealName: "", IDNumber: ""}, "invalid", []string{"real_name", "id_number"}},
		} {
			_, err := f.verifier.Verify(ctx, uid, tc.req)
			wantErr(t, "Verify "+tc.reason, err, yuncan.Invalid, tc.reason)
			for _, field := range tc.fields {
				if yuncan.AsError(err).Fields[field] == "" {
					t.Errorf("%s: field %s not named: %+v", tc.reason, field, yuncan.AsError(err).Fields)
				}
			}
		}
		if f.cert.count() != 0 {
			t.Errorf("the certifier was asked about invalid fields")
		}
		if _, attempts := f.rows(t); attempts != 0 {
			t.Errorf("invalid fields counted %d attempts", attempts)
		}
	})
}

func TestRealNameMismatch(t *testing.T) {
	eachRealNameDB(t, func(t *testing.T, f *realNameFixture) {
		ctx := context.Background()
		uid := f.consentedUser(t, "13800138103")
		f.cert.set(false, nil)
		_, err := f.verifier.Verify(ctx, uid, identity.RealNameRequest{RealName: "张三", IDNumber: testID})
		wantErr(t, "Verify mismatch", err, yuncan.Invalid, "real_name_mismatch")
		if names, attempts := f.rows(t); names != 0 || attempts != 1 {
			t.Errorf("after a mismatch: %d verifications (want 0), %d attempts (want 1)", names, attempts)
		}
		if ok, _ := f.svc.RealNameVerified(ctx, uid); ok {
			t.Error("verified after a mismatch")
		}
	})
}

func TestRealNameCertifierUnavailable(t *testing.T) {
	eachRealNameDB(t, func(t *testing.T, f *realNameFixture) {
		ctx := context.Background()
		uid := f.consentedUser(t, "13800138104")
		f.cert.set(false, errors.New("certify: example: connection refused"))
		_, err := f.verifier.Verify(ctx, uid, identity.RealNameRequest{RealName: "张三", IDNumber: testID})
		wantErr(t, "Verify with the certifier down", err, yuncan.Unavailable, "certifier_unavailable")
		if names, attempts := f.rows(t); names != 0 || attempts != 0 {
			t.Errorf("after no answer: %d verifications, %d attempts; want none (no answer is not held against the person)", names, attempts)
		}
	})
}

// P10: one ID number verifies one account.
func TestRealNameIDNumberInUse(t *testing.T) {
	eachRealNameDB(t, func(t *testing.T, f *realNameFixture) {
		ctx := context.Background()
		a := f.consentedUser(t, "13800138105")
		b := f.consentedUser(t, "13800138106")
		if _, err := f.verifier.Verify(ctx, a, identity.RealNameRequest{RealName: "张三", IDNumber: testID}); err != nil {
			t.Fatal(err)
		}
		_, err := f.verifier.Verify(ctx, b, identity.RealNameRequest{RealName: "张三", IDNumber: testID})
		wantErr(t, "the same number for another account", err, yuncan.Conflict, "id_number_in_use")
		if ok, _ := f.svc.RealNameVerified(ctx, b); ok {
			t.Error("the second account is verified")
		}
		// Once the first account lets go of it, the number is free.
		if err := f.svc.DeleteRealName(ctx, a); err != nil {
			t.Fatal(err)
		}
		if _, err := f.verifier.Verify(ctx, b, identity.RealNameRequest{RealName: "张三", IDNumber: testID}); err != nil {
			t.Fatalf("Verify after the holder deleted: %v", err)
		}
	})
}

func TestRealNameRateLimit(t *testing.T) {
	eachRealNameDB(t, func(t *testing.T, f *realNameFixture) {
		ctx := context.Background()
		uid := f.consentedUser(t, "13800138107")
		other := f.consentedUser(t, "13800138108")
		f.cert.set(false, nil)
		req := identity.RealNameRequest{RealName: "张三", IDNumber: testID}
		for i := range 5 {
			_, err := f.verifier.Verify(ctx, uid, req)
			wantErr(t, "attempt", err, yuncan.Invalid, "real_name_mismatch")
			if i == 0 {
				f.clock.Advance(time.Hour)
			}
		}
		_, err := f.verifier.Verify(ctx, uid, req)
		// The first attempt leaves the window 23 hours from now.
		wait := wantRateLimited(t, "sixth attempt", err, "real_name_attempts_exceeded", 23*time.Hour+2*time.Second)
		if wait < 23*time.Hour-time.Minute {
			t.Errorf("Retry-After %v, want about 23h", wait)
		}
		if f.cert.count() != 5 {
			t.Errorf("certifier asked %d times, want 5", f.cert.count())
		}
		if _, attempts := f.rows(t); attempts != 5 {
			t.Errorf("%d attempts stored, want 5: a refused attempt is not kept", attempts)
		}
		// Another account has its own limit.
		_, err = f.verifier.Verify(ctx, other, req)
		wantErr(t, "another account", err, yuncan.Invalid, "real_name_mismatch")

		// When the oldest attempt leaves the window, one more is allowed.
		f.clock.Advance(wait)
		f.cert.set(true, nil)
		if _, err := f.verifier.Verify(ctx, uid, req); err != nil {
			t.Fatalf("after the wait: %v", err)
		}
		// Retention: attempts older than a day go.
		f.clock.Advance(24*time.Hour + time.Second)
		if err := f.svc.ExpireRealNameAttempts(ctx); err != nil {
			t.Fatal(err)
		}
		if _, attempts := f.rows(t); attempts != 0 {
			t.Errorf("%d attempts left after expiry", attempts)
		}
	})
}

// A burst of concurrent attempts cannot pass the count.
func TestRealNameRateLimitConcurrent(t *testing.T) {
	eachRealNameDB(t, func(t *testing.T, f *realNameFixture) {
		ctx := context.Background()
		uid := f.consentedUser(t, "13800138109")
		f.cert.set(false, nil)
		var wg sync.WaitGroup
		for range 12 {
			wg.Go(func() {
				f.verifier.Verify(ctx, uid, identity.RealNameRequest{RealName: "张三", IDNumber: testID})
			})
		}
		wg.Wait()
		if n := f.cert.count(); n > 5 {
			t.Errorf("certifier asked %d times by a burst, want at most 5", n)
		}
	})
}

// P10, P63: deleting, and a withdrawal racing with a verification.
func TestRealNameDelete(t *testing.T) {
	eachRealNameDB(t, func(t *testing.T, f *realNameFixture) {
		ctx := context.Background()
		uid := f.consentedUser(t, "13800138110")
		if _, err := f.verifier.Verify(ctx, uid, identity.RealNameRequest{RealName: "张三", IDNumber: testID}); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.DeleteRealName(ctx, uid); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.DeleteRealName(ctx, uid); err != nil {
			t.Errorf("deleting again (a withdrawal hook run twice): %v", err)
		}
		if st, err := f.svc.RealName(ctx, uid); err != nil || st != (identity.RealNameStatus{}) {
			t.Errorf("RealName after delete = %+v, %v", st, err)
		}
		if names, _ := f.rows(t); names != 0 {
			t.Errorf("%d verifications after delete", names)
		}
	})
}

func TestRealNameConsentWithdrawnDuringVerification(t *testing.T) {
	eachRealNameDB(t, func(t *testing.T, f *realNameFixture) {
		ctx := context.Background()
		uid := f.consentedUser(t, "13800138111")
		f.gate.mu.Lock()
		f.gate.closeAfter = f.gate.asks + 1 // open for the first question only
		f.gate.mu.Unlock()
		_, err := f.verifier.Verify(ctx, uid, identity.RealNameRequest{RealName: "张三", IDNumber: testID})
		wantErr(t, "Verify while the consent is withdrawn", err, yuncan.Forbidden, "consent_required")
		if names, _ := f.rows(t); names != 0 {
			t.Errorf("%d verifications kept after the consent closed", names)
		}
	})
}

func TestRealNameRequiredError(t *testing.T) {
	e := identity.RealNameRequired()
	if e.Code != yuncan.Forbidden || e.Reason != "real_name_required" || e.Message == "" {
		t.Errorf("RealNameRequired = %+v", e)
	}
	// Each call is a fresh value: a caller adding a field changes no other.
	e.WithField("x", "y")
	if identity.RealNameRequired().Fields != nil {
		t.Error("RealNameRequired shares its value")
	}
}

func TestNewRealNameVerifierNeedsGate(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("a verifier without a consent gate was made")
		}
	}()
	identity.NewRealNameVerifier(nil, &fakeCertifier{}, nil, identity.RealNameConfig{})
}
