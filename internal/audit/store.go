package audit

import "context"

// Store keeps the chain and its anchor. Methods return a *yuncan.Error
// with code Conflict when a sequence number is taken (which the lock
// rules out); other errors are failures of the database.
type Store interface {
	// AppendEntry runs link with the chain's head inside a transaction
	// that excludes every other append, seal and prune, and inserts the
	// entry link returns. The head is the last entry; when every entry
	// was pruned, the anchor as an entry (its Seq, At and Hash); the
	// zero Entry when the chain is empty and was never pruned.
	AppendEntry(ctx context.Context, link func(head Entry) (Entry, error)) (Entry, error)
	// SealEntries, in the same exclusive transaction, finds the entries
	// with no hash that come after the last hashed entry (those carried
	// over from the unchained log), oldest first, and stores the hashes
	// link gives each one after its predecessor (the last hashed entry,
	// else the anchor, else the zero Entry). It returns how many it
	// sealed.
	SealEntries(ctx context.Context, link func(prev, e Entry) Entry) (int, error)
	// Entries lists the entries f selects, newest first (by Seq), with
	// Seq < f.Before when set, at most f.Limit.
	Entries(ctx context.Context, f Filter) ([]Entry, error)
	// Chain lists at most limit entries with Seq > after, oldest first.
	Chain(ctx context.Context, after int64, limit int) ([]Entry, error)
	// Anchor returns the current anchor: the one with the highest Seq,
	// or the zero Anchor when the chain was never pruned.
	Anchor(ctx context.Context) (Anchor, error)
	// PruneEntries, in the exclusive transaction, reads the current
	// anchor and at most limit entries after it, oldest first, and calls
	// pick with them. When pick returns an anchor with a higher Seq, it
	// deletes the entries after the current anchor up to and including
	// that Seq, and stores the new anchor, in that transaction. It
	// returns how many entries it deleted; an error from pick is
	// returned as it is, after whatever pick chose is committed.
	PruneEntries(ctx context.Context, limit int, pick func(from Anchor, es []Entry) (Anchor, error)) (int, error)
}
