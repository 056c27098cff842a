package identity

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/yuncan/yuncan"
)

// Real-name verification (policy 1.1.2, P10). A person gives their real
// name and resident ID number; a certifier checks them against the
// national records; on a match the account is verified. Both values are
// sensitive: the separate real_name consent is asked first, they are
// stored only sealed and only ever shown masked, one ID number verifies
// one account, and withdrawing the consent deletes them (P63). Functions
// the law ties to a real name (publishing a missing-person case, live
// broadcasting) ask RequireRealName; everything else works unverified.

// Limits on the real name, in characters.
const (
	MinRealName = 2
	MaxRealName = 30
)

// nameDots are the characters people type for the middle dot that joins
// the parts of a transliterated name (买买提·艾力); all become U+00B7.
const nameDots = "·•・･‧⋅．.﹒"

// ParseRealName checks s as a real name as on an ID card and returns its
// normal form: 2 to 30 characters, either Chinese characters with middle
// dots joining parts (every dot variant becomes "·", spaces are dropped),
// or Latin letters with single spaces between words. Refusals are
// Invalid with reason invalid_real_name.
func ParseRealName(s string) (string, error) {
	bad := func(problem string) (string, error) {
		return "", yuncan.FieldError("real_name", problem).WithReason("invalid_real_name")
	}
	if len(s) > 4*MaxRealName+64 || !utf8.ValidString(s) {
		return bad("must be 2 to 30 characters")
	}
	s = strings.Map(func(r rune) rune {
		switch {
		case strings.ContainsRune(nameDots, r):
			return '·'
		case unicode.IsSpace(r):
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return bad("is required")
	}
	han, latin := false, false
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Han, r):
			han = true
		case r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z':
			latin = true
		case r == '·' || r == ' ':
		default:
			return bad("must be Chinese characters (with · between parts) or Latin letters and spaces")
		}
	}
	switch {
	case han && latin:
		return bad("must be written either in Chinese characters or in Latin letters, as on the ID card")
	case han:
		s = strings.ReplaceAll(s, " ", "")
		for part := range strings.SplitSeq(s, "·") {
			if part == "" {
				return bad("may hold · only between two parts of the name")
			}
		}
	case latin:
		if strings.ContainsRune(s, '·') {
			return bad("must be Latin letters and spaces")
		}
	default:
		return bad("must hold letters")
	}
	if n := utf8.RuneCountInString(s); n < MinRealName || n > MaxRealName {
		return bad("must be 2 to 30 characters")
	}
	return s, nil
}

// MaskRealName keeps the first character of a name and masks the rest
// with one star each: 张三 → 张*.
func MaskRealName(name string) string {
	r, size := utf8.DecodeRuneInString(name)
	if size == 0 || r == utf8.RuneError {
		return "*"
	}
	return string(r) + strings.Repeat("*", utf8.RuneCountInString(name[size:]))
}

// RealNameRequest is what a person gives to be verified. It redacts
// itself in logs.
type RealNameRequest struct {
	RealName string
	IDNumber string
}

// LogValue keeps the name and number out of logs.
func (RealNameRequest) LogValue() slog.Value { return slog.StringValue("[real_name_request]") }

// RealNameStatus is what an account shows of its verification: only
// masked values (P10). The zero value is "not verified".
type RealNameStatus struct {
	Verified       bool
	RealNameMasked string // 张*
	IDNumberMasked string // 1101**********1234
	VerifiedAt     time.Time
}

// ConsentGate asks the consent area whether the account granted the
// separate real_name consent: nil when it did, the gate's Forbidden error
// (consent_required) otherwise. identity cannot import consent (consent
// builds on identity), so the wiring passes the gate in.
type ConsentGate func(ctx context.Context, userID string) error

// RealNameConfig tunes verification. Zero values take the defaults.
type RealNameConfig struct {
	// AttemptsPerDay bounds the questions to the certifier per account in
	// any 24 hours: each costs money and could test guessed numbers.
	AttemptsPerDay int // 5
}

// RealNameVerifier carries out verifications: the part of real-name
// verification that needs the certifier and the consent gate. Reading,
// deleting and the gate for other areas are on Service.
type RealNameVerifier struct {
	s         *Service
	certifier Certifier
	consent   ConsentGate
	cfg       RealNameConfig
}

// NewRealNameVerifier returns the verifier. consent must not be nil: a
// verifier that cannot ask the gate would process sensitive data without
// consent.
func NewRealNameVerifier(s *Service, c Certifier, consent ConsentGate, cfg RealNameConfig) *RealNameVerifier {
	if c == nil || consent == nil {
		panic("identity: NewRealNameVerifier needs a certifier and a consent gate")
	}
	if cfg.AttemptsPerDay == 0 {
		cfg.AttemptsPerDay = 5
	}
	return &RealNameVerifier{s: s, certifier: c, consent: consent, cfg: cfg}
}

// attemptWindow is the "day" of AttemptsPerDay: rolling, not calendar.
const attemptWindow = 24 * time.Hour

var (
	errRealNameMismatch = &yuncan.Error{Code: yuncan.Invalid, Reason: "real_name_mismatch",
		Message: "the name and ID number do not match the national identity records; check both and try again"}
	errIDNumberInUse = &yuncan.Error{Code: yuncan.Conflict, Reason: "id_number_in_use",
		Message: "this ID number has verified another account; one person verifies one account"}
	errAlreadyVerified = &yuncan.Error{Code: yuncan.Conflict, Reason: "real_name_already_verified",
		Message: "the account is verified already; delete the verification to verify again"}
)

// Verify checks the caller's real name and ID number and, on a match,
// stores the verification. In order: the real_name consent (403
// consent_required; nothing is read or stored without it), the fields
// (400 invalid_real_name and the id_number reasons of ParseIDNumber), an
// existing verification (409 real_name_already_verified), the attempt
// limit (429 real_name_attempts_exceeded), the certifier (503
// certifier_unavailable; 400 real_name_mismatch, nothing stored), and the
// one-account-per-number rule (409 id_number_in_use).
func (v *RealNameVerifier) Verify(ctx context.Context, userID string, req RealNameRequest) (RealNameStatus, error) {
	s := v.s
	if err := v.consent(ctx, userID); err != nil {
		return RealNameStatus{}, err
	}
	name, id, err := parseRealNameRequest(req, s.now())
	if err != nil {
		return RealNameStatus{}, err
	}
	if _, err := s.store.RealNameByUser(ctx, userID); err == nil {
		return RealNameStatus{}, errAlreadyVerified
	} else if yuncan.ErrorCode(err) != yuncan.NotFound {
		return RealNameStatus{}, fmt.Errorf("identity: verify real name: %w", err)
	}
	u, err := s.user(ctx, userID)
	if err != nil {
		return RealNameStatus{}, fmt.Errorf("identity: verify real name: %w", err)
	}
	attemptID, err := v.countAttempt(ctx, userID)
	if err != nil {
		return RealNameStatus{}, err
	}
	c, err := v.certifier.Verify(ctx, name, id, u.Phone)
	if err != nil {
		// No answer is not the person's fault: the attempt is not held
		// against them.
		s.store.DeleteRealNameAttempt(context.WithoutCancel(ctx), attemptID)
		return RealNameStatus{}, &yuncan.Error{Code: yuncan.Unavailable, Reason: "certifier_unavailable",
			Message: "real-name verification is unavailable at the moment; try again later", Err: err}
	}
	if !c.Match {
		return RealNameStatus{}, errRealNameMismatch
	}
	r := RealNameRecord{
		UserID:             userID,
		NameSealed:         s.keys.Seal("real_names.name", []byte(name)),
		IDNumberSealed:     s.keys.Seal("real_names.id_number", []byte(id)),
		IDNumberIndex:      s.idNumberIndex(id),
		CertifierReference: c.Reference,
		VerifiedAt:         s.now(),
	}
	if err := s.store.CreateRealName(ctx, r); err != nil {
		if yuncan.ErrorCode(err) != yuncan.Conflict {
			return RealNameStatus{}, fmt.Errorf("identity: verify real name: %w", err)
		}
		// Which clash: this account verified meanwhile (a double submit),
		// or the number belongs to another account.
		if mine, err2 := s.store.RealNameByUser(ctx, userID); err2 == nil && mine.IDNumberIndex == r.IDNumberIndex {
			return RealNameStatus{}, errAlreadyVerified
		}
		return RealNameStatus{}, errIDNumberInUse
	}
	// A withdrawal of the consent that raced with this verification may
	// have run its deletion before the row existed: ask the gate again
	// and take the row back if it closed. (A withdrawal recorded after
	// this check deletes the row through its own hook.)
	if err := v.consent(ctx, userID); err != nil {
		if derr := s.store.DeleteRealName(context.WithoutCancel(ctx), userID); derr != nil && yuncan.ErrorCode(derr) != yuncan.NotFound {
			return RealNameStatus{}, fmt.Errorf("identity: verify real name: consent withdrawn meanwhile, and deleting failed: %w", derr)
		}
		return RealNameStatus{}, err
	}
	return RealNameStatus{Verified: true, RealNameMasked: MaskRealName(name), IDNumberMasked: id.Masked(), VerifiedAt: r.VerifiedAt}, nil
}

// parseRealNameRequest checks both fields and reports every problem at
// once; a single problem keeps its specific reason.
func parseRealNameRequest(req RealNameRequest, now time.Time) (string, IDNumber, error) {
	name, nameErr := ParseRealName(req.RealName)
	id, idErr := ParseIDNumber(req.IDNumber, now)
	switch {
	case nameErr == nil && idErr == nil:
		return name, id, nil
	case idErr == nil:
		return "", "", nameErr
	case nameErr == nil:
		return "", "", idErr
	}
	e := yuncan.Errorf(yuncan.Invalid, "the real name and the ID number are invalid")
	for _, err := range []error{nameErr, idErr} {
		for f, p := range yuncan.AsError(err).Fields {
			e.WithField(f, p)
		}
	}
	return "", "", e
}

// countAttempt records an attempt, then counts: of concurrent attempts,
// at most the limit see themselves within it, so a burst cannot slip
// past the count. A refused attempt is taken back, so that Retry-After
// holds.
func (v *RealNameVerifier) countAttempt(ctx context.Context, userID string) (string, error) {
	s := v.s
	now := s.now()
	a := RealNameAttempt{ID: newID(), UserID: userID, AttemptedAt: now}
	if err := s.store.AddRealNameAttempt(ctx, a); err != nil {
		return "", fmt.Errorf("identity: verify real name: %w", err)
	}
	times, err := s.store.RealNameAttemptsSince(ctx, userID, now.Add(-attemptWindow))
	if err != nil {
		return "", fmt.Errorf("identity: verify real name: %w", err)
	}
	if len(times) <= v.cfg.AttemptsPerDay {
		return a.ID, nil
	}
	if err := s.store.DeleteRealNameAttempt(ctx, a.ID); err != nil {
		return "", fmt.Errorf("identity: verify real name: %w", err)
	}
	// Until the oldest attempt has left the window (the count includes
	// its edge), in whole seconds rounded up; at most the window.
	wait := times[0].Add(attemptWindow).Sub(now) + time.Nanosecond
	wait = min(max((wait+time.Second-1).Truncate(time.Second), time.Second), attemptWindow)
	return "", &yuncan.Error{Code: yuncan.RateLimited, Reason: "real_name_attempts_exceeded",
		Message:    fmt.Sprintf("at most %d verification attempts a day; try again later", v.cfg.AttemptsPerDay),
		RetryAfter: wait}
}

func (s *Service) idNumberIndex(id IDNumber) string {
	return s.keys.BlindIndex("id_number", string(id))
}

// RealName returns the account's verification, masked (P10); the zero
// status when the account is not verified.
func (s *Service) RealName(ctx context.Context, userID string) (RealNameStatus, error) {
	r, err := s.store.RealNameByUser(ctx, userID)
	if yuncan.ErrorCode(err) == yuncan.NotFound {
		return RealNameStatus{}, nil
	}
	if err != nil {
		return RealNameStatus{}, fmt.Errorf("identity: real name: %w", err)
	}
	name, err := s.keys.Open("real_names.name", r.NameSealed)
	if err != nil {
		return RealNameStatus{}, fmt.Errorf("identity: real name of %s: %w", userID, err)
	}
	id, err := s.keys.Open("real_names.id_number", r.IDNumberSealed)
	if err != nil {
		return RealNameStatus{}, fmt.Errorf("identity: real name of %s: %w", userID, err)
	}
	return RealNameStatus{Verified: true, RealNameMasked: MaskRealName(string(name)), IDNumberMasked: MaskIDNumber(string(id)),
		VerifiedAt: r.VerifiedAt}, nil
}

// DeleteRealName deletes the account's verification. Deleting when there
// is none is not an error, so that the consent withdrawal hook can run
// again after a crash.
func (s *Service) DeleteRealName(ctx context.Context, userID string) error {
	if err := s.store.DeleteRealName(ctx, userID); err != nil && yuncan.ErrorCode(err) != yuncan.NotFound {
		return fmt.Errorf("identity: delete real name of %s: %w", userID, err)
	}
	return nil
}

// RealNameVerified reports whether the account has a real-name
// verification: what functions tied to a real name ask (publishing a
// missing-person case).
func (s *Service) RealNameVerified(ctx context.Context, userID string) (bool, error) {
	_, err := s.store.RealNameByUser(ctx, userID)
	switch yuncan.ErrorCode(err) {
	case "":
		return true, nil
	case yuncan.NotFound:
		return false, nil
	}
	return false, fmt.Errorf("identity: real name verified: %w", err)
}

// RealNameRequired is the error a function tied to a real name returns
// to an unverified account: 403 with reason real_name_required (P10).
func RealNameRequired() *yuncan.Error {
	return &yuncan.Error{Code: yuncan.Forbidden, Reason: "real_name_required",
		Message: "this function needs a verified real name; verify it in your account settings first"}
}

// RequireRealName is the gate for functions tied to a real name: nil when
// the account is verified, RealNameRequired otherwise.
func (s *Service) RequireRealName(ctx context.Context, userID string) error {
	ok, err := s.RealNameVerified(ctx, userID)
	if err != nil {
		return err
	}
	if !ok {
		return RealNameRequired()
	}
	return nil
}

// ExpireRealNameAttempts deletes attempts older than the attempt window:
// the identity area's retention for them.
func (s *Service) ExpireRealNameAttempts(ctx context.Context) error {
	if _, err := s.store.DeleteRealNameAttemptsBefore(ctx, s.now().Add(-attemptWindow)); err != nil {
		return fmt.Errorf("identity: expire real-name attempts: %w", err)
	}
	return nil
}
