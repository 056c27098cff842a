// Package server is the HTTP frame: the JSON API under /api/v1, the
// server-rendered pages under /, health and metrics. Handlers decode,
// call one area service method and encode; the rules live in the areas.
package server

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/yuncan/yuncan/internal/audit"
	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/identity"
	"github.com/yuncan/yuncan/internal/incidents"
	"github.com/yuncan/yuncan/internal/location"
	"github.com/yuncan/yuncan/internal/media"
	"github.com/yuncan/yuncan/internal/notify"
	"github.com/yuncan/yuncan/internal/rights"
	"github.com/yuncan/yuncan/internal/seeking"
	"github.com/yuncan/yuncan/internal/sharing"
	"github.com/yuncan/yuncan/internal/tickets"
)

// Config is what the HTTP frame needs to know about its deployment.
type Config struct {
	// BaseURL is the public address; an https base URL marks cookies
	// Secure even when TLS ends at a proxy.
	BaseURL *url.URL
	Version string
	// TileURL is the map tile server the case map loads its tiles from,
	// a Leaflet URL template with {z}, {x} and {y} (and optionally {s}
	// for a subdomain); DefaultTileURL when "". The pages' CSP allows
	// images from its host, and nothing else from it.
	TileURL string
}

// DefaultTileURL is OpenStreetMap's public tile server.
const DefaultTileURL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"

// Pinger checks a dependency for /readyz.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Server serves the API and the pages.
type Server struct {
	cfg      Config
	logger   *slog.Logger
	identity *identity.Service
	consent  *consent.Service
	location *location.Service
	versions *consent.Versions
	minors   *consent.Minors
	media    media.Store
	db       Pinger
	now      func() time.Time
	metrics  *metrics
	handler  http.Handler
	pages    *pages
	// csp is the Content-Security-Policy of every page and static file.
	csp string
	// apiRoutes lists the API routes, for the OpenAPI coverage test.
	apiRoutes []route

	// realNames verifies real names; nil when not wired (503).
	realNames *identity.RealNameVerifier

	// seeking holds cases, clues and the relay.
	seeking *seeking.Service

	// Inbox and push; nil when not wired (503).
	inbox           *notify.Inbox
	push            *notify.Dispatcher
	streamHeartbeat time.Duration
	streamsDone     chan struct{} // closed by StopStreams
	stopStreams     sync.Once
	// tickets holds complaints, reports and requests; nil when not
	// wired (503).
	tickets *tickets.Service
	// audit is the staff audit log (P52); nil when not wired (503).
	audit *audit.Log
	// rights exports a person's data (P65); nil when not wired (503).
	rights *rights.Service
	// sharing is the sharing ledger and the partner statistics (P33,
	// P36); nil when not wired (503).
	sharing *sharing.Ledger
	// incidents holds security incidents and announcements (P54); nil
	// when not wired (503).
	incidents *incidents.Service
}

// Deps are the services the server calls.
type Deps struct {
	Logger   *slog.Logger
	Identity *identity.Service
	Consent  *consent.Service
	Location *location.Service
	// Versions knows the privacy policy versions and who accepted which.
	Versions *consent.Versions
	// Minors holds the rules for minors: guardian consent and requests.
	Minors *consent.Minors
	Media  media.Store
	DB     Pinger
	// Registry receives the HTTP metrics; nil makes a fresh one.
	Registry *prometheus.Registry
	Now      func() time.Time

	// RealNames verifies real names through the certifier (policy
	// 1.1.2, P10); nil answers POST /api/v1/me/real-name with 503.
	RealNames *identity.RealNameVerifier

	// Seeking holds missing-person cases, clues and the masked relay.
	Seeking *seeking.Service

	// Inbox is the in-app inbox, its shields and live stream; Push
	// stores Web Push subscriptions and knows the VAPID key. Nil answers
	// their routes with 503.
	Inbox *notify.Inbox
	Push  *notify.Dispatcher
	// StreamHeartbeat is how often an idle live stream gets a comment
	// (25 seconds when zero).
	StreamHeartbeat time.Duration
	// Tickets holds complaints, reports and requests (P67, P71, P73);
	// nil answers their routes with 503.
	Tickets *tickets.Service
	// Audit is the staff audit log (P52); nil answers its routes with 503.
	Audit *audit.Log
	// Rights exports a person's data (P65); nil answers its routes with 503.
	Rights *rights.Service
	// Sharing is the sharing ledger ("who received my data", P33) and
	// the partner statistics (P36); nil answers their routes with 503.
	Sharing *sharing.Ledger
	// Incidents holds security incidents and their announcements (P54);
	// nil answers their routes with 503.
	Incidents *incidents.Service
}

// New returns the server with every route in place.
func New(cfg Config, d Deps) *Server {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Registry == nil {
		d.Registry = prometheus.NewRegistry()
	}
	if cfg.TileURL == "" {
		cfg.TileURL = DefaultTileURL
	}
	csp, err := cspFor(cfg.TileURL)
	if err != nil {
		panic("server: " + err.Error() + " (check it with CheckTileURL first)")
	}
	s := &Server{cfg: cfg, csp: csp, logger: d.Logger, identity: d.Identity, consent: d.Consent, location: d.Location, media: d.Media, db: d.DB, now: d.Now,
		metrics: newMetrics(d.Registry), pages: mustParsePages()}
	s.versions = d.Versions
	s.minors = d.Minors
	s.realNames = d.RealNames
	s.seeking = d.Seeking
	s.tickets = d.Tickets
	s.audit = d.Audit
	s.rights = d.Rights
	s.sharing = d.Sharing
	s.incidents = d.Incidents
	s.inbox, s.push, s.streamHeartbeat, s.streamsDone = d.Inbox, d.Push, d.StreamHeartbeat, make(chan struct{})
	mux := http.NewServeMux()
	s.routes(mux, d.Registry)
	// P31: the Global Privacy Control signal reaches every handler.
	// P69: once operations cease, nothing new is collected.
	s.handler = s.observe(honourGPC(s.refuseCollectionWhenCeased(mux)))
	return s
}

// ServeHTTP makes the server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// secureCookies reports whether cookies must carry Secure.
func (s *Server) secureCookies(r *http.Request) bool {
	return r.TLS != nil || (s.cfg.BaseURL != nil && s.cfg.BaseURL.Scheme == "https")
}
