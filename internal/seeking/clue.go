package seeking

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/consent"
)

var errClueNotFound = yuncan.Errorf(yuncan.NotFound, "no such clue")

// AddClue records a clue v sends about a published case. A position from
// the device needs the precise_location consent; a typed place needs
// none. Clue floods are limited per account (429 with Retry-After).
func (s *Service) AddClue(ctx context.Context, v Viewer, caseID string, in ClueInput) (ClueView, error) {
	if v.Anonymous() {
		return ClueView{}, errUnauthenticated
	}
	r, _, a, err := s.caseFor(ctx, v, caseID)
	if err != nil {
		return ClueView{}, err
	}
	if a == AccessReporter {
		return ClueView{}, yuncan.Errorf(yuncan.Forbidden, "you reported this case; add what you know to the case instead").WithReason("own_case")
	}
	if r.Status != StatusPublished {
		return ClueView{}, yuncan.Errorf(yuncan.Conflict, "the case is %s and takes no more clues", r.Status).WithReason("case_closed")
	}
	now := s.now()
	if err := in.Validate(now); err != nil {
		return ClueView{}, err
	}
	if in.Source == SourceDevice {
		// P05: the device's position is precise location, used only with
		// the consent for it; a typed place is the person's own words.
		if err := s.gate.Require(ctx, consent.User(v.UserID), consent.PurposePreciseLocation); err != nil {
			return ClueView{}, err
		}
	}
	if err := s.limitClues(ctx, v.UserID, now); err != nil {
		return ClueView{}, err
	}
	c := ClueRecord{ID: newID(), CaseID: r.ID, AuthorID: v.UserID, TextSealed: s.keys.Seal(sealClueText, []byte(in.Text)),
		Source: in.Source, Status: ClueNew, CreatedAt: now}
	if !in.SeenAt.IsZero() {
		c.SeenAt = in.SeenAt.UTC()
	}
	if in.Lat != nil {
		c.PointSealed = s.keys.Seal(sealCluePoint, encodePoint(*in.Lat, *in.Lng))
	}
	if in.PlaceName != "" {
		c.PlaceSealed = s.keys.Seal(sealCluePlace, []byte(in.PlaceName))
	}
	if err := s.store.CreateClue(ctx, c); err != nil {
		return ClueView{}, fmt.Errorf("seeking: add clue to case %s: %w", r.ID, err)
	}
	cl, err := s.openClue(ctx, c)
	if err != nil {
		return ClueView{}, err
	}
	return ClueView{Clue: cl, Mine: true}, nil
}

// limitClues refuses a clue past the hourly or daily limit.
func (s *Service) limitClues(ctx context.Context, userID string, now time.Time) error {
	times, err := s.store.ClueTimesSince(ctx, userID, now.Add(-24*time.Hour))
	if err != nil {
		return fmt.Errorf("seeking: clue limit: %w", err)
	}
	if len(times) >= s.cfg.CluesPerDay {
		return rateLimited("you sent many clues today; try again later", times[len(times)-s.cfg.CluesPerDay], 24*time.Hour, now)
	}
	var hour []time.Time
	for _, t := range times {
		if !t.Before(now.Add(-time.Hour)) {
			hour = append(hour, t)
		}
	}
	if len(hour) >= s.cfg.CluesPerHour {
		return rateLimited("you sent many clues in the last hour; try again later", hour[len(hour)-s.cfg.CluesPerHour], time.Hour, now)
	}
	return nil
}

func (s *Service) openClue(ctx context.Context, c ClueRecord) (Clue, error) {
	cl := Clue{ID: c.ID, CaseID: c.CaseID, AuthorID: c.AuthorID, SeenAt: c.SeenAt, Source: c.Source, Status: c.Status,
		ReviewNote: c.ReviewNote, ReviewedAt: c.ReviewedAt, CreatedAt: c.CreatedAt}
	b, err := s.keys.Open(sealClueText, c.TextSealed)
	if err != nil {
		return Clue{}, fmt.Errorf("seeking: clue %s: %w", c.ID, err)
	}
	cl.Text = string(b)
	if c.PointSealed != "" {
		b, err := s.keys.Open(sealCluePoint, c.PointSealed)
		if err != nil {
			return Clue{}, fmt.Errorf("seeking: clue %s: %w", c.ID, err)
		}
		lat, lng, err := decodePoint(b)
		if err != nil {
			return Clue{}, fmt.Errorf("seeking: clue %s: %w", c.ID, err)
		}
		cl.Point = &Point{Lat: lat, Lng: lng}
	}
	if c.PlaceSealed != "" {
		b, err := s.keys.Open(sealCluePlace, c.PlaceSealed)
		if err != nil {
			return Clue{}, fmt.Errorf("seeking: clue %s: %w", c.ID, err)
		}
		cl.PlaceName = string(b)
	}
	if cl.Photos, err = s.store.CluePhotos(ctx, c.ID); err != nil {
		return Clue{}, fmt.Errorf("seeking: photos of clue %s: %w", c.ID, err)
	}
	return cl, nil
}

// clueSide is how v stands to the clues of a case.
type clueSide int

const (
	sideNone     clueSide = iota
	sideGiver             // sees and writes only their own clues
	sideReporter          // sees every clue of their case
	sideStaff             // sees every clue, each read audited
)

// cluesFor loads a case and decides how v stands to its clues. Clues are
// seen by the reporter, moderators and partner police, and each by the
// person who sent it while the case is visible to them.
func (s *Service) cluesFor(ctx context.Context, v Viewer, caseID string) (CaseRecord, clueSide, error) {
	if v.Anonymous() {
		return CaseRecord{}, sideNone, errUnauthenticated
	}
	r, _, a, err := s.caseFor(ctx, v, caseID)
	if err != nil {
		return CaseRecord{}, sideNone, err
	}
	switch a {
	case AccessReporter:
		return r, sideReporter, nil
	case AccessStaff:
		return r, sideStaff, nil
	}
	return r, sideGiver, nil
}

// Clues lists the clues of a case v may see: all of them for the
// reporter and staff (a staff read is audited), only their own for
// anyone else. reason is a staff member's stated reason.
func (s *Service) Clues(ctx context.Context, v Viewer, caseID, reason string) ([]ClueView, error) {
	if err := checkAuditReason(reason); err != nil {
		return nil, err
	}
	r, side, err := s.cluesFor(ctx, v, caseID)
	if err != nil {
		return nil, err
	}
	author := ""
	if side == sideGiver {
		author = v.UserID
	}
	if side == sideStaff {
		// P52: every staff read of clues is audited.
		if err := s.audit(ctx, v, AuditCluesRead, "case", r.ID, reason); err != nil {
			return nil, err
		}
	}
	cs, err := s.store.Clues(ctx, r.ID, author)
	if err != nil {
		return nil, fmt.Errorf("seeking: clues of case %s: %w", r.ID, err)
	}
	out := make([]ClueView, 0, len(cs))
	for _, c := range cs {
		cl, err := s.openClue(ctx, c)
		if err != nil {
			return nil, err
		}
		out = append(out, ClueView{Clue: cl, Mine: c.AuthorID == v.UserID, Staff: side == sideStaff})
	}
	return out, nil
}

// clue loads one clue of a case for v; NotFound unless v may see it.
func (s *Service) clue(ctx context.Context, v Viewer, caseID, clueID string) (CaseRecord, ClueRecord, clueSide, error) {
	r, side, err := s.cluesFor(ctx, v, caseID)
	if err != nil {
		return CaseRecord{}, ClueRecord{}, sideNone, err
	}
	if len(clueID) > 64 {
		return CaseRecord{}, ClueRecord{}, sideNone, errClueNotFound
	}
	c, err := s.store.ClueByID(ctx, r.ID, clueID)
	if yuncan.ErrorCode(err) == yuncan.NotFound || err == nil && side == sideGiver && c.AuthorID != v.UserID {
		return CaseRecord{}, ClueRecord{}, sideNone, errClueNotFound
	}
	if err != nil {
		return CaseRecord{}, ClueRecord{}, sideNone, fmt.Errorf("seeking: clue %s: %w", clueID, err)
	}
	return r, c, side, nil
}

// Clue returns one clue v may see (a staff read is audited).
func (s *Service) Clue(ctx context.Context, v Viewer, caseID, clueID, reason string) (ClueView, error) {
	if err := checkAuditReason(reason); err != nil {
		return ClueView{}, err
	}
	_, c, side, err := s.clue(ctx, v, caseID, clueID)
	if err != nil {
		return ClueView{}, err
	}
	if side == sideStaff {
		if err := s.audit(ctx, v, AuditClueRead, "clue", c.ID, reason); err != nil {
			return ClueView{}, err
		}
	}
	cl, err := s.openClue(ctx, c)
	if err != nil {
		return ClueView{}, err
	}
	return ClueView{Clue: cl, Mine: c.AuthorID == v.UserID, Staff: side == sideStaff}, nil
}

// ReviewClue records staff's verdict on a clue of a published case:
// verified (the alerts area adds a centre around it) or dismissed.
func (s *Service) ReviewClue(ctx context.Context, v Viewer, caseID, clueID string, verdict ClueStatus, note string) (ClueView, error) {
	if verdict != ClueVerified && verdict != ClueDismissed {
		return ClueView{}, yuncan.FieldError("verdict", "must be verified or dismissed")
	}
	if err := checkReason("note", &note, false); err != nil {
		return ClueView{}, err
	}
	r, c, side, err := s.clue(ctx, v, caseID, clueID)
	if err != nil {
		return ClueView{}, err
	}
	if side != sideStaff {
		return ClueView{}, yuncan.Errorf(yuncan.Forbidden, "only moderators and partner police review clues").WithReason("staff_required")
	}
	if r.Status != StatusPublished {
		return ClueView{}, yuncan.Errorf(yuncan.Conflict, "the case is %s; clues are reviewed while it is published", r.Status).WithReason("case_closed")
	}
	// The answer shows the clue: a read like any other.
	if err := s.audit(ctx, v, AuditClueRead, "clue", c.ID, "review"); err != nil {
		return ClueView{}, err
	}
	now := s.now()
	if err := s.store.SetClueReview(ctx, r.ID, c.ID, verdict, v.UserID, now, note); err != nil {
		return ClueView{}, fmt.Errorf("seeking: review clue %s: %w", c.ID, err)
	}
	first := c.Status != ClueVerified
	c.Status, c.ReviewedBy, c.ReviewedAt, c.ReviewNote = verdict, v.UserID, now, note
	// The verdict, not the note: the note may name people.
	if err := s.audit(ctx, v, AuditClueReview, "clue", c.ID, string(verdict)); err != nil {
		return ClueView{}, err
	}
	cl, err := s.openClue(ctx, c)
	if err != nil {
		return ClueView{}, err
	}
	if verdict == ClueVerified && first && s.pub != nil {
		cs, err := s.open(r)
		if err == nil {
			err = s.pub.ClueVerified(ctx, cs, cl)
		}
		if err != nil {
			s.logger.ErrorContext(ctx, "seeking: publisher failed", "case", r.ID, "clue", c.ID, "err", err)
		}
	}
	return ClueView{Clue: cl, Mine: c.AuthorID == v.UserID, Staff: true}, nil
}

// AddCluePhoto adds a photo to a clue v sent, while the case is
// published.
func (s *Service) AddCluePhoto(ctx context.Context, v Viewer, caseID, clueID string, body io.Reader) (Photo, error) {
	r, c, side, err := s.clue(ctx, v, caseID, clueID)
	if err != nil {
		return Photo{}, err
	}
	if side != sideGiver || c.AuthorID != v.UserID {
		return Photo{}, yuncan.Errorf(yuncan.Forbidden, "only the person who sent a clue adds photos to it").WithReason("not_clue_author")
	}
	if r.Status != StatusPublished {
		return Photo{}, yuncan.Errorf(yuncan.Conflict, "the case is %s and takes no more clues", r.Status).WithReason("case_closed")
	}
	ps, err := s.store.CluePhotos(ctx, c.ID)
	if err != nil {
		return Photo{}, fmt.Errorf("seeking: photos of clue %s: %w", c.ID, err)
	}
	if len(ps) >= s.cfg.MaxCluePhotos {
		return Photo{}, errTooManyPhotos(s.cfg.MaxCluePhotos)
	}
	key, err := s.storePhoto(ctx, "clues/"+c.ID, body)
	if err != nil {
		return Photo{}, err
	}
	p := Photo{ID: newID(), OwnerID: c.ID, Key: key, CreatedAt: s.now()}
	if err := s.store.AddCluePhoto(ctx, p, s.cfg.MaxCluePhotos); err != nil {
		s.media.Delete(ctx, key)
		if yuncan.ErrorCode(err) == yuncan.Conflict {
			return Photo{}, errTooManyPhotos(s.cfg.MaxCluePhotos)
		}
		return Photo{}, fmt.Errorf("seeking: add photo to clue %s: %w", c.ID, err)
	}
	return p, nil
}

// OpenCluePhoto opens a clue's photo for v, who must see the clue; a
// staff read is audited.
func (s *Service) OpenCluePhoto(ctx context.Context, v Viewer, caseID, clueID, photoID string) (PhotoFile, error) {
	_, c, side, err := s.clue(ctx, v, caseID, clueID)
	if err != nil {
		return PhotoFile{}, err
	}
	ps, err := s.store.CluePhotos(ctx, c.ID)
	if err != nil {
		return PhotoFile{}, fmt.Errorf("seeking: photos of clue %s: %w", c.ID, err)
	}
	for _, p := range ps {
		if p.ID != photoID {
			continue
		}
		if side == sideStaff {
			if err := s.audit(ctx, v, AuditCluePhotoRead, "clue", c.ID, ""); err != nil {
				return PhotoFile{}, err
			}
		}
		f, mod, err := s.media.Open(ctx, p.Key)
		if err != nil {
			return PhotoFile{}, err
		}
		return PhotoFile{ReadSeekCloser: f, ModTime: mod}, nil
	}
	return PhotoFile{}, yuncan.Errorf(yuncan.NotFound, "no such photo")
}
