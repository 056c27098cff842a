package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/seeking"
)

// SeekingStore implements seeking.Store (migration 0009); the audit
// chain it shares is AuditStore's.
type SeekingStore struct {
	db *DB
	*AuditStore
}

// Seeking returns the seeking area's store.
func (db *DB) Seeking() *SeekingStore { return &SeekingStore{db: db, AuditStore: db.Audit()} }

var _ seeking.Store = (*SeekingStore)(nil)

const caseColumns = `id, reporter_id, org_id, status, category, full_name, given_name, family_name, alternate_names, sex,
	date_of_birth, age, home_city, height_cm, build, clothing, distinguishing_marks, description, circumstances,
	last_seen_at, last_seen_place, last_seen_point_sealed, area_lat, area_lng,
	reporter_relationship_sealed, reporter_contact_sealed, police_receipt_sealed,
	verified_by, verified_at, verification_note_sealed, status_reason,
	created_at, updated_at, submitted_at, published_at, resolved_at`

func nullInt(p *int) sql.NullInt64 {
	if p == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: int64(*p), Valid: true}
}

func intPtr(n sql.NullInt64) *int {
	if !n.Valid {
		return nil
	}
	v := int(n.Int64)
	return &v
}

func scanCase(r scanner) (seeking.CaseRecord, error) {
	var c seeking.CaseRecord
	var org sql.NullString
	var alt string
	var age, height sql.NullInt64
	var lastSeen, verified, created, updated, submitted, published, resolved int64
	p := &c.Person
	err := r.Scan(&c.ID, &c.ReporterID, &org, &c.Status, &c.Category, &p.FullName, &p.GivenName, &p.FamilyName, &alt, &p.Sex,
		&p.DateOfBirth, &age, &p.HomeCity, &height, &p.Build, &p.Clothing, &p.DistinguishingMarks, &p.Description, &p.Circumstances,
		&lastSeen, &c.LastSeenPlace, &c.PointSealed, &c.AreaLat, &c.AreaLng,
		&c.RelationshipSealed, &c.ContactSealed, &c.ReceiptSealed,
		&c.VerifiedBy, &verified, &c.VerificationNoteSealed, &c.StatusReason,
		&created, &updated, &submitted, &published, &resolved)
	if err != nil {
		return c, err
	}
	c.OrgID = org.String
	if err := json.Unmarshal([]byte(alt), &p.AlternateNames); err != nil {
		return c, fmt.Errorf("sqlstore: case %s: alternate names: %w", c.ID, err)
	}
	p.Age, p.HeightCm = intPtr(age), intPtr(height)
	c.LastSeenAt, c.VerifiedAt = fromTS(lastSeen), fromTS(verified)
	c.CreatedAt, c.UpdatedAt, c.SubmittedAt, c.PublishedAt, c.ResolvedAt = fromTS(created), fromTS(updated), fromTS(submitted), fromTS(published), fromTS(resolved)
	return c, nil
}

func altNames(names []string) string {
	if names == nil {
		names = []string{}
	}
	b, _ := json.Marshal(names)
	return string(b)
}

// notFoundIfFK turns a foreign key violation into NotFound naming what.
func notFoundIfFK(err error, what string) error {
	if isForeignKeyViolation(err) {
		return &yuncan.Error{Code: yuncan.NotFound, Message: what + " not found", Err: err}
	}
	return err
}

func (s *SeekingStore) CreateCase(ctx context.Context, c seeking.CaseRecord, ev seeking.Event) error {
	return s.db.tx(ctx, func(tx *sql.Tx) error {
		p := c.Person
		_, err := s.db.exec(ctx, tx, `INSERT INTO cases (`+caseColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
			?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.ID, c.ReporterID, emptyNull(c.OrgID), c.Status, c.Category, p.FullName, p.GivenName, p.FamilyName, altNames(p.AlternateNames), p.Sex,
			p.DateOfBirth, nullInt(p.Age), p.HomeCity, nullInt(p.HeightCm), p.Build, p.Clothing, p.DistinguishingMarks, p.Description, p.Circumstances,
			ts(c.LastSeenAt), c.LastSeenPlace, c.PointSealed, c.AreaLat, c.AreaLng,
			c.RelationshipSealed, c.ContactSealed, c.ReceiptSealed,
			c.VerifiedBy, ts(c.VerifiedAt), c.VerificationNoteSealed, c.StatusReason,
			ts(c.CreatedAt), ts(c.UpdatedAt), ts(c.SubmittedAt), ts(c.PublishedAt), ts(c.ResolvedAt))
		if err != nil {
			return fmt.Errorf("sqlstore: create case: %w", notFoundIfFK(err, "account or organisation"))
		}
		return s.addEvent(ctx, tx, ev)
	})
}

func (s *SeekingStore) addEvent(ctx context.Context, q querier, ev seeking.Event) error {
	_, err := s.db.exec(ctx, q, `INSERT INTO case_events (id, case_id, at, actor_id, actor_role, from_status, to_status, reason)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, ev.ID, ev.CaseID, ts(ev.At), ev.ActorID, ev.ActorRole, ev.From, ev.To, ev.Reason)
	if err != nil {
		return fmt.Errorf("sqlstore: case event: %w", notFoundIfFK(err, "case"))
	}
	return nil
}

func (s *SeekingStore) CaseByID(ctx context.Context, id string) (seeking.CaseRecord, error) {
	c, err := scanCase(s.db.queryRow(ctx, s.db.sql, `SELECT `+caseColumns+` FROM cases WHERE id = ?`, id))
	return c, notFound(err, "case")
}

// statusMismatch tells a gone case (NotFound) from one whose status moved
// on (Conflict) after an update matched no row.
func (s *SeekingStore) statusMismatch(ctx context.Context, q querier, id string) error {
	var st string
	err := s.db.queryRow(ctx, q, `SELECT status FROM cases WHERE id = ?`, id).Scan(&st)
	if err != nil {
		return notFound(err, "case")
	}
	return &yuncan.Error{Code: yuncan.Conflict, Message: "the case's status changed"}
}

func (s *SeekingStore) UpdateCase(ctx context.Context, c seeking.CaseRecord, status seeking.Status) error {
	return s.db.tx(ctx, func(tx *sql.Tx) error {
		p := c.Person
		res, err := s.db.exec(ctx, tx, `UPDATE cases SET org_id = ?, category = ?, full_name = ?, given_name = ?, family_name = ?,
			alternate_names = ?, sex = ?, date_of_birth = ?, age = ?, home_city = ?, height_cm = ?, build = ?, clothing = ?,
			distinguishing_marks = ?, description = ?, circumstances = ?, last_seen_at = ?, last_seen_place = ?,
			last_seen_point_sealed = ?, area_lat = ?, area_lng = ?, reporter_relationship_sealed = ?, reporter_contact_sealed = ?,
			police_receipt_sealed = ?, updated_at = ?
			WHERE id = ? AND status = ?`,
			emptyNull(c.OrgID), c.Category, p.FullName, p.GivenName, p.FamilyName,
			altNames(p.AlternateNames), p.Sex, p.DateOfBirth, nullInt(p.Age), p.HomeCity, nullInt(p.HeightCm), p.Build, p.Clothing,
			p.DistinguishingMarks, p.Description, p.Circumstances, ts(c.LastSeenAt), c.LastSeenPlace,
			c.PointSealed, c.AreaLat, c.AreaLng, c.RelationshipSealed, c.ContactSealed,
			c.ReceiptSealed, ts(c.UpdatedAt), c.ID, status)
		if err != nil {
			return fmt.Errorf("sqlstore: update case: %w", notFoundIfFK(err, "organisation"))
		}
		if rowsAffected(res) == 0 {
			return s.statusMismatch(ctx, tx, c.ID)
		}
		return nil
	})
}

func (s *SeekingStore) TransitionCase(ctx context.Context, c seeking.CaseRecord, from seeking.Status, ev seeking.Event) error {
	return s.db.tx(ctx, func(tx *sql.Tx) error {
		res, err := s.db.exec(ctx, tx, `UPDATE cases SET status = ?, status_reason = ?, submitted_at = ?, published_at = ?,
			resolved_at = ?, updated_at = ? WHERE id = ? AND status = ?`,
			c.Status, c.StatusReason, ts(c.SubmittedAt), ts(c.PublishedAt), ts(c.ResolvedAt), ts(c.UpdatedAt), c.ID, from)
		if err != nil {
			return fmt.Errorf("sqlstore: case status: %w", err)
		}
		if rowsAffected(res) == 0 {
			return s.statusMismatch(ctx, tx, c.ID)
		}
		return s.addEvent(ctx, tx, ev)
	})
}

func (s *SeekingStore) SetCaseVerification(ctx context.Context, caseID, by string, at time.Time, noteSealed string) error {
	res, err := s.db.exec(ctx, s.db.sql, `UPDATE cases SET verified_by = ?, verified_at = ?, verification_note_sealed = ? WHERE id = ?`,
		by, ts(at), noteSealed, caseID)
	return mustAffect(res, err, "case")
}

func (s *SeekingStore) CaseEvents(ctx context.Context, caseID string) ([]seeking.Event, error) {
	rows, err := s.db.query(ctx, s.db.sql, `SELECT id, case_id, at, actor_id, actor_role, from_status, to_status, reason
		FROM case_events WHERE case_id = ? ORDER BY at, id`, caseID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []seeking.Event{}
	for rows.Next() {
		var e seeking.Event
		var at int64
		if err := rows.Scan(&e.ID, &e.CaseID, &at, &e.ActorID, &e.ActorRole, &e.From, &e.To, &e.Reason); err != nil {
			return nil, err
		}
		e.At = fromTS(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

func (s *SeekingStore) cases(ctx context.Context, query string, args ...any) ([]seeking.CaseRecord, error) {
	return queryAll(ctx, s.db, scanCase, s.db.sql, `SELECT `+caseColumns+` FROM cases `+query, args...)
}

func (s *SeekingStore) CasesByStatus(ctx context.Context, status seeking.Status, afterSubmitted time.Time, afterID string, limit int) ([]seeking.CaseRecord, error) {
	after := ts(afterSubmitted)
	return s.cases(ctx, `WHERE status = ? AND (submitted_at > ? OR submitted_at = ? AND id > ?) ORDER BY submitted_at, id LIMIT ?`,
		status, after, after, afterID, limit)
}

func (s *SeekingStore) CasesByReporter(ctx context.Context, reporterID string) ([]seeking.CaseRecord, error) {
	return s.cases(ctx, `WHERE reporter_id = ? ORDER BY created_at DESC, id DESC`, reporterID)
}

func (s *SeekingStore) CasesInArea(ctx context.Context, status seeking.Status, b seeking.AreaBox, limit int) ([]seeking.CaseRecord, error) {
	return s.cases(ctx, `WHERE status = ? AND area_lat BETWEEN ? AND ? AND area_lng BETWEEN ? AND ?
		ORDER BY published_at DESC, id DESC LIMIT ?`, status, b.MinLat, b.MaxLat, b.MinLng, b.MaxLng, limit)
}

// addPhoto inserts into table (case_photos or clue_photos, owner column
// owner) unless the owner has max photos already.
func (s *SeekingStore) addPhoto(ctx context.Context, table, owner, ownerTable string, p seeking.Photo, max int) error {
	return s.db.tx(ctx, func(tx *sql.Tx) error {
		var exists, n int
		if err := s.db.queryRow(ctx, tx, `SELECT COUNT(*) FROM `+ownerTable+` WHERE id = ?`, p.OwnerID).Scan(&exists); err != nil {
			return err
		}
		if exists == 0 {
			return &yuncan.Error{Code: yuncan.NotFound, Message: ownerTable + " not found"}
		}
		if err := s.db.queryRow(ctx, tx, `SELECT COUNT(*) FROM `+table+` WHERE `+owner+` = ?`, p.OwnerID).Scan(&n); err != nil {
			return err
		}
		if n >= max {
			return &yuncan.Error{Code: yuncan.Conflict, Message: "too many photos"}
		}
		_, err := s.db.exec(ctx, tx, `INSERT INTO `+table+` (id, `+owner+`, media_key, created_at) VALUES (?, ?, ?, ?)`,
			p.ID, p.OwnerID, p.Key, ts(p.CreatedAt))
		return notFoundIfFK(err, ownerTable)
	})
}

func (s *SeekingStore) photos(ctx context.Context, table, owner, ownerID string) ([]seeking.Photo, error) {
	return queryAll(ctx, s.db, scanPhoto, s.db.sql, `SELECT id, `+owner+`, media_key, created_at FROM `+table+` WHERE `+owner+` = ?
		ORDER BY created_at, id`, ownerID)
}

func scanPhoto(r scanner) (seeking.Photo, error) {
	var p seeking.Photo
	var at int64
	err := r.Scan(&p.ID, &p.OwnerID, &p.Key, &at)
	p.CreatedAt = fromTS(at)
	return p, err
}

func (s *SeekingStore) AddCasePhoto(ctx context.Context, p seeking.Photo, max int) error {
	return s.addPhoto(ctx, "case_photos", "case_id", "cases", p, max)
}

func (s *SeekingStore) CasePhotos(ctx context.Context, caseID string) ([]seeking.Photo, error) {
	return s.photos(ctx, "case_photos", "case_id", caseID)
}

func (s *SeekingStore) CasePhotoByKey(ctx context.Context, key string) (seeking.Photo, error) {
	p, err := scanPhoto(s.db.queryRow(ctx, s.db.sql, `SELECT id, case_id, media_key, created_at FROM case_photos WHERE media_key = ?`, key))
	return p, notFound(err, "photo")
}

func (s *SeekingStore) DeleteCasePhoto(ctx context.Context, caseID, id string) (seeking.Photo, error) {
	p, err := scanPhoto(s.db.queryRow(ctx, s.db.sql, `DELETE FROM case_photos WHERE case_id = ? AND id = ?
		RETURNING id, case_id, media_key, created_at`, caseID, id))
	return p, notFound(err, "photo")
}

const clueColumns = `id, case_id, author_id, text_sealed, seen_at, point_sealed, place_name_sealed, point_source, status,
	reviewed_by, reviewed_at, review_note, created_at`

func scanClue(r scanner) (seeking.ClueRecord, error) {
	var c seeking.ClueRecord
	var seen, reviewed, created int64
	err := r.Scan(&c.ID, &c.CaseID, &c.AuthorID, &c.TextSealed, &seen, &c.PointSealed, &c.PlaceSealed, &c.Source, &c.Status,
		&c.ReviewedBy, &reviewed, &c.ReviewNote, &created)
	c.SeenAt, c.ReviewedAt, c.CreatedAt = fromTS(seen), fromTS(reviewed), fromTS(created)
	return c, err
}

func (s *SeekingStore) CreateClue(ctx context.Context, c seeking.ClueRecord) error {
	_, err := s.db.exec(ctx, s.db.sql, `INSERT INTO clues (`+clueColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.CaseID, c.AuthorID, c.TextSealed, ts(c.SeenAt), c.PointSealed, c.PlaceSealed, c.Source, c.Status,
		c.ReviewedBy, ts(c.ReviewedAt), c.ReviewNote, ts(c.CreatedAt))
	if err != nil {
		return fmt.Errorf("sqlstore: create clue: %w", notFoundIfFK(err, "case or account"))
	}
	return nil
}

func (s *SeekingStore) ClueByID(ctx context.Context, caseID, id string) (seeking.ClueRecord, error) {
	c, err := scanClue(s.db.queryRow(ctx, s.db.sql, `SELECT `+clueColumns+` FROM clues WHERE case_id = ? AND id = ?`, caseID, id))
	return c, notFound(err, "clue")
}

func (s *SeekingStore) Clues(ctx context.Context, caseID, authorID string) ([]seeking.ClueRecord, error) {
	q, args := `SELECT `+clueColumns+` FROM clues WHERE case_id = ? ORDER BY created_at, id`, []any{caseID}
	if authorID != "" {
		q, args = `SELECT `+clueColumns+` FROM clues WHERE case_id = ? AND author_id = ? ORDER BY created_at, id`, []any{caseID, authorID}
	}
	return queryAll(ctx, s.db, scanClue, s.db.sql, q, args...)
}

func (s *SeekingStore) times(ctx context.Context, query string, args ...any) ([]time.Time, error) {
	rows, err := s.db.query(ctx, s.db.sql, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []time.Time
	for rows.Next() {
		var n int64
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, fromTS(n))
	}
	return out, rows.Err()
}

func (s *SeekingStore) ClueTimesSince(ctx context.Context, authorID string, since time.Time) ([]time.Time, error) {
	return s.times(ctx, `SELECT created_at FROM clues WHERE author_id = ? AND created_at >= ? ORDER BY created_at`, authorID, ts(since))
}

func (s *SeekingStore) SetClueReview(ctx context.Context, caseID, id string, status seeking.ClueStatus, by string, at time.Time, note string) error {
	res, err := s.db.exec(ctx, s.db.sql, `UPDATE clues SET status = ?, reviewed_by = ?, reviewed_at = ?, review_note = ?
		WHERE case_id = ? AND id = ?`, status, by, ts(at), note, caseID, id)
	return mustAffect(res, err, "clue")
}

func (s *SeekingStore) AddCluePhoto(ctx context.Context, p seeking.Photo, max int) error {
	return s.addPhoto(ctx, "clue_photos", "clue_id", "clues", p, max)
}

func (s *SeekingStore) CluePhotos(ctx context.Context, clueID string) ([]seeking.Photo, error) {
	return s.photos(ctx, "clue_photos", "clue_id", clueID)
}

func (s *SeekingStore) AddMessage(ctx context.Context, m seeking.MessageRecord) error {
	_, err := s.db.exec(ctx, s.db.sql, `INSERT INTO relay_messages (id, case_id, giver_id, sender_id, text_sealed, created_at)
		VALUES (?, ?, ?, ?, ?, ?)`, m.ID, m.CaseID, m.GiverID, m.SenderID, m.TextSealed, ts(m.CreatedAt))
	if err != nil {
		return fmt.Errorf("sqlstore: relay message: %w", notFoundIfFK(err, "case or account"))
	}
	return nil
}

func (s *SeekingStore) Messages(ctx context.Context, caseID, giverID string) ([]seeking.MessageRecord, error) {
	rows, err := s.db.query(ctx, s.db.sql, `SELECT id, case_id, giver_id, sender_id, text_sealed, created_at FROM relay_messages
		WHERE case_id = ? AND giver_id = ? ORDER BY created_at, id`, caseID, giverID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []seeking.MessageRecord{}
	for rows.Next() {
		var m seeking.MessageRecord
		var at int64
		if err := rows.Scan(&m.ID, &m.CaseID, &m.GiverID, &m.SenderID, &m.TextSealed, &at); err != nil {
			return nil, err
		}
		m.CreatedAt = fromTS(at)
		out = append(out, m)
	}
	return out, rows.Err()
}

func (s *SeekingStore) MessageTimesSince(ctx context.Context, senderID string, since time.Time) ([]time.Time, error) {
	return s.times(ctx, `SELECT created_at FROM relay_messages WHERE sender_id = ? AND created_at >= ? ORDER BY created_at`, senderID, ts(since))
}

func scanOrg(r scanner) (seeking.Org, error) {
	var o seeking.Org
	var at int64
	err := r.Scan(&o.ID, &o.Name, &o.Kind, &at)
	o.CreatedAt = fromTS(at)
	return o, err
}

func (s *SeekingStore) CreateOrg(ctx context.Context, o seeking.Org) error {
	_, err := s.db.exec(ctx, s.db.sql, `INSERT INTO partner_orgs (id, name, kind, created_at) VALUES (?, ?, ?, ?)`,
		o.ID, o.Name, o.Kind, ts(o.CreatedAt))
	if err != nil {
		return fmt.Errorf("sqlstore: create organisation: %w", err)
	}
	return nil
}

func (s *SeekingStore) OrgByID(ctx context.Context, id string) (seeking.Org, error) {
	o, err := scanOrg(s.db.queryRow(ctx, s.db.sql, `SELECT id, name, kind, created_at FROM partner_orgs WHERE id = ?`, id))
	return o, notFound(err, "organisation")
}

func (s *SeekingStore) orgs(ctx context.Context, query string, args ...any) ([]seeking.Org, error) {
	return queryAll(ctx, s.db, scanOrg, s.db.sql, query, args...)
}

func (s *SeekingStore) Orgs(ctx context.Context) ([]seeking.Org, error) {
	return s.orgs(ctx, `SELECT id, name, kind, created_at FROM partner_orgs ORDER BY name, id`)
}

func (s *SeekingStore) AddStaff(ctx context.Context, st seeking.Staff) error {
	_, err := s.db.exec(ctx, s.db.sql, `INSERT INTO partner_staff (org_id, user_id, added_by, added_at) VALUES (?, ?, ?, ?)`,
		st.OrgID, st.UserID, st.AddedBy, ts(st.AddedAt))
	if err != nil {
		return fmt.Errorf("sqlstore: add staff: %w", notFoundIfFK(err, "organisation or account"))
	}
	return nil
}

func (s *SeekingStore) RemoveStaff(ctx context.Context, orgID, userID string) error {
	res, err := s.db.exec(ctx, s.db.sql, `DELETE FROM partner_staff WHERE org_id = ? AND user_id = ?`, orgID, userID)
	return mustAffect(res, err, "membership")
}

func (s *SeekingStore) OrgsOfUser(ctx context.Context, userID string) ([]seeking.Org, error) {
	return s.orgs(ctx, `SELECT o.id, o.name, o.kind, o.created_at FROM partner_orgs o
		JOIN partner_staff st ON st.org_id = o.id WHERE st.user_id = ? ORDER BY o.name, o.id`, userID)
}
