// Package identity holds accounts, one-time SMS codes, passwords, sessions
// and devices: who a person is to the service and how they prove it.
package identity

import (
	"log/slog"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"

	"github.com/yuncan/yuncan"
)

// Role decides what staff functions an account may use.
type Role string

// Roles.
const (
	RoleUser      Role = "user"
	RoleModerator Role = "moderator"
	RoleAdmin     Role = "admin"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleUser || r == RoleModerator || r == RoleAdmin }

// AgeBand is the age group a person gave at sign-up, from a birth date or
// an attestation (policy section 7, P70). The consent area holds the
// rules that follow from it.
type AgeBand string

// Age bands.
const (
	// AgeUnknown: not attested, for accounts staff made; counts as adult.
	AgeUnknown AgeBand = ""
	AgeAdult   AgeBand = "adult"
	Age14To17  AgeBand = "14_17"
	// AgeUnder14 needs a verified guardian consent (PIPL art. 31).
	AgeUnder14 AgeBand = "under_14"
)

// Valid reports whether b is a band a person can attest.
func (b AgeBand) Valid() bool { return b == AgeAdult || b == Age14To17 || b == AgeUnder14 }

// Minor reports whether b is under 18.
func (b AgeBand) Minor() bool { return b == Age14To17 || b == AgeUnder14 }

// chinaTime is where birthdays are counted: China keeps UTC+8 all year.
var chinaTime = time.FixedZone("CST", 8*60*60)

// AgeBandOn returns the band of a person born on birth (a date) on the day
// now falls on in China. A birthday counts on the day itself: someone
// born on 29 February turns a year older on 1 March in other years.
// Invalid when birth is not YYYY-MM-DD, before 1900 or after today.
func AgeBandOn(birth string, now time.Time) (AgeBand, error) {
	b, err := time.Parse(time.DateOnly, birth)
	if err != nil {
		return "", yuncan.FieldError("birth_date", "must be a date as YYYY-MM-DD").WithReason("invalid_birth_date")
	}
	y, m, d := now.In(chinaTime).Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	switch {
	case b.After(today):
		return "", yuncan.FieldError("birth_date", "is in the future").WithReason("invalid_birth_date")
	case b.Year() < 1900:
		return "", yuncan.FieldError("birth_date", "is before 1900").WithReason("invalid_birth_date")
	}
	age := y - b.Year()
	if m < b.Month() || m == b.Month() && d < b.Day() {
		age--
	}
	switch {
	case age >= 18:
		return AgeAdult, nil
	case age >= 14:
		return Age14To17, nil
	}
	return AgeUnder14, nil
}

// Phone is a mobile number in E.164 form. It redacts itself in logs.
type Phone string

// LogValue keeps phone numbers out of logs.
func (p Phone) LogValue() slog.Value { return slog.StringValue("[phone]") }

// ParsePhone parses s as a phone number (mainland China when it has no
// country code), refuses numbers that are not valid mobile numbers and
// returns the E.164 form.
func ParsePhone(s string) (Phone, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", yuncan.FieldError("phone", "is required")
	}
	if utf8.RuneCountInString(s) > 32 { // runes: full-width digits from a Chinese IME are 3 bytes each
		return "", yuncan.FieldError("phone", "is not a phone number").WithReason("invalid_phone")
	}
	// libphonenumber reads letters as keypad digits ("138abcd8000" is
	// +8613822238000) and drops extensions ("ext. 12"): either would send
	// a code to a number the person did not type.
	if strings.ContainsFunc(s, unicode.IsLetter) {
		return "", yuncan.FieldError("phone", "is not a phone number").WithReason("invalid_phone")
	}
	n, err := phonenumbers.Parse(s, "CN")
	if err != nil || !phonenumbers.IsValidNumber(n) || n.GetExtension() != "" {
		return "", yuncan.FieldError("phone", "is not a valid phone number").WithReason("invalid_phone")
	}
	switch phonenumbers.GetNumberType(n) {
	case phonenumbers.MOBILE, phonenumbers.FIXED_LINE_OR_MOBILE:
	default:
		return "", yuncan.FieldError("phone", "is not a mobile number that can receive SMS").WithReason("invalid_phone")
	}
	return Phone(phonenumbers.Format(n, phonenumbers.E164)), nil
}

// Gender values a profile may hold.
var genders = map[string]bool{"female": true, "male": true, "other": true}

// User is an account.
type User struct {
	ID       string
	Phone    Phone
	Role     Role
	Nickname string
	// AvatarKey is the media key of the avatar image, "" when none.
	AvatarKey string
	// Optional profile fields; nil when not given.
	Gender       *string
	Birthday     *string // YYYY-MM-DD
	Region       *string
	Introduction *string
	HasPassword  bool
	// AgeBand is what the person gave at sign-up (P70).
	AgeBand AgeBand
	// GuardianAckAt is when a minor confirmed reading the policy with a
	// guardian (policy 7a); zero for adults.
	GuardianAckAt time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// LogValue keeps the phone out of logs when a whole User is logged.
func (u User) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", u.ID), slog.String("role", string(u.Role)))
}

// Profile is an edit of the profile: a nil outer pointer leaves the field
// as it is; for optional fields, a non-nil pointer to nil clears it.
type Profile struct {
	Nickname     *string
	Gender       **string
	Birthday     **string
	Region       **string
	Introduction **string
}

// Limits on profile fields, in characters.
const (
	MaxNickname     = 24
	MaxRegion       = 64
	MaxIntroduction = 500
)

// Validate checks an edit against the field rules; now bounds birthdays.
func (p Profile) Validate(now time.Time) error {
	e := yuncan.Errorf(yuncan.Invalid, "the profile has invalid fields")
	if p.Nickname != nil {
		if msg := checkText(*p.Nickname, MaxNickname, true); msg != "" {
			e.WithField("nickname", msg)
		}
	}
	if p.Gender != nil && *p.Gender != nil && !genders[**p.Gender] {
		e.WithField("gender", "must be female, male or other")
	}
	if p.Birthday != nil && *p.Birthday != nil {
		d, err := time.Parse(time.DateOnly, **p.Birthday)
		switch {
		case err != nil:
			e.WithField("birthday", "must be a date as YYYY-MM-DD")
		case d.After(now):
			e.WithField("birthday", "is in the future")
		case d.Year() < 1900:
			e.WithField("birthday", "is before 1900")
		}
	}
	if p.Region != nil && *p.Region != nil {
		if msg := checkText(**p.Region, MaxRegion, true); msg != "" {
			e.WithField("region", msg)
		}
	}
	if p.Introduction != nil && *p.Introduction != nil {
		if msg := checkText(**p.Introduction, MaxIntroduction, false); msg != "" {
			e.WithField("introduction", msg)
		}
	}
	if len(e.Fields) > 0 {
		return e
	}
	return nil
}

// checkText returns what is wrong with s, or "".
func checkText(s string, max int, singleLine bool) string {
	if !utf8.ValidString(s) {
		return "is not valid UTF-8"
	}
	if strings.TrimSpace(s) == "" {
		return "must not be blank"
	}
	if n := utf8.RuneCountInString(s); n > max {
		return "is longer than the limit"
	}
	for _, r := range s {
		if r == '\n' && !singleLine {
			continue
		}
		if unicode.IsControl(r) {
			return "contains control characters"
		}
	}
	return ""
}

// Session is a logged-in session: an app's bearer token or a web cookie.
type Session struct {
	ID         string
	UserID     string
	Kind       SessionKind
	DeviceID   string // the bound device, "" when none
	UserAgent  string // shortened, to tell sessions apart in the list
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
}

// SessionKind tells app tokens from web cookies.
type SessionKind string

// Session kinds.
const (
	SessionApp SessionKind = "app"
	SessionWeb SessionKind = "web"
)

// Device is an installation of the app, known with or without an account,
// so that a logged-out device can still receive pushes.
type Device struct {
	ID         string
	UserID     string // "" while logged out
	Platform   string // ios, android, web, other
	Model      string
	OSVersion  string
	AppVersion string
	PushToken  string
	CreatedAt  time.Time
	LastSeenAt time.Time
}

// DeviceInfo is what an app reports about itself.
type DeviceInfo struct {
	Platform   string
	Model      string
	OSVersion  string
	AppVersion string
	PushToken  string
}

var platforms = map[string]bool{"ios": true, "android": true, "web": true, "harmonyos": true, "other": true}

// Validate checks the reported fields.
func (d DeviceInfo) Validate() error {
	e := yuncan.Errorf(yuncan.Invalid, "the device has invalid fields")
	if !platforms[d.Platform] {
		e.WithField("platform", "must be one of ios, android, harmonyos, web, other")
	}
	for name, v := range map[string]string{"model": d.Model, "os_version": d.OSVersion, "app_version": d.AppVersion} {
		if len(v) > 64 || strings.ContainsFunc(v, unicode.IsControl) {
			e.WithField(name, "must be at most 64 printable characters")
		}
	}
	if len(d.PushToken) > 4096 || strings.ContainsFunc(d.PushToken, unicode.IsControl) {
		e.WithField("push_token", "must be at most 4096 printable characters")
	}
	if len(e.Fields) > 0 {
		return e
	}
	return nil
}
