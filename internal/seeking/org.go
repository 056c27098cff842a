package seeking

import (
	"context"
	"fmt"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/identity"
)

// Partner organisations (police, rescue stations, volunteer groups) and
// their staff are managed by admins. Staff of police and rescue stations
// may publish cases without a real-name verification of their own; staff
// of police see private fields and clues.

func requireAdmin(v Viewer) error {
	if v.Role != identity.RoleAdmin {
		return yuncan.Errorf(yuncan.Forbidden, "this is for admins only").WithReason("admin_required")
	}
	return nil
}

// CreateOrg adds a partner organisation.
func (s *Service) CreateOrg(ctx context.Context, v Viewer, name string, kind OrgKind) (Org, error) {
	if err := requireAdmin(v); err != nil {
		return Org{}, err
	}
	e := yuncan.Errorf(yuncan.Invalid, "the organisation has invalid fields")
	text(e, "name", &name, MaxName, true, true)
	if !kind.Valid() {
		e.WithField("kind", "must be police, rescue_station or volunteer_group")
	}
	if len(e.Fields) > 0 {
		return Org{}, e
	}
	o := Org{ID: newID(), Name: name, Kind: kind, CreatedAt: s.now()}
	if err := s.store.CreateOrg(ctx, o); err != nil {
		if yuncan.ErrorCode(err) == yuncan.Conflict {
			return Org{}, yuncan.Errorf(yuncan.Conflict, "an organisation with that name exists").WithReason("org_exists")
		}
		return Org{}, fmt.Errorf("seeking: create organisation: %w", err)
	}
	return o, nil
}

// Orgs lists the partner organisations.
func (s *Service) Orgs(ctx context.Context, v Viewer) ([]Org, error) {
	if err := requireAdmin(v); err != nil {
		return nil, err
	}
	return s.store.Orgs(ctx)
}

// AddStaff makes an account staff of an organisation.
func (s *Service) AddStaff(ctx context.Context, v Viewer, orgID, userID string) (Staff, error) {
	if err := requireAdmin(v); err != nil {
		return Staff{}, err
	}
	if userID == "" || len(userID) > 64 {
		return Staff{}, yuncan.FieldError("user_id", "is required")
	}
	if len(orgID) > 64 {
		return Staff{}, yuncan.Errorf(yuncan.NotFound, "no such organisation")
	}
	st := Staff{OrgID: orgID, UserID: userID, AddedBy: v.UserID, AddedAt: s.now()}
	err := s.store.AddStaff(ctx, st)
	switch yuncan.ErrorCode(err) {
	case "":
		return st, nil
	case yuncan.NotFound:
		if _, oerr := s.store.OrgByID(ctx, orgID); yuncan.ErrorCode(oerr) == yuncan.NotFound {
			return Staff{}, yuncan.Errorf(yuncan.NotFound, "no such organisation")
		}
		return Staff{}, yuncan.FieldError("user_id", "is not an account").WithReason("unknown_user")
	case yuncan.Conflict:
		return Staff{}, yuncan.Errorf(yuncan.Conflict, "the account is staff of that organisation already").WithReason("already_staff")
	}
	return Staff{}, fmt.Errorf("seeking: add staff to %s: %w", orgID, err)
}

// RemoveStaff ends a membership.
func (s *Service) RemoveStaff(ctx context.Context, v Viewer, orgID, userID string) error {
	if err := requireAdmin(v); err != nil {
		return err
	}
	err := s.store.RemoveStaff(ctx, orgID, userID)
	if yuncan.ErrorCode(err) == yuncan.NotFound {
		return yuncan.Errorf(yuncan.NotFound, "no such membership")
	}
	if err != nil {
		return fmt.Errorf("seeking: remove staff from %s: %w", orgID, err)
	}
	return nil
}
