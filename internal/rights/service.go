package rights

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/keyring"
	"github.com/yuncan/yuncan/internal/media"
)

// Config holds the export limits; zero fields take the defaults.
type Config struct {
	// Every is the least time between two requests of one person (P65:
	// one archive a week).
	Every time.Duration
	// Keep is how long a ready archive stays before it is deleted.
	Keep time.Duration
	// LinkTTL is how long a download link works.
	LinkTTL time.Duration
	// Lease is how long a build may run before another run takes it
	// over, as after a crash.
	Lease time.Duration
	// MaxAttempts is how many builds are tried before a request fails.
	MaxAttempts int

	// CoolingOff is how long a cancellation waits, and can be withdrawn,
	// before the erasure (P66; 7 days).
	CoolingOff time.Duration
	// KnownAfter is how long a login (this phone or browser) must have
	// been in use before it may ask to cancel the account (24 hours).
	KnownAfter time.Duration
}

func (c Config) withDefaults() Config {
	if c.Every <= 0 {
		c.Every = 7 * 24 * time.Hour
	}
	if c.Keep <= 0 {
		c.Keep = 7 * 24 * time.Hour
	}
	if c.LinkTTL <= 0 {
		c.LinkTTL = 24 * time.Hour
	}
	if c.Lease <= 0 {
		c.Lease = 10 * time.Minute
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 3
	}
	if c.CoolingOff <= 0 {
		c.CoolingOff = 7 * 24 * time.Hour
	}
	if c.KnownAfter < 0 {
		c.KnownAfter = 0
	} else if c.KnownAfter == 0 {
		c.KnownAfter = 24 * time.Hour
	}
	return c
}

// Deps are what the service needs.
type Deps struct {
	Store Store
	Keys  *keyring.Keyring
	// SealContext returns the keyring context of a sealed column: the
	// one list of sealed columns, sqlstore.SealContext. Without it no
	// sealed value can be exported.
	SealContext func(table, column string) (string, bool)
	Media       media.Store
	// Dir is the folder archives are written to (<data>/exports).
	Dir    string
	Now    func() time.Time
	Logger *slog.Logger

	// Codes sends and checks the SMS code that proves a cancellation
	// (identity.Service); nil refuses cancellations.
	Codes Codes
	// Positions and Consents hold copies outside the database (the geo
	// index, the cached consent states) that an erasure must drop too:
	// location.Service and consent.Service. Either may be nil.
	Positions Positions
	Consents  ConsentCache
	// Retention is how long a category's legal records are kept
	// (consent.DataMap.RetentionOf).
	Retention func(category string) time.Duration
	// Notifier tells every account when operations cease (P69).
	Notifier Notifier
}

// Service runs the rights of access and copy.
type Service struct {
	store   Store
	keys    *keyring.Keyring
	sealCtx func(table, column string) (string, bool)
	media   media.Store
	dir     string
	now     func() time.Time
	logger  *slog.Logger
	cfg     Config

	codes     Codes
	positions Positions
	consents  ConsentCache
	retention func(category string) time.Duration
	notifier  Notifier
	ceased    atomic.Pointer[ceaseCache]
}

// NewService returns the service.
func NewService(d Deps, cfg Config) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.SealContext == nil {
		d.SealContext = func(string, string) (string, bool) { return "", false }
	}
	if d.Retention == nil {
		d.Retention = func(string) time.Duration { return 0 }
	}
	return &Service{store: d.Store, keys: d.Keys, sealCtx: d.SealContext, media: d.Media, dir: d.Dir, now: d.Now, logger: d.Logger, cfg: cfg.withDefaults(),
		codes: d.Codes, positions: d.Positions, consents: d.Consents, retention: d.Retention, notifier: d.Notifier}
}

// Config returns the limits in force.
func (s *Service) Config() Config { return s.cfg }

func newID() string { return uuid.Must(uuid.NewV7()).String() }

var errExportNotFound = &yuncan.Error{Code: yuncan.NotFound, Message: "export not found"}

// Export is a request as its owner sees it.
type Export struct {
	ID        string
	Status    Status
	Progress  int
	SizeBytes int64
	CreatedAt time.Time
	ReadyAt   time.Time
	ExpiresAt time.Time
}

func exportOf(r ExportRecord) Export {
	return Export{ID: r.ID, Status: r.Status, Progress: r.Progress, SizeBytes: r.SizeBytes, CreatedAt: r.CreatedAt, ReadyAt: r.ReadyAt, ExpiresAt: r.ExpiresAt}
}

// RequestExport queues an archive of everything held about userID (P65,
// PIPL Art. 45). One a week: a second request inside the week is
// RateLimited, with RetryAfter.
func (s *Service) RequestExport(ctx context.Context, userID string) (Export, error) {
	now := s.now().UTC()
	r := ExportRecord{ID: newID(), UserID: userID, Status: StatusQueued, CreatedAt: now, UpdatedAt: now}
	prev, err := s.store.CreateExport(ctx, r, now.Add(-s.cfg.Every))
	if yuncan.ErrorCode(err) == yuncan.Conflict {
		return Export{}, &yuncan.Error{Code: yuncan.RateLimited, Reason: "export_weekly_limit",
			Message: "one data export a week: please wait", RetryAfter: prev.CreatedAt.Add(s.cfg.Every).Sub(now), Err: err}
	}
	if err != nil {
		return Export{}, fmt.Errorf("rights: request export: %w", err)
	}
	s.logger.InfoContext(ctx, "export requested", "export", r)
	return exportOf(r), nil
}

// Exports lists the person's requests, newest first.
func (s *Service) Exports(ctx context.Context, userID string) ([]Export, error) {
	rs, err := s.store.ExportsOf(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("rights: exports: %w", err)
	}
	out := make([]Export, len(rs))
	for i, r := range rs {
		out[i] = exportOf(r)
	}
	return out, nil
}

// own returns userID's request id; someone else's is NotFound.
func (s *Service) own(ctx context.Context, userID, id string) (ExportRecord, error) {
	r, err := s.store.ExportByID(ctx, id)
	if yuncan.ErrorCode(err) == yuncan.NotFound || (err == nil && r.UserID != userID) {
		return ExportRecord{}, errExportNotFound
	}
	if err != nil {
		return ExportRecord{}, fmt.Errorf("rights: export %s: %w", id, err)
	}
	return r, nil
}

// Link makes a new download token for a ready archive of userID, valid
// for LinkTTL; it replaces any earlier token. Only its hash is stored.
func (s *Service) Link(ctx context.Context, userID, id string) (token string, expires time.Time, err error) {
	r, err := s.own(ctx, userID, id)
	if err != nil {
		return "", time.Time{}, err
	}
	if r.Status != StatusReady {
		return "", time.Time{}, yuncan.Errorf(yuncan.Conflict, "the archive is not ready").WithReason("export_not_ready")
	}
	b := make([]byte, 32)
	rand.Read(b)
	token = base64.RawURLEncoding.EncodeToString(b)
	now := s.now().UTC()
	r.TokenHash, r.TokenExpiresAt, r.UpdatedAt = hashToken(token), now.Add(s.cfg.LinkTTL), now
	if r.TokenExpiresAt.After(r.ExpiresAt) {
		r.TokenExpiresAt = r.ExpiresAt
	}
	if err := s.store.UpdateExport(ctx, r); err != nil {
		return "", time.Time{}, fmt.Errorf("rights: link %s: %w", id, err)
	}
	return token, r.TokenExpiresAt, nil
}

func hashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// Open returns the archive of a ready export of userID when token is its
// current, unexpired token; any other case is NotFound. The caller
// closes the file.
func (s *Service) Open(ctx context.Context, userID, id, token string) (*os.File, Export, error) {
	r, err := s.own(ctx, userID, id)
	if err != nil {
		return nil, Export{}, err
	}
	now := s.now()
	if r.Status != StatusReady || r.TokenHash == "" || token == "" || !now.Before(r.TokenExpiresAt) ||
		subtle.ConstantTimeCompare([]byte(hashToken(token)), []byte(r.TokenHash)) != 1 {
		return nil, Export{}, errExportNotFound
	}
	f, err := os.Open(s.archivePath(r.ID))
	if err != nil {
		return nil, Export{}, fmt.Errorf("rights: open archive %s: %w", r.ID, err)
	}
	return f, exportOf(r), nil
}

func (s *Service) archivePath(id string) string { return filepath.Join(s.dir, id+".zip") }

// BuildExports is the job: it deletes archives past their week, then
// builds every queued request (and any whose build crashed: its lease
// ran out). A failed build is retried until MaxAttempts.
func (s *Service) BuildExports(ctx context.Context) error {
	if err := s.expire(ctx); err != nil {
		return err
	}
	for ctx.Err() == nil {
		now := s.now().UTC()
		r, err := s.store.ClaimExport(ctx, now, now.Add(s.cfg.Lease))
		if yuncan.ErrorCode(err) == yuncan.NotFound {
			return nil
		}
		if err != nil {
			return fmt.Errorf("rights: claim export: %w", err)
		}
		if r.Attempts > s.cfg.MaxAttempts {
			s.fail(ctx, r, errors.New("too many attempts"))
			continue
		}
		if err := s.build(ctx, r); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if r.Attempts >= s.cfg.MaxAttempts {
				s.fail(ctx, r, err)
			} else {
				// Queued again, for the next run.
				r.Status, r.Progress, r.LeaseUntil, r.UpdatedAt = StatusQueued, 0, time.Time{}, s.now().UTC()
				if uerr := s.store.UpdateExport(ctx, r); uerr != nil {
					return fmt.Errorf("rights: requeue export %s: %w", r.ID, uerr)
				}
				s.logger.WarnContext(ctx, "export build failed, will retry", "export", r, "err", err)
				return nil
			}
		}
	}
	return ctx.Err()
}

func (s *Service) fail(ctx context.Context, r ExportRecord, cause error) {
	os.Remove(s.archivePath(r.ID))
	r.Status, r.UpdatedAt = StatusFailed, s.now().UTC()
	if err := s.store.UpdateExport(ctx, r); err != nil {
		s.logger.ErrorContext(ctx, "export: mark failed", "export", r, "err", err)
	}
	s.logger.ErrorContext(ctx, "export failed", "export", r, "err", cause)
}

func (s *Service) expire(ctx context.Context) error {
	now := s.now().UTC()
	rs, err := s.store.ExportsExpiring(ctx, now)
	if err != nil {
		return fmt.Errorf("rights: expiring exports: %w", err)
	}
	for _, r := range rs {
		if err := os.Remove(s.archivePath(r.ID)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("rights: delete archive %s: %w", r.ID, err)
		}
		r.Status, r.TokenHash, r.TokenExpiresAt, r.UpdatedAt = StatusExpired, "", time.Time{}, now
		if err := s.store.UpdateExport(ctx, r); err != nil {
			return fmt.Errorf("rights: expire export %s: %w", r.ID, err)
		}
		s.logger.InfoContext(ctx, "export archive deleted", "export", r)
	}
	return nil
}
