package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/incidents"
)

// Security incidents (policy 5f; P54): admins declare an incident with
// the five elements and who is affected, follow the notification of the
// affected accounts, mark the regulator report submitted and close it;
// anyone reads the announcements of incidents that affect everyone. The
// incidents area holds the rules; admin routes sit behind requireRole
// and the area checks the role again.

var errNoIncidents = &yuncan.Error{Code: yuncan.Unavailable, Message: "security incidents are not available on this server"}

// maxIncidentBody bounds a declaration: up to incidents.MaxAffected
// account ids.
const maxIncidentBody = 1 << 20

// withIncidents checks the incidents service is wired and passes the
// caller as its actor.
func (s *Server) withIncidents(next func(w http.ResponseWriter, r *http.Request, a incidents.Actor)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.incidents == nil {
			s.writeError(w, r, errNoIncidents)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		next(w, r, incidents.ActorOf(authOf(r).User))
	})
}

// incidentTextJSON is the notice in one language: the five elements.
type incidentTextJSON struct {
	Lang         string `json:"lang"`
	WhatHappened string `json:"what_happened"`
	Impact       string `json:"impact"`
	Measures     string `json:"measures"`
	Advice       string `json:"advice"`
	Remedies     string `json:"remedies"`
}

func incidentTextOut(t incidents.Text) incidentTextJSON {
	return incidentTextJSON{Lang: string(t.Lang), WhatHappened: t.WhatHappened, Impact: t.Impact, Measures: t.Measures,
		Advice: t.Advice, Remedies: t.Remedies}
}

func (t incidentTextJSON) text() incidents.Text {
	return incidents.Text{Lang: incidents.Lang(t.Lang), WhatHappened: t.WhatHappened, Impact: t.Impact, Measures: t.Measures,
		Advice: t.Advice, Remedies: t.Remedies}
}

type incidentProgressJSON struct {
	Affected int  `json:"affected"`
	Notified int  `json:"notified"`
	Pending  int  `json:"pending"`
	Done     bool `json:"done"`
}

type regulatorReportJSON struct {
	Authority   string  `json:"authority"`
	Facts       string  `json:"facts"`
	CreatedAt   string  `json:"created_at"`
	Submitted   bool    `json:"submitted"`
	SubmittedAt *string `json:"submitted_at"`
	SubmittedBy *string `json:"submitted_by"`
	Reference   *string `json:"reference"`
}

type announcementRefJSON struct {
	ID  string `json:"id"`
	URL string `json:"url"`
}

// incidentJSON is an incident as admins see it.
type incidentJSON struct {
	ID           string `json:"id"`
	Severity     string `json:"severity"`
	Status       string `json:"status"`
	OccurredAt   string `json:"occurred_at"`
	DiscoveredAt string `json:"discovered_at"`
	DeclaredAt   string `json:"declared_at"`
	DeclaredBy   string `json:"declared_by"`
	// Affected is "all" or "listed".
	Affected        string               `json:"affected"`
	Texts           []incidentTextJSON   `json:"texts"`
	Progress        incidentProgressJSON `json:"progress"`
	NotifiedAt      *string              `json:"notified_at"`
	ClosedAt        *string              `json:"closed_at"`
	ClosedBy        *string              `json:"closed_by"`
	UpdatedAt       string               `json:"updated_at"`
	RegulatorReport regulatorReportJSON  `json:"regulator_report"`
	Announcement    *announcementRefJSON `json:"announcement"`
	URL             string               `json:"url"`
}

func incidentOut(i incidents.Incident) incidentJSON {
	j := incidentJSON{ID: i.ID, Severity: string(i.Severity), Status: string(i.Status), OccurredAt: *timePtr(i.OccurredAt),
		DiscoveredAt: *timePtr(i.DiscoveredAt), DeclaredAt: *timePtr(i.DeclaredAt), DeclaredBy: i.DeclaredBy, Affected: "listed",
		Texts: mapSlice(i.Texts, incidentTextOut), NotifiedAt: timePtr(i.NotifiedAt), ClosedAt: timePtr(i.ClosedAt),
		ClosedBy: strOrNil(i.ClosedBy), UpdatedAt: *timePtr(i.UpdatedAt), URL: "/api/v1/admin/incidents/" + i.ID,
		Progress: incidentProgressJSON{Affected: i.Progress.Affected, Notified: i.Progress.Notified, Pending: i.Progress.Pending, Done: i.Progress.Done}}
	if i.AffectedAll {
		j.Affected = "all"
	}
	rep := i.Report
	j.RegulatorReport = regulatorReportJSON{Authority: rep.Authority, Facts: rep.Facts, CreatedAt: *timePtr(rep.CreatedAt),
		Submitted: rep.Submitted(), SubmittedAt: timePtr(rep.SubmittedAt), SubmittedBy: strOrNil(rep.SubmittedBy), Reference: strOrNil(rep.Reference)}
	if i.AnnouncementID != "" {
		j.Announcement = &announcementRefJSON{ID: i.AnnouncementID, URL: incidents.AnnouncementLink(i.AnnouncementID)}
	}
	return j
}

// affectedJSON is "all" or a list of account ids.
type affectedJSON struct {
	All bool
	IDs []string
}

func (a *affectedJSON) UnmarshalJSON(b []byte) error {
	if bytes.HasPrefix(bytes.TrimSpace(b), []byte("[")) {
		if err := json.Unmarshal(b, &a.IDs); err != nil {
			return &fieldError{"affected", "must be \"all\" or an array of account ids"}
		}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil || s != "all" {
		return &fieldError{"affected", "must be \"all\" or an array of account ids"}
	}
	a.All = true
	return nil
}

type incidentCreateRequest struct {
	Severity     string             `json:"severity"`
	OccurredAt   string             `json:"occurred_at"`
	DiscoveredAt string             `json:"discovered_at"`
	Texts        []incidentTextJSON `json:"texts"`
	Affected     *affectedJSON      `json:"affected"`
	Authority    string             `json:"authority"`
}

// apiTime reads an optional RFC 3339 field; "" is the zero time.
func apiTime(field, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, yuncan.FieldError(field, "must be a date-time (RFC 3339)")
	}
	return t, nil
}

func (req incidentCreateRequest) input() (incidents.Input, error) {
	in := incidents.Input{Severity: incidents.Severity(req.Severity), Texts: mapSlice(req.Texts, incidentTextJSON.text), Authority: req.Authority}
	if req.Affected != nil {
		in.Affected = incidents.Affected{All: req.Affected.All, UserIDs: req.Affected.IDs}
	}
	var err error
	if in.OccurredAt, err = apiTime("occurred_at", req.OccurredAt); err != nil {
		return in, err
	}
	if in.DiscoveredAt, err = apiTime("discovered_at", req.DiscoveredAt); err != nil {
		return in, err
	}
	return in, nil
}

// handleIncidentCreate declares an incident (P54): the notification job
// tells the affected accounts; with "all", the announcement is public at
// once.
func (s *Server) handleIncidentCreate() http.Handler {
	return s.withIncidents(func(w http.ResponseWriter, r *http.Request, a incidents.Actor) {
		var req incidentCreateRequest
		if err := decodeLimit(w, r, &req, maxIncidentBody); err != nil {
			s.writeError(w, r, err)
			return
		}
		in, err := req.input()
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		i, err := s.incidents.Declare(r.Context(), a, in)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		w.Header().Set("Location", "/api/v1/admin/incidents/"+i.ID)
		encode(w, http.StatusCreated, incidentOut(i))
	})
}

// handleIncidentList lists incidents, newest first.
func (s *Server) handleIncidentList() http.Handler {
	return s.withIncidents(func(w http.ResponseWriter, r *http.Request, a incidents.Actor) {
		limit, err := queryLimit(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		q := r.URL.Query()
		items, next, err := s.incidents.List(r.Context(), a, incidents.Status(q.Get("status")), q.Get("cursor"), limit)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, map[string]any{"incidents": mapSlice(items, incidentOut), "next_cursor": strOrNil(next)})
	})
}

// handleIncidentShow shows an incident with its delivery progress and
// regulator report.
func (s *Server) handleIncidentShow() http.Handler {
	return s.withIncidents(func(w http.ResponseWriter, r *http.Request, a incidents.Actor) {
		i, err := s.incidents.Get(r.Context(), a, r.PathValue("id"))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, incidentOut(i))
	})
}

type regulatorReportRequest struct {
	Reference   string `json:"reference"`
	SubmittedAt string `json:"submitted_at"`
	Authority   string `json:"authority"`
}

// handleIncidentReport marks the regulator report submitted.
func (s *Server) handleIncidentReport() http.Handler {
	return s.withIncidents(func(w http.ResponseWriter, r *http.Request, a incidents.Actor) {
		var req regulatorReportRequest
		if err := decode(w, r, &req); err != nil {
			s.writeError(w, r, err)
			return
		}
		at, err := apiTime("submitted_at", req.SubmittedAt)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		i, err := s.incidents.SubmitReport(r.Context(), a, r.PathValue("id"), req.Reference, at, req.Authority)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, incidentOut(i))
	})
}

// handleIncidentClose closes an incident whose notices are all out.
func (s *Server) handleIncidentClose() http.Handler {
	return s.withIncidents(func(w http.ResponseWriter, r *http.Request, a incidents.Actor) {
		i, err := s.incidents.Close(r.Context(), a, r.PathValue("id"))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, incidentOut(i))
	})
}

// announcementJSON is a public announcement.
type announcementJSON struct {
	ID          string             `json:"id"`
	Kind        string             `json:"kind"`
	PublishedAt string             `json:"published_at"`
	Severity    string             `json:"severity"`
	OccurredAt  string             `json:"occurred_at"`
	Texts       []incidentTextJSON `json:"texts"`
	URL         string             `json:"url"`
}

func announcementOut(a incidents.Announcement) announcementJSON {
	return announcementJSON{ID: a.ID, Kind: "security_incident", PublishedAt: *timePtr(a.PublishedAt), Severity: string(a.Severity),
		OccurredAt: *timePtr(a.OccurredAt), Texts: mapSlice(a.Texts, incidentTextOut), URL: incidents.AnnouncementLink(a.ID)}
}

// handleAnnouncementList lists the public announcements, newest first:
// no login needed.
func (s *Server) handleAnnouncementList() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.incidents == nil {
			s.writeError(w, r, errNoIncidents)
			return
		}
		limit, err := queryLimit(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		items, next, err := s.incidents.Announcements(r.Context(), r.URL.Query().Get("cursor"), limit)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=60")
		encode(w, http.StatusOK, map[string]any{"announcements": mapSlice(items, announcementOut), "next_cursor": strOrNil(next)})
	})
}
