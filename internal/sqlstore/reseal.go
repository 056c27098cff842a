package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
)

// SealedColumn is a column whose values an area sealed with the keyring
// (keyring.Seal(Context, value)); "" means no value.
type SealedColumn struct {
	Table  string
	Key    []string // the primary key columns
	Column string
	// Context is the additional data the area seals the column's values
	// with: by convention "<table>.<column without _sealed>".
	Context string
}

// sealedColumns is the one list of every sealed column. A migration or an
// area that seals a new column adds it here; TestSealedColumnsRegistry
// fails until it does.
var sealedColumns = []SealedColumn{
	{"users", []string{"id"}, "phone_sealed", "users.phone"},
	{"guardian_consents", []string{"user_id"}, "guardian_phone_sealed", "guardian_consents.guardian_phone"},
	{"guardian_requests", []string{"id"}, "guardian_phone_sealed", "guardian_requests.guardian_phone"},
	{"guardian_requests", []string{"id"}, "minor_phone_sealed", "guardian_requests.minor_phone"},
	{"guardian_requests", []string{"id"}, "message_sealed", "guardian_requests.message"},
	{"location_positions", []string{"subject_kind", "subject_id"}, "point_sealed", "location_positions.point"},
	{"real_names", []string{"user_id"}, "name_sealed", "real_names.name"},
	{"real_names", []string{"user_id"}, "id_number_sealed", "real_names.id_number"},
	{"cases", []string{"id"}, "last_seen_point_sealed", "cases.last_seen_point"},
	{"cases", []string{"id"}, "reporter_relationship_sealed", "cases.reporter_relationship"},
	{"cases", []string{"id"}, "reporter_contact_sealed", "cases.reporter_contact"},
	{"cases", []string{"id"}, "police_receipt_sealed", "cases.police_receipt"},
	{"cases", []string{"id"}, "verification_note_sealed", "cases.verification_note"},
	{"clues", []string{"id"}, "text_sealed", "clues.text"},
	{"clues", []string{"id"}, "point_sealed", "clues.point"},
	{"clues", []string{"id"}, "place_name_sealed", "clues.place_name"},
	{"relay_messages", []string{"id"}, "text_sealed", "relay_messages.text"},
	{"alerts", []string{"id"}, "centre_sealed", "alerts.centre"},
	{"tickets", []string{"id"}, "text_sealed", "tickets.text"},
	{"tickets", []string{"id"}, "minor_phone_sealed", "tickets.minor_phone"},
	{"tickets", []string{"id"}, "contact_sealed", "tickets.contact"},
	{"ticket_messages", []string{"id"}, "text_sealed", "ticket_messages.text"},
}

// SealedColumns lists every column that holds sealed values.
func SealedColumns() []SealedColumn {
	out := make([]SealedColumn, len(sealedColumns))
	for i, c := range sealedColumns {
		c.Key = slices.Clone(c.Key)
		out[i] = c
	}
	return out
}

// Sealer opens and seals values; *keyring.Keyring is one.
type Sealer interface {
	ActiveKeyID() string
	Open(context, sealed string) ([]byte, error)
	Seal(context string, plaintext []byte) string
}

// ResealCount says how many values of one sealed column a Reseal moved
// to the active key.
type ResealCount struct {
	Table, Column string
	Resealed      int
}

// resealBatch is how many rows one transaction re-encrypts.
const resealBatch = 500

// Reseal re-encrypts every sealed value that is not under the active key
// (after keyring.Rotate), column by column in batches of one transaction
// each. It is resumable: a run that stopped is finished by another, which
// only touches values still under an older key. A row changed meanwhile
// is left as its writer made it (each update checks the old value). It
// returns the counts per column, also those done before an error.
func (db *DB) Reseal(ctx context.Context, keys Sealer) ([]ResealCount, error) {
	return db.reseal(ctx, keys, resealBatch)
}

func (db *DB) reseal(ctx context.Context, keys Sealer, batchSize int) ([]ResealCount, error) {
	var out []ResealCount
	for _, c := range sealedColumns {
		n, err := db.resealColumn(ctx, keys, c, batchSize)
		out = append(out, ResealCount{Table: c.Table, Column: c.Column, Resealed: n})
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// NotUnderKey counts, per sealed column, the values sealed under a key
// other than keyID: all zero once a rotation to keyID has finished.
func (db *DB) NotUnderKey(ctx context.Context, keyID string) ([]ResealCount, error) {
	var out []ResealCount
	for _, c := range sealedColumns {
		var n int
		q := fmt.Sprintf(`SELECT COUNT(*) FROM %s WHERE %s <> '' AND substr(%s, 1, %d) <> ?`, c.Table, c.Column, c.Column, len(keyID)+1)
		if err := db.queryRow(ctx, db.sql, q, keyID+":").Scan(&n); err != nil {
			return nil, fmt.Errorf("sqlstore: count %s.%s: %w", c.Table, c.Column, err)
		}
		out = append(out, ResealCount{Table: c.Table, Column: c.Column, Resealed: n})
	}
	return out, nil
}

// resealColumn walks c's rows in primary key order (so that rows whose
// update lost to a concurrent writer are not read again and again) and
// re-encrypts the values under older keys.
func (db *DB) resealColumn(ctx context.Context, keys Sealer, c SealedColumn, batchSize int) (int, error) {
	active := keys.ActiveKeyID()
	keyList := strings.Join(c.Key, ", ")
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(c.Key)), ", ")
	base := fmt.Sprintf(`SELECT %s, %s FROM %s WHERE %s <> '' AND substr(%s, 1, %d) <> ?`,
		keyList, c.Column, c.Table, c.Column, c.Column, len(active)+1)
	var where []string
	for _, k := range c.Key {
		where = append(where, k+" = ?")
	}
	update := fmt.Sprintf(`UPDATE %s SET %s = ? WHERE %s AND %s = ?`, c.Table, c.Column, strings.Join(where, " AND "), c.Column)
	type row struct {
		key    []any
		sealed string
	}
	total := 0
	var after []any
	for {
		q, args := base, []any{active + ":"}
		if after != nil {
			q += fmt.Sprintf(` AND (%s) > (%s)`, keyList, marks)
			args = append(args, after...)
		}
		q += fmt.Sprintf(` ORDER BY %s LIMIT %d`, keyList, batchSize)
		rows, err := db.query(ctx, db.sql, q, args...)
		if err != nil {
			return total, fmt.Errorf("sqlstore: reseal %s.%s: %w", c.Table, c.Column, err)
		}
		var batch []row
		for rows.Next() {
			keyVals := make([]string, len(c.Key))
			dest := make([]any, 0, len(c.Key)+1)
			for i := range keyVals {
				dest = append(dest, &keyVals[i])
			}
			var r row
			dest = append(dest, &r.sealed)
			if err := rows.Scan(dest...); err != nil {
				rows.Close()
				return total, fmt.Errorf("sqlstore: reseal %s.%s: %w", c.Table, c.Column, err)
			}
			for _, v := range keyVals {
				r.key = append(r.key, v)
			}
			batch = append(batch, r)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return total, fmt.Errorf("sqlstore: reseal %s.%s: %w", c.Table, c.Column, err)
		}
		if len(batch) == 0 {
			return total, nil
		}
		// Crypto outside the transaction keeps SQLite's write lock short.
		fresh := make([]string, len(batch))
		for i, r := range batch {
			pt, err := keys.Open(c.Context, r.sealed)
			if err != nil {
				return total, fmt.Errorf("sqlstore: reseal %s.%s %v: %w", c.Table, c.Column, r.key, err)
			}
			fresh[i] = keys.Seal(c.Context, pt)
		}
		n := 0
		err = db.tx(ctx, func(tx *sql.Tx) error {
			for i, r := range batch {
				args := append(append([]any{fresh[i]}, r.key...), r.sealed)
				res, err := db.exec(ctx, tx, update, args...)
				if err != nil {
					return fmt.Errorf("sqlstore: reseal %s.%s %v: %w", c.Table, c.Column, r.key, err)
				}
				n += rowsAffected(res)
			}
			return nil
		})
		if err != nil {
			return total, err
		}
		total += n
		after = batch[len(batch)-1].key
	}
}
