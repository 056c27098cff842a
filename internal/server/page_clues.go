package server

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/seeking"
)

// Clues and the masked relay on the pages (api_seeking_clues.go is the
// API twin). A clue is sent from the case page; its own page shows it,
// takes its photos, and holds the thread between the reporter and the
// clue-giver, neither of whom ever sees the other's number.

// clueInputOf reads the clue form. A position comes only from the
// browser (source "device", which the service lets through only with the
// precise location consent); a typed place is the person's own words.
func clueInputOf(f url.Values) (clueForm, seeking.ClueInput, error) {
	form := clueForm{Text: strings.TrimSpace(crlf(f.Get("text"))), SeenAt: f.Get("seen_at"), PlaceName: strings.TrimSpace(f.Get("place_name")),
		Lat: strings.TrimSpace(f.Get("lat")), Lng: strings.TrimSpace(f.Get("lng")), Source: f.Get("source")}
	in := seeking.ClueInput{Text: form.Text, PlaceName: form.PlaceName, Source: seeking.PointSource(form.Source)}
	e := yuncan.Errorf(yuncan.Invalid, "the clue has invalid fields")
	t, ok := parsePageTime(form.SeenAt)
	if !ok {
		e.WithField("seen_at", "must be a date and time")
	}
	in.SeenAt = t
	num := func(field, s string) *float64 {
		if s == "" {
			return nil
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			e.WithField(field, "must be a number")
			return nil
		}
		return &v
	}
	in.Lat, in.Lng = num("lat", form.Lat), num("lng", form.Lng)
	if len(e.Fields) > 0 {
		return form, in, e
	}
	return form, in, nil
}

// pageClueCreate sends a clue about a published case; its page then
// takes photos.
func (s *Server) pageClueCreate() http.Handler {
	return s.withWebViewer(func(w http.ResponseWriter, r *http.Request, v seeking.Viewer) {
		form, in, err := clueInputOf(r.PostForm)
		if err == nil {
			var c seeking.ClueView
			if c, err = s.seeking.AddClue(r.Context(), v, r.PathValue("id"), in); err == nil {
				seeOther(w, r, clueURL(r.PathValue("id"), c.ID)+"?ok=clue_sent")
				return
			}
		}
		s.caseFailed(w, r, err, func(cv *caseView, fe formErrors) {
			cv.ClueForm, cv.ClueErr = form, fe
			if e := yuncan.AsError(err); e.Reason == "consent_required" {
				cv.ClueErr.Message = translate(cv.Lang, "clue.consent_required")
			}
		})
	})
}

func clueURL(caseID, clueID string) string {
	return caseURL(caseID) + "/clues/" + url.PathEscape(clueID)
}

type messageRow struct {
	From string
	Mine bool
	Text string
	At   string
}

type clueView struct {
	pageBase
	CaseID   string
	CaseName string
	Clue     clueRow
	Photos   []string
	Messages []messageRow
	// Side is how the viewer stands to the clue: "reporter", "giver" or
	// "staff" (who read, audited, and review).
	Side       string
	Published  bool
	AuditQuery string
	MessageErr formErrors
	PhotoErr   formErrors
	ReviewErr  formErrors
	// MessageText keeps a refused message.
	MessageText string
}

// newClueView reads the clue and its thread as the viewer may see them;
// a staff read is audited with the reason given (?reason=).
func (s *Server) newClueView(w http.ResponseWriter, r *http.Request) (*clueView, error) {
	ctx := r.Context()
	viewer := seekingViewerOf(r)
	caseID, clueID := r.PathValue("id"), r.PathValue("clue")
	reason := strings.TrimSpace(r.URL.Query().Get("reason"))
	c, err := s.seeking.Case(ctx, viewer, caseID)
	if err != nil {
		return nil, err
	}
	cl, err := s.seeking.Clue(ctx, viewer, caseID, clueID, reason)
	if err != nil {
		return nil, err
	}
	ms, err := s.seeking.Messages(ctx, viewer, caseID, clueID, reason)
	if err != nil {
		return nil, err
	}
	v := &clueView{pageBase: s.newBase(w, r, "clue.title"), CaseID: c.ID, CaseName: c.Person.FullName, Published: c.Status == seeking.StatusPublished}
	v.Clue = clueRowOf(v.Lang, cl)
	switch {
	case c.Access == seeking.AccessReporter:
		v.Side = "reporter"
	case cl.Staff:
		v.Side = "staff"
		v.AuditQuery = "?" + url.Values{"reason": {reason}}.Encode()
	default:
		v.Side = "giver"
	}
	for _, p := range cl.Photos {
		v.Photos = append(v.Photos, clueURL(c.ID, cl.ID)+"/photos/"+url.PathEscape(p.ID)+v.AuditQuery)
	}
	for _, m := range ms {
		v.Messages = append(v.Messages, messageRow{From: messageOr(v.Lang, "relay.from."+string(m.From), string(m.From)), Mine: m.Mine,
			Text: m.Text, At: pageTime(m.CreatedAt)})
	}
	return v, nil
}

// pageClueShow shows one clue with its photos and relay thread.
func (s *Server) pageClueShow() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := s.newClueView(w, r)
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		s.render(w, r, http.StatusOK, "case_clue", v)
	})
}

// clueFailed shows the clue page again with a refused action's message.
func (s *Server) clueFailed(w http.ResponseWriter, r *http.Request, err error, set func(v *clueView, fe formErrors)) {
	fe := s.formErr(r, pageReqOf(r).lang, err)
	if fe.Status >= 500 || fe.Status == http.StatusNotFound || fe.Status == http.StatusUnauthorized {
		s.pageError(w, r, err)
		return
	}
	v, verr := s.newClueView(w, r)
	if verr != nil {
		s.pageError(w, r, verr)
		return
	}
	set(v, fe)
	s.render(w, r, fe.Status, "case_clue", v)
}

// pageMessageCreate writes into the relay thread behind a clue.
func (s *Server) pageMessageCreate() http.Handler {
	return s.withWebViewer(func(w http.ResponseWriter, r *http.Request, v seeking.Viewer) {
		text := crlf(r.PostForm.Get("text"))
		if _, err := s.seeking.SendMessage(r.Context(), v, r.PathValue("id"), r.PathValue("clue"), text); err != nil {
			s.clueFailed(w, r, err, func(cv *clueView, fe formErrors) { cv.MessageErr, cv.MessageText = fe, text })
			return
		}
		seeOther(w, r, clueURL(r.PathValue("id"), r.PathValue("clue"))+"?ok=message_sent#thread")
	})
}

// pageClueReview records staff's verdict on a clue: a verified clue
// becomes a new centre for alerts.
func (s *Server) pageClueReview() http.Handler {
	return s.withWebViewer(func(w http.ResponseWriter, r *http.Request, v seeking.Viewer) {
		f := r.PostForm
		_, err := s.seeking.ReviewClue(r.Context(), v, r.PathValue("id"), r.PathValue("clue"), seeking.ClueStatus(f.Get("verdict")), crlf(f.Get("note")))
		if err != nil {
			s.clueFailed(w, r, err, func(cv *clueView, fe formErrors) { cv.ReviewErr = fe })
			return
		}
		seeOther(w, r, clueURL(r.PathValue("id"), r.PathValue("clue"))+"?ok=clue_reviewed&reason=review")
	})
}

// pageCluePhotoAdd adds a photo to the viewer's clue; the image loses
// its metadata in the service.
func (s *Server) pageCluePhotoAdd() http.Handler {
	return s.withWebViewer(func(w http.ResponseWriter, r *http.Request, v seeking.Viewer) {
		body, ok := s.uploadPart(w, r, "photo")
		if !ok {
			return
		}
		err := body.err
		if err == nil {
			_, err = s.seeking.AddCluePhoto(r.Context(), v, r.PathValue("id"), r.PathValue("clue"), body.r)
		}
		if err != nil {
			s.clueFailed(w, r, err, func(cv *clueView, fe formErrors) { cv.PhotoErr = photoErr(fe) })
			return
		}
		seeOther(w, r, clueURL(r.PathValue("id"), r.PathValue("clue"))+"?ok=photo_added")
	})
}

// pageCluePhoto serves a clue's photo to whoever may see the clue (a
// staff read is audited by the service).
func (s *Server) pageCluePhoto() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := s.pageViewer(w, r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		f, err := s.seeking.OpenCluePhoto(r.Context(), v, r.PathValue("id"), r.PathValue("clue"), r.PathValue("photo"))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		servePhoto(w, r, f)
	})
}
