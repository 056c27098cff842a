package main

import (
	"context"
	"fmt"
	"io"

	"github.com/yuncan/yuncan/internal/identity"
)

func cmdAdmin(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("admin needs a command: create-user or rotate-keys")
	}
	switch args[0] {
	case "create-user":
		f := newFlags("admin create-user", getenv, stderr)
		phone := f.fs.String("phone", "", "the account's mobile number")
		role := f.fs.String("role", "user", "admin, moderator or user")
		if err := f.fs.Parse(args[1:]); err != nil {
			return err
		}
		logger, err := f.cfg.logger(stderr)
		if err != nil {
			return err
		}
		a, err := openApp(ctx, f.cfg, getenv, logger)
		if err != nil {
			return err
		}
		defer a.close()
		if err := a.checkSchema(ctx); err != nil {
			return err
		}
		u, err := a.identity.CreateUser(ctx, *phone, identity.Role(*role))
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "account %s has role %s\n", u.ID, u.Role)
		return nil
	case "rotate-keys":
		f := newFlags("admin rotate-keys", getenv, stderr)
		if err := f.fs.Parse(args[1:]); err != nil {
			return err
		}
		logger, err := f.cfg.logger(stderr)
		if err != nil {
			return err
		}
		a, err := openApp(ctx, f.cfg, getenv, logger)
		if err != nil {
			return err
		}
		defer a.close()
		if err := a.checkSchema(ctx); err != nil {
			return err
		}
		id, err := a.keys.Rotate()
		if err != nil {
			return err
		}
		n, err := a.identity.Reseal(ctx)
		if err != nil {
			return fmt.Errorf("new key %s is active, but re-encryption stopped (run rotate-keys again to finish): %w", id, err)
		}
		fmt.Fprintf(stdout, "key %s is active; %d sealed values re-encrypted\n", id, n)
		return nil
	}
	return fmt.Errorf("unknown admin command %q: create-user or rotate-keys", args[0])
}
