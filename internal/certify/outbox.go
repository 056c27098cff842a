package certify

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/yuncan/yuncan/internal/identity"
	"github.com/yuncan/yuncan/internal/jsonl"
)

// MismatchName is the name the outbox answers with a mismatch, so that a
// person trying the service, or a test, can see one.
const MismatchName = "测试不符"

// Outbox is the development certifier: it answers every check with a
// match (MismatchName excepted) and appends one JSON line per check to a
// file, so a developer can see what would have been asked. The line holds
// the name and the ID number masked, never in clear, and no phone. Each
// line is synced before Verify returns.
type Outbox struct {
	file *jsonl.File
	now  func() time.Time
}

// NewOutbox returns an outbox writing to path; the folder is created with
// mode 0700 and the file with 0600 on first use. now is the clock
// (time.Now when nil).
func NewOutbox(path string, now func() time.Time) *Outbox {
	if now == nil {
		now = time.Now
	}
	return &Outbox{file: jsonl.New(path), now: now}
}

// Path is the file the outbox appends to.
func (o *Outbox) Path() string { return o.file.Path() }

// OutboxLine is one line of the outbox file.
type OutboxLine struct {
	At             string `json:"at"`
	NameMasked     string `json:"name_masked"`
	IDNumberMasked string `json:"id_number_masked"`
	WithPhone      bool   `json:"with_phone"`
	Match          bool   `json:"match"`
	Reference      string `json:"reference"`
}

// Verify records the check and answers it.
func (o *Outbox) Verify(_ context.Context, name string, id identity.IDNumber, phone identity.Phone) (identity.Certification, error) {
	c := identity.Certification{Match: name != MismatchName, Reference: "outbox-" + uuid.Must(uuid.NewV7()).String()}
	err := o.file.Append(OutboxLine{
		At: o.now().UTC().Format(time.RFC3339Nano), NameMasked: identity.MaskRealName(name), IDNumberMasked: id.Masked(),
		WithPhone: phone != "", Match: c.Match, Reference: c.Reference,
	})
	if err != nil {
		return identity.Certification{}, fmt.Errorf("certify: outbox: %w", err)
	}
	return c, nil
}
