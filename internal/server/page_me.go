package server

import (
	"io"
	"net/http"
	"strings"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/identity"
	"github.com/yuncan/yuncan/internal/media"
)

type meView struct {
	pageBase
	// Shown is the saved profile; Form holds what the edit form shows,
	// which after a refused edit is what the person typed.
	Shown       profileForm
	Form        profileForm
	PhoneMasked string
	AvatarURL   string
	HasPassword bool
	ProfileErr  formErrors
	AvatarErr   formErrors
	PasswordErr formErrors
}

// profileForm is the profile as the form's text fields: "" for unset.
type profileForm struct {
	Nickname, Gender, Birthday, Region, Introduction string
}

func profileFormOf(u identity.User) profileForm {
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	return profileForm{Nickname: u.Nickname, Gender: str(u.Gender), Birthday: str(u.Birthday), Region: str(u.Region),
		Introduction: str(u.Introduction)}
}

// GenderKey is the message key of the gender, "" when unset or unknown.
func (p profileForm) GenderKey() string {
	switch p.Gender {
	case "female", "male", "other":
		return "me.gender." + p.Gender
	}
	return ""
}

// Genders lists the gender choices, for the select.
func (p profileForm) Genders() []string { return []string{"female", "male", "other"} }

func (s *Server) newMeView(w http.ResponseWriter, r *http.Request) *meView {
	u := authOf(r).User
	v := &meView{pageBase: s.newBase(w, r, "me.title"), Shown: profileFormOf(u), Form: profileFormOf(u),
		PhoneMasked: maskPhone(string(u.Phone)), HasPassword: u.HasPassword}
	if u.AvatarKey != "" {
		v.AvatarURL = "/media/" + u.AvatarKey
	}
	return v
}

// pageMeShow shows the profile with the forms that edit it.
func (s *Server) pageMeShow() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.render(w, r, http.StatusOK, "me", s.newMeView(w, r))
	})
}

// profileEdit reads the edit form. The form sends every field, so each is
// set: an emptied optional field clears it; the nickname cannot be
// cleared (the service refuses a blank one).
func profileEdit(f profileForm) identity.Profile {
	opt := func(v string) **string {
		var p *string
		if strings.TrimSpace(v) != "" {
			p = &v
		}
		return &p
	}
	nick := f.Nickname
	return identity.Profile{Nickname: &nick, Gender: opt(f.Gender), Birthday: opt(f.Birthday), Region: opt(f.Region),
		Introduction: opt(f.Introduction)}
}

// pageMeUpdate saves the profile form.
func (s *Server) pageMeUpdate() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := r.PostForm
		form := profileForm{
			Nickname: strings.TrimSpace(f.Get("nickname")), Gender: f.Get("gender"),
			Birthday: strings.TrimSpace(f.Get("birthday")), Region: strings.TrimSpace(f.Get("region")),
			// Browsers send a textarea's line breaks as CRLF; the service
			// allows only LF.
			Introduction: strings.TrimSpace(strings.ReplaceAll(f.Get("introduction"), "\r\n", "\n")),
		}
		if _, err := s.identity.UpdateProfile(r.Context(), authOf(r).User.ID, profileEdit(form)); err != nil {
			v := s.newMeView(w, r)
			v.Form = form
			v.ProfileErr = s.formErr(r, v.Lang, err)
			s.render(w, r, v.ProfileErr.Status, "me", v)
			return
		}
		seeOther(w, r, "/me?ok=profile")
	})
}

// avatarFormSlack is what a multipart form may carry beyond the image:
// the token part and the boundaries.
const avatarFormSlack = 16 << 10

// pageAvatarUpdate takes the avatar upload. The form's csrf part comes
// before the file (browsers send parts in form order), so the token is
// checked before a byte of the image is read.
func (s *Server) pageAvatarUpdate() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, media.AvatarOptions.MaxBytes+avatarFormSlack)
		mr, err := r.MultipartReader()
		if err != nil {
			s.pageForbidden(w, r) // not a form this site serves, so no token either
			return
		}
		checked := false
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				if !checked {
					s.pageForbidden(w, r)
					return
				}
				s.avatarFailed(w, r, yuncan.Errorf(yuncan.Invalid, "the upload was cut short").WithReason("image_corrupt"))
				return
			}
			switch p.FormName() {
			case "csrf":
				tok, _ := io.ReadAll(io.LimitReader(p, 256))
				if !csrfOK(r, string(tok)) {
					s.pageForbidden(w, r)
					return
				}
				checked = true
			case "avatar":
				if !checked {
					s.pageForbidden(w, r)
					return
				}
				if p.FileName() == "" {
					s.avatarFailed(w, r, yuncan.FieldError("avatar", "is missing from the form"))
					return
				}
				if _, err := s.setAvatar(r, authOf(r).User.ID, p); err != nil {
					s.avatarFailed(w, r, err)
					return
				}
				seeOther(w, r, "/me?ok=avatar")
				return
			}
		}
		if !checked {
			s.pageForbidden(w, r)
			return
		}
		s.avatarFailed(w, r, yuncan.FieldError("avatar", "is missing from the form"))
	})
}

func (s *Server) avatarFailed(w http.ResponseWriter, r *http.Request, err error) {
	v := s.newMeView(w, r)
	v.AvatarErr = s.formErr(r, v.Lang, err)
	if m := v.AvatarErr.Field("avatar"); m != "" && len(v.AvatarErr.Fields) == 1 {
		v.AvatarErr.Message = m
	}
	s.render(w, r, v.AvatarErr.Status, "me", v)
}

// pageAvatarDelete removes the avatar and its file.
func (s *Server) pageAvatarDelete() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, old, err := s.identity.SetAvatarKey(r.Context(), authOf(r).User.ID, "")
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		if old != "" {
			s.media.Delete(r.Context(), old)
		}
		seeOther(w, r, "/me?ok=avatar_removed")
	})
}

// pagePasswordUpdate sets or changes the password.
func (s *Server) pagePasswordUpdate() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := r.PostForm
		pw := f.Get("password")
		var err error
		if pw != f.Get("password_confirm") {
			lang := pageReqOf(r).lang
			err = yuncan.Errorf(yuncan.Invalid, "%s", translate(lang, "me.password.mismatch")).
				WithField("password_confirm", translate(lang, "me.password.mismatch"))
		} else {
			err = s.identity.SetPassword(r.Context(), authOf(r).User.ID, f.Get("current_password"), pw)
		}
		if err != nil {
			v := s.newMeView(w, r)
			v.PasswordErr = s.formErr(r, v.Lang, err)
			s.render(w, r, v.PasswordErr.Status, "me", v)
			return
		}
		seeOther(w, r, "/me?ok=password")
	})
}
