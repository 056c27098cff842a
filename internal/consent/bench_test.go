package consent_test

import (
	"context"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/sqlstore"
	"github.com/yuncan/yuncan/internal/storetest"
)

// benchService is a consent service on a fresh SQLite database, and a
// function returning another service on the same database (with an
// empty cache, as in a new process).
func benchService(b *testing.B) (*consent.Service, *sqlstore.ConsentStore, func() *consent.Service) {
	b.Helper()
	dm, err := consent.LoadDataMap()
	if err != nil {
		b.Fatal(err)
	}
	db := storetest.Open(b, storetest.Target{Name: "sqlite", DataDir: b.TempDir()})
	st := db.Consent()
	another := func() *consent.Service {
		return consent.NewService(st, dm, func() string { return policyVersion }, nil, slog.New(slog.DiscardHandler))
	}
	return another(), st, another
}

// benchGranted lists what the benchmark subjects granted.
var benchGranted = []consent.Purpose{consent.PurposePersonalized, consent.PurposeMarketingPush, consent.PurposeContacts}

// BenchmarkRequireWarm is the gate on a cache hit for a granted purpose.
func BenchmarkRequireWarm(b *testing.B) {
	svc, _, _ := benchService(b)
	ctx, u := context.Background(), consent.User("u-1")
	for _, p := range benchGranted {
		if err := svc.Grant(ctx, u, p, consent.ChannelApp); err != nil {
			b.Fatal(err)
		}
	}
	if err := svc.Require(ctx, u, consent.PurposePersonalized); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := svc.Require(ctx, u, consent.PurposePersonalized); err != nil {
			b.Fatal(err)
		}
	}
}

// coldSubjects is how many subjects BenchmarkRequireCold writes; each
// commit is synced, so writing one per iteration would make the set-up
// take minutes.
const coldSubjects = 500

// BenchmarkRequireCold is the gate for a subject the service has not read
// yet: the store's read path (LastEvents) and the cache fill. The
// subjects' grants are written straight to the store before the timer
// starts; every coldSubjects iterations a new service (outside the timer)
// starts with an empty cache, so every Require is a miss.
func BenchmarkRequireCold(b *testing.B) {
	_, st, another := benchService(b)
	ctx := context.Background()
	at := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	subs := make([]consent.Subject, min(b.N, coldSubjects))
	for i := range subs {
		subs[i] = consent.User("u-" + strconv.Itoa(i))
		for j, p := range benchGranted {
			e := consent.Event{ID: subs[i].ID + "-" + strconv.Itoa(j), Subject: subs[i], Purpose: p, Action: consent.Grant,
				PolicyVersion: policyVersion, Channel: consent.ChannelApp, At: at}
			if err := st.AppendEvent(ctx, e, "", nil); err != nil {
				b.Fatal(err)
			}
		}
	}
	var svc *consent.Service
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if i%len(subs) == 0 {
			b.StopTimer()
			svc = another()
			b.StartTimer()
		}
		if err := svc.Require(ctx, subs[i%len(subs)], consent.PurposePersonalized); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGrantWithdraw is one grant and one withdrawal (each a read and
// a write transaction; the withdrawal also looks for pending purges).
func BenchmarkGrantWithdraw(b *testing.B) {
	svc, _, _ := benchService(b)
	ctx, u, p := context.Background(), consent.User("u-1"), consent.PurposeContacts
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := svc.Grant(ctx, u, p, consent.ChannelApp); err != nil {
			b.Fatal(err)
		}
		if err := svc.Withdraw(ctx, u, p, consent.ChannelApp); err != nil {
			b.Fatal(err)
		}
	}
}
