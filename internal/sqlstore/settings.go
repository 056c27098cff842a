package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/consent"
)

// The consent store also keeps the privacy settings that are not consents
// and the record of processing under legal exemptions.
var (
	_ consent.SettingsStore  = (*ConsentStore)(nil)
	_ consent.ExemptionStore = (*ConsentStore)(nil)
)

// Booleans are stored as INTEGER 0/1, which both engines accept alike.
func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (s *ConsentStore) SocialSettings(ctx context.Context, userID string) (consent.SocialSettings, error) {
	var recommend, suggest, show int64
	var updated int64
	err := s.db.queryRow(ctx, s.db.sql, `SELECT recommend_me_to_contacts, suggest_people_i_may_know, show_identity_on_share_pages, updated_at
		FROM privacy_settings WHERE user_id = ?`, userID).Scan(&recommend, &suggest, &show, &updated)
	if err != nil {
		return consent.SocialSettings{}, notFound(err, "privacy settings")
	}
	return consent.SocialSettings{RecommendMeToContacts: recommend == 1, SuggestPeopleIMayKnow: suggest == 1,
		ShowIdentityOnSharePages: show == 1, UpdatedAt: fromTS(updated)}, nil
}

func (s *ConsentStore) SaveSocialSettings(ctx context.Context, userID string, st consent.SocialSettings) error {
	_, err := s.db.exec(ctx, s.db.sql, `INSERT INTO privacy_settings
		(user_id, recommend_me_to_contacts, suggest_people_i_may_know, show_identity_on_share_pages, updated_at)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET recommend_me_to_contacts = excluded.recommend_me_to_contacts,
			suggest_people_i_may_know = excluded.suggest_people_i_may_know,
			show_identity_on_share_pages = excluded.show_identity_on_share_pages, updated_at = excluded.updated_at`,
		userID, boolInt(st.RecommendMeToContacts), boolInt(st.SuggestPeopleIMayKnow), boolInt(st.ShowIdentityOnSharePages), ts(st.UpdatedAt))
	if isForeignKeyViolation(err) {
		return &yuncan.Error{Code: yuncan.NotFound, Message: "account not found", Err: err}
	}
	return err
}

// isForeignKeyViolation reports a reference to a row that does not exist.
func isForeignKeyViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23503" {
		return true
	}
	var sqErr *sqlite.Error
	return errors.As(err, &sqErr) && sqErr.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

func (s *ConsentStore) AddExemptionUse(ctx context.Context, u consent.ExemptionUse) error {
	_, err := s.db.exec(ctx, s.db.sql, `INSERT INTO exemption_uses (id, subject_kind, subject_id, purpose, code, detail, at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, u.ID, u.Subject.Kind, u.Subject.ID, u.Purpose, u.Code, u.Detail, ts(u.At))
	if err != nil {
		return fmt.Errorf("sqlstore: exemption use: %w", err)
	}
	return nil
}

func (s *ConsentStore) DeleteExemptionUsesBefore(ctx context.Context, t time.Time) (int, error) {
	res, err := s.db.exec(ctx, s.db.sql, `DELETE FROM exemption_uses WHERE at < ?`, ts(t))
	if err != nil {
		return 0, fmt.Errorf("sqlstore: expire exemption uses: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

func (s *ConsentStore) ExemptionUses(ctx context.Context, since time.Time) ([]consent.ExemptionUse, error) {
	rows, err := s.db.query(ctx, s.db.sql, `SELECT id, subject_kind, subject_id, purpose, code, detail, at
		FROM exemption_uses WHERE at >= ? ORDER BY at, id`, ts(since))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []consent.ExemptionUse{}
	for rows.Next() {
		var u consent.ExemptionUse
		var at int64
		if err := rows.Scan(&u.ID, &u.Subject.Kind, &u.Subject.ID, &u.Purpose, &u.Code, &u.Detail, &at); err != nil {
			return nil, err
		}
		u.At = fromTS(at)
		out = append(out, u)
	}
	return out, rows.Err()
}
