package incidents

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/notify"
)

// The notification job (incidents.notify): it works through the affected
// accounts of each declared incident in batches, in id order, and saves
// its cursor after each batch. Within a batch, each account's notice is
// dispatched and then marked; a crash or restart resumes from the saved
// cursor and dispatches the unsaved batch again, which the dedupe key
// makes harmless: the inbox keeps one notice per account and incident,
// and each device is pushed once (notify.Dispatcher). So no one is lost
// and no one is told twice.

// noticeKey is the dedupe key of an incident's notice: one per account.
func noticeKey(incidentID string) string { return "incident:" + incidentID }

// AnnouncementLink is the public page of an announcement.
func AnnouncementLink(id string) string { return "/announcements/" + id }

// Notice is the notification an affected account gets: the five
// elements in full, in Chinese when the incident has them in Chinese (the
// service's language), else in English; for an incident that affects
// everyone, with a link to the announcement in both languages.
func Notice(i Incident, userID string) notify.Notification {
	t := i.Text(LangZH)
	n := notify.Notification{Recipient: notify.User(userID), Kind: notify.KindSecurity, DedupeKey: noticeKey(i.ID),
		Title: noticeTitle[t.Lang], Body: NoticeBody(t)}
	if i.AnnouncementID != "" {
		n.Data.Link = AnnouncementLink(i.AnnouncementID)
	}
	return n
}

// Notify is the notification job: it tells the affected accounts of
// every declared incident no other process is working on, and marks each
// incident notified when all are told. Security notices are service
// notices: no marketing consent gates them and no shield holds them
// (notify.KindSecurity).
func (s *Service) Notify(ctx context.Context) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		now := s.now().UTC()
		r, err := s.store.ClaimNotifying(ctx, now, now.Add(s.cfg.Lease))
		if yuncan.ErrorCode(err) == yuncan.NotFound {
			return nil
		}
		if err != nil {
			return fmt.Errorf("incidents: notify: %w", err)
		}
		if err := s.notifyIncident(ctx, r); err != nil {
			// Let the next run retry at once rather than after the lease.
			s.release(ctx, r)
			return err
		}
	}
}

// release gives up the lease of an incident the job failed on.
func (s *Service) release(ctx context.Context, r Record) {
	cur, err := s.store.IncidentByID(context.WithoutCancel(ctx), r.ID)
	if err != nil {
		return
	}
	now := s.now().UTC()
	_ = s.store.SaveProgress(context.WithoutCancel(ctx), Step{IncidentID: r.ID, From: cur.Cursor, To: cur.Cursor, LeaseUntil: now, At: now})
}

// notifyIncident tells the accounts of r after its cursor, batch by
// batch.
func (s *Service) notifyIncident(ctx context.Context, r Record) error {
	inc, err := s.view(ctx, r)
	if err != nil {
		return err
	}
	cursor := r.Cursor
	told := 0
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var ids []string
		if r.AffectedAll {
			// Every account there was at declaration, and only those.
			if ids, err = s.store.UsersAfter(ctx, r.DeclaredAt, cursor, s.cfg.BatchSize); err == nil {
				err = s.store.AddRecipients(ctx, r.ID, ids)
			}
		} else {
			ids, err = s.store.ListedAfter(ctx, r.ID, cursor, s.cfg.BatchSize)
		}
		if err != nil {
			return fmt.Errorf("incidents: notify %s: %w", r.ID, err)
		}
		n, err := s.tellBatch(ctx, inc, ids)
		told += n
		if err != nil {
			// The cursor stays before this batch: the retry completes the
			// dispatches and repeats nothing.
			return fmt.Errorf("incidents: notify %s: %w", r.ID, err)
		}
		next := cursor
		if len(ids) > 0 {
			next = ids[len(ids)-1]
		}
		now := s.now().UTC()
		done := len(ids) < s.cfg.BatchSize
		err = s.store.SaveProgress(ctx, Step{IncidentID: r.ID, From: cursor, To: next, LeaseUntil: now.Add(s.cfg.Lease), At: now, Done: done})
		if yuncan.ErrorCode(err) == yuncan.Conflict || yuncan.ErrorCode(err) == yuncan.NotFound {
			// Another process took the incident over (this one was too
			// slow for its lease): it carries on from its own cursor.
			s.logger.WarnContext(ctx, "incidents: notification taken over", slog.String("incident_id", r.ID))
			return nil
		}
		if err != nil {
			return fmt.Errorf("incidents: notify %s: %w", r.ID, err)
		}
		cursor = next
		if done {
			s.logger.InfoContext(ctx, "incidents: everyone affected is told", slog.String("incident_id", r.ID),
				slog.Int("affected", r.AffectedCount), slog.Int("told_by_this_run", told))
			return nil
		}
	}
}

// tellBatch dispatches the notices of a batch, Workers at a time, and
// marks each account told; it returns how many it told and the first
// failure.
func (s *Service) tellBatch(ctx context.Context, inc Incident, ids []string) (int, error) {
	var (
		mu    sync.Mutex
		wg    sync.WaitGroup
		told  int
		first error
	)
	work := make(chan string)
	for range min(s.cfg.Workers, len(ids)) {
		wg.Go(func() {
			for uid := range work {
				err := s.tell(ctx, inc, uid)
				mu.Lock()
				if err != nil && first == nil {
					first = err
				}
				if err == nil {
					told++
				}
				mu.Unlock()
			}
		})
	}
	for _, uid := range ids {
		mu.Lock()
		failed := first != nil
		mu.Unlock()
		if failed || ctx.Err() != nil {
			break
		}
		work <- uid
	}
	close(work)
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return told, first
}

// tell dispatches one account's notice and marks it told.
func (s *Service) tell(ctx context.Context, inc Incident, userID string) error {
	res, err := s.notifier.Dispatch(ctx, Notice(inc, userID))
	if err != nil {
		return err
	}
	if res.Notification.ID == "" {
		// Not delivered (notify refuses nothing of this kind; should it
		// ever, the account is not counted as told).
		return nil
	}
	return s.store.MarkNotified(ctx, inc.ID, userID, res.Notification.ID, s.now().UTC())
}

// Expire deletes the rows saying who was told of an incident once it has
// been closed for Retention (the policy data's incident_notice
// category): the hourly incidents.expire job.
func (s *Service) Expire(ctx context.Context) error {
	before := s.now().Add(-s.cfg.Retention)
	const batch = 1000
	for {
		n, err := s.store.DeleteRecipientsClosedBefore(ctx, before, batch)
		if err != nil {
			return fmt.Errorf("incidents: expire: %w", err)
		}
		if n > 0 {
			s.logger.InfoContext(ctx, "incidents: expired notice records", slog.Int("rows", n))
		}
		if n < batch {
			return nil
		}
	}
}
