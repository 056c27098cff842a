package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/identity"
	"github.com/yuncan/yuncan/internal/sqlstore"
)

// t0 has nanoseconds in it so that the tests see any loss of precision.
var t0 = time.Date(2025, 3, 1, 8, 30, 0, 123456789, time.UTC)

func strp(s string) *string { return &s }

// newUserRecord is an account with only the required fields.
func newUserRecord(id, phoneIndex string) identity.UserRecord {
	return identity.UserRecord{ID: id, PhoneSealed: "k1:sealed-" + id, PhoneIndex: phoneIndex, Role: identity.RoleUser,
		Nickname: "user " + id, CreatedAt: t0, UpdatedAt: t0}
}

func createUser(t *testing.T, s identity.Store, id string) identity.UserRecord {
	t.Helper()
	u := newUserRecord(id, "idx-"+id)
	if err := s.CreateUser(context.Background(), u, identity.PolicyAcceptance{}); err != nil {
		t.Fatalf("CreateUser %s: %v", id, err)
	}
	return u
}

func createSession(t *testing.T, s identity.Store, id, userID, deviceID string, created time.Time) identity.SessionRecord {
	t.Helper()
	r := identity.SessionRecord{
		Session: identity.Session{ID: id, UserID: userID, Kind: identity.SessionApp, DeviceID: deviceID, UserAgent: "ua " + id,
			CreatedAt: created, LastSeenAt: created, ExpiresAt: created.Add(30 * 24 * time.Hour)},
		TokenHash: []byte("hash-" + id),
	}
	if err := s.CreateSession(context.Background(), r); err != nil {
		t.Fatalf("CreateSession %s: %v", id, err)
	}
	return r
}

func createDevice(t *testing.T, s identity.Store, id, userID string, seen time.Time) identity.DeviceRecord {
	t.Helper()
	r := identity.DeviceRecord{
		Device: identity.Device{ID: id, UserID: userID, Platform: "android", Model: "model " + id, OSVersion: "14",
			AppVersion: "1.0.0", PushToken: "push-" + id, CreatedAt: seen, LastSeenAt: seen},
		TokenHash: []byte("device-hash-" + id),
	}
	if err := s.CreateDevice(context.Background(), r); err != nil {
		t.Fatalf("CreateDevice %s: %v", id, err)
	}
	return r
}

// same fails the test when got and want differ, showing both as JSON
// (which follows pointers, so optional fields show their values).
func same(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", "  ")
		w, _ := json.MarshalIndent(want, "", "  ")
		t.Errorf("%s:\n got %s\nwant %s", what, g, w)
	}
}

func wantCode(t *testing.T, what string, err error, code yuncan.Code) {
	t.Helper()
	if got := yuncan.ErrorCode(err); got != code {
		t.Errorf("%s: error %v (code %q), want code %q", what, err, got, code)
	}
}

// rawExec runs a statement on the handle directly, for what the store
// never does itself (deleting an account row).
func rawExec(t *testing.T, db *sqlstore.DB, query string, args ...any) {
	t.Helper()
	if db.Dialect() == sqlstore.Postgres {
		for n := 1; strings.Contains(query, "?"); n++ {
			query = strings.Replace(query, "?", fmt.Sprintf("$%d", n), 1)
		}
	}
	if _, err := db.SQL().ExecContext(context.Background(), query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

func sessionIDs(ss []identity.Session) []string {
	ids := []string{}
	for _, s := range ss {
		ids = append(ids, s.ID)
	}
	return ids
}

func deviceIDs(ds []identity.Device) []string {
	ids := []string{}
	for _, d := range ds {
		ids = append(ids, d.ID)
	}
	return ids
}

func init() {
	register("IdentityUserRoundTrip", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Identity()
		// Every field set, times given in another zone: they come back
		// equal, in UTC, to the nanosecond.
		cst := time.FixedZone("CST", 8*3600)
		full := identity.UserRecord{
			ID: "u-full", PhoneSealed: "k1:c2VhbGVk", PhoneIndex: "idx-full", Role: identity.RoleModerator,
			Nickname: "云寻用户123456", AvatarKey: "avatars/u-full.webp",
			Gender: strp("female"), Birthday: strp("1990-02-28"), Region: strp("浙江 杭州"), Introduction: strp("第一行\n第二行"),
			PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$a2V5", LoginFailures: 3,
			LockedUntil: time.Date(2025, 3, 1, 9, 0, 0, 1, cst),
			CreatedAt:   time.Date(2025, 3, 1, 16, 30, 0, 123456789, cst),
			UpdatedAt:   time.Date(2025, 3, 1, 16, 31, 0, 999999999, cst),
		}
		if err := s.CreateUser(ctx, full, identity.PolicyAcceptance{Version: "2025-01", Channel: "app", AcceptedAt: full.CreatedAt}); err != nil {
			t.Fatal(err)
		}
		want := full
		want.LockedUntil, want.CreatedAt, want.UpdatedAt = full.LockedUntil.UTC(), full.CreatedAt.UTC(), full.UpdatedAt.UTC()
		got, err := s.UserByID(ctx, "u-full")
		if err != nil {
			t.Fatal(err)
		}
		same(t, "UserByID", got, want)
		for _, tm := range []time.Time{got.LockedUntil, got.CreatedAt, got.UpdatedAt} {
			if tm.Location() != time.UTC {
				t.Errorf("time %v comes back in %v, want UTC", tm, tm.Location())
			}
		}
		got, err = s.UserByPhoneIndex(ctx, "idx-full")
		if err != nil {
			t.Fatal(err)
		}
		same(t, "UserByPhoneIndex", got, want)

		// Only the required fields (P08): the optional ones stay nil, not
		// pointers to "".
		bare := newUserRecord("u-min", "idx-min")
		if err := s.CreateUser(ctx, bare, identity.PolicyAcceptance{}); err != nil {
			t.Fatal(err)
		}
		got, err = s.UserByID(ctx, "u-min")
		if err != nil {
			t.Fatal(err)
		}
		same(t, "UserByID of a minimal account", got, bare)
		if got.Gender != nil || got.Birthday != nil || got.Region != nil || got.Introduction != nil {
			t.Errorf("optional fields of a minimal account = %v %v %v %v, want nil", got.Gender, got.Birthday, got.Region, got.Introduction)
		}
		if !got.LockedUntil.IsZero() || got.PasswordHash != "" || got.AvatarKey != "" {
			t.Errorf("minimal account: locked %v, hash %q, avatar %q; want zero values", got.LockedUntil, got.PasswordHash, got.AvatarKey)
		}
		// An empty optional string is a value, not an absence.
		empty := newUserRecord("u-empty", "idx-empty")
		empty.Region = strp("")
		if err := s.CreateUser(ctx, empty, identity.PolicyAcceptance{}); err != nil {
			t.Fatal(err)
		}
		if got, err = s.UserByID(ctx, "u-empty"); err != nil || got.Region == nil || *got.Region != "" {
			t.Errorf("UserByID of an account with region \"\": %v, %v; want a pointer to \"\"", got.Region, err)
		}
	})

	register("IdentityCreateUserConflict", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Identity()
		first := newUserRecord("u-1", "idx-same")
		if err := s.CreateUser(ctx, first, identity.PolicyAcceptance{Version: "v1", Channel: "app", AcceptedAt: t0}); err != nil {
			t.Fatal(err)
		}
		second := newUserRecord("u-2", "idx-same")
		err := s.CreateUser(ctx, second, identity.PolicyAcceptance{Version: "v1", Channel: "app", AcceptedAt: t0})
		wantCode(t, "CreateUser with a taken phone index", err, yuncan.Conflict)
		// The account and its acceptance are written together or not at all.
		_, err = s.UserByID(ctx, "u-2")
		wantCode(t, "UserByID of the refused account", err, yuncan.NotFound)
		if as, err := s.PolicyAcceptances(ctx, "u-2"); err != nil || len(as) != 0 {
			t.Errorf("PolicyAcceptances of the refused account = %v, %v; want none", as, err)
		}
		got, err := s.UserByPhoneIndex(ctx, "idx-same")
		if err != nil || got.ID != "u-1" {
			t.Errorf("UserByPhoneIndex after the clash = %q, %v; want u-1", got.ID, err)
		}
		err = s.CreateUser(ctx, newUserRecord("u-1", "idx-other"), identity.PolicyAcceptance{})
		wantCode(t, "CreateUser with a taken id", err, yuncan.Conflict)
	})

	register("IdentityNotFound", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Identity()
		createUser(t, s, "u-present")
		_, err := s.UserByID(ctx, "u-absent")
		wantCode(t, "UserByID", err, yuncan.NotFound)
		_, err = s.UserByPhoneIndex(ctx, "idx-absent")
		wantCode(t, "UserByPhoneIndex", err, yuncan.NotFound)
		absent := newUserRecord("u-absent", "idx-absent")
		wantCode(t, "UpdateProfile", s.UpdateProfile(ctx, absent), yuncan.NotFound)
		wantCode(t, "SetPasswordHash", s.SetPasswordHash(ctx, "u-absent", "h", t0), yuncan.NotFound)
		wantCode(t, "SetLoginFailures", s.SetLoginFailures(ctx, "u-absent", 1, time.Time{}), yuncan.NotFound)
		wantCode(t, "SetRole", s.SetRole(ctx, "u-absent", identity.RoleAdmin), yuncan.NotFound)
		if as, err := s.PolicyAcceptances(ctx, "u-absent"); err != nil || len(as) != 0 {
			t.Errorf("PolicyAcceptances of an absent account = %v, %v; want none", as, err)
		}
		_, err = s.LatestCode(ctx, "idx-absent")
		wantCode(t, "LatestCode", err, yuncan.NotFound)
		_, err = s.AddCodeAttempt(ctx, "c-absent")
		wantCode(t, "AddCodeAttempt", err, yuncan.NotFound)
		if ok, err := s.UseCode(ctx, "c-absent", t0); ok || err != nil {
			t.Errorf("UseCode of an absent code = %v, %v; want false, nil", ok, err)
		}
		_, err = s.SessionByTokenHash(ctx, []byte("no such token"))
		wantCode(t, "SessionByTokenHash", err, yuncan.NotFound)
		wantCode(t, "DeleteSession", s.DeleteSession(ctx, "u-present", "s-absent"), yuncan.NotFound)
		if ss, err := s.SessionsByUser(ctx, "u-present"); err != nil || len(ss) != 0 {
			t.Errorf("SessionsByUser of an account without sessions = %v, %v; want none", ss, err)
		}
		_, err = s.DeviceByTokenHash(ctx, []byte("no such token"))
		wantCode(t, "DeviceByTokenHash", err, yuncan.NotFound)
		wantCode(t, "UpdateDevice", s.UpdateDevice(ctx, identity.Device{ID: "d-absent", Platform: "ios", LastSeenAt: t0}), yuncan.NotFound)
		wantCode(t, "BindDevice", s.BindDevice(ctx, "d-absent", "u-present"), yuncan.NotFound)
		wantCode(t, "BindDevice to none", s.BindDevice(ctx, "d-absent", ""), yuncan.NotFound)
		if ds, err := s.DevicesByUser(ctx, "u-present"); err != nil || len(ds) != 0 {
			t.Errorf("DevicesByUser of an account without devices = %v, %v; want none", ds, err)
		}
	})

	register("IdentityUpdateProfile", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Identity()
		u := createUser(t, s, "u-1")
		if err := s.SetPasswordHash(ctx, u.ID, "hash", t0); err != nil {
			t.Fatal(err)
		}
		stored, err := s.UserByID(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}

		edit := stored
		edit.Nickname, edit.AvatarKey = "小云", "avatars/1.webp"
		edit.Gender, edit.Birthday, edit.Region, edit.Introduction = strp("other"), strp("2000-01-01"), strp("上海"), strp("hi")
		edit.UpdatedAt = t0.Add(time.Hour + 1)
		// UpdateProfile writes the profile only: what else the record
		// carries is not stored.
		edit.PhoneSealed, edit.PhoneIndex, edit.Role, edit.PasswordHash = "k9:other", "idx-other", identity.RoleAdmin, "other"
		edit.LoginFailures, edit.LockedUntil, edit.CreatedAt = 9, t0.Add(time.Hour), t0.Add(time.Minute)
		if err := s.UpdateProfile(ctx, edit); err != nil {
			t.Fatal(err)
		}
		want := stored
		want.Nickname, want.AvatarKey = edit.Nickname, edit.AvatarKey
		want.Gender, want.Birthday, want.Region, want.Introduction = edit.Gender, edit.Birthday, edit.Region, edit.Introduction
		want.UpdatedAt = edit.UpdatedAt
		got, err := s.UserByID(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "after UpdateProfile", got, want)

		// nil clears an optional field.
		want.Gender, want.Birthday, want.Region, want.Introduction, want.AvatarKey = nil, nil, nil, nil, ""
		want.UpdatedAt = t0.Add(2 * time.Hour)
		if err := s.UpdateProfile(ctx, want); err != nil {
			t.Fatal(err)
		}
		got, err = s.UserByID(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "after clearing the optional fields", got, want)
	})

	register("IdentityPasswordAndLock", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Identity()
		u := createUser(t, s, "u-1")
		other := createUser(t, s, "u-2")
		locked := t0.Add(5*time.Minute + 7)
		if err := s.SetLoginFailures(ctx, u.ID, 5, locked); err != nil {
			t.Fatal(err)
		}
		got, err := s.UserByID(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.LoginFailures != 5 || !got.LockedUntil.Equal(locked) || got.PasswordHash != "" {
			t.Errorf("after SetLoginFailures: failures %d, locked %v, hash %q; want 5, %v, \"\"", got.LoginFailures, got.LockedUntil, got.PasswordHash, locked)
		}
		if err := s.SetLoginFailures(ctx, u.ID, 0, time.Time{}); err != nil {
			t.Fatal(err)
		}
		if got, _ = s.UserByID(ctx, u.ID); got.LoginFailures != 0 || !got.LockedUntil.IsZero() {
			t.Errorf("after clearing: failures %d, locked %v; want 0 and the zero time", got.LoginFailures, got.LockedUntil)
		}

		// Setting a password clears the failures and the lock.
		if err := s.SetLoginFailures(ctx, u.ID, 7, locked); err != nil {
			t.Fatal(err)
		}
		at := t0.Add(time.Hour + 3)
		if err := s.SetPasswordHash(ctx, u.ID, "$argon2id$new", at); err != nil {
			t.Fatal(err)
		}
		got, err = s.UserByID(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.PasswordHash != "$argon2id$new" || got.LoginFailures != 0 || !got.LockedUntil.IsZero() || !got.UpdatedAt.Equal(at) {
			t.Errorf("after SetPasswordHash: hash %q, failures %d, locked %v, updated %v; want the hash, 0, zero, %v",
				got.PasswordHash, got.LoginFailures, got.LockedUntil, got.UpdatedAt, at)
		}
		if got, _ := s.UserByID(ctx, other.ID); got.PasswordHash != "" || got.LoginFailures != 0 {
			t.Errorf("another account changed: hash %q, failures %d", got.PasswordHash, got.LoginFailures)
		}
	})

	register("IdentityRoles", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Identity()
		u := createUser(t, s, "u-1")
		other := createUser(t, s, "u-2")
		for _, role := range []identity.Role{identity.RoleModerator, identity.RoleAdmin, identity.RoleUser} {
			if err := s.SetRole(ctx, u.ID, role); err != nil {
				t.Fatal(err)
			}
			if got, err := s.UserByID(ctx, u.ID); err != nil || got.Role != role {
				t.Errorf("after SetRole(%s): role %q, %v", role, got.Role, err)
			}
		}
		if err := s.SetRole(ctx, u.ID, identity.RoleAdmin); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.UserByID(ctx, other.ID); got.Role != identity.RoleUser {
			t.Errorf("another account's role changed to %q", got.Role)
		}
	})

	register("IdentityPolicyAcceptances", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Identity()
		u := newUserRecord("u-1", "idx-1")
		first := identity.PolicyAcceptance{UserID: "ignored", Version: "2024-06", Channel: "web", AcceptedAt: t0}
		if err := s.CreateUser(ctx, u, first); err != nil {
			t.Fatal(err)
		}
		first.UserID = u.ID // CreateUser records it for the new account
		// With no version, CreateUser records none (staff accounts).
		createUser(t, s, "u-2")
		if got, err := s.PolicyAcceptances(ctx, "u-2"); err != nil || len(got) != 0 {
			t.Errorf("an account created without acceptance has %v, %v; want none", got, err)
		}
		third := identity.PolicyAcceptance{UserID: u.ID, Version: "2025-09", Channel: "api", AcceptedAt: t0.Add(48*time.Hour + 1)}
		second := identity.PolicyAcceptance{UserID: u.ID, Version: "2025-01", Channel: "app", AcceptedAt: t0.Add(24 * time.Hour)}
		others := identity.PolicyAcceptance{UserID: "u-2", Version: "2025-01", Channel: "app", AcceptedAt: t0}
		for _, a := range []identity.PolicyAcceptance{third, others, second} { // out of order
			if err := s.AddPolicyAcceptance(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.PolicyAcceptances(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "PolicyAcceptances, oldest first", got, []identity.PolicyAcceptance{first, second, third})
		// The same version may be accepted again (a new device, a new
		// channel): each acceptance is a record of its own.
		again := identity.PolicyAcceptance{UserID: "u-2", Version: "2025-01", Channel: "web", AcceptedAt: t0.Add(time.Hour)}
		if err := s.AddPolicyAcceptance(ctx, again); err != nil {
			t.Fatal(err)
		}
		got, err = s.PolicyAcceptances(ctx, "u-2")
		if err != nil {
			t.Fatal(err)
		}
		same(t, "PolicyAcceptances of u-2", got, []identity.PolicyAcceptance{others, again})
	})

	register("IdentityCodes", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Identity()
		code := func(id, phone, ip string, created time.Time) identity.CodeRecord {
			return identity.CodeRecord{ID: id, PhoneIndex: phone, IPIndex: ip, CodeMAC: []byte("mac\x00\xff" + id),
				CreatedAt: created, ExpiresAt: created.Add(5 * time.Minute)}
		}
		c1 := code("c-1", "idx-a", "ip-1", t0)
		c2 := code("c-2", "idx-a", "ip-2", t0.Add(time.Minute))
		c3 := code("c-3", "idx-a", "ip-1", t0.Add(2*time.Minute+1))
		cb := code("c-b", "idx-b", "ip-1", t0.Add(time.Hour))
		for _, c := range []identity.CodeRecord{c2, c3, cb, c1} { // out of order
			if err := s.CreateCode(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		wantCode(t, "CreateCode with a taken id", s.CreateCode(ctx, c1), yuncan.Conflict)

		got, err := s.LatestCode(ctx, "idx-a")
		if err != nil {
			t.Fatal(err)
		}
		same(t, "LatestCode", got, c3)
		if got, err := s.LatestCode(ctx, "idx-b"); err != nil || got.ID != "c-b" {
			t.Errorf("LatestCode of another number = %q, %v; want c-b", got.ID, err)
		}

		counts := []struct {
			name  string
			count func() (int, error)
			want  int
		}{
			{"phone a since t0", func() (int, error) { return s.CountCodesForPhoneSince(ctx, "idx-a", t0) }, 3},
			{"phone a since the second (inclusive)", func() (int, error) { return s.CountCodesForPhoneSince(ctx, "idx-a", c2.CreatedAt) }, 2},
			{"phone a since just after the third", func() (int, error) { return s.CountCodesForPhoneSince(ctx, "idx-a", c3.CreatedAt.Add(1)) }, 0},
			{"phone b", func() (int, error) { return s.CountCodesForPhoneSince(ctx, "idx-b", t0) }, 1},
			{"phone none", func() (int, error) { return s.CountCodesForPhoneSince(ctx, "idx-none", t0) }, 0},
			{"ip 1 since t0", func() (int, error) { return s.CountCodesForIPSince(ctx, "ip-1", t0) }, 3},
			{"ip 1 since just after t0", func() (int, error) { return s.CountCodesForIPSince(ctx, "ip-1", t0.Add(1)) }, 2},
			{"ip 2", func() (int, error) { return s.CountCodesForIPSince(ctx, "ip-2", t0) }, 1},
		}
		for _, tc := range counts {
			if n, err := tc.count(); err != nil || n != tc.want {
				t.Errorf("count %s = %d, %v; want %d", tc.name, n, err, tc.want)
			}
		}

		for want := 1; want <= 3; want++ {
			if n, err := s.AddCodeAttempt(ctx, c3.ID); err != nil || n != want {
				t.Fatalf("AddCodeAttempt = %d, %v; want %d", n, err, want)
			}
		}
		if got, _ := s.LatestCode(ctx, "idx-a"); got.Attempts != 3 {
			t.Errorf("LatestCode attempts = %d, want 3", got.Attempts)
		}
		if got, _ := s.LatestCode(ctx, "idx-b"); got.Attempts != 0 {
			t.Errorf("another code's attempts = %d, want 0", got.Attempts)
		}

		used := t0.Add(3*time.Minute + 5)
		if ok, err := s.UseCode(ctx, c3.ID, used); err != nil || !ok {
			t.Fatalf("first UseCode = %v, %v; want true", ok, err)
		}
		if ok, err := s.UseCode(ctx, c3.ID, used.Add(time.Second)); err != nil || ok {
			t.Fatalf("second UseCode = %v, %v; want false", ok, err)
		}
		got, err = s.LatestCode(ctx, "idx-a")
		if err != nil || !got.UsedAt.Equal(used) {
			t.Errorf("LatestCode used at %v, %v; want %v (the first use)", got.UsedAt, err, used)
		}
		if got, _ := s.LatestCode(ctx, "idx-b"); !got.UsedAt.IsZero() {
			t.Errorf("another code was marked used at %v", got.UsedAt)
		}

		// Strictly before: the code created at the cut-off stays.
		n, err := s.DeleteCodesCreatedBefore(ctx, c2.CreatedAt)
		if err != nil || n != 1 {
			t.Fatalf("DeleteCodesCreatedBefore = %d, %v; want 1", n, err)
		}
		if n, _ := s.CountCodesForPhoneSince(ctx, "idx-a", time.Time{}); n != 2 {
			t.Errorf("%d codes left for phone a, want 2", n)
		}
		if n, err := s.DeleteCodesCreatedBefore(ctx, cb.CreatedAt.Add(1)); err != nil || n != 3 {
			t.Errorf("DeleteCodesCreatedBefore of the rest = %d, %v; want 3", n, err)
		}
		_, err = s.LatestCode(ctx, "idx-a")
		wantCode(t, "LatestCode after deleting every code", err, yuncan.NotFound)
	})

	register("IdentitySessions", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Identity()
		u := createUser(t, s, "u-1")
		v := createUser(t, s, "u-2")
		d := createDevice(t, s, "d-1", u.ID, t0)
		s1 := createSession(t, s, "s-1", u.ID, "", t0)
		s3 := createSession(t, s, "s-3", u.ID, d.ID, t0.Add(2*time.Hour))
		s2 := createSession(t, s, "s-2", u.ID, "", t0.Add(time.Hour+1))
		sv := createSession(t, s, "s-v", v.ID, "", t0.Add(3*time.Hour))
		web := identity.SessionRecord{
			Session: identity.Session{ID: "s-web", UserID: u.ID, Kind: identity.SessionWeb, DeviceID: d.ID, UserAgent: "Mozilla/5.0 云寻",
				CreatedAt: t0.Add(30 * time.Minute), LastSeenAt: t0.Add(40 * time.Minute), ExpiresAt: t0.Add(7 * 24 * time.Hour)},
			TokenHash: []byte{0, 1, 2, 0xff},
		}
		if err := s.CreateSession(ctx, web); err != nil {
			t.Fatal(err)
		}

		got, err := s.SessionByTokenHash(ctx, []byte{0, 1, 2, 0xff})
		if err != nil {
			t.Fatal(err)
		}
		same(t, "SessionByTokenHash", got, web.Session)
		got, err = s.SessionByTokenHash(ctx, s1.TokenHash)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "SessionByTokenHash without a device", got, s1.Session)

		dup := s1
		dup.ID = "s-dup"
		wantCode(t, "CreateSession with a taken token hash", s.CreateSession(ctx, dup), yuncan.Conflict)

		seen := t0.Add(90*time.Minute + 3)
		if err := s.TouchSession(ctx, s1.ID, seen); err != nil {
			t.Fatal(err)
		}
		got, err = s.SessionByTokenHash(ctx, s1.TokenHash)
		want := s1.Session
		want.LastSeenAt = seen
		if err != nil {
			t.Fatal(err)
		}
		same(t, "after TouchSession", got, want)

		list, err := s.SessionsByUser(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "SessionsByUser, newest first", sessionIDs(list), []string{"s-3", "s-2", "s-web", "s-1"})
		same(t, "a listed session", list[1], s2.Session)

		// Another user's session id is not found, and stays.
		wantCode(t, "DeleteSession of another user's session", s.DeleteSession(ctx, u.ID, sv.ID), yuncan.NotFound)
		if _, err := s.SessionByTokenHash(ctx, sv.TokenHash); err != nil {
			t.Errorf("the other user's session after the refused delete: %v", err)
		}
		if err := s.DeleteSession(ctx, u.ID, s1.ID); err != nil {
			t.Fatal(err)
		}
		wantCode(t, "DeleteSession twice", s.DeleteSession(ctx, u.ID, s1.ID), yuncan.NotFound)
		_, err = s.SessionByTokenHash(ctx, s1.TokenHash)
		wantCode(t, "SessionByTokenHash of a deleted session", err, yuncan.NotFound)

		n, err := s.DeleteSessionsExcept(ctx, u.ID, s3.ID)
		if err != nil || n != 2 {
			t.Fatalf("DeleteSessionsExcept = %d, %v; want 2", n, err)
		}
		list, _ = s.SessionsByUser(ctx, u.ID)
		same(t, "sessions left", sessionIDs(list), []string{"s-3"})
		list, _ = s.SessionsByUser(ctx, v.ID)
		same(t, "the other user's sessions", sessionIDs(list), []string{"s-v"})

		// Expired strictly before the cut-off.
		n, err = s.DeleteSessionsExpiredBefore(ctx, s3.ExpiresAt)
		if err != nil || n != 0 {
			t.Fatalf("DeleteSessionsExpiredBefore its expiry = %d, %v; want 0", n, err)
		}
		n, err = s.DeleteSessionsExpiredBefore(ctx, s3.ExpiresAt.Add(1))
		if err != nil || n != 1 {
			t.Fatalf("DeleteSessionsExpiredBefore just after = %d, %v; want 1", n, err)
		}
		list, _ = s.SessionsByUser(ctx, u.ID)
		same(t, "sessions after expiry", sessionIDs(list), []string{})
		if _, err := s.SessionByTokenHash(ctx, sv.TokenHash); err != nil {
			t.Errorf("a session expiring later: %v", err)
		}
	})

	register("IdentityDeleteUserCascades", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Identity()
		u := newUserRecord("u-1", "idx-1")
		if err := s.CreateUser(ctx, u, identity.PolicyAcceptance{Version: "v1", Channel: "app", AcceptedAt: t0}); err != nil {
			t.Fatal(err)
		}
		keep := createUser(t, s, "u-2")
		d := createDevice(t, s, "d-1", u.ID, t0)
		s1 := createSession(t, s, "s-1", u.ID, d.ID, t0)
		sk := createSession(t, s, "s-keep", keep.ID, "", t0)

		rawExec(t, db, `DELETE FROM users WHERE id = ?`, u.ID)

		_, err := s.SessionByTokenHash(ctx, s1.TokenHash)
		wantCode(t, "a deleted account's session", err, yuncan.NotFound)
		if as, err := s.PolicyAcceptances(ctx, u.ID); err != nil || len(as) != 0 {
			t.Errorf("a deleted account's acceptances = %v, %v; want none", as, err)
		}
		// The device lives on, anonymous (it may still get pushes).
		got, err := s.DeviceByTokenHash(ctx, d.TokenHash)
		if err != nil || got.UserID != "" {
			t.Errorf("a deleted account's device: user %q, %v; want \"\"", got.UserID, err)
		}
		if _, err := s.SessionByTokenHash(ctx, sk.TokenHash); err != nil {
			t.Errorf("another account's session: %v", err)
		}
	})

	register("IdentityDevices", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Identity()
		u := createUser(t, s, "u-1")
		v := createUser(t, s, "u-2")
		// A device is known before any login.
		d1 := createDevice(t, s, "d-1", "", t0)
		got, err := s.DeviceByTokenHash(ctx, d1.TokenHash)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "DeviceByTokenHash", got, d1.Device)
		dup := d1
		dup.ID = "d-dup"
		wantCode(t, "CreateDevice with a taken token hash", s.CreateDevice(ctx, dup), yuncan.Conflict)

		if err := s.BindDevice(ctx, d1.ID, u.ID); err != nil {
			t.Fatal(err)
		}
		d2 := createDevice(t, s, "d-2", u.ID, t0.Add(time.Hour))
		d3 := createDevice(t, s, "d-3", v.ID, t0.Add(2*time.Hour))
		list, err := s.DevicesByUser(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "DevicesByUser, last seen first", deviceIDs(list), []string{"d-2", "d-1"})
		want := d1.Device
		want.UserID = u.ID
		same(t, "a bound device", list[1], want)

		// UpdateDevice writes what the device reports and when it was
		// seen; the binding and creation time stay.
		upd := want
		upd.Platform, upd.Model, upd.OSVersion, upd.AppVersion, upd.PushToken = "harmonyos", "Mate 60", "4.2", "2.0.0", "new-push"
		upd.LastSeenAt = t0.Add(3*time.Hour + 9)
		arg := upd
		arg.UserID, arg.CreatedAt = v.ID, t0.Add(time.Minute)
		if err := s.UpdateDevice(ctx, arg); err != nil {
			t.Fatal(err)
		}
		got, err = s.DeviceByTokenHash(ctx, d1.TokenHash)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "after UpdateDevice", got, upd)
		list, _ = s.DevicesByUser(ctx, u.ID)
		same(t, "DevicesByUser after d-1 was seen", deviceIDs(list), []string{"d-1", "d-2"})

		// Unbinding (logout, P04) keeps the device, anonymous.
		if err := s.BindDevice(ctx, d1.ID, ""); err != nil {
			t.Fatal(err)
		}
		list, _ = s.DevicesByUser(ctx, u.ID)
		same(t, "DevicesByUser after unbinding d-1", deviceIDs(list), []string{"d-2"})
		if got, err := s.DeviceByTokenHash(ctx, d1.TokenHash); err != nil || got.UserID != "" {
			t.Errorf("unbound device: user %q, %v; want \"\"", got.UserID, err)
		}
		// Rebinding moves a device to whoever logs in on it.
		if err := s.BindDevice(ctx, d2.ID, v.ID); err != nil {
			t.Fatal(err)
		}
		list, _ = s.DevicesByUser(ctx, v.ID)
		same(t, "DevicesByUser of u-2", deviceIDs(list), []string{"d-3", "d-2"})

		// Strictly before the cut-off: d-3, seen at the cut-off, stays.
		n, err := s.DeleteDevicesSeenBefore(ctx, d3.LastSeenAt)
		if err != nil || n != 1 {
			t.Fatalf("DeleteDevicesSeenBefore = %d, %v; want 1 (d-2)", n, err)
		}
		_, err = s.DeviceByTokenHash(ctx, d2.TokenHash)
		wantCode(t, "a deleted device", err, yuncan.NotFound)
		for _, d := range []identity.DeviceRecord{d1, d3} {
			if _, err := s.DeviceByTokenHash(ctx, d.TokenHash); err != nil {
				t.Errorf("device %s after the expiry: %v", d.ID, err)
			}
		}
	})

	register("IdentityDeleteDeviceUnlinksSessions", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Identity()
		u := createUser(t, s, "u-1")
		old := createDevice(t, s, "d-old", u.ID, t0)
		fresh := createDevice(t, s, "d-fresh", u.ID, t0.Add(24*time.Hour))
		s1 := createSession(t, s, "s-1", u.ID, old.ID, t0)
		s2 := createSession(t, s, "s-2", u.ID, fresh.ID, t0)
		if n, err := s.DeleteDevicesSeenBefore(ctx, t0.Add(time.Hour)); err != nil || n != 1 {
			t.Fatalf("DeleteDevicesSeenBefore = %d, %v; want 1", n, err)
		}
		got, err := s.SessionByTokenHash(ctx, s1.TokenHash)
		if err != nil || got.DeviceID != "" {
			t.Errorf("session of a deleted device: device %q, %v; want the session kept with no device", got.DeviceID, err)
		}
		got, err = s.SessionByTokenHash(ctx, s2.TokenHash)
		if err != nil || got.DeviceID != fresh.ID {
			t.Errorf("session of a kept device: device %q, %v; want %s", got.DeviceID, err, fresh.ID)
		}
		list, err := s.SessionsByUser(ctx, u.ID)
		if err != nil || !slices.ContainsFunc(list, func(se identity.Session) bool { return se.ID == s1.ID && se.DeviceID == "" }) {
			t.Errorf("SessionsByUser = %v, %v; want s-1 without a device", list, err)
		}
	})
}
