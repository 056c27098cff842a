package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/yuncan/yuncan/internal/jobs"
	"github.com/yuncan/yuncan/internal/server"
)

func cmdServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	f := newFlags("serve", getenv, stderr)
	if err := f.fs.Parse(args); err != nil {
		return err
	}
	c := f.cfg
	logger, err := c.logger(stderr)
	if err != nil {
		return err
	}
	base, err := c.baseURL()
	if err != nil {
		return err
	}
	a, err := openApp(ctx, c, getenv, logger)
	if err != nil {
		return err
	}
	defer a.close()
	if err := a.migrate(ctx, logger); err != nil {
		return err
	}
	// Seed the embedded policy and learn the published versions before
	// the first request asks which is in force.
	if err := a.versions.Load(ctx); err != nil {
		return err
	}
	logger.Info("sms provider", slog.String("provider", a.sms))
	logger.Info("email provider", slog.String("provider", a.email))
	logger.Info("real-name certifier", slog.String("certifier", a.certifier))
	n, err := a.location.Load(ctx)
	if err != nil {
		return err
	}
	logger.Info("geo index loaded", slog.Int("positions", n))
	for _, p := range a.pushNames {
		logger.Info("push channel", slog.String("channel", p))
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	srv := server.New(server.Config{BaseURL: base, Version: version()}, server.Deps{
		Logger: logger, Identity: a.identity, Consent: a.consent, Versions: a.versions, Minors: a.minors, Media: a.media, DB: a.db, Registry: reg,
		RealNames: a.realNames, Seeking: a.seeking, Location: a.location,
		Inbox: a.inbox, Push: a.push,
	})

	jobCtx, stopJobs := context.WithCancel(context.Background())
	defer stopJobs()
	waitJobs := jobs.NewRunner(logger,
		jobs.Job{Name: "identity.expire", Every: time.Hour, Run: a.identity.ExpireRecords},
		// Withdrawal purges run at once; this finishes any a crash interrupted.
		jobs.Job{Name: "consent.purges", Every: time.Minute, Run: a.consent.RunPurges},
		// P70: children under 14 left without a guardian's consent.
		jobs.Job{Name: "minors.expire", Every: time.Hour, Run: a.minors.DeleteUnverified},
		jobs.Job{Name: "identity.real_name_attempts", Every: time.Hour, Run: a.identity.ExpireRealNameAttempts},
		// No location history: positions past the freshness limit go.
		jobs.Job{Name: "location.expire", Every: 10 * time.Minute, Run: a.location.Expire},
		// Versions published by another process come into view here.
		jobs.Job{Name: "consent.policy_versions", Every: time.Minute, Run: a.versions.Load},
		// Notifications past their retention, and those of gone devices.
		jobs.Job{Name: "notify.expire", Every: time.Hour, Run: a.inbox.Expire},
		// Pushes whose process died mid-way.
		jobs.Job{Name: "notify.resume", Every: time.Minute, Run: a.push.Resume},
	).Start(jobCtx)

	// Several replicas on PostgreSQL: each drops its cached consent states
	// as soon as any replica records a decision.
	go a.db.ListenConsent(jobCtx, a.consent.Invalidate, func(err error) {
		logger.Warn("consent notifications interrupted; cache cleared", slog.Any("err", err))
		a.consent.InvalidateAll()
	})

	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.Addr, err)
	}
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	logger.Info("listening", slog.String("addr", ln.Addr().String()), slog.String("base_url", base.String()), slog.String("version", version()))
	// Live streams end when shutdown begins, or it would wait for them.
	hs.RegisterOnShutdown(srv.StopStreams)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	err = hs.Shutdown(shutCtx)
	stopJobs()
	waitJobs()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

func cmdMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	f := newFlags("migrate", getenv, stderr)
	if err := f.fs.Parse(args); err != nil {
		return err
	}
	logger, err := f.cfg.logger(stderr)
	if err != nil {
		return err
	}
	a, err := openApp(ctx, f.cfg, getenv, logger)
	if err != nil {
		return err
	}
	defer a.close()
	return a.migrate(ctx, logger)
}
