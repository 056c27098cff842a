package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/notify"
)

// defaultStreamHeartbeat keeps idle streams open through proxies that cut
// silent connections (commonly after 30 or 60 seconds).
const defaultStreamHeartbeat = 25 * time.Second

// streamReplayMax is how many missed notifications a reconnecting stream
// replays; past that it tells the client to reload the list.
const streamReplayMax = 100

var errNoInbox = yuncan.Errorf(yuncan.Unavailable, "notifications are not available on this server")

func notifySubject(sub consent.Subject) notify.Subject {
	return notify.Subject{Kind: string(sub.Kind), ID: sub.ID}
}

// withInbox resolves the subject (P04: the account, or the device before
// login) and checks the inbox is wired.
func (s *Server) withInbox(next func(w http.ResponseWriter, r *http.Request, sub notify.Subject)) http.Handler {
	return s.withSubject(func(w http.ResponseWriter, r *http.Request, sub consent.Subject) {
		if s.inbox == nil {
			s.writeError(w, r, errNoInbox)
			return
		}
		next(w, r, notifySubject(sub))
	})
}

type notificationJSON struct {
	ID          string      `json:"id"`
	Kind        string      `json:"kind"`
	Title       string      `json:"title"`
	Body        string      `json:"body"`
	Data        notify.Data `json:"data"`
	CreatedAt   string      `json:"created_at"`
	ReadAt      *string     `json:"read_at"`
	OpenedAt    *string     `json:"opened_at"`
	DismissedAt *string     `json:"dismissed_at"`
	// DismissReasons are the reasons the "X" offers for this item (P56).
	DismissReasons []notify.Reason `json:"dismiss_reasons"`
}

func toNotificationJSON(n notify.Notification) notificationJSON {
	return notificationJSON{ID: n.ID, Kind: string(n.Kind), Title: n.Title, Body: n.Body, Data: n.Data,
		CreatedAt: n.CreatedAt.UTC().Format(time.RFC3339Nano), ReadAt: timePtr(n.ReadAt), OpenedAt: timePtr(n.OpenedAt),
		DismissedAt: timePtr(n.DismissedAt), DismissReasons: n.Reasons()}
}

// handleInboxList lists the caller's inbox, newest first; ?cursor= from
// next_cursor pages on, ?limit= (1 to 100) sizes the page.
func (s *Server) handleInboxList() http.Handler {
	return s.withInbox(func(w http.ResponseWriter, r *http.Request, sub notify.Subject) {
		q := r.URL.Query()
		limit := 0
		if l := q.Get("limit"); l != "" {
			n, err := strconv.Atoi(l)
			if err != nil {
				s.writeError(w, r, yuncan.FieldError("limit", "must be a number from 1 to 100"))
				return
			}
			limit = n
		}
		p, err := s.inbox.List(r.Context(), sub, q.Get("cursor"), limit)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		items := make([]notificationJSON, 0, len(p.Items))
		for _, n := range p.Items {
			items = append(items, toNotificationJSON(n))
		}
		var next *string
		if p.Next != "" {
			next = &p.Next
		}
		encode(w, http.StatusOK, map[string]any{"items": items, "next_cursor": next, "unread": p.Unread})
	})
}

// handleInboxRead marks one notification read.
func (s *Server) handleInboxRead() http.Handler {
	return s.withInbox(func(w http.ResponseWriter, r *http.Request, sub notify.Subject) {
		if err := s.inbox.MarkRead(r.Context(), sub, r.PathValue("id")); err != nil {
			s.writeError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// handleInboxOpen records that the caller opened a notification: the
// case's reach figures count it.
func (s *Server) handleInboxOpen() http.Handler {
	return s.withInbox(func(w http.ResponseWriter, r *http.Request, sub notify.Subject) {
		if err := s.inbox.Open(r.Context(), sub, r.PathValue("id")); err != nil {
			s.writeError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

type dismissRequest struct {
	Reasons []notify.Reason `json:"reasons"`
}

// Validate bounds the list; which reasons apply is the inbox's rule.
func (d dismissRequest) Validate() error {
	if len(d.Reasons) > 5 {
		return yuncan.FieldError("reasons", "must hold at most 5 reasons")
	}
	return nil
}

// handleInboxDismiss is the "X" (P56): it hides the notification and
// shields what the reasons name.
func (s *Server) handleInboxDismiss() http.Handler {
	return s.withInbox(func(w http.ResponseWriter, r *http.Request, sub notify.Subject) {
		var req dismissRequest
		if err := decode(w, r, &req); err != nil {
			s.writeError(w, r, err)
			return
		}
		if err := req.Validate(); err != nil {
			s.writeError(w, r, err)
			return
		}
		if _, err := s.inbox.Dismiss(r.Context(), sub, r.PathValue("id"), req.Reasons); err != nil {
			s.writeError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

type shieldJSON struct {
	ID             string  `json:"id"`
	Reason         string  `json:"reason"`
	Kind           string  `json:"kind"`
	CaseID         *string `json:"case_id"`
	DistanceKM     *int    `json:"distance_km"`
	NotificationID *string `json:"notification_id"`
	CreatedAt      string  `json:"created_at"`
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// handleShieldList lists what the caller shields (P56).
func (s *Server) handleShieldList() http.Handler {
	return s.withInbox(func(w http.ResponseWriter, r *http.Request, sub notify.Subject) {
		shields, err := s.inbox.Shields(r.Context(), sub)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		out := make([]shieldJSON, 0, len(shields))
		for _, sh := range shields {
			j := shieldJSON{ID: sh.ID, Reason: string(sh.Reason), Kind: string(sh.Kind), CaseID: nonEmpty(sh.CaseID),
				NotificationID: nonEmpty(sh.NotificationID), CreatedAt: sh.CreatedAt.UTC().Format(time.RFC3339Nano)}
			if sh.DistanceKM > 0 {
				j.DistanceKM = &sh.DistanceKM
			}
			out = append(out, j)
		}
		encode(w, http.StatusOK, map[string]any{"shields": out})
	})
}

// handleShieldDelete undoes a shield (P56).
func (s *Server) handleShieldDelete() http.Handler {
	return s.withInbox(func(w http.ResponseWriter, r *http.Request, sub notify.Subject) {
		if err := s.inbox.DeleteShield(r.Context(), sub, r.PathValue("id")); err != nil {
			s.writeError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// handleVAPIDKeyShow gives browsers the key to subscribe with
// (applicationServerKey).
func (s *Server) handleVAPIDKeyShow() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := ""
		if s.push != nil {
			key = s.push.VAPIDPublicKey()
		}
		if key == "" {
			s.writeError(w, r, yuncan.Errorf(yuncan.Unavailable, "Web Push is not available on this server"))
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		encode(w, http.StatusOK, map[string]string{"public_key": key})
	})
}

// webPushRequest is a browser's PushSubscription.toJSON(), without
// expirationTime.
type webPushRequest struct {
	Endpoint string `json:"endpoint"`
	Keys     struct {
		P256DH string `json:"p256dh"`
		Auth   string `json:"auth"`
	} `json:"keys"`
}

func (q webPushRequest) subscription() notify.WebPushSubscription {
	return notify.WebPushSubscription{Endpoint: q.Endpoint, P256DH: q.Keys.P256DH, Auth: q.Keys.Auth}
}

// handleWebPushSave stores the browser's push subscription for the
// device named by X-Device-Token; pushes to the device go there (P04:
// to the account's pushes while the device is logged in).
func (s *Server) handleWebPushSave() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, err := s.identity.DeviceByToken(r.Context(), r.Header.Get(deviceHeader))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if s.push == nil {
			s.writeError(w, r, errNoInbox)
			return
		}
		var req webPushRequest
		if err := decode(w, r, &req); err != nil {
			s.writeError(w, r, err)
			return
		}
		if err := s.push.SaveWebPush(r.Context(), d.ID, req.subscription()); err != nil {
			s.writeError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// handleWebPushDelete forgets the device's browser subscription.
func (s *Server) handleWebPushDelete() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, err := s.identity.DeviceByToken(r.Context(), r.Header.Get(deviceHeader))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if s.push == nil {
			s.writeError(w, r, errNoInbox)
			return
		}
		if err := s.push.DeleteWebPush(r.Context(), d.ID); err != nil {
			s.writeError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// streamSubject resolves whose stream it is: a bearer token or device
// token as elsewhere in the API, or, for a web page's EventSource (which
// cannot set headers), the session cookie. A cross-site page cannot use
// the cookie: it is SameSite=Lax and the answer carries no CORS headers.
func (s *Server) streamSubject(w http.ResponseWriter, r *http.Request) (notify.Subject, error) {
	if _, ok := bearer(r); ok || r.Header.Get(deviceHeader) != "" {
		sub, err := s.subjectOf(r)
		return notifySubject(sub), err
	}
	a, err := s.webAuth(w, r)
	if err != nil {
		return notify.Subject{}, err
	}
	if a == nil {
		return notify.Subject{}, &yuncan.Error{Code: yuncan.Unauthenticated,
			Message: "send Authorization: Bearer <token>, X-Device-Token, or log in on the web"}
	}
	return notify.User(a.User.ID), nil
}

// handleInboxStream is the live stream of the caller's new notifications
// (server-sent events). Events: "notification" (data: the item as the
// list shows it), "ready" once caught up, "resync" when the client must
// reload the list (too much was missed). Each notification's event id is
// its place in the inbox: a reconnecting EventSource sends it back as
// Last-Event-ID (or ?last_event_id=) and gets what it missed. A comment
// every 25 seconds keeps the connection open; a client too slow to keep
// up is cut off and catches up when it reconnects.
func (s *Server) handleInboxStream() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sub, err := s.streamSubject(w, r)
		if err != nil {
			if yuncan.ErrorCode(err) == yuncan.Unauthenticated {
				w.Header().Set("WWW-Authenticate", `Bearer realm="yuncan"`)
			}
			s.writeError(w, r, err)
			return
		}
		if s.inbox == nil {
			s.writeError(w, r, errNoInbox)
			return
		}
		last := r.Header.Get("Last-Event-ID")
		if last == "" {
			last = r.URL.Query().Get("last_event_id")
		}
		ctx, stop := context.WithCancel(r.Context())
		defer stop()
		// Shutting the server down ends the stream at once.
		go func() {
			select {
			case <-s.streamsDone:
				stop()
			case <-ctx.Done():
			}
		}()
		// Subscribe before reading what was missed, so that nothing falls
		// between; what both bring is sent once.
		live := s.inbox.Subscribe(sub)
		defer live.Close()
		var (
			pos    notify.Position
			replay []notify.Notification
			resync bool
		)
		if last != "" {
			p, err := notify.ParsePosition(last)
			if err == nil {
				replay, err = s.inbox.Since(ctx, sub, p, streamReplayMax+1)
				if err != nil {
					s.writeError(w, r, err)
					return
				}
				pos = p
			}
			resync = err != nil || len(replay) > streamReplayMax
		}
		if last == "" || resync {
			replay = nil
			if pos, err = s.inbox.Newest(ctx, sub); err != nil {
				s.writeError(w, r, err)
				return
			}
		}

		rc := http.NewResponseController(w)
		// A server write (or read) timeout must not end the stream.
		rc.SetWriteDeadline(time.Time{})
		rc.SetReadDeadline(time.Time{})
		h := w.Header()
		h.Set("Content-Type", "text/event-stream; charset=utf-8")
		h.Set("Cache-Control", "no-store")
		h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
		w.WriteHeader(http.StatusOK)
		fmt.Fprint(w, "retry: 3000\n\n")

		sent := map[string]bool{}
		for _, n := range replay {
			writeEvent(w, notify.PositionOf(n).String(), "notification", toNotificationJSON(n))
			sent[n.ID] = true
			pos = notify.PositionOf(n)
		}
		if resync {
			writeEvent(w, pos.String(), "resync", struct{}{})
		}
		writeEvent(w, pos.String(), "ready", struct{}{})
		if rc.Flush() != nil {
			return
		}
		beat := s.streamHeartbeat
		if beat <= 0 {
			beat = defaultStreamHeartbeat
		}
		ticker := time.NewTicker(beat)
		defer ticker.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case n, ok := <-live.C():
				if !ok {
					// Cut off for falling behind: the client reconnects
					// with its last event id and catches up.
					return
				}
				if sent[n.ID] {
					continue
				}
				writeEvent(w, notify.PositionOf(n).String(), "notification", toNotificationJSON(n))
			case <-ticker.C:
				fmt.Fprint(w, ": ping\n\n")
			}
			if rc.Flush() != nil {
				return
			}
		}
	})
}

// writeEvent writes one server-sent event; JSON never holds a raw line
// break, so data fits on one line.
func writeEvent(w http.ResponseWriter, id, event string, v any) {
	b, _ := json.Marshal(v)
	fmt.Fprintf(w, "id: %s\nevent: %s\ndata: %s\n\n", id, event, b)
}

// StopStreams ends every open live stream, so that a graceful shutdown
// need not wait for them: register it with http.Server.RegisterOnShutdown.
func (s *Server) StopStreams() { s.stopStreams.Do(func() { close(s.streamsDone) }) }
