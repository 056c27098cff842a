package consent

import (
	"context"
	"time"
)

// Purge is a durable task: run a registered withdrawal hook for a subject.
// It is written in the same transaction as the withdrawal, so a crash
// between the two cannot lose it; it is done when DoneAt is set.
type Purge struct {
	ID        string
	Subject   Subject
	Purpose   Purpose
	Hook      string
	CreatedAt time.Time
	Attempts  int
	DoneAt    time.Time
}

// Store is the consent ledger's storage. The ledger is append-only: no
// method changes or deletes an event (only an account's erasure, in the
// rights area, removes them with the account).
type Store interface {
	SettingsStore
	ExemptionStore

	// AppendEvent appends e and its purge tasks in one transaction, and
	// moves the subject's current state for e.Purpose from prevEventID
	// (""when there is none) to e.ID. Conflict when the state moved in
	// the meantime: the caller reads again and retries.
	AppendEvent(ctx context.Context, e Event, prevEventID string, purges []Purge) error
	// LastEvents returns, for each purpose the subject ever decided on,
	// the last event.
	LastEvents(ctx context.Context, s Subject) ([]Event, error)
	// Events returns the subject's whole history, oldest first.
	Events(ctx context.Context, s Subject) ([]Event, error)
	// LastGrantAndWithdrawal returns when the subject last granted and
	// last withdrew each purpose (zero when never).
	LastTimes(ctx context.Context, s Subject) (map[Purpose][2]time.Time, error)
	// PendingPurges returns unfinished purge tasks, fewest failed attempts
	// first and then oldest first, so tasks that keep failing cannot hold
	// up newer withdrawals.
	PendingPurges(ctx context.Context, limit int) ([]Purge, error)
	// FinishPurge marks a task done.
	FinishPurge(ctx context.Context, id string, at time.Time) error
	// RetryPurge counts a failed attempt.
	RetryPurge(ctx context.Context, id string) error
}
