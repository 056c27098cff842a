package consent_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/consent"
)

// noUndeclaredExemptions fails the test, when it ends, if exemption_uses
// holds a row whose code is not an exemption of the policy (P26).
func noUndeclaredExemptions(t *testing.T, f *fixture) {
	t.Cleanup(func() {
		rows, err := f.db.SQL().QueryContext(context.Background(), `SELECT code FROM exemption_uses`)
		if err != nil {
			t.Fatalf("read exemption_uses: %v", err)
		}
		defer rows.Close()
		for rows.Next() {
			var code string
			if err := rows.Scan(&code); err != nil {
				t.Fatal(err)
			}
			if !f.dm.Exemption(code) {
				t.Errorf("P26: exemption_uses holds code %q, which is not an exemption of the policy", code)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	})
}

func exemptionUses(t *testing.T, svc *consent.Service) []consent.ExemptionUse {
	t.Helper()
	us, err := svc.ExemptionUses(context.Background(), time.Time{})
	if err != nil {
		t.Fatalf("ExemptionUses: %v", err)
	}
	return us
}

// P26: processing without consent needs a legal exemption of policy 1.8;
// without one (empty or made up) it is refused and nothing is recorded.
func TestExemptRefusesWithoutCode(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		noUndeclaredExemptions(t, f)
		ctx, u := context.Background(), consent.User("u-1")
		for _, code := range []string{"", "1.8", "1.8z", "national_security", " 1.8a", "1.8A"} {
			err := f.svc.Exempt(ctx, u, consent.PurposePreciseLocation, code, "case 2025-001")
			wantCode(t, "Exempt with code "+code, err, yuncan.Invalid, "exemption_unknown")
		}
		if us := exemptionUses(t, f.svc); len(us) != 0 {
			t.Errorf("refused exemptions were recorded: %+v", us)
		}
	})
}

// P26: a use under a declared exemption is recorded for the audit and
// allowed; the record says who, for what, under which exemption and when.
func TestExemptRecords(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		noUndeclaredExemptions(t, f)
		ctx := context.Background()
		start := f.clock.Now()
		mustNil(t, "Exempt 1.8c", f.svc.Exempt(ctx, consent.User("u-1"), consent.PurposePreciseLocation, "1.8c", "police request 2025-117"))
		f.clock.Advance(time.Minute)
		mustNil(t, "Exempt 1.8h", f.svc.Exempt(ctx, consent.Device("d-1"), consent.PurposeSecurity, "1.8h", "crash investigation OPS-42"))

		us := exemptionUses(t, f.svc)
		if len(us) != 2 {
			t.Fatalf("recorded %d uses, want 2: %+v", len(us), us)
		}
		first := us[0]
		if first.ID == "" || first.Subject != consent.User("u-1") || first.Purpose != consent.PurposePreciseLocation ||
			first.Code != "1.8c" || first.Detail != "police request 2025-117" || !first.At.Equal(start) {
			t.Errorf("first use recorded as %+v", first)
		}
		if us[1].Subject != consent.Device("d-1") || us[1].Code != "1.8h" || !us[1].At.Equal(start.Add(time.Minute)) {
			t.Errorf("second use recorded as %+v", us[1])
		}
		later, err := f.svc.ExemptionUses(ctx, start.Add(time.Second))
		mustNil(t, "ExemptionUses since", err)
		if len(later) != 1 || later[0].ID != us[1].ID {
			t.Errorf("ExemptionUses since the first = %+v; want the second only", later)
		}
		// Recording an exemption grants nothing.
		if st := stateOf(t, f.svc, consent.User("u-1"), consent.PurposePreciseLocation); st.Granted {
			t.Error("an exemption granted the purpose")
		}
	})
}

// The other parts of an exemption use are checked too, and a refused one
// leaves no record.
func TestExemptRefusesBadUse(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		noUndeclaredExemptions(t, f)
		ctx, u := context.Background(), consent.User("u-1")
		for _, tc := range []struct {
			name   string
			sub    consent.Subject
			p      consent.Purpose
			detail string
			reason string
		}{
			{"unknown purpose", u, "snooping", "case 1", "unknown_purpose"},
			{"no subject", consent.Subject{}, consent.PurposeSecurity, "case 1", "invalid"},
			{"unknown subject kind", consent.Subject{Kind: "group", ID: "g"}, consent.PurposeSecurity, "case 1", "invalid"},
			{"empty detail", u, consent.PurposeSecurity, "  ", "invalid"},
			{"long detail", u, consent.PurposeSecurity, strings.Repeat("x", 201), "invalid"},
			{"two lines", u, consent.PurposeSecurity, "case 1\nname: Zhang San", "invalid"},
		} {
			err := f.svc.Exempt(ctx, tc.sub, tc.p, "1.8h", tc.detail)
			wantCode(t, tc.name, err, yuncan.Invalid, tc.reason)
		}
		mustNil(t, "a 200-character detail", f.svc.Exempt(ctx, u, consent.PurposeSecurity, "1.8h", strings.Repeat("故", 200)))
		if us := exemptionUses(t, f.svc); len(us) != 1 {
			t.Errorf("recorded %d uses; want only the valid one", len(us))
		}
	})
}

// P51: the record of exemption uses goes when its legal period (three
// years in the policy data) is over; younger uses stay.
func TestExemptionUsesExpire(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		if err := f.svc.Exempt(ctx, consent.User("u-1"), consent.PurposePreciseLocation, "1.8d", "old case"); err != nil {
			t.Fatal(err)
		}
		keep := f.dm.RetentionOf("exemption_record")
		if keep != 1095*24*time.Hour {
			t.Fatalf("exemption_record is kept %v; the test expects the policy's three years", keep)
		}
		f.clock.Advance(keep - time.Hour)
		if err := f.svc.Exempt(ctx, consent.User("u-2"), consent.PurposePreciseLocation, "1.8d", "newer case"); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.ExpireExemptionUses(ctx); err != nil {
			t.Fatal(err)
		}
		if us := exemptionUses(t, f.svc); len(us) != 2 {
			t.Fatalf("before the period ends: %d uses, want 2", len(us))
		}
		f.clock.Advance(2 * time.Hour)
		if err := f.svc.ExpireExemptionUses(ctx); err != nil {
			t.Fatal(err)
		}
		us := exemptionUses(t, f.svc)
		if len(us) != 1 || us[0].Subject != consent.User("u-2") {
			t.Errorf("after three years: %+v; want only the newer use", us)
		}
	})
}
