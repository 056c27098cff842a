package seeking

import (
	"context"
	"time"

	"github.com/yuncan/yuncan/internal/audit"
)

// CaseRecord is a case as stored: the public record in clear, the
// private fields and the precise last-seen point sealed.
type CaseRecord struct {
	ID         string
	ReporterID string
	OrgID      string // "" when none
	Status     Status
	Category   Category
	Person     Person
	LastSeenAt time.Time
	// LastSeenPlace is the place name.
	LastSeenPlace string
	// PointSealed is keyring.Seal("cases.last_seen_point", "lat,lng").
	PointSealed string
	// AreaLat and AreaLng are the point rounded to tenths of a degree
	// (times 10), for finding cases near a point.
	AreaLat, AreaLng int
	// Sealed private fields, each keyring.Seal("cases.<column>", value);
	// ReceiptSealed is "" when there is no receipt.
	RelationshipSealed string
	ContactSealed      string
	ReceiptSealed      string
	// A moderator's recorded verification: zero/"" when none; the note
	// sealed.
	VerifiedBy             string
	VerifiedAt             time.Time
	VerificationNoteSealed string
	StatusReason           string
	CreatedAt              time.Time
	UpdatedAt              time.Time
	SubmittedAt            time.Time
	PublishedAt            time.Time
	ResolvedAt             time.Time
}

// ClueRecord is a clue as stored: its text, point and place sealed.
type ClueRecord struct {
	ID         string
	CaseID     string
	AuthorID   string
	TextSealed string
	SeenAt     time.Time // zero when not given
	// PointSealed and PlaceSealed are "" when not given.
	PointSealed string
	PlaceSealed string
	Source      PointSource
	Status      ClueStatus
	ReviewedBy  string
	ReviewedAt  time.Time
	ReviewNote  string
	CreatedAt   time.Time
}

// MessageRecord is a relay message as stored: the text sealed.
type MessageRecord struct {
	ID         string
	CaseID     string
	GiverID    string
	SenderID   string
	TextSealed string
	CreatedAt  time.Time
}

// Store is the storage seeking needs. Methods return a *yuncan.Error with
// code NotFound when a row is absent and Conflict on a unique clash or a
// lost compare-and-set; other errors are failures of the database.
type Store interface {
	// CreateCase inserts a case and its first event atomically. NotFound
	// when the reporter's account or the organisation is gone.
	CreateCase(ctx context.Context, c CaseRecord, ev Event) error
	CaseByID(ctx context.Context, id string) (CaseRecord, error)
	// UpdateCase writes the editable fields of c (category, person, last
	// seen, private fields, organisation, UpdatedAt) while the stored
	// status is still status. NotFound when the case is gone, Conflict
	// when its status changed.
	UpdateCase(ctx context.Context, c CaseRecord, status Status) error
	// TransitionCase sets c's status, StatusReason and the Submitted,
	// Published, Resolved and Updated times while the stored status is
	// still from, and appends ev, atomically. NotFound when the case is
	// gone, Conflict when its status is no longer from.
	TransitionCase(ctx context.Context, c CaseRecord, from Status, ev Event) error
	// SetCaseVerification records a moderator's verification. NotFound
	// when the case is gone.
	SetCaseVerification(ctx context.Context, caseID, by string, at time.Time, noteSealed string) error
	// CaseEvents lists a case's events, oldest first.
	CaseEvents(ctx context.Context, caseID string) ([]Event, error)
	// CasesByStatus lists cases in status ordered by (SubmittedAt, ID),
	// after the given pair, at most limit.
	CasesByStatus(ctx context.Context, status Status, afterSubmitted time.Time, afterID string, limit int) ([]CaseRecord, error)
	// CasesByReporter lists a reporter's cases, newest first.
	CasesByReporter(ctx context.Context, reporterID string) ([]CaseRecord, error)
	// CasesInArea lists the cases in status whose area cell lies in the
	// box (inclusive), at most limit, newest published first.
	CasesInArea(ctx context.Context, status Status, box AreaBox, limit int) ([]CaseRecord, error)

	// AddCasePhoto adds a photo unless the case already has max photos
	// (then Conflict). NotFound when the case is gone.
	AddCasePhoto(ctx context.Context, p Photo, max int) error
	// CasePhotos lists a case's photos, oldest first.
	CasePhotos(ctx context.Context, caseID string) ([]Photo, error)
	// CasePhotoByKey finds a case photo by its media key.
	CasePhotoByKey(ctx context.Context, key string) (Photo, error)
	// DeleteCasePhoto deletes one of the case's photos and returns it.
	DeleteCasePhoto(ctx context.Context, caseID, id string) (Photo, error)

	// CreateClue inserts a clue. NotFound when the case or the author's
	// account is gone.
	CreateClue(ctx context.Context, c ClueRecord) error
	// ClueByID finds a clue of the case.
	ClueByID(ctx context.Context, caseID, id string) (ClueRecord, error)
	// Clues lists a case's clues, oldest first; authorID "" means every
	// author's.
	Clues(ctx context.Context, caseID, authorID string) ([]ClueRecord, error)
	// ClueTimesSince lists when the author sent clues (to any case) at
	// or after since, oldest first.
	ClueTimesSince(ctx context.Context, authorID string, since time.Time) ([]time.Time, error)
	// SetClueReview records staff's verdict on a clue. NotFound when the
	// clue is gone.
	SetClueReview(ctx context.Context, caseID, id string, status ClueStatus, by string, at time.Time, note string) error
	// AddCluePhoto adds a photo unless the clue already has max photos
	// (then Conflict). NotFound when the clue is gone.
	AddCluePhoto(ctx context.Context, p Photo, max int) error
	// CluePhotos lists a clue's photos, oldest first.
	CluePhotos(ctx context.Context, clueID string) ([]Photo, error)

	// AddMessage appends a relay message. NotFound when the case is gone.
	AddMessage(ctx context.Context, m MessageRecord) error
	// Messages lists the thread of (case, clue-giver), oldest first.
	Messages(ctx context.Context, caseID, giverID string) ([]MessageRecord, error)
	// MessageTimesSince lists when the sender sent relay messages at or
	// after since, oldest first.
	MessageTimesSince(ctx context.Context, senderID string, since time.Time) ([]time.Time, error)

	// CreateOrg inserts a partner organisation.
	CreateOrg(ctx context.Context, o Org) error
	OrgByID(ctx context.Context, id string) (Org, error)
	// Orgs lists every organisation by name.
	Orgs(ctx context.Context) ([]Org, error)
	// AddStaff makes an account staff of an organisation. Conflict when
	// it is already; NotFound when the organisation or account is gone.
	AddStaff(ctx context.Context, s Staff) error
	// RemoveStaff ends a membership; NotFound when there is none.
	RemoveStaff(ctx context.Context, orgID, userID string) error
	// OrgsOfUser lists the organisations an account is staff of.
	OrgsOfUser(ctx context.Context, userID string) ([]Org, error)

	// The audit chain (internal/audit), shared with every area: the
	// service appends staff reads and actions to it through an
	// audit.Log.
	audit.Store
}
