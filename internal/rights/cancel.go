package rights

import (
	"fmt"
	"log/slog"
	"slices"
	"time"
)

// CancelStatus is where a cancellation stands: pending during the
// cooling-off, withdrawn when the person took it back, erasing while the
// job works, completed when everything is gone.
type CancelStatus string

// Cancellation statuses.
const (
	CancelPending   CancelStatus = "pending"
	CancelWithdrawn CancelStatus = "withdrawn"
	CancelErasing   CancelStatus = "erasing"
	CancelCompleted CancelStatus = "completed"
)

// Cancellation is a request to cancel an account (policy 6.4, P66), as
// stored. It outlives the account: the proof that the deletion was done.
type Cancellation struct {
	ID          string
	UserID      string
	Status      CancelStatus
	RequestedAt time.Time
	// DueAt is when the cooling-off ends and the erasure starts.
	DueAt       time.Time
	WithdrawnAt time.Time
	StartedAt   time.Time
	CompletedAt time.Time
	Attempts    int
	LeaseUntil  time.Time
	// Pending is what the rows' erasure left to do outside the database;
	// nil until the rows are erased (set in the same transaction).
	Pending *Pending
	// Held are the legal records kept, each with its basis and expiry.
	Held []Hold
}

// LogValue keeps logs to ids.
func (c Cancellation) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", c.ID), slog.String("user_id", c.UserID), slog.String("status", string(c.Status)))
}

// Pending is the erasure's work outside the database: it holds keys and
// ids only, never personal data.
type Pending struct {
	// Media are keys of files in the media store.
	Media []string `json:"media,omitempty"`
	// Exports are ids of export archives in the exports folder.
	Exports []string `json:"exports,omitempty"`
	// Subjects are the account and its devices, to drop from the geo
	// index and the caches.
	Subjects []Subject `json:"subjects,omitempty"`
}

// Subject is an account or a device, as the consent and location areas
// name them ("user" or "device").
type Subject struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
}

// Hold is a legal record kept after a cancellation: which table, how many
// of the person's rows, why, and the latest day they go (the category's
// retention job deletes them by age, earlier for older rows).
type Hold struct {
	Table     string    `json:"table"`
	Rows      int       `json:"rows"`
	Basis     string    `json:"basis"`
	Category  string    `json:"category"`
	ExpiresAt time.Time `json:"expires_at"`
}

// links are the tables a match reads to find the person's rows: a link's
// table, and devices for a subject match (its device ids come from there).
func (m Match) links() []string {
	var out []string
	if m.KindColumn != "" {
		out = append(out, "devices")
	}
	if m.In != nil {
		out = append(out, m.In.Table)
		out = append(out, m.In.Match.links()...)
	}
	for _, o := range m.Or {
		out = append(out, o.links()...)
	}
	return out
}

// ErasureOrder is the registry in the order erasure must run: a table is
// erased before every table its match (or Also) reads, since once those
// rows are gone the person's rows could no longer be found. Among tables
// free to go, later registry entries go first (children before parents).
// It fails when the links form a cycle; the registry test calls it.
func ErasureOrder(reg []Table) ([]Table, error) {
	// before[x] are the tables that must be erased before x.
	before := map[string][]string{}
	for _, t := range reg {
		ls := t.Match.links()
		if t.Erase.Also != nil {
			ls = append(ls, t.Erase.Also.links()...)
		}
		for _, l := range ls {
			if l != t.Name && !slices.Contains(before[l], t.Name) {
				before[l] = append(before[l], t.Name)
			}
		}
	}
	done, in := map[string]bool{}, map[string]bool{}
	for _, t := range reg {
		in[t.Name] = true
	}
	var out []Table
	for len(out) < len(reg) {
		progressed := false
		for i := len(reg) - 1; i >= 0; i-- {
			t := reg[i]
			if done[t.Name] {
				continue
			}
			ready := true
			for _, b := range before[t.Name] {
				if in[b] && !done[b] {
					ready = false
					break
				}
			}
			if ready {
				done[t.Name] = true
				out = append(out, t)
				progressed = true
				break
			}
		}
		if !progressed {
			return nil, fmt.Errorf("rights: the registry's links form a cycle")
		}
	}
	return out, nil
}
