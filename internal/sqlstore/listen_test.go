package sqlstore_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/sqlstore"
	"github.com/yuncan/yuncan/internal/storetest"
)

// P63: with several replicas on PostgreSQL, a withdrawal recorded by one
// closes the gate of another at once, although the other had the grant
// in its cache.
func TestWithdrawalReachesEveryReplica(t *testing.T) {
	base := os.Getenv(storetest.PostgresEnv)
	if base == "" {
		t.Skip(storetest.PostgresEnv + " is not set")
	}
	ctx := context.Background()
	dsn := storetest.FreshPostgres(t, base)
	dm, err := consent.LoadDataMap()
	if err != nil {
		t.Fatal(err)
	}
	version := func() string { return "v1" }
	replica := func() (*sqlstore.DB, *consent.Service) {
		db := storetest.Open(t, storetest.Target{Name: "postgres", DSN: dsn, DataDir: t.TempDir()})
		return db, consent.NewService(db.Consent(), dm, version, nil, nil)
	}
	_, a := replica()
	dbB, b := replica()
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go dbB.ListenConsent(lctx, b.Invalidate, func(error) { b.InvalidateAll() })

	sub := consent.User("u-1")
	if err := a.Grant(ctx, sub, consent.PurposeProgrammaticAds, consent.ChannelAPI); err != nil {
		t.Fatal(err)
	}
	if err := b.Require(ctx, sub, consent.PurposeProgrammaticAds); err != nil {
		t.Fatalf("replica B before withdrawal: %v", err) // now cached as granted
	}
	time.Sleep(200 * time.Millisecond) // let B's listener start before the decision
	if err := a.Withdraw(ctx, sub, consent.PurposeProgrammaticAds, consent.ChannelAPI); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := b.Require(ctx, sub, consent.PurposeProgrammaticAds)
		if yuncan.ErrorReason(err) == "consent_required" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica B still lets the withdrawn purpose through: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
