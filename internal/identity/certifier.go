package identity

import "context"

// Certifier checks a real name and ID number (and, for three-element
// checks, the mobile number) against the national identity records,
// through a licensed third party. The adapters live in internal/certify.
//
// Verify answers Match false when the records disagree: a mismatch is an
// answer, not an error. Errors mean no answer: *yuncan.Error with code
// Unavailable when the certifier could not be reached, refused the
// credentials or answered something unreadable. No error may hold the
// name, the number or the phone, in its message or its cause: the server
// logs causes.
type Certifier interface {
	Verify(ctx context.Context, name string, id IDNumber, phone Phone) (Certification, error)
}

// Certification is a certifier's answer.
type Certification struct {
	Match bool
	// Reference is the certifier's id for the check (an order or request
	// number), kept as the proof of the verification.
	Reference string
}

// CertifierFunc adapts a function to Certifier, for tests and wiring.
type CertifierFunc func(ctx context.Context, name string, id IDNumber, phone Phone) (Certification, error)

// Verify calls f.
func (f CertifierFunc) Verify(ctx context.Context, name string, id IDNumber, phone Phone) (Certification, error) {
	return f(ctx, name, id, phone)
}
