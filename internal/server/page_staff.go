package server

import (
	"net/http"
	"net/url"

	"github.com/yuncan/yuncan/internal/seeking"
)

// The moderators' review queue (api_seeking_staff.go is the API twin):
// approve, reject with a reason, return for changes, record a
// verification of a case about an adult. The seeking service checks the
// role again and refuses a moderator's own case.

// requireStaffPage lets only moderators and admins through; others get
// a 403 page. It runs inside requireWebLogin.
func (s *Server) requireStaffPage(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !seekingViewerOf(r).Moderator() {
			s.renderError(w, r, http.StatusForbidden, translate(pageReqOf(r).lang, "staff.only"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// seekingViewerOf is the web login as a seeking viewer, behind
// requireWebLogin.
func seekingViewerOf(r *http.Request) seeking.Viewer {
	u := authOf(r).User
	return seeking.Viewer{UserID: u.ID, Role: u.Role}
}

type reviewRow struct {
	Case      caseDetail
	Submitted string
	// Own: the moderator reported it, and may not review it.
	Own bool
	// NeedsCheck: an adult's case waits for a police receipt or a
	// recorded verification (the service's rule, shown before approval
	// is refused).
	NeedsCheck bool
	Err        formErrors
}

type reviewView struct {
	pageBase
	Rows []reviewRow
	More string
	// Err is a refusal about a case no longer in the queue.
	Err formErrors
}

// pageReviewQueue lists the cases waiting for review, oldest first.
func (s *Server) pageReviewQueue() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := s.newReviewView(w, r)
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		s.render(w, r, http.StatusOK, "staff_review", v)
	})
}

func (s *Server) newReviewView(w http.ResponseWriter, r *http.Request) (*reviewView, error) {
	cursor := r.URL.Query().Get("cursor")
	if r.Method != http.MethodGet {
		cursor = ""
	}
	cs, next, err := s.seeking.Queue(r.Context(), seekingViewerOf(r), cursor, 20)
	if err != nil {
		return nil, err
	}
	v := &reviewView{pageBase: s.newBase(w, r, "staff.title")}
	for _, c := range cs {
		v.Rows = append(v.Rows, reviewRow{Case: caseDetailOf(v.Lang, c), Submitted: pageTime(c.SubmittedAt),
			Own:        c.Access == seeking.AccessReporter,
			NeedsCheck: c.Category.NeedsVerification() && !c.HasPoliceReceipt && c.VerifiedAt.IsZero()})
	}
	if next != "" {
		v.More = "/staff/review?" + url.Values{"cursor": {next}}.Encode()
	}
	return v, nil
}

// reviewed ends a review action: back to the queue, or the queue again
// with the refusal beside its case.
func (s *Server) reviewed(w http.ResponseWriter, r *http.Request, err error, ok string) {
	if err == nil {
		seeOther(w, r, "/staff/review?ok="+ok)
		return
	}
	fe := s.formErr(r, pageReqOf(r).lang, err)
	if fe.Status >= 500 || fe.Status == http.StatusUnauthorized {
		s.pageError(w, r, err)
		return
	}
	v, verr := s.newReviewView(w, r)
	if verr != nil {
		s.pageError(w, r, verr)
		return
	}
	shown := false
	for i := range v.Rows {
		if v.Rows[i].Case.ID == r.PathValue("id") {
			v.Rows[i].Err, shown = fe, true
		}
	}
	if !shown {
		// Gone from the queue meanwhile (another moderator was quicker).
		v.Err = fe
	}
	s.render(w, r, fe.Status, "staff_review", v)
}

func (s *Server) pageReviewApprove() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := s.seeking.Approve(r.Context(), seekingViewerOf(r), r.PathValue("id"))
		s.reviewed(w, r, err, "case_approved")
	})
}

func (s *Server) pageReviewReject() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := s.seeking.Reject(r.Context(), seekingViewerOf(r), r.PathValue("id"), crlf(r.PostForm.Get("reason")))
		s.reviewed(w, r, err, "case_rejected")
	})
}

func (s *Server) pageReviewReturn() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := s.seeking.Return(r.Context(), seekingViewerOf(r), r.PathValue("id"), crlf(r.PostForm.Get("reason")))
		s.reviewed(w, r, err, "case_returned")
	})
}

func (s *Server) pageReviewVerify() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := s.seeking.Verify(r.Context(), seekingViewerOf(r), r.PathValue("id"), crlf(r.PostForm.Get("note")))
		s.reviewed(w, r, err, "case_verified")
	})
}
