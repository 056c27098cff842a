package server

import (
	"net/http"
	"strings"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/audit"
	"github.com/yuncan/yuncan/internal/rights"
)

// Ceasing operations (policy 6.7, P69): an admin declares it; from then on
// every request that would collect personal data is refused with 503
// service_ceased, while people can still log in, read, download their
// data, cancel, withdraw consents, delete things and write to us; the
// public status carries the announcement. The rights area holds the rules
// and the purge job.

// stillOpen are the writes a ceasing service keeps taking: logging in and
// out, the rights requests (export, cancellation, complaints), the staff
// and admin consoles. Everything else that writes is collection.
var stillOpen = []string{
	"/api/v1/auth/", "/login", "/logout",
	"/api/v1/me/exports", "/me/privacy/export",
	"/api/v1/me/cancellation", "/me/privacy/cancel",
	"/api/v1/tickets", "/help/",
	"/api/v1/admin/", "/api/v1/staff/", "/api/v1/review/", "/staff/",
	"/api/v1/inbox/",
}

var errCeased = &yuncan.Error{Code: yuncan.Unavailable, Reason: "service_ceased",
	Message: "the service is ceasing operations and no longer takes new data; you can still download your data or cancel your account"}

// refuseCollectionWhenCeased is the P69 gate in front of every route.
func (s *Server) refuseCollectionWhenCeased(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodDelete:
			next.ServeHTTP(w, r)
			return
		}
		if s.rights == nil || !s.rights.Ceasing(r.Context()) {
			next.ServeHTTP(w, r)
			return
		}
		for _, p := range stillOpen {
			if strings.HasPrefix(r.URL.Path, p) {
				next.ServeHTTP(w, r)
				return
			}
		}
		// Withdrawing a consent is a POST on the pages.
		if strings.HasPrefix(r.URL.Path, "/me/privacy/consents/") && strings.HasSuffix(r.URL.Path, "/withdraw") {
			next.ServeHTTP(w, r)
			return
		}
		if strings.HasPrefix(r.URL.Path, "/api/") {
			s.writeError(w, r, errCeased)
			return
		}
		s.pageError(w, r, errCeased)
	})
}

type ceaseJSON struct {
	Ceasing    bool    `json:"ceasing"`
	DeclaredAt *string `json:"declared_at"`
	PurgeAt    *string `json:"purge_at"`
	NoticeZH   string  `json:"notice_zh"`
	NoticeEN   string  `json:"notice_en"`
}

func ceaseOut(c rights.Cease, ok bool) ceaseJSON {
	if !ok {
		return ceaseJSON{}
	}
	return ceaseJSON{Ceasing: true, DeclaredAt: timeOrNil(c.DeclaredAt), PurgeAt: timeOrNil(c.PurgeAt), NoticeZH: c.NoticeZH, NoticeEN: c.NoticeEN}
}

// handleServiceStatus is the public announcement: whether operations are
// ceasing, since when, when everything is erased, and the notice.
func (s *Server) handleServiceStatus() http.Handler {
	return s.withRights(func(w http.ResponseWriter, r *http.Request) {
		c, ok := s.rights.CeaseStatus(r.Context())
		encode(w, http.StatusOK, ceaseOut(c, ok))
	})
}

type ceaseRequestJSON struct {
	NoticeZH   string `json:"notice_zh"`
	NoticeEN   string `json:"notice_en"`
	NoticeDays int    `json:"notice_days"`
}

// handleCeaseDeclare declares that operations cease (admins; audited).
func (s *Server) handleCeaseDeclare() http.Handler {
	return s.withRights(func(w http.ResponseWriter, r *http.Request) {
		var req ceaseRequestJSON
		if err := decode(w, r, &req); err != nil {
			s.writeError(w, r, err)
			return
		}
		if req.NoticeDays < 0 || req.NoticeDays > 3650 {
			s.writeError(w, r, yuncan.FieldError("notice_days", "must be between 30 and 3650"))
			return
		}
		if s.audit == nil {
			s.writeError(w, r, errNoAudit)
			return
		}
		c, err := s.rights.DeclareCease(r.Context(), rights.CeaseRequest{NoticeZH: req.NoticeZH, NoticeEN: req.NoticeEN,
			Notice: time.Duration(req.NoticeDays) * 24 * time.Hour})
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		a := s.auditActor(r)
		if _, err := s.audit.Append(r.Context(), audit.Record{ActorID: a.UserID, ActorRole: a.Role, Action: "service.cease", TargetKind: "service",
			TargetID: "operations", Reason: "purge at " + c.PurgeAt.UTC().Format(time.RFC3339)}); err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusCreated, ceaseOut(c, true))
	})
}

// ceaseBanner is the announcement as the layout shows it.
type ceaseBanner struct {
	Notice, PurgeAt string
}

var ceaseMessages = map[string][2]string{
	"cease.title":      {"服务状态", "Service status"},
	"cease.none":       {"云寻正常运营。", "Yuncan is operating normally."},
	"cease.purge_at":   {"%s 起，我们将删除或匿名化全部个人信息。", "From %s all personal information will be deleted or anonymised."},
	"cease.what_to_do": {"我们已停止收集新的个人信息。在此之前，您可以下载您的数据或注销账号。", "We no longer collect new personal information. Until then you can download your data or cancel your account."},
}

func init() {
	for k, m := range ceaseMessages {
		if _, dup := messages[k]; dup {
			panic("server: message " + k + " is defined twice")
		}
		messages[k] = m
	}
}

func (s *Server) ceaseBannerFor(r *http.Request, lang string) *ceaseBanner {
	if s.rights == nil {
		return nil
	}
	c, ok := s.rights.CeaseStatus(r.Context())
	if !ok {
		return nil
	}
	b := &ceaseBanner{Notice: c.NoticeZH, PurgeAt: c.PurgeAt.UTC().Format(time.DateOnly)}
	if lang == "en" {
		b.Notice = c.NoticeEN
	}
	return b
}

// pageServiceStatus is the public announcement page.
func (s *Server) pageServiceStatus() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := s.newBase(w, r, "cease.title")
		s.render(w, r, http.StatusOK, "privacy_status", &v)
	})
}
