package alert

import (
	"context"
	"sync/atomic"

	"github.com/yuncan/yuncan/internal/seeking"
)

// Hooks is the seeking area's publisher before the alert service exists:
// the alert service needs the seeking service (to read cases), and the
// seeking service needs a publisher, so the publisher is bound late. Until
// Bind, or in processes that never bind (the admin commands), a hook does
// nothing and the scheduler catches up when a service runs next.
type Hooks struct{ svc atomic.Pointer[Service] }

var _ seeking.Publisher = (*Hooks)(nil)

// Bind makes the hooks forward to svc.
func (h *Hooks) Bind(svc *Service) { h.svc.Store(svc) }

// CasePublished forwards to the bound service.
func (h *Hooks) CasePublished(ctx context.Context, c seeking.Case) error {
	if s := h.svc.Load(); s != nil {
		return s.CasePublished(ctx, c)
	}
	return nil
}

// ClueVerified forwards to the bound service.
func (h *Hooks) ClueVerified(ctx context.Context, c seeking.Case, cl seeking.Clue) error {
	if s := h.svc.Load(); s != nil {
		return s.ClueVerified(ctx, c, cl)
	}
	return nil
}

// CaseResolved forwards to the bound service.
func (h *Hooks) CaseResolved(ctx context.Context, c seeking.Case) error {
	if s := h.svc.Load(); s != nil {
		return s.CaseResolved(ctx, c)
	}
	return nil
}
