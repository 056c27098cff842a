package server

import (
	"net/http"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/location"
)

type locationRequest struct {
	Lat    *float64 `json:"lat"`
	Lng    *float64 `json:"lng"`
	Coarse bool     `json:"coarse"`
}

type locationJSON struct {
	Lat       float64 `json:"lat"`
	Lng       float64 `json:"lng"`
	Coarse    bool    `json:"coarse"`
	UpdatedAt string  `json:"updated_at"`
	// ExpiresAt is when the position stops being used and is deleted.
	ExpiresAt string `json:"expires_at"`
}

func (s *Server) locationJSON(p location.Position) locationJSON {
	return locationJSON{Lat: p.Lat, Lng: p.Lng, Coarse: p.Coarse, UpdatedAt: p.UpdatedAt.UTC().Format(time.RFC3339),
		ExpiresAt: p.UpdatedAt.Add(s.location.Config().Freshness).UTC().Format(time.RFC3339)}
}

// handleLocationUpdate records where the caller is, for people-seeking
// alerts near them. It needs the seeking_alert_location consent (P05,
// P23): without it the answer is 403 consent_required and nothing is
// stored. Only this call takes coordinates (P06).
func (s *Server) handleLocationUpdate() http.Handler {
	return s.withSubject(func(w http.ResponseWriter, r *http.Request, sub consent.Subject) {
		var req locationRequest
		if err := decode(w, r, &req); err != nil {
			s.writeError(w, r, err)
			return
		}
		if req.Lat == nil || req.Lng == nil {
			s.writeError(w, r, yuncan.Errorf(yuncan.Invalid, "lat and lng are required").WithField("lat", "is required").WithField("lng", "is required"))
			return
		}
		p, err := s.location.Update(r.Context(), sub, *req.Lat, *req.Lng, req.Coarse)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, s.locationJSON(p))
	})
}

// handleLocationShow returns the position held for the caller, as stored
// (only the cell centre in coarse mode).
func (s *Server) handleLocationShow() http.Handler {
	return s.withSubject(func(w http.ResponseWriter, r *http.Request, sub consent.Subject) {
		p, err := s.location.Position(r.Context(), sub)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, s.locationJSON(p))
	})
}

// handleLocationDelete deletes the caller's position at once.
func (s *Server) handleLocationDelete() http.Handler {
	return s.withSubject(func(w http.ResponseWriter, r *http.Request, sub consent.Subject) {
		if err := s.location.Delete(r.Context(), sub); err != nil {
			s.writeError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
