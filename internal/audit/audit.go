// Package audit is the append-only log of what staff do with personal
// data (policy section 5, P52). Entries are chained by hashes: each
// entry's hash covers the previous entry's hash and the entry itself, so
// changing or removing an entry in the middle breaks every later link,
// and Verify reports where.
package audit

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/yuncan/yuncan/internal/identity"
)

// Record is what a caller appends: who did what to which target, and why.
type Record struct {
	ActorID    string
	ActorRole  identity.Role
	Action     string // case.private.read, case.approve, ticket.reply, ...
	TargetKind string // case, clue, ticket
	TargetID   string
	Reason     string
}

// Entry is one link of the chain.
type Entry struct {
	Seq        int64 // 1, 2, 3, ... with no gaps
	At         time.Time
	ActorID    string
	ActorRole  identity.Role
	Action     string
	TargetKind string
	TargetID   string
	Reason     string
	// PrevHash is the hash of entry Seq-1, hex; "" for the first entry.
	PrevHash string
	// Hash is SHA-256(prev hash bytes || Canonical(e)), hex. Entries
	// carried over from the unchained table (migration 0012) have ""
	// until they are sealed (see Log.Seal).
	Hash string
}

// canonical is the fixed-order encoding the hash covers. Field order and
// names never change: old hashes depend on them.
type canonical struct {
	Seq        int64  `json:"seq"`
	At         int64  `json:"at"` // UTC Unix nanoseconds, as stored
	ActorID    string `json:"actor_id"`
	ActorRole  string `json:"actor_role"`
	Action     string `json:"action"`
	TargetKind string `json:"target_kind"`
	TargetID   string `json:"target_id"`
	Reason     string `json:"reason"`
}

// Canonical is the byte string of e that its hash covers: a JSON object
// with fixed keys in a fixed order (everything but the hashes).
func Canonical(e Entry) []byte {
	var at int64
	if !e.At.IsZero() {
		at = e.At.UnixNano()
	}
	b, err := json.Marshal(canonical{Seq: e.Seq, At: at, ActorID: e.ActorID, ActorRole: string(e.ActorRole), Action: e.Action,
		TargetKind: e.TargetKind, TargetID: e.TargetID, Reason: e.Reason})
	if err != nil {
		panic("audit: canonical encoding: " + err.Error()) // strings and ints always encode
	}
	return b
}

// HashOf is the hash of e after an entry whose hash is prevHash (hex, ""
// for none): SHA-256(prev hash bytes || canonical encoding), hex. The
// previous hash is length-prefixed so that no two (prev, entry) pairs
// share an input.
func HashOf(prevHash string, e Entry) string {
	prev, err := hex.DecodeString(prevHash)
	if err != nil {
		// A stored prev_hash that is not hex is tampering: hash it as
		// text so the result differs from any honest link.
		prev = []byte(prevHash)
	}
	h := sha256.New()
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(prev)))
	h.Write(n[:])
	h.Write(prev)
	h.Write(Canonical(e))
	return hex.EncodeToString(h.Sum(nil))
}

// Link makes e the entry after head (the zero Entry when the chain is
// empty): its sequence number, previous hash and hash.
func Link(head, e Entry) Entry {
	e.Seq = head.Seq + 1
	e.PrevHash = head.Hash
	e.Hash = HashOf(e.PrevHash, e)
	return e
}

// Filter selects entries for List. Empty fields do not filter.
type Filter struct {
	ActorID    string
	TargetKind string
	TargetID   string
	// Since and Until bound At: Since <= At < Until.
	Since, Until time.Time
	// Before is a cursor: only entries with Seq < Before; 0 is the start.
	Before int64
	// Limit is at most this many entries; 0 takes 50, at most 500.
	Limit int
}

// Page is one page of entries, newest first.
type Page struct {
	Entries []Entry
	// Next is the cursor for the next (older) page; 0 at the end.
	Next int64
}

// Anchor is where the chain starts once its oldest entries are pruned
// (Log.Prune): the sequence number, time and hash of the last entry
// removed. The first entry kept links to it as it linked to that entry,
// so Verify starts from the anchor instead of entry 1. The zero Anchor
// is the start of a chain never pruned.
type Anchor struct {
	Seq  int64
	At   time.Time
	Hash string
	// PrunedAt is when the prune that set it ran, and Entries how many
	// entries it removed.
	PrunedAt time.Time
	Entries  int64
}

// head is the anchor as the entry before the first one kept.
func (a Anchor) head() Entry { return Entry{Seq: a.Seq, At: a.At, Hash: a.Hash} }

// Result is what Verify found.
type Result struct {
	OK bool
	// Anchor is where the walk started: the zero Anchor (entry 1) until
	// the log is first pruned.
	Anchor Anchor
	// Entries is how many entries were checked (those after the anchor).
	Entries int64
	// BrokenAt is the first sequence number whose link does not hold
	// (changed, missing or out of order); 0 when OK.
	BrokenAt int64
	// HeadSeq and HeadHash are the last entry (the anchor when every
	// entry was pruned): anchoring them elsewhere
	// (a ticket, an e-mail, another system) is what shows a rewrite of
	// the whole chain or a cut tail.
	HeadSeq  int64
	HeadHash string
}
