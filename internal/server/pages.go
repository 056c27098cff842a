package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/identity"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pageNames lists the pages; each is templates/<name>.html inside
// templates/layout.html.
var pageNames = []string{"home", "login", "privacy", "me", "sessions", "error",
	"privacy_center", "privacy_export", "privacy_center_history", "privacy_center_version", "privacy_center_inventory",
	"cases", "case", "case_form", "case_clue", "staff_review", "inbox", "location", "real_name",
	"privacy_cancellation", "privacy_cancel", "privacy_status"}

// pages holds the templates, parsed once at start, and the static files.
type pages struct {
	tmpl   map[string]*template.Template
	static http.Handler
	// cssHref names the stylesheet with a hash of its content, so that
	// browsers may keep it long and still see a new one at once.
	cssHref string
	// assets names every static file the same way, by its path under
	// static/ (pageBase.Static).
	assets map[string]string
}

func mustParsePages() *pages {
	p := &pages{tmpl: make(map[string]*template.Template, len(pageNames))}
	for _, name := range pageNames {
		p.tmpl[name] = template.Must(template.New(name).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
	}
	p.assets = map[string]string{}
	err := fs.WalkDir(staticFS, "static", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(path)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		p.assets[strings.TrimPrefix(path, "static/")] = "/" + path + "?v=" + hex.EncodeToString(sum[:6])
		return nil
	})
	if err != nil {
		panic("server: static files: " + err.Error()) // a build error, caught by any test
	}
	p.cssHref = p.assets["site.css"]
	if p.cssHref == "" {
		panic("server: static/site.css missing")
	}
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err)
	}
	files := http.StripPrefix("/static/", http.FileServerFS(sub))
	p.static = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") { // no directory listings
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=604800")
		files.ServeHTTP(w, r)
	})
	return p
}

// pageRoutes registers the server-rendered pages. Every page passes
// pageFrame (language, CSRF cookie, security headers) and Go's
// cross-origin protection; every form post also needs the double-submit
// CSRF token (checkCSRF), and pages about the account need a web login.
func (s *Server) pageRoutes(mux *http.ServeMux) {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.pageForbidden(w, r)
	}))
	page := func(pattern string, h http.Handler) { mux.Handle(pattern, s.pageFrame(cop.Handler(h))) }
	form := func(pattern string, h http.Handler) { page(pattern, s.checkCSRF(h)) }
	login := s.requireWebLogin

	page("GET /{$}", s.pageHome())
	page("GET /privacy", s.pagePrivacy())
	page("GET /login", s.pageLoginShow())
	form("POST /login/code", s.pageLoginCode())
	form("POST /login", s.pageLogin())
	form("POST /logout", login(s.pageLogout()))

	page("GET /me", login(s.pageMeShow()))
	form("POST /me", login(s.pageMeUpdate()))
	// A multipart upload carries its token as a form part: the handler
	// checks it before it reads the image.
	page("POST /me/avatar", login(s.pageAvatarUpdate()))
	form("POST /me/avatar/delete", login(s.pageAvatarDelete()))
	form("POST /me/password", login(s.pagePasswordUpdate()))
	page("GET /me/sessions", login(s.pageSessionList()))
	form("POST /me/sessions/{id}/revoke", login(s.pageSessionRevoke()))
	form("POST /me/sessions/revoke-others", login(s.pageSessionRevokeOthers()))

	// The privacy center, and the public policy history and inventory.
	page("GET /me/privacy", login(s.pagePrivacyCenter()))
	form("POST /me/privacy/consents/{purpose}/grant", login(s.pageConsentGrant()))
	form("POST /me/privacy/consents/{purpose}/withdraw", login(s.pageConsentWithdraw()))
	form("POST /me/privacy/settings", login(s.pagePrivacySettingsUpdate()))
	form("POST /me/privacy/policy/{version}/accept", login(s.pagePolicyAccept()))
	form("POST /me/privacy/guardian", login(s.pageGuardianRequest()))
	form("POST /me/privacy/guardian/verify", login(s.pageGuardianVerify()))
	// Download my data (P65).
	page("GET /me/privacy/export", login(s.pagePrivacyExport()))
	form("POST /me/privacy/export", login(s.pageExportRequest()))
	form("POST /me/privacy/export/{id}/link", login(s.pageExportLink()))
	page("GET /me/privacy/export/{id}/download", login(s.pageExportDownload()))
	// Account cancellation (P66): the conditions are public.
	page("GET /privacy/cancellation", s.pageCancelTerms())
	page("GET /privacy/status", s.pageServiceStatus())
	page("GET /me/privacy/cancel", login(s.pageCancel()))
	form("POST /me/privacy/cancel/code", login(s.pageCancelCode()))
	form("POST /me/privacy/cancel", login(s.pageCancelCreate()))
	form("POST /me/privacy/cancel/withdraw", login(s.pageCancelWithdraw()))
	page("GET /privacy/history", s.pagePolicyHistory())
	page("GET /privacy/versions/{version}", s.pagePolicyVersion())
	page("GET /privacy/inventory", s.pageInventory())

	// People-seeking: the cases (list and map), a case with its clue
	// form, the publish-a-case form, clues with the masked relay.
	// Uploads carry their token as the first form part (as the avatar).
	page("GET /cases", s.pageCaseList())
	page("GET /cases/new", login(s.pageCaseNew()))
	form("POST /cases/new", login(s.pageCaseCreate()))
	page("GET /cases/{id}", s.pageCaseShow())
	page("GET /cases/{id}/edit", login(s.pageCaseEdit()))
	form("POST /cases/{id}/edit", login(s.pageCaseUpdate()))
	page("POST /cases/{id}/photos", login(s.pageCasePhotoAdd()))
	form("POST /cases/{id}/photos/{photo}/delete", login(s.pageCasePhotoDelete()))
	form("POST /cases/{id}/submit", login(s.pageCaseSubmit()))
	form("POST /cases/{id}/resolve", login(s.pageCaseResolve()))
	form("POST /cases/{id}/clues", login(s.pageClueCreate()))
	page("GET /cases/{id}/clues/{clue}", login(s.pageClueShow()))
	page("POST /cases/{id}/clues/{clue}/photos", login(s.pageCluePhotoAdd()))
	form("POST /cases/{id}/clues/{clue}/messages", login(s.pageMessageCreate()))
	form("POST /cases/{id}/clues/{clue}/review", login(s.pageClueReview()))
	// Photos as the web login may see them: the API's photo routes know
	// only bearer tokens.
	mux.Handle("GET /cases/{id}/photos/{name}", s.securityHeaders(s.pageCasePhoto()))
	mux.Handle("GET /cases/{id}/clues/{clue}/photos/{photo}", s.securityHeaders(s.pageCluePhoto()))

	// The moderators' review queue.
	staff := func(h http.Handler) http.Handler { return login(s.requireStaffPage(h)) }
	page("GET /staff/review", staff(s.pageReviewQueue()))
	form("POST /staff/review/{id}/approve", staff(s.pageReviewApprove()))
	form("POST /staff/review/{id}/reject", staff(s.pageReviewReject()))
	form("POST /staff/review/{id}/return", staff(s.pageReviewReturn()))
	form("POST /staff/review/{id}/verify", staff(s.pageReviewVerify()))

	// The inbox (live through the API's event stream) and the position
	// people-seeking alerts are matched against.
	page("GET /inbox", login(s.pageInbox()))
	form("POST /inbox/{id}/read", login(s.pageInboxRead()))
	form("POST /inbox/{id}/open", login(s.pageInboxOpen()))
	form("POST /inbox/{id}/dismiss", login(s.pageInboxDismiss()))
	page("GET /me/real-name", login(s.pageRealNameShow()))
	form("POST /me/real-name", login(s.pageRealNameVerify()))
	form("POST /me/real-name/delete", login(s.pageRealNameDelete()))
	page("GET /me/location", login(s.pageLocationShow()))
	form("POST /me/location", login(s.pageLocationUpdate()))
	form("POST /me/location/delete", login(s.pageLocationDelete()))

	mux.Handle("GET /static/", s.securityHeaders(s.pages.static))
	page("/", s.pageNotFound())
}

// contentSecurityPolicy allows only this site's own files, and images
// from the default map tile server: no inline scripts or styles, no
// framing, forms posting only here. A server with another tile server
// allows images from that host instead (cspFor).
var contentSecurityPolicy = must(cspFor(DefaultTileURL))

func must(s string, err error) string {
	if err != nil {
		panic(err)
	}
	return s
}

// cspFor is the Content-Security-Policy for pages whose map loads tiles
// from tileURL: the tile host may serve images, nothing else.
func cspFor(tileURL string) (string, error) {
	origin, err := tileOrigin(tileURL)
	if err != nil {
		return "", err
	}
	return "default-src 'self'; img-src 'self' data: " + origin +
		"; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'", nil
}

// tileHost matches a host[:port] a tile URL may name; "*." stands for
// Leaflet's {s} subdomain.
var tileHost = regexp.MustCompile(`^(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:[0-9]{1,5})?$`)

// tileOrigin is the CSP source of a tile URL template: scheme and host,
// with {s} as a wildcard subdomain.
func tileOrigin(tileURL string) (string, error) {
	bad := fmt.Errorf("tile URL %q must be http(s)://host/…{z}…{x}…{y}…", tileURL)
	scheme, rest, ok := strings.Cut(tileURL, "://")
	if !ok || (scheme != "https" && scheme != "http") {
		return "", bad
	}
	for _, p := range []string{"{z}", "{x}", "{y}"} {
		if !strings.Contains(rest, p) {
			return "", bad
		}
	}
	host, _, _ := strings.Cut(rest, "/")
	host = strings.Replace(host, "{s}.", "*.", 1)
	if !tileHost.MatchString(host) || strings.ContainsAny(rest, " ;,'\"<>") {
		return "", bad
	}
	return scheme + "://" + host, nil
}

// CheckTileURL tells whether a tile URL template can serve the case map
// (Config.TileURL); cmd/yuncan checks its flag with it.
func CheckTileURL(tileURL string) error {
	_, err := tileOrigin(tileURL)
	return err
}

// securityHeaders sets the headers every page and static file carries.
func (s *Server) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", s.csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}

// pageReq is what the frame works out once per page request.
type pageReq struct {
	lang string
	// csrf is the token forms on this page carry; cookieCSRF is the one
	// the request's cookie held ("" when none), which posts must match.
	csrf       string
	cookieCSRF string
	// auth caches the web login, resolved on first use.
	auth     *identity.Auth
	authDone bool
}

type pageCtxKey struct{}

func pageReqOf(r *http.Request) *pageReq {
	if pr, ok := r.Context().Value(pageCtxKey{}).(*pageReq); ok {
		return pr
	}
	return &pageReq{lang: langZH}
}

// pageFrame sets the security headers, picks the language (a ?lang=
// switch is remembered in yc_lang) and makes sure the browser holds a
// CSRF cookie.
func (s *Server) pageFrame(next http.Handler) http.Handler {
	return s.securityHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Add("Vary", "Accept-Language, Cookie")
		pr := &pageReq{}
		if q := r.URL.Query().Get("lang"); q == langZH || q == langEN {
			pr.lang = q
			s.setLangCookie(w, r, q)
		} else {
			var c string
			if ck, err := r.Cookie(langCookie); err == nil {
				c = ck.Value
			}
			pr.lang = pickLang(c, r.Header.Get("Accept-Language"))
		}
		h.Set("Content-Language", htmlLang(pr.lang))
		pr.cookieCSRF = csrfFromCookie(r)
		pr.csrf = pr.cookieCSRF
		if pr.csrf == "" {
			pr.csrf = newCSRFToken()
			s.setCSRFCookie(w, r, pr.csrf)
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), pageCtxKey{}, pr)))
	}))
}

// pageBase is what every page view holds: the layout's needs.
type pageBase struct {
	Lang    string
	Title   string
	CSRF    string
	CSSHref string
	// Path is the page's path, for the language links.
	Path string
	// User is the logged-in person, nil when logged out.
	User  *identity.User
	Flash string
	// FlashKey names the flash, so that a page can tell one from another.
	FlashKey string
	// Ceasing carries the announcement on every page while operations
	// cease (P69): the notice in the page's language and the purge day.
	Ceasing *ceaseBanner
	assets  map[string]string
}

func (b *pageBase) base() *pageBase { return b }

// Static is the address of a static file (its path under static/) with
// a hash of its content, so that browsers see a new version at once.
func (b *pageBase) Static(name string) string {
	if h, ok := b.assets[name]; ok {
		return h
	}
	return "/static/" + name
}

// Staff reports whether the logged-in person reviews cases.
func (b *pageBase) Staff() bool {
	return b.User != nil && (b.User.Role == identity.RoleModerator || b.User.Role == identity.RoleAdmin)
}

// T returns the message for key in the page's language.
func (b *pageBase) T(key string, args ...any) string { return translate(b.Lang, key, args...) }

// HTMLLang is the page's lang attribute.
func (b *pageBase) HTMLLang() string { return htmlLang(b.Lang) }

// pageView is a typed page view: a struct embedding pageBase.
type pageView interface{ base() *pageBase }

// newBase fills the layout's part of a view. The login is resolved when
// the page shows one; a store failure here shows the page logged out.
func (s *Server) newBase(w http.ResponseWriter, r *http.Request, titleKey string) pageBase {
	pr := pageReqOf(r)
	b := pageBase{Lang: pr.lang, CSRF: pr.csrf, CSSHref: s.pages.cssHref, Path: langPath(r), assets: s.pages.assets}
	b.Title = b.T(titleKey)
	a, err := s.webAuth(w, r)
	if err != nil {
		s.logPageError(r, yuncan.AsError(err), err)
	}
	if a != nil {
		u := a.User
		b.User = &u
	}
	// A flash names a message key after a post/redirect/get; only known
	// flash messages show.
	if ok := r.URL.Query().Get("ok"); ok != "" && hasMessage("flash."+ok) {
		b.Flash, b.FlashKey = b.T("flash."+ok), ok
	}
	b.Ceasing = s.ceaseBannerFor(r, b.Lang)
	return b
}

// langPath is the page the language links reload: the page itself, or
// for a form post the page that shows the form.
func langPath(r *http.Request) string {
	p := r.URL.Path
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") {
		return "/"
	}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return p
	}
	switch {
	case strings.HasPrefix(p, "/login"):
		return "/login"
	case p == "/cases/new":
		return p
	case strings.HasPrefix(p, "/cases/"):
		// /cases/{id}/… shows its form on the case page, or on the clue
		// page for /cases/{id}/clues/{clue}/….
		parts := strings.SplitN(p, "/", 6)
		if len(parts) >= 5 && parts[3] == "clues" {
			return strings.Join(parts[:5], "/")
		}
		if len(parts) >= 4 && parts[3] == "edit" {
			return strings.Join(parts[:4], "/")
		}
		return strings.Join(parts[:3], "/")
	case strings.HasPrefix(p, "/staff"):
		return "/staff/review"
	case strings.HasPrefix(p, "/inbox"):
		return "/inbox"
	case strings.HasPrefix(p, "/me/location"):
		return "/me/location"
	case strings.HasPrefix(p, "/me/real-name"):
		return "/me/real-name"
	case strings.HasPrefix(p, "/me/sessions"):
		return "/me/sessions"
	case strings.HasPrefix(p, "/me/privacy"):
		return "/me/privacy"
	case strings.HasPrefix(p, "/me"):
		return "/me"
	}
	return "/"
}

// render executes a page into a buffer first, so that a template failure
// becomes a clean 500 rather than half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, v pageView) {
	var buf bytes.Buffer
	if err := s.pages.tmpl[name].ExecuteTemplate(&buf, "layout", v); err != nil {
		s.logger.ErrorContext(r.Context(), "render page", slog.String("page", name), slog.Any("err", err))
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		w.Write([]byte(translate(v.base().Lang, "error.internal")))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// seeOther ends a successful post: post/redirect/get.
func seeOther(w http.ResponseWriter, r *http.Request, to string) {
	http.Redirect(w, r, to, http.StatusSeeOther)
}

type errorView struct {
	pageBase
	Status  int
	Message string
}

// pageError shows err as a small page with the status its code maps to.
// The message is the error's safe message (5xx: a generic one, the cause
// logged); a lost login goes to the login page instead.
func (s *Server) pageError(w http.ResponseWriter, r *http.Request, err error) {
	e := yuncan.AsError(err)
	if e.Code == yuncan.Unauthenticated {
		s.clearSessionCookie(w, r)
		seeOther(w, r, "/login")
		return
	}
	status := statusOf(e.Code)
	if status >= 500 {
		s.logPageError(r, e, err)
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(e.RetryAfter.Seconds())))
	}
	lang := pageReqOf(r).lang
	s.renderError(w, r, status, errText(lang, e))
}

func (s *Server) renderError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	v := &errorView{pageBase: s.newBase(w, r, "error.title"), Status: status, Message: msg}
	if k := "error." + strconv.Itoa(status); hasMessage(k) {
		v.Title = v.T(k)
	}
	s.render(w, r, status, "error", v)
}

// pageForbidden answers a post that failed a CSRF check.
func (s *Server) pageForbidden(w http.ResponseWriter, r *http.Request) {
	s.renderError(w, r, http.StatusForbidden, translate(pageReqOf(r).lang, "error.csrf"))
}

func (s *Server) pageNotFound() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.renderError(w, r, http.StatusNotFound, translate(pageReqOf(r).lang, "error.not_found"))
	})
}

// logPageError logs a failure the person sees only as a generic message.
func (s *Server) logPageError(r *http.Request, e *yuncan.Error, err error) {
	s.logger.ErrorContext(r.Context(), "page request failed", slog.String("code", string(e.Code)), slog.Any("err", err))
}
