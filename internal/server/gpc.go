package server

import (
	"net/http"
	"strings"

	"github.com/yuncan/yuncan/internal/consent"
)

// Global Privacy Control (P31, policy 2.3): a browser sending Sec-GPC: 1
// asks not to have its data sold or shared. The request's context carries
// the signal to the consent gate, which then refuses the purposes the
// data map declares "gpc" (programmatic ads, sharing with third parties)
// whatever the ledger holds. The person's recorded choices stay as they
// are: the signal belongs to the request, not to the account.

// gpcLastUpdate is when what /.well-known/gpc.json says last changed.
const gpcLastUpdate = "2026-11-29"

// honourGPC marks requests carrying Sec-GPC: 1 with consent.WithGPC. It
// wraps every route (server.go), so no handler can miss the signal.
func honourGPC(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if gpcSent(r) {
			r = r.WithContext(consent.WithGPC(r.Context()))
		}
		next.ServeHTTP(w, r)
	})
}

// gpcSent reports whether r carries the signal; the specification's only
// value is "1".
func gpcSent(r *http.Request) bool { return strings.TrimSpace(r.Header.Get("Sec-GPC")) == "1" }

// handleGPCWellKnown tells agents that the site honours the signal (the
// GPC specification's /.well-known/gpc.json).
func (s *Server) handleGPCWellKnown() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=86400")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte(`{"gpc": true, "lastUpdate": "` + gpcLastUpdate + `"}` + "\n"))
	})
}
