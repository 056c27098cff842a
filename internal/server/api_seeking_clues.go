package server

import (
	"net/http"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/seeking"
)

// Clues and the masked relay. Clues are seen by the case's reporter,
// moderators, partner police and the person who sent each; a staff read
// is audited (?reason= is kept in the record). Relay messages say only
// which side wrote them: no account id, nickname or phone of the other
// side is ever sent.

type pointJSON struct {
	Lat float64 `json:"lat"`
	Lng float64 `json:"lng"`
}

type clueJSON struct {
	ID         string      `json:"id"`
	CaseID     string      `json:"case_id"`
	Text       string      `json:"text"`
	SeenAt     *string     `json:"seen_at"`
	Point      *pointJSON  `json:"point"`
	PlaceName  string      `json:"place_name"`
	Source     string      `json:"source"`
	Status     string      `json:"status"`
	ReviewNote string      `json:"review_note"`
	ReviewedAt *string     `json:"reviewed_at"`
	Photos     []photoJSON `json:"photos"`
	Mine       bool        `json:"mine"`
	CreatedAt  string      `json:"created_at"`
	// AuthorID is shown to staff only; the reporter talks to the sender
	// through the relay.
	AuthorID string `json:"author_id,omitempty"`
}

func cluePhotoURL(caseID, clueID, photoID string) string {
	return "/api/v1/cases/" + caseID + "/clues/" + clueID + "/photos/" + photoID
}

func toClueJSON(c seeking.ClueView) clueJSON {
	j := clueJSON{ID: c.ID, CaseID: c.CaseID, Text: c.Text, SeenAt: timePtr(c.SeenAt), PlaceName: c.PlaceName, Source: string(c.Source),
		Status: string(c.Status), ReviewNote: c.ReviewNote, ReviewedAt: timePtr(c.ReviewedAt), Photos: []photoJSON{}, Mine: c.Mine,
		CreatedAt: c.CreatedAt.UTC().Format(time.RFC3339Nano)}
	if c.Point != nil {
		j.Point = &pointJSON{Lat: c.Point.Lat, Lng: c.Point.Lng}
	}
	for _, p := range c.Photos {
		j.Photos = append(j.Photos, photoJSON{ID: p.ID, URL: cluePhotoURL(c.CaseID, c.ID, p.ID), CreatedAt: p.CreatedAt.UTC().Format(time.RFC3339Nano)})
	}
	if c.Staff {
		j.AuthorID = c.AuthorID
	}
	return j
}

type clueRequest struct {
	Text      string   `json:"text"`
	SeenAt    string   `json:"seen_at"`
	Lat       *float64 `json:"lat"`
	Lng       *float64 `json:"lng"`
	PlaceName string   `json:"place_name"`
	// Source is "typed" (default) or "device": a position from the
	// device needs the precise_location consent.
	Source string `json:"source"`
}

func (c clueRequest) input() (seeking.ClueInput, error) {
	in := seeking.ClueInput{Text: c.Text, Lat: c.Lat, Lng: c.Lng, PlaceName: c.PlaceName, Source: seeking.PointSource(c.Source)}
	if c.SeenAt != "" {
		t, err := time.Parse(time.RFC3339, c.SeenAt)
		if err != nil {
			return in, yuncan.FieldError("seen_at", "must be a date-time as RFC 3339")
		}
		in.SeenAt = t
	}
	return in, nil
}

// handleClueCreate sends a clue about a published case. Floods are
// limited per account: 429 with Retry-After.
func (s *Server) handleClueCreate() http.Handler {
	return s.withViewer(func(w http.ResponseWriter, r *http.Request, v seeking.Viewer) {
		var req clueRequest
		if err := decode(w, r, &req); err != nil {
			s.writeError(w, r, err)
			return
		}
		in, err := req.input()
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		c, err := s.seeking.AddClue(r.Context(), v, r.PathValue("id"), in)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusCreated, toClueJSON(c))
	})
}

// handleClueList lists the clues of a case the caller may see: all for
// the reporter and staff, their own for anyone else.
func (s *Server) handleClueList() http.Handler {
	return s.withViewer(func(w http.ResponseWriter, r *http.Request, v seeking.Viewer) {
		cs, err := s.seeking.Clues(r.Context(), v, r.PathValue("id"), r.URL.Query().Get("reason"))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		out := mapSlice(cs, toClueJSON)
		encode(w, http.StatusOK, map[string]any{"clues": out})
	})
}

// handleClueShow shows one clue the caller may see.
func (s *Server) handleClueShow() http.Handler {
	return s.withViewer(func(w http.ResponseWriter, r *http.Request, v seeking.Viewer) {
		c, err := s.seeking.Clue(r.Context(), v, r.PathValue("id"), r.PathValue("clue"), r.URL.Query().Get("reason"))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, toClueJSON(c))
	})
}

type clueReviewRequest struct {
	Verdict string `json:"verdict"` // verified, dismissed
	Note    string `json:"note"`
}

// handleClueReview records a moderator's or partner police officer's
// verdict on a clue; a verified clue becomes a new alert centre.
func (s *Server) handleClueReview() http.Handler {
	return s.withViewer(func(w http.ResponseWriter, r *http.Request, v seeking.Viewer) {
		var req clueReviewRequest
		if err := decode(w, r, &req); err != nil {
			s.writeError(w, r, err)
			return
		}
		c, err := s.seeking.ReviewClue(r.Context(), v, r.PathValue("id"), r.PathValue("clue"), seeking.ClueStatus(req.Verdict), req.Note)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, toClueJSON(c))
	})
}

// handleCluePhotoAdd adds a photo to the caller's clue, metadata stripped.
func (s *Server) handleCluePhotoAdd() http.Handler {
	return s.withViewer(func(w http.ResponseWriter, r *http.Request, v seeking.Viewer) {
		body, err := photoBody(w, r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		caseID, clueID := r.PathValue("id"), r.PathValue("clue")
		p, err := s.seeking.AddCluePhoto(r.Context(), v, caseID, clueID, body)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusCreated, photoJSON{ID: p.ID, URL: cluePhotoURL(caseID, clueID, p.ID), CreatedAt: p.CreatedAt.UTC().Format(time.RFC3339Nano)})
	})
}

// handleCluePhotoShow serves a clue's photo to whoever may see the clue.
func (s *Server) handleCluePhotoShow() http.Handler {
	return s.withViewer(func(w http.ResponseWriter, r *http.Request, v seeking.Viewer) {
		f, err := s.seeking.OpenCluePhoto(r.Context(), v, r.PathValue("id"), r.PathValue("clue"), r.PathValue("photo"))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		servePhoto(w, r, f)
	})
}

type messageJSON struct {
	ID        string `json:"id"`
	From      string `json:"from"` // reporter, clue_giver
	Mine      bool   `json:"mine"`
	Text      string `json:"text"`
	CreatedAt string `json:"created_at"`
}

func toMessageJSON(m seeking.MessageView) messageJSON {
	return messageJSON{ID: m.ID, From: string(m.From), Mine: m.Mine, Text: m.Text, CreatedAt: m.CreatedAt.UTC().Format(time.RFC3339Nano)}
}

type messageRequest struct {
	Text string `json:"text"`
}

// handleMessageCreate writes into the relay thread behind a clue, as the
// case's reporter or as the clue's sender.
func (s *Server) handleMessageCreate() http.Handler {
	return s.withViewer(func(w http.ResponseWriter, r *http.Request, v seeking.Viewer) {
		var req messageRequest
		if err := decode(w, r, &req); err != nil {
			s.writeError(w, r, err)
			return
		}
		m, err := s.seeking.SendMessage(r.Context(), v, r.PathValue("id"), r.PathValue("clue"), req.Text)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusCreated, toMessageJSON(m))
	})
}

// handleMessageList reads the relay thread behind a clue.
func (s *Server) handleMessageList() http.Handler {
	return s.withViewer(func(w http.ResponseWriter, r *http.Request, v seeking.Viewer) {
		ms, err := s.seeking.Messages(r.Context(), v, r.PathValue("id"), r.PathValue("clue"), r.URL.Query().Get("reason"))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		out := mapSlice(ms, toMessageJSON)
		encode(w, http.StatusOK, map[string]any{"messages": out})
	})
}
