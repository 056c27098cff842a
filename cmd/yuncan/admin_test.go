package main

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yuncan/yuncan/internal/audit"
	"github.com/yuncan/yuncan/internal/identity"
	"github.com/yuncan/yuncan/internal/keyring"
	"github.com/yuncan/yuncan/internal/sqlstore"
	"github.com/yuncan/yuncan/internal/storetest"
)

func noEnv(string) string { return "" }

// yuncan migrate applies the schema; serve refuses a schema newer than
// it knows.
func TestMigrateAndNewerSchema(t *testing.T) {
	for _, tg := range storetest.Targets(t) {
		t.Run(tg.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			args := []string{"--data", tg.DataDir, "--db", tg.DSN}
			if err := run(ctx, append([]string{"migrate"}, args...), noEnv, nil, io.Discard, io.Discard); err != nil {
				t.Fatal(err)
			}
			db, err := sqlstore.Open(ctx, tg.DSN, tg.DataDir)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if err := db.CheckSchema(ctx); err != nil {
				t.Fatalf("after migrate: %v", err)
			}
			if _, err := db.SQL().Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'future', 0)`); err != nil {
				t.Fatal(err)
			}
			err = run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...), noEnv, nil, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), "newer") {
				t.Fatalf("serve on a newer schema: %v", err)
			}
		})
	}
}

// admin create-user gives a phone number a staff role; rotate-keys adds
// a key and re-encrypts every sealed phone, after which login still works.
func TestAdminCommands(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	if err := run(ctx, []string{"migrate", "--data", data}, noEnv, nil, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err := run(ctx, []string{"admin", "create-user", "--data", data, "--phone", "13700137000", "--role", "admin"}, noEnv, nil, &out, io.Discard)
	if err != nil || !strings.Contains(out.String(), "role admin") {
		t.Fatalf("create-user: %v %q", err, out.String())
	}
	if err := run(ctx, []string{"admin", "create-user", "--data", data, "--phone", "12", "--role", "admin"}, noEnv, nil, io.Discard, io.Discard); err == nil {
		t.Error("create-user took an invalid phone")
	}
	if err := run(ctx, []string{"admin", "create-user", "--data", data, "--phone", "13700137001", "--role", "king"}, noEnv, nil, io.Discard, io.Discard); err == nil {
		t.Error("create-user took an unknown role")
	}

	inst := start(t, data, "")
	signUp(t, inst, "+8613600136000")
	inst.stop()

	out.Reset()
	if err := run(ctx, []string{"admin", "rotate-keys", "--data", data}, noEnv, nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "2 sealed values re-encrypted") {
		t.Errorf("rotate-keys said %q", out.String())
	}
	keys, err := keyring.Load(filepath.Join(data, "keys", "keyring.json"))
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlstore.Open(ctx, "", data)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	left, err := db.NotUnderKey(ctx, keys.ActiveKeyID())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range left {
		if c.Resealed != 0 {
			t.Errorf("%s.%s: %d values still sealed under an old key", c.Table, c.Column, c.Resealed)
		}
	}
	inst = start(t, data, "")
	var me struct {
		Role string `json:"role"`
	}
	lo := signUp(t, inst, "+8613700137000") // the admin's first login accepts the policy
	if st := call(t, "GET", inst.URL+"/api/v1/me", lo.Token, nil, &me); st != 200 || me.Role != "admin" {
		t.Errorf("admin after rotation: %d %+v", st, me)
	}
}

// P52: admin audit-verify walks the audit chain of a real data folder,
// prints {"ok","entries","broken_at"} and exits non-zero once a row is
// changed.
func TestAdminAuditVerify(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	if err := run(ctx, []string{"migrate", "--data", data}, noEnv, nil, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	db, err := sqlstore.Open(ctx, "", data)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	log := audit.NewLog(db.Audit(), nil)
	for _, id := range []string{"c1", "c2", "c3"} {
		if _, err := log.Append(ctx, audit.Record{ActorID: "mod", ActorRole: identity.RoleModerator, Action: "case.private.read",
			TargetKind: "case", TargetID: id, Reason: "review"}); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	err = run(ctx, []string{"admin", "audit-verify", "--data", data}, noEnv, nil, &out, io.Discard)
	if err != nil || !strings.Contains(out.String(), `"ok":true,"entries":3,"broken_at":null`) {
		t.Fatalf("audit-verify: %v %q", err, out.String())
	}
	if _, err := db.SQL().Exec(`UPDATE audit_log SET reason = 'curiosity' WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	err = run(ctx, []string{"admin", "audit-verify", "--data", data}, noEnv, nil, &out, io.Discard)
	if err == nil || !strings.Contains(out.String(), `"ok":false,"entries":3,"broken_at":2`) {
		t.Fatalf("audit-verify after tampering: %v %q", err, out.String())
	}
}
