package jobs

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"
)

// A job runs at start (catching up after a restart), then on its
// interval, and stops when the context ends; a failing run does not stop
// later runs.
func TestRunnerRunsAtStartAndOnInterval(t *testing.T) {
	var ok, failing atomic.Int32
	r := NewRunner(slog.New(slog.NewTextHandler(io.Discard, nil)),
		Job{Name: "ok", Every: 10 * time.Millisecond, Run: func(context.Context) error { ok.Add(1); return nil }},
		Job{Name: "failing", Every: 10 * time.Millisecond, Run: func(context.Context) error { failing.Add(1); return errors.New("boom") }},
	)
	ctx, cancel := context.WithCancel(context.Background())
	wait := r.Start(ctx)
	deadline := time.Now().Add(5 * time.Second)
	for (ok.Load() < 3 || failing.Load() < 3) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	done := make(chan struct{})
	go func() { wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("runner did not stop after cancel")
	}
	if ok.Load() < 3 || failing.Load() < 3 {
		t.Fatalf("runs: ok %d, failing %d; want at least 3 each", ok.Load(), failing.Load())
	}
	n := ok.Load()
	time.Sleep(30 * time.Millisecond)
	if ok.Load() != n {
		t.Error("a job ran after the runner stopped")
	}
}
