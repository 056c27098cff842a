package tickets

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/consent"
)

// The guardian form (policy 7c, P71) and tickets of category
// guardian_request are one thing: the form is a way in to tickets for a
// guardian without an account. consent.Minors still checks a request,
// limits it per network and seals it, as before; the store it writes
// through is wrapped here, so that the request is stored as a ticket
// (channel guardian_form) in the staff queue, on the same clock, and the
// status the guardian sees with the request's id is the ticket's.

// GuardianChannel wraps the minors' store: guardian requests are stored
// as tickets instead of guardian_requests rows. Requests stored before
// (rows in guardian_requests) are still found and counted through inner.
// Wire it as the store consent.NewMinors gets.
func (s *Service) GuardianChannel(inner consent.MinorStore) consent.MinorStore {
	return &guardianChannel{MinorStore: inner, s: s}
}

type guardianChannel struct {
	consent.MinorStore
	s *Service
}

// accessIndex is how a ticket finds the guardian's request id: keyed, so
// that the table does not hold the key the guardian holds.
func (g *guardianChannel) accessIndex(id string) string {
	return g.s.keys.BlindIndex("guardian_request", id)
}

// reseal moves a value the minors rules sealed for guardian_requests to
// the ticket column that stores it.
func (g *guardianChannel) reseal(from, to, sealed string) (string, error) {
	v, err := g.s.open(from, sealed)
	if err != nil {
		return "", err
	}
	return g.s.seal(to, v), nil
}

// CreateGuardianRequest files the request as a ticket.
func (g *guardianChannel) CreateGuardianRequest(ctx context.Context, r consent.GuardianRequestRecord) error {
	s := g.s
	text, err := g.reseal("guardian_requests.message", "tickets.text", r.MessageSealed)
	if err != nil {
		return err
	}
	minor, err := g.reseal("guardian_requests.minor_phone", "tickets.minor_phone", r.MinorPhoneSealed)
	if err != nil {
		return err
	}
	contact, err := g.reseal("guardian_requests.guardian_phone", "tickets.contact", r.GuardianPhoneSealed)
	if err != nil {
		return err
	}
	t := Record{ID: newID(), Channel: ChannelGuardianForm, Category: CategoryGuardianRequest, Kind: Kind(r.Kind), Status: StatusOpen,
		TextSealed: text, MinorPhoneSealed: minor, MinorPhoneIndex: r.MinorPhoneIndex, ContactSealed: contact,
		GuardianAccessIndex: g.accessIndex(r.ID), IPIndex: r.IPIndex,
		DueAt: s.cal.Deadline(r.CreatedAt, s.cfg.DueWorkdays), CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	ev := Event{ID: newID(), TicketID: t.ID, At: r.CreatedAt, ActorRole: RoleRequester, Action: ActionFiled, To: StatusOpen}
	if err := s.store.CreateTicket(ctx, t, ev); err != nil {
		return fmt.Errorf("tickets: guardian request: %w", err)
	}
	s.logger.InfoContext(ctx, "tickets: filed", slog.String("ticket_id", t.ID), slog.String("category", string(t.Category)),
		slog.String("channel", string(t.Channel)))
	return nil
}

// GuardianStatus is the status a guardian sees for a ticket's status: an
// open ticket is "received" (what the form has always answered), others
// are the ticket's.
func GuardianStatus(st Status) string {
	if st == StatusOpen {
		return consent.RequestReceived
	}
	return string(st)
}

// GuardianRequest finds the request's ticket by the id the guardian holds.
func (g *guardianChannel) GuardianRequest(ctx context.Context, id string) (consent.GuardianRequestRecord, error) {
	t, err := g.s.store.TicketByGuardianAccess(ctx, g.accessIndex(id))
	if yuncan.ErrorCode(err) == yuncan.NotFound {
		return g.MinorStore.GuardianRequest(ctx, id)
	}
	if err != nil {
		return consent.GuardianRequestRecord{}, err
	}
	r := consent.GuardianRequestRecord{ID: id, MinorPhoneIndex: t.MinorPhoneIndex, Kind: consent.GuardianRequestKind(t.Kind),
		Status: GuardianStatus(t.Status), IPIndex: t.IPIndex, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
	if r.MessageSealed, err = g.reseal("tickets.text", "guardian_requests.message", t.TextSealed); err != nil {
		return consent.GuardianRequestRecord{}, err
	}
	if r.MinorPhoneSealed, err = g.reseal("tickets.minor_phone", "guardian_requests.minor_phone", t.MinorPhoneSealed); err != nil {
		return consent.GuardianRequestRecord{}, err
	}
	contact, err := g.s.open("tickets.contact", t.ContactSealed)
	if err != nil {
		return consent.GuardianRequestRecord{}, err
	}
	r.GuardianPhoneSealed = g.s.seal("guardian_requests.guardian_phone", contact)
	r.GuardianPhoneIndex = g.s.keys.BlindIndex("phone", contact)
	return r, nil
}

// CountGuardianRequestsForIPSince counts the network's requests, as
// tickets and as rows stored before.
func (g *guardianChannel) CountGuardianRequestsForIPSince(ctx context.Context, ipIndex string, since time.Time) (int, error) {
	n, err := g.s.store.CountTicketsByIPSince(ctx, ipIndex, since)
	if err != nil {
		return 0, err
	}
	old, err := g.MinorStore.CountGuardianRequestsForIPSince(ctx, ipIndex, since)
	return n + old, err
}
