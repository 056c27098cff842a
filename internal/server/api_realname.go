package server

import (
	"net/http"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/identity"
)

// realNameJSON is the caller's real-name verification: only ever masked
// (P10). The masked values and the time are null when not verified.
type realNameJSON struct {
	Verified       bool    `json:"verified"`
	RealNameMasked *string `json:"real_name_masked"`
	IDNumberMasked *string `json:"id_number_masked"`
	VerifiedAt     *string `json:"verified_at"`
}

func realNameStatusJSON(st identity.RealNameStatus) realNameJSON {
	if !st.Verified {
		return realNameJSON{}
	}
	at := st.VerifiedAt.UTC().Format(time.RFC3339)
	return realNameJSON{Verified: true, RealNameMasked: &st.RealNameMasked, IDNumberMasked: &st.IDNumberMasked, VerifiedAt: &at}
}

type realNameRequest struct {
	RealName string `json:"real_name"`
	IDNumber string `json:"id_number"`
}

// handleRealNameVerify verifies the caller's real name and ID number
// through the certifier (policy 1.1.2, P10). It needs the separate
// real_name consent; the rules are the verifier's.
func (s *Server) handleRealNameVerify() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.realNames == nil {
			s.writeError(w, r, &yuncan.Error{Code: yuncan.Unavailable, Reason: "certifier_unavailable",
				Message: "real-name verification is not available on this server"})
			return
		}
		var req realNameRequest
		if err := decode(w, r, &req); err != nil {
			s.writeError(w, r, err)
			return
		}
		st, err := s.realNames.Verify(r.Context(), authOf(r).User.ID, identity.RealNameRequest{RealName: req.RealName, IDNumber: req.IDNumber})
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusCreated, realNameStatusJSON(st))
	})
}

// handleRealNameShow tells whether the caller is verified, masked.
func (s *Server) handleRealNameShow() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st, err := s.identity.RealName(r.Context(), authOf(r).User.ID)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, realNameStatusJSON(st))
	})
}

// handleRealNameDelete deletes the caller's verification; deleting when
// there is none succeeds too.
func (s *Server) handleRealNameDelete() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.identity.DeleteRealName(r.Context(), authOf(r).User.ID); err != nil {
			s.writeError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
