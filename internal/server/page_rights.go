package server

import (
	"net/http"
	"net/url"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/rights"
)

// "Download my data" in the privacy center (P65, PIPL Art. 45): ask for an
// archive, watch its progress, get a download link. The link needs the
// web session too: it is served only behind the login, to its owner.
// The rules are the rights area's, as for the JSON API (api_rights.go).

type exportRow struct {
	ID, Status, Created, Ready, Expires string
	Progress                            int
	IsReady                             bool
}

type privacyExportView struct {
	pageBase
	Exports []exportRow
	Err     formErrors
	// Link is a download link just made, and LinkExpires its expiry.
	Link, LinkExpires, LinkFor string
}

var rightsMessages = map[string][2]string{
	"privacy.export.title":           {"下载我的数据", "Download my data"},
	"privacy.export.lead":            {"您可以获取我们保存的与您有关的全部个人信息的副本（JSON 数据、原始照片和说明文件），每周一次。生成后保留 7 天；下载链接 24 小时内有效。", "Get a copy of all the personal information we hold about you (JSON data, your original photos and a README), once a week. An archive is kept for 7 days; a download link works for 24 hours."},
	"privacy.export.request":         {"申请导出", "Ask for my data"},
	"privacy.export.none":            {"您还没有申请过导出。", "You have not asked for your data yet."},
	"privacy.export.link":            {"获取下载链接", "Get a download link"},
	"privacy.export.download":        {"下载（链接 %s 前有效）", "Download (the link works until %s)"},
	"privacy.export.refresh":         {"刷新进度", "Refresh"},
	"privacy.export.status.queued":   {"排队中", "Queued"},
	"privacy.export.status.building": {"生成中", "Building"},
	"privacy.export.status.ready":    {"已就绪", "Ready"},
	"privacy.export.status.failed":   {"失败", "Failed"},
	"privacy.export.status.expired":  {"已删除", "Deleted"},
	"privacy.export.created":         {"申请于 %s", "Asked %s"},
	"privacy.export.expires":         {"%s 删除", "Deleted %s"},
	"privacy.export.progress":        {"进度 %d%%", "Progress %d%%"},
	"privacy.center.export":          {"下载我的数据", "Download my data"},
	"flash.export_requested":         {"已收到导出申请，生成后即可下载。", "Your request is in: the archive can be downloaded once it is built."},
}

func init() {
	for k, m := range rightsMessages {
		if _, dup := messages[k]; dup {
			panic("server: message " + k + " is defined twice")
		}
		messages[k] = m
	}
}

func (s *Server) newPrivacyExportView(w http.ResponseWriter, r *http.Request) (*privacyExportView, error) {
	if s.rights == nil {
		return nil, errNoRights
	}
	v := &privacyExportView{pageBase: s.newBase(w, r, "privacy.export.title")}
	xs, err := s.rights.Exports(r.Context(), authOf(r).User.ID)
	if err != nil {
		return nil, err
	}
	day := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	}
	for _, x := range xs {
		v.Exports = append(v.Exports, exportRow{ID: x.ID, Status: string(x.Status), Created: day(x.CreatedAt), Ready: day(x.ReadyAt),
			Expires: day(x.ExpiresAt), Progress: x.Progress, IsReady: x.Status == rights.StatusReady})
	}
	return v, nil
}

// pagePrivacyExport shows the person's export requests.
func (s *Server) pagePrivacyExport() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := s.newPrivacyExportView(w, r)
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		s.render(w, r, http.StatusOK, "privacy_export", v)
	})
}

// pageExportRequest asks for an archive; inside the week the page says
// when the next one can be asked for.
func (s *Server) pageExportRequest() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.rights == nil {
			s.pageError(w, r, errNoRights)
			return
		}
		if _, err := s.rights.RequestExport(r.Context(), authOf(r).User.ID); err != nil {
			s.exportPageRefused(w, r, err)
			return
		}
		seeOther(w, r, "/me/privacy/export?ok=export_requested")
	})
}

// pageExportLink makes a download link and shows it once.
func (s *Server) pageExportLink() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.rights == nil {
			s.pageError(w, r, errNoRights)
			return
		}
		id := r.PathValue("id")
		token, exp, err := s.rights.Link(r.Context(), authOf(r).User.ID, id)
		if err != nil {
			s.exportPageRefused(w, r, err)
			return
		}
		v, err := s.newPrivacyExportView(w, r)
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		v.Link = "/me/privacy/export/" + url.PathEscape(id) + "/download?token=" + url.QueryEscape(token)
		v.LinkExpires, v.LinkFor = exp.UTC().Format("2006-01-02 15:04 UTC"), id
		s.render(w, r, http.StatusOK, "privacy_export", v)
	})
}

func (s *Server) exportPageRefused(w http.ResponseWriter, r *http.Request, err error) {
	if yuncan.ErrorCode(err) == yuncan.NotFound {
		s.pageError(w, r, err)
		return
	}
	v, verr := s.newPrivacyExportView(w, r)
	if verr != nil {
		s.pageError(w, r, verr)
		return
	}
	v.Err = s.formErr(r, v.Lang, err)
	s.render(w, r, v.Err.Status, "privacy_export", v)
}

// pageExportDownload streams the archive to its logged-in owner with the
// link's token; anything else is the 404 page.
func (s *Server) pageExportDownload() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.rights == nil {
			s.pageError(w, r, errNoRights)
			return
		}
		s.serveExport(w, r, authOf(r).User.ID, func(err error) { s.pageError(w, r, err) })
	})
}
