package queue

import (
	"crypto/rand"
	"fmt"
	"os"
	"testing"
	"time"
)

// BenchmarkPublishBatches measures one alert's worth of fan-out: 1,000
// messages of 30 KB, each a batch of 1,000 recipients, so one op is one
// million recipients durably enqueued (the product target is under 5 s).
// The embedded server runs with SyncAlways (what Open uses) and, for
// comparison, with an fsync every second; docs/queue.md has the numbers.
//
//	go test -run '^$' -bench BenchmarkPublishBatches -benchtime 5x ./internal/queue/
func BenchmarkPublishBatches(b *testing.B) {
	const perOp, size, recipients = 1000, 30 << 10, 1000
	data := make([]byte, size)
	_, _ = rand.Read(data) // incompressible, like sealed recipient lists

	run := func(b *testing.B, cfg Config) {
		q := open(b, cfg)
		ctx := b.Context()
		msgs := make([]Message, perOp)
		b.SetBytes(perOp * size)
		op := 0
		for b.Loop() {
			for i := range msgs {
				msgs[i] = Message{ID: fmt.Sprintf("%d-%d", op, i), Data: data}
			}
			op++
			if err := q.Publish(ctx, "bench", msgs...); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(op*perOp*recipients)/b.Elapsed().Seconds(), "recipients/s")
	}
	b.Run("embedded/sync=always", func(b *testing.B) {
		run(b, Config{Dir: b.TempDir()})
	})
	b.Run("embedded/sync=1s", func(b *testing.B) {
		run(b, Config{Dir: b.TempDir(), syncEvery: time.Second})
	})
	if url := os.Getenv(envNATS); url != "" {
		b.Run("nats", func(b *testing.B) {
			run(b, sharedConfig(b, url))
		})
	}
}
