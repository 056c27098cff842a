package consent

import (
	"log/slog"
	"time"

	"github.com/yuncan/yuncan"
)

// Purpose names a reason personal data is processed, as declared in the
// policy data (policy/datamap.json).
type Purpose string

// Purposes the code refers to by name. The policy data declares each,
// with its data categories, basis and retention; a test fails when a
// constant here is missing there.
const (
	PurposeAccount           Purpose = "account"
	PurposeSecurity          Purpose = "security"
	PurposeRealName          Purpose = "real_name"
	PurposeFaceVerification  Purpose = "face_verification"
	PurposePersonalized      Purpose = "personalized_recommendation"
	PurposePreciseLocation   Purpose = "precise_location"
	PurposeAlertLocation     Purpose = "seeking_alert_location"
	PurposeContacts          Purpose = "contacts"
	PurposeMedia             Purpose = "camera_photos_microphone"
	PurposeProgrammaticAds   Purpose = "programmatic_ads"
	PurposeMarketingPush     Purpose = "marketing_push"
	PurposeCrossBorderPush   Purpose = "cross_border_push"
	PurposeMarketingSMS      Purpose = "marketing_sms"
	PurposeShareVideoPartner Purpose = "share_video_partner"
	PurposeThirdPartyLogin   Purpose = "third_party_login"
)

// SubjectKind tells accounts from anonymous devices.
type SubjectKind string

// Subject kinds.
const (
	SubjectUser   SubjectKind = "user"
	SubjectDevice SubjectKind = "device"
)

// Subject is whose consent is asked: an account, or a device before login.
type Subject struct {
	Kind SubjectKind
	ID   string
}

// User returns the subject for an account.
func User(id string) Subject { return Subject{Kind: SubjectUser, ID: id} }

// Device returns the subject for an anonymous device.
func Device(id string) Subject { return Subject{Kind: SubjectDevice, ID: id} }

// LogValue logs the kind and id (ids are not personal data by themselves).
func (s Subject) LogValue() slog.Value {
	return slog.GroupValue(slog.String("kind", string(s.Kind)), slog.String("id", s.ID))
}

// Action is what a ledger event does.
type Action string

// Ledger actions.
const (
	Grant    Action = "grant"
	Withdraw Action = "withdraw"
)

// Channel is where a consent was given or withdrawn.
type Channel string

// Channels.
const (
	ChannelApp Channel = "app"
	ChannelWeb Channel = "web"
	ChannelAPI Channel = "api"
)

// Valid reports whether c is a known channel.
func (c Channel) Valid() bool { return c == ChannelApp || c == ChannelWeb || c == ChannelAPI }

// Event is one entry of the append-only consent ledger.
type Event struct {
	ID            string
	Subject       Subject
	Purpose       Purpose
	Action        Action
	PolicyVersion string
	Channel       Channel
	At            time.Time
}

// State is the current state of one purpose for one subject, derived
// from the ledger: the last event decides.
type State struct {
	Purpose       Purpose
	Granted       bool
	PolicyVersion string    // of the last event
	GrantedAt     time.Time // of the last grant, zero if never
	WithdrawnAt   time.Time // of the last withdrawal, zero if never
}

// ErrConsentRequired is returned by the gate; the HTTP layer answers 403
// with code consent_required and the purpose.
func errConsentRequired(p Purpose, why string) *yuncan.Error {
	return &yuncan.Error{Code: yuncan.Forbidden, Reason: "consent_required", Message: why,
		Extra: map[string]string{"purpose": string(p)}}
}
