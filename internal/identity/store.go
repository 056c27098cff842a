package identity

import (
	"context"
	"time"
)

// UserRecord is an account as stored: the phone sealed and indexed, never
// in clear.
type UserRecord struct {
	ID            string
	PhoneSealed   string // keyring.Seal("users.phone", E.164)
	PhoneIndex    string // keyring.BlindIndex("phone", E.164)
	Role          Role
	Nickname      string
	AvatarKey     string
	Gender        *string
	Birthday      *string
	Region        *string
	Introduction  *string
	PasswordHash  string // argon2id PHC string, "" when none
	LoginFailures int
	LockedUntil   time.Time // zero when not locked
	AgeBand       AgeBand   // set at sign-up, never changed
	GuardianAckAt time.Time // zero when none
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// PolicyAcceptance records that an account accepted a policy version.
type PolicyAcceptance struct {
	UserID     string
	Version    string
	Channel    string // app, web, api
	AcceptedAt time.Time
}

// CodeRecord is a one-time SMS code as stored: only its keyed MAC.
type CodeRecord struct {
	ID         string
	PhoneIndex string
	IPIndex    string // keyed index of the requesting client's IP
	CodeMAC    []byte
	Attempts   int
	CreatedAt  time.Time
	ExpiresAt  time.Time
	UsedAt     time.Time // zero while unused
}

// SessionRecord is a session with the hash of its token.
type SessionRecord struct {
	Session
	TokenHash []byte
}

// DeviceRecord is a device with the hash of its token.
type DeviceRecord struct {
	Device
	TokenHash []byte
}

// Store is the storage identity needs. Methods return *yuncan.Error with
// code NotFound when a row is absent and Conflict on a unique clash; other
// errors are failures of the database.
type Store interface {
	// CreateUser inserts an account and its policy acceptance atomically.
	// Conflict when the phone index is taken.
	CreateUser(ctx context.Context, u UserRecord, a PolicyAcceptance) error
	UserByID(ctx context.Context, id string) (UserRecord, error)
	UserByPhoneIndex(ctx context.Context, phoneIndex string) (UserRecord, error)
	// UpdateProfile writes nickname, avatar key, the optional fields and
	// UpdatedAt of u. NotFound when the account is gone.
	UpdateProfile(ctx context.Context, u UserRecord) error
	SetPasswordHash(ctx context.Context, userID, hash string, at time.Time) error
	SetLoginFailures(ctx context.Context, userID string, failures int, lockedUntil time.Time) error
	SetRole(ctx context.Context, userID string, role Role) error
	// DeleteUser deletes an account; its sessions, policy acceptances and
	// other rows that reference it go with it, its devices are unbound.
	// NotFound when there is none.
	DeleteUser(ctx context.Context, id string) error
	AddPolicyAcceptance(ctx context.Context, a PolicyAcceptance) error
	PolicyAcceptances(ctx context.Context, userID string) ([]PolicyAcceptance, error)

	CreateCode(ctx context.Context, c CodeRecord) error
	// LatestCode is the newest code sent to a phone index.
	LatestCode(ctx context.Context, phoneIndex string) (CodeRecord, error)
	CountCodesForPhoneSince(ctx context.Context, phoneIndex string, since time.Time) (int, error)
	CountCodesForIPSince(ctx context.Context, ipIndex string, since time.Time) (int, error)
	// AddCodeAttempt counts one wrong try and returns the new count.
	AddCodeAttempt(ctx context.Context, id string) (int, error)
	// UseCode marks a code used; false when it was used already.
	UseCode(ctx context.Context, id string, at time.Time) (bool, error)
	DeleteCodesCreatedBefore(ctx context.Context, t time.Time) (int, error)

	CreateSession(ctx context.Context, s SessionRecord) error
	SessionByTokenHash(ctx context.Context, hash []byte) (Session, error)
	TouchSession(ctx context.Context, id string, at time.Time) error
	SessionsByUser(ctx context.Context, userID string) ([]Session, error)
	// DeleteSession removes one of the user's sessions; NotFound when the
	// user has no session with that id.
	DeleteSession(ctx context.Context, userID, id string) error
	// DeleteSessionsExcept removes all of the user's sessions but one.
	DeleteSessionsExcept(ctx context.Context, userID, keepID string) (int, error)
	DeleteSessionsExpiredBefore(ctx context.Context, t time.Time) (int, error)

	CreateDevice(ctx context.Context, d DeviceRecord) error
	DeviceByTokenHash(ctx context.Context, hash []byte) (Device, error)
	// UpdateDevice writes the reported fields and LastSeenAt of d.
	UpdateDevice(ctx context.Context, d Device) error
	// BindDevice sets the device's account; userID "" unbinds it.
	BindDevice(ctx context.Context, deviceID, userID string) error
	DevicesByUser(ctx context.Context, userID string) ([]Device, error)
	// UnbindDevicesWithoutSession unbinds the user's devices (every
	// user's when userID is "") that no live session is bound to.
	UnbindDevicesWithoutSession(ctx context.Context, userID string) (int, error)
	DeleteDevicesSeenBefore(ctx context.Context, t time.Time) (int, error)

	// Real-name verification (policy 1.1.2, P10; see realname.go).

	// CreateRealName stores an account's verification. Conflict when the
	// account has one already or another account holds the ID number
	// index; NotFound when the account is gone.
	CreateRealName(ctx context.Context, r RealNameRecord) error
	// RealNameByUser is the account's verification; NotFound when none.
	RealNameByUser(ctx context.Context, userID string) (RealNameRecord, error)
	// DeleteRealName deletes the account's verification; NotFound when
	// there is none.
	DeleteRealName(ctx context.Context, userID string) error
	// AddRealNameAttempt records one question to the certifier; NotFound
	// when the account is gone.
	AddRealNameAttempt(ctx context.Context, a RealNameAttempt) error
	// RealNameAttemptsSince lists the times of the account's attempts at
	// or after since, oldest first.
	RealNameAttemptsSince(ctx context.Context, userID string, since time.Time) ([]time.Time, error)
	// DeleteRealNameAttempt deletes one attempt; deleting one that is gone
	// is not an error.
	DeleteRealNameAttempt(ctx context.Context, id string) error
	// DeleteRealNameAttemptsBefore deletes every account's attempts older
	// than t and returns how many.
	DeleteRealNameAttemptsBefore(ctx context.Context, t time.Time) (int, error)
}

// RealNameRecord is a real-name verification as stored: the name and the
// ID number only sealed, the number also as a blind index.
type RealNameRecord struct {
	UserID         string
	NameSealed     string // keyring.Seal("real_names.name", name)
	IDNumberSealed string // keyring.Seal("real_names.id_number", number)
	IDNumberIndex  string // keyring.BlindIndex("id_number", number)
	// CertifierReference is the certifier's reference for the check.
	CertifierReference string
	VerifiedAt         time.Time
}

// RealNameAttempt is one question put to the certifier; only when and for
// which account, to limit attempts.
type RealNameAttempt struct {
	ID          string
	UserID      string
	AttemptedAt time.Time
}
