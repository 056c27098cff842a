package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/consent"
)

// MinorStore implements consent.MinorStore.
type MinorStore struct{ db *DB }

// Minors returns the store of the minors rules.
func (db *DB) Minors() *MinorStore { return &MinorStore{db: db} }

var (
	_ consent.MinorStore   = (*MinorStore)(nil)
	_ consent.LedgerEraser = (*ConsentStore)(nil)
)

// EraseSubject deletes the subject's ledger (events, states and finished
// purge tasks) in one transaction. It is here, beside the minors rules
// that first need it, until the rights area's account erasure joins it.
func (s *ConsentStore) EraseSubject(ctx context.Context, sub consent.Subject) error {
	return s.db.tx(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{
			`DELETE FROM consent_state WHERE subject_kind = ? AND subject_id = ?`,
			`DELETE FROM consent_events WHERE subject_kind = ? AND subject_id = ?`,
			`DELETE FROM consent_purges WHERE subject_kind = ? AND subject_id = ? AND done_at <> 0`,
		} {
			if _, err := s.db.exec(ctx, tx, q, sub.Kind, sub.ID); err != nil {
				return fmt.Errorf("sqlstore: erase consent subject: %w", err)
			}
		}
		return nil
	})
}

func (s *MinorStore) MinorStatus(ctx context.Context, userID string) (consent.MinorStatus, error) {
	var st consent.MinorStatus
	var created int64
	var verified sql.NullInt64
	err := s.db.queryRow(ctx, s.db.sql, `SELECT u.age_band, u.created_at, g.verified_at FROM users u
		LEFT JOIN guardian_consents g ON g.user_id = u.id WHERE u.id = ?`, userID).Scan(&st.Band, &created, &verified)
	st.CreatedAt, st.GuardianVerifiedAt = fromTS(created), fromTS(verified.Int64)
	return st, notFound(err, "account")
}

func (s *MinorStore) RequestGuardian(ctx context.Context, g consent.GuardianConsent) error {
	return s.db.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := s.db.queryRow(ctx, tx, `SELECT COUNT(*) FROM users WHERE id = ?`, g.UserID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return &yuncan.Error{Code: yuncan.NotFound, Message: "account not found"}
		}
		res, err := s.db.exec(ctx, tx, `INSERT INTO guardian_consents (user_id, guardian_phone_sealed, guardian_phone_index, method, requested_at, verified_at)
			VALUES (?, ?, ?, '', ?, 0)
			ON CONFLICT (user_id) DO UPDATE SET guardian_phone_sealed = excluded.guardian_phone_sealed,
				guardian_phone_index = excluded.guardian_phone_index, requested_at = excluded.requested_at
			WHERE guardian_consents.verified_at = 0`,
			g.UserID, g.GuardianPhoneSealed, g.GuardianPhoneIndex, ts(g.RequestedAt))
		if err != nil {
			return fmt.Errorf("sqlstore: request guardian: %w", err)
		}
		if rowsAffected(res) == 0 {
			return &yuncan.Error{Code: yuncan.Conflict, Message: "the guardian consent is verified already"}
		}
		return nil
	})
}

func (s *MinorStore) GuardianConsent(ctx context.Context, userID string) (consent.GuardianConsent, error) {
	var g consent.GuardianConsent
	var requested, verified int64
	err := s.db.queryRow(ctx, s.db.sql, `SELECT user_id, guardian_phone_sealed, guardian_phone_index, method, requested_at, verified_at
		FROM guardian_consents WHERE user_id = ?`, userID).
		Scan(&g.UserID, &g.GuardianPhoneSealed, &g.GuardianPhoneIndex, &g.Method, &requested, &verified)
	g.RequestedAt, g.VerifiedAt = fromTS(requested), fromTS(verified)
	return g, notFound(err, "guardian consent")
}

func (s *MinorStore) VerifyGuardian(ctx context.Context, userID, phoneIndex, method string, at time.Time) error {
	res, err := s.db.exec(ctx, s.db.sql, `UPDATE guardian_consents SET method = ?, verified_at = ?
		WHERE user_id = ? AND guardian_phone_index = ? AND verified_at = 0`, method, ts(at), userID, phoneIndex)
	return mustAffect(res, err, "pending guardian consent")
}

func (s *MinorStore) UnverifiedUnder14(ctx context.Context, before time.Time, limit int) ([]string, error) {
	rows, err := s.db.query(ctx, s.db.sql, `SELECT u.id FROM users u
		WHERE u.age_band = 'under_14' AND u.created_at < ?
		AND NOT EXISTS (SELECT 1 FROM guardian_consents g WHERE g.user_id = u.id AND g.verified_at <> 0)
		ORDER BY u.created_at, u.id LIMIT ?`, ts(before), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ids := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

const guardianRequestColumns = `id, guardian_phone_sealed, guardian_phone_index, minor_phone_sealed, minor_phone_index, kind,
	message_sealed, status, ip_index, created_at, updated_at`

func (s *MinorStore) CreateGuardianRequest(ctx context.Context, r consent.GuardianRequestRecord) error {
	_, err := s.db.exec(ctx, s.db.sql, `INSERT INTO guardian_requests (`+guardianRequestColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.GuardianPhoneSealed, r.GuardianPhoneIndex, r.MinorPhoneSealed, r.MinorPhoneIndex, r.Kind,
		r.MessageSealed, r.Status, r.IPIndex, ts(r.CreatedAt), ts(r.UpdatedAt))
	if err != nil {
		return fmt.Errorf("sqlstore: create guardian request: %w", err)
	}
	return nil
}

func (s *MinorStore) GuardianRequest(ctx context.Context, id string) (consent.GuardianRequestRecord, error) {
	var r consent.GuardianRequestRecord
	var created, updated int64
	err := s.db.queryRow(ctx, s.db.sql, `SELECT `+guardianRequestColumns+` FROM guardian_requests WHERE id = ?`, id).
		Scan(&r.ID, &r.GuardianPhoneSealed, &r.GuardianPhoneIndex, &r.MinorPhoneSealed, &r.MinorPhoneIndex, &r.Kind,
			&r.MessageSealed, &r.Status, &r.IPIndex, &created, &updated)
	r.CreatedAt, r.UpdatedAt = fromTS(created), fromTS(updated)
	return r, notFound(err, "guardian request")
}

func (s *MinorStore) CountGuardianRequestsForIPSince(ctx context.Context, ipIndex string, since time.Time) (int, error) {
	var n int
	err := s.db.queryRow(ctx, s.db.sql, `SELECT COUNT(*) FROM guardian_requests WHERE ip_index = ? AND created_at >= ?`,
		ipIndex, ts(since)).Scan(&n)
	return n, err
}

func (s *MinorStore) ExpireGuardianRequests(ctx context.Context, ipBefore, rowsBefore time.Time) error {
	return s.db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.db.exec(ctx, tx, `UPDATE guardian_requests SET ip_index = '' WHERE ip_index <> '' AND created_at < ?`, ts(ipBefore)); err != nil {
			return fmt.Errorf("sqlstore: expire guardian requests: %w", err)
		}
		if _, err := s.db.exec(ctx, tx, `DELETE FROM guardian_requests WHERE created_at < ?`, ts(rowsBefore)); err != nil {
			return fmt.Errorf("sqlstore: expire guardian requests: %w", err)
		}
		return nil
	})
}
