package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"time"
	_ "time/tzdata" // quiet hours name a zone even where the system has no zone data

	"github.com/yuncan/yuncan/internal/alert"
	"github.com/yuncan/yuncan/internal/queue"
)

// alertFlags are the serve flags of the people-seeking fan-out.
type alertFlags struct {
	NATS       string
	Rings      string
	Tick       time.Duration
	DailyCap   int
	QuietHours string
	QuietZone  string
	Workers    int
	BatchSize  int
}

// addAlertFlags declares the fan-out's flags on fs, each defaulting to its
// YUNCAN_* twin.
func addAlertFlags(fs *flag.FlagSet, getenv func(string) string) *alertFlags {
	env := func(key, def string) string {
		if v := getenv(key); v != "" {
			return v
		}
		return def
	}
	envInt := func(key string, def int) int {
		if n, err := strconv.Atoi(getenv(key)); err == nil {
			return n
		}
		return def
	}
	envDur := func(key string, def time.Duration) time.Duration {
		if d, err := time.ParseDuration(getenv(key)); err == nil {
			return d
		}
		return def
	}
	f := &alertFlags{}
	fs.StringVar(&f.NATS, "nats", env("YUNCAN_NATS_URL", ""), "NATS server(s) for the work queues, e.g. nats://n1:4222; empty runs one in process with its streams in <data>/nats (YUNCAN_NATS_URL)")
	fs.StringVar(&f.Rings, "alert-rings", env("YUNCAN_ALERT_RINGS", ""), "JSON file of alert ring schedules per category; empty uses the built-in ones, see docs/alerts.md (YUNCAN_ALERT_RINGS)")
	fs.DurationVar(&f.Tick, "alert-tick", envDur("YUNCAN_ALERT_TICK", 10*time.Second), "how often the scheduler opens due rings (YUNCAN_ALERT_TICK)")
	fs.IntVar(&f.DailyCap, "alert-daily-cap", envInt("YUNCAN_ALERT_DAILY_CAP", 3), "most cases a person is alerted about in 24 hours (YUNCAN_ALERT_DAILY_CAP)")
	fs.StringVar(&f.QuietHours, "alert-quiet-hours", env("YUNCAN_ALERT_QUIET_HOURS", "22:00-07:00"), "when alerts go to the inbox without a push, HH:MM-HH:MM or off (YUNCAN_ALERT_QUIET_HOURS)")
	fs.StringVar(&f.QuietZone, "alert-quiet-zone", env("YUNCAN_ALERT_QUIET_ZONE", "Asia/Shanghai"), "time zone of the quiet hours (YUNCAN_ALERT_QUIET_ZONE)")
	fs.IntVar(&f.Workers, "alert-workers", envInt("YUNCAN_ALERT_WORKERS", 2), "alert batches this process delivers at once (YUNCAN_ALERT_WORKERS)")
	fs.IntVar(&f.BatchSize, "alert-batch-size", envInt("YUNCAN_ALERT_BATCH_SIZE", 1000), "about how many recipients one queue message carries (YUNCAN_ALERT_BATCH_SIZE)")
	return f
}

// config checks the flags and returns the alert configuration.
func (f *alertFlags) config() (alert.Config, error) {
	var cfg alert.Config
	switch {
	case f.Tick < time.Second || f.Tick > time.Hour:
		return cfg, fmt.Errorf("--alert-tick must be from 1s to 1h, got %s", f.Tick)
	case f.DailyCap < 1 || f.DailyCap > 100:
		return cfg, fmt.Errorf("--alert-daily-cap must be from 1 to 100, got %d", f.DailyCap)
	case f.Workers < 1 || f.Workers > 64:
		return cfg, fmt.Errorf("--alert-workers must be from 1 to 64, got %d", f.Workers)
	case f.BatchSize < 1 || f.BatchSize > 10_000:
		return cfg, fmt.Errorf("--alert-batch-size must be from 1 to 10000, got %d", f.BatchSize)
	}
	zone, err := time.LoadLocation(f.QuietZone)
	if err != nil {
		return cfg, fmt.Errorf("--alert-quiet-zone: %q is not a time zone like Asia/Shanghai", f.QuietZone)
	}
	if cfg.Quiet, err = alert.ParseQuietHours(f.QuietHours, zone); err != nil {
		return cfg, fmt.Errorf("--alert-quiet-hours: %w", err)
	}
	if f.Rings != "" {
		if cfg.Schedules, err = alert.LoadSchedules(f.Rings); err != nil {
			return cfg, fmt.Errorf("--alert-rings: %w", err)
		}
	}
	cfg.DailyCap, cfg.Workers, cfg.BatchSize = f.DailyCap, f.Workers, f.BatchSize
	return cfg, nil
}

// openAlerts opens the work queue (in process unless --nats names a
// cluster) and builds the alert service, which from then on receives the
// seeking area's hooks.
func (a *app) openAlerts(ctx context.Context, f *alertFlags, cfg alert.Config, data string, logger *slog.Logger) (*queue.Queue, *alert.Service, error) {
	q, err := queue.Open(ctx, queue.Config{URL: f.NATS, Dir: filepath.Join(data, "nats"), Logger: logger})
	if err != nil {
		return nil, nil, err
	}
	svc := alert.NewService(alert.Deps{Store: a.db.Alert(), Cases: a.seeking, Locator: a.location, Gate: a.consent,
		Notifier: a.push, Queue: q, Keys: a.keys, Logger: logger}, cfg)
	a.hooks.Bind(svc)
	return q, svc, nil
}
