// Package rights holds what a person can ask about the data held on them
// (policy 6.3–6.4, PIPL Art. 44–47): the registry of every table with
// personal data, saying how one person's rows are found, exported and
// erased, and the export of an archive (P65, PIPL Art. 45). Erasure at
// cancellation (P66) reads the same registry.
package rights

import (
	"log/slog"
	"time"
)

// Status is where an export request stands.
type Status string

// Statuses of an export request.
const (
	StatusQueued   Status = "queued"
	StatusBuilding Status = "building"
	StatusReady    Status = "ready"
	StatusFailed   Status = "failed"
	StatusExpired  Status = "expired"
)

// ExportRecord is an export request as stored. The token that opens the
// download is never stored: TokenHash is its SHA-256, hex.
type ExportRecord struct {
	ID       string
	UserID   string
	Status   Status
	Progress int // 0–100
	// Attempts counts builds started; a build that crashed is retried
	// when its lease runs out, up to maxAttempts.
	Attempts       int
	LeaseUntil     time.Time
	SizeBytes      int64
	TokenHash      string
	TokenExpiresAt time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
	ReadyAt        time.Time
	// ExpiresAt is when a ready archive is deleted.
	ExpiresAt time.Time
}

// LogValue keeps logs to ids (the token hash is left out).
func (r ExportRecord) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", r.ID), slog.String("user_id", r.UserID), slog.String("status", string(r.Status)))
}

// Row is one stored row, column name to value as the database returned it.
type Row map[string]any
