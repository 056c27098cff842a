package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/identity"
)

// IdentityStore implements identity.Store.
type IdentityStore struct{ db *DB }

// Identity returns the identity area's store.
func (db *DB) Identity() *IdentityStore { return &IdentityStore{db: db} }

var _ identity.Store = (*IdentityStore)(nil)

const userColumns = `id, phone_sealed, phone_index, role, nickname, avatar_key, gender, birthday, region, introduction,
	password_hash, login_failures, locked_until, age_band, guardian_ack_at, created_at, updated_at`

type scanner interface{ Scan(dest ...any) error }

func scanUser(r scanner) (identity.UserRecord, error) {
	var u identity.UserRecord
	var gender, birthday, region, intro sql.NullString
	var locked, ack, created, updated int64
	err := r.Scan(&u.ID, &u.PhoneSealed, &u.PhoneIndex, &u.Role, &u.Nickname, &u.AvatarKey, &gender, &birthday, &region, &intro,
		&u.PasswordHash, &u.LoginFailures, &locked, &u.AgeBand, &ack, &created, &updated)
	u.Gender, u.Birthday, u.Region, u.Introduction = strPtr(gender), strPtr(birthday), strPtr(region), strPtr(intro)
	u.LockedUntil, u.GuardianAckAt, u.CreatedAt, u.UpdatedAt = fromTS(locked), fromTS(ack), fromTS(created), fromTS(updated)
	return u, err
}

func (s *IdentityStore) CreateUser(ctx context.Context, u identity.UserRecord, a identity.PolicyAcceptance) error {
	return s.db.tx(ctx, func(tx *sql.Tx) error {
		_, err := s.db.exec(ctx, tx, `INSERT INTO users (`+userColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			u.ID, u.PhoneSealed, u.PhoneIndex, u.Role, u.Nickname, u.AvatarKey, nullString(u.Gender), nullString(u.Birthday),
			nullString(u.Region), nullString(u.Introduction), u.PasswordHash, u.LoginFailures, ts(u.LockedUntil),
			u.AgeBand, ts(u.GuardianAckAt), ts(u.CreatedAt), ts(u.UpdatedAt))
		if err != nil {
			return fmt.Errorf("sqlstore: create user: %w", err)
		}
		if a.Version == "" {
			return nil
		}
		a.UserID = u.ID
		return s.addPolicyAcceptance(ctx, tx, a)
	})
}

func (s *IdentityStore) UserByID(ctx context.Context, id string) (identity.UserRecord, error) {
	u, err := scanUser(s.db.queryRow(ctx, s.db.sql, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
	return u, notFound(err, "account")
}

func (s *IdentityStore) UserByPhoneIndex(ctx context.Context, idx string) (identity.UserRecord, error) {
	u, err := scanUser(s.db.queryRow(ctx, s.db.sql, `SELECT `+userColumns+` FROM users WHERE phone_index = ?`, idx))
	return u, notFound(err, "account")
}

// mustAffect returns NotFound when an update touched no row.
func mustAffect(res sql.Result, err error, what string) error {
	if err != nil {
		return err
	}
	if rowsAffected(res) == 0 {
		return &yuncan.Error{Code: yuncan.NotFound, Message: what + " not found"}
	}
	return nil
}

func (s *IdentityStore) UpdateProfile(ctx context.Context, u identity.UserRecord) error {
	res, err := s.db.exec(ctx, s.db.sql, `UPDATE users SET nickname = ?, avatar_key = ?, gender = ?, birthday = ?, region = ?,
		introduction = ?, updated_at = ? WHERE id = ?`,
		u.Nickname, u.AvatarKey, nullString(u.Gender), nullString(u.Birthday), nullString(u.Region), nullString(u.Introduction),
		ts(u.UpdatedAt), u.ID)
	return mustAffect(res, err, "account")
}

func (s *IdentityStore) SetPasswordHash(ctx context.Context, userID, hash string, at time.Time) error {
	res, err := s.db.exec(ctx, s.db.sql, `UPDATE users SET password_hash = ?, login_failures = 0, locked_until = 0, updated_at = ? WHERE id = ?`,
		hash, ts(at), userID)
	return mustAffect(res, err, "account")
}

func (s *IdentityStore) SetLoginFailures(ctx context.Context, userID string, failures int, lockedUntil time.Time) error {
	res, err := s.db.exec(ctx, s.db.sql, `UPDATE users SET login_failures = ?, locked_until = ? WHERE id = ?`, failures, ts(lockedUntil), userID)
	return mustAffect(res, err, "account")
}

func (s *IdentityStore) SetRole(ctx context.Context, userID string, role identity.Role) error {
	res, err := s.db.exec(ctx, s.db.sql, `UPDATE users SET role = ? WHERE id = ?`, role, userID)
	return mustAffect(res, err, "account")
}

func (s *IdentityStore) DeleteUser(ctx context.Context, id string) error {
	res, err := s.db.exec(ctx, s.db.sql, `DELETE FROM users WHERE id = ?`, id)
	return mustAffect(res, err, "account")
}

func (s *IdentityStore) AddPolicyAcceptance(ctx context.Context, a identity.PolicyAcceptance) error {
	return s.addPolicyAcceptance(ctx, s.db.sql, a)
}

func (s *IdentityStore) addPolicyAcceptance(ctx context.Context, q querier, a identity.PolicyAcceptance) error {
	_, err := s.db.exec(ctx, q, `INSERT INTO policy_acceptances (id, user_id, version, channel, accepted_at) VALUES (?, ?, ?, ?, ?)`,
		uuid.Must(uuid.NewV7()).String(), a.UserID, a.Version, a.Channel, ts(a.AcceptedAt))
	if err != nil {
		return fmt.Errorf("sqlstore: policy acceptance: %w", err)
	}
	return nil
}

func (s *IdentityStore) PolicyAcceptances(ctx context.Context, userID string) ([]identity.PolicyAcceptance, error) {
	rows, err := s.db.query(ctx, s.db.sql, `SELECT user_id, version, channel, accepted_at FROM policy_acceptances
		WHERE user_id = ? ORDER BY accepted_at, id`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var as []identity.PolicyAcceptance
	for rows.Next() {
		var a identity.PolicyAcceptance
		var at int64
		if err := rows.Scan(&a.UserID, &a.Version, &a.Channel, &at); err != nil {
			return nil, err
		}
		a.AcceptedAt = fromTS(at)
		as = append(as, a)
	}
	return as, rows.Err()
}

func (s *IdentityStore) CreateCode(ctx context.Context, c identity.CodeRecord) error {
	_, err := s.db.exec(ctx, s.db.sql, `INSERT INTO sms_codes (id, phone_index, ip_index, code_mac, attempts, created_at, expires_at, used_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, c.ID, c.PhoneIndex, c.IPIndex, c.CodeMAC, c.Attempts, ts(c.CreatedAt), ts(c.ExpiresAt), ts(c.UsedAt))
	return err
}

func (s *IdentityStore) LatestCode(ctx context.Context, phoneIndex string) (identity.CodeRecord, error) {
	var c identity.CodeRecord
	var created, expires, used int64
	err := s.db.queryRow(ctx, s.db.sql, `SELECT id, phone_index, ip_index, code_mac, attempts, created_at, expires_at, used_at
		FROM sms_codes WHERE phone_index = ? ORDER BY created_at DESC, id DESC LIMIT 1`, phoneIndex).
		Scan(&c.ID, &c.PhoneIndex, &c.IPIndex, &c.CodeMAC, &c.Attempts, &created, &expires, &used)
	c.CreatedAt, c.ExpiresAt, c.UsedAt = fromTS(created), fromTS(expires), fromTS(used)
	return c, notFound(err, "code")
}

func (s *IdentityStore) count(ctx context.Context, query string, args ...any) (int, error) {
	var n int
	err := s.db.queryRow(ctx, s.db.sql, query, args...).Scan(&n)
	return n, err
}

func (s *IdentityStore) CountCodesForPhoneSince(ctx context.Context, phoneIndex string, since time.Time) (int, error) {
	return s.count(ctx, `SELECT COUNT(*) FROM sms_codes WHERE phone_index = ? AND created_at >= ?`, phoneIndex, ts(since))
}

func (s *IdentityStore) CountCodesForIPSince(ctx context.Context, ipIndex string, since time.Time) (int, error) {
	return s.count(ctx, `SELECT COUNT(*) FROM sms_codes WHERE ip_index = ? AND created_at >= ?`, ipIndex, ts(since))
}

func (s *IdentityStore) AddCodeAttempt(ctx context.Context, id string) (int, error) {
	var n int
	err := s.db.queryRow(ctx, s.db.sql, `UPDATE sms_codes SET attempts = attempts + 1 WHERE id = ? RETURNING attempts`, id).Scan(&n)
	return n, notFound(err, "code")
}

func (s *IdentityStore) UseCode(ctx context.Context, id string, at time.Time) (bool, error) {
	res, err := s.db.exec(ctx, s.db.sql, `UPDATE sms_codes SET used_at = ? WHERE id = ? AND used_at = 0`, ts(at), id)
	if err != nil {
		return false, err
	}
	return rowsAffected(res) == 1, nil
}

func (s *IdentityStore) DeleteCodesCreatedBefore(ctx context.Context, t time.Time) (int, error) {
	res, err := s.db.exec(ctx, s.db.sql, `DELETE FROM sms_codes WHERE created_at < ?`, ts(t))
	if err != nil {
		return 0, err
	}
	return rowsAffected(res), nil
}

const sessionColumns = `id, user_id, kind, device_id, user_agent, created_at, last_seen_at, expires_at`

func scanSession(r scanner) (identity.Session, error) {
	var se identity.Session
	var dev sql.NullString
	var created, seen, expires int64
	err := r.Scan(&se.ID, &se.UserID, &se.Kind, &dev, &se.UserAgent, &created, &seen, &expires)
	se.DeviceID = dev.String
	se.CreatedAt, se.LastSeenAt, se.ExpiresAt = fromTS(created), fromTS(seen), fromTS(expires)
	return se, err
}

func (s *IdentityStore) CreateSession(ctx context.Context, r identity.SessionRecord) error {
	_, err := s.db.exec(ctx, s.db.sql, `INSERT INTO sessions (`+sessionColumns+`, token_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.UserID, r.Kind, emptyNull(r.DeviceID), r.UserAgent, ts(r.CreatedAt), ts(r.LastSeenAt), ts(r.ExpiresAt), r.TokenHash)
	return err
}

func (s *IdentityStore) SessionByTokenHash(ctx context.Context, hash []byte) (identity.Session, error) {
	se, err := scanSession(s.db.queryRow(ctx, s.db.sql, `SELECT `+sessionColumns+` FROM sessions WHERE token_hash = ?`, hash))
	return se, notFound(err, "session")
}

func (s *IdentityStore) TouchSession(ctx context.Context, id string, at time.Time) error {
	_, err := s.db.exec(ctx, s.db.sql, `UPDATE sessions SET last_seen_at = ? WHERE id = ?`, ts(at), id)
	return err
}

func (s *IdentityStore) SessionsByUser(ctx context.Context, userID string) ([]identity.Session, error) {
	return queryAll(ctx, s.db, scanSession, s.db.sql, `SELECT `+sessionColumns+` FROM sessions WHERE user_id = ? ORDER BY created_at DESC, id DESC`, userID)
}

func (s *IdentityStore) DeleteSession(ctx context.Context, userID, id string) error {
	res, err := s.db.exec(ctx, s.db.sql, `DELETE FROM sessions WHERE user_id = ? AND id = ?`, userID, id)
	return mustAffect(res, err, "session")
}

func (s *IdentityStore) DeleteSessionsExcept(ctx context.Context, userID, keepID string) (int, error) {
	res, err := s.db.exec(ctx, s.db.sql, `DELETE FROM sessions WHERE user_id = ? AND id <> ?`, userID, keepID)
	if err != nil {
		return 0, err
	}
	return rowsAffected(res), nil
}

func (s *IdentityStore) DeleteSessionsExpiredBefore(ctx context.Context, t time.Time) (int, error) {
	res, err := s.db.exec(ctx, s.db.sql, `DELETE FROM sessions WHERE expires_at < ?`, ts(t))
	if err != nil {
		return 0, err
	}
	return rowsAffected(res), nil
}

const deviceColumns = `id, user_id, platform, model, os_version, app_version, push_token, created_at, last_seen_at`

func scanDevice(r scanner) (identity.Device, error) {
	var d identity.Device
	var user sql.NullString
	var created, seen int64
	err := r.Scan(&d.ID, &user, &d.Platform, &d.Model, &d.OSVersion, &d.AppVersion, &d.PushToken, &created, &seen)
	d.UserID = user.String
	d.CreatedAt, d.LastSeenAt = fromTS(created), fromTS(seen)
	return d, err
}

func (s *IdentityStore) CreateDevice(ctx context.Context, r identity.DeviceRecord) error {
	_, err := s.db.exec(ctx, s.db.sql, `INSERT INTO devices (`+deviceColumns+`, token_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, emptyNull(r.UserID), r.Platform, r.Model, r.OSVersion, r.AppVersion, r.PushToken, ts(r.CreatedAt), ts(r.LastSeenAt), r.TokenHash)
	return err
}

func (s *IdentityStore) DeviceByTokenHash(ctx context.Context, hash []byte) (identity.Device, error) {
	d, err := scanDevice(s.db.queryRow(ctx, s.db.sql, `SELECT `+deviceColumns+` FROM devices WHERE token_hash = ?`, hash))
	return d, notFound(err, "device")
}

func (s *IdentityStore) UpdateDevice(ctx context.Context, d identity.Device) error {
	res, err := s.db.exec(ctx, s.db.sql, `UPDATE devices SET platform = ?, model = ?, os_version = ?, app_version = ?, push_token = ?,
		last_seen_at = ? WHERE id = ?`, d.Platform, d.Model, d.OSVersion, d.AppVersion, d.PushToken, ts(d.LastSeenAt), d.ID)
	return mustAffect(res, err, "device")
}

func (s *IdentityStore) BindDevice(ctx context.Context, deviceID, userID string) error {
	res, err := s.db.exec(ctx, s.db.sql, `UPDATE devices SET user_id = ? WHERE id = ?`, emptyNull(userID), deviceID)
	return mustAffect(res, err, "device")
}

func (s *IdentityStore) DevicesByUser(ctx context.Context, userID string) ([]identity.Device, error) {
	return queryAll(ctx, s.db, scanDevice, s.db.sql, `SELECT `+deviceColumns+` FROM devices WHERE user_id = ? ORDER BY last_seen_at DESC, id`, userID)
}

func (s *IdentityStore) DeleteDevicesSeenBefore(ctx context.Context, t time.Time) (int, error) {
	res, err := s.db.exec(ctx, s.db.sql, `DELETE FROM devices WHERE last_seen_at < ?`, ts(t))
	if err != nil {
		return 0, err
	}
	return rowsAffected(res), nil
}

func (s *IdentityStore) UnbindDevicesWithoutSession(ctx context.Context, userID string) (int, error) {
	q := `UPDATE devices SET user_id = NULL WHERE user_id IS NOT NULL
		AND NOT EXISTS (SELECT 1 FROM sessions WHERE sessions.device_id = devices.id)`
	args := []any{}
	if userID != "" {
		q += ` AND user_id = ?`
		args = append(args, userID)
	}
	res, err := s.db.exec(ctx, s.db.sql, q, args...)
	if err != nil {
		return 0, err
	}
	return rowsAffected(res), nil
}
