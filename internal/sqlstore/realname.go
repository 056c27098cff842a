package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/identity"
)

// Real-name verifications and attempts (migration 0007), part of the
// identity store.

const realNameColumns = `user_id, name_sealed, id_number_sealed, id_number_index, certifier_reference, verified_at`

func scanRealName(r scanner) (identity.RealNameRecord, error) {
	var rec identity.RealNameRecord
	var at int64
	err := r.Scan(&rec.UserID, &rec.NameSealed, &rec.IDNumberSealed, &rec.IDNumberIndex, &rec.CertifierReference, &at)
	rec.VerifiedAt = fromTS(at)
	return rec, err
}

func (s *IdentityStore) CreateRealName(ctx context.Context, r identity.RealNameRecord) error {
	_, err := s.db.exec(ctx, s.db.sql, `INSERT INTO real_names (`+realNameColumns+`) VALUES (?, ?, ?, ?, ?, ?)`,
		r.UserID, r.NameSealed, r.IDNumberSealed, r.IDNumberIndex, r.CertifierReference, ts(r.VerifiedAt))
	if isForeignKeyViolation(err) {
		return &yuncan.Error{Code: yuncan.NotFound, Message: "account not found", Err: err}
	}
	if err != nil && yuncan.ErrorCode(err) != yuncan.Conflict {
		return fmt.Errorf("sqlstore: create real name: %w", err)
	}
	return err
}

func (s *IdentityStore) RealNameByUser(ctx context.Context, userID string) (identity.RealNameRecord, error) {
	r, err := scanRealName(s.db.queryRow(ctx, s.db.sql, `SELECT `+realNameColumns+` FROM real_names WHERE user_id = ?`, userID))
	return r, notFound(err, "real-name verification")
}

func (s *IdentityStore) DeleteRealName(ctx context.Context, userID string) error {
	res, err := s.db.exec(ctx, s.db.sql, `DELETE FROM real_names WHERE user_id = ?`, userID)
	return mustAffect(res, err, "real-name verification")
}

func (s *IdentityStore) AddRealNameAttempt(ctx context.Context, a identity.RealNameAttempt) error {
	_, err := s.db.exec(ctx, s.db.sql, `INSERT INTO real_name_attempts (id, user_id, attempted_at) VALUES (?, ?, ?)`,
		a.ID, a.UserID, ts(a.AttemptedAt))
	if isForeignKeyViolation(err) {
		return &yuncan.Error{Code: yuncan.NotFound, Message: "account not found", Err: err}
	}
	return err
}

func (s *IdentityStore) RealNameAttemptsSince(ctx context.Context, userID string, since time.Time) ([]time.Time, error) {
	rows, err := s.db.query(ctx, s.db.sql, `SELECT attempted_at FROM real_name_attempts WHERE user_id = ? AND attempted_at >= ?
		ORDER BY attempted_at, id`, userID, ts(since))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []time.Time
	for rows.Next() {
		var at int64
		if err := rows.Scan(&at); err != nil {
			return nil, err
		}
		out = append(out, fromTS(at))
	}
	return out, rows.Err()
}

func (s *IdentityStore) DeleteRealNameAttempt(ctx context.Context, id string) error {
	_, err := s.db.exec(ctx, s.db.sql, `DELETE FROM real_name_attempts WHERE id = ?`, id)
	return err
}

func (s *IdentityStore) DeleteRealNameAttemptsBefore(ctx context.Context, t time.Time) (int, error) {
	res, err := s.db.exec(ctx, s.db.sql, `DELETE FROM real_name_attempts WHERE attempted_at < ?`, ts(t))
	if err != nil {
		return 0, err
	}
	return rowsAffected(res), nil
}
