package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/yuncan/yuncan/internal/consent"
)

// PolicyStore implements consent.VersionStore: the policy versions, and
// the acceptances in policy_acceptances (which sign-up writes through the
// identity store).
type PolicyStore struct{ db *DB }

// Policy returns the store of policy versions.
func (db *DB) Policy() *PolicyStore { return &PolicyStore{db: db} }

var _ consent.VersionStore = (*PolicyStore)(nil)

const policyColumns = `version, effective_at, published_at, published_by, text, summary_zh, summary_en, changed_purposes, reduces_rights, adds_purposes`

func (s *PolicyStore) CreatePolicyVersion(ctx context.Context, p consent.Policy) error {
	purposes := make([]string, len(p.ChangedPurposes))
	for i, pu := range p.ChangedPurposes {
		purposes[i] = string(pu)
	}
	_, err := s.db.exec(ctx, s.db.sql, `INSERT INTO policy_versions (`+policyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.Version, ts(p.Effective), ts(p.PublishedAt), p.PublishedBy, p.Text, p.Summary.ZH, p.Summary.EN,
		strings.Join(purposes, ","), policyFlag(p.ReducesRights), policyFlag(p.AddsPurposes))
	if err != nil {
		return fmt.Errorf("sqlstore: create policy version %s: %w", p.Version, err)
	}
	return nil
}

func (s *PolicyStore) PolicyVersions(ctx context.Context) ([]consent.Policy, error) {
	out, err := queryAll(ctx, s.db, scanPolicy, s.db.sql, `SELECT `+policyColumns+` FROM policy_versions ORDER BY effective_at, version`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: policy versions: %w", err)
	}
	return out, nil
}

func (s *PolicyStore) PolicyVersion(ctx context.Context, version string) (consent.Policy, error) {
	p, err := scanPolicy(s.db.queryRow(ctx, s.db.sql, `SELECT `+policyColumns+` FROM policy_versions WHERE version = ?`, version))
	return p, notFound(err, "policy version")
}

func scanPolicy(row scanner) (consent.Policy, error) {
	var p consent.Policy
	var eff, pub int64
	var purposes string
	var reduces, adds int
	if err := row.Scan(&p.Version, &eff, &pub, &p.PublishedBy, &p.Text, &p.Summary.ZH, &p.Summary.EN, &purposes, &reduces, &adds); err != nil {
		return consent.Policy{}, err
	}
	p.Effective, p.PublishedAt = fromTS(eff), fromTS(pub)
	p.ReducesRights, p.AddsPurposes = reduces != 0, adds != 0
	if purposes != "" {
		for pu := range strings.SplitSeq(purposes, ",") {
			p.ChangedPurposes = append(p.ChangedPurposes, consent.Purpose(pu))
		}
	}
	return p, nil
}

// policyFlag stores a boolean as 0 or 1, which both engines take as
// INTEGER.
func policyFlag(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (s *PolicyStore) AddPolicyAcceptance(ctx context.Context, a consent.Acceptance) error {
	_, err := s.db.exec(ctx, s.db.sql, `INSERT INTO policy_acceptances (id, user_id, version, channel, accepted_at) VALUES (?, ?, ?, ?, ?)`,
		uuid.Must(uuid.NewV7()).String(), a.UserID, a.Version, a.Channel, ts(a.At))
	if err != nil {
		return fmt.Errorf("sqlstore: policy acceptance: %w", err)
	}
	return nil
}

func (s *PolicyStore) PolicyAcceptances(ctx context.Context, userID string) ([]consent.Acceptance, error) {
	rows, err := s.db.query(ctx, s.db.sql, `SELECT user_id, version, channel, accepted_at FROM policy_acceptances
		WHERE user_id = ? ORDER BY accepted_at, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: policy acceptances: %w", err)
	}
	defer rows.Close()
	var out []consent.Acceptance
	for rows.Next() {
		var a consent.Acceptance
		var at int64
		if err := rows.Scan(&a.UserID, &a.Version, &a.Channel, &at); err != nil {
			return nil, fmt.Errorf("sqlstore: policy acceptances: %w", err)
		}
		a.At = fromTS(at)
		out = append(out, a)
	}
	return out, rows.Err()
}
