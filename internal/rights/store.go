package rights

import (
	"context"
	"time"
)

// Store keeps export requests and reads a person's rows.
type Store interface {
	// CreateExport stores r unless the same person has a request, other
	// than a failed one, created at or after since: then it stores
	// nothing and returns that request with a Conflict error. NotFound
	// when the account does not exist.
	CreateExport(ctx context.Context, r ExportRecord, since time.Time) (ExportRecord, error)
	// ExportByID returns a request; NotFound when there is none.
	ExportByID(ctx context.Context, id string) (ExportRecord, error)
	// ExportsOf lists a person's requests, newest first.
	ExportsOf(ctx context.Context, userID string) ([]ExportRecord, error)
	// ClaimExport marks the oldest queued request, or a building one
	// whose lease ended before now (its builder crashed), as building
	// with the lease until leaseUntil and one more attempt, and returns
	// it. NotFound when there is nothing to build.
	ClaimExport(ctx context.Context, now, leaseUntil time.Time) (ExportRecord, error)
	// UpdateExport saves every field of r but the owner and creation
	// time; NotFound when there is no such request.
	UpdateExport(ctx context.Context, r ExportRecord) error
	// ExportsExpiring lists ready requests whose ExpiresAt is at or
	// before now.
	ExportsExpiring(ctx context.Context, now time.Time) ([]ExportRecord, error)
	// PersonRows returns the rows of t that belong to userID, as t.Match
	// finds them, every column, in a stable order.
	PersonRows(ctx context.Context, t Table, userID string) ([]Row, error)
}
