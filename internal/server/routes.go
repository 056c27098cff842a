package server

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/yuncan/yuncan/internal/identity"
)

// route is one API route, listed so that tests can check the OpenAPI
// document covers each.
type route struct{ Method, Path string }

// routes lists every route of the service on one screen.
func (s *Server) routes(mux *http.ServeMux, reg *prometheus.Registry) {
	api := func(method, path string, h http.Handler) {
		s.apiRoutes = append(s.apiRoutes, route{method, path})
		mux.Handle(method+" "+path, h)
	}
	auth := s.requireAuth

	// Public API.
	api("GET", "/api/v1/openapi.json", s.handleOpenAPI())
	api("GET", "/api/v1/privacy/policy", s.handlePolicyShow())
	api("GET", "/api/v1/privacy/inventory", s.handleInventory())
	api("POST", "/api/v1/auth/sms-codes", s.handleSMSCodeCreate())
	api("POST", "/api/v1/auth/login", s.handleLogin())
	api("POST", "/api/v1/devices", s.handleDeviceCreate())
	api("GET", "/api/v1/devices/current", s.handleDeviceShow())
	api("PUT", "/api/v1/devices/current", s.handleDeviceUpdate())

	// The caller's own account.
	api("POST", "/api/v1/auth/logout", auth(s.handleLogout()))
	api("GET", "/api/v1/me", auth(s.handleMeShow()))
	api("PATCH", "/api/v1/me", auth(s.handleMeUpdate()))
	api("PUT", "/api/v1/me/avatar", auth(s.handleAvatarUpdate()))
	api("DELETE", "/api/v1/me/avatar", auth(s.handleAvatarDelete()))
	api("PUT", "/api/v1/me/password", auth(s.handlePasswordUpdate()))
	api("GET", "/api/v1/me/sessions", auth(s.handleSessionList()))
	api("DELETE", "/api/v1/me/sessions/{id}", auth(s.handleSessionDelete()))
	api("POST", "/api/v1/me/sessions/revoke-others", auth(s.handleSessionRevokeOthers()))
	api("GET", "/api/v1/me/devices", auth(s.handleMyDeviceList()))

	// Consents: the caller's account, or a device before login.
	api("GET", "/api/v1/consents", s.handleConsentList())
	api("POST", "/api/v1/consents", s.handleConsentGrantMany())
	api("GET", "/api/v1/consents/history", s.handleConsentHistory())
	api("PUT", "/api/v1/consents/{purpose}", s.handleConsentGrant())
	api("DELETE", "/api/v1/consents/{purpose}", s.handleConsentWithdraw())

	// Minors.
	api("GET", "/api/v1/me/guardian", auth(s.handleGuardianShow()))
	api("POST", "/api/v1/me/guardian", auth(s.handleGuardianRequest()))
	api("POST", "/api/v1/me/guardian/verify", auth(s.handleGuardianVerify()))
	api("POST", "/api/v1/guardian-requests", s.handleGuardianRequestCreate())
	api("GET", "/api/v1/guardian-requests/{id}", s.handleGuardianRequestShow())

	// Policy versions.
	api("GET", "/api/v1/privacy/policy/history", s.handlePolicyHistory())
	api("GET", "/api/v1/privacy/policy/{version}", s.handlePolicyVersionShow())
	api("POST", "/api/v1/privacy/policy/{version}/accept", auth(s.handlePolicyAccept()))
	api("GET", "/api/v1/me/notices", auth(s.handleNoticeList()))
	api("POST", "/api/v1/admin/policy-versions", auth(s.requireRole(s.handlePolicyVersionCreate(), identity.RoleAdmin)))

	// Privacy settings.
	api("GET", "/api/v1/me/privacy-settings", auth(s.handlePrivacySettingsShow()))
	api("PATCH", "/api/v1/me/privacy-settings", auth(s.handlePrivacySettingsUpdate()))
	mux.Handle("GET /.well-known/gpc.json", s.handleGPCWellKnown())
	mux.Handle("/api/", s.handleNotFound())

	// Operations.
	mux.Handle("GET /healthz", s.handleHealth())
	mux.Handle("GET /readyz", s.handleReady())
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("GET /media/{key...}", s.handleMediaShow())

	// Pages.
	s.pageRoutes(mux)
}
