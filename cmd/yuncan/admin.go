package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/yuncan/yuncan/internal/identity"
	"github.com/yuncan/yuncan/internal/server"
)

func cmdAdmin(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("admin needs a command: create-user, rotate-keys or audit-verify")
	}
	switch args[0] {
	case "create-user":
		f := newFlags("admin create-user", getenv, stderr)
		phone := f.fs.String("phone", "", "the account's mobile number")
		role := f.fs.String("role", "user", "admin, moderator or user")
		a, err := openAdmin(ctx, f, args[1:], getenv, stderr)
		if err != nil {
			return err
		}
		defer a.close()
		u, err := a.identity.CreateUser(ctx, *phone, identity.Role(*role))
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "account %s has role %s\n", u.ID, u.Role)
		return nil
	case "rotate-keys":
		a, err := openAdmin(ctx, newFlags("admin rotate-keys", getenv, stderr), args[1:], getenv, stderr)
		if err != nil {
			return err
		}
		defer a.close()
		id, err := a.keys.Rotate()
		if err != nil {
			return err
		}
		n, err := a.reseal(ctx)
		if err != nil {
			return fmt.Errorf("new key %s is active, but re-encryption stopped (run rotate-keys again to finish): %w", id, err)
		}
		fmt.Fprintf(stdout, "key %s is active; %d sealed values re-encrypted\n", id, n)
		return nil
	case "audit-verify":
		// P52: walk the audit chain; a broken chain exits non-zero.
		a, err := openAdmin(ctx, newFlags("admin audit-verify", getenv, stderr), args[1:], getenv, stderr)
		if err != nil {
			return err
		}
		defer a.close()
		res, err := a.audit.Verify(ctx)
		if err != nil {
			return err
		}
		b, _ := json.Marshal(server.AuditVerifyOut(res))
		fmt.Fprintf(stdout, "%s\n", b)
		if !res.OK {
			return fmt.Errorf("the audit chain is broken at entry %d", res.BrokenAt)
		}
		return nil
	}
	return fmt.Errorf("unknown admin command %q: create-user, rotate-keys or audit-verify", args[0])
}

// openAdmin parses an admin command's flags, opens the app and checks
// that the database schema is the one this binary knows; the caller
// closes the app.
func openAdmin(ctx context.Context, f flags, args []string, getenv func(string) string, stderr io.Writer) (*app, error) {
	if err := f.fs.Parse(args); err != nil {
		return nil, err
	}
	logger, err := f.cfg.logger(stderr)
	if err != nil {
		return nil, err
	}
	a, err := openApp(ctx, f.cfg, getenv, logger)
	if err != nil {
		return nil, err
	}
	if err := a.checkSchema(ctx); err != nil {
		a.close()
		return nil, err
	}
	return a, nil
}
