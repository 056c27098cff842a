// Package notify sends messages to people: SMS and email now; the inbox,
// live stream and push channels join it with the people-seeking alerts.
package notify

import (
	"context"
	"fmt"
	"time"

	"github.com/yuncan/yuncan/internal/jsonl"
)

// Message is one SMS or email.
type Message struct {
	// To is an E.164 phone number (SMS) or an email address.
	To      string
	Subject string // email only
	Body    string
	// Code is the one-time code the message carries, if any. Providers
	// that fill templates use it as the template parameter.
	Code string
}

// Sender delivers messages over one channel. Send returns an error when
// the provider refused or could not be reached; callers decide on retries.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// Outbox is the development provider: it appends every message as one JSON
// object per line to a file, so a person trying the service, or a test,
// can read the codes. It is durable: each line is synced before Send
// returns.
type Outbox struct {
	file *jsonl.File
	now  func() time.Time
}

// NewOutbox returns an outbox writing to path; the folder is created with
// mode 0700 and the file with 0600 on first use.
func NewOutbox(path string, now func() time.Time) *Outbox {
	if now == nil {
		now = time.Now
	}
	return &Outbox{file: jsonl.New(path), now: now}
}

// Path is the file the outbox appends to.
func (o *Outbox) Path() string { return o.file.Path() }

type outboxLine struct {
	At      string `json:"at"`
	To      string `json:"to"`
	Subject string `json:"subject,omitempty"`
	Body    string `json:"body"`
	Code    string `json:"code,omitempty"`
}

// Send appends m to the outbox file.
func (o *Outbox) Send(_ context.Context, m Message) error {
	err := o.file.Append(outboxLine{
		At: o.now().UTC().Format(time.RFC3339Nano), To: m.To, Subject: m.Subject, Body: m.Body, Code: m.Code,
	})
	if err != nil {
		return fmt.Errorf("notify: outbox: %w", err)
	}
	return nil
}
