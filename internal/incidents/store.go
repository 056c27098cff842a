package incidents

import (
	"context"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/audit"
)

// Record is an incident as stored, without its texts and report.
type Record struct {
	ID           string
	Severity     Severity
	Status       Status
	OccurredAt   time.Time
	DiscoveredAt time.Time
	DeclaredAt   time.Time
	DeclaredBy   string
	AffectedAll  bool
	// AffectedCount is the number of accounts listed, or of all accounts
	// at declaration.
	AffectedCount int
	// Cursor is the notification job's progress: the greatest user id
	// done (ids are handled in order), "" before the first batch.
	Cursor string
	// LeaseUntil is when the job working on it is presumed dead.
	LeaseUntil time.Time
	NotifiedAt time.Time
	ClosedAt   time.Time
	ClosedBy   string
	UpdatedAt  time.Time
}

// AnnouncementRecord is an announcement as stored: its text is its
// incident's.
type AnnouncementRecord struct {
	ID          string
	IncidentID  string
	PublishedAt time.Time
}

// Cursor is a position in a list, newest first: the time and id of the
// last item seen. The zero Cursor is the start.
type Cursor = yuncan.Cursor

// Step is one move of the notification job, stored by SaveProgress.
type Step struct {
	IncidentID string
	// From is the cursor the step started from; To the cursor it ends
	// at.
	From, To string
	// LeaseUntil extends the job's lease.
	LeaseUntil time.Time
	At         time.Time
	// Done ends the job: the incident becomes notified at At.
	Done bool
}

// Store is the storage incidents need. Methods return a *yuncan.Error
// with code NotFound when a row is absent and Conflict on a unique clash
// or a lost compare-and-set; other errors are failures of the database.
type Store interface {
	// CreateIncident inserts an incident with its texts, its regulator
	// report, a recipient row per listed account (userIDs, none when it
	// affects everyone) and its announcement (when not nil), atomically.
	// Conflict when the id exists; NotFound when a listed id is no
	// account.
	CreateIncident(ctx context.Context, r Record, texts []Text, rep Report, userIDs []string, ann *AnnouncementRecord) error
	// IncidentByID returns an incident. NotFound when there is none.
	IncidentByID(ctx context.Context, id string) (Record, error)
	// Incidents lists incidents newest first (by DeclaredAt, then ID),
	// of status st ("" any), after the cursor, at most limit.
	Incidents(ctx context.Context, st Status, after Cursor, limit int) ([]Record, error)
	// Texts lists an incident's texts, Chinese first.
	Texts(ctx context.Context, incidentID string) ([]Text, error)
	// ReportOf returns an incident's regulator report. NotFound when
	// there is none.
	ReportOf(ctx context.Context, incidentID string) (Report, error)
	// SubmitReport marks the report submitted with its time, who, the
	// reference and the authority. NotFound when there is none,
	// Conflict when it was submitted already.
	SubmitReport(ctx context.Context, rep Report) error
	// CloseIncident closes a notified incident at at, by. NotFound when
	// there is none, Conflict when it is not notified.
	CloseIncident(ctx context.Context, id string, at time.Time, by string) error
	// AnnouncementOf returns the incident's announcement. NotFound when
	// it has none.
	AnnouncementOf(ctx context.Context, incidentID string) (AnnouncementRecord, error)

	// ExistingUsers returns those of ids that are accounts.
	ExistingUsers(ctx context.Context, ids []string) ([]string, error)
	// CountUsersCreatedBy counts the accounts created at or before t.
	CountUsersCreatedBy(ctx context.Context, t time.Time) (int, error)

	// ClaimNotifying takes a declared incident no live job holds (lease
	// before now), oldest first, and leases it until leaseUntil.
	// NotFound when there is none.
	ClaimNotifying(ctx context.Context, now, leaseUntil time.Time) (Record, error)
	// ListedAfter lists the accounts listed for an incident with ids
	// greater than after, in id order, at most limit.
	ListedAfter(ctx context.Context, incidentID, after string, limit int) ([]string, error)
	// UsersAfter lists the accounts created at or before createdBy with
	// ids greater than after, in id order, at most limit.
	UsersAfter(ctx context.Context, createdBy time.Time, after string, limit int) ([]string, error)
	// AddRecipients adds a recipient row per account, skipping those
	// the incident has already.
	AddRecipients(ctx context.Context, incidentID string, userIDs []string) error
	// MarkNotified records that an account's notice is out, unless it
	// was recorded already.
	MarkNotified(ctx context.Context, incidentID, userID, notificationID string, at time.Time) error
	// SaveProgress moves the job's cursor from step.From to step.To and
	// extends its lease, or (Done) makes the incident notified. Conflict
	// when the incident is no longer declared or its cursor moved
	// (another job took it over); NotFound when it is gone.
	SaveProgress(ctx context.Context, step Step) error
	// CountNotified counts an incident's recipients whose notice is out.
	CountNotified(ctx context.Context, incidentID string) (int, error)
	// DeleteRecipientsClosedBefore deletes at most limit recipient rows
	// of incidents closed before t and returns how many it deleted.
	DeleteRecipientsClosedBefore(ctx context.Context, t time.Time, limit int) (int, error)

	// Announcements lists announcements newest first (by PublishedAt,
	// then ID), after the cursor, at most limit.
	Announcements(ctx context.Context, after Cursor, limit int) ([]AnnouncementRecord, error)
	// AnnouncementByID returns an announcement. NotFound when there is
	// none.
	AnnouncementByID(ctx context.Context, id string) (AnnouncementRecord, error)

	// The audit chain (internal/audit), shared with every area: staff
	// actions go to it through an audit.Log.
	audit.Store
}
