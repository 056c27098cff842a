package server

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/notify"
)

// The inbox page (api_inbox.go is the API twin): the list with "why you
// got this", mark read, open, and the "X" with reasons that shields
// similar pushes (P56). A small script keeps it live: it listens to the
// API's event stream (which knows the web login) and, on each new item,
// fetches this page again and swaps the list, so the items are drawn by
// one template only.

// pageInboxMax is how many items the page shows at once.
const pageInboxMax = 50

type inboxItem struct {
	ID    string
	Kind  string
	Title string
	Body  string
	At    string
	Read  bool
	// Why says why the person got it: the ring and roughly how far.
	Why     string
	Link    string
	Reasons []reasonOption
}

type reasonOption struct{ Value, Label string }

type inboxView struct {
	pageBase
	Items  []inboxItem
	Unread int
	// Stream is the live stream's address, starting after the newest
	// item this page drew, so that nothing falls between.
	Stream string
	More   string
	Err    string
	ErrID  string
}

// userInbox is the web login as an inbox subject.
func userInbox(r *http.Request) notify.Subject { return notify.User(authOf(r).User.ID) }

// whyText is the "why you got this" line of an alert.
func whyText(lang string, d notify.Data) string {
	switch {
	case d.Ring > 0 && d.DistanceKM > 0:
		return translate(lang, "inbox.why.ring_km", d.Ring, d.DistanceKM)
	case d.DistanceKM > 0:
		return translate(lang, "inbox.why.km", d.DistanceKM)
	case d.Ring > 0:
		return translate(lang, "inbox.why.ring", d.Ring)
	}
	return ""
}

func (s *Server) newInboxView(w http.ResponseWriter, r *http.Request) (*inboxView, error) {
	cursor := ""
	if r.Method == http.MethodGet {
		cursor = r.URL.Query().Get("cursor")
	}
	p, err := s.inbox.List(r.Context(), userInbox(r), cursor, pageInboxMax)
	if err != nil {
		return nil, err
	}
	v := &inboxView{pageBase: s.newBase(w, r, "inbox.title"), Unread: p.Unread}
	newest := notify.Position{}
	if len(p.Items) > 0 && cursor == "" {
		newest = notify.PositionOf(p.Items[0])
	}
	v.Stream = "/api/v1/inbox/stream?" + url.Values{"last_event_id": {newest.String()}}.Encode()
	for _, n := range p.Items {
		if !n.DismissedAt.IsZero() {
			continue // the "X" hid it
		}
		it := inboxItem{ID: n.ID, Kind: messageOr(v.Lang, "inbox.kind."+string(n.Kind), string(n.Kind)), Title: n.Title, Body: n.Body,
			At: pageTime(n.CreatedAt), Read: !n.ReadAt.IsZero(), Why: whyText(v.Lang, n.Data), Link: n.Data.Link}
		for _, rs := range n.Reasons() {
			it.Reasons = append(it.Reasons, reasonOption{Value: string(rs), Label: messageOr(v.Lang, "inbox.reason."+string(rs), string(rs))})
		}
		v.Items = append(v.Items, it)
	}
	if p.Next != "" {
		v.More = "/inbox?" + url.Values{"cursor": {p.Next}}.Encode()
	}
	return v, nil
}

// withPageInbox answers 503 when the inbox is not wired.
func (s *Server) withPageInbox(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.inbox == nil {
			s.pageError(w, r, errNoInbox)
			return
		}
		next(w, r)
	})
}

// pageInbox shows the inbox, newest first.
func (s *Server) pageInbox() http.Handler {
	return s.withPageInbox(func(w http.ResponseWriter, r *http.Request) {
		v, err := s.newInboxView(w, r)
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		s.render(w, r, http.StatusOK, "inbox", v)
	})
}

// inboxDone ends an inbox action: back to the list, or the list with
// the refusal beside its item.
func (s *Server) inboxDone(w http.ResponseWriter, r *http.Request, err error, to string) {
	if err == nil {
		seeOther(w, r, to)
		return
	}
	lang := pageReqOf(r).lang
	e := yuncan.AsError(err)
	if status := statusOf(e.Code); status >= 500 || status == http.StatusNotFound {
		s.pageError(w, r, err)
		return
	}
	v, verr := s.newInboxView(w, r)
	if verr != nil {
		s.pageError(w, r, verr)
		return
	}
	v.Err, v.ErrID = errText(lang, e), r.PathValue("id")
	if len(e.Fields) > 0 && !hasMessage("reason."+e.Reason) {
		v.Err = translate(lang, "inbox.reason_invalid")
	}
	s.render(w, r, statusOf(e.Code), "inbox", v)
}

// pageInboxRead marks one item read.
func (s *Server) pageInboxRead() http.Handler {
	return s.withPageInbox(func(w http.ResponseWriter, r *http.Request) {
		s.inboxDone(w, r, s.inbox.MarkRead(r.Context(), userInbox(r), r.PathValue("id")), "/inbox")
	})
}

// pageInboxOpen records that the person opened an item (the case's reach
// figures count it) and goes where it points.
func (s *Server) pageInboxOpen() http.Handler {
	return s.withPageInbox(func(w http.ResponseWriter, r *http.Request) {
		to := r.PostForm.Get("to")
		// Only a path on this site: the same rule as a notification's link.
		if !strings.HasPrefix(to, "/") || strings.HasPrefix(to, "//") || strings.ContainsAny(to, "\\\r\n") {
			to = "/inbox"
		}
		s.inboxDone(w, r, s.inbox.Open(r.Context(), userInbox(r), r.PathValue("id")), to)
	})
}

// pageInboxDismiss is the "X" (P56): it hides the item and shields what
// the chosen reasons name; no reason only hides it.
func (s *Server) pageInboxDismiss() http.Handler {
	return s.withPageInbox(func(w http.ResponseWriter, r *http.Request) {
		req := dismissRequest{}
		for _, rs := range r.PostForm["reason"] {
			req.Reasons = append(req.Reasons, notify.Reason(rs))
		}
		err := req.Validate()
		if err == nil {
			_, err = s.inbox.Dismiss(r.Context(), userInbox(r), r.PathValue("id"), req.Reasons)
		}
		s.inboxDone(w, r, err, "/inbox?ok=dismissed")
	})
}
