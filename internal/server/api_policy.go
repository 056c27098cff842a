package server

import (
	"net/http"
	"net/url"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/identity"
)

// Policy versions (policy section 8): the history and each version are
// public, like the policy itself (P68); a signed-in person sees a new
// version as a notice and accepts it (P72); admins publish versions.

// currentPolicy is the version in force. The pages and the inventory
// should name it too, rather than the embedded base.
func (s *Server) currentPolicy() consent.Policy { return s.versions.Current() }

// requireRole lets a request through only when the caller's account has
// one of roles; it runs inside requireAuth. Staff routes all use it.
func (s *Server) requireRole(next http.Handler, roles ...identity.Role) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		role := authOf(r).User.Role
		for _, allowed := range roles {
			if role == allowed {
				next.ServeHTTP(w, r)
				return
			}
		}
		s.writeError(w, r, yuncan.Errorf(yuncan.Forbidden, "this is for staff only"))
	})
}

type policyVersionJSON struct {
	Version string `json:"version"`
	// Effective is the day (UTC) the version takes effect, as in GET
	// /privacy/policy; EffectiveAt is the exact time.
	Effective       string   `json:"effective"`
	EffectiveAt     string   `json:"effective_at"`
	PublishedAt     string   `json:"published_at"`
	Summary         string   `json:"summary"`
	ChangedPurposes []string `json:"changed_purposes"`
	ReducesRights   bool     `json:"reduces_rights"`
	AddsPurposes    bool     `json:"adds_purposes"`
}

type policyVersionTextJSON struct {
	policyVersionJSON
	Text string `json:"text"`
}

func policyVersionOf(p consent.Policy, lang string) policyVersionJSON {
	purposes := make([]string, len(p.ChangedPurposes))
	for i, pu := range p.ChangedPurposes {
		purposes[i] = string(pu)
	}
	return policyVersionJSON{Version: p.Version, Effective: p.Effective.UTC().Format(time.DateOnly),
		EffectiveAt: p.Effective.UTC().Format(time.RFC3339Nano), PublishedAt: p.PublishedAt.UTC().Format(time.RFC3339Nano),
		Summary: p.Summary.In(lang), ChangedPurposes: purposes, ReducesRights: p.ReducesRights, AddsPurposes: p.AddsPurposes}
}

// handlePolicyHistory lists every version, newest first, including any
// published to take effect later (P72).
func (s *Server) handlePolicyHistory() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lang := apiLang(r)
		h := s.versions.History()
		out := make([]policyVersionJSON, 0, len(h))
		for _, p := range h {
			out = append(out, policyVersionOf(p, lang))
		}
		encode(w, http.StatusOK, map[string]any{"versions": out})
	})
}

// handlePolicyVersionShow serves one version with its full text.
func (s *Server) handlePolicyVersionShow() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.versions.Version(r.Context(), r.PathValue("version"))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, policyVersionTextJSON{policyVersionOf(p, apiLang(r)), p.Text})
	})
}

// handlePolicyAccept records that the caller accepts the version in
// force; until then the purposes a rights-reducing version changed stay
// held back (P72).
func (s *Server) handlePolicyAccept() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.versions.Accept(r.Context(), authOf(r).User.ID, r.PathValue("version"), channelOf(r)); err != nil {
			s.writeError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

type noticeJSON struct {
	Kind      string `json:"kind"`
	Version   string `json:"version"`
	Summary   string `json:"summary"`
	Effective string `json:"effective"`
}

// handleNoticeList lists what the app shows the caller on the next visit:
// for now, a privacy policy the caller has not accepted yet (P72).
func (s *Server) handleNoticeList() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, pending, err := s.versions.Pending(r.Context(), authOf(r).User.ID)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		out := []noticeJSON{}
		if pending {
			out = append(out, noticeJSON{Kind: "policy_updated", Version: p.Version, Summary: p.Summary.In(apiLang(r)),
				Effective: p.Effective.UTC().Format(time.DateOnly)})
		}
		encode(w, http.StatusOK, map[string]any{"notices": out})
	})
}

// maxPolicyBody bounds a published version: a full policy in Chinese and
// English outgrows the usual JSON limit.
const maxPolicyBody = 1 << 20

type policyVersionCreateRequest struct {
	Version string `json:"version"`
	// Effective is an RFC 3339 time or a date (midnight UTC); empty means
	// now.
	Effective       string   `json:"effective"`
	Text            string   `json:"text"`
	SummaryZH       string   `json:"summary_zh"`
	SummaryEN       string   `json:"summary_en"`
	ChangedPurposes []string `json:"changed_purposes"`
	ReducesRights   bool     `json:"reduces_rights"`
	AddsPurposes    bool     `json:"adds_purposes"`
}

func (req policyVersionCreateRequest) publishRequest() (consent.PublishRequest, error) {
	var eff time.Time
	if req.Effective != "" {
		var err error
		if eff, err = time.Parse(time.RFC3339Nano, req.Effective); err != nil {
			if eff, err = time.Parse(time.DateOnly, req.Effective); err != nil {
				return consent.PublishRequest{}, yuncan.FieldError("effective", "must be an RFC 3339 time or a date (YYYY-MM-DD)")
			}
		}
	}
	ps := make([]consent.Purpose, len(req.ChangedPurposes))
	for i, p := range req.ChangedPurposes {
		ps[i] = consent.Purpose(p)
	}
	return consent.PublishRequest{Version: req.Version, Effective: eff, Text: req.Text,
		Summary: consent.Text{ZH: req.SummaryZH, EN: req.SummaryEN}, ChangedPurposes: ps,
		ReducesRights: req.ReducesRights, AddsPurposes: req.AddsPurposes}, nil
}

// handlePolicyVersionCreate publishes a new version (admins only). Every
// account sees it as a notice from its effective time on (P72).
func (s *Server) handlePolicyVersionCreate() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body policyVersionCreateRequest
		if err := decodeLimit(w, r, &body, maxPolicyBody); err != nil {
			s.writeError(w, r, err)
			return
		}
		req, err := body.publishRequest()
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		p, err := s.versions.Publish(r.Context(), authOf(r).User.ID, req)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		w.Header().Set("Location", "/api/v1/privacy/policy/"+url.PathEscape(p.Version))
		encode(w, http.StatusCreated, policyVersionOf(p, apiLang(r)))
	})
}
