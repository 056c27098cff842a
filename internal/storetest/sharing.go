package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/seeking"
	"github.com/yuncan/yuncan/internal/sharing"
	"github.com/yuncan/yuncan/internal/sqlstore"
)

func disclosure(id string, sub consent.Subject, phoneIndex string, offset time.Duration) sharing.Entry {
	return sharing.Entry{ID: id, At: t0.Add(offset), Recipient: "sms_provider", Purpose: consent.PurposeAccount,
		Fields: []string{"phone", "code"}, Basis: sharing.BasisNecessary, Subject: sub, PhoneIndex: phoneIndex}
}

func addDisclosure(t *testing.T, s *sqlstore.SharingStore, e sharing.Entry) {
	t.Helper()
	if err := s.AddDisclosure(context.Background(), e); err != nil {
		t.Fatalf("AddDisclosure %s: %v", e.ID, err)
	}
}

func disclosureIDs(es []sharing.Entry) []string {
	out := []string{}
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

func init() {
	// P33: the ledger keeps what was disclosed about whom, and gives an
	// account back its own entries (its devices' and those recorded by
	// its number before it existed), newest first, a page at a time.
	register("SharingLedgerOfAPerson", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Sharing()
		u := createUser(t, db.Identity(), "ann")
		createUser(t, db.Identity(), "bob")
		createDevice(t, db.Identity(), "dev-ann", "ann", t0)
		createDevice(t, db.Identity(), "dev-bob", "bob", t0)

		mine := []sharing.Entry{
			disclosure("01000000-0000-7000-8000-000000000001", consent.Subject{}, u.PhoneIndex, 0), // before the account
			disclosure("01000000-0000-7000-8000-000000000002", consent.User("ann"), "", time.Minute),
			{ID: "01000000-0000-7000-8000-000000000003", At: t0.Add(2 * time.Minute), Recipient: "apns", Purpose: consent.PurposeCrossBorderPush,
				Fields: []string{"push_token", "title", "body", "data"}, Basis: sharing.BasisConsent, Subject: consent.Device("dev-ann")},
			{ID: "01000000-0000-7000-8000-000000000004", At: t0.Add(3 * time.Minute), Recipient: "certifier", Purpose: consent.PurposeRealName,
				Fields: []string{"real_name", "id_number"}, Basis: sharing.BasisExemption, Exemption: "1.8c", Subject: consent.User("ann")},
			// The same instant as the one before: the id orders them.
			disclosure("01000000-0000-7000-8000-000000000005", consent.User("ann"), "", 3*time.Minute),
		}
		for _, e := range mine {
			addDisclosure(t, s, e)
		}
		for _, e := range []sharing.Entry{
			disclosure("02000000-0000-7000-8000-000000000001", consent.User("bob"), "", time.Minute),
			disclosure("02000000-0000-7000-8000-000000000002", consent.Device("dev-bob"), "", time.Minute),
			disclosure("02000000-0000-7000-8000-000000000003", consent.Subject{}, "idx-of-a-stranger", time.Minute),
			// A device id that is not one of ann's, and a user subject
			// whose id equals a phone index: neither is hers.
			disclosure("02000000-0000-7000-8000-000000000004", consent.Device("ann"), "", time.Minute),
		} {
			addDisclosure(t, s, e)
		}
		err := s.AddDisclosure(ctx, mine[0])
		wantCode(t, "AddDisclosure of an existing id", err, yuncan.Conflict)

		all, err := s.DisclosuresOf(ctx, "ann", sharing.Cursor{}, 10)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{mine[4].ID, mine[3].ID, mine[2].ID, mine[1].ID, mine[0].ID}
		same(t, "DisclosuresOf ann", disclosureIDs(all), want)
		if len(all) == 5 {
			same(t, "the certifier entry", all[1], mine[3])
			same(t, "the entry before the account", all[4], mine[0])
		}
		// Pages of two, each after the last of the one before.
		var paged []string
		var after sharing.Cursor
		for range 4 {
			page, err := s.DisclosuresOf(ctx, "ann", after, 2)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			paged = append(paged, disclosureIDs(page)...)
			last := page[len(page)-1]
			after = sharing.Cursor{At: last.At, ID: last.ID}
		}
		same(t, "DisclosuresOf ann in pages", paged, want)

		bob, err := s.DisclosuresOf(ctx, "bob", sharing.Cursor{}, 10)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "DisclosuresOf bob", disclosureIDs(bob), []string{"02000000-0000-7000-8000-000000000002", "02000000-0000-7000-8000-000000000001"})
		none, err := s.DisclosuresOf(ctx, "nobody", sharing.Cursor{}, 10)
		if err != nil || len(none) != 0 {
			t.Fatalf("DisclosuresOf of no account = %v, %v", disclosureIDs(none), err)
		}

		got, err := s.UserByPhoneIndex(ctx, u.PhoneIndex)
		if err != nil || got != "ann" {
			t.Fatalf("UserByPhoneIndex = %q, %v", got, err)
		}
		_, err = s.UserByPhoneIndex(ctx, "idx-of-a-stranger")
		wantCode(t, "UserByPhoneIndex of a number without an account", err, yuncan.NotFound)

		// The rows stay when the account goes (a legal record); only
		// those naming the account itself still answer to its id.
		rawExec(t, db, `DELETE FROM devices WHERE user_id = ?`, "ann")
		rawExec(t, db, `DELETE FROM users WHERE id = ?`, "ann")
		left, err := s.DisclosuresOf(ctx, "ann", sharing.Cursor{}, 10)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "DisclosuresOf a gone account", disclosureIDs(left), []string{mine[4].ID, mine[3].ID, mine[1].ID})
	})

	// P51: entries older than their legal period go, younger ones stay.
	register("SharingLedgerExpiry", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Sharing()
		for i := range 3 {
			addDisclosure(t, s, disclosure(fmt.Sprintf("03000000-0000-7000-8000-00000000000%d", i), consent.User("u"), "", time.Duration(i)*time.Hour))
		}
		n, err := s.DeleteDisclosuresBefore(ctx, t0.Add(90*time.Minute))
		if err != nil || n != 2 {
			t.Fatalf("DeleteDisclosuresBefore = %d, %v; want 2", n, err)
		}
		n, err = s.DeleteDisclosuresBefore(ctx, t0.Add(90*time.Minute))
		if err != nil || n != 0 {
			t.Fatalf("DeleteDisclosuresBefore again = %d, %v; want 0", n, err)
		}
		var count int
		if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM sharing_ledger`).Scan(&count); err != nil || count != 1 {
			t.Fatalf("rows left = %d, %v", count, err)
		}
	})

	// P36: the statistics read only published cases in the period, with
	// nothing that names them, and the people their rings reached.
	register("SharingCaseFacts", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Sharing()
		createUser(t, db.Identity(), "rep")
		mk := func(id string, st seeking.Status, published time.Time) {
			c := newCaseRecord(id, "rep")
			c.Status, c.PublishedAt = st, published
			createCase(t, db.Seeking(), c)
		}
		mk("c-in", seeking.StatusPublished, t0.Add(time.Hour))
		mk("c-found", seeking.StatusFoundSafe, t0.Add(2*time.Hour))
		mk("c-before", seeking.StatusPublished, t0.Add(-time.Hour))
		mk("c-after", seeking.StatusPublished, t0.Add(48*time.Hour))
		mk("c-draft", seeking.StatusDraft, time.Time{})
		a := newAlert("al-in", "c-in", "")
		if _, _, err := db.Alert().CreateAlert(ctx, a); err != nil {
			t.Fatal(err)
		}
		rawExec(t, db, `UPDATE alert_rings SET recipients = ? WHERE alert_id = ? AND ring = ?`, 40, "al-in", 1)
		rawExec(t, db, `UPDATE alert_rings SET recipients = ? WHERE alert_id = ? AND ring = ?`, 2, "al-in", 2)

		facts, err := s.CaseFacts(ctx, t0, t0.Add(24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(facts, func(x, y sharing.CaseFact) int { return x.PublishedAt.Compare(y.PublishedAt) })
		same(t, "CaseFacts", facts, []sharing.CaseFact{
			{Category: "child", Status: "published", PublishedAt: t0.Add(time.Hour), AreaLat: 303, AreaLng: 1202, Alerted: 42},
			{Category: "child", Status: "found_safe", PublishedAt: t0.Add(2 * time.Hour), AreaLat: 303, AreaLng: 1202, Alerted: 0},
		})
	})

	// Partner statistics are for staff of a partner organisation.
	register("SharingPartnerStaff", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Sharing()
		createUser(t, db.Identity(), "officer")
		createUser(t, db.Identity(), "citizen")
		if err := db.Seeking().CreateOrg(ctx, seeking.Org{ID: "org-1", Name: "派出所", Kind: seeking.OrgPolice, CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		if err := db.Seeking().AddStaff(ctx, seeking.Staff{OrgID: "org-1", UserID: "officer", AddedBy: "admin", AddedAt: t0}); err != nil {
			t.Fatal(err)
		}
		for id, want := range map[string]bool{"officer": true, "citizen": false, "nobody": false} {
			got, err := s.IsPartnerStaff(ctx, id)
			if err != nil || got != want {
				t.Errorf("IsPartnerStaff(%s) = %v, %v; want %v", id, got, err, want)
			}
		}
	})
}
