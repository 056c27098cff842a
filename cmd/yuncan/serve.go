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

	"github.com/yuncan/yuncan/internal/alert"
	"github.com/yuncan/yuncan/internal/incidents"
	"github.com/yuncan/yuncan/internal/jobs"
	"github.com/yuncan/yuncan/internal/server"
)

func cmdServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	f := newFlags("serve", getenv, stderr)
	af := addAlertFlags(f.fs, getenv)
	tileURL := f.fs.String("tile-url", getenv("YUNCAN_TILE_URL"),
		"map tile URL template with {z}, {x} and {y}; empty for OpenStreetMap's (YUNCAN_TILE_URL)")
	if err := f.fs.Parse(args); err != nil {
		return err
	}
	if *tileURL == "" {
		*tileURL = server.DefaultTileURL
	}
	if err := server.CheckTileURL(*tileURL); err != nil {
		return fmt.Errorf("--tile-url: %w", err)
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
	alertCfg, err := af.config()
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
	// The people-seeking fan-out: the work queue (in process, or the
	// NATS cluster --nats names) and the alert service behind seeking's
	// hooks.
	q, alerts, err := a.openAlerts(ctx, af, alertCfg, c.Data, logger)
	if err != nil {
		return err
	}
	defer q.Close()
	queueMode := "embedded"
	if af.NATS != "" {
		queueMode = "nats"
	}
	logger.Info("alerts ready", slog.String("queue", queueMode), slog.Duration("tick", af.Tick),
		slog.Int("daily_cap", alerts.Config().DailyCap), slog.String("quiet_hours", alerts.Config().Quiet.String()))

	// Security incidents (P54): notices go through the dispatcher, like
	// every notification (security notices pass no marketing gate).
	a.incidents = incidents.NewService(incidents.Deps{Store: a.db.Incidents(), Notifier: a.push, Audit: a.audit, Logger: logger},
		incidents.Config{})

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	srv := server.New(server.Config{BaseURL: base, Version: version(), TileURL: *tileURL}, server.Deps{
		Logger: logger, Identity: a.identity, Consent: a.consent, Versions: a.versions, Minors: a.minors, Media: a.media, DB: a.db, Registry: reg,
		RealNames: a.realNames, Seeking: a.seeking, Location: a.location,
		Inbox: a.inbox, Push: a.push, Tickets: a.tickets, Audit: a.audit, Rights: a.rights, Incidents: a.incidents,
		Sharing: a.sharing,
	})

	jobCtx, stopJobs := context.WithCancel(context.Background())
	defer stopJobs()
	work := []jobs.Job{
		// Withdrawal purges run at once; this finishes any a crash interrupted.
		{Name: "consent.purges", Every: time.Minute, Run: a.consent.RunPurges},
		// P70: children under 14 left without a guardian's consent.
		{Name: "minors.expire", Every: time.Hour, Run: a.minors.DeleteUnverified},
		// Versions published by another process come into view here.
		{Name: "consent.policy_versions", Every: time.Minute, Run: a.versions.Load},
		// Pushes whose process died mid-way.
		{Name: "notify.resume", Every: time.Minute, Run: a.push.Resume},
		// P54: the affected accounts of declared security incidents,
		// batch by batch, resuming where a stopped process left off.
		{Name: "incidents.notify", Every: 15 * time.Second, Run: a.incidents.Notify},
		// Alert rings that are due, and hooks a crash lost.
		{Name: "alert.tick", Every: af.Tick, Run: alerts.Tick},
		// P66: cancellations whose cooling-off is over are erased, and
		// erasures a crash interrupted are finished.
		{Name: "rights.cancellations", Every: time.Minute, Run: a.rights.RunCancellations},
		// P69: once operations cease, everyone is told, and after the
		// notice period everything is erased.
		{Name: "rights.cease", Every: time.Minute, Run: a.rights.RunCease},
	}
	for _, r := range a.retentionJobs(alerts) {
		work = append(work, r.Job)
	}
	waitJobs := jobs.NewRunner(logger, work...).Start(jobCtx)
	// Workers delivering the alert batches, until shutdown.
	workersDone := make(chan struct{})
	go func() {
		defer close(workersDone)
		if err := alerts.Run(jobCtx); err != nil {
			logger.Error("alert workers stopped", slog.Any("err", err))
		}
	}()

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
	<-workersDone
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

// retentionJob is a job that applies the policy data's retention rules
// to the categories it names (P51).
type retentionJob struct {
	jobs.Job
	Categories []string
}

// retentionJobs are the jobs that delete or anonymise data once its
// category's retention is over. TestEveryRetentionRuleHasAJob checks that
// every category with a limited retention is named by one of them.
func (a *app) retentionJobs(alerts *alert.Service) []retentionJob {
	return []retentionJob{
		// Devices not seen for 180 days, ended sessions, codes and their
		// client-address index after a day.
		{jobs.Job{Name: "identity.expire", Every: time.Hour, Run: a.identity.ExpireRecords},
			[]string{"device_info", "push_token", "session_log", "network"}},
		{jobs.Job{Name: "identity.real_name_attempts", Every: time.Hour, Run: a.identity.ExpireRealNameAttempts},
			[]string{"rate_limit"}},
		// No location history: positions past the freshness limit go.
		{jobs.Job{Name: "location.expire", Every: 10 * time.Minute, Run: a.location.Expire},
			[]string{"alert_location"}},
		// Notifications past their retention, and those of gone devices.
		{jobs.Job{Name: "notify.expire", Every: time.Hour, Run: a.inbox.Expire},
			[]string{"inbox", "alert_reason", "delivery_log"}},
		// Records of who was alerted, past their retention.
		{jobs.Job{Name: "alert.expire", Every: time.Hour, Run: alerts.Expire},
			[]string{"alert_recipient"}},
		// Tickets after their legal period; their client-address index
		// after a day.
		{jobs.Job{Name: "tickets.expire", Every: time.Hour, Run: a.tickets.Expire},
			[]string{"ticket", "ticket_contact", "ticket_history", "network"}},
		// Guardian requests of the table before tickets.
		{jobs.Job{Name: "minors.requests_expire", Every: time.Hour, Run: a.minors.ExpireRequests},
			[]string{"guardian_request", "network"}},
		{jobs.Job{Name: "consent.exemptions_expire", Every: 24 * time.Hour, Run: a.consent.ExpireExemptionUses},
			[]string{"exemption_record"}},
		// Who was told of a security incident, 3 years after it closed.
		{jobs.Job{Name: "incidents.expire", Every: time.Hour, Run: a.incidents.Expire},
			[]string{"incident_notice"}},
		// The sharing ledger after its 3 years (PIPL Art. 55-56).
		{jobs.Job{Name: "sharing.expire", Every: 24 * time.Hour, Run: a.sharing.Expire},
			[]string{"sharing_record"}},
		// Data exports: builds the archives asked for, and deletes ready
		// ones after their week.
		{jobs.Job{Name: "rights.exports", Every: time.Minute, Run: a.rights.BuildExports},
			[]string{"data_export"}},
		// Cancellation records after their legal period (the erasures
		// themselves run in rights.cancellations).
		{jobs.Job{Name: "rights.cancellations_expire", Every: 24 * time.Hour, Run: a.rights.ExpireCancellations},
			[]string{"cancellation_record"}},
		// Audit records after their legal period, from the start of the
		// chain, leaving an anchor that verification starts from.
		{jobs.Job{Name: "audit.prune", Every: 24 * time.Hour, Run: a.pruneAudit},
			[]string{"audit_record"}},
	}
}

// pruneAudit removes the audit entries past the audit_record retention
// of the policy data (docs/audit.md, "Retention").
func (a *app) pruneAudit(ctx context.Context) error {
	_, err := a.audit.Prune(ctx, a.consent.DataMap().RetentionOf("audit_record"))
	return err
}
