package sqlstore

import (
	"context"
	"time"

	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/location"
)

// LocationStore implements location.Store.
type LocationStore struct{ db *DB }

// Location returns the location area's store.
func (db *DB) Location() *LocationStore { return &LocationStore{db: db} }

var _ location.Store = (*LocationStore)(nil)

func (s *LocationStore) SavePosition(ctx context.Context, r location.Record) error {
	_, err := s.db.exec(ctx, s.db.sql, `INSERT INTO location_positions (subject_kind, subject_id, point_sealed, coarse, updated_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (subject_kind, subject_id)
		DO UPDATE SET point_sealed = excluded.point_sealed, coarse = excluded.coarse, updated_at = excluded.updated_at`,
		r.Subject.Kind, r.Subject.ID, r.Sealed, boolInt(r.Coarse), ts(r.UpdatedAt))
	return err
}

func scanRecord(sc scanner) (location.Record, error) {
	var r location.Record
	var coarse int
	var at int64
	err := sc.Scan(&r.Subject.Kind, &r.Subject.ID, &r.Sealed, &coarse, &at)
	r.Coarse, r.UpdatedAt = coarse == 1, fromTS(at)
	return r, err
}

func (s *LocationStore) Position(ctx context.Context, sub consent.Subject) (location.Record, error) {
	r, err := scanRecord(s.db.queryRow(ctx, s.db.sql, `SELECT subject_kind, subject_id, point_sealed, coarse, updated_at
		FROM location_positions WHERE subject_kind = ? AND subject_id = ?`, sub.Kind, sub.ID))
	return r, notFound(err, "position")
}

func (s *LocationStore) DeletePosition(ctx context.Context, sub consent.Subject) error {
	_, err := s.db.exec(ctx, s.db.sql, `DELETE FROM location_positions WHERE subject_kind = ? AND subject_id = ?`, sub.Kind, sub.ID)
	return err
}

func (s *LocationStore) EachPosition(ctx context.Context, fn func(location.Record) error) error {
	rows, err := s.db.query(ctx, s.db.sql, `SELECT subject_kind, subject_id, point_sealed, coarse, updated_at FROM location_positions`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return err
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (s *LocationStore) DeletePositionsBefore(ctx context.Context, t time.Time) ([]consent.Subject, error) {
	rows, err := s.db.query(ctx, s.db.sql, `DELETE FROM location_positions WHERE updated_at < ? RETURNING subject_kind, subject_id`, ts(t))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []consent.Subject
	for rows.Next() {
		var sub consent.Subject
		if err := rows.Scan(&sub.Kind, &sub.ID); err != nil {
			return nil, err
		}
		out = append(out, sub)
	}
	return out, rows.Err()
}
