package audit_test

import (
	"testing"
	"time"

	"github.com/yuncan/yuncan/internal/audit"
)

// P52: the hash covers every field and the previous hash, so any change
// to either gives another hash. (The chain on both databases is tested
// in internal/storetest/audit.go.)
func TestHashCoversEveryField(t *testing.T) {
	at := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	base := audit.Link(audit.Entry{}, audit.Entry{At: at, ActorID: "mod", ActorRole: "moderator", Action: "case.private.read",
		TargetKind: "case", TargetID: "c1", Reason: "review"})
	if base.Seq != 1 || base.PrevHash != "" || base.Hash != audit.HashOf("", base) || len(base.Hash) != 64 {
		t.Fatalf("first link = %+v", base)
	}
	next := audit.Link(base, audit.Entry{At: at, ActorID: "mod", Action: "case.approve", TargetKind: "case", TargetID: "c1"})
	if next.Seq != 2 || next.PrevHash != base.Hash {
		t.Fatalf("second link = %+v", next)
	}
	for name, change := range map[string]func(*audit.Entry){
		"seq":    func(e *audit.Entry) { e.Seq++ },
		"at":     func(e *audit.Entry) { e.At = e.At.Add(time.Nanosecond) },
		"actor":  func(e *audit.Entry) { e.ActorID = "x" },
		"role":   func(e *audit.Entry) { e.ActorRole = "admin" },
		"action": func(e *audit.Entry) { e.Action = "x" },
		"kind":   func(e *audit.Entry) { e.TargetKind = "clue" },
		"target": func(e *audit.Entry) { e.TargetID = "c2" },
		"reason": func(e *audit.Entry) { e.Reason = "curiosity" },
	} {
		e := base
		change(&e)
		if audit.HashOf(e.PrevHash, e) == base.Hash {
			t.Errorf("changing %s keeps the hash", name)
		}
	}
	if audit.HashOf(next.Hash, base) == base.Hash {
		t.Error("another previous hash keeps the hash")
	}
}
