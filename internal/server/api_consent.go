package server

import (
	"net/http"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/consent"
)

// subjectOf resolves whose consent a request is about: the logged-in
// account (bearer token) or, before login, the device (X-Device-Token).
func (s *Server) subjectOf(r *http.Request) (consent.Subject, error) {
	if tok, ok := bearer(r); ok {
		a, err := s.identity.Authenticate(r.Context(), tok)
		if err != nil {
			return consent.Subject{}, err
		}
		return consent.User(a.User.ID), nil
	}
	if tok := r.Header.Get(deviceHeader); tok != "" {
		d, err := s.identity.DeviceByToken(r.Context(), tok)
		if err != nil {
			return consent.Subject{}, err
		}
		return consent.Device(d.ID), nil
	}
	return consent.Subject{}, &yuncan.Error{Code: yuncan.Unauthenticated,
		Message: "send Authorization: Bearer <token>, or X-Device-Token for a device without an account"}
}

// withSubject resolves the subject before next runs.
func (s *Server) withSubject(next func(w http.ResponseWriter, r *http.Request, sub consent.Subject)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sub, err := s.subjectOf(r)
		if err != nil {
			if yuncan.ErrorCode(err) == yuncan.Unauthenticated {
				challenge := `Bearer realm="yuncan"`
				if _, ok := bearer(r); ok {
					challenge += `, error="invalid_token"`
				}
				w.Header().Set("WWW-Authenticate", challenge)
			}
			s.writeError(w, r, err)
			return
		}
		next(w, r, sub)
	})
}

type consentJSON struct {
	Purpose     string  `json:"purpose"`
	Name        string  `json:"name"`
	Description string  `json:"description"`
	Basis       string  `json:"basis"`
	Sensitive   bool    `json:"sensitive"`
	Granted     bool    `json:"granted"`
	GrantedAt   *string `json:"granted_at"`
	WithdrawnAt *string `json:"withdrawn_at"`
}

func timePtr(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC3339Nano)
	return &s
}

// channelOf tells which channel a decision came through: the API, unless
// the request says it comes from the app.
func channelOf(r *http.Request) consent.Channel {
	if r.Header.Get("X-Yuncan-Client") == "app" {
		return consent.ChannelApp
	}
	return consent.ChannelAPI
}

// handleConsentList lists every purpose with the caller's state (P01).
func (s *Server) handleConsentList() http.Handler {
	return s.withSubject(func(w http.ResponseWriter, r *http.Request, sub consent.Subject) {
		states, err := s.consent.List(r.Context(), sub)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		lang := apiLang(r)
		out := make([]consentJSON, 0, len(states))
		for _, st := range states {
			d := s.consent.DataMap().Purpose(st.Purpose)
			out = append(out, consentJSON{Purpose: string(st.Purpose), Name: d.Name.In(lang), Description: d.Description.In(lang),
				Basis: string(d.Basis), Sensitive: d.Sensitive, Granted: st.Granted, GrantedAt: timePtr(st.GrantedAt), WithdrawnAt: timePtr(st.WithdrawnAt)})
		}
		encode(w, http.StatusOK, map[string]any{"consents": out})
	})
}

// handleConsentGrant grants one purpose; sensitive purposes are granted
// only this way, one request each (P05).
func (s *Server) handleConsentGrant() http.Handler {
	return s.withSubject(func(w http.ResponseWriter, r *http.Request, sub consent.Subject) {
		if err := s.consent.Grant(r.Context(), sub, consent.Purpose(r.PathValue("purpose")), channelOf(r)); err != nil {
			s.writeError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

type bulkGrantRequest struct {
	Purposes []string `json:"purposes"`
}

// handleConsentGrantMany grants several non-sensitive purposes at once.
func (s *Server) handleConsentGrantMany() http.Handler {
	return s.withSubject(func(w http.ResponseWriter, r *http.Request, sub consent.Subject) {
		var req bulkGrantRequest
		if err := decode(w, r, &req); err != nil {
			s.writeError(w, r, err)
			return
		}
		ps := make([]consent.Purpose, len(req.Purposes))
		for i, p := range req.Purposes {
			ps[i] = consent.Purpose(p)
		}
		if err := s.consent.GrantMany(r.Context(), sub, ps, channelOf(r)); err != nil {
			s.writeError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// handleConsentWithdraw withdraws a purpose; what it let us collect is
// deleted at once (P63).
func (s *Server) handleConsentWithdraw() http.Handler {
	return s.withSubject(func(w http.ResponseWriter, r *http.Request, sub consent.Subject) {
		if err := s.consent.Withdraw(r.Context(), sub, consent.Purpose(r.PathValue("purpose")), channelOf(r)); err != nil {
			s.writeError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

type consentEventJSON struct {
	Purpose       string `json:"purpose"`
	Action        string `json:"action"`
	PolicyVersion string `json:"policy_version"`
	Channel       string `json:"channel"`
	At            string `json:"at"`
}

// handleConsentHistory lists the caller's ledger, oldest first.
func (s *Server) handleConsentHistory() http.Handler {
	return s.withSubject(func(w http.ResponseWriter, r *http.Request, sub consent.Subject) {
		evs, err := s.consent.History(r.Context(), sub)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		out := make([]consentEventJSON, 0, len(evs))
		for _, e := range evs {
			out = append(out, consentEventJSON{Purpose: string(e.Purpose), Action: string(e.Action), PolicyVersion: e.PolicyVersion,
				Channel: string(e.Channel), At: e.At.UTC().Format(time.RFC3339Nano)})
		}
		encode(w, http.StatusOK, map[string]any{"events": out})
	})
}

// apiLang picks the language of texts in API answers: ?lang=en or an
// English Accept-Language gives English, anything else Chinese.
func apiLang(r *http.Request) string {
	return pickLang(r.URL.Query().Get("lang"), r.Header.Get("Accept-Language"))
}
