package server

import (
	"net/http"

	"github.com/yuncan/yuncan"
)

type sessionsView struct {
	pageBase
	Sessions []sessionRow
	// Others counts the sessions besides the current one.
	Others int
}

type sessionRow struct {
	ID        string
	KindKey   string
	UserAgent string
	Created   string
	LastSeen  string
	Current   bool
}

// pageSessionList lists where the account is logged in.
func (s *Server) pageSessionList() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := authOf(r)
		ss, err := s.identity.Sessions(r.Context(), a.User.ID)
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		v := &sessionsView{pageBase: s.newBase(w, r, "sessions.title")}
		for _, se := range ss {
			row := sessionRow{ID: se.ID, KindKey: "sessions.kind." + string(se.Kind), UserAgent: se.UserAgent,
				Created: pageTime(se.CreatedAt), LastSeen: pageTime(se.LastSeenAt), Current: se.ID == a.Session.ID}
			if !hasMessage(row.KindKey) {
				row.KindKey = "sessions.kind.app"
			}
			if !row.Current {
				v.Others++
			}
			v.Sessions = append(v.Sessions, row)
		}
		s.render(w, r, http.StatusOK, "sessions", v)
	})
}

// pageSessionRevoke logs one session out; the current one is a logout.
// Another person's session id answers not found.
func (s *Server) pageSessionRevoke() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := authOf(r)
		id := r.PathValue("id")
		if id == a.Session.ID {
			s.pageLogout().ServeHTTP(w, r)
			return
		}
		if err := s.identity.RevokeSession(r.Context(), a.User.ID, id); err != nil {
			if yuncan.ErrorCode(err) == yuncan.NotFound {
				err = yuncan.Errorf(yuncan.NotFound, "no such session")
			}
			s.pageError(w, r, err)
			return
		}
		seeOther(w, r, "/me/sessions?ok=revoked")
	})
}

// pageSessionRevokeOthers logs out every session but this one.
func (s *Server) pageSessionRevokeOthers() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := s.identity.RevokeOtherSessions(r.Context(), authOf(r)); err != nil {
			s.pageError(w, r, err)
			return
		}
		seeOther(w, r, "/me/sessions?ok=revoked_others")
	})
}
