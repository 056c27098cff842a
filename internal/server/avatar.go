package server

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"strings"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/identity"
	"github.com/yuncan/yuncan/internal/media"
)

// setAvatar sanitises an uploaded image, stores it and points the profile
// at it; the previous image is deleted. The API and the pages share it.
func (s *Server) setAvatar(r *http.Request, userID string, body io.Reader) (identity.User, error) {
	img, err := media.Sanitize(uploadReader{body}, media.AvatarOptions)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return identity.User{}, yuncan.Errorf(yuncan.TooLarge, "the image is larger than the limit").WithReason("image_too_large")
		}
		return identity.User{}, err
	}
	ext := ".jpg"
	if img.ContentType == "image/png" {
		ext = ".png"
	}
	b := make([]byte, 12)
	rand.Read(b)
	key := "avatars/" + hex.EncodeToString(b) + ext
	if err := s.media.Put(r.Context(), key, img.Data); err != nil {
		return identity.User{}, err
	}
	u, old, err := s.identity.SetAvatarKey(r.Context(), userID, key)
	if err != nil {
		s.media.Delete(r.Context(), key)
		return identity.User{}, err
	}
	if old != "" {
		s.media.Delete(r.Context(), old)
	}
	return u, nil
}

// uploadReader makes an error reading the upload (a multipart body cut
// short, a broken connection) the client's fault, 400, instead of an
// internal error; a body over its limit stays a *http.MaxBytesError.
type uploadReader struct{ r io.Reader }

func (u uploadReader) Read(p []byte) (int, error) {
	n, err := u.r.Read(p)
	if err != nil && err != io.EOF {
		var mbe *http.MaxBytesError
		var ye *yuncan.Error
		if !errors.As(err, &mbe) && !errors.As(err, &ye) {
			err = &yuncan.Error{Code: yuncan.Invalid, Reason: "upload_incomplete", Message: "the upload was cut short or is malformed; send it again", Err: err}
		}
	}
	return n, err
}

// firstFilePart returns the multipart part named name.
func firstFilePart(mr *multipart.Reader, name string) (io.Reader, error) {
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return nil, yuncan.FieldError(name, "is missing from the form")
		}
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, yuncan.Errorf(yuncan.TooLarge, "the image is larger than the limit").WithReason("image_too_large")
		}
		if err != nil {
			return nil, yuncan.Errorf(yuncan.Invalid, "the multipart body is malformed").WithReason("malformed_multipart")
		}
		if p.FormName() == name {
			return p, nil
		}
	}
}

// handleMediaShow serves a stored media file (avatars are public, like
// the nickname beside them).
func (s *Server) handleMediaShow() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.PathValue("key")
		if !strings.HasPrefix(key, "avatars/") {
			s.writeError(w, r, yuncan.Errorf(yuncan.NotFound, "no such file"))
			return
		}
		f, mod, err := s.media.Open(r.Context(), key)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		defer f.Close()
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "public, max-age=86400")
		http.ServeContent(w, r, key, mod, f)
	})
}
