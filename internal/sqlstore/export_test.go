package sqlstore

import "context"

// ResealInBatches is Reseal with batches of n rows, so that tests cover
// several batches with a few rows.
func (db *DB) ResealInBatches(ctx context.Context, keys Sealer, n int) ([]ResealCount, error) {
	return db.reseal(ctx, keys, n)
}
