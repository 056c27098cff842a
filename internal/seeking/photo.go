package seeking

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/media"
)

// storePhoto sanitises an upload (no EXIF, GPS or other metadata
// survives: media.Sanitize re-encodes the pixels) and stores it under
// prefix/<random>.<ext>.
func (s *Service) storePhoto(ctx context.Context, prefix string, body io.Reader) (string, error) {
	img, err := media.Sanitize(body, media.PhotoOptions)
	if err != nil {
		return "", err
	}
	ext := ".jpg"
	if img.ContentType == media.PNG {
		ext = ".png"
	}
	key := prefix + "/" + randomHex(12) + ext
	if err := s.media.Put(ctx, key, img.Data); err != nil {
		return "", fmt.Errorf("seeking: store photo: %w", err)
	}
	return key, nil
}

func errTooManyPhotos(max int) error {
	return yuncan.Errorf(yuncan.Conflict, "at most %d photos", max).WithReason("too_many_photos")
}

// AddCasePhoto adds a photo to a draft v reported.
func (s *Service) AddCasePhoto(ctx context.Context, v Viewer, caseID string, body io.Reader) (Photo, error) {
	r, _, err := s.editable(ctx, v, caseID)
	if err != nil {
		return Photo{}, err
	}
	ps, err := s.store.CasePhotos(ctx, r.ID)
	if err != nil {
		return Photo{}, fmt.Errorf("seeking: photos of case %s: %w", r.ID, err)
	}
	if len(ps) >= s.cfg.MaxCasePhotos {
		return Photo{}, errTooManyPhotos(s.cfg.MaxCasePhotos)
	}
	key, err := s.storePhoto(ctx, "cases/"+r.ID, body)
	if err != nil {
		return Photo{}, err
	}
	p := Photo{ID: newID(), OwnerID: r.ID, Key: key, CreatedAt: s.now()}
	if err := s.store.AddCasePhoto(ctx, p, s.cfg.MaxCasePhotos); err != nil {
		s.media.Delete(ctx, key)
		if yuncan.ErrorCode(err) == yuncan.Conflict {
			return Photo{}, errTooManyPhotos(s.cfg.MaxCasePhotos)
		}
		return Photo{}, fmt.Errorf("seeking: add photo to case %s: %w", r.ID, err)
	}
	return p, nil
}

// DeleteCasePhoto removes a photo from a draft v reported.
func (s *Service) DeleteCasePhoto(ctx context.Context, v Viewer, caseID, photoID string) error {
	r, _, err := s.editable(ctx, v, caseID)
	if err != nil {
		return err
	}
	p, err := s.store.DeleteCasePhoto(ctx, r.ID, photoID)
	if yuncan.ErrorCode(err) == yuncan.NotFound {
		return yuncan.Errorf(yuncan.NotFound, "no such photo")
	}
	if err != nil {
		return fmt.Errorf("seeking: delete photo of case %s: %w", r.ID, err)
	}
	if err := s.media.Delete(ctx, p.Key); err != nil {
		s.logger.ErrorContext(ctx, "seeking: delete photo file", "case", r.ID, "photo", p.ID, "err", err)
	}
	return nil
}

// PhotoFile is a stored photo opened for serving.
type PhotoFile struct {
	io.ReadSeekCloser
	ModTime time.Time
	// Public: anyone may see it now (the case is published), so it may
	// be cached briefly; otherwise it must not be cached at all.
	Public bool
}

// OpenCasePhoto opens a case photo by its media key for v: anyone while
// the case is published and not resolved; the reporter and staff at any
// time they see the case. NotFound otherwise.
func (s *Service) OpenCasePhoto(ctx context.Context, v Viewer, key string) (PhotoFile, error) {
	notFound := yuncan.Errorf(yuncan.NotFound, "no such file")
	if !strings.HasPrefix(key, "cases/") {
		return PhotoFile{}, notFound
	}
	p, err := s.store.CasePhotoByKey(ctx, key)
	if yuncan.ErrorCode(err) == yuncan.NotFound {
		return PhotoFile{}, notFound
	}
	if err != nil {
		return PhotoFile{}, fmt.Errorf("seeking: photo: %w", err)
	}
	r, _, a, err := s.caseFor(ctx, v, p.OwnerID)
	if err != nil {
		return PhotoFile{}, notFound
	}
	if a < AccessPublic {
		return PhotoFile{}, notFound
	}
	f, mod, err := s.media.Open(ctx, key)
	if err != nil {
		return PhotoFile{}, err
	}
	return PhotoFile{ReadSeekCloser: f, ModTime: mod, Public: r.Status == StatusPublished}, nil
}
