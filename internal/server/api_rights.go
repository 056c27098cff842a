package server

import (
	"net/http"
	"net/url"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/rights"
)

// The rights of access and copy (policy 6.3, PIPL Art. 45, P65): a person
// asks for an archive of everything held about them, a job builds it
// (rights.Service.BuildExports), and they download it through an
// expiring link that also needs their login. The rights area holds the
// rules.

var errNoRights = &yuncan.Error{Code: yuncan.Unavailable, Message: "data export is not available on this server"}

// withRights checks the rights service is wired.
func (s *Server) withRights(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.rights == nil {
			s.writeError(w, r, errNoRights)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		next(w, r)
	})
}

type exportJSON struct {
	ID        string  `json:"id"`
	Status    string  `json:"status"`
	Progress  int     `json:"progress"`
	SizeBytes int64   `json:"size_bytes"`
	CreatedAt string  `json:"created_at"`
	ReadyAt   *string `json:"ready_at"`
	ExpiresAt *string `json:"expires_at"`
}

func timeOrNil(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC3339)
	return &s
}

func exportOut(x rights.Export) exportJSON {
	return exportJSON{ID: x.ID, Status: string(x.Status), Progress: x.Progress, SizeBytes: x.SizeBytes,
		CreatedAt: x.CreatedAt.UTC().Format(time.RFC3339), ReadyAt: timeOrNil(x.ReadyAt), ExpiresAt: timeOrNil(x.ExpiresAt)}
}

// handleExportCreate asks for an archive: 202 with the queued request,
// 429 with Retry-After inside the week.
func (s *Server) handleExportCreate() http.Handler {
	return s.withRights(func(w http.ResponseWriter, r *http.Request) {
		x, err := s.rights.RequestExport(r.Context(), authOf(r).User.ID)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusAccepted, exportOut(x))
	})
}

type exportListJSON struct {
	Exports []exportJSON `json:"exports"`
}

// handleExportList lists the caller's requests with status and progress.
func (s *Server) handleExportList() http.Handler {
	return s.withRights(func(w http.ResponseWriter, r *http.Request) {
		xs, err := s.rights.Exports(r.Context(), authOf(r).User.ID)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		out := exportListJSON{Exports: []exportJSON{}}
		for _, x := range xs {
			out.Exports = append(out.Exports, exportOut(x))
		}
		encode(w, http.StatusOK, out)
	})
}

type exportLinkJSON struct {
	URL       string `json:"url"`
	ExpiresAt string `json:"expires_at"`
}

// handleExportLink makes a download link for a ready archive of the
// caller (a new token each time; the last one made is the one that
// works).
func (s *Server) handleExportLink() http.Handler {
	return s.withRights(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		token, exp, err := s.rights.Link(r.Context(), authOf(r).User.ID, id)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, exportLinkJSON{URL: "/api/v1/me/exports/" + url.PathEscape(id) + "/download?token=" + url.QueryEscape(token),
			ExpiresAt: exp.UTC().Format(time.RFC3339)})
	})
}

// handleExportDownload streams the archive: the caller's own, with the
// current unexpired token; anything else is 404.
func (s *Server) handleExportDownload() http.Handler {
	return s.withRights(func(w http.ResponseWriter, r *http.Request) {
		s.serveExport(w, r, authOf(r).User.ID, func(err error) { s.writeError(w, r, err) })
	})
}

// serveExport is the download, for the API and the page alike; fail
// answers a refusal in the caller's form.
func (s *Server) serveExport(w http.ResponseWriter, r *http.Request, userID string, fail func(error)) {
	f, x, err := s.rights.Open(r.Context(), userID, r.PathValue("id"), r.URL.Query().Get("token"))
	if err != nil {
		fail(err)
		return
	}
	defer f.Close()
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", `attachment; filename="yuncan-export-`+x.CreatedAt.UTC().Format("20060102")+`.zip"`)
	w.Header().Set("Referrer-Policy", "no-referrer")
	http.ServeContent(w, r, "", x.ReadyAt, f)
}
