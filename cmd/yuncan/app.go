package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/yuncan/yuncan/internal/alert"
	"github.com/yuncan/yuncan/internal/audit"
	"github.com/yuncan/yuncan/internal/certify"
	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/geo"
	"github.com/yuncan/yuncan/internal/identity"
	"github.com/yuncan/yuncan/internal/incidents"
	"github.com/yuncan/yuncan/internal/keyring"
	"github.com/yuncan/yuncan/internal/location"
	"github.com/yuncan/yuncan/internal/media"
	"github.com/yuncan/yuncan/internal/notify"
	"github.com/yuncan/yuncan/internal/rights"
	"github.com/yuncan/yuncan/internal/seeking"
	"github.com/yuncan/yuncan/internal/sharing"
	"github.com/yuncan/yuncan/internal/sqlstore"
	"github.com/yuncan/yuncan/internal/tickets"
)

// app is the wired service: the parts every subcommand shares.
type app struct {
	db       *sqlstore.DB
	keys     *keyring.Keyring
	identity *identity.Service
	consent  *consent.Service
	// location keeps consented positions and the geo index alerts select
	// recipients from; serve loads the index at start.
	location *location.Service
	versions *consent.Versions
	minors   *consent.Minors
	tickets  *tickets.Service
	// audit is the staff audit log (P52).
	audit *audit.Log
	// rights builds the archives of a person's data (PIPL Art. 45).
	rights *rights.Service
	media  media.Store
	sms    string // provider descriptions, for the start-up log
	email  string

	// realNames verifies real names (policy 1.1.2, P10) through the
	// certifier described by certifier, for the start-up log.
	realNames *identity.RealNameVerifier
	certifier string

	// seeking holds missing-person cases, clues and the masked relay;
	// hooks forwards its publications and resolutions to the alerts,
	// which serve starts (openAlerts).
	seeking *seeking.Service
	hooks   *alert.Hooks

	// inbox and push deliver notifications: the inbox, the live stream,
	// Web Push, APNs and FCM; pushNames describe the push channels for
	// the start-up log.
	inbox     *notify.Inbox
	push      *notify.Dispatcher
	pushNames []string

	// incidents holds security incidents (P54): serve wires it to the
	// dispatcher and runs its notification job.
	incidents *incidents.Service

	// sharing is the sharing ledger every disclosure to a third party
	// goes through (SMS, real-name checks, pushes; P33), and the partner
	// statistics (P36).
	sharing *sharing.Ledger
}

// openApp opens the database and key file and wires the areas. It does
// not migrate: serve and migrate do, the admin commands check.
func openApp(ctx context.Context, c *config, getenv func(string) string, logger *slog.Logger) (*app, error) {
	dm, err := consent.LoadDataMap()
	if err != nil {
		return nil, err
	}
	keyFile := getenv("YUNCAN_KEY_FILE")
	if keyFile == "" {
		keyFile = filepath.Join(c.Data, "keys", "keyring.json")
	}
	keys, err := keyring.Load(keyFile)
	if err != nil {
		return nil, err
	}
	db, err := sqlstore.Open(ctx, c.DB, c.Data)
	if err != nil {
		return nil, err
	}
	sms, smsName, err := notify.SMSFromEnv(getenv, c.Data, &http.Client{Timeout: 10 * time.Second})
	if err != nil {
		db.Close()
		return nil, err
	}
	_, emailName, err := notify.EmailFromEnv(getenv, c.Data)
	if err != nil {
		db.Close()
		return nil, err
	}
	certifier, certifierName, err := certify.FromEnv(getenv, c.Data, &http.Client{Timeout: 10 * time.Second})
	if err != nil {
		db.Close()
		return nil, err
	}
	// The policy version in force comes from the database once serve has
	// loaded it (Versions.Load); until then it is the embedded base. A
	// sign-up accepts it, and consent events record it.
	versions := consent.NewVersions(db.Policy(), dm, nil)
	policyVersion := versions.CurrentVersion
	cs := consent.NewService(db.Consent(), dm, policyVersion, nil, logger)
	// P72, P25: what a rights-reducing version changed waits for each
	// person's acceptance.
	cs.Restrict(versions.RequireAccepted)
	// P33: every SMS, real-name check and push to a third party is
	// recorded in the sharing ledger first, and refused without a basis.
	ledger := sharing.NewLedger(sharing.Deps{Store: db.Sharing(), Consent: cs, Keys: keys, Logger: logger}, sharing.Config{})
	sms = sharing.Sender(sms, ledger)
	certifier = sharing.Certifier(certifier, ledger)
	ids := identity.NewService(db.Identity(), keys, sms, policyVersion, nil, identity.Config{})
	// P10: real-name verification asks the separate real_name consent
	// first, and withdrawing it deletes the verification (P63).
	realNames := identity.NewRealNameVerifier(ids, certifier, func(ctx context.Context, userID string) error {
		return cs.Require(ctx, consent.User(userID), consent.PurposeRealName)
	}, identity.RealNameConfig{})
	cs.OnWithdraw(consent.PurposeRealName, "identity.real_name", func(ctx context.Context, sub consent.Subject) error {
		if sub.Kind != consent.SubjectUser {
			return nil
		}
		return ids.DeleteRealName(ctx, sub.ID)
	})
	ms := media.NewFileStore(filepath.Join(c.Data, "media"))
	// Web Push always (its VAPID keys are made on first start); APNs and
	// FCM when configured, else the development outbox.
	base, _ := c.baseURL()
	_, pushers, pushNames, err := notify.PushFromEnv(getenv, c.Data, base)
	if err != nil {
		db.Close()
		return nil, err
	}
	inbox := notify.NewInbox(db.Notify(), notify.InboxConfig{}, nil)
	granted := func(p consent.Purpose) func(context.Context, notify.Subject) (bool, error) {
		return func(ctx context.Context, s notify.Subject) (bool, error) {
			return cs.Granted(ctx, consent.Subject{Kind: consent.SubjectKind(s.Kind), ID: s.ID}, p)
		}
	}
	push := notify.NewDispatcher(inbox, pushers, notify.DispatcherConfig{
		// P60: marketing pushes only with the marketing_push consent.
		MarketingAllowed: granted(consent.PurposeMarketingPush),
		// P50: push services abroad only with the separate consent.
		CrossBorderAllowed: granted(consent.PurposeCrossBorderPush),
		// P33: each push through a service abroad goes in the ledger.
		Disclose: ledger.PushDisclose,
	}, logger)
	// P70: the gate's rules for minors, guardian consent, and deletion of
	// children's accounts left without it (the minors.expire job).
	// Complaints, reports and requests (P67, P71, P73); a guardian's
	// request about a minor becomes one of these tickets.
	// P52: one hash-chained audit log for every area's staff reads and
	// actions.
	auditLog := audit.NewLog(db.Audit(), nil)
	tk := tickets.NewService(tickets.Deps{Store: db.Tickets(), Keys: keys, Notifier: inbox, Accounts: ids, Audit: auditLog, Logger: logger}, tickets.Config{})
	minors := consent.NewMinors(tk.GuardianChannel(db.Minors()), db.Consent(), cs, ids, ms, keys, nil, consent.MinorsConfig{}, logger)
	// P63: withdrawing the location consent also deletes the record of
	// which alerts the person got from how far away. Registered here, not
	// only in serve, so that every process can finish such a purge.
	cs.OnWithdraw(consent.PurposeAlertLocation, "alert.recipients", alert.Forget(db.Alert()))
	hooks := &alert.Hooks{}
	positions := location.NewService(db.Location(), &geo.Index{}, cs, keys, nil, location.Config{}, logger)
	// P65 export, P66 cancellation and P69 ceasing operations: an erasure
	// also drops the account and its devices from the geo index and the
	// consent cache; ceasing tells everyone through the dispatcher and
	// closes sign-ups.
	rs := rights.NewService(rights.Deps{Store: db.Rights(), Keys: keys, SealContext: sqlstore.SealContext,
		Media: ms, Dir: filepath.Join(c.Data, "exports"), Logger: logger, Codes: ids, Retention: dm.RetentionOf,
		Positions: positions, Consents: cs, Notifier: push}, rights.Config{})
	ids.CloseSignUpWhen(rs.Ceasing)
	return &app{
		db:       db,
		keys:     keys,
		identity: ids,
		minors:   minors,
		tickets:  tk,
		audit:    auditLog,
		rights:   rs,
		consent:  cs,
		versions: versions,
		media:    ms,
		location: positions,
		sms:      smsName,
		email:    emailName,

		realNames: realNames,
		certifier: certifierName,

		inbox:     inbox,
		push:      push,
		pushNames: pushNames,
		sharing:   ledger,

		// P10: publishing a case asks the real-name verification.
		seeking: seeking.NewService(seeking.Deps{Store: db.Seeking(), RealNames: ids, Gate: cs, Media: ms, Keys: keys,
			Publisher: hooks, Logger: logger, Audit: auditLog,
			// Reach figures count the alerts in the inboxes.
			Reach: func(ctx context.Context, id string) (int, int, error) {
				return inbox.Counts(ctx, notify.KindSeekingAlert, id)
			}}, seeking.Config{}),
		hooks: hooks,
	}, nil
}

func (a *app) close() { a.db.Close() }

// reseal re-encrypts every sealed column (sqlstore.SealedColumns) under
// the active key, after keyring.Rotate, and returns how many values
// changed. A server that has not yet picked up the new key may write
// values under the old one meanwhile, so reseal checks that none is left
// and goes over again a few times; it fails, naming the columns, when
// some remain. It is resumable: another run finishes what one left.
func (a *app) reseal(ctx context.Context) (int, error) {
	total := 0
	var left []string
	for range 3 {
		counts, err := a.db.Reseal(ctx, a.keys)
		for _, c := range counts {
			total += c.Resealed
		}
		if err != nil {
			return total, err
		}
		rest, err := a.db.NotUnderKey(ctx, a.keys.ActiveKeyID())
		if err != nil {
			return total, err
		}
		left = left[:0]
		for _, c := range rest {
			if c.Resealed > 0 {
				left = append(left, fmt.Sprintf("%s.%s: %d", c.Table, c.Column, c.Resealed))
			}
		}
		if len(left) == 0 {
			return total, nil
		}
	}
	return total, fmt.Errorf("values under an older key remain (%s)", strings.Join(left, ", "))
}

// migrate applies pending migrations and logs what it did.
func (a *app) migrate(ctx context.Context, logger *slog.Logger) error {
	n, err := a.db.Migrate(ctx)
	if err != nil {
		return err
	}
	applied, _, err := a.db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	logger.Info("database ready", slog.String("engine", string(a.db.Dialect())), slog.Int("schema_version", applied), slog.Int("migrations_applied", n))
	return nil
}

func (a *app) checkSchema(ctx context.Context) error {
	if err := a.db.CheckSchema(ctx); err != nil {
		return fmt.Errorf("%w", err)
	}
	return nil
}
