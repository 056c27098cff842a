package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/sqlstore"
)

func exemptionUse(id string, sub consent.Subject, code string, offset time.Duration) consent.ExemptionUse {
	return consent.ExemptionUse{ID: id, Subject: sub, Purpose: consent.PurposeSecurity, Code: code,
		Detail: "fault ticket OPS-" + id, At: t0.Add(offset)}
}

func init() {
	register("SettingsRoundTrip", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Consent()
		createUser(t, db.Identity(), "u-1")
		createUser(t, db.Identity(), "u-2")

		_, err := s.SocialSettings(ctx, "u-1")
		wantCode(t, "SocialSettings never saved", err, yuncan.NotFound)

		// Each boolean on its own, so that a swapped column shows.
		for i, want := range []consent.SocialSettings{
			{RecommendMeToContacts: true, UpdatedAt: t0},
			{SuggestPeopleIMayKnow: true, UpdatedAt: t0.Add(time.Second)},
			{ShowIdentityOnSharePages: true, UpdatedAt: t0.Add(2 * time.Second)},
			{RecommendMeToContacts: true, SuggestPeopleIMayKnow: true, ShowIdentityOnSharePages: true, UpdatedAt: t0.Add(3 * time.Second)},
			{UpdatedAt: t0.Add(4 * time.Second)},
		} {
			if err := s.SaveSocialSettings(ctx, "u-1", want); err != nil {
				t.Fatalf("SaveSocialSettings #%d: %v", i, err)
			}
			got, err := s.SocialSettings(ctx, "u-1")
			if err != nil {
				t.Fatalf("SocialSettings #%d: %v", i, err)
			}
			same(t, "SocialSettings after save", got, want)
		}
		_, err = s.SocialSettings(ctx, "u-2")
		wantCode(t, "another account's SocialSettings", err, yuncan.NotFound)
	})

	register("SettingsOfNoAccount", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Consent()
		err := s.SaveSocialSettings(ctx, "nobody", consent.SocialSettings{UpdatedAt: t0})
		wantCode(t, "SaveSocialSettings for no account", err, yuncan.NotFound)
	})

	register("SettingsDeletedWithAccount", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Consent()
		createUser(t, db.Identity(), "u-1")
		createUser(t, db.Identity(), "u-2")
		for _, id := range []string{"u-1", "u-2"} {
			if err := s.SaveSocialSettings(ctx, id, consent.SocialSettings{RecommendMeToContacts: true, UpdatedAt: t0}); err != nil {
				t.Fatal(err)
			}
		}
		rawExec(t, db, `DELETE FROM users WHERE id = ?`, "u-1")
		_, err := s.SocialSettings(ctx, "u-1")
		wantCode(t, "a deleted account's settings", err, yuncan.NotFound)
		if _, err := s.SocialSettings(ctx, "u-2"); err != nil {
			t.Errorf("another account's settings: %v", err)
		}
	})

	register("ExemptionUses", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Consent()
		if us, err := s.ExemptionUses(ctx, time.Time{}); err != nil || len(us) != 0 {
			t.Fatalf("ExemptionUses of an empty store = %v, %v", us, err)
		}
		// Inserted out of time order; b and c share a time, so the id
		// breaks the tie.
		a := exemptionUse("x-a", consent.User("u-1"), "1.8h", 0)
		c := exemptionUse("x-c", consent.Device("d-1"), "1.8d", time.Second)
		b := exemptionUse("x-b", consent.User("u-2"), "1.8c", time.Second)
		d := exemptionUse("x-d", consent.User("u-1"), "1.8h", 2*time.Second)
		for _, u := range []consent.ExemptionUse{d, c, a, b} {
			if err := s.AddExemptionUse(ctx, u); err != nil {
				t.Fatalf("AddExemptionUse %s: %v", u.ID, err)
			}
		}
		all, err := s.ExemptionUses(ctx, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		same(t, "ExemptionUses since ever", all, []consent.ExemptionUse{a, b, c, d})
		later, err := s.ExemptionUses(ctx, b.At)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "ExemptionUses since b (inclusive)", later, []consent.ExemptionUse{b, c, d})
		none, err := s.ExemptionUses(ctx, d.At.Add(time.Nanosecond))
		if err != nil || len(none) != 0 {
			t.Errorf("ExemptionUses after the last = %v, %v; want none", none, err)
		}

		dup := a
		dup.Detail = "another"
		wantCode(t, "AddExemptionUse with a used id", s.AddExemptionUse(ctx, dup), yuncan.Conflict)

		// P51: uses older than the legal period go; the boundary stays.
		n, err := s.DeleteExemptionUsesBefore(ctx, b.At)
		if err != nil || n != 1 {
			t.Errorf("DeleteExemptionUsesBefore(b) = %d, %v; want 1", n, err)
		}
		left, _ := s.ExemptionUses(ctx, time.Time{})
		same(t, "ExemptionUses after the expiry", left, []consent.ExemptionUse{b, c, d})
	})
}
