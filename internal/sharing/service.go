package sharing

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/keyring"
)

// Deps are what the ledger needs.
type Deps struct {
	Store Store
	// Consent is the gate, the policy data and the record of exemption
	// uses.
	Consent *consent.Service
	// Keys makes the blind index of a phone number, as identity stores
	// it in users.phone_index.
	Keys   *keyring.Keyring
	Logger *slog.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Config tunes the ledger. Zero values take the defaults.
type Config struct {
	// K is the smallest group the partner statistics show (10): a group
	// of fewer cases is left out (P36).
	K int
}

// DefaultK is the statistics' suppression threshold when Config.K is 0.
const DefaultK = 10

// Ledger records every disclosure and answers "who received my data".
type Ledger struct {
	store  Store
	cs     *consent.Service
	dm     *consent.DataMap
	keys   *keyring.Keyring
	logger *slog.Logger
	now    func() time.Time
	cfg    Config
}

// NewLedger returns the ledger. Store, Consent and Keys are required.
func NewLedger(d Deps, cfg Config) *Ledger {
	if d.Store == nil || d.Consent == nil || d.Keys == nil {
		panic("sharing: NewLedger needs a store, the consent gate and the keyring")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.K == 0 {
		cfg.K = DefaultK
	}
	return &Ledger{store: d.Store, cs: d.Consent, dm: d.Consent.DataMap(), keys: d.Keys, logger: d.Logger, now: d.Now, cfg: cfg}
}

// Recipient returns the policy data's declaration of the recipient id,
// or nil when it declares none.
func (l *Ledger) Recipient(id string) *consent.RecipientDecl {
	for i := range l.dm.Recipients {
		if l.dm.Recipients[i].ID == id {
			return &l.dm.Recipients[i]
		}
	}
	return nil
}

// DataMap is the policy data the ledger holds disclosures to.
func (l *Ledger) DataMap() *consent.DataMap { return l.dm }

// PhoneIndex is the blind index of an E.164 number, the one identity
// keeps in users.phone_index.
func (l *Ledger) PhoneIndex(e164 string) string { return l.keys.BlindIndex("phone", e164) }

// refusal is a Forbidden error naming why, with the recipient.
func refusal(reason, recipient, msg string) *yuncan.Error {
	return &yuncan.Error{Code: yuncan.Forbidden, Reason: reason, Message: msg, Extra: map[string]string{"recipient": recipient}}
}

// Disclose is the one way personal data leaves for a third party: it
// checks d against the policy data and the person's consent and records
// it; the caller sends only when it returns nil, and sends exactly the
// fields it named. Refusals (Forbidden) record nothing and are logged
// with ids only:
//
//   - recipient_undeclared: the recipient is not in the policy data (a
//     transfer to anyone else needs a declared recipient first, P47);
//   - field_not_declared: a field the policy does not name for the
//     recipient, or none at all (P34);
//   - identifier_to_deidentified: a direct identifier to a recipient
//     declared de-identified (P42);
//   - consent_required (from the gate, or when the person is unknown):
//     the purpose needs consent and there is none, and no exemption was
//     named (P33).
//
// An unknown exemption code or a bad detail is Invalid (from
// consent.Service.Exempt).
func (l *Ledger) Disclose(ctx context.Context, d Disclosure) (Entry, error) {
	e, err := l.disclose(ctx, d)
	if err != nil && yuncan.ErrorCode(err) == yuncan.Forbidden {
		// Ids only: the subject's id, never a number, index or value.
		l.logger.WarnContext(ctx, "sharing: disclosure refused", slog.String("recipient", d.Recipient),
			slog.Any("subject", d.Subject), slog.String("reason", yuncan.AsError(err).Reason))
	}
	return e, err
}

func (l *Ledger) disclose(ctx context.Context, d Disclosure) (Entry, error) {
	r := l.Recipient(d.Recipient)
	if r == nil {
		return Entry{}, refusal("recipient_undeclared", d.Recipient,
			"personal data goes only to the third parties the privacy policy names; this one is not among them")
	}
	if len(d.Fields) == 0 {
		return Entry{}, refusal("field_not_declared", r.ID, "a disclosure names the fields it sends")
	}
	seen := map[string]bool{}
	for _, f := range d.Fields {
		// The identifier check comes first, so that it holds even if the
		// policy data ever declared an identifier for such a recipient.
		if cat, ok := DirectIdentifiers[f]; ok && r.Deidentified {
			return Entry{}, refusal("identifier_to_deidentified", r.ID,
				fmt.Sprintf("%s receives only de-identified data, and %q is a direct identifier (%s)", r.ID, f, cat))
		}
		if seen[f] || !slices.Contains(r.Fields, f) {
			return Entry{}, refusal("field_not_declared", r.ID,
				fmt.Sprintf("the privacy policy does not name %q (or names it once) among what %s receives", f, r.ID))
		}
		seen[f] = true
	}
	sub := d.Subject
	phoneIndex := ""
	if sub.ID == "" {
		if d.PhoneIndex == "" {
			return Entry{}, fmt.Errorf("sharing: a disclosure to %s names no subject", r.ID)
		}
		uid, err := l.store.UserByPhoneIndex(ctx, d.PhoneIndex)
		switch yuncan.ErrorCode(err) {
		case "":
			sub = consent.User(uid)
		case yuncan.NotFound:
			phoneIndex = d.PhoneIndex
		default:
			return Entry{}, fmt.Errorf("sharing: disclose to %s: %w", r.ID, err)
		}
	} else if sub.Kind != consent.SubjectUser && sub.Kind != consent.SubjectDevice {
		return Entry{}, fmt.Errorf("sharing: a disclosure to %s names a subject of kind %q", r.ID, sub.Kind)
	}
	purpose := l.dm.Purpose(r.Purpose)
	e := Entry{ID: uuid.Must(uuid.NewV7()).String(), Recipient: r.ID, Purpose: r.Purpose, Fields: slices.Clone(d.Fields),
		Subject: sub, PhoneIndex: phoneIndex}
	switch {
	case d.Exemption != "":
		if sub.ID == "" {
			return Entry{}, refusal("consent_required", r.ID, "a disclosure under an exemption names whose data it is")
		}
		if err := l.cs.Exempt(ctx, sub, r.Purpose, d.Exemption, d.Detail); err != nil {
			return Entry{}, err
		}
		e.Basis, e.Exemption = BasisExemption, d.Exemption
	case purpose.Basis == consent.BasisNecessary:
		e.Basis = BasisNecessary
	default:
		if sub.ID == "" {
			return Entry{}, &yuncan.Error{Code: yuncan.Forbidden, Reason: "consent_required",
				Message: "this needs the consent of an account", Extra: map[string]string{"purpose": string(r.Purpose), "recipient": r.ID}}
		}
		if err := l.cs.Require(ctx, sub, r.Purpose); err != nil {
			return Entry{}, err
		}
		e.Basis = BasisConsent
	}
	e.At = l.now().UTC()
	if err := l.store.AddDisclosure(ctx, e); err != nil {
		return Entry{}, fmt.Errorf("sharing: record disclosure to %s: %w", r.ID, err)
	}
	return e, nil
}

// Mine returns the account's ledger, newest first, limit entries (1 to
// 100; 20 when 0) after cursor; next is "" on the last page. Invalid
// for a bad limit or a cursor Mine did not give.
func (l *Ledger) Mine(ctx context.Context, userID, cursor string, limit int) (items []Entry, next string, err error) {
	limit, err = yuncan.PageLimit(limit)
	if err != nil {
		return nil, "", err
	}
	after, err := yuncan.DecodeCursor(cursor)
	if err != nil {
		return nil, "", err
	}
	es, err := l.store.DisclosuresOf(ctx, userID, after, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("sharing: disclosures of %s: %w", userID, err)
	}
	if len(es) > limit {
		es = es[:limit]
		next = Cursor{At: es[limit-1].At, ID: es[limit-1].ID}.Encode()
	}
	return es, next, nil
}

// Expire deletes the entries whose legal period (the sharing_record
// category of the policy data, 3 years) is over: a job (P51).
func (l *Ledger) Expire(ctx context.Context) error {
	keep := l.dm.RetentionOf("sharing_record")
	if keep <= 0 {
		return fmt.Errorf("sharing: the policy data gives sharing_record no retention period")
	}
	n, err := l.store.DeleteDisclosuresBefore(ctx, l.now().Add(-keep))
	if err != nil {
		return fmt.Errorf("sharing: expire: %w", err)
	}
	if n > 0 {
		l.logger.InfoContext(ctx, "sharing: ledger entries past their legal period deleted", slog.Int("entries", n))
	}
	return nil
}
