package sharing_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/notify"
	"github.com/yuncan/yuncan/internal/sharing"
)

func wantRefused(t *testing.T, what string, err error, reason string) {
	t.Helper()
	e := yuncan.AsError(err)
	if e == nil || e.Code != yuncan.Forbidden || e.Reason != reason {
		t.Fatalf("%s: %v, want Forbidden %s", what, err, reason)
	}
}

// P33: a disclosure that needs consent is refused, and logged with ids
// only, while there is none; with it, and only then, a ledger row names
// recipient, purpose, fields, basis, subject and time. Withdrawing the
// consent closes it again at once.
func TestDiscloseNeedsConsent(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	uid, phone := e.signUp(t)
	sub := consent.User(uid)
	before := e.rows(t)
	d := sharing.Disclosure{Recipient: "certifier", Subject: sub, Fields: []string{"real_name", "id_number"}}

	_, err := e.ledger.Disclose(ctx, d)
	wantRefused(t, "without consent", err, "consent_required")
	if n := e.rows(t); n != before {
		t.Fatalf("a refused disclosure left %d rows", n-before)
	}
	log := e.log.String()
	if !strings.Contains(log, "disclosure refused") || !strings.Contains(log, uid) || !strings.Contains(log, "recipient=certifier") {
		t.Fatalf("the refusal is not logged with its ids:\n%s", log)
	}
	if strings.Contains(log, phone) || strings.Contains(log, phone[3:]) || strings.Contains(log, e.ledger.PhoneIndex(phone)) {
		t.Fatalf("the log holds the number or its index:\n%s", log)
	}

	if err := e.cs.Grant(ctx, sub, consent.PurposeRealName, consent.ChannelAPI); err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC()
	got, err := e.ledger.Disclose(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if got.Basis != sharing.BasisConsent || got.Purpose != consent.PurposeRealName || got.Recipient != "certifier" ||
		got.Subject != sub || !slices.Equal(got.Fields, d.Fields) || got.At.Before(at.Add(-time.Second)) || got.PhoneIndex != "" {
		t.Fatalf("entry = %+v", got)
	}
	mine := e.mine(t, uid)
	if len(mine) == 0 || mine[0].ID != got.ID || !slices.Equal(mine[0].Fields, d.Fields) || mine[0].Basis != sharing.BasisConsent {
		t.Fatalf("the person's ledger = %+v, want the entry first", mine)
	}

	if err := e.cs.Withdraw(ctx, sub, consent.PurposeRealName, consent.ChannelAPI); err != nil {
		t.Fatal(err)
	}
	_, err = e.ledger.Disclose(ctx, d)
	wantRefused(t, "after the withdrawal", err, "consent_required")
}

// P33, policy 3.4: without consent, only a named legal exemption lets
// data go; the exemption's use is recorded with the consent area, and the
// ledger names its code. An exemption that is not the policy's is
// refused and nothing is recorded.
func TestDiscloseUnderAnExemption(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	uid, _ := e.signUp(t)
	sub := consent.User(uid)
	d := sharing.Disclosure{Recipient: "certifier", Subject: sub, Fields: []string{"real_name", "id_number"},
		Exemption: "1.8c", Detail: "police request, ticket 7f3a"}
	got, err := e.ledger.Disclose(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if got.Basis != sharing.BasisExemption || got.Exemption != "1.8c" {
		t.Fatalf("entry = %+v", got)
	}
	uses, err := e.cs.ExemptionUses(ctx, time.Time{})
	if err != nil || len(uses) != 1 || uses[0].Code != "1.8c" || uses[0].Subject != sub || uses[0].Purpose != consent.PurposeRealName {
		t.Fatalf("exemption uses = %+v, %v", uses, err)
	}
	rows := e.rows(t)
	d.Exemption = "9.9"
	_, err = e.ledger.Disclose(ctx, d)
	if yuncan.ErrorCode(err) != yuncan.Invalid {
		t.Fatalf("an unknown exemption: %v, want Invalid", err)
	}
	d.Exemption, d.Detail = "1.8c", ""
	_, err = e.ledger.Disclose(ctx, d)
	if yuncan.ErrorCode(err) != yuncan.Invalid {
		t.Fatalf("an exemption without a reason: %v, want Invalid", err)
	}
	if n := e.rows(t); n != rows {
		t.Fatalf("refused exemptions left %d rows", n-rows)
	}
}

// P47, P34: an undeclared recipient (another controller, a bulk
// transfer) is refused; so is a field the policy does not name for the
// recipient, a field named twice, and a disclosure that names no field.
// Nothing is recorded.
func TestDiscloseOnlyWhatThePolicyNames(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	uid, _ := e.signUp(t)
	sub := consent.User(uid)
	for _, p := range []consent.Purpose{consent.PurposeRealName, consent.PurposeCrossBorderPush} {
		if err := e.cs.Grant(ctx, sub, p, consent.ChannelAPI); err != nil {
			t.Fatal(err)
		}
	}
	rows := e.rows(t)
	for _, tc := range []struct {
		name   string
		d      sharing.Disclosure
		reason string
	}{
		{"an undeclared recipient", sharing.Disclosure{Recipient: "acquirer_inc", Subject: sub, Fields: []string{"phone"}}, "recipient_undeclared"},
		{"a bulk export", sharing.Disclosure{Recipient: "bulk_export", Subject: sub, Fields: []string{"users.phone"}}, "recipient_undeclared"},
		{"an extra field", sharing.Disclosure{Recipient: "sms_provider", Subject: sub, Fields: []string{"phone", "code", "nickname"}}, "field_not_declared"},
		{"another recipient's field", sharing.Disclosure{Recipient: "apns", Subject: sub, Fields: []string{"push_token", "real_name"}}, "field_not_declared"},
		{"a field twice", sharing.Disclosure{Recipient: "certifier", Subject: sub, Fields: []string{"real_name", "real_name"}}, "field_not_declared"},
		{"no field", sharing.Disclosure{Recipient: "certifier", Subject: sub}, "field_not_declared"},
	} {
		_, err := e.ledger.Disclose(ctx, tc.d)
		wantRefused(t, tc.name, err, tc.reason)
	}
	if n := e.rows(t); n != rows {
		t.Fatalf("refused disclosures left %d rows", n-rows)
	}
	// Fewer fields than declared is the minimum necessary: a two-element
	// real-name check sends no phone.
	if _, err := e.ledger.Disclose(ctx, sharing.Disclosure{Recipient: "certifier", Subject: sub, Fields: []string{"real_name", "id_number"}}); err != nil {
		t.Fatal(err)
	}
}

// P42: a recipient declared de-identified (the advertising partners, the
// video partner, the map service) never gets a name, an ID number, a
// phone number or an account id, whatever the consent; the policy data
// declares no such field for any of them; the advertisers get the
// rotating advertising id and interest tags only, with the consent.
func TestNoIdentifiersToDeidentifiedRecipients(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	uid, _ := e.signUp(t)
	sub := consent.User(uid)
	dm := e.ledger.DataMap()
	for id, cat := range sharing.DirectIdentifiers {
		found := false
		for _, c := range dm.Categories {
			if c.ID == cat {
				found = c.Personal
			}
		}
		if !found {
			t.Errorf("direct identifier %s names %q, which is not a personal category of the policy data", id, cat)
		}
	}
	deidentified := 0
	for _, r := range dm.Recipients {
		if !r.Deidentified {
			continue
		}
		deidentified++
		for _, f := range r.Fields {
			if _, ok := sharing.DirectIdentifiers[f]; ok {
				t.Errorf("the policy data gives %s, declared de-identified, the direct identifier %s", r.ID, f)
			}
		}
		if err := e.cs.Grant(ctx, sub, r.Purpose, consent.ChannelAPI); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"name", "real_name", "id_number", "phone", "user_id", "public_id"} {
			_, err := e.ledger.Disclose(ctx, sharing.Disclosure{Recipient: r.ID, Subject: sub, Fields: append(slices.Clone(r.Fields[:1]), f)})
			wantRefused(t, r.ID+" with "+f, err, "identifier_to_deidentified")
		}
	}
	if deidentified < 3 {
		t.Fatalf("only %d recipients are declared de-identified", deidentified)
	}
	rows := e.rows(t)
	got, err := e.ledger.Disclose(ctx, sharing.Disclosure{Recipient: "ad_partners", Subject: sub, Fields: []string{"ad_id", "interest_tags"}})
	if err != nil || got.Basis != sharing.BasisConsent {
		t.Fatalf("ad_partners with the ad id: %+v, %v", got, err)
	}
	if n := e.rows(t); n != rows+1 {
		t.Fatalf("%d rows recorded, want 1", n-rows)
	}
	// Without the consent, not even the ad id goes.
	if err := e.cs.Withdraw(ctx, sub, consent.PurposeProgrammaticAds, consent.ChannelAPI); err != nil {
		t.Fatal(err)
	}
	_, err = e.ledger.Disclose(ctx, sharing.Disclosure{Recipient: "ad_partners", Subject: sub, Fields: []string{"ad_id", "interest_tags"}})
	wantRefused(t, "ad_partners after the withdrawal", err, "consent_required")
}

// The SMS provider is necessary for the service (PIPL Art. 13(1)(2)): a
// login code goes without consent, recorded with that basis; one sent to
// a number no account holds yet is recorded by the number's blind index
// and shows in the ledger of the account the login then creates.
func TestLoginCodeIsRecordedAsNecessary(t *testing.T) {
	e := newEnv(t)
	uid, phone := e.signUp(t)
	mine := e.mine(t, uid)
	if len(mine) != 1 {
		t.Fatalf("ledger after sign-up = %+v, want the code", mine)
	}
	m := mine[0]
	if m.Recipient != "sms_provider" || m.Purpose != consent.PurposeAccount || m.Basis != sharing.BasisNecessary ||
		!slices.Equal(m.Fields, []string{"phone", "code"}) || m.Subject.ID != "" || m.PhoneIndex != e.ledger.PhoneIndex(phone) {
		t.Fatalf("the first code's entry = %+v", m)
	}
	// A second code, now that the account exists, names the account.
	time.Sleep(5 * time.Millisecond) // the resend interval of the env
	if err := e.ids.SendCode(context.Background(), phone[3:], "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	mine = e.mine(t, uid)
	if len(mine) != 2 || mine[0].Subject != consent.User(uid) || mine[0].PhoneIndex != "" || mine[0].Basis != sharing.BasisNecessary {
		t.Fatalf("ledger after a second code = %+v", mine)
	}
	other, _ := e.signUp(t)
	if got := e.mine(t, other); len(got) != 1 || got[0].ID == m.ID {
		t.Fatalf("another account's ledger = %+v", got)
	}
}

func notifyMessage(to, code string) notify.Message {
	return notify.Message{To: to, Body: "code " + code, Code: code}
}

// A refused disclosure sends nothing: the provider never hears of it.
func TestRefusedSMSIsNotSent(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// A policy in which the SMS provider is not declared: the same
	// ledger code, over a data map without the recipient.
	dm, err := consent.LoadDataMap()
	if err != nil {
		t.Fatal(err)
	}
	dm.Recipients = slices.DeleteFunc(dm.Recipients, func(r consent.RecipientDecl) bool { return r.ID == "sms_provider" })
	cs := consent.NewService(e.db.Consent(), dm, func() string { return "test-version" }, nil, nil)
	ledger := sharing.NewLedger(sharing.Deps{Store: e.db.Sharing(), Consent: cs, Keys: e.keys}, sharing.Config{})
	sender := sharing.Sender(e.sms.adapter(t), ledger)
	before := len(e.sms.sent())
	err = sender.Send(ctx, notifyMessage("+8613900000000", "123456"))
	wantRefused(t, "SMS to an undeclared provider", err, "recipient_undeclared")
	if n := len(e.sms.sent()); n != before {
		t.Fatalf("the provider got %d messages after a refusal", n-before)
	}
}

// Mine pages through the ledger with cursors it gave, and refuses others.
func TestMinePages(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	uid, _ := e.signUp(t)
	sub := consent.User(uid)
	if err := e.cs.Grant(ctx, sub, consent.PurposeRealName, consent.ChannelAPI); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		if _, err := e.ledger.Disclose(ctx, sharing.Disclosure{Recipient: "certifier", Subject: sub, Fields: []string{"real_name", "id_number"}}); err != nil {
			t.Fatal(err)
		}
	}
	all := e.mine(t, uid)
	if len(all) != 5 {
		t.Fatalf("%d entries, want 5", len(all))
	}
	var seen []string
	cursor := ""
	for range 5 {
		page, next, err := e.ledger.Mine(ctx, uid, cursor, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range page {
			seen = append(seen, x.ID)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	var want []string
	for _, x := range all {
		want = append(want, x.ID)
	}
	if !slices.Equal(seen, want) {
		t.Fatalf("pages = %v, want %v", seen, want)
	}
	for _, c := range []string{"x", "bm90LWEtY3Vyc29y", strings.Repeat("A", 300)} {
		if _, _, err := e.ledger.Mine(ctx, uid, c, 2); yuncan.ErrorCode(err) != yuncan.Invalid {
			t.Errorf("cursor %q: %v, want Invalid", c, err)
		}
	}
	for _, l := range []int{-1, 101} {
		if _, _, err := e.ledger.Mine(ctx, uid, "", l); yuncan.ErrorCode(err) != yuncan.Invalid {
			t.Errorf("limit %d: %v, want Invalid", l, err)
		}
	}
}

// P51: Expire deletes what is older than the sharing_record category's
// legal period (3 years), and nothing younger.
func TestExpireKeepsThreeYears(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	old := sharing.Entry{ID: "00000000-0000-7000-8000-000000000001", At: time.Now().Add(-3*365*24*time.Hour - 48*time.Hour),
		Recipient: "sms_provider", Purpose: consent.PurposeAccount, Fields: []string{"phone", "code"}, Basis: sharing.BasisNecessary,
		Subject: consent.User("u")}
	young := old
	young.ID, young.At = "00000000-0000-7000-8000-000000000002", time.Now().Add(-3*365*24*time.Hour+48*time.Hour)
	for _, x := range []sharing.Entry{old, young} {
		if err := e.db.Sharing().AddDisclosure(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.ledger.Expire(ctx); err != nil {
		t.Fatal(err)
	}
	var ids []string
	rows, err := e.db.SQL().Query(`SELECT id FROM sharing_ledger`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		rows.Scan(&id)
		ids = append(ids, id)
	}
	if !slices.Equal(ids, []string{young.ID}) {
		t.Fatalf("left after Expire: %v, want only the younger", ids)
	}
}

// FuzzMineCursor: whatever a client sends as a cursor, the ledger answers
// a page or Invalid, never another error or a panic.
func FuzzMineCursor(f *testing.F) {
	for _, s := range []string{"", "x", "MTcwMDAwMDAwMDAwMDAwMDAwMC4wMTkwMDAwMC0wMDAwLTcwMDAtODAwMC0wMDAwMDAwMDAwMDE", "LTEuYQ", "%%%"} {
		f.Add(s)
	}
	e := newEnv(f)
	f.Fuzz(func(t *testing.T, cursor string) {
		_, _, err := e.ledger.Mine(context.Background(), "someone", cursor, 0)
		if err != nil && yuncan.ErrorCode(err) != yuncan.Invalid {
			t.Fatalf("cursor %q: %v", cursor, err)
		}
	})
}
