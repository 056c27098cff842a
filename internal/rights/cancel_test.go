package rights_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/keyring"
	"github.com/yuncan/yuncan/internal/media"
	"github.com/yuncan/yuncan/internal/rights"
	"github.com/yuncan/yuncan/internal/sqlstore"
	"github.com/yuncan/yuncan/internal/storetest"
)

// codes is the identity area's code check as the cancellation sees it:
// one right code.
type codes struct{ sent int }

func (c *codes) SendCancelCode(context.Context, string, string) error { c.sent++; return nil }
func (c *codes) CheckCancelCode(_ context.Context, _, code string) error {
	if code != "246810" {
		return &yuncan.Error{Code: yuncan.Invalid, Reason: "code_invalid", Message: "wrong code"}
	}
	return nil
}

// positions is the geo index as the erasure sees it; crash makes it fail
// as a process dying mid-way would.
type positions struct {
	crash     bool
	forgotten []consent.Subject
}

func (p *positions) Delete(_ context.Context, sub consent.Subject) error {
	if p.crash {
		return errors.New("the process died")
	}
	p.forgotten = append(p.forgotten, sub)
	return nil
}

func (p *positions) ForgetAll(context.Context) error { return nil }

// The erasure order: every table goes before the tables its match reads,
// so that no row of the person becomes unfindable half-way.
func TestErasureOrder(t *testing.T) {
	order, err := rights.ErasureOrder(rights.Registry)
	if err != nil {
		t.Fatal(err)
	}
	if len(order) != len(rights.Registry) {
		t.Fatalf("order has %d tables, the registry %d", len(order), len(rights.Registry))
	}
	pos := map[string]int{}
	for i, tb := range order {
		pos[tb.Name] = i
	}
	for _, pair := range [][2]string{{"clue_photos", "clues"}, {"clues", "cases"}, {"notifications", "cases"}, {"notifications", "devices"},
		{"web_push_subscriptions", "devices"}, {"sms_codes", "users"}, {"alert_rings", "alerts"}, {"ticket_events", "tickets"}} {
		if pos[pair[0]] > pos[pair[1]] {
			t.Errorf("%s is erased after %s, which its match reads", pair[0], pair[1])
		}
	}
	cyc := []rights.Table{
		{Name: "a", Match: rights.Match{Column: "x", In: &rights.Link{Table: "b", Key: "id", Match: rights.Match{Column: "u"}}}},
		{Name: "b", Match: rights.Match{Column: "x", In: &rights.Link{Table: "a", Key: "id", Match: rights.Match{Column: "u"}}}},
	}
	if _, err := rights.ErasureOrder(cyc); err == nil {
		t.Error("a cycle was accepted")
	}
}

// P66: a crash in the middle of an erasure. The rows go in one
// transaction, so nothing half-erased is ever served; what lies outside the
// database (files, the geo index) was recorded with the rows' erasure and
// is finished by the next run once the lease runs out.
func TestCancellationResumesAfterACrash(t *testing.T) {
	for _, target := range storetest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			ctx := context.Background()
			db := storetest.Open(t, target)
			keys, err := keyring.New()
			if err != nil {
				t.Fatal(err)
			}
			dm, err := consent.LoadDataMap()
			if err != nil {
				t.Fatal(err)
			}
			ms := media.NewFileStore(filepath.Join(t.TempDir(), "media"))
			if err := ms.Put(ctx, "avatars/u-1.jpg", []byte("avatar-bytes-of-u-1")); err != nil {
				t.Fatal(err)
			}
			for _, u := range [][3]string{{"u-1", "+8613800000001", "avatars/u-1.jpg"}, {"u-2", "+8613900000002", ""}} {
				if _, err := db.SQL().ExecContext(ctx, `INSERT INTO users (id, phone_sealed, phone_index, role, nickname, avatar_key, created_at, updated_at)
					VALUES ($1, $2, $3, 'user', $4, $5, 1, 1)`, u[0], keys.Seal("users.phone", []byte(u[1])), "idx-"+u[0], "nick-"+u[0], u[2]); err != nil {
					t.Fatal(err)
				}
			}
			clk := &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
			pos := &positions{crash: true}
			s := rights.NewService(rights.Deps{Store: db.Rights(), Keys: keys, SealContext: sqlstore.SealContext, Media: ms, Dir: t.TempDir(), Now: clk.now,
				Codes: &codes{}, Retention: dm.RetentionOf, Positions: pos}, rights.Config{})
			caller := rights.Caller{UserID: "u-1", LoginStartedAt: clk.t.Add(-48 * time.Hour)}

			_, err = s.RequestCancellation(ctx, rights.Caller{UserID: "u-1", LoginStartedAt: clk.t.Add(-time.Hour)}, rights.CancelRequest{Code: "246810", Agree: true})
			wantCode(t, "a new login", err, yuncan.Forbidden)
			_, err = s.RequestCancellation(ctx, caller, rights.CancelRequest{Code: "135791", Agree: true})
			wantCode(t, "a wrong code", err, yuncan.Invalid)
			c, err := s.RequestCancellation(ctx, caller, rights.CancelRequest{Code: "246810", Agree: true})
			if err != nil {
				t.Fatal(err)
			}
			if !c.DueAt.Equal(clk.t.Add(7 * 24 * time.Hour)) {
				t.Errorf("due %s", c.DueAt)
			}
			clk.add(7*24*time.Hour + time.Second)
			if err := s.RunCancellations(ctx); err == nil {
				t.Fatal("the crash went unnoticed")
			}
			// The rows are gone at once; the file is not yet.
			if _, err := db.Identity().UserByID(ctx, "u-1"); yuncan.ErrorCode(err) != yuncan.NotFound {
				t.Fatalf("the account is still served: %v", err)
			}
			if _, err := db.Identity().UserByID(ctx, "u-2"); err != nil {
				t.Fatalf("another account went too: %v", err)
			}
			got, err := db.Rights().LatestCancellation(ctx, "u-1")
			if err != nil || got.Status != rights.CancelErasing || got.Pending == nil || len(got.Pending.Media) != 1 {
				t.Fatalf("after the crash: %+v, %v", got, err)
			}
			_, err = s.WithdrawCancellation(ctx, "u-1")
			wantCode(t, "withdrawing a started erasure", err, yuncan.Conflict)

			// The next run, before the lease ends, leaves it; after, finishes.
			pos.crash = false
			if err := s.RunCancellations(ctx); err != nil {
				t.Fatal(err)
			}
			if got, _ := db.Rights().LatestCancellation(ctx, "u-1"); got.Status != rights.CancelErasing {
				t.Fatalf("taken over inside the lease: %s", got.Status)
			}
			clk.add(11 * time.Minute)
			if err := s.RunCancellations(ctx); err != nil {
				t.Fatal(err)
			}
			got, err = db.Rights().LatestCancellation(ctx, "u-1")
			if err != nil || got.Status != rights.CancelCompleted || got.CompletedAt.IsZero() {
				t.Fatalf("after the restart: %+v, %v", got, err)
			}
			if _, _, err := ms.Open(ctx, "avatars/u-1.jpg"); yuncan.ErrorCode(err) != yuncan.NotFound {
				t.Errorf("the avatar file is still there: %v", err)
			}
			if len(pos.forgotten) != 1 || pos.forgotten[0] != consent.User("u-1") {
				t.Errorf("forgotten: %v", pos.forgotten)
			}
			// The record itself goes after its legal period (P51).
			clk.add(dm.RetentionOf("cancellation_record") + time.Hour)
			if err := s.ExpireCancellations(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Rights().LatestCancellation(ctx, "u-1"); yuncan.ErrorCode(err) != yuncan.NotFound {
				t.Errorf("the record outlived its period: %v", err)
			}
		})
	}
}
