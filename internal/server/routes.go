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

	// Real-name verification.
	api("GET", "/api/v1/me/real-name", auth(s.handleRealNameShow()))
	api("POST", "/api/v1/me/real-name", auth(s.handleRealNameVerify()))
	api("DELETE", "/api/v1/me/real-name", auth(s.handleRealNameDelete()))

	// Privacy settings.
	api("GET", "/api/v1/me/privacy-settings", auth(s.handlePrivacySettingsShow()))
	api("PATCH", "/api/v1/me/privacy-settings", auth(s.handlePrivacySettingsUpdate()))
	// The rights of access and copy (P65, PIPL Art. 45).
	api("POST", "/api/v1/me/exports", auth(s.handleExportCreate()))
	api("GET", "/api/v1/me/exports", auth(s.handleExportList()))
	api("POST", "/api/v1/me/exports/{id}/link", auth(s.handleExportLink()))
	api("GET", "/api/v1/me/exports/{id}/download", auth(s.handleExportDownload()))
	// Who received my data: the sharing ledger (P33).
	api("GET", "/api/v1/me/disclosures", auth(s.handleDisclosureList()))
	// Account cancellation (P66): the conditions are public.
	api("GET", "/api/v1/privacy/cancellation", s.handleCancelTerms())
	api("POST", "/api/v1/me/cancellation/code", auth(s.handleCancelCode()))
	api("POST", "/api/v1/me/cancellation", auth(s.handleCancelCreate()))
	api("GET", "/api/v1/me/cancellation", auth(s.handleCancelShow()))
	api("DELETE", "/api/v1/me/cancellation", auth(s.handleCancelWithdraw()))
	// Ceasing operations (P69): the public status, the admins' declaration.
	api("GET", "/api/v1/privacy/status", s.handleServiceStatus())
	api("POST", "/api/v1/admin/cease-operations", auth(s.requireRole(s.handleCeaseDeclare(), identity.RoleAdmin)))
	mux.Handle("GET /.well-known/gpc.json", s.handleGPCWellKnown())
	// Location for people-seeking alerts: the caller's account, or a
	// device before login.
	api("PUT", "/api/v1/me/location", s.handleLocationUpdate())
	api("GET", "/api/v1/me/location", s.handleLocationShow())
	api("DELETE", "/api/v1/me/location", s.handleLocationDelete())

	// People-seeking.
	mod, admin := identity.RoleModerator, identity.RoleAdmin
	api("GET", "/api/v1/cases", s.handleCaseList())
	api("GET", "/api/v1/cases.geojson", s.handleCaseFeed())
	api("POST", "/api/v1/cases", auth(s.handleCaseCreate()))
	api("GET", "/api/v1/cases/{id}", s.handleCaseShow())
	api("PUT", "/api/v1/cases/{id}", auth(s.handleCaseUpdate()))
	api("GET", "/api/v1/cases/{id}/private", auth(s.handleCasePrivate()))
	api("GET", "/api/v1/cases/{id}/reach", auth(s.handleCaseReach()))
	api("POST", "/api/v1/cases/{id}/submit", auth(s.handleCaseSubmit()))
	api("POST", "/api/v1/cases/{id}/resolve", auth(s.handleCaseResolve()))
	api("POST", "/api/v1/cases/{id}/photos", auth(s.handleCasePhotoAdd()))
	api("DELETE", "/api/v1/cases/{id}/photos/{photo}", auth(s.handleCasePhotoDelete()))
	api("GET", "/api/v1/me/cases", auth(s.handleMyCaseList()))
	api("POST", "/api/v1/cases/{id}/clues", auth(s.handleClueCreate()))
	api("GET", "/api/v1/cases/{id}/clues", auth(s.handleClueList()))
	api("GET", "/api/v1/cases/{id}/clues/{clue}", auth(s.handleClueShow()))
	api("POST", "/api/v1/cases/{id}/clues/{clue}/review", auth(s.handleClueReview()))
	api("POST", "/api/v1/cases/{id}/clues/{clue}/photos", auth(s.handleCluePhotoAdd()))
	api("GET", "/api/v1/cases/{id}/clues/{clue}/photos/{photo}", auth(s.handleCluePhotoShow()))
	api("POST", "/api/v1/cases/{id}/clues/{clue}/messages", auth(s.handleMessageCreate()))
	api("GET", "/api/v1/cases/{id}/clues/{clue}/messages", auth(s.handleMessageList()))
	api("GET", "/api/v1/review/cases", auth(s.requireRole(s.handleReviewQueue(), mod, admin)))
	api("POST", "/api/v1/review/cases/{id}/approve", auth(s.requireRole(s.handleReviewApprove(), mod, admin)))
	api("POST", "/api/v1/review/cases/{id}/reject", auth(s.requireRole(s.handleReviewReject(), mod, admin)))
	api("POST", "/api/v1/review/cases/{id}/return", auth(s.requireRole(s.handleReviewReturn(), mod, admin)))
	api("POST", "/api/v1/review/cases/{id}/verification", auth(s.requireRole(s.handleReviewVerify(), mod, admin)))
	api("POST", "/api/v1/admin/partner-orgs", auth(s.requireRole(s.handlePartnerOrgCreate(), admin)))
	api("GET", "/api/v1/admin/partner-orgs", auth(s.requireRole(s.handlePartnerOrgList(), admin)))
	api("POST", "/api/v1/admin/partner-orgs/{id}/staff", auth(s.requireRole(s.handlePartnerStaffAdd(), admin)))
	api("DELETE", "/api/v1/admin/partner-orgs/{id}/staff/{user}", auth(s.requireRole(s.handlePartnerStaffRemove(), admin)))
	api("GET", "/api/v1/admin/audit", auth(s.requireRole(s.handleAuditList(), admin)))
	// De-identified statistics for partner staff and admins (P36).
	api("GET", "/api/v1/partner/statistics", auth(s.handlePartnerStatistics()))
	api("POST", "/api/v1/admin/audit/verify", auth(s.requireRole(s.handleAuditVerify(), admin)))
	// Case photos: public while the case is published, else only for the
	// reporter and staff.
	mux.Handle("GET /media/cases/{key...}", s.handleCasePhotoShow())

	// Inbox and push.
	api("GET", "/api/v1/inbox", s.handleInboxList())
	api("GET", "/api/v1/inbox/stream", s.handleInboxStream())
	api("POST", "/api/v1/inbox/{id}/read", s.handleInboxRead())
	api("POST", "/api/v1/inbox/{id}/open", s.handleInboxOpen())
	api("POST", "/api/v1/inbox/{id}/dismiss", s.handleInboxDismiss())
	api("GET", "/api/v1/me/shields", s.handleShieldList())
	api("DELETE", "/api/v1/me/shields/{id}", s.handleShieldDelete())
	api("GET", "/api/v1/push/vapid-public-key", s.handleVAPIDKeyShow())
	api("PUT", "/api/v1/devices/current/web-push", s.handleWebPushSave())
	api("DELETE", "/api/v1/devices/current/web-push", s.handleWebPushDelete())

	// Complaints, reports and requests (P67, P71, P73).
	api("GET", "/api/v1/privacy/contact", s.handlePrivacyContact())
	api("POST", "/api/v1/tickets", auth(s.handleTicketCreate()))
	api("GET", "/api/v1/tickets", auth(s.handleTicketList()))
	api("GET", "/api/v1/tickets/{id}", auth(s.handleTicketShow()))
	api("POST", "/api/v1/tickets/{id}/replies", auth(s.handleTicketReply()))
	api("POST", "/api/v1/tickets/{id}/close", auth(s.handleTicketClose()))
	api("GET", "/api/v1/staff/tickets", auth(s.requireRole(s.handleStaffTicketQueue(), mod, admin)))
	api("POST", "/api/v1/staff/tickets", auth(s.requireRole(s.handleStaffTicketLog(), mod, admin)))
	api("GET", "/api/v1/staff/tickets/{id}", auth(s.requireRole(s.handleStaffTicketShow(), mod, admin)))
	api("POST", "/api/v1/staff/tickets/{id}/replies", auth(s.requireRole(s.handleStaffTicketReply(), mod, admin)))
	api("POST", "/api/v1/staff/tickets/{id}/status", auth(s.requireRole(s.handleStaffTicketStatus(), mod, admin)))

	// Security incidents (P54): admins declare and follow them; anyone
	// reads the announcements.
	api("POST", "/api/v1/admin/incidents", auth(s.requireRole(s.handleIncidentCreate(), admin)))
	api("GET", "/api/v1/admin/incidents", auth(s.requireRole(s.handleIncidentList(), admin)))
	api("GET", "/api/v1/admin/incidents/{id}", auth(s.requireRole(s.handleIncidentShow(), admin)))
	api("POST", "/api/v1/admin/incidents/{id}/regulator-report", auth(s.requireRole(s.handleIncidentReport(), admin)))
	api("POST", "/api/v1/admin/incidents/{id}/close", auth(s.requireRole(s.handleIncidentClose(), admin)))
	api("GET", "/api/v1/announcements", s.handleAnnouncementList())

	mux.Handle("/api/", s.handleNotFound())

	// Operations.
	mux.Handle("GET /healthz", s.handleHealth())
	mux.Handle("GET /readyz", s.handleReady())
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("GET /media/{key...}", s.handleMediaShow())

	// Pages.
	s.ticketPageRoutes(mux)
	s.sharingPageRoutes(mux)
	// Security incidents: the admins' console and the public announcements.
	s.incidentPageRoutes(mux)
	// The staff console's audit log (admins, P52).
	s.auditPageRoutes(mux)
	s.pageRoutes(mux)
}
