package location

import (
	"context"
	"time"

	"github.com/yuncan/yuncan/internal/consent"
)

// Record is a position as stored: the point sealed (precise location is
// sensitive and encrypted at rest), never in clear.
type Record struct {
	Subject   consent.Subject
	Sealed    string // keyring.Seal("location_positions.point", "lat,lng")
	Coarse    bool
	UpdatedAt time.Time
}

// Store keeps one position per subject. Methods return a NotFound
// *yuncan.Error for an absent position.
type Store interface {
	// SavePosition creates or replaces the subject's position.
	SavePosition(ctx context.Context, r Record) error
	Position(ctx context.Context, s consent.Subject) (Record, error)
	// DeletePosition removes the subject's position; absent is not an
	// error.
	DeletePosition(ctx context.Context, s consent.Subject) error
	// EachPosition calls fn for every stored position (rebuilding the
	// index at start).
	EachPosition(ctx context.Context, fn func(Record) error) error
	// DeletePositionsBefore removes positions updated before t and
	// returns whose they were.
	DeletePositionsBefore(ctx context.Context, t time.Time) ([]consent.Subject, error)
}
