package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
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
	"privacy_center", "privacy_center_history", "privacy_center_version", "privacy_center_inventory"}

// pages holds the templates, parsed once at start, and the static files.
type pages struct {
	tmpl   map[string]*template.Template
	static http.Handler
	// cssHref names the stylesheet with a hash of its content, so that
	// browsers may keep it long and still see a new one at once.
	cssHref string
}

func mustParsePages() *pages {
	p := &pages{tmpl: make(map[string]*template.Template, len(pageNames))}
	for _, name := range pageNames {
		p.tmpl[name] = template.Must(template.New(name).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
	}
	css, err := staticFS.ReadFile("static/site.css")
	if err != nil {
		panic("server: static/site.css missing: " + err.Error()) // a build error, caught by any test
	}
	sum := sha256.Sum256(css)
	p.cssHref = "/static/site.css?v=" + hex.EncodeToString(sum[:6])
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
	page("GET /privacy/history", s.pagePolicyHistory())
	page("GET /privacy/versions/{version}", s.pagePolicyVersion())
	page("GET /privacy/inventory", s.pageInventory())

	mux.Handle("GET /static/", securityHeaders(s.pages.static))
	page("/", s.pageNotFound())
}

// contentSecurityPolicy allows only this site's own files: no inline
// scripts or styles, no framing, forms posting only here.
const contentSecurityPolicy = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'"

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
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
	return securityHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
}

func (b *pageBase) base() *pageBase { return b }

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
	b := pageBase{Lang: pr.lang, CSRF: pr.csrf, CSSHref: s.pages.cssHref, Path: langPath(r)}
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
