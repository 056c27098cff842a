package seeking

import (
	"context"
	"fmt"
	"time"

	"github.com/yuncan/yuncan"
)

// The masked relay: the reporter and a clue-giver talk through the
// platform in one thread per (case, clue-giver), reached through any of
// the giver's clues. Neither side ever receives the other's phone
// number, account phone or account id: a message says only which side
// wrote it. Staff may read threads (audited) but do not write in them.

// relayOpen reports whether the thread of a case in status st takes new
// messages: while published, and after a resolution the reporter may
// still thank a giver; never once withdrawn or hidden.
func relayOpen(st Status) bool {
	return st == StatusPublished || st == StatusFoundSafe || st == StatusFoundDeceased
}

// SendMessage writes a message from v into the thread behind a clue.
func (s *Service) SendMessage(ctx context.Context, v Viewer, caseID, clueID, text string) (MessageView, error) {
	e := yuncan.Errorf(yuncan.Invalid, "the message is not valid")
	textField(e, "text", &text, MaxMessageText)
	if len(e.Fields) > 0 {
		return MessageView{}, e
	}
	r, c, side, err := s.clue(ctx, v, caseID, clueID)
	if err != nil {
		return MessageView{}, err
	}
	var from Party
	switch side {
	case sideReporter:
		from = PartyReporter
	case sideGiver:
		from = PartyClueGiver
	default:
		return MessageView{}, yuncan.Errorf(yuncan.Forbidden, "staff read threads but do not write in them").WithReason("not_participant")
	}
	if !relayOpen(r.Status) {
		return MessageView{}, yuncan.Errorf(yuncan.Conflict, "the case is %s; its threads are closed", r.Status).WithReason("case_closed")
	}
	now := s.now()
	times, err := s.store.MessageTimesSince(ctx, v.UserID, now.Add(-time.Hour))
	if err != nil {
		return MessageView{}, fmt.Errorf("seeking: message limit: %w", err)
	}
	if len(times) >= s.cfg.MessagesPerHour {
		return MessageView{}, rateLimited("you sent many messages in the last hour; try again later",
			times[len(times)-s.cfg.MessagesPerHour], time.Hour, now)
	}
	m := MessageRecord{ID: newID(), CaseID: r.ID, GiverID: c.AuthorID, SenderID: v.UserID,
		TextSealed: s.keys.Seal(sealMessage, []byte(text)), CreatedAt: now}
	if err := s.store.AddMessage(ctx, m); err != nil {
		return MessageView{}, fmt.Errorf("seeking: relay message on case %s: %w", r.ID, err)
	}
	return MessageView{Message: Message{ID: m.ID, CaseID: r.ID, GiverID: c.AuthorID, From: from, Text: text, CreatedAt: now}, Mine: true}, nil
}

// Messages returns the thread behind a clue, oldest first; a staff read
// is audited.
func (s *Service) Messages(ctx context.Context, v Viewer, caseID, clueID, reason string) ([]MessageView, error) {
	if err := checkAuditReason(reason); err != nil {
		return nil, err
	}
	r, c, side, err := s.clue(ctx, v, caseID, clueID)
	if err != nil {
		return nil, err
	}
	if side == sideStaff {
		// P52: a staff read of a thread is audited.
		if err := s.audit(ctx, v, AuditRelayRead, "clue", c.ID, reason); err != nil {
			return nil, err
		}
	}
	ms, err := s.store.Messages(ctx, r.ID, c.AuthorID)
	if err != nil {
		return nil, fmt.Errorf("seeking: thread of case %s: %w", r.ID, err)
	}
	out := make([]MessageView, 0, len(ms))
	for _, m := range ms {
		b, err := s.keys.Open(sealMessage, m.TextSealed)
		if err != nil {
			return nil, fmt.Errorf("seeking: message %s: %w", m.ID, err)
		}
		from := PartyClueGiver
		if m.SenderID == r.ReporterID {
			from = PartyReporter
		}
		out = append(out, MessageView{Message: Message{ID: m.ID, CaseID: m.CaseID, GiverID: m.GiverID, From: from, Text: string(b),
			CreatedAt: m.CreatedAt}, Mine: m.SenderID == v.UserID})
	}
	return out, nil
}

// textField trims *s and records what is wrong with a required
// multi-line text.
func textField(e *yuncan.Error, field string, s *string, max int) {
	text(e, field, s, max, false, true)
}
