package sharing

import (
	"context"

	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/identity"
	"github.com/yuncan/yuncan/internal/notify"
)

// The seam between the senders and the ledger. An adapter that hands
// personal data to a third party says so by implementing
// notify.ThirdParty: Recipient is its id in the policy data, Fields the
// names of what each message carries to it (notify.Aliyun, APNs, FCM,
// WebPush; certify.HTTP). The development outboxes do not: what they
// write stays on the machine, so they disclose nothing. Each path that
// reaches such an adapter asks Disclose first:
//
//   - SMS: Sender wraps the provider identity sends codes through;
//   - real-name checks: Certifier wraps the certifier;
//   - pushes: the notify dispatcher calls PushDisclose (as its
//     DispatcherConfig.Disclose) before each push through a pusher that
//     is a third party.

// Sender returns next wrapped so that every message goes through the
// ledger first, when next is a third party; otherwise next itself. A
// refused disclosure is returned as the send's error and nothing is sent.
func Sender(next notify.Sender, l *Ledger) notify.Sender {
	tp, ok := next.(notify.ThirdParty)
	if !ok {
		return next
	}
	return &sender{next: next, tp: tp, l: l}
}

type sender struct {
	next notify.Sender
	tp   notify.ThirdParty
	l    *Ledger
}

// Send records the disclosure of the number (and code) and sends. The
// number tells whose data it is: the account that holds it, or the
// number's blind index when no account does yet (a first login).
func (s *sender) Send(ctx context.Context, m notify.Message) error {
	if _, err := s.l.Disclose(ctx, Disclosure{Recipient: s.tp.Recipient(), PhoneIndex: s.l.PhoneIndex(m.To), Fields: s.tp.Fields()}); err != nil {
		return err
	}
	return s.next.Send(ctx, m)
}

// Certifier returns next wrapped so that every check goes through the
// ledger first, when next is a third party; otherwise next itself.
func Certifier(next identity.Certifier, l *Ledger) identity.Certifier {
	tp, ok := next.(notify.ThirdParty)
	if !ok {
		return next
	}
	return &certifier{next: next, tp: tp, l: l}
}

type certifier struct {
	next identity.Certifier
	tp   notify.ThirdParty
	l    *Ledger
}

// Verify records the disclosure and asks the certifier. phone is the
// account's number (identity passes it whether or not the check sends
// it): it tells whose data this is.
func (c *certifier) Verify(ctx context.Context, name string, id identity.IDNumber, phone identity.Phone) (identity.Certification, error) {
	if _, err := c.l.Disclose(ctx, Disclosure{Recipient: c.tp.Recipient(), PhoneIndex: c.l.PhoneIndex(string(phone)), Fields: c.tp.Fields()}); err != nil {
		return identity.Certification{}, err
	}
	return c.next.Verify(ctx, name, id, phone)
}

// PushDisclose records a push about sub through a pusher that is a third
// party, for notify.DispatcherConfig.Disclose.
func (l *Ledger) PushDisclose(ctx context.Context, recipient string, sub notify.Subject, fields []string) error {
	_, err := l.Disclose(ctx, Disclosure{Recipient: recipient, Subject: consent.Subject{Kind: consent.SubjectKind(sub.Kind), ID: sub.ID}, Fields: fields})
	return err
}
