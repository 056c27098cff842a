package rights_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/yuncan/yuncan/internal/keyring"
	"github.com/yuncan/yuncan/internal/rights"
	"github.com/yuncan/yuncan/internal/sqlstore"
	"github.com/yuncan/yuncan/internal/storetest"
)

// The erasure benchmark of issue 5 (P66): the same account as the export
// benchmark (10,000 clues standing in for posts, 100,000 interactions),
// cancelled and erased by the job, on both databases. Each run seeds a
// fresh database outside the timer; the timer covers RunCancellations
// (the rows' transaction, the checkpoint on SQLite, the job's
// bookkeeping). docs/benchmarks.md records the figures:
//
//	go test ./internal/rights -run '^$' -bench BenchmarkErase -benchtime 3x -benchmem
func BenchmarkErase(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchErase(b, "") })
	b.Run("postgres", func(b *testing.B) {
		dsn := os.Getenv(storetest.PostgresEnv)
		if dsn == "" {
			b.Skip(storetest.PostgresEnv + " is not set")
		}
		benchErase(b, dsn)
	})
}

func benchErase(b *testing.B, dsn string) {
	ctx := context.Background()
	var peak uint64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		tg := storetest.Target{Name: "sqlite", DataDir: b.TempDir()}
		if dsn != "" {
			tg = storetest.Target{Name: "postgres", DSN: storetest.FreshPostgres(b, dsn), DataDir: b.TempDir()}
		}
		db := storetest.Open(b, tg)
		keys, err := keyring.New()
		if err != nil {
			b.Fatal(err)
		}
		seedBenchAccount(b, db, keys)
		clk := &clock{t: time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)}
		s := rights.NewService(rights.Deps{Store: db.Rights(), Keys: keys, SealContext: sqlstore.SealContext,
			Dir: filepath.Join(b.TempDir(), "exports"), Now: clk.now, Codes: &codes{}}, rights.Config{})
		if _, err := s.RequestCancellation(ctx, rights.Caller{UserID: "bench-person", LoginStartedAt: clk.t.Add(-48 * time.Hour)},
			rights.CancelRequest{Code: "246810", Agree: true}); err != nil {
			b.Fatal(err)
		}
		clk.add(8 * 24 * time.Hour)
		b.StartTimer()
		stop := sampleHeap(&peak)
		err = s.RunCancellations(ctx)
		stop()
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		for _, q := range []string{`SELECT COUNT(*) FROM clues`, `SELECT COUNT(*) FROM notifications`, `SELECT COUNT(*) FROM consent_events WHERE subject_id = 'bench-person'`,
			`SELECT COUNT(*) FROM users WHERE id = 'bench-person'`} {
			var n int
			if err := db.SQL().QueryRowContext(ctx, q).Scan(&n); err != nil || n != 0 {
				b.Fatalf("%s: %d left (%v)", q, n, err)
			}
		}
		db.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
}
