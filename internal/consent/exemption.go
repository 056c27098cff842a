package consent

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/yuncan/yuncan"
)

// ExemptionUse records one processing of a subject's data for a purpose
// without their consent, under a legal exemption of policy 1.8 (P26).
type ExemptionUse struct {
	ID      string
	Subject Subject
	Purpose Purpose
	// Code is the exemption, as the data map lists it ("1.8h").
	Code string
	// Detail says why in words an auditor can check (a case or ticket
	// number, the fault being handled). It holds no personal data: no
	// names, numbers, addresses or content. The subject is on the record
	// by id only.
	Detail string
	At     time.Time
}

// maxExemptionDetail bounds Detail, in characters: a note, not a file.
const maxExemptionDetail = 200

// ExemptionStore keeps the exemption uses; it is part of Store.
type ExemptionStore interface {
	// AddExemptionUse records u.
	AddExemptionUse(ctx context.Context, u ExemptionUse) error
	// ExemptionUses returns the uses at or after since, oldest first.
	ExemptionUses(ctx context.Context, since time.Time) ([]ExemptionUse, error)
	// DeleteExemptionUsesBefore deletes the uses recorded before t.
	DeleteExemptionUsesBefore(ctx context.Context, t time.Time) (int, error)
}

// ExpireExemptionUses deletes the record of exemption uses once its legal
// period (the exemption_record category of the policy data) is over: a
// job (P51).
func (s *Service) ExpireExemptionUses(ctx context.Context) error {
	keep := s.dm.RetentionOf("exemption_record")
	if keep <= 0 {
		return nil
	}
	if _, err := s.store.DeleteExemptionUsesBefore(ctx, s.now().Add(-keep)); err != nil {
		return fmt.Errorf("consent: expire exemption uses: %w", err)
	}
	return nil
}

// Exempt is the only way to process a subject's data for p without their
// consent: it records the use under one of the legal exemptions of policy
// 1.8 and returns nil, after which the caller may go on. An empty or
// unknown code is refused (Invalid, reason exemption_unknown) and nothing
// is recorded; so is a detail that is empty, longer than 200 characters
// or not one line. detail must hold no personal data (see ExemptionUse).
func (s *Service) Exempt(ctx context.Context, sub Subject, p Purpose, code string, detail string) error {
	if code == "" || !s.dm.Exemption(code) {
		return yuncan.Errorf(yuncan.Invalid, "processing without consent needs one of the legal exemptions of policy section 1.8").
			WithReason("exemption_unknown").WithField("code", "is not an exemption of the privacy policy")
	}
	if _, err := s.decl(p); err != nil {
		return err
	}
	if (sub.Kind != SubjectUser && sub.Kind != SubjectDevice) || sub.ID == "" {
		return yuncan.FieldError("subject", "must be an account or a device")
	}
	if err := checkDetail(detail); err != nil {
		return err
	}
	u := ExemptionUse{ID: uuid.Must(uuid.NewV7()).String(), Subject: sub, Purpose: p, Code: code, Detail: detail, At: s.now().UTC()}
	if err := s.store.AddExemptionUse(ctx, u); err != nil {
		return fmt.Errorf("consent: record exemption %s for %s: %w", code, p, err)
	}
	if s.logger != nil {
		s.logger.InfoContext(ctx, "consent: processing under a legal exemption", slog.Any("subject", sub),
			slog.String("purpose", string(p)), slog.String("code", code), slog.String("exemption_use", u.ID))
	}
	return nil
}

func checkDetail(detail string) error {
	switch {
	case strings.TrimSpace(detail) == "":
		return yuncan.FieldError("detail", "say why, without personal data")
	case !utf8.ValidString(detail) || utf8.RuneCountInString(detail) > maxExemptionDetail:
		return yuncan.FieldError("detail", fmt.Sprintf("must be at most %d characters", maxExemptionDetail))
	case strings.IndexFunc(detail, unicode.IsControl) >= 0:
		return yuncan.FieldError("detail", "must be one line of text")
	}
	return nil
}

// ExemptionUses lists the uses recorded at or after since, oldest first,
// for audits (P26).
func (s *Service) ExemptionUses(ctx context.Context, since time.Time) ([]ExemptionUse, error) {
	us, err := s.store.ExemptionUses(ctx, since)
	if err != nil {
		return nil, fmt.Errorf("consent: exemption uses: %w", err)
	}
	return us, nil
}
