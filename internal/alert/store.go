package alert

import (
	"context"
	"time"

	"github.com/yuncan/yuncan/internal/consent"
)

// ClueRef names a verified clue.
type ClueRef struct{ CaseID, ClueID string }

// Store is the storage alerts need (migration 0010). Methods return a
// *yuncan.Error with code NotFound when a row is absent; other errors are
// failures of the database.
type Store interface {
	// CreateAlert inserts an alert with its rings, unless the case has one
	// for the same centre (case and clue) already: then it returns that
	// one and false. NotFound when the case is gone.
	CreateAlert(ctx context.Context, a Alert) (Alert, bool, error)
	// AlertByID returns an alert with its rings.
	AlertByID(ctx context.Context, id string) (Alert, error)
	// AlertsOfCase lists a case's alerts with their rings, oldest first.
	AlertsOfCase(ctx context.Context, caseID string) ([]Alert, error)
	// DueAlerts lists open alerts having a ring due at or before now that
	// has not opened, with their rings, at most limit, oldest first.
	DueAlerts(ctx context.Context, now time.Time, limit int) ([]Alert, error)
	// SetRingBatches raises the ring's batch count to n unless it is
	// higher already, and returns the count stored. NotFound when there
	// is no such ring.
	SetRingBatches(ctx context.Context, alertID string, ring, n int) (int, error)
	// MarkRingsOpened sets the opening time of the alert's rings numbered
	// up to ring that have not opened, and ring's count of recipients.
	MarkRingsOpened(ctx context.Context, alertID string, ring, recipients int, at time.Time) error
	// CloseAlerts closes every open alert of the case.
	CloseAlerts(ctx context.Context, caseID string, at time.Time) error
	// MarkNotified records on every alert of the case that the resolution
	// was handed to delivery.
	MarkNotified(ctx context.Context, caseID string, at time.Time) error

	// Catch-up after a crash between a committed change and its hook.
	//
	// PublishedWithoutAlert lists published cases that have no alert at
	// their last-seen point, at most limit.
	PublishedWithoutAlert(ctx context.Context, limit int) ([]string, error)
	// VerifiedCluesWithoutAlert lists the verified clues of published
	// cases that have no alert, at most limit.
	VerifiedCluesWithoutAlert(ctx context.Context, limit int) ([]ClueRef, error)
	// ResolvedWithOpenAlerts lists cases no longer published that have an
	// open alert, at most limit.
	ResolvedWithOpenAlerts(ctx context.Context, limit int) ([]string, error)
	// PendingResolutions lists cases whose alerts are closed and whose
	// resolution was not handed to delivery yet, at most limit.
	PendingResolutions(ctx context.Context, limit int) ([]string, error)

	// AlertedSubjects lists everyone recorded as alerted for the case.
	AlertedSubjects(ctx context.Context, caseID string) ([]consent.Subject, error)
	// Recipients returns the records of those of subs alerted for the
	// case.
	Recipients(ctx context.Context, caseID string, subs []consent.Subject) ([]Recipient, error)
	// AlertCounts counts, for each of subs, the cases they were alerted
	// about at or after since (the daily cap); absent means 0.
	AlertCounts(ctx context.Context, subs []consent.Subject, since time.Time) (map[consent.Subject]int, error)
	// AddRecipient records r unless the person is recorded for the case
	// already; it reports whether it added it.
	AddRecipient(ctx context.Context, r Recipient) (bool, error)
	// DeleteRecipient forgets that the person was alerted for the case.
	DeleteRecipient(ctx context.Context, caseID string, sub consent.Subject) error
	// UnresolvedRecipients lists who was alerted for the case and has not
	// been sent the resolution.
	UnresolvedRecipients(ctx context.Context, caseID string) ([]consent.Subject, error)
	// MarkResolved records that the resolution was sent to the person.
	MarkResolved(ctx context.Context, caseID string, sub consent.Subject, at time.Time) error
	// DeleteSubject deletes every record of the person (erasure, and the
	// withdrawal of the location consent).
	DeleteSubject(ctx context.Context, sub consent.Subject) error
	// DeleteRecipientsBefore deletes records of alerts sent before t and
	// returns how many.
	DeleteRecipientsBefore(ctx context.Context, t time.Time) (int, error)
}
