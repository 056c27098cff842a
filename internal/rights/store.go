package rights

import (
	"context"
	"time"
)

// Store keeps export requests and cancellations, and reads and erases a
// person's rows.
type Store interface {
	CancelStore
	CeaseStore
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

// CancelStore keeps cancellation requests and erases a person's rows.
type CancelStore interface {
	// CreateCancellation stores c unless the account has an open request
	// (pending or erasing): then it stores nothing and returns that one
	// with a Conflict error. NotFound when the account does not exist.
	CreateCancellation(ctx context.Context, c Cancellation) (Cancellation, error)
	// LatestCancellation returns the account's newest request; NotFound
	// when there is none.
	LatestCancellation(ctx context.Context, userID string) (Cancellation, error)
	// WithdrawCancellation marks the account's pending request withdrawn
	// at at and returns it; NotFound when none is pending.
	WithdrawCancellation(ctx context.Context, userID string, at time.Time) (Cancellation, error)
	// ClaimCancellation marks the oldest pending request due at or before
	// now, or an erasing one whose lease ended before now (its eraser
	// crashed), as erasing with the lease until leaseUntil and one more
	// attempt, and returns it. NotFound when there is nothing to do.
	ClaimCancellation(ctx context.Context, now, leaseUntil time.Time) (Cancellation, error)
	// ErasePerson erases, in one transaction, the rows of c's account in
	// every table of order (ErasureOrder), as each table's Erase says:
	// first it collects the media keys of the rows to go, the ids of the
	// account's export archives and its subjects (the account and its
	// devices) and counts the kept rows (hold turns a count into a Hold);
	// then deletes and anonymises; and saves Pending and Held on c in the
	// same transaction, so a crash leaves either everything or nothing
	// erased. It returns c as saved.
	ErasePerson(ctx context.Context, c Cancellation, order []Table, hold func(t Table, rows int) Hold) (Cancellation, error)
	// SaveCancellation saves every field of c but the account and the
	// request time; NotFound when there is no such request.
	SaveCancellation(ctx context.Context, c Cancellation) error
	// ExpireCancellations deletes completed and withdrawn requests that
	// ended before cutoff, and returns how many.
	ExpireCancellations(ctx context.Context, cutoff time.Time) (int, error)
}
