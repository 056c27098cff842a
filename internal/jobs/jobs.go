// Package jobs runs the background work of the service: periodic jobs now
// (retention, expiry), the durable queue with the people-seeking fan-out.
package jobs

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Job is one periodic task.
type Job struct {
	Name  string
	Every time.Duration
	Run   func(ctx context.Context) error
}

// Runner runs periodic jobs until its context ends. Each job runs once at
// start (so a restart catches up on what was missed) and then on its
// interval; a run never overlaps the previous run of the same job.
type Runner struct {
	logger *slog.Logger
	jobs   []Job
}

// NewRunner returns a runner for jobs.
func NewRunner(logger *slog.Logger, jobs ...Job) *Runner {
	return &Runner{logger: logger, jobs: jobs}
}

// Start runs the jobs in the background and returns a function that
// waits for them to stop after ctx ends.
func (r *Runner) Start(ctx context.Context) (wait func()) {
	var wg sync.WaitGroup
	for _, j := range r.jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(j.Every)
			defer t.Stop()
			for {
				r.RunOnce(ctx, j)
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
			}
		}()
	}
	return wg.Wait
}

// RunOnce runs j now and logs the outcome.
func (r *Runner) RunOnce(ctx context.Context, j Job) {
	start := time.Now()
	err := j.Run(ctx)
	if err != nil && ctx.Err() == nil {
		r.logger.ErrorContext(ctx, "job failed", slog.String("job", j.Name), slog.Any("err", err))
		return
	}
	r.logger.DebugContext(ctx, "job done", slog.String("job", j.Name), slog.Duration("duration", time.Since(start)))
}
