package server

import (
	"net/http"
	"time"

	"github.com/yuncan/yuncan/internal/rights"
)

// Account cancellation (policy 6.4, P66): the conditions are public; the
// request needs a login that has been in use a while, a fresh SMS code to
// the account's number and the agreement; a cooling-off follows during
// which it can be withdrawn; then the rights job erases everything
// (rights.Service.RunCancellations). There is no restore.

type cancelTermsJSON struct {
	CoolingOffDays      int              `json:"cooling_off_days"`
	KnownLoginHours     int              `json:"known_login_hours"`
	DeadlineWorkingDays int              `json:"deadline_working_days"`
	Kept                []keptRecordJSON `json:"kept"`
	AgreementURL        string           `json:"agreement_url"`
}

type keptRecordJSON struct {
	Table         string `json:"table"`
	Action        string `json:"action"`
	Basis         string `json:"basis"`
	RetentionDays *int   `json:"retention_days"`
}

func (s *Server) cancelTerms() cancelTermsJSON {
	t := s.rights.CancelTerms()
	out := cancelTermsJSON{CoolingOffDays: int(t.CoolingOff / (24 * time.Hour)), KnownLoginHours: int(t.KnownAfter / time.Hour),
		DeadlineWorkingDays: rights.DeadlineWorkingDays, Kept: []keptRecordJSON{}, AgreementURL: "/privacy/cancellation"}
	for _, tb := range append(t.Kept, t.Anonymised...) {
		k := keptRecordJSON{Table: tb.Name, Action: string(tb.Erase.Action), Basis: tb.Erase.Basis}
		if d := s.rights.RetentionOf(tb.Erase.Category); tb.Erase.Category != "" && d > 0 {
			days := int(d / (24 * time.Hour))
			k.RetentionDays = &days
		}
		out.Kept = append(out.Kept, k)
	}
	return out
}

// handleCancelTerms answers the conditions, without a login.
func (s *Server) handleCancelTerms() http.Handler {
	return s.withRights(func(w http.ResponseWriter, r *http.Request) {
		encode(w, http.StatusOK, s.cancelTerms())
	})
}

type cancellationJSON struct {
	ID          string  `json:"id"`
	Status      string  `json:"status"`
	RequestedAt string  `json:"requested_at"`
	DueAt       string  `json:"due_at"`
	WithdrawnAt *string `json:"withdrawn_at"`
}

func cancellationOut(c rights.Cancellation) cancellationJSON {
	return cancellationJSON{ID: c.ID, Status: string(c.Status), RequestedAt: c.RequestedAt.UTC().Format(time.RFC3339),
		DueAt: c.DueAt.UTC().Format(time.RFC3339), WithdrawnAt: timeOrNil(c.WithdrawnAt)}
}

// callerOf is the logged-in caller as the rights area sees them.
func callerOf(r *http.Request) rights.Caller {
	a := authOf(r)
	return rights.Caller{UserID: a.User.ID, LoginStartedAt: a.Session.CreatedAt, ClientIP: clientIP(r)}
}

// handleCancelCode sends the code a cancellation needs to the account's
// own number.
func (s *Server) handleCancelCode() http.Handler {
	return s.withRights(func(w http.ResponseWriter, r *http.Request) {
		if err := s.rights.SendCancelCode(r.Context(), callerOf(r)); err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusAccepted, map[string]any{"sent": true, "expires_in": int(s.identity.Config().CodeTTL.Seconds())})
	})
}

type cancelRequestJSON struct {
	Code  string `json:"code"`
	Agree bool   `json:"agree"`
}

// handleCancelCreate starts the cancellation: 202 with its due time.
func (s *Server) handleCancelCreate() http.Handler {
	return s.withRights(func(w http.ResponseWriter, r *http.Request) {
		var req cancelRequestJSON
		if err := decode(w, r, &req); err != nil {
			s.writeError(w, r, err)
			return
		}
		c, err := s.rights.RequestCancellation(r.Context(), callerOf(r), rights.CancelRequest{Code: req.Code, Agree: req.Agree})
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusAccepted, cancellationOut(c))
	})
}

// handleCancelShow answers the caller's newest cancellation request.
func (s *Server) handleCancelShow() http.Handler {
	return s.withRights(func(w http.ResponseWriter, r *http.Request) {
		c, err := s.rights.CancellationOf(r.Context(), authOf(r).User.ID)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, cancellationOut(c))
	})
}

// handleCancelWithdraw takes a pending cancellation back.
func (s *Server) handleCancelWithdraw() http.Handler {
	return s.withRights(func(w http.ResponseWriter, r *http.Request) {
		c, err := s.rights.WithdrawCancellation(r.Context(), authOf(r).User.ID)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, cancellationOut(c))
	})
}
