package consent_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/identity"
	"github.com/yuncan/yuncan/internal/keyring"
	"github.com/yuncan/yuncan/internal/media"
	"github.com/yuncan/yuncan/internal/notify"
	"github.com/yuncan/yuncan/internal/sqlstore"
	"github.com/yuncan/yuncan/internal/storetest"
)

// minorsFixture is the consent gate, identity and the minors rules on one
// real database, one fake clock and an SMS outbox.
type minorsFixture struct {
	db     *sqlstore.DB
	clock  *clock
	keys   *keyring.Keyring
	ids    *identity.Service
	cs     *consent.Service
	minors *consent.Minors
	media  media.Store
	outbox string
}

const minorsIP = "192.0.2.7"

// eachMinorsDB runs fn on every database, in parallel subtests.
func eachMinorsDB(t *testing.T, fn func(t *testing.T, f *minorsFixture)) {
	t.Parallel()
	dm, err := consent.LoadDataMap()
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range storetest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			t.Parallel()
			db := storetest.Open(t, target)
			keys, err := keyring.New()
			if err != nil {
				t.Fatal(err)
			}
			f := &minorsFixture{db: db, keys: keys, clock: &clock{now: time.Date(2025, 3, 1, 8, 0, 0, 123456789, time.UTC)},
				outbox: filepath.Join(t.TempDir(), "sms.jsonl"), media: media.NewFileStore(filepath.Join(t.TempDir(), "media"))}
			logger := slog.New(slog.DiscardHandler)
			version := func() string { return policyVersion }
			f.ids = identity.NewService(db.Identity(), keys, notify.NewOutbox(f.outbox, f.clock.Now), version, f.clock.Now, identity.Config{})
			f.cs = consent.NewService(db.Consent(), dm, version, f.clock.Now, logger)
			f.minors = consent.NewMinors(db.Minors(), db.Consent(), f.cs, f.ids, f.media, keys, f.clock.Now, consent.MinorsConfig{}, logger)
			fn(t, f)
		})
	}
}

// setTime moves the fake clock to t.
func setTime(c *clock, t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

var minorPhoneSeq atomic.Int64

// newPhone returns a mainland mobile number no other test uses, in E.164.
func newPhone() string { return fmt.Sprintf("+86139%08d", minorPhoneSeq.Add(1)) }

// lastCode is the code the outbox last holds for phone (E.164).
func (f *minorsFixture) lastCode(t *testing.T, phone string) string {
	t.Helper()
	file, err := os.Open(f.outbox)
	if err != nil {
		t.Fatalf("outbox: %v", err)
	}
	defer file.Close()
	code := ""
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		var m struct{ To, Code string }
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		if m.To == phone {
			code = m.Code
		}
	}
	if code == "" {
		t.Fatalf("no code in the outbox for %s", phone)
	}
	return code
}

// code sends a login code to phone and returns it.
func (f *minorsFixture) code(t *testing.T, phone string) string {
	t.Helper()
	f.clock.Advance(time.Minute) // past the resend interval
	mustNil(t, "SendCode", f.ids.SendCode(context.Background(), phone, minorsIP))
	return f.lastCode(t, phone)
}

// signUp creates an account with the age answers of req.
func (f *minorsFixture) signUp(t *testing.T, req identity.LoginRequest) identity.LoginResult {
	t.Helper()
	if req.Phone == "" {
		req.Phone = newPhone()
	}
	req.Code, req.AcceptPolicyVersion = f.code(t, req.Phone), policyVersion
	res, err := f.ids.Login(context.Background(), req)
	if err != nil {
		t.Fatalf("sign-up %+v: %v", req, err)
	}
	if !res.Created {
		t.Fatal("sign-up did not create the account")
	}
	return res
}

func (f *minorsFixture) under14(t *testing.T) identity.User {
	t.Helper()
	return f.signUp(t, identity.LoginRequest{AgeBand: "under_14", GuardianAcknowledged: true}).User
}

// verifyGuardian runs the whole guardian step for u with guardian's phone.
func (f *minorsFixture) verifyGuardian(t *testing.T, u identity.User, guardian string) consent.GuardianStatus {
	t.Helper()
	ctx := context.Background()
	f.clock.Advance(time.Minute)
	if _, err := f.minors.RequestGuardian(ctx, u, guardian, minorsIP); err != nil {
		t.Fatalf("RequestGuardian: %v", err)
	}
	gs, err := f.minors.VerifyGuardian(ctx, u, f.lastCode(t, guardian))
	if err != nil {
		t.Fatalf("VerifyGuardian: %v", err)
	}
	return gs
}

// wantRefusal checks err is a 403 with reason naming purpose p.
func wantRefusal(t *testing.T, what string, err error, reason string, p consent.Purpose) {
	t.Helper()
	wantCode(t, what, err, yuncan.Forbidden, reason)
	var e *yuncan.Error
	if errors.As(err, &e) && e.Extra["purpose"] != string(p) {
		t.Errorf("%s: refusal names purpose %q, want %q", what, e.Extra["purpose"], p)
	}
}

// grantRaw writes a grant straight into the ledger, as one recorded
// before a rule existed would be.
func (f *minorsFixture) grantRaw(t *testing.T, sub consent.Subject, p consent.Purpose, id string) {
	t.Helper()
	e := consent.Event{ID: id, Subject: sub, Purpose: p, Action: consent.Grant, PolicyVersion: policyVersion, Channel: consent.ChannelApp, At: f.clock.Now()}
	mustNil(t, "AppendEvent", f.db.Consent().AppendEvent(context.Background(), e, "", nil))
}

// P70: under 14, only the basic service runs until a guardian's consent is
// verified; afterwards optional purposes can be granted, adults-only ones
// still not.
func TestMinorsUnder14NeedsGuardian(t *testing.T) {
	eachMinorsDB(t, func(t *testing.T, f *minorsFixture) {
		ctx := context.Background()
		child := f.under14(t)
		sub := consent.User(child.ID)
		if child.AgeBand != identity.AgeUnder14 || !child.GuardianAckAt.Equal(f.clock.Now()) {
			t.Fatalf("account: band %q, acknowledged at %v", child.AgeBand, child.GuardianAckAt)
		}

		for _, p := range f.cs.DataMap().Optional() {
			err := f.cs.Require(ctx, sub, p)
			if f.cs.DataMap().Purpose(p).AdultsOnly {
				wantRefusal(t, "Require "+string(p), err, "adults_only", p)
			} else {
				wantRefusal(t, "Require "+string(p), err, "guardian_consent_required", p)
			}
		}
		mustNil(t, "Require account (necessary)", f.cs.Require(ctx, sub, consent.PurposeAccount))
		wantRefusal(t, "Grant before the guardian", f.cs.Grant(ctx, sub, consent.PurposePersonalized, consent.ChannelApp),
			"guardian_consent_required", consent.PurposePersonalized)
		if evs, _ := f.cs.History(ctx, sub); len(evs) != 0 {
			t.Fatalf("a refused grant was recorded: %v", evs)
		}
		if ok, err := f.cs.Granted(ctx, sub, consent.PurposePersonalized); ok || err != nil {
			t.Errorf("Granted = %v, %v; want false, nil (a closed gate)", ok, err)
		}

		gs, err := f.minors.GuardianStatus(ctx, child)
		mustNil(t, "GuardianStatus", err)
		if !gs.Required || !gs.VerifiedAt.IsZero() || !gs.Deadline.Equal(child.CreatedAt.Add(7*24*time.Hour)) {
			t.Errorf("status before: %+v", gs)
		}

		// The guardian's number is not the child's own.
		_, err = f.minors.RequestGuardian(ctx, child, string(child.Phone), minorsIP)
		wantCode(t, "RequestGuardian with the child's number", err, yuncan.Invalid, "guardian_phone_same")
		_, err = f.minors.RequestGuardian(ctx, child, "12345", minorsIP)
		wantCode(t, "RequestGuardian with a bad number", err, yuncan.Invalid, "invalid_phone")
		if e := yuncan.AsError(err); e.Fields["guardian_phone"] == "" {
			t.Errorf("bad number: fields %v, want guardian_phone named", e.Fields)
		}
		_, err = f.minors.VerifyGuardian(ctx, child, "123456")
		wantCode(t, "VerifyGuardian before a code", err, yuncan.Conflict, "guardian_not_requested")

		// A login code to the guardian's number proves nothing.
		guardian := newPhone()
		_, err = f.minors.RequestGuardian(ctx, child, guardian, minorsIP)
		mustNil(t, "RequestGuardian", err)
		f.clock.Advance(time.Minute)
		mustNil(t, "SendCode to the guardian", f.ids.SendCode(ctx, guardian, minorsIP))
		_, err = f.minors.VerifyGuardian(ctx, child, f.lastCode(t, guardian))
		wantCode(t, "VerifyGuardian with a login code", err, yuncan.Invalid, "code_invalid")

		f.clock.Advance(time.Minute)
		gs, err = f.minors.RequestGuardian(ctx, child, guardian, minorsIP)
		mustNil(t, "RequestGuardian", err)
		if gs.GuardianPhone != identity.Phone(guardian) || !gs.RequestedAt.Equal(f.clock.Now()) || !gs.VerifiedAt.IsZero() {
			t.Errorf("pending status: %+v", gs)
		}
		code := f.lastCode(t, guardian)
		// The guardian's code proves consent, nothing else: it does not
		// log anyone in.
		_, err = f.ids.Login(ctx, identity.LoginRequest{Phone: guardian, Code: code, AcceptPolicyVersion: policyVersion, AgeBand: "adult"})
		wantCode(t, "login with the guardian's code", err, yuncan.Invalid, "code_invalid")
		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}
		_, err = f.minors.VerifyGuardian(ctx, child, wrong)
		wantCode(t, "VerifyGuardian with a wrong code", err, yuncan.Invalid, "code_invalid")
		wantRefusal(t, "Require while pending", f.cs.Require(ctx, sub, consent.PurposePersonalized), "guardian_consent_required", consent.PurposePersonalized)

		gs, err = f.minors.VerifyGuardian(ctx, child, code)
		mustNil(t, "VerifyGuardian", err)
		if !gs.VerifiedAt.Equal(f.clock.Now()) || !gs.Deadline.IsZero() {
			t.Errorf("verified status: %+v", gs)
		}
		_, err = f.minors.VerifyGuardian(ctx, child, code)
		wantCode(t, "VerifyGuardian again", err, yuncan.Conflict, "guardian_already_verified")
		_, err = f.minors.RequestGuardian(ctx, child, newPhone(), minorsIP)
		wantCode(t, "RequestGuardian after verification", err, yuncan.Conflict, "guardian_already_verified")

		// Now optional purposes are granted normally; adults-only ones
		// never.
		mustNil(t, "Grant after verification", f.cs.Grant(ctx, sub, consent.PurposePersonalized, consent.ChannelApp))
		mustNil(t, "Require after grant", f.cs.Require(ctx, sub, consent.PurposePersonalized))
		wantRefused(t, "Require of what was not granted", f.cs.Require(ctx, sub, consent.PurposeContacts), consent.PurposeContacts)
		wantRefusal(t, "Grant of ads", f.cs.Grant(ctx, sub, consent.PurposeProgrammaticAds, consent.ChannelApp), "adults_only", consent.PurposeProgrammaticAds)
	})
}

// P70: an account under 14 without a verified guardian consent is deleted
// with its data once the deadline passes; a verified one, a recent one and
// adults stay.
func TestMinorsDeletedWithoutGuardian(t *testing.T) {
	eachMinorsDB(t, func(t *testing.T, f *minorsFixture) {
		ctx := context.Background()
		lateRes := f.signUp(t, identity.LoginRequest{AgeBand: "under_14", GuardianAcknowledged: true})
		late := lateRes.User
		verified := f.under14(t)
		f.verifyGuardian(t, verified, newPhone())
		adult := f.signUp(t, identity.LoginRequest{AgeBand: "adult"}).User

		// The late account asked a guardian who never answered; it has an
		// avatar, a consent ledger (rows written before the rule, say)
		// and a session.
		if _, err := f.minors.RequestGuardian(ctx, late, newPhone(), minorsIP); err != nil {
			t.Fatal(err)
		}
		key := "avatars/" + late.ID + ".jpg"
		mustNil(t, "Put avatar", f.media.Put(ctx, key, []byte("jpeg")))
		if _, _, err := f.ids.SetAvatarKey(ctx, late.ID, key); err != nil {
			t.Fatal(err)
		}
		f.grantRaw(t, consent.User(late.ID), consent.PurposeContacts, "e-late")
		f.grantRaw(t, consent.User(verified.ID), consent.PurposeContacts, "e-verified")

		f.clock.Advance(24 * time.Hour)
		recent := f.under14(t)

		// A minute before the deadline nothing goes.
		setTime(f.clock, late.CreatedAt.Add(7*24*time.Hour-time.Minute))
		mustNil(t, "DeleteUnverified before the deadline", f.minors.DeleteUnverified(ctx))
		if _, err := f.ids.User(ctx, late.ID); err != nil {
			t.Fatalf("deleted before the deadline: %v", err)
		}

		setTime(f.clock, late.CreatedAt.Add(7*24*time.Hour+time.Minute))
		// Past the deadline the guardian step is closed, even before the
		// job runs.
		_, err := f.minors.RequestGuardian(ctx, late, newPhone(), minorsIP)
		wantCode(t, "RequestGuardian past the deadline", err, yuncan.Conflict, "guardian_deadline_passed")
		mustNil(t, "DeleteUnverified", f.minors.DeleteUnverified(ctx))

		_, err = f.ids.User(ctx, late.ID)
		wantCode(t, "the late account", err, yuncan.NotFound, "not_found")
		if evs, _ := f.cs.History(ctx, consent.User(late.ID)); len(evs) != 0 {
			t.Errorf("ledger rows left: %v", evs)
		}
		if _, _, err := f.media.Open(ctx, key); yuncan.ErrorCode(err) != yuncan.NotFound {
			t.Errorf("avatar left: %v", err)
		}
		_, err = f.db.Minors().GuardianConsent(ctx, late.ID)
		wantCode(t, "the late account's pending guardian", err, yuncan.NotFound, "not_found")
		_, err = f.ids.Authenticate(ctx, lateRes.Token)
		wantCode(t, "the late account's session", err, yuncan.Unauthenticated, "unauthenticated")

		for _, u := range []identity.User{verified, recent, adult} {
			if _, err := f.ids.User(ctx, u.ID); err != nil {
				t.Errorf("account %s (band %s) was deleted: %v", u.ID, u.AgeBand, err)
			}
		}
		if evs, _ := f.cs.History(ctx, consent.User(verified.ID)); len(evs) != 1 {
			t.Errorf("a surviving account's ledger: %v", evs)
		}
		// Running again finds nothing more to do.
		mustNil(t, "DeleteUnverified again", f.minors.DeleteUnverified(ctx))

		// The recent one's deadline is a day later.
		setTime(f.clock, recent.CreatedAt.Add(7*24*time.Hour+time.Second))
		mustNil(t, "DeleteUnverified a day later", f.minors.DeleteUnverified(ctx))
		if _, err := f.ids.User(ctx, recent.ID); yuncan.ErrorCode(err) != yuncan.NotFound {
			t.Errorf("the recent account was not deleted after its own deadline: %v", err)
		}
		if _, err := f.ids.User(ctx, verified.ID); err != nil {
			t.Errorf("the verified account was deleted: %v", err)
		}
	})
}

// P70: 14 to 17: a guardian's acknowledgement at sign-up; ads and
// marketing refused whatever the ledger holds.
func TestMinors14To17(t *testing.T) {
	eachMinorsDB(t, func(t *testing.T, f *minorsFixture) {
		ctx := context.Background()
		phone := newPhone()
		code := f.code(t, phone)
		req := identity.LoginRequest{Phone: phone, Code: code, AcceptPolicyVersion: policyVersion, AgeBand: "14_17"}
		_, err := f.ids.Login(ctx, req)
		wantCode(t, "14_17 without acknowledgement", err, yuncan.Invalid, "guardian_acknowledgement_required")
		if e := yuncan.AsError(err); e.Fields["guardian_acknowledged"] == "" {
			t.Errorf("fields %v; want guardian_acknowledged named", e.Fields)
		}
		// Refused, the code stays good for the retry.
		req.GuardianAcknowledged = true
		res, err := f.ids.Login(ctx, req)
		mustNil(t, "14_17 with acknowledgement", err)
		teen := res.User
		if teen.AgeBand != identity.Age14To17 || !teen.GuardianAckAt.Equal(f.clock.Now()) {
			t.Errorf("account: band %q, acknowledged at %v", teen.AgeBand, teen.GuardianAckAt)
		}
		sub := consent.User(teen.ID)

		for _, p := range []consent.Purpose{consent.PurposeProgrammaticAds, consent.PurposeMarketingPush, consent.PurposeMarketingSMS} {
			wantRefusal(t, "Grant "+string(p), f.cs.Grant(ctx, sub, p, consent.ChannelApp), "adults_only", p)
		}
		wantRefusal(t, "GrantMany with marketing", f.cs.GrantMany(ctx, sub, []consent.Purpose{consent.PurposePersonalized, consent.PurposeMarketingPush}, consent.ChannelApp),
			"adults_only", consent.PurposeMarketingPush)
		if evs, _ := f.cs.History(ctx, sub); len(evs) != 0 {
			t.Fatalf("refused grants were recorded: %v", evs)
		}
		// Other optional purposes need no guardian at 14.
		mustNil(t, "Grant personalised", f.cs.Grant(ctx, sub, consent.PurposePersonalized, consent.ChannelApp))
		mustNil(t, "Require personalised", f.cs.Require(ctx, sub, consent.PurposePersonalized))

		// Even a grant in the ledger does not open the gate.
		f.grantRaw(t, sub, consent.PurposeProgrammaticAds, "e-ads")
		f.cs = consentAfterRestart(t, f) // no cached state either
		wantRefusal(t, "Require ads with a grant in the ledger", f.cs.Require(ctx, sub, consent.PurposeProgrammaticAds), "adults_only", consent.PurposeProgrammaticAds)
		if ok, err := f.cs.Granted(ctx, sub, consent.PurposeProgrammaticAds); ok || err != nil {
			t.Errorf("Granted(ads) = %v, %v; want false, nil", ok, err)
		}

		_, err = f.minors.RequestGuardian(ctx, teen, newPhone(), minorsIP)
		wantCode(t, "RequestGuardian at 15", err, yuncan.Conflict, "guardian_not_required")
		gs, err := f.minors.GuardianStatus(ctx, teen)
		mustNil(t, "GuardianStatus", err)
		if gs.Required || !gs.Deadline.IsZero() || gs.Band != identity.Age14To17 {
			t.Errorf("status at 15: %+v", gs)
		}
	})
}

// consentAfterRestart is a fresh gate on the same database with the
// minors rules, as after a restart.
func consentAfterRestart(t *testing.T, f *minorsFixture) *consent.Service {
	t.Helper()
	cs := consent.NewService(f.db.Consent(), f.cs.DataMap(), func() string { return policyVersion }, f.clock.Now, slog.New(slog.DiscardHandler))
	f.minors = consent.NewMinors(f.db.Minors(), f.db.Consent(), cs, f.ids, f.media, f.keys, f.clock.Now, consent.MinorsConfig{}, nil)
	return cs
}

// P70: adults, and accounts staff made (no band), are not held back.
func TestMinorsAdultUnaffected(t *testing.T) {
	eachMinorsDB(t, func(t *testing.T, f *minorsFixture) {
		ctx := context.Background()
		adult := f.signUp(t, identity.LoginRequest{AgeBand: "adult"}).User
		staff, err := f.ids.CreateUser(ctx, newPhone(), identity.RoleModerator)
		mustNil(t, "CreateUser", err)
		if staff.AgeBand != identity.AgeUnknown {
			t.Fatalf("staff account band %q", staff.AgeBand)
		}
		for _, u := range []identity.User{adult, staff} {
			sub := consent.User(u.ID)
			mustNil(t, "GrantMany", f.cs.GrantMany(ctx, sub, []consent.Purpose{consent.PurposeProgrammaticAds, consent.PurposeMarketingPush, consent.PurposePersonalized}, consent.ChannelApp))
			mustNil(t, "Require ads", f.cs.Require(ctx, sub, consent.PurposeProgrammaticAds))
			mustNil(t, "Require personalised", f.cs.Require(ctx, sub, consent.PurposePersonalized))
			wantRefused(t, "Require what was not granted", f.cs.Require(ctx, sub, consent.PurposeContacts), consent.PurposeContacts)
			_, err := f.minors.RequestGuardian(ctx, u, newPhone(), minorsIP)
			wantCode(t, "RequestGuardian for an adult", err, yuncan.Conflict, "guardian_not_required")
		}
		// Devices have no age.
		dev := consent.Device("d-1")
		mustNil(t, "Grant ads to a device", f.cs.Grant(ctx, dev, consent.PurposeProgrammaticAds, consent.ChannelApp))
	})
}

// P70: the age a sign-up gives: required, derived from a birth date on
// the service clock's date, never in the future; nothing is spent or
// stored when it is refused.
func TestMinorsSignUpAge(t *testing.T) {
	eachMinorsDB(t, func(t *testing.T, f *minorsFixture) {
		ctx := context.Background()
		phone := newPhone()
		code := f.code(t, phone)
		base := identity.LoginRequest{Phone: phone, Code: code, AcceptPolicyVersion: policyVersion}
		for _, tc := range []struct {
			name   string
			edit   func(r *identity.LoginRequest)
			reason string
		}{
			{"no age", func(r *identity.LoginRequest) {}, "age_required"},
			{"unknown band", func(r *identity.LoginRequest) { r.AgeBand = "child" }, "invalid"},
			{"both", func(r *identity.LoginRequest) { r.AgeBand, r.BirthDate = "adult", "1990-01-01" }, "invalid"},
			{"future birth date", func(r *identity.LoginRequest) { r.BirthDate = "2025-03-02" }, "invalid_birth_date"},
			{"not a date", func(r *identity.LoginRequest) { r.BirthDate = "1 March 2011" }, "invalid_birth_date"},
			{"under 14 without acknowledgement", func(r *identity.LoginRequest) { r.AgeBand = "under_14" }, "guardian_acknowledgement_required"},
			{"born 14 years ago tomorrow, no acknowledgement", func(r *identity.LoginRequest) { r.BirthDate = "2011-03-02" }, "guardian_acknowledgement_required"},
		} {
			req := base
			tc.edit(&req)
			_, err := f.ids.Login(ctx, req)
			wantCode(t, tc.name, err, yuncan.Invalid, tc.reason)
		}
		var n int
		if err := f.db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("refused sign-ups stored %d accounts (%v)", n, err)
		}
		// The same code still works: exactly 14 today is 14 to 17.
		req := base
		req.BirthDate, req.GuardianAcknowledged = "2011-03-01", true
		res, err := f.ids.Login(ctx, req)
		mustNil(t, "sign-up with the unspent code", err)
		if res.User.AgeBand != identity.Age14To17 {
			t.Errorf("born 2011-03-01, on 2025-03-01: band %q, want 14_17", res.User.AgeBand)
		}
		// 18 today is an adult, and needs no acknowledgement.
		adult := f.signUp(t, identity.LoginRequest{BirthDate: "2007-03-01"}).User
		if adult.AgeBand != identity.AgeAdult || !adult.GuardianAckAt.IsZero() {
			t.Errorf("born 2007-03-01: band %q, acknowledged at %v", adult.AgeBand, adult.GuardianAckAt)
		}
		// An existing account logs in without giving its age again.
		if _, err := f.ids.Login(ctx, identity.LoginRequest{Phone: string(adult.Phone), Code: f.code(t, string(adult.Phone))}); err != nil {
			t.Errorf("login of an existing account without age: %v", err)
		}
	})
}

// P70: the band a birth date gives, counted on the date in China.
func TestAgeBandOn(t *testing.T) {
	t.Parallel()
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	noon := at("2025-03-01T04:00:00Z") // 12:00 in China
	for _, tc := range []struct {
		birth string
		now   time.Time
		want  identity.AgeBand
	}{
		{"2011-03-01", noon, identity.Age14To17}, // 14 today
		{"2011-03-02", noon, identity.AgeUnder14},
		{"2007-03-01", noon, identity.AgeAdult}, // 18 today
		{"2007-03-02", noon, identity.Age14To17},
		{"2025-03-01", noon, identity.AgeUnder14}, // born today
		{"1900-01-01", noon, identity.AgeAdult},
		// 2025-02-28 16:30 UTC is already 1 March in China.
		{"2011-03-01", at("2025-02-28T16:30:00Z"), identity.Age14To17},
		{"2011-03-01", at("2025-02-28T15:30:00Z"), identity.AgeUnder14},
		// Born on 29 February: a year older on 1 March in other years.
		{"2008-02-29", at("2026-02-28T04:00:00Z"), identity.Age14To17},
		{"2008-02-29", at("2026-03-01T04:00:00Z"), identity.AgeAdult},
	} {
		got, err := identity.AgeBandOn(tc.birth, tc.now)
		if err != nil || got != tc.want {
			t.Errorf("AgeBandOn(%s, %v) = %q, %v; want %q", tc.birth, tc.now, got, err, tc.want)
		}
	}
	for _, bad := range []string{"2025-03-02", "1899-12-31", "2011-3-1", "", "2011-02-30"} {
		if _, err := identity.AgeBandOn(bad, noon); yuncan.ErrorReason(err) != "invalid_birth_date" {
			t.Errorf("AgeBandOn(%q) error %v; want invalid_birth_date", bad, err)
		}
	}
}

// P71: guardian requests are taken without login, checked, stored sealed,
// limited per client IP, and shown to whoever holds the id.
func TestGuardianRequests(t *testing.T) {
	eachMinorsDB(t, func(t *testing.T, f *minorsFixture) {
		ctx := context.Background()
		guardian, minor := newPhone(), newPhone()
		in := consent.GuardianRequestInput{GuardianPhone: guardian, MinorPhone: minor, Kind: "deletion", Message: "请删除我孩子的账号。\n谢谢"}

		for _, tc := range []struct {
			name  string
			edit  func(in *consent.GuardianRequestInput)
			field string
		}{
			{"no guardian phone", func(in *consent.GuardianRequestInput) { in.GuardianPhone = "" }, "guardian_phone"},
			{"bad minor phone", func(in *consent.GuardianRequestInput) { in.MinorPhone = "12345" }, "minor_phone"},
			{"same phones", func(in *consent.GuardianRequestInput) { in.MinorPhone = in.GuardianPhone }, "minor_phone"},
			{"unknown kind", func(in *consent.GuardianRequestInput) { in.Kind = "complaint" }, "kind"},
			{"other without message", func(in *consent.GuardianRequestInput) { in.Kind, in.Message = "other", " " }, "message"},
			{"long message", func(in *consent.GuardianRequestInput) {
				in.Message = strings.Repeat("字", consent.MaxGuardianMessage+1)
			}, "message"},
			{"control characters", func(in *consent.GuardianRequestInput) { in.Message = "a\x00b" }, "message"},
		} {
			bad := in
			tc.edit(&bad)
			_, err := f.minors.FileGuardianRequest(ctx, bad, minorsIP)
			wantCode(t, tc.name, err, yuncan.Invalid, "invalid")
			if e := yuncan.AsError(err); e.Fields[tc.field] == "" {
				t.Errorf("%s: fields %v, want %s named", tc.name, e.Fields, tc.field)
			}
		}

		r, err := f.minors.FileGuardianRequest(ctx, in, minorsIP)
		mustNil(t, "FileGuardianRequest", err)
		if r.Status != consent.RequestReceived || r.Kind != consent.RequestDeletion || !r.CreatedAt.Equal(f.clock.Now()) || len(r.ID) != 36 {
			t.Errorf("filed: %+v", r)
		}
		got, err := f.minors.GuardianRequest(ctx, r.ID)
		mustNil(t, "GuardianRequest", err)
		if got != r {
			t.Errorf("GuardianRequest = %+v, want %+v", got, r)
		}
		got, err = f.minors.GuardianRequest(ctx, strings.ToUpper(r.ID))
		if err != nil || got.ID != r.ID {
			t.Errorf("GuardianRequest of the id in capitals: %+v, %v", got, err)
		}
		for _, id := range []string{"", "nope", "00000000-0000-4000-8000-000000000000", r.ID + "x"} {
			_, err := f.minors.GuardianRequest(ctx, id)
			wantCode(t, "GuardianRequest "+id, err, yuncan.NotFound, "not_found")
		}

		// Stored sealed: neither number nor the message is in clear, and
		// the numbers open again with their column's context.
		rec, err := f.db.Minors().GuardianRequest(ctx, r.ID)
		mustNil(t, "stored request", err)
		for _, v := range []string{rec.GuardianPhoneSealed, rec.MinorPhoneSealed, rec.MessageSealed, rec.IPIndex} {
			if strings.Contains(v, guardian[3:]) || strings.Contains(v, minor[3:]) || strings.Contains(v, "删除") || strings.Contains(v, minorsIP) {
				t.Errorf("stored in clear: %q", v)
			}
		}
		if pt, err := f.keys.Open("guardian_requests.minor_phone", rec.MinorPhoneSealed); err != nil || string(pt) != minor {
			t.Errorf("minor phone opens to %q, %v", pt, err)
		}
		if rec.MinorPhoneIndex != f.keys.BlindIndex("phone", minor) {
			t.Error("the minor's index is not in the users.phone domain: the account cannot be found")
		}

		// Ten an hour from one address; others are not held back, and an
		// hour later it opens again.
		for i := 1; i < f.minors.Config().RequestsPerIPHour; i++ {
			_, err := f.minors.FileGuardianRequest(ctx, in, minorsIP)
			mustNil(t, "FileGuardianRequest within the limit", err)
		}
		_, err = f.minors.FileGuardianRequest(ctx, in, minorsIP)
		wantCode(t, "one over the limit", err, yuncan.RateLimited, "rate_limited")
		if yuncan.AsError(err).RetryAfter <= 0 {
			t.Error("no RetryAfter")
		}
		_, err = f.minors.FileGuardianRequest(ctx, in, "198.51.100.1")
		mustNil(t, "another address", err)
		f.clock.Advance(time.Hour + time.Second)
		_, err = f.minors.FileGuardianRequest(ctx, in, minorsIP)
		mustNil(t, "an hour later", err)
	})
}
