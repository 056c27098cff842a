package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/audit"
)

var errNoAudit = &yuncan.Error{Code: yuncan.Unavailable, Message: "the audit log is not available"}

type auditEntryJSON struct {
	Seq        int64     `json:"seq"`
	At         time.Time `json:"at"`
	ActorID    string    `json:"actor_id"`
	ActorRole  string    `json:"actor_role"`
	Action     string    `json:"action"`
	TargetKind string    `json:"target_kind"`
	TargetID   string    `json:"target_id"`
	Reason     string    `json:"reason"`
	PrevHash   string    `json:"prev_hash"`
	Hash       string    `json:"hash"`
}

// auditVerifyJSON is the answer of POST /api/v1/admin/audit/verify and
// of `yuncan admin audit-verify`.
type auditVerifyJSON struct {
	OK       bool   `json:"ok"`
	Entries  int64  `json:"entries"`
	BrokenAt *int64 `json:"broken_at"`
	HeadSeq  int64  `json:"head_seq"`
	HeadHash string `json:"head_hash"`
	// AnchorSeq and AnchorHash are where the walk began: 0 and "" until
	// the oldest entries are pruned (docs/audit.md).
	AnchorSeq  int64  `json:"anchor_seq"`
	AnchorHash string `json:"anchor_hash"`
}

// AuditVerifyOut is the JSON form of a verification.
func AuditVerifyOut(r audit.Result) any {
	out := auditVerifyJSON{OK: r.OK, Entries: r.Entries, HeadSeq: r.HeadSeq, HeadHash: r.HeadHash,
		AnchorSeq: r.Anchor.Seq, AnchorHash: r.Anchor.Hash}
	if !r.OK {
		b := r.BrokenAt
		out.BrokenAt = &b
	}
	return out
}

func (s *Server) auditActor(r *http.Request) audit.Actor {
	u := authOf(r).User
	return audit.Actor{UserID: u.ID, Role: u.Role}
}

// handleAuditList lists the audit log, newest first (admins only, P52).
// Filters: actor, target_kind, target_id, since, until (RFC 3339);
// cursor and limit page it.
func (s *Server) handleAuditList() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.audit == nil {
			s.writeError(w, r, errNoAudit)
			return
		}
		q := r.URL.Query()
		f := audit.Filter{ActorID: q.Get("actor"), TargetKind: q.Get("target_kind"), TargetID: q.Get("target_id")}
		e := yuncan.Errorf(yuncan.Invalid, "the filters are not valid")
		for _, p := range []struct {
			name string
			to   *time.Time
		}{{"since", &f.Since}, {"until", &f.Until}} {
			if v := q.Get(p.name); v != "" {
				t, err := time.Parse(time.RFC3339, v)
				if err != nil {
					e.WithField(p.name, "must be an RFC 3339 time")
				}
				*p.to = t
			}
		}
		if c := q.Get("cursor"); c != "" {
			n, err := strconv.ParseInt(c, 10, 64)
			if err != nil || n <= 0 {
				e.WithField("cursor", "is not a cursor")
			}
			f.Before = n
		}
		limit, err := queryLimit(r)
		if err != nil {
			e.WithField("limit", "must be a whole number")
		}
		f.Limit = limit
		if len(e.Fields) > 0 {
			s.writeError(w, r, e)
			return
		}
		// The read is itself audited (audit.read) before anything is shown.
		p, err := s.audit.Read(r.Context(), s.auditActor(r), f)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		out := make([]auditEntryJSON, 0, len(p.Entries))
		for _, x := range p.Entries {
			out = append(out, auditEntryJSON{Seq: x.Seq, At: x.At, ActorID: x.ActorID, ActorRole: string(x.ActorRole), Action: x.Action,
				TargetKind: x.TargetKind, TargetID: x.TargetID, Reason: x.Reason, PrevHash: x.PrevHash, Hash: x.Hash})
		}
		var next *string
		if p.Next > 0 {
			n := strconv.FormatInt(p.Next, 10)
			next = &n
		}
		w.Header().Set("Cache-Control", "no-store")
		encode(w, http.StatusOK, map[string]any{"entries": out, "next_cursor": next})
	})
}

// handleAuditVerify walks the chain and reports the first broken entry.
func (s *Server) handleAuditVerify() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.audit == nil {
			s.writeError(w, r, errNoAudit)
			return
		}
		res, err := s.audit.VerifyAs(r.Context(), s.auditActor(r))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		encode(w, http.StatusOK, AuditVerifyOut(res))
	})
}
