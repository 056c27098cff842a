// Package sharing is the sharing ledger (policy 3.1–3.2; P33, P34, P35,
// P36, P42, P47): the one way personal data leaves for a third party.
//
// Every sender that hands personal data to a third party (the SMS
// provider, the real-name certifier, the push services) asks
// Ledger.Disclose first. Disclose looks the recipient up in the policy
// data (consent/policy/datamap.json), refuses one that is not declared
// (P47), refuses fields the policy does not name for it (P34) and direct
// identifiers for a recipient declared de-identified (P42), finds the
// basis (the purpose's consent through the consent gate, a legal
// exemption, or a purpose necessary for the service; P33), and records
// recipient, purpose, field names, basis, subject and time before the
// data goes. A refusal is logged with ids only, and the sender sends
// nothing.
//
// The person sees the ledger in the privacy center ("who received my
// data"), and gets it in the data export. Partners get statistics only,
// aggregated and with small groups suppressed (P36, stats.go).
package sharing

import (
	"log/slog"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/consent"
)

// Basis is why a disclosure was allowed.
type Basis string

// Bases.
const (
	// BasisConsent: the person's live consent to the recipient's purpose.
	BasisConsent Basis = "consent"
	// BasisNecessary: the recipient's purpose is declared necessary for
	// the service the person asked for (PIPL Art. 13(1)(2), a contract
	// the person is party to), and the recipient processes the data on
	// our behalf and instructions (an entrusted party, Art. 21): the
	// SMS provider sending a login code.
	BasisNecessary Basis = "necessary"
	// BasisExemption: a legal exemption of policy 1.8 (3.4), recorded
	// through consent.Service.Exempt with its code.
	BasisExemption Basis = "exemption"
)

// Disclosure is what a sender is about to hand to a recipient.
type Disclosure struct {
	// Recipient is the id of a recipient of the policy data.
	Recipient string
	// Subject is whose data it is: an account, or a device before login.
	// It may be zero when PhoneIndex is set.
	Subject consent.Subject
	// PhoneIndex is the keyed blind index of the phone number the data
	// is about (as users.phone_index keeps it), for an SMS to a number:
	// Disclose finds the account holding it, if any.
	PhoneIndex string
	// Fields are the names, in the policy data's terms, of what the
	// recipient receives.
	Fields []string
	// Exemption, when set, is the code of the legal exemption (policy
	// 1.8) the disclosure goes under without consent, and Detail says
	// why without personal data (as consent.Service.Exempt asks).
	Exemption string
	Detail    string
}

// Entry is one line of the ledger.
type Entry struct {
	ID        string
	At        time.Time
	Recipient string
	Purpose   consent.Purpose
	// Fields are names, never values.
	Fields    []string
	Basis     Basis
	Exemption string // the exemption's code with BasisExemption
	// Subject is whose data it was; zero when only PhoneIndex is known
	// (a code sent to a number no account held yet).
	Subject    consent.Subject
	PhoneIndex string
}

// LogValue logs ids, the recipient and the purpose: the ledger holds no
// personal data but the subject's id and a blind index, which stays out.
func (e Entry) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", e.ID), slog.String("recipient", e.Recipient),
		slog.String("purpose", string(e.Purpose)), slog.String("basis", string(e.Basis)), slog.Any("subject", e.Subject))
}

// Cursor is a position in a person's ledger, newest first.
type Cursor = yuncan.Cursor

// DirectIdentifiers maps the field names a payload may use for a direct
// identifier to the policy data's category of it: the name and ID
// number, the phone number, the account id (and the public user id),
// the nickname, and the persistent push token or endpoint and device id.
// A recipient declared de-identified never receives one of them (P42;
// policy 3.1.3a: advertisers get only de-identified or anonymous data).
// A rotating advertising id ("ad_id") or a pseudonym is not one.
var DirectIdentifiers = map[string]string{
	"name":          "real_name_identity",
	"real_name":     "real_name_identity",
	"id_number":     "real_name_identity",
	"phone":         "phone",
	"user_id":       "account_id",
	"account_id":    "account_id",
	"public_id":     "account_id",
	"nickname":      "profile_required",
	"push_token":    "push_token",
	"push_endpoint": "push_token",
	"device_id":     "device_info",
}
