package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/sharing"
)

// SharingStore implements sharing.Store (migration 0016).
type SharingStore struct{ db *DB }

// Sharing returns the sharing ledger's store.
func (db *DB) Sharing() *SharingStore { return &SharingStore{db: db} }

var _ sharing.Store = (*SharingStore)(nil)

const sharingColumns = `id, at, recipient, purpose, fields, basis, exemption, subject_kind, subject_id, phone_index`

func scanDisclosure(r scanner) (sharing.Entry, error) {
	var e sharing.Entry
	var at int64
	var purpose, fields, basis, kind string
	if err := r.Scan(&e.ID, &at, &e.Recipient, &purpose, &fields, &basis, &e.Exemption, &kind, &e.Subject.ID, &e.PhoneIndex); err != nil {
		return e, err
	}
	if err := json.Unmarshal([]byte(fields), &e.Fields); err != nil {
		return e, fmt.Errorf("sqlstore: sharing_ledger %s: fields: %w", e.ID, err)
	}
	e.At, e.Purpose, e.Basis, e.Subject.Kind = fromTS(at), consent.Purpose(purpose), sharing.Basis(basis), consent.SubjectKind(kind)
	return e, nil
}

func (s *SharingStore) AddDisclosure(ctx context.Context, e sharing.Entry) error {
	fields, err := json.Marshal(e.Fields)
	if err != nil {
		return err
	}
	_, err = s.db.exec(ctx, s.db.sql, `INSERT INTO sharing_ledger (`+sharingColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, ts(e.At), e.Recipient, string(e.Purpose), string(fields), string(e.Basis), e.Exemption,
		string(e.Subject.Kind), e.Subject.ID, e.PhoneIndex)
	if err != nil {
		return fmt.Errorf("sqlstore: add disclosure: %w", err)
	}
	return nil
}

func (s *SharingStore) UserByPhoneIndex(ctx context.Context, idx string) (string, error) {
	var id string
	err := s.db.queryRow(ctx, s.db.sql, `SELECT id FROM users WHERE phone_index = ?`, idx).Scan(&id)
	return id, notFound(err, "account")
}

// mine is the condition for an account's entries: about it, about its
// devices, or recorded by its number's index before an account held it.
const mine = `((subject_kind = 'user' AND subject_id = ?)
	OR (subject_kind = 'device' AND subject_id IN (SELECT id FROM devices WHERE user_id = ?))
	OR (subject_kind = '' AND phone_index <> '' AND phone_index = (SELECT phone_index FROM users WHERE id = ?)))`

func (s *SharingStore) DisclosuresOf(ctx context.Context, userID string, after sharing.Cursor, limit int) ([]sharing.Entry, error) {
	q := `SELECT ` + sharingColumns + ` FROM sharing_ledger WHERE ` + mine
	args := []any{userID, userID, userID}
	if after.ID != "" {
		q += ` AND (at < ? OR (at = ? AND id < ?))`
		args = append(args, ts(after.At), ts(after.At), after.ID)
	}
	q += ` ORDER BY at DESC, id DESC LIMIT ?`
	es, err := queryAll(ctx, s.db, scanDisclosure, s.db.sql, q, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: disclosures of %s: %w", userID, err)
	}
	return es, nil
}

func (s *SharingStore) DeleteDisclosuresBefore(ctx context.Context, t time.Time) (int, error) {
	res, err := s.db.exec(ctx, s.db.sql, `DELETE FROM sharing_ledger WHERE at < ?`, ts(t))
	if err != nil {
		return 0, fmt.Errorf("sqlstore: expire disclosures: %w", err)
	}
	return int(rowsAffected(res)), nil
}

// CaseFacts reads only the columns the statistics count by: no id, name,
// text or precise place leaves the query.
func (s *SharingStore) CaseFacts(ctx context.Context, from, to time.Time) ([]sharing.CaseFact, error) {
	facts, err := queryAll(ctx, s.db, func(r scanner) (sharing.CaseFact, error) {
		var f sharing.CaseFact
		var at int64
		err := r.Scan(&f.Category, &f.Status, &at, &f.AreaLat, &f.AreaLng, &f.Alerted)
		f.PublishedAt = fromTS(at)
		return f, err
	}, s.db.sql, `SELECT c.category, c.status, c.published_at, c.area_lat, c.area_lng,
		COALESCE((SELECT SUM(r.recipients) FROM alert_rings r JOIN alerts a ON a.id = r.alert_id WHERE a.case_id = c.id), 0)
		FROM cases c WHERE c.published_at > 0 AND c.published_at >= ? AND c.published_at < ?`, ts(from), ts(to))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: case facts: %w", err)
	}
	return facts, nil
}

func (s *SharingStore) IsPartnerStaff(ctx context.Context, userID string) (bool, error) {
	var n int
	err := s.db.queryRow(ctx, s.db.sql, `SELECT COUNT(*) FROM partner_staff WHERE user_id = ?`, userID).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("sqlstore: partner staff %s: %w", userID, err)
	}
	return n > 0, nil
}
