package server

import (
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/identity"
)

type homeView struct{ pageBase }

// pageHome says what Yuncan is and where to go next.
func (s *Server) pageHome() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := &homeView{s.newBase(w, r, "home.title")}
		s.render(w, r, http.StatusOK, "home", v)
	})
}

type privacyView struct {
	pageBase
	Version    string
	Effective  string
	Paragraphs []policyParagraph
}

type policyParagraph struct {
	Text    string
	Heading bool
}

// sectionLine matches the numbered headings of the policy text ("1.",
// "1.1 registration, login and authentication").
var sectionLine = regexp.MustCompile(`^\d+(\.\d+)*\.?\s+\S`)

// policyParagraphs splits the policy into paragraphs, one a line, marking
// the short numbered lines as headings.
func policyParagraphs(text string) []policyParagraph {
	var out []policyParagraph
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		out = append(out, policyParagraph{Text: line, Heading: len(line) < 90 && sectionLine.MatchString(line)})
	}
	return out
}

// pagePrivacy shows the policy in force with its version and effective
// date, without login (P68).
func (s *Server) pagePrivacy() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := s.currentPolicy()
		v := &privacyView{pageBase: s.newBase(w, r, "privacy.title"), Version: p.Version,
			Effective: p.Effective.Format(time.DateOnly), Paragraphs: policyParagraphs(p.Text)}
		s.render(w, r, http.StatusOK, "privacy", v)
	})
}

type loginView struct {
	pageBase
	Phone    string
	CodeSent bool
	// CodeMinutes is how long a code stays valid.
	CodeMinutes int
	// Form names the form the errors belong to: "code" or "password".
	Form          string
	Err           formErrors
	PolicyVersion string
	// Accepted keeps the policy box ticked when the form comes back.
	Accepted bool
	// AgeBand and GuardianAck keep the sign-up's age answers (P70).
	AgeBand     string
	GuardianAck bool
	// GuardianDays is how long a child under 14 has for a guardian's
	// consent.
	GuardianDays int
}

// CodeErr returns the errors of the code form.
func (v *loginView) CodeErr() formErrors {
	if v.Form == "code" {
		return v.Err
	}
	return formErrors{}
}

// PasswordErr returns the errors of the password form.
func (v *loginView) PasswordErr() formErrors {
	if v.Form == "password" {
		return v.Err
	}
	return formErrors{}
}

func (s *Server) newLoginView(w http.ResponseWriter, r *http.Request) *loginView {
	return &loginView{pageBase: s.newBase(w, r, "login.title"), Form: "code",
		CodeMinutes: int(s.identity.Config().CodeTTL.Minutes()), PolicyVersion: s.currentPolicy().Version,
		GuardianDays: int(s.minors.Config().GuardianDeadline.Hours() / 24)}
}

// pageLoginShow shows the login form; a logged-in visitor goes to /me.
func (s *Server) pageLoginShow() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := s.newLoginView(w, r)
		if v.User != nil {
			seeOther(w, r, "/me")
			return
		}
		s.render(w, r, http.StatusOK, "login", v)
	})
}

// pageLoginCode sends a login code and shows the form again with the
// phone kept, ready for the code.
func (s *Server) pageLoginCode() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := s.newLoginView(w, r)
		v.Phone = strings.TrimSpace(r.PostForm.Get("phone"))
		v.Accepted = r.PostForm.Get("accept_policy_version") != ""
		v.AgeBand, v.GuardianAck = r.PostForm.Get("age_band"), r.PostForm.Get("guardian_acknowledged") != ""
		if err := s.identity.SendCode(r.Context(), v.Phone, clientIP(r)); err != nil {
			v.Err = s.formErr(r, v.Lang, err)
			s.render(w, r, v.Err.Status, "login", v)
			return
		}
		v.CodeSent = true
		s.render(w, r, http.StatusOK, "login", v)
	})
}

// pageLogin logs in with a code (a first login creates the account, with
// the policy accepted) or with a password, and sets the session cookie.
func (s *Server) pageLogin() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := r.PostForm
		req := identity.LoginRequest{
			Phone: strings.TrimSpace(f.Get("phone")), Channel: "web", Kind: identity.SessionWeb, UserAgent: r.UserAgent(),
		}
		form := "code"
		if f.Get("method") == "password" {
			form, req.Password = "password", f.Get("password")
		} else {
			req.Code, req.AcceptPolicyVersion = strings.TrimSpace(f.Get("code")), f.Get("accept_policy_version")
			req.AgeBand, req.GuardianAcknowledged = f.Get("age_band"), f.Get("guardian_acknowledged") != ""
		}
		res, err := s.identity.Login(r.Context(), req)
		if err != nil {
			v := s.newLoginView(w, r)
			v.Phone, v.Form, v.Accepted = req.Phone, form, req.AcceptPolicyVersion != ""
			v.AgeBand, v.GuardianAck = req.AgeBand, req.GuardianAcknowledged
			v.CodeSent = form == "code" // the person has a code in hand; keep the code field first
			v.Err = s.formErr(r, v.Lang, err)
			s.render(w, r, v.Err.Status, "login", v)
			return
		}
		// Logging in over a live web session ends that one, rather than
		// leave it behind without its cookie.
		if prev, _ := s.webAuth(w, r); prev != nil {
			if err := s.identity.Logout(r.Context(), *prev); err != nil {
				s.logPageError(r, yuncan.AsError(err), err)
			}
		}
		s.setSessionCookie(w, r, res.Token, res.Session.ExpiresAt)
		if res.Created {
			seeOther(w, r, "/me?ok=welcome_created")
			return
		}
		seeOther(w, r, "/me?ok=welcome")
	})
}

// pageLogout ends the web session and clears its cookie.
func (s *Server) pageLogout() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.identity.Logout(r.Context(), authOf(r)); err != nil {
			s.pageError(w, r, err)
			return
		}
		s.clearSessionCookie(w, r)
		seeOther(w, r, "/?ok=logged_out")
	})
}
