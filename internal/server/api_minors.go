package server

import (
	"net/http"

	"github.com/yuncan/yuncan/internal/consent"
)

// The minors API (policy section 7; P70, P71): the guardian consent an
// account under 14 needs, and the channel guardians write to.

// guardianJSON is the guardian state of the caller's account.
type guardianJSON struct {
	// AgeBand is null for accounts staff made (they count as adults).
	AgeBand             *string `json:"age_band"`
	GuardianRequired    bool    `json:"guardian_required"`
	GuardianPhoneMasked *string `json:"guardian_phone_masked"`
	RequestedAt         *string `json:"requested_at"`
	Verified            bool    `json:"verified"`
	VerifiedAt          *string `json:"verified_at"`
	// DeleteAfter is when the account is deleted unless a guardian
	// consent is verified first; null when that cannot happen.
	DeleteAfter *string `json:"delete_after"`
}

func guardianOut(gs consent.GuardianStatus) guardianJSON {
	j := guardianJSON{GuardianRequired: gs.Required, RequestedAt: timePtr(gs.RequestedAt), Verified: !gs.VerifiedAt.IsZero(),
		VerifiedAt: timePtr(gs.VerifiedAt), DeleteAfter: timePtr(gs.Deadline)}
	if gs.Band != "" {
		b := string(gs.Band)
		j.AgeBand = &b
	}
	if gs.GuardianPhone != "" {
		m := maskPhone(string(gs.GuardianPhone))
		j.GuardianPhoneMasked = &m
	}
	return j
}

// handleGuardianShow returns the guardian state of the caller's account.
func (s *Server) handleGuardianShow() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gs, err := s.minors.GuardianStatus(r.Context(), authOf(r).User)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, guardianOut(gs))
	})
}

type guardianPhoneRequest struct {
	GuardianPhone string `json:"guardian_phone"`
}

// handleGuardianRequest sends a code to the guardian's phone, for an
// account under 14 (P70).
func (s *Server) handleGuardianRequest() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req guardianPhoneRequest
		if err := decode(w, r, &req); err != nil {
			s.writeError(w, r, err)
			return
		}
		gs, err := s.minors.RequestGuardian(r.Context(), authOf(r).User, req.GuardianPhone, clientIP(r))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusAccepted, guardianOut(gs))
	})
}

type guardianCodeRequest struct {
	Code string `json:"code"`
}

// handleGuardianVerify records the guardian's consent with the code the
// guardian received.
func (s *Server) handleGuardianVerify() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req guardianCodeRequest
		if err := decode(w, r, &req); err != nil {
			s.writeError(w, r, err)
			return
		}
		gs, err := s.minors.VerifyGuardian(r.Context(), authOf(r).User, req.Code)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, guardianOut(gs))
	})
}

type guardianRequestCreate struct {
	GuardianPhone string `json:"guardian_phone"`
	MinorPhone    string `json:"minor_phone"`
	Kind          string `json:"kind"`
	Message       string `json:"message"`
}

// guardianRequestJSON is what the holder of a request's id sees.
type guardianRequestJSON struct {
	ID        string `json:"id"`
	Kind      string `json:"kind"`
	Status    string `json:"status"`
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
}

func guardianRequestOut(g consent.GuardianRequest) guardianRequestJSON {
	return guardianRequestJSON{ID: g.ID, Kind: string(g.Kind), Status: g.Status,
		CreatedAt: *timePtr(g.CreatedAt), UpdatedAt: *timePtr(g.UpdatedAt)}
}

// handleGuardianRequestCreate takes a guardian's request about a minor's
// information (P71). No login: a guardian may have no account.
func (s *Server) handleGuardianRequestCreate() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req guardianRequestCreate
		if err := decode(w, r, &req); err != nil {
			s.writeError(w, r, err)
			return
		}
		g, err := s.minors.FileGuardianRequest(r.Context(), consent.GuardianRequestInput{
			GuardianPhone: req.GuardianPhone, MinorPhone: req.MinorPhone, Kind: req.Kind, Message: req.Message}, clientIP(r))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		w.Header().Set("Location", "/api/v1/guardian-requests/"+g.ID)
		w.Header().Set("Cache-Control", "no-store")
		encode(w, http.StatusCreated, guardianRequestOut(g))
	})
}

// handleGuardianRequestShow shows a request's status to the holder of its
// id; the id is random, so holding it is the proof.
func (s *Server) handleGuardianRequestShow() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		g, err := s.minors.GuardianRequest(r.Context(), r.PathValue("id"))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, guardianRequestOut(g))
	})
}
