package server

import (
	"net/http"
	"strings"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/identity"
)

// Real-name verification on the web (policy 1.1.2, P10; api_realname.go
// is the API twin). Publishing a case needs it. The form shows only while
// the separate real_name consent is live (P05); the verifier asks the
// gate again, checks the ID number and asks the certifier. What was
// verified is only ever shown masked.

type realNameView struct {
	pageBase
	Consent  bool
	Blocked  string
	Status   identity.RealNameStatus
	Verified string // the time, when verified
	Err      formErrors
	Name     string // typed back after a refusal; the ID number never is
}

func (s *Server) newRealNameView(w http.ResponseWriter, r *http.Request) (*realNameView, error) {
	ctx := r.Context()
	v := &realNameView{pageBase: s.newBase(w, r, "realname.title")}
	var err error
	if v.Consent, v.Blocked, err = s.pageConsent(ctx, v.Lang, userSubject(r), consent.PurposeRealName); err != nil {
		return nil, err
	}
	st, err := s.identity.RealName(ctx, authOf(r).User.ID)
	if err != nil {
		return nil, err
	}
	v.Status = st
	if st.Verified {
		v.Verified = pageTime(st.VerifiedAt)
	}
	return v, nil
}

// pageRealNameShow shows the verification, masked, or the form.
func (s *Server) pageRealNameShow() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := s.newRealNameView(w, r)
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		s.render(w, r, http.StatusOK, "real_name", v)
	})
}

// pageRealNameVerify sends the name and ID number to the verifier.
func (s *Server) pageRealNameVerify() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimSpace(r.PostForm.Get("real_name"))
		var err error
		if s.realNames == nil {
			err = &yuncan.Error{Code: yuncan.Unavailable, Reason: "certifier_unavailable", Message: "real-name verification is not available on this server"}
		} else {
			_, err = s.realNames.Verify(r.Context(), authOf(r).User.ID, identity.RealNameRequest{RealName: name, IDNumber: r.PostForm.Get("id_number")})
		}
		if err != nil {
			v, verr := s.newRealNameView(w, r)
			if verr != nil {
				s.pageError(w, r, verr)
				return
			}
			v.Err, v.Name = s.privacyFormErr(r, v.Lang, err), name
			s.render(w, r, v.Err.Status, "real_name", v)
			return
		}
		seeOther(w, r, "/me/real-name?ok=real_name_verified")
	})
}

// pageRealNameDelete deletes the verification.
func (s *Server) pageRealNameDelete() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.identity.DeleteRealName(r.Context(), authOf(r).User.ID); err != nil {
			s.pageError(w, r, err)
			return
		}
		seeOther(w, r, "/me/real-name?ok=real_name_deleted")
	})
}
