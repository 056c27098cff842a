package server

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/identity"
)

// The cookies the pages set, each with its purpose (P28: no cookie beyond
// a declared purpose). Tests fail on a Set-Cookie not listed here.
const (
	sessionCookie = "yc_session"
	csrfCookie    = "yc_csrf"
	langCookie    = "yc_lang"
)

var pageCookies = map[string]string{
	sessionCookie: "authentication: the web login session token",
	csrfCookie:    "security: the double-submit token that forms must echo",
	langCookie:    "convenience: the page language the visitor chose",
}

// maxFormBody bounds every urlencoded page form.
const maxFormBody = 64 << 10

// setSessionCookie keeps the web login for as long as the session lives
// (P29: HttpOnly, SameSite, Secure whenever the site is https).
func (s *Server) setSessionCookie(w http.ResponseWriter, r *http.Request, token string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: token, Path: "/", Expires: expires.UTC(),
		MaxAge:   int(s.identity.Config().SessionTTL.Seconds()),
		HttpOnly: true, Secure: s.secureCookies(r), SameSite: http.SameSiteLaxMode,
	})
}

func (s *Server) clearSessionCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.secureCookies(r), SameSite: http.SameSiteLaxMode,
	})
}

func (s *Server) setLangCookie(w http.ResponseWriter, r *http.Request, lang string) {
	http.SetCookie(w, &http.Cookie{
		Name: langCookie, Value: lang, Path: "/", MaxAge: 365 * 24 * 60 * 60,
		HttpOnly: true, Secure: s.secureCookies(r), SameSite: http.SameSiteLaxMode,
	})
}

// The CSRF token is 32 random bytes, URL-safe base64 without padding.
const csrfTokenLen = 43

func newCSRFToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// setCSRFCookie sets the double-submit cookie. It lives as long as the
// browser session; SameSite=Strict keeps it off every cross-site request.
func (s *Server) setCSRFCookie(w http.ResponseWriter, r *http.Request, token string) {
	http.SetCookie(w, &http.Cookie{
		Name: csrfCookie, Value: token, Path: "/",
		HttpOnly: true, Secure: s.secureCookies(r), SameSite: http.SameSiteStrictMode,
	})
}

// csrfFromCookie returns the request's CSRF cookie when it is well formed.
func csrfFromCookie(r *http.Request) string {
	c, err := r.Cookie(csrfCookie)
	if err != nil || len(c.Value) != csrfTokenLen {
		return ""
	}
	if _, err := base64.RawURLEncoding.DecodeString(c.Value); err != nil {
		return ""
	}
	return c.Value
}

// csrfOK reports whether a form's token matches the request's cookie.
func csrfOK(r *http.Request, token string) bool {
	want := pageReqOf(r).cookieCSRF
	return want != "" && subtle.ConstantTimeCompare([]byte(token), []byte(want)) == 1
}

// checkCSRF parses an urlencoded form (bounded) and answers 403 unless
// its csrf field equals the yc_csrf cookie: the double-submit check, on
// top of the cross-origin protection every page has.
func (s *Server) checkCSRF(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
		if err := r.ParseForm(); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				s.pageError(w, r, yuncan.Errorf(yuncan.TooLarge, "the form is too large"))
				return
			}
			s.pageError(w, r, yuncan.Errorf(yuncan.Invalid, "the form could not be read"))
			return
		}
		if !csrfOK(r, r.PostForm.Get("csrf")) {
			s.pageForbidden(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// webAuth resolves the session cookie, once per request. It returns nil
// when logged out; a cookie that names no live session is cleared and
// counts as logged out, never as a failure (P32). Only a storage failure
// returns an error.
func (s *Server) webAuth(w http.ResponseWriter, r *http.Request) (*identity.Auth, error) {
	pr := pageReqOf(r)
	if pr.authDone {
		return pr.auth, nil
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		pr.authDone = true
		return nil, nil
	}
	a, err := s.identity.Authenticate(r.Context(), c.Value)
	if yuncan.ErrorCode(err) == yuncan.Unauthenticated {
		s.clearSessionCookie(w, r)
		pr.authDone = true
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	pr.auth, pr.authDone = &a, true
	return pr.auth, nil
}

// requireWebLogin lets only logged-in people through; others go to the
// login page.
func (s *Server) requireWebLogin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, err := s.webAuth(w, r)
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		if a == nil {
			seeOther(w, r, "/login")
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxAuth, *a)))
	})
}
