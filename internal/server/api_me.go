package server

import (
	"io"
	"net/http"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/identity"
	"github.com/yuncan/yuncan/internal/media"
)

// userJSON is the caller's own profile.
type userJSON struct {
	ID           string  `json:"id"`
	Nickname     string  `json:"nickname"`
	AvatarURL    *string `json:"avatar_url"`
	Gender       *string `json:"gender"`
	Birthday     *string `json:"birthday"`
	Region       *string `json:"region"`
	Introduction *string `json:"introduction"`
	// PhoneMasked shows the number as 138****8000: enough to recognise.
	PhoneMasked string `json:"phone_masked"`
	Role        string `json:"role"`
	HasPassword bool   `json:"has_password"`
	CreatedAt   string `json:"created_at"`
}

func (s *Server) userJSON(u identity.User) userJSON {
	j := userJSON{ID: u.ID, Nickname: u.Nickname, Gender: u.Gender, Birthday: u.Birthday, Region: u.Region,
		Introduction: u.Introduction, PhoneMasked: maskPhone(string(u.Phone)), Role: string(u.Role), HasPassword: u.HasPassword,
		CreatedAt: u.CreatedAt.UTC().Format(time.RFC3339)}
	if u.AvatarKey != "" {
		url := "/media/" + u.AvatarKey
		j.AvatarURL = &url
	}
	return j
}

// maskPhone keeps the first three and last four digits of the national
// number: +8613800138000 → 138****8000.
func maskPhone(e164 string) string {
	n := e164
	if len(n) > 3 && n[:3] == "+86" {
		n = n[3:]
	}
	if len(n) < 8 {
		return "****"
	}
	return n[:3] + "****" + n[len(n)-4:]
}

// handleMeShow returns the caller's profile.
func (s *Server) handleMeShow() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		encode(w, http.StatusOK, s.userJSON(authOf(r).User))
	})
}

type profilePatch struct {
	Nickname     optional[string] `json:"nickname"`
	Gender       optional[string] `json:"gender"`
	Birthday     optional[string] `json:"birthday"`
	Region       optional[string] `json:"region"`
	Introduction optional[string] `json:"introduction"`
}

// handleMeUpdate edits the profile as a JSON merge patch: a field left out
// stays, null clears an optional field (the nickname cannot be cleared).
func (s *Server) handleMeUpdate() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p profilePatch
		if err := decode(w, r, &p); err != nil {
			s.writeError(w, r, err)
			return
		}
		edit, err := p.edit()
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		u, err := s.identity.UpdateProfile(r.Context(), authOf(r).User.ID, edit)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, s.userJSON(u))
	})
}

func (p profilePatch) edit() (identity.Profile, error) {
	var e identity.Profile
	if p.Nickname.Set {
		if p.Nickname.Value == nil {
			return e, yuncan.FieldError("nickname", "is required and cannot be cleared")
		}
		e.Nickname = p.Nickname.Value
	}
	e.Gender, e.Birthday, e.Region, e.Introduction = p.Gender.ptr(), p.Birthday.ptr(), p.Region.ptr(), p.Introduction.ptr()
	return e, nil
}

// handleAvatarUpdate takes an image as the raw request body (or as the
// "avatar" part of a multipart form), strips it to fresh pixels and makes
// it the avatar.
func (s *Server) handleAvatarUpdate() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The limit covers a multipart form's other parts and boundaries
		// too; Sanitize holds the image itself to AvatarOptions.MaxBytes.
		r.Body = http.MaxBytesReader(w, r.Body, media.AvatarOptions.MaxBytes+maxJSONBody)
		body := io.Reader(r.Body)
		if mr, err := r.MultipartReader(); err == nil {
			part, err := firstFilePart(mr, "avatar")
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			body = part
		}
		u, err := s.setAvatar(r, authOf(r).User.ID, body)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, s.userJSON(u))
	})
}

// handleAvatarDelete removes the avatar.
func (s *Server) handleAvatarDelete() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, old, err := s.identity.SetAvatarKey(r.Context(), authOf(r).User.ID, "")
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if old != "" {
			s.media.Delete(r.Context(), old)
		}
		encode(w, http.StatusOK, s.userJSON(u))
	})
}

type passwordRequest struct {
	CurrentPassword string `json:"current_password"`
	Password        string `json:"password"`
}

// handlePasswordUpdate sets or changes the password.
func (s *Server) handlePasswordUpdate() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req passwordRequest
		if err := decode(w, r, &req); err != nil {
			s.writeError(w, r, err)
			return
		}
		if err := s.identity.SetPassword(r.Context(), authOf(r).User.ID, req.CurrentPassword, req.Password); err != nil {
			s.writeError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
