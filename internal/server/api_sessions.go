package server

import (
	"net/http"
	"time"

	"github.com/yuncan/yuncan/internal/identity"
)

type sessionJSON struct {
	ID         string `json:"id"`
	Kind       string `json:"kind"`
	DeviceID   string `json:"device_id,omitempty"`
	UserAgent  string `json:"user_agent"`
	CreatedAt  string `json:"created_at"`
	LastSeenAt string `json:"last_seen_at"`
	Current    bool   `json:"current"`
}

func sessionsJSON(ss []identity.Session, currentID string) []sessionJSON {
	out := make([]sessionJSON, 0, len(ss))
	for _, se := range ss {
		out = append(out, sessionJSON{ID: se.ID, Kind: string(se.Kind), DeviceID: se.DeviceID, UserAgent: se.UserAgent,
			CreatedAt: se.CreatedAt.Format(time.RFC3339), LastSeenAt: se.LastSeenAt.Format(time.RFC3339), Current: se.ID == currentID})
	}
	return out
}

// handleSessionList lists the caller's sessions with last-seen times.
func (s *Server) handleSessionList() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := authOf(r)
		ss, err := s.identity.Sessions(r.Context(), a.User.ID)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, map[string]any{"sessions": sessionsJSON(ss, a.Session.ID)})
	})
}

// handleSessionDelete revokes one of the caller's sessions; another
// person's session id answers 404.
func (s *Server) handleSessionDelete() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.identity.RevokeSession(r.Context(), authOf(r).User.ID, r.PathValue("id")); err != nil {
			s.writeError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// handleSessionRevokeOthers revokes every session but the current one.
func (s *Server) handleSessionRevokeOthers() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := s.identity.RevokeOtherSessions(r.Context(), authOf(r))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, map[string]int{"revoked": n})
	})
}
