package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/keyring"
	"github.com/yuncan/yuncan/internal/notify"
)

// Config holds the identity rules that an operator may tune. Zero values
// take the defaults documented in docs/identity.md.
type Config struct {
	CodeTTL            time.Duration // 5 minutes
	CodeMaxAttempts    int           // 5 wrong tries kill a code
	CodeResendInterval time.Duration // 60 s between codes to one number
	CodesPerPhoneDay   int           // 10 codes a day to one number
	// CodesPerIPHour is generous because mobile carriers put many people
	// behind one address (carrier-grade NAT).
	CodesPerIPHour  int           // 100 codes an hour from one client IP
	SessionTTL      time.Duration // 30 days
	DeviceRetention time.Duration // 180 days since last seen
	// LockAfter failed password logins lock the account for LockBase,
	// doubling with each further failure up to LockMax.
	LockAfter int           // 5
	LockBase  time.Duration // 1 minute
	LockMax   time.Duration // 24 hours
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	defInt := func(d *int, v int) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.CodeTTL, 5*time.Minute)
	defInt(&c.CodeMaxAttempts, 5)
	def(&c.CodeResendInterval, time.Minute)
	defInt(&c.CodesPerPhoneDay, 10)
	defInt(&c.CodesPerIPHour, 100)
	def(&c.SessionTTL, 30*24*time.Hour)
	def(&c.DeviceRetention, 180*24*time.Hour)
	defInt(&c.LockAfter, 5)
	def(&c.LockBase, time.Minute)
	def(&c.LockMax, 24*time.Hour)
	return c
}

// Service carries out the identity rules.
type Service struct {
	store         Store
	keys          *keyring.Keyring
	sms           notify.Sender
	now           func() time.Time
	cfg           Config
	policyVersion func() string
	// signUpClosed, when set and true, refuses new accounts (P69: the
	// service is ceasing operations); existing ones still log in, to
	// download their data or cancel.
	signUpClosed atomic.Pointer[func(ctx context.Context) bool]
}

// CloseSignUpWhen makes closed decide whether sign-ups are refused.
func (s *Service) CloseSignUpWhen(closed func(ctx context.Context) bool) {
	s.signUpClosed.Store(&closed)
}

// NewService returns the identity service. policyVersion returns the
// current privacy policy version that a sign-up must accept; now is the
// clock (time.Now when nil).
func NewService(store Store, keys *keyring.Keyring, sms notify.Sender, policyVersion func() string, now func() time.Time, cfg Config) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, keys: keys, sms: sms, now: now, cfg: cfg.withDefaults(), policyVersion: policyVersion}
}

// Config returns the rules in force, defaults filled in.
func (s *Service) Config() Config { return s.cfg }

func newID() string { return uuid.Must(uuid.NewV7()).String() }

func newToken(prefix string) (string, []byte) {
	b := make([]byte, 32)
	rand.Read(b)
	tok := prefix + base64.RawURLEncoding.EncodeToString(b)
	return tok, hashToken(tok)
}

func hashToken(tok string) []byte {
	h := sha256.Sum256([]byte(tok))
	return h[:]
}

func (s *Service) phoneIndex(p Phone) string { return s.keys.BlindIndex("phone", string(p)) }

// CodePurpose names what a one-time code proves. A code is good only for
// the purpose it was sent for; all purposes share one number's sending
// limits, so no purpose can be used to flood a number.
type CodePurpose string

// Code purposes.
const (
	CodeLogin CodePurpose = "login"
	// CodeGuardian proves a guardian agrees to a child's account (P70).
	CodeGuardian CodePurpose = "guardian"
	// CodeCancel proves, again, that the person asking to cancel their
	// account holds its number (P66).
	CodeCancel CodePurpose = "cancel"
)

func (p CodePurpose) valid() bool { return p == CodeLogin || p == CodeGuardian || p == CodeCancel }

// codeMAC is what is stored of a code: a keyed MAC bound to the number
// and the purpose. Login codes keep the form they had before purposes.
func (s *Service) codeMAC(purpose CodePurpose, idx, code string) []byte {
	if purpose == CodeLogin {
		return s.keys.MAC("sms-code", idx, code)
	}
	return s.keys.MAC("sms-code:"+string(purpose), idx, code)
}

// codeText is the SMS that carries a code.
func (s *Service) codeText(purpose CodePurpose, code string) string {
	mins := int(s.cfg.CodeTTL.Minutes())
	switch purpose {
	case CodeGuardian:
		return fmt.Sprintf("【云寻】一名未满 14 周岁的用户请您作为监护人同意其使用云寻。如您同意，请将验证码 %s 告诉孩子，%d 分钟内有效；如不同意请忽略。Yuncan: a child asks your consent as guardian; code %s.", code, mins, code)
	case CodeCancel:
		return fmt.Sprintf("【云寻】您正在申请注销云寻账号，验证码 %s，%d 分钟内有效。如非本人操作，请勿告诉他人并修改密码。Yuncan: code %s to cancel your account; if this was not you, tell no one.", code, mins, code)
	}
	return fmt.Sprintf("【云寻】您的验证码是 %s，%d 分钟内有效。请勿告诉他人。Your Yuncan code is %s.", code, mins, code)
}

// SendCode sends a one-time login code to phone. clientIP limits how many
// codes one client may ask for; it is stored only as a keyed index.
func (s *Service) SendCode(ctx context.Context, phone, clientIP string) error {
	return s.SendCodeFor(ctx, CodeLogin, phone, clientIP)
}

// SendCodeFor sends a one-time code for purpose to phone, under the same
// rules and limits as login codes; CheckCodeFor checks it.
func (s *Service) SendCodeFor(ctx context.Context, purpose CodePurpose, phone, clientIP string) error {
	if !purpose.valid() {
		return fmt.Errorf("identity: send code: unknown purpose %q", purpose)
	}
	p, err := ParsePhone(phone)
	if err != nil {
		return err
	}
	now := s.now()
	idx := s.phoneIndex(p)
	ipIdx := s.keys.BlindIndex("ip", clientIP)

	if last, err := s.store.LatestCode(ctx, idx); err == nil {
		if wait := last.CreatedAt.Add(s.cfg.CodeResendInterval).Sub(now); wait > 0 {
			return rateLimited("a code was sent to this number moments ago; wait before asking again", wait)
		}
	} else if yuncan.ErrorCode(err) != yuncan.NotFound {
		return fmt.Errorf("identity: send code: %w", err)
	}
	n, err := s.store.CountCodesForPhoneSince(ctx, idx, now.Add(-24*time.Hour))
	if err != nil {
		return fmt.Errorf("identity: send code: %w", err)
	}
	if n >= s.cfg.CodesPerPhoneDay {
		return rateLimited("too many codes were sent to this number today", time.Hour)
	}
	n, err = s.store.CountCodesForIPSince(ctx, ipIdx, now.Add(-time.Hour))
	if err != nil {
		return fmt.Errorf("identity: send code: %w", err)
	}
	if n >= s.cfg.CodesPerIPHour {
		return rateLimited("too many codes were requested from this network", 10*time.Minute)
	}

	code := randomDigits(6)
	rec := CodeRecord{
		ID: newID(), PhoneIndex: idx, IPIndex: ipIdx, CodeMAC: s.codeMAC(purpose, idx, code),
		CreatedAt: now, ExpiresAt: now.Add(s.cfg.CodeTTL),
	}
	if err := s.store.CreateCode(ctx, rec); err != nil {
		return fmt.Errorf("identity: send code: %w", err)
	}
	msg := notify.Message{To: string(p), Body: s.codeText(purpose, code), Code: code}
	if err := s.sms.Send(ctx, msg); err != nil {
		return &yuncan.Error{Code: yuncan.Unavailable, Reason: "sms_unavailable", Message: "the code could not be sent; try again later", Err: err}
	}
	return nil
}

// CheckCodeFor checks a code SendCodeFor sent to phone for purpose and
// spends it: the same errors as a login's code check (code_invalid,
// code_expired, code_used, code_attempts_exceeded).
func (s *Service) CheckCodeFor(ctx context.Context, purpose CodePurpose, phone, code string) error {
	if !purpose.valid() || purpose == CodeLogin {
		return fmt.Errorf("identity: check code: purpose %q is not checked here", purpose)
	}
	p, err := ParsePhone(phone)
	if err != nil {
		return err
	}
	id, err := s.checkCode(ctx, purpose, s.phoneIndex(p), code)
	if err != nil {
		return err
	}
	return s.useCode(ctx, id)
}

// SendCancelCode sends the code that proves, again, that the person asking
// to cancel the account userID holds its number (P66). NotFound when
// there is no such account.
func (s *Service) SendCancelCode(ctx context.Context, userID, clientIP string) error {
	u, err := s.user(ctx, userID)
	if err != nil {
		return err
	}
	return s.SendCodeFor(ctx, CodeCancel, string(u.Phone), clientIP)
}

// CheckCancelCode checks and spends a code SendCancelCode sent.
func (s *Service) CheckCancelCode(ctx context.Context, userID, code string) error {
	u, err := s.user(ctx, userID)
	if err != nil {
		return err
	}
	return s.CheckCodeFor(ctx, CodeCancel, string(u.Phone), code)
}

func rateLimited(msg string, wait time.Duration) error {
	return &yuncan.Error{Code: yuncan.RateLimited, Message: msg, RetryAfter: wait.Round(time.Second) + time.Second}
}

func randomDigits(n int) string {
	b := make([]byte, n)
	for i := range b {
		d, _ := rand.Int(rand.Reader, big.NewInt(10))
		b[i] = byte('0' + d.Int64())
	}
	return string(b)
}

// LoginRequest is a login with a code or a password.
type LoginRequest struct {
	Phone               string
	Code                string
	Password            string
	AcceptPolicyVersion string
	Channel             string // app, web, api: where the policy was accepted
	Kind                SessionKind
	UserAgent           string
	// DeviceToken binds the device to the account on success, when set.
	DeviceToken string
	// A new account gives a birth date (YYYY-MM-DD) or an age band, and a
	// minor the guardian's acknowledgement of the policy (P70). Logins of
	// existing accounts ignore them.
	BirthDate            string
	AgeBand              string
	GuardianAcknowledged bool
}

// LoginResult is a successful login.
type LoginResult struct {
	Token   string
	Session Session
	User    User
	Created bool // the account was created by this login
}

// Login checks a code or a password and opens a session. A code login of a
// number without an account creates the account, which needs the current
// policy version accepted.
func (s *Service) Login(ctx context.Context, req LoginRequest) (LoginResult, error) {
	p, err := ParsePhone(req.Phone)
	if err != nil {
		return LoginResult{}, err
	}
	if (req.Code == "") == (req.Password == "") {
		return LoginResult{}, yuncan.Errorf(yuncan.Invalid, "give either a code or a password").WithField("code", "give either a code or a password")
	}
	if req.AcceptPolicyVersion != "" && req.AcceptPolicyVersion != s.policyVersion() {
		return LoginResult{}, yuncan.FieldError("accept_policy_version", "is not the current policy version").WithReason("policy_version_stale")
	}
	var device Device
	if req.DeviceToken != "" {
		if device, err = s.store.DeviceByTokenHash(ctx, hashToken(req.DeviceToken)); err != nil {
			if yuncan.ErrorCode(err) == yuncan.NotFound {
				return LoginResult{}, yuncan.Errorf(yuncan.Unauthenticated, "the device token is not known").WithReason("device_unknown")
			}
			return LoginResult{}, fmt.Errorf("identity: login: %w", err)
		}
	}
	idx := s.phoneIndex(p)
	var u UserRecord
	created := false
	if req.Password != "" {
		if u, err = s.checkPassword(ctx, idx, req.Password); err != nil {
			return LoginResult{}, err
		}
	} else {
		codeID, err := s.checkCode(ctx, CodeLogin, idx, req.Code)
		if err != nil {
			return LoginResult{}, err
		}
		u, created, err = s.userForCodeLogin(ctx, p, idx, codeID, req)
		if err != nil {
			return LoginResult{}, err
		}
	}
	if !created && req.AcceptPolicyVersion != "" {
		if err := s.store.AddPolicyAcceptance(ctx, PolicyAcceptance{UserID: u.ID, Version: req.AcceptPolicyVersion, Channel: channel(req.Channel), AcceptedAt: s.now()}); err != nil {
			return LoginResult{}, fmt.Errorf("identity: login: %w", err)
		}
	}
	now := s.now()
	tok, hash := newToken("yct_")
	kind := req.Kind
	if kind == "" {
		kind = SessionApp
	}
	sess := Session{ID: newID(), UserID: u.ID, Kind: kind, DeviceID: device.ID, UserAgent: shorten(req.UserAgent, 200),
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(s.cfg.SessionTTL)}
	if err := s.store.CreateSession(ctx, SessionRecord{Session: sess, TokenHash: hash}); err != nil {
		return LoginResult{}, fmt.Errorf("identity: login: %w", err)
	}
	if device.ID != "" {
		if err := s.store.BindDevice(ctx, device.ID, u.ID); err != nil {
			return LoginResult{}, fmt.Errorf("identity: login: bind device: %w", err)
		}
	}
	user, err := s.openUser(u)
	if err != nil {
		return LoginResult{}, err
	}
	return LoginResult{Token: tok, Session: sess, User: user, Created: created}, nil
}

func channel(c string) string {
	switch c {
	case "app", "web", "api":
		return c
	}
	return "api"
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 { // do not cut a UTF-8 sequence
		n--
	}
	return s[:n]
}

var errBadCode = &yuncan.Error{Code: yuncan.Invalid, Reason: "code_invalid", Message: "the code is wrong or has expired; ask for a new one",
	Fields: map[string]string{"code": "is wrong or has expired"}}

// checkCode returns the id of the matching code, still unused: the login
// spends it (useCode) only once nothing else can refuse it.
func (s *Service) checkCode(ctx context.Context, purpose CodePurpose, idx, code string) (string, error) {
	if len(code) != 6 || !isDigits(code) {
		return "", yuncan.FieldError("code", "must be 6 digits").WithReason("code_invalid")
	}
	c, err := s.store.LatestCode(ctx, idx)
	if yuncan.ErrorCode(err) == yuncan.NotFound {
		return "", errBadCode
	}
	if err != nil {
		return "", fmt.Errorf("identity: check code: %w", err)
	}
	now := s.now()
	switch {
	case !c.UsedAt.IsZero():
		return "", errCodeUsed
	case !now.Before(c.ExpiresAt):
		return "", &yuncan.Error{Code: yuncan.Invalid, Reason: "code_expired", Message: "the code has expired; ask for a new one", Fields: map[string]string{"code": "has expired"}}
	case c.Attempts >= s.cfg.CodeMaxAttempts:
		return "", &yuncan.Error{Code: yuncan.RateLimited, Reason: "code_attempts_exceeded", Message: "too many wrong tries; ask for a new code",
			RetryAfter: max(time.Second, c.CreatedAt.Add(s.cfg.CodeResendInterval).Sub(now).Round(time.Second))}
	}
	if subtle.ConstantTimeCompare(c.CodeMAC, s.codeMAC(purpose, idx, code)) != 1 {
		n, err := s.store.AddCodeAttempt(ctx, c.ID)
		if err != nil {
			return "", fmt.Errorf("identity: check code: %w", err)
		}
		if n >= s.cfg.CodeMaxAttempts {
			return "", &yuncan.Error{Code: yuncan.RateLimited, Reason: "code_attempts_exceeded", Message: "too many wrong tries; ask for a new code",
				RetryAfter: max(time.Second, c.CreatedAt.Add(s.cfg.CodeResendInterval).Sub(now).Round(time.Second))}
		}
		return "", errBadCode
	}
	return c.ID, nil
}

var errCodeUsed = &yuncan.Error{Code: yuncan.Invalid, Reason: "code_used", Message: "this code was used already; ask for a new one", Fields: map[string]string{"code": "was used already"}}

// useCode spends a code checked by checkCode; code_used when a concurrent
// login spent it first.
func (s *Service) useCode(ctx context.Context, id string) error {
	ok, err := s.store.UseCode(ctx, id, s.now())
	if err != nil {
		return fmt.Errorf("identity: check code: %w", err)
	}
	if !ok {
		return errCodeUsed
	}
	return nil
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// userForCodeLogin spends the checked code and returns the account,
// creating it on first login. A sign-up refused for want of a policy
// acceptance leaves the code unspent, so the retry with the acceptance can
// use it.
func (s *Service) userForCodeLogin(ctx context.Context, p Phone, idx, codeID string, req LoginRequest) (UserRecord, bool, error) {
	u, err := s.store.UserByPhoneIndex(ctx, idx)
	if err == nil {
		// An account made by staff (admin create-user) has accepted no
		// policy yet: its first login accepts it, like a sign-up.
		if req.AcceptPolicyVersion == "" {
			as, err := s.store.PolicyAcceptances(ctx, u.ID)
			if err != nil {
				return UserRecord{}, false, fmt.Errorf("identity: login: %w", err)
			}
			if len(as) == 0 {
				return UserRecord{}, false, yuncan.FieldError("accept_policy_version", "accept the current privacy policy to use the account").WithReason("policy_acceptance_required")
			}
		}
		return u, false, s.useCode(ctx, codeID)
	}
	if yuncan.ErrorCode(err) != yuncan.NotFound {
		return UserRecord{}, false, fmt.Errorf("identity: login: %w", err)
	}
	if closed := s.signUpClosed.Load(); closed != nil && (*closed)(ctx) {
		return UserRecord{}, false, &yuncan.Error{Code: yuncan.Unavailable, Reason: "service_ceased", Message: "the service is ceasing operations and takes no new accounts"}
	}
	if req.AcceptPolicyVersion == "" {
		return UserRecord{}, false, yuncan.FieldError("accept_policy_version", "a new account must accept the current privacy policy").WithReason("policy_acceptance_required")
	}
	band, err := s.signUpAge(req)
	if err != nil {
		return UserRecord{}, false, err
	}
	if err := s.useCode(ctx, codeID); err != nil {
		return UserRecord{}, false, err
	}
	now := s.now()
	u = UserRecord{
		ID: newID(), PhoneSealed: s.keys.Seal("users.phone", []byte(p)), PhoneIndex: idx, Role: RoleUser,
		Nickname: "云寻用户" + randomDigits(6), AgeBand: band, CreatedAt: now, UpdatedAt: now,
	}
	if band.Minor() {
		u.GuardianAckAt = now
	}
	err = s.store.CreateUser(ctx, u, PolicyAcceptance{UserID: u.ID, Version: req.AcceptPolicyVersion, Channel: channel(req.Channel), AcceptedAt: now})
	if yuncan.ErrorCode(err) == yuncan.Conflict {
		// Two first logins raced: the other created the account.
		u, err = s.store.UserByPhoneIndex(ctx, idx)
		return u, false, err
	}
	if err != nil {
		return UserRecord{}, false, fmt.Errorf("identity: create account: %w", err)
	}
	return u, true, nil
}

// signUpAge returns the age band a new account gives (P70): from a birth
// date, counted on the service clock's date, or as attested. A minor must
// confirm reading the policy with a guardian (policy 7a).
func (s *Service) signUpAge(req LoginRequest) (AgeBand, error) {
	band := AgeBand(req.AgeBand)
	switch {
	case req.BirthDate != "" && req.AgeBand != "":
		return "", yuncan.Errorf(yuncan.Invalid, "give either birth_date or age_band, not both").WithField("age_band", "give either birth_date or age_band")
	case req.BirthDate != "":
		var err error
		if band, err = AgeBandOn(req.BirthDate, s.now()); err != nil {
			return "", err
		}
	case req.AgeBand == "":
		return "", &yuncan.Error{Code: yuncan.Invalid, Reason: "age_required",
			Message: "a new account must give a birth date (birth_date) or an age band (age_band)",
			Fields:  map[string]string{"age_band": "give a birth date or an age band"}}
	case !band.Valid():
		return "", yuncan.FieldError("age_band", "must be adult, 14_17 or under_14")
	}
	if band.Minor() && !req.GuardianAcknowledged {
		return "", &yuncan.Error{Code: yuncan.Invalid, Reason: "guardian_acknowledgement_required",
			Message: "a person under 18 reads and accepts the privacy policy together with a parent or guardian; confirm that you did",
			Fields:  map[string]string{"guardian_acknowledged": "confirm that a guardian read the policy with you"}}
	}
	return band, nil
}

var errBadPassword = &yuncan.Error{Code: yuncan.Unauthenticated, Reason: "invalid_credentials", Message: "the phone number or password is wrong"}

func (s *Service) checkPassword(ctx context.Context, idx, pw string) (UserRecord, error) {
	u, err := s.store.UserByPhoneIndex(ctx, idx)
	if yuncan.ErrorCode(err) == yuncan.NotFound {
		HashPassword(pw) // spend the same time as a real check: no account probing by timing
		return UserRecord{}, errBadPassword
	}
	if err != nil {
		return UserRecord{}, fmt.Errorf("identity: login: %w", err)
	}
	now := s.now()
	if wait := u.LockedUntil.Sub(now); wait > 0 {
		return UserRecord{}, &yuncan.Error{Code: yuncan.RateLimited, Reason: "login_locked", Message: "too many failed logins; the password login is locked for a while (a code login still works)", RetryAfter: wait.Round(time.Second) + time.Second}
	}
	if u.PasswordHash == "" || !VerifyPassword(u.PasswordHash, pw) {
		if u.PasswordHash == "" {
			HashPassword(pw)
		}
		failures := u.LoginFailures + 1
		var until time.Time
		if failures >= s.cfg.LockAfter {
			d := s.cfg.LockBase << min(failures-s.cfg.LockAfter, 20)
			until = now.Add(min(d, s.cfg.LockMax))
		}
		if err := s.store.SetLoginFailures(ctx, u.ID, failures, until); err != nil {
			return UserRecord{}, fmt.Errorf("identity: login: %w", err)
		}
		return UserRecord{}, errBadPassword
	}
	if u.LoginFailures > 0 {
		if err := s.store.SetLoginFailures(ctx, u.ID, 0, time.Time{}); err != nil {
			return UserRecord{}, fmt.Errorf("identity: login: %w", err)
		}
	}
	return u, nil
}

func (s *Service) openUser(u UserRecord) (User, error) {
	phone, err := s.keys.Open("users.phone", u.PhoneSealed)
	if err != nil {
		return User{}, fmt.Errorf("identity: user %s: %w", u.ID, err)
	}
	return User{
		ID: u.ID, Phone: Phone(phone), Role: u.Role, Nickname: u.Nickname, AvatarKey: u.AvatarKey,
		Gender: u.Gender, Birthday: u.Birthday, Region: u.Region, Introduction: u.Introduction,
		HasPassword: u.PasswordHash != "", AgeBand: u.AgeBand, GuardianAckAt: u.GuardianAckAt,
		CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt,
	}, nil
}

// Auth is an authenticated caller.
type Auth struct {
	Session Session
	User    User
}

// Authenticate resolves a session token. Unauthenticated when the token
// is unknown, revoked or expired.
func (s *Service) Authenticate(ctx context.Context, token string) (Auth, error) {
	if token == "" {
		return Auth{}, errUnauthenticated
	}
	sess, err := s.store.SessionByTokenHash(ctx, hashToken(token))
	if yuncan.ErrorCode(err) == yuncan.NotFound {
		return Auth{}, errUnauthenticated
	}
	if err != nil {
		return Auth{}, fmt.Errorf("identity: authenticate: %w", err)
	}
	now := s.now()
	if !now.Before(sess.ExpiresAt) {
		return Auth{}, errUnauthenticated
	}
	// Last-seen is kept to the minute: one write a minute per session, not
	// one per request.
	if now.Sub(sess.LastSeenAt) > time.Minute {
		if err := s.store.TouchSession(ctx, sess.ID, now); err != nil {
			return Auth{}, fmt.Errorf("identity: authenticate: %w", err)
		}
		sess.LastSeenAt = now
	}
	u, err := s.user(ctx, sess.UserID)
	if yuncan.ErrorCode(err) == yuncan.NotFound {
		return Auth{}, errUnauthenticated
	}
	if err != nil {
		return Auth{}, err
	}
	return Auth{Session: sess, User: u}, nil
}

var errUnauthenticated = &yuncan.Error{Code: yuncan.Unauthenticated, Message: "log in first"}

func (s *Service) user(ctx context.Context, id string) (User, error) {
	u, err := s.store.UserByID(ctx, id)
	if err != nil {
		return User{}, err
	}
	return s.openUser(u)
}

// Logout ends the session and unbinds its device, which goes back to
// receiving pushes as an anonymous device (P04).
func (s *Service) Logout(ctx context.Context, a Auth) error {
	if err := s.store.DeleteSession(ctx, a.User.ID, a.Session.ID); err != nil && yuncan.ErrorCode(err) != yuncan.NotFound {
		return fmt.Errorf("identity: logout: %w", err)
	}
	if a.Session.DeviceID != "" {
		if err := s.store.BindDevice(ctx, a.Session.DeviceID, ""); err != nil && yuncan.ErrorCode(err) != yuncan.NotFound {
			return fmt.Errorf("identity: logout: %w", err)
		}
	}
	return nil
}

// UpdateProfile applies an edit to the caller's profile.
func (s *Service) UpdateProfile(ctx context.Context, userID string, p Profile) (User, error) {
	if err := p.Validate(s.now()); err != nil {
		return User{}, err
	}
	u, err := s.store.UserByID(ctx, userID)
	if err != nil {
		return User{}, fmt.Errorf("identity: update profile: %w", err)
	}
	if p.Nickname != nil {
		u.Nickname = *p.Nickname
	}
	if p.Gender != nil {
		u.Gender = *p.Gender
	}
	if p.Birthday != nil {
		u.Birthday = *p.Birthday
	}
	if p.Region != nil {
		u.Region = *p.Region
	}
	if p.Introduction != nil {
		u.Introduction = *p.Introduction
	}
	u.UpdatedAt = s.now()
	if err := s.store.UpdateProfile(ctx, u); err != nil {
		return User{}, fmt.Errorf("identity: update profile: %w", err)
	}
	return s.openUser(u)
}

// SetAvatarKey points the profile at a stored avatar image and returns the
// previous key, which the caller deletes.
func (s *Service) SetAvatarKey(ctx context.Context, userID, key string) (User, string, error) {
	u, err := s.store.UserByID(ctx, userID)
	if err != nil {
		return User{}, "", fmt.Errorf("identity: set avatar: %w", err)
	}
	old := u.AvatarKey
	u.AvatarKey = key
	u.UpdatedAt = s.now()
	if err := s.store.UpdateProfile(ctx, u); err != nil {
		return User{}, "", fmt.Errorf("identity: set avatar: %w", err)
	}
	user, err := s.openUser(u)
	return user, old, err
}

// User returns an account by id.
func (s *Service) User(ctx context.Context, id string) (User, error) { return s.user(ctx, id) }

// DeleteUser deletes an account with its sessions and policy acceptances;
// its devices go back to anonymous. What other areas keep about it (the
// avatar file, the consent ledger) is the caller's to delete. NotFound
// when there is no such account.
func (s *Service) DeleteUser(ctx context.Context, id string) error {
	if err := s.store.DeleteUser(ctx, id); err != nil {
		if yuncan.ErrorCode(err) == yuncan.NotFound {
			return err
		}
		return fmt.Errorf("identity: delete user %s: %w", id, err)
	}
	return nil
}

// SetPassword sets or changes the caller's password. Changing one needs
// the current password; a fresh code login counts as proof for the first.
func (s *Service) SetPassword(ctx context.Context, userID, current, next string) error {
	if err := CheckPasswordStrength(next); err != nil {
		return err
	}
	u, err := s.store.UserByID(ctx, userID)
	if err != nil {
		return fmt.Errorf("identity: set password: %w", err)
	}
	if u.PasswordHash != "" && !VerifyPassword(u.PasswordHash, current) {
		return yuncan.FieldError("current_password", "is wrong").WithReason("invalid_credentials")
	}
	if err := s.store.SetPasswordHash(ctx, userID, HashPassword(next), s.now()); err != nil {
		return fmt.Errorf("identity: set password: %w", err)
	}
	return nil
}

// Sessions lists the user's sessions, newest first.
func (s *Service) Sessions(ctx context.Context, userID string) ([]Session, error) {
	return s.store.SessionsByUser(ctx, userID)
}

// RevokeSession ends one of the user's sessions. NotFound when the user
// has none with that id.
// The device of a revoked session goes back to anonymous pushes (P04): a
// lost phone stops getting the account's messages.
func (s *Service) RevokeSession(ctx context.Context, userID, id string) error {
	if err := s.store.DeleteSession(ctx, userID, id); err != nil {
		return err
	}
	_, err := s.store.UnbindDevicesWithoutSession(ctx, userID)
	return err
}

// RevokeOtherSessions ends every session of the user but the current one
// and unbinds their devices.
func (s *Service) RevokeOtherSessions(ctx context.Context, a Auth) (int, error) {
	n, err := s.store.DeleteSessionsExcept(ctx, a.User.ID, a.Session.ID)
	if err != nil {
		return 0, err
	}
	_, err = s.store.UnbindDevicesWithoutSession(ctx, a.User.ID)
	return n, err
}

// CreateUser creates an account from the command line (staff set-up); it
// accepts no policy on anyone's behalf: the person does at first login.
func (s *Service) CreateUser(ctx context.Context, phone string, role Role) (User, error) {
	p, err := ParsePhone(phone)
	if err != nil {
		return User{}, err
	}
	if !role.Valid() {
		return User{}, yuncan.FieldError("role", "must be admin, moderator or user")
	}
	idx := s.phoneIndex(p)
	if u, err := s.store.UserByPhoneIndex(ctx, idx); err == nil {
		if err := s.store.SetRole(ctx, u.ID, role); err != nil {
			return User{}, err
		}
		u.Role = role
		return s.openUser(u)
	} else if yuncan.ErrorCode(err) != yuncan.NotFound {
		return User{}, err
	}
	now := s.now()
	u := UserRecord{ID: newID(), PhoneSealed: s.keys.Seal("users.phone", []byte(p)), PhoneIndex: idx, Role: role,
		Nickname: "云寻用户" + randomDigits(6), CreatedAt: now, UpdatedAt: now}
	if err := s.store.CreateUser(ctx, u, PolicyAcceptance{}); err != nil {
		return User{}, fmt.Errorf("identity: create user: %w", err)
	}
	return s.openUser(u)
}

// ExpireRecords deletes devices unseen for the retention period, expired
// sessions and spent codes. It is the identity area's retention job.
func (s *Service) ExpireRecords(ctx context.Context) error {
	now := s.now()
	var errs []error
	if _, err := s.store.DeleteDevicesSeenBefore(ctx, now.Add(-s.cfg.DeviceRetention)); err != nil {
		errs = append(errs, err)
	}
	if _, err := s.store.DeleteSessionsExpiredBefore(ctx, now); err != nil {
		errs = append(errs, err)
	}
	if _, err := s.store.UnbindDevicesWithoutSession(ctx, ""); err != nil {
		errs = append(errs, err)
	}
	if _, err := s.store.DeleteCodesCreatedBefore(ctx, now.Add(-24*time.Hour)); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("identity: expire records: %w", err)
	}
	return nil
}
