package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"time"

	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/identity"
	"github.com/yuncan/yuncan/internal/keyring"
	"github.com/yuncan/yuncan/internal/media"
	"github.com/yuncan/yuncan/internal/notify"
	"github.com/yuncan/yuncan/internal/sqlstore"
)

// app is the wired service: the parts every subcommand shares.
type app struct {
	db       *sqlstore.DB
	keys     *keyring.Keyring
	identity *identity.Service
	consent  *consent.Service
	versions *consent.Versions
	minors   *consent.Minors
	media    media.Store
	sms      string // provider descriptions, for the start-up log
	email    string
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
	// The policy version in force comes from the database once serve has
	// loaded it (Versions.Load); until then it is the embedded base. A
	// sign-up accepts it, and consent events record it.
	versions := consent.NewVersions(db.Policy(), dm, nil)
	policyVersion := versions.CurrentVersion
	cs := consent.NewService(db.Consent(), dm, policyVersion, nil, logger)
	// P72, P25: what a rights-reducing version changed waits for each
	// person's acceptance.
	cs.Restrict(versions.RequireAccepted)
	ids := identity.NewService(db.Identity(), keys, sms, policyVersion, nil, identity.Config{})
	ms := media.NewFileStore(filepath.Join(c.Data, "media"))
	// P70: the gate's rules for minors, guardian consent, and deletion of
	// children's accounts left without it (the minors.expire job).
	minors := consent.NewMinors(db.Minors(), db.Consent(), cs, ids, ms, keys, nil, consent.MinorsConfig{}, logger)
	return &app{
		db:       db,
		keys:     keys,
		identity: ids,
		minors:   minors,
		consent:  cs,
		versions: versions,
		media:    ms,
		sms:      smsName,
		email:    emailName,
	}, nil
}

func (a *app) close() { a.db.Close() }

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
