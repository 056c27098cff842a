package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/seeking"
)

// Review of cases (moderators) and partner organisations (admins). The
// routes sit behind requireRole; the seeking area checks again.

// handleReviewQueue lists the cases waiting for review, oldest first.
func (s *Server) handleReviewQueue() http.Handler {
	return s.withViewer(func(w http.ResponseWriter, r *http.Request, v seeking.Viewer) {
		q := r.URL.Query()
		limit := 20
		if l := q.Get("limit"); l != "" {
			n, err := strconv.Atoi(l)
			if err != nil {
				s.writeError(w, r, yuncan.FieldError("limit", "must be a whole number"))
				return
			}
			limit = n
		}
		cs, next, err := s.seeking.Queue(r.Context(), v, q.Get("cursor"), limit)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		out := mapSlice(cs, toCaseJSON)
		var nextPtr *string
		if next != "" {
			nextPtr = &next
		}
		encode(w, http.StatusOK, map[string]any{"cases": out, "next_cursor": nextPtr})
	})
}

// handleReviewApprove publishes a case in review. 403 own_case for the
// reporter; 409 verification_required for an adult without a police
// receipt or a recorded verification.
func (s *Server) handleReviewApprove() http.Handler {
	return s.withViewer(func(w http.ResponseWriter, r *http.Request, v seeking.Viewer) {
		c, err := s.seeking.Approve(r.Context(), v, r.PathValue("id"))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, toCaseJSON(c))
	})
}

type reasonRequest struct {
	Reason string `json:"reason"`
}

// handleReviewReject refuses a case in review with a reason.
func (s *Server) handleReviewReject() http.Handler {
	return s.withViewer(func(w http.ResponseWriter, r *http.Request, v seeking.Viewer) {
		var req reasonRequest
		if err := decode(w, r, &req); err != nil {
			s.writeError(w, r, err)
			return
		}
		c, err := s.seeking.Reject(r.Context(), v, r.PathValue("id"), req.Reason)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, toCaseJSON(c))
	})
}

// handleReviewReturn sends a case in review back to its reporter as a
// draft, with what to change.
func (s *Server) handleReviewReturn() http.Handler {
	return s.withViewer(func(w http.ResponseWriter, r *http.Request, v seeking.Viewer) {
		var req reasonRequest
		if err := decode(w, r, &req); err != nil {
			s.writeError(w, r, err)
			return
		}
		c, err := s.seeking.Return(r.Context(), v, r.PathValue("id"), req.Reason)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, toCaseJSON(c))
	})
}

type noteRequest struct {
	Note string `json:"note"`
}

// handleReviewVerify records a moderator's verification of a case in
// review (for adults without a police report receipt).
func (s *Server) handleReviewVerify() http.Handler {
	return s.withViewer(func(w http.ResponseWriter, r *http.Request, v seeking.Viewer) {
		var req noteRequest
		if err := decode(w, r, &req); err != nil {
			s.writeError(w, r, err)
			return
		}
		c, err := s.seeking.Verify(r.Context(), v, r.PathValue("id"), req.Note)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, toCaseJSON(c))
	})
}

type orgRequest struct {
	Name string `json:"name"`
	Kind string `json:"kind"` // police, rescue_station, volunteer_group
}

// handlePartnerOrgCreate adds a partner organisation.
func (s *Server) handlePartnerOrgCreate() http.Handler {
	return s.withViewer(func(w http.ResponseWriter, r *http.Request, v seeking.Viewer) {
		var req orgRequest
		if err := decode(w, r, &req); err != nil {
			s.writeError(w, r, err)
			return
		}
		o, err := s.seeking.CreateOrg(r.Context(), v, req.Name, seeking.OrgKind(req.Kind))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusCreated, toOrgJSON(o))
	})
}

// handlePartnerOrgList lists the partner organisations.
func (s *Server) handlePartnerOrgList() http.Handler {
	return s.withViewer(func(w http.ResponseWriter, r *http.Request, v seeking.Viewer) {
		os, err := s.seeking.Orgs(r.Context(), v)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		out := mapSlice(os, toOrgJSON)
		encode(w, http.StatusOK, map[string]any{"orgs": out})
	})
}

type staffRequest struct {
	UserID string `json:"user_id"`
}

type staffJSON struct {
	OrgID   string `json:"org_id"`
	UserID  string `json:"user_id"`
	AddedAt string `json:"added_at"`
}

// handlePartnerStaffAdd makes an account staff of an organisation.
func (s *Server) handlePartnerStaffAdd() http.Handler {
	return s.withViewer(func(w http.ResponseWriter, r *http.Request, v seeking.Viewer) {
		var req staffRequest
		if err := decode(w, r, &req); err != nil {
			s.writeError(w, r, err)
			return
		}
		st, err := s.seeking.AddStaff(r.Context(), v, r.PathValue("id"), req.UserID)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusCreated, staffJSON{OrgID: st.OrgID, UserID: st.UserID, AddedAt: st.AddedAt.UTC().Format(time.RFC3339Nano)})
	})
}

// handlePartnerStaffRemove ends a membership.
func (s *Server) handlePartnerStaffRemove() http.Handler {
	return s.withViewer(func(w http.ResponseWriter, r *http.Request, v seeking.Viewer) {
		if err := s.seeking.RemoveStaff(r.Context(), v, r.PathValue("id"), r.PathValue("user")); err != nil {
			s.writeError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
