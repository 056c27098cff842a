package server

import (
	"net/http"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/identity"
)

type deviceRequest struct {
	Platform   string `json:"platform"`
	Model      string `json:"model"`
	OSVersion  string `json:"os_version"`
	AppVersion string `json:"app_version"`
	PushToken  string `json:"push_token"`
}

func (d deviceRequest) info() identity.DeviceInfo {
	return identity.DeviceInfo{Platform: d.Platform, Model: d.Model, OSVersion: d.OSVersion, AppVersion: d.AppVersion, PushToken: d.PushToken}
}

type deviceJSON struct {
	ID         string `json:"id"`
	Platform   string `json:"platform"`
	Model      string `json:"model"`
	OSVersion  string `json:"os_version"`
	AppVersion string `json:"app_version"`
	HasPush    bool   `json:"has_push_token"`
	// BoundToAccount tells whether pushes go to the account (logged in)
	// or to the device alone (P04).
	BoundToAccount bool   `json:"bound_to_account"`
	CreatedAt      string `json:"created_at"`
	LastSeenAt     string `json:"last_seen_at"`
}

func toDeviceJSON(d identity.Device) deviceJSON {
	return deviceJSON{ID: d.ID, Platform: d.Platform, Model: d.Model, OSVersion: d.OSVersion, AppVersion: d.AppVersion,
		HasPush: d.PushToken != "", BoundToAccount: d.UserID != "", CreatedAt: d.CreatedAt.Format(time.RFC3339),
		LastSeenAt: d.LastSeenAt.Format(time.RFC3339)}
}

// handleDeviceCreate registers a device without an account (or bound to
// the caller when a bearer token comes along) and returns its token.
func (s *Server) handleDeviceCreate() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req deviceRequest
		if err := decode(w, r, &req); err != nil {
			s.writeError(w, r, err)
			return
		}
		userID := ""
		if tok, ok := bearer(r); ok {
			a, err := s.identity.Authenticate(r.Context(), tok)
			if err != nil {
				if yuncan.ErrorCode(err) == yuncan.Unauthenticated {
					w.Header().Set("WWW-Authenticate", `Bearer realm="yuncan", error="invalid_token"`)
				}
				s.writeError(w, r, err)
				return
			}
			userID = a.User.ID
		}
		d, tok, err := s.identity.RegisterDevice(r.Context(), req.info(), userID)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusCreated, map[string]any{"device": toDeviceJSON(d), "token": tok})
	})
}

// handleDeviceShow returns the device named by X-Device-Token.
func (s *Server) handleDeviceShow() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, err := s.identity.DeviceByToken(r.Context(), r.Header.Get(deviceHeader))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, toDeviceJSON(d))
	})
}

// handleDeviceUpdate replaces what the device reports (push token, app
// version).
func (s *Server) handleDeviceUpdate() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req deviceRequest
		if err := decode(w, r, &req); err != nil {
			s.writeError(w, r, err)
			return
		}
		d, err := s.identity.UpdateDevice(r.Context(), r.Header.Get(deviceHeader), req.info())
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, toDeviceJSON(d))
	})
}

// handleMyDeviceList lists the devices bound to the caller.
func (s *Server) handleMyDeviceList() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ds, err := s.identity.Devices(r.Context(), authOf(r).User.ID)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		out := mapSlice(ds, toDeviceJSON)
		encode(w, http.StatusOK, map[string]any{"devices": out})
	})
}
