package storetest

import (
	"context"
	"strings"
	"testing"

	"github.com/yuncan/yuncan/internal/sqlstore"
)

func init() {
	register("MigrateIsIdempotent", func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		n, err := db.Migrate(ctx)
		if err != nil || n != 0 {
			t.Fatalf("second Migrate = %d, %v; want 0, nil", n, err)
		}
		if err := db.CheckSchema(ctx); err != nil {
			t.Fatalf("CheckSchema after Migrate: %v", err)
		}
	})
	register("RefusesNewerSchema", func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		if _, err := db.SQL().ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'future', 0)`); err != nil {
			t.Fatal(err)
		}
		if err := db.CheckSchema(ctx); err == nil || !strings.Contains(err.Error(), "newer") {
			t.Fatalf("CheckSchema on a newer schema = %v, want a 'newer' error", err)
		}
		if _, err := db.Migrate(ctx); err == nil {
			t.Fatal("Migrate on a newer schema succeeded")
		}
	})
}
