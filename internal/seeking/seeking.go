// Package seeking holds missing-person cases, their review and
// resolution, clues and the masked relay between a reporter and the
// people who send clues, and the partner organisations (police, rescue
// stations) whose staff may publish and see private fields.
//
// A case moves draft → in_review → published → found_safe /
// found_safe_private / found_deceased / withdrawn, or is rejected; every
// change is an Event with who and when. The missing person's record uses
// the field names of PFIF 1.4 person records. Private fields (the
// reporter's relationship and contact, the police report receipt) and
// precise positions are sealed with the keyring and shown only to the
// reporter, moderators and partner police; every staff read of them is
// appended to the audit log.
package seeking

import (
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/identity"
	"github.com/yuncan/yuncan/internal/location"
)

// Status is where a case is in its lifecycle.
type Status string

// Statuses.
const (
	StatusDraft     Status = "draft"
	StatusInReview  Status = "in_review"
	StatusPublished Status = "published"
	StatusRejected  Status = "rejected"
	// Resolutions.
	StatusFoundSafe Status = "found_safe"
	// StatusFoundSafePrivate: found safe, does not want to be contacted.
	// The case is closed and hidden from everyone but the reporter and
	// staff.
	StatusFoundSafePrivate Status = "found_safe_private"
	StatusFoundDeceased    Status = "found_deceased"
	StatusWithdrawn        Status = "withdrawn"
)

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	switch s {
	case StatusDraft, StatusInReview, StatusPublished, StatusRejected,
		StatusFoundSafe, StatusFoundSafePrivate, StatusFoundDeceased, StatusWithdrawn:
		return true
	}
	return false
}

// Resolved reports whether s closes a case.
func (s Status) Resolved() bool {
	switch s {
	case StatusFoundSafe, StatusFoundSafePrivate, StatusFoundDeceased, StatusWithdrawn:
		return true
	}
	return false
}

// Category is the kind of person missing; it picks the alert ring
// schedule and whether publication needs a police report or a
// moderator's verification.
type Category string

// Categories.
const (
	CategoryChild    Category = "child"
	CategoryElder    Category = "elder"
	CategoryDementia Category = "dementia" // a person with dementia, of any age
	CategoryAdult    Category = "adult"
	CategoryOther    Category = "other"
)

// Valid reports whether c is a known category.
func (c Category) Valid() bool {
	switch c {
	case CategoryChild, CategoryElder, CategoryDementia, CategoryAdult, CategoryOther:
		return true
	}
	return false
}

// NeedsVerification reports whether a case of this category may be
// published only with a police report receipt or a moderator's recorded
// verification: an adult may have left on purpose, and no one may use the
// service to hunt them. "other" is treated as an adult.
func (c Category) NeedsVerification() bool { return c == CategoryAdult || c == CategoryOther }

// Sex values, as in PFIF 1.4; "" when not given.
var sexes = map[string]bool{"": true, "female": true, "male": true, "other": true}

// Person is the missing person's public record, with PFIF 1.4 names.
// Optional text fields are "" when not given.
type Person struct {
	FullName       string
	GivenName      string
	FamilyName     string
	AlternateNames []string
	Sex            string
	// DateOfBirth is YYYY, YYYY-MM or YYYY-MM-DD, as in PFIF.
	DateOfBirth         string
	Age                 *int
	HomeCity            string
	HeightCm            *int
	Build               string
	Clothing            string
	DistinguishingMarks string
	Description         string
	Circumstances       string
}

// LogValue keeps the record out of logs.
func (Person) LogValue() slog.Value { return slog.StringValue("[person]") }

// LastSeen is when and where the person was last seen.
type LastSeen struct {
	At        time.Time
	Lat, Lng  float64
	PlaceName string
}

// LogValue keeps the place out of logs.
func (LastSeen) LogValue() slog.Value { return slog.StringValue("[last_seen]") }

// Private holds the fields only the reporter, moderators and partner
// police see. They are stored sealed.
type Private struct {
	// Relationship is the reporter's relationship to the person.
	Relationship string
	// ContactPhone is the reporter's contact number, E.164.
	ContactPhone string
	// PoliceReceipt is the receipt number of the police report, "" when
	// none.
	PoliceReceipt string
}

// LogValue keeps private fields out of logs.
func (Private) LogValue() slog.Value { return slog.StringValue("[private]") }

// CaseInput is what a reporter writes when creating or editing a case.
type CaseInput struct {
	Category Category
	Person   Person
	LastSeen LastSeen
	Private  Private
	// OrgID names the partner organisation publishing the case; "" for
	// a private person. The reporter must be its staff.
	OrgID string
}

// Limits on case fields, in characters.
const (
	MaxName           = 64
	MaxNamePart       = 32
	MaxAlternateNames = 5
	MaxShortText      = 64
	MaxPlaceName      = 128
	MaxMediumText     = 500
	MaxLongText       = 2000
	MaxRelationship   = 32
	MaxReceipt        = 64
	MaxReason         = 500
	MaxAge            = 130
)

// clockSkew is how far in the future a time may be and still count as
// now: phones' clocks drift.
const clockSkew = 2 * time.Minute

// Validate checks and normalises the input (trims text, turns the
// contact number into E.164); now bounds dates. Invalid errors name the
// JSON field.
func (in *CaseInput) Validate(now time.Time) error {
	e := yuncan.Errorf(yuncan.Invalid, "the case has invalid fields")
	if !in.Category.Valid() {
		e.WithField("category", "must be one of child, elder, dementia, adult, other")
	}
	p := &in.Person
	text(e, "full_name", &p.FullName, MaxName, true, true)
	text(e, "given_name", &p.GivenName, MaxNamePart, true, false)
	text(e, "family_name", &p.FamilyName, MaxNamePart, true, false)
	if len(p.AlternateNames) > MaxAlternateNames {
		e.WithField("alternate_names", fmt.Sprintf("must hold at most %d names", MaxAlternateNames))
	} else {
		for i := range p.AlternateNames {
			text(e, fmt.Sprintf("alternate_names[%d]", i), &p.AlternateNames[i], MaxName, true, true)
		}
	}
	if !sexes[p.Sex] {
		e.WithField("sex", "must be female, male or other")
	}
	birthYear := 0
	if p.DateOfBirth != "" {
		y, err := checkDateOfBirth(p.DateOfBirth, now)
		if err != "" {
			e.WithField("date_of_birth", err)
		}
		birthYear = y
	}
	if p.Age != nil && (*p.Age < 0 || *p.Age > MaxAge) {
		e.WithField("age", fmt.Sprintf("must be from 0 to %d", MaxAge))
	}
	if in.Category == CategoryChild {
		if p.Age != nil && *p.Age >= 18 || birthYear > 0 && now.Year()-birthYear > 18 {
			e.WithField("category", "a child must be under 18")
		}
	}
	text(e, "home_city", &p.HomeCity, MaxShortText, true, false)
	if p.HeightCm != nil && (*p.HeightCm < 30 || *p.HeightCm > 260) {
		e.WithField("height_cm", "must be from 30 to 260")
	}
	text(e, "build", &p.Build, MaxShortText, true, false)
	text(e, "clothing", &p.Clothing, MaxMediumText, false, false)
	text(e, "distinguishing_marks", &p.DistinguishingMarks, MaxMediumText, false, false)
	text(e, "description", &p.Description, MaxLongText, false, false)
	text(e, "circumstances", &p.Circumstances, MaxLongText, false, false)

	ls := &in.LastSeen
	checkTime(e, "last_seen.at", ls.At, now, true)
	checkPoint(e, "last_seen.", ls.Lat, ls.Lng)
	text(e, "last_seen.place_name", &ls.PlaceName, MaxPlaceName, true, true)

	pr := &in.Private
	text(e, "private.relationship", &pr.Relationship, MaxRelationship, true, true)
	if strings.TrimSpace(pr.ContactPhone) == "" {
		e.WithField("private.contact_phone", "is required")
	} else if phone, err := identity.ParsePhone(pr.ContactPhone); err != nil {
		e.WithField("private.contact_phone", "is not a valid mobile number")
	} else {
		pr.ContactPhone = string(phone)
	}
	text(e, "private.police_receipt", &pr.PoliceReceipt, MaxReceipt, true, false)
	if len(in.OrgID) > 64 {
		e.WithField("org_id", "is not an organisation id")
	}
	if len(e.Fields) > 0 {
		return e
	}
	return nil
}

// checkDateOfBirth checks a PFIF date (YYYY, YYYY-MM or YYYY-MM-DD) and
// returns its year, or what is wrong.
func checkDateOfBirth(s string, now time.Time) (int, string) {
	var t time.Time
	var err error
	switch len(s) {
	case 4:
		t, err = time.Parse("2006", s)
	case 7:
		t, err = time.Parse("2006-01", s)
	case 10:
		t, err = time.Parse(time.DateOnly, s)
	default:
		return 0, "must be YYYY, YYYY-MM or YYYY-MM-DD"
	}
	switch {
	case err != nil:
		return 0, "must be YYYY, YYYY-MM or YYYY-MM-DD"
	case t.After(now.Add(clockSkew)):
		return 0, "is in the future"
	case t.Year() < 1890:
		return 0, "is before 1890"
	}
	return t.Year(), ""
}

// checkTime checks a moment that must have happened already.
func checkTime(e *yuncan.Error, field string, t, now time.Time, required bool) {
	switch {
	case t.IsZero():
		if required {
			e.WithField(field, "is required")
		}
	case t.After(now.Add(clockSkew)):
		e.WithField(field, "is in the future")
	case t.Year() < 1900:
		e.WithField(field, "is before 1900")
	}
}

// checkPoint records what location.CheckCoordinates finds under the
// prefixed field names.
func checkPoint(e *yuncan.Error, prefix string, lat, lng float64) {
	if err := location.CheckCoordinates(lat, lng); err != nil {
		for f, problem := range yuncan.AsError(err).Fields {
			e.WithField(prefix+f, problem)
		}
	}
}

// text trims *s and records what is wrong with it under field.
func text(e *yuncan.Error, field string, s *string, max int, singleLine, required bool) {
	*s = strings.TrimSpace(*s)
	if *s == "" {
		if required {
			e.WithField(field, "is required")
		}
		return
	}
	if msg := checkText(*s, max, singleLine); msg != "" {
		e.WithField(field, msg)
	}
}

// checkText returns what is wrong with s, or "".
func checkText(s string, max int, singleLine bool) string {
	if !utf8.ValidString(s) {
		return "is not valid UTF-8"
	}
	if utf8.RuneCountInString(s) > max {
		return "is longer than " + strconv.Itoa(max) + " characters"
	}
	for _, r := range s {
		if (r == '\n' || r == '\t') && !singleLine {
			continue
		}
		if unicode.IsControl(r) {
			return "contains control characters"
		}
	}
	return ""
}

// Case is a case as the service works with it, private fields opened
// only where the caller may see them.
type Case struct {
	ID         string
	ReporterID string
	OrgID      string // "" when a private person reported it
	Status     Status
	Category   Category
	Person     Person
	LastSeen   LastSeen
	Photos     []Photo
	// VerifiedAt is when a moderator recorded a verification of the
	// report (for adults without a police receipt); zero when none.
	VerifiedAt time.Time
	// HasPoliceReceipt tells whether a receipt number is on file
	// without opening it.
	HasPoliceReceipt bool
	// StatusReason is the reason given with the last rejection, return
	// or resolution.
	StatusReason string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	SubmittedAt  time.Time
	PublishedAt  time.Time
	ResolvedAt   time.Time
}

// LogValue logs the id and status only.
func (c Case) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", c.ID), slog.String("status", string(c.Status)))
}

// Access is what a viewer may see of a case.
type Access int

// Access levels, from least to most.
const (
	// AccessNone: the case does not exist for the viewer (404).
	AccessNone Access = iota
	// AccessRedacted: a resolved case seen by the public: status and
	// category only, no name, photos or description.
	AccessRedacted
	// AccessPublic: a published case's public record.
	AccessPublic
	// AccessStaff: moderators and partner police: the record in any
	// status after draft, its history; private fields through the
	// audited CasePrivate.
	AccessStaff
	// AccessReporter: the reporter: everything, private fields included.
	AccessReporter
)

// CaseView is a case as one viewer may see it.
type CaseView struct {
	Case
	Access Access
	// Org is the publishing partner organisation, nil when none.
	Org *Org
	// History is set for the reporter and staff.
	History []Event
	// Private is set for the reporter only; staff ask CasePrivate.
	Private *Private
}

// Redacted reports whether personal details are hidden from the view.
func (v CaseView) Redacted() bool { return v.Access == AccessRedacted }

// Event is one change of a case's status.
type Event struct {
	ID        string
	CaseID    string
	At        time.Time
	ActorID   string
	ActorRole string // reporter, moderator, partner_staff
	From      Status
	To        Status
	Reason    string
}

// Actor roles recorded on events.
const (
	ActorReporter  = "reporter"
	ActorModerator = "moderator"
	ActorPartner   = "partner_staff"
)

// Photo is a sanitised image of a case or a clue.
type Photo struct {
	ID        string
	OwnerID   string // the case or clue id
	Key       string // media key: cases/<case id>/<random>.jpg, clues/<clue id>/<random>.jpg
	CreatedAt time.Time
}

// Viewer is who is asking: an account and its role, or the zero Viewer
// for an anonymous visitor.
type Viewer struct {
	UserID string
	Role   identity.Role
}

// Anonymous reports whether v is not logged in.
func (v Viewer) Anonymous() bool { return v.UserID == "" }

// Moderator reports whether v may review cases (admins may too).
func (v Viewer) Moderator() bool {
	return v.Role == identity.RoleModerator || v.Role == identity.RoleAdmin
}

// OrgKind is the kind of a partner organisation.
type OrgKind string

// Organisation kinds.
const (
	OrgPolice         OrgKind = "police"
	OrgRescueStation  OrgKind = "rescue_station"
	OrgVolunteerGroup OrgKind = "volunteer_group"
)

// Valid reports whether k is a known kind.
func (k OrgKind) Valid() bool {
	return k == OrgPolice || k == OrgRescueStation || k == OrgVolunteerGroup
}

// MayPublish reports whether staff of this kind may publish without a
// real-name verification of their own.
func (k OrgKind) MayPublish() bool { return k == OrgPolice || k == OrgRescueStation }

// Org is a partner organisation.
type Org struct {
	ID        string
	Name      string
	Kind      OrgKind
	CreatedAt time.Time
}

// Staff is an account's membership of a partner organisation.
type Staff struct {
	OrgID   string
	UserID  string
	AddedBy string
	AddedAt time.Time
}

// ClueStatus is where a clue is in its review.
type ClueStatus string

// Clue statuses.
const (
	ClueNew       ClueStatus = "new"
	ClueVerified  ClueStatus = "verified"
	ClueDismissed ClueStatus = "dismissed"
)

// PointSource tells where a clue's position came from.
type PointSource string

// Point sources.
const (
	// SourceTyped: the person typed or picked the place.
	SourceTyped PointSource = "typed"
	// SourceDevice: the device's current position, which needs the
	// precise_location consent.
	SourceDevice PointSource = "device"
)

// ClueInput is what a person sends as a clue.
type ClueInput struct {
	Text string
	// SeenAt is when the person was seen; zero when not given.
	SeenAt time.Time
	// Lat and Lng are both set or both nil.
	Lat, Lng  *float64
	PlaceName string
	Source    PointSource
}

// LogValue keeps the clue out of logs.
func (ClueInput) LogValue() slog.Value { return slog.StringValue("[clue]") }

// Limits on clues and messages, in characters.
const (
	MaxClueText    = 2000
	MaxMessageText = 1000
	MaxNote        = 500
)

// Validate checks and normalises a clue; now bounds SeenAt.
func (in *ClueInput) Validate(now time.Time) error {
	e := yuncan.Errorf(yuncan.Invalid, "the clue has invalid fields")
	text(e, "text", &in.Text, MaxClueText, false, true)
	checkTime(e, "seen_at", in.SeenAt, now, false)
	switch {
	case in.Lat == nil && in.Lng == nil:
		if in.Source == SourceDevice {
			e.WithField("lat", "is required with source device").WithField("lng", "is required with source device")
		}
	case in.Lat == nil || in.Lng == nil:
		e.WithField("lat", "lat and lng go together").WithField("lng", "lat and lng go together")
	default:
		checkPoint(e, "", *in.Lat, *in.Lng)
	}
	if in.Source == "" {
		in.Source = SourceTyped
	}
	if in.Source != SourceTyped && in.Source != SourceDevice {
		e.WithField("source", "must be typed or device")
	}
	text(e, "place_name", &in.PlaceName, MaxPlaceName, true, false)
	if len(e.Fields) > 0 {
		return e
	}
	return nil
}

// Clue is a clue, opened.
type Clue struct {
	ID        string
	CaseID    string
	AuthorID  string
	Text      string
	SeenAt    time.Time // zero when not given
	Point     *Point    // nil when no place was given
	PlaceName string
	Source    PointSource
	Status    ClueStatus
	// ReviewNote is staff's note on a verification or dismissal.
	ReviewNote string
	ReviewedAt time.Time
	Photos     []Photo
	CreatedAt  time.Time
}

// LogValue logs the ids only.
func (c Clue) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", c.ID), slog.String("case", c.CaseID))
}

// Point is a position.
type Point struct{ Lat, Lng float64 }

// ClueView is a clue as one viewer may see it.
type ClueView struct {
	Clue
	// Mine: the viewer sent it.
	Mine bool
	// Staff: the viewer is staff, who see the author's account id.
	Staff bool
}

// Party is a side of a relay thread.
type Party string

// Parties.
const (
	PartyReporter  Party = "reporter"
	PartyClueGiver Party = "clue_giver"
)

// Message is one relay message, opened.
type Message struct {
	ID        string
	CaseID    string
	GiverID   string // the clue-giver whose thread it is
	From      Party
	Text      string
	CreatedAt time.Time
}

// MessageView is a message as one viewer sees it: never with an account
// id or a phone number of the other side.
type MessageView struct {
	Message
	Mine bool
}

// Audit actions: staff reads of private data, then staff actions.
const (
	AuditCasePrivateRead = "case.private.read"
	AuditCluesRead       = "case.clues.read"
	AuditClueRead        = "clue.read"
	AuditRelayRead       = "relay.read"
	AuditCluePhotoRead   = "clue.photo.read"
	AuditCaseApprove     = "case.approve"
	AuditCaseReject      = "case.reject"
	AuditCaseReturn      = "case.return"
	AuditCaseWithdraw    = "case.withdraw"
	AuditCaseResolve     = "case.resolve"
	AuditCaseVerify      = "case.verify"
	AuditClueReview      = "clue.review"
)

// Box is a latitude/longitude rectangle; MinLng > MaxLng never happens:
// boxes crossing the antimeridian are widened to every longitude.
type Box struct{ MinLat, MaxLat, MinLng, MaxLng float64 }

// ParseBBox parses a GeoJSON bbox "minLng,minLat,maxLng,maxLat".
func ParseBBox(s string) (Box, error) {
	bad := yuncan.FieldError("bbox", "must be minLng,minLat,maxLng,maxLat").WithReason("invalid_bbox")
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		return Box{}, bad
	}
	var f [4]float64
	for i, p := range parts {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return Box{}, bad
		}
		f[i] = v
	}
	b := Box{MinLng: f[0], MinLat: f[1], MaxLng: f[2], MaxLat: f[3]}
	if location.CheckCoordinates(b.MinLat, b.MinLng) != nil || location.CheckCoordinates(b.MaxLat, b.MaxLng) != nil ||
		b.MinLat > b.MaxLat || b.MinLng > b.MaxLng {
		return Box{}, bad
	}
	return b, nil
}

// Contains reports whether the point lies in the box.
func (b Box) Contains(lat, lng float64) bool {
	return lat >= b.MinLat && lat <= b.MaxLat && lng >= b.MinLng && lng <= b.MaxLng
}

// earthRadiusKm is the mean radius of the Earth.
const earthRadiusKm = 6371.0088

// distanceKm is the great-circle distance between two points.
func distanceKm(lat1, lng1, lat2, lng2 float64) float64 {
	const rad = math.Pi / 180
	dLat := (lat2 - lat1) * rad
	dLng := (lng2 - lng1) * rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLng/2)*math.Sin(dLng/2)
	return 2 * earthRadiusKm * math.Asin(math.Min(1, math.Sqrt(a)))
}

// boxAround returns a box holding every point within radiusKm of the
// centre.
func boxAround(lat, lng, radiusKm float64) Box {
	dLat := radiusKm / 111.0
	b := Box{MinLat: lat - dLat, MaxLat: lat + dLat, MinLng: -180, MaxLng: 180}
	if b.MinLat <= -90 || b.MaxLat >= 90 {
		b.MinLat, b.MaxLat = math.Max(b.MinLat, -90), math.Min(b.MaxLat, 90)
		return b
	}
	c := math.Cos(math.Max(math.Abs(b.MinLat), math.Abs(b.MaxLat)) * math.Pi / 180)
	dLng := radiusKm / (111.0 * c)
	if lng-dLng > -180 && lng+dLng < 180 {
		b.MinLng, b.MaxLng = lng-dLng, lng+dLng
	}
	return b
}

// Area cells: the stored, unsealed position of a case is its last-seen
// point rounded to tenths of a degree (about 11 km), enough to find
// candidates for a "near a point" query; the precise point is sealed.
const areaScale = 10

func areaOf(deg float64) int { return int(math.Round(deg * areaScale)) }

// AreaBox is a box in area cells, inclusive.
type AreaBox struct{ MinLat, MaxLat, MinLng, MaxLng int }

// areaBox widens b by one cell each way, so that every point in b lies in
// a cell in the result.
func areaBox(b Box) AreaBox {
	return AreaBox{MinLat: areaOf(b.MinLat) - 1, MaxLat: areaOf(b.MaxLat) + 1, MinLng: areaOf(b.MinLng) - 1, MaxLng: areaOf(b.MaxLng) + 1}
}
