package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/yuncan/yuncan/internal/consent"
)

// consentChannel is the PostgreSQL notification channel on which every
// consent decision is announced, so that each replica drops its cached
// states for the subject at once.
const consentChannel = "yuncan_consent"

// ListenConsent calls changed for every consent decision any process
// commits, until ctx ends. When the connection drops it calls lost with
// the cause (the caller forgets everything cached, since notifications
// may have been missed) and connects again. On SQLite it returns nil at
// once: there is only one process.
func (db *DB) ListenConsent(ctx context.Context, changed func(consent.Subject), lost func(error)) error {
	if db.dialect != Postgres {
		return nil
	}
	for ctx.Err() == nil {
		err := db.listenOnce(ctx, changed)
		if ctx.Err() != nil {
			return nil
		}
		lost(err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	return nil
}

func (db *DB) listenOnce(ctx context.Context, changed func(consent.Subject)) error {
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return errors.New("sqlstore: listen: not a pgx connection")
		}
		pc := c.Conn()
		if _, err := pc.Exec(ctx, "LISTEN "+consentChannel); err != nil {
			return fmt.Errorf("sqlstore: listen: %w", err)
		}
		defer pc.Exec(context.Background(), "UNLISTEN "+consentChannel)
		for {
			n, err := pc.WaitForNotification(ctx)
			if err != nil {
				return err
			}
			kind, id, ok := strings.Cut(n.Payload, ":")
			if ok {
				changed(consent.Subject{Kind: consent.SubjectKind(kind), ID: id})
			}
		}
	})
}
