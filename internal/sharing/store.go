package sharing

import (
	"context"
	"time"
)

// Store keeps the ledger and reads what the statistics are made of.
// Implemented in internal/sqlstore (sharing.go), tested by the
// conformance suite (internal/storetest/sharing.go) on both databases.
type Store interface {
	// AddDisclosure appends e. Conflict when the id exists.
	AddDisclosure(ctx context.Context, e Entry) error
	// UserByPhoneIndex returns the id of the account holding the number
	// with that blind index; NotFound when none does.
	UserByPhoneIndex(ctx context.Context, phoneIndex string) (string, error)
	// DisclosuresOf returns the account's entries, newest first, after
	// the cursor (the zero cursor: from the newest), at most limit: those
	// about the account, about its devices, and those recorded by the
	// blind index of its current number before any account held it.
	DisclosuresOf(ctx context.Context, userID string, after Cursor, limit int) ([]Entry, error)
	// DeleteDisclosuresBefore deletes the entries recorded before t and
	// returns how many.
	DeleteDisclosuresBefore(ctx context.Context, t time.Time) (int, error)

	// CaseFacts returns one fact per case published in [from, to): no
	// id, no name, no text, only what the statistics count by.
	CaseFacts(ctx context.Context, from, to time.Time) ([]CaseFact, error)
	// IsPartnerStaff reports whether the account is staff of a partner
	// organisation.
	IsPartnerStaff(ctx context.Context, userID string) (bool, error)
}

// CaseFact is what the partner statistics know of one published case.
type CaseFact struct {
	Category    string
	Status      string
	PublishedAt time.Time
	// AreaLat and AreaLng are the case's last-seen area in tenths of a
	// degree (cases.area_lat, cases.area_lng).
	AreaLat, AreaLng int
	// Alerted is how many people the case's alert rings reached when
	// they opened (alert_rings.recipients, summed).
	Alerted int
}
