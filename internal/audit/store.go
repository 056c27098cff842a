package audit

import "context"

// Store keeps the chain. Methods return a *yuncan.Error with code
// Conflict when a sequence number is taken (which the lock rules out);
// other errors are failures of the database.
type Store interface {
	// AppendEntry runs link with the chain's head (the zero Entry when it
	// is empty) inside a transaction that excludes every other append
	// and seal, and inserts the entry link returns.
	AppendEntry(ctx context.Context, link func(head Entry) (Entry, error)) (Entry, error)
	// SealEntries, in the same exclusive transaction, finds the entries
	// with no hash that come after the last hashed entry (those carried
	// over from the unchained log), oldest first, and stores the hashes
	// link gives each one after its predecessor. It returns how many it
	// sealed.
	SealEntries(ctx context.Context, link func(prev, e Entry) Entry) (int, error)
	// Entries lists the entries f selects, newest first (by Seq), with
	// Seq < f.Before when set, at most f.Limit.
	Entries(ctx context.Context, f Filter) ([]Entry, error)
	// Chain lists at most limit entries with Seq > after, oldest first.
	Chain(ctx context.Context, after int64, limit int) ([]Entry, error)
}
