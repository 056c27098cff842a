package server

import (
	"net/http"
	"time"

	"github.com/yuncan/yuncan/internal/identity"
)

type policyResponse struct {
	Version   string `json:"version"`
	Effective string `json:"effective"`
	Text      string `json:"text"`
}

// handlePolicyShow serves the current privacy policy (no login; P68).
func (s *Server) handlePolicyShow() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := s.currentPolicy()
		encode(w, http.StatusOK, policyResponse{Version: p.Version, Effective: p.Effective.Format(time.DateOnly), Text: p.Text})
	})
}

type smsCodeRequest struct {
	Phone string `json:"phone"`
}

// handleSMSCodeCreate sends a one-time login code.
func (s *Server) handleSMSCodeCreate() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req smsCodeRequest
		if err := decode(w, r, &req); err != nil {
			s.writeError(w, r, err)
			return
		}
		if err := s.identity.SendCode(r.Context(), req.Phone, clientIP(r)); err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusAccepted, map[string]any{"sent": true, "expires_in": int(s.identity.Config().CodeTTL.Seconds())})
	})
}

type loginRequest struct {
	Phone               string `json:"phone"`
	Code                string `json:"code"`
	Password            string `json:"password"`
	AcceptPolicyVersion string `json:"accept_policy_version"`
	// A new account gives birth_date (YYYY-MM-DD) or age_band (adult,
	// 14_17, under_14); a minor also guardian_acknowledged (P70).
	BirthDate            string `json:"birth_date"`
	AgeBand              string `json:"age_band"`
	GuardianAcknowledged bool   `json:"guardian_acknowledged"`
}

type loginResponse struct {
	Token   string   `json:"token"`
	User    userJSON `json:"user"`
	Created bool     `json:"created"`
}

// handleLogin logs in with a code or a password; a first code login
// creates the account.
func (s *Server) handleLogin() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req loginRequest
		if err := decode(w, r, &req); err != nil {
			s.writeError(w, r, err)
			return
		}
		res, err := s.identity.Login(r.Context(), identity.LoginRequest{
			Phone: req.Phone, Code: req.Code, Password: req.Password, AcceptPolicyVersion: req.AcceptPolicyVersion,
			Channel: "app", Kind: identity.SessionApp, UserAgent: r.UserAgent(), DeviceToken: r.Header.Get(deviceHeader),
			BirthDate: req.BirthDate, AgeBand: req.AgeBand, GuardianAcknowledged: req.GuardianAcknowledged,
		})
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, loginResponse{Token: res.Token, User: s.userJSON(res.User), Created: res.Created})
	})
}

// handleLogout ends the caller's session.
func (s *Server) handleLogout() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.identity.Logout(r.Context(), authOf(r)); err != nil {
			s.writeError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
