// Package tickets holds complaints, reports and requests (policy 6.5, 7c
// and 9; P67, P71, P73): a person files a ticket in a category, follows
// its thread and status, and staff work a queue with a deadline clock of
// 15 working days, where a refusal always names its reason and the route
// to complain to the regulator.
//
// Every way in ends here: the in-app "help & feedback" (logged in), the
// guardians' form for people without an account (GuardianChannel routes
// consent's guardian requests into tickets), and requests staff receive
// by e-mail, WeChat, phone or letter and log for the person (P73).
package tickets

import (
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/identity"
)

// Category is what a ticket is about.
type Category string

// Categories.
const (
	// CategoryPrivacyComplaint: the person thinks their personal
	// information rights were infringed (policy 6.5).
	CategoryPrivacyComplaint Category = "privacy_complaint"
	// CategoryReportContent reports a case, post or comment.
	CategoryReportContent Category = "report_content"
	// CategoryReportAccount reports an account.
	CategoryReportAccount Category = "report_account"
	// CategoryRightsRequest asks to access, correct, delete or have
	// explained what is held, or for help withdrawing a consent.
	CategoryRightsRequest Category = "rights_request"
	// CategoryGuardianRequest is a guardian's request about a minor's
	// information (policy 7c, P71).
	CategoryGuardianRequest Category = "guardian_request"
)

// Categories lists the categories in the order forms show them.
var Categories = []Category{CategoryPrivacyComplaint, CategoryReportContent, CategoryReportAccount, CategoryRightsRequest, CategoryGuardianRequest}

// Valid reports whether c is a known category.
func (c Category) Valid() bool { return slices.Contains(Categories, c) }

// Kind is what a rights request or a guardian's request asks for; other
// categories have none.
type Kind string

// Kinds.
const (
	KindAccess      Kind = "access"
	KindCorrection  Kind = "correction"
	KindDeletion    Kind = "deletion"
	KindExplanation Kind = "explanation"
	// KindWithdrawal asks for help withdrawing a consent.
	KindWithdrawal Kind = "withdrawal"
	// KindOther is a guardian's request of another kind.
	KindOther Kind = "other"
)

// RightsKinds are the kinds of a rights request (PIPL art. 44–48).
var RightsKinds = []Kind{KindAccess, KindCorrection, KindDeletion, KindExplanation, KindWithdrawal}

// GuardianKinds are the kinds of a guardian's request; they are the
// guardian channel's (consent.GuardianRequestKind).
var GuardianKinds = []Kind{KindAccess, KindCorrection, KindDeletion, KindOther}

// KindsOf lists the kinds a category takes; nil when it takes none.
func KindsOf(c Category) []Kind {
	switch c {
	case CategoryRightsRequest:
		return RightsKinds
	case CategoryGuardianRequest:
		return GuardianKinds
	}
	return nil
}

// Status is where a ticket stands.
type Status string

// Statuses.
const (
	// StatusOpen waits for staff: just filed, or the person wrote again
	// after an answer.
	StatusOpen Status = "open"
	// StatusInProgress: staff are on it.
	StatusInProgress Status = "in_progress"
	// StatusAnswered: staff replied; the person may write again or close.
	StatusAnswered Status = "answered"
	// StatusRefused: staff refused the request, with a reason (P73).
	StatusRefused Status = "refused"
	// StatusClosed: done; nobody writes in it any more.
	StatusClosed Status = "closed"
)

// Statuses lists every status.
var Statuses = []Status{StatusOpen, StatusInProgress, StatusAnswered, StatusRefused, StatusClosed}

// Valid reports whether s is a known status.
func (s Status) Valid() bool { return slices.Contains(Statuses, s) }

// Waiting reports whether a ticket in s waits for staff, so that its
// deadline runs.
func (s Status) Waiting() bool { return s == StatusOpen || s == StatusInProgress }

// Channel is how a ticket came in.
type Channel string

// Channels.
const (
	// ChannelApp: filed by a logged-in person, in the app or on the web.
	ChannelApp Channel = "app"
	// ChannelGuardianForm: a guardian without an account, through the
	// guardian request form (POST /api/v1/guardian-requests).
	ChannelGuardianForm Channel = "guardian_form"
	// The channels of policy section 9, which staff log (P73).
	ChannelEmail  Channel = "email"
	ChannelWeChat Channel = "wechat"
	ChannelPhone  Channel = "phone"
	ChannelLetter Channel = "letter"
)

// StaffChannels are the channels staff log requests from.
var StaffChannels = []Channel{ChannelEmail, ChannelWeChat, ChannelPhone, ChannelLetter}

// ReferenceKind is what a ticket's reference names.
type ReferenceKind string

// Reference kinds.
const (
	RefCase    ReferenceKind = "case"
	RefPost    ReferenceKind = "post"
	RefComment ReferenceKind = "comment"
	RefAccount ReferenceKind = "account"
)

// ReferenceKinds lists the reference kinds.
var ReferenceKinds = []ReferenceKind{RefCase, RefPost, RefComment, RefAccount}

// Reference names what a ticket is about: a case, a post, a comment or an
// account. It is not checked against the stores: reported content may be
// gone already, and checking an account would tell who has one.
type Reference struct {
	Kind ReferenceKind
	ID   string
}

// Role is who acted on a ticket.
type Role string

// Roles in a ticket's thread and history.
const (
	// RoleRequester is the person the ticket belongs to (or, on the
	// guardian form, the guardian).
	RoleRequester Role = "requester"
	RoleModerator Role = "moderator"
	RoleAdmin     Role = "admin"
	// RoleSystem is the service itself (an expiry).
	RoleSystem Role = "system"
)

// Staff reports whether r is a staff role.
func (r Role) Staff() bool { return r == RoleModerator || r == RoleAdmin }

// Limits.
const (
	// MaxText bounds a ticket's text and each reply, in characters.
	MaxText = 2000
	// MaxReason bounds a refusal's or a closing's reason.
	MaxReason = 1000
	// MaxContact bounds the contact staff note for a request that came
	// by e-mail, WeChat, phone or letter.
	MaxContact = 200
)

var referenceID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// checkText returns what is wrong with a free text, or "" when it is
// fine: required, valid UTF-8, at most max characters, and no control
// characters but line breaks and tabs.
func checkText(s string, max int) string {
	switch {
	case !utf8.ValidString(s):
		return "is not valid UTF-8"
	case strings.TrimSpace(s) == "":
		return "is required"
	case utf8.RuneCountInString(s) > max:
		return fmt.Sprintf("must have at most %d characters", max)
	case strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' }):
		return "contains control characters"
	}
	return ""
}

// Input is a ticket as a person files it.
type Input struct {
	Category  Category
	Kind      Kind
	Text      string
	Reference Reference
	// MinorPhone is the minor's mobile number, for a guardian's request.
	MinorPhone string
}

// validate checks in and returns the minor's number parsed, with every
// field's problem at once.
func (in Input) validate() (identity.Phone, error) {
	e := yuncan.Errorf(yuncan.Invalid, "the ticket has invalid fields")
	if !in.Category.Valid() {
		e.WithField("category", "must be privacy_complaint, report_content, report_account, rights_request or guardian_request")
	}
	kinds := KindsOf(in.Category)
	switch {
	case kinds == nil && in.Kind != "":
		e.WithField("kind", "must be empty for this category")
	case kinds != nil && in.Kind == "":
		e.WithField("kind", "is required")
	case kinds != nil && !slices.Contains(kinds, in.Kind):
		e.WithField("kind", "is not a kind of this category")
	}
	if p := checkText(in.Text, MaxText); p != "" {
		e.WithField("text", p)
	}
	ref := in.Reference
	switch {
	case ref.Kind == "" && ref.ID == "":
		if in.Category == CategoryReportContent || in.Category == CategoryReportAccount {
			e.WithField("reference_id", "is required")
		}
	case !slices.Contains(ReferenceKinds, ref.Kind):
		e.WithField("reference_kind", "must be case, post, comment or account")
	case !referenceID.MatchString(ref.ID):
		e.WithField("reference_id", "must be 1 to 64 letters, digits, - or _")
	case in.Category == CategoryReportAccount && ref.Kind != RefAccount:
		e.WithField("reference_kind", "must be account for a report of an account")
	case in.Category == CategoryReportContent && ref.Kind == RefAccount:
		e.WithField("reference_kind", "must be case, post or comment for a report of content")
	}
	var minor identity.Phone
	switch {
	case in.Category == CategoryGuardianRequest:
		p, err := identity.ParsePhone(in.MinorPhone)
		if err != nil {
			problem := "is not a valid phone number"
			for _, pr := range yuncan.AsError(err).Fields {
				problem = pr
			}
			e.WithField("minor_phone", problem)
		}
		minor = p
	case in.MinorPhone != "":
		e.WithField("minor_phone", "is only for a guardian's request")
	}
	if len(e.Fields) > 0 {
		return "", e
	}
	return minor, nil
}

// Message is one entry of a ticket's thread after its text: a reply.
type Message struct {
	ID       string
	TicketID string
	// AuthorID is the account that wrote it; "" for a guardian without
	// an account.
	AuthorID   string
	AuthorRole Role
	Text       string
	CreatedAt  time.Time
}

// LogValue logs ids, never the text.
func (m Message) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", m.ID), slog.String("ticket_id", m.TicketID))
}

// Action is what an event records.
type Action string

// Actions.
const (
	ActionFiled   Action = "filed"
	ActionReplied Action = "replied"
	ActionStatus  Action = "status"
	// ActionRead is a staff read of the ticket's content (also in the
	// audit log).
	ActionRead Action = "read"
)

// Event is one entry of a ticket's history: who did what, and when.
// Every staff action has one (P67).
type Event struct {
	ID        string
	TicketID  string
	At        time.Time
	ActorID   string // "" for a guardian without an account or the system
	ActorRole Role
	Action    Action
	From, To  Status // equal when the status did not change
	Reason    string
}

// Ticket is a ticket as its readers see it: text and thread opened.
type Ticket struct {
	ID string
	// RequesterID is the account the ticket belongs to; "" for a
	// guardian without an account, or a request staff logged without
	// linking an account.
	RequesterID string
	Channel     Channel
	Category    Category
	Kind        Kind
	Status      Status
	Text        string
	Reference   Reference
	// MinorPhone is the minor's number on a guardian's request.
	MinorPhone identity.Phone
	// Contact is how staff reach a requester without an account: the
	// guardian's number, or the e-mail address, WeChat id, phone or
	// postal address a request came from.
	Contact string
	// StatusReason is the reason of a refusal (always set) or of a
	// closing by staff (optional).
	StatusReason string
	// DueAt is the end of the last working day staff have to answer:
	// 15 working days after filing, or after the person wrote again
	// following an answer.
	DueAt      time.Time
	CreatedAt  time.Time
	UpdatedAt  time.Time
	AnsweredAt time.Time // the first staff answer; zero until then
	ClosedAt   time.Time // zero unless closed
	// Overdue: waiting for staff past DueAt.
	Overdue  bool
	Messages []Message
}

// LogValue logs ids and state, never the text or numbers.
func (t Ticket) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", t.ID), slog.String("category", string(t.Category)), slog.String("status", string(t.Status)))
}

// Summary is a ticket in a list: no text.
type Summary struct {
	ID          string
	RequesterID string
	Channel     Channel
	Category    Category
	Kind        Kind
	Status      Status
	DueAt       time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time
	Overdue     bool
}
