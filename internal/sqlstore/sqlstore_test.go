package sqlstore_test

import (
	"testing"

	"github.com/yuncan/yuncan/internal/storetest"
)

// TestConformance runs the storage conformance suite on SQLite, and on
// PostgreSQL when YUNCAN_TEST_POSTGRES_DSN is set.
func TestConformance(t *testing.T) { storetest.Run(t) }
