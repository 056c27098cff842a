package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/identity"
	"github.com/yuncan/yuncan/internal/incidents"
	"github.com/yuncan/yuncan/internal/sqlstore"
)

// incidentID makes a valid, ordered incident id from n.
func incidentID(n int) string { return fmt.Sprintf("00000000-0000-7000-8100-%012d", n) }

// incidentUser makes a valid, ordered account id from n.
func incidentUser(n int) string { return fmt.Sprintf("00000000-0000-7000-8200-%012d", n) }

// newIncidentRecord is a declared incident with every field set, declared
// n minutes after t0.
func newIncidentRecord(n int, all bool, affected int) incidents.Record {
	at := t0.Add(time.Duration(n) * time.Minute)
	return incidents.Record{ID: incidentID(n), Severity: incidents.SeverityHigh, Status: incidents.StatusDeclared,
		OccurredAt: at.Add(-2 * time.Hour), DiscoveredAt: at.Add(-time.Hour), DeclaredAt: at, DeclaredBy: "admin-1",
		AffectedAll: all, AffectedCount: affected, UpdatedAt: at}
}

var incidentTexts = []incidents.Text{
	{Lang: incidents.LangZH, WhatHappened: "数据库备份曾被公开访问。", Impact: "手机号可能泄露。", Measures: "已关闭访问并报警。",
		Advice: "警惕冒充客服的电话。", Remedies: "免费提供号码保护服务。"},
	{Lang: incidents.LangEN, WhatHappened: "A backup was public.", Impact: "Numbers may have leaked.", Measures: "Access closed.",
		Advice: "Beware of fake calls.", Remedies: "Free number protection."},
}

func incidentReport(r incidents.Record) incidents.Report {
	return incidents.Report{IncidentID: r.ID, Authority: "省网信办", Facts: "事件编号：" + r.ID, CreatedAt: r.DeclaredAt}
}

func createIncident(t *testing.T, s *sqlstore.IncidentStore, r incidents.Record, users []string, ann *incidents.AnnouncementRecord) {
	t.Helper()
	if err := s.CreateIncident(context.Background(), r, incidentTexts, incidentReport(r), users, ann); err != nil {
		t.Fatalf("CreateIncident %s: %v", r.ID, err)
	}
}

func incidentUsers(t *testing.T, db *sqlstore.DB, ns ...int) []string {
	t.Helper()
	var ids []string
	for _, n := range ns {
		ids = append(ids, createUser(t, db.Identity(), incidentUser(n)).ID)
	}
	return ids
}

func init() {
	register("IncidentRoundTrip", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Incidents()
		users := incidentUsers(t, db, 3, 1, 2)
		r := newIncidentRecord(1, false, 3)
		r.Cursor, r.LeaseUntil, r.NotifiedAt, r.ClosedAt, r.ClosedBy = "c", t0.Add(time.Hour), t0.Add(2*time.Hour), t0.Add(3*time.Hour), "admin-2"
		createIncident(t, s, r, users, nil)
		got, err := s.IncidentByID(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "IncidentByID", got, r)
		texts, err := s.Texts(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "Texts, Chinese first", texts, incidentTexts)
		rep, err := s.ReportOf(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "ReportOf", rep, incidentReport(r))
		ids, err := s.ListedAfter(ctx, r.ID, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "ListedAfter, in id order", ids, []string{incidentUser(1), incidentUser(2), incidentUser(3)})
		ids, err = s.ListedAfter(ctx, r.ID, incidentUser(1), 1)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "ListedAfter a cursor", ids, []string{incidentUser(2)})
		_, err = s.AnnouncementOf(ctx, r.ID)
		wantCode(t, "AnnouncementOf an incident without one", err, yuncan.NotFound)
		_, err = s.IncidentByID(ctx, incidentID(99))
		wantCode(t, "IncidentByID of nothing", err, yuncan.NotFound)
		_, err = s.ReportOf(ctx, incidentID(99))
		wantCode(t, "ReportOf nothing", err, yuncan.NotFound)

		// A listed id that is no account: nothing is stored.
		bad := newIncidentRecord(2, false, 2)
		err = s.CreateIncident(ctx, bad, incidentTexts, incidentReport(bad), []string{users[0], incidentUser(404)}, nil)
		wantCode(t, "CreateIncident with an unknown account", err, yuncan.NotFound)
		if _, err := s.IncidentByID(ctx, bad.ID); yuncan.ErrorCode(err) != yuncan.NotFound {
			t.Errorf("the refused incident was stored: %v", err)
		}
		if txt, _ := s.Texts(ctx, bad.ID); len(txt) != 0 {
			t.Errorf("the refused incident's texts were stored")
		}
		err = s.CreateIncident(ctx, r, incidentTexts, incidentReport(r), nil, nil)
		wantCode(t, "CreateIncident with a used id", err, yuncan.Conflict)

		known, err := s.ExistingUsers(ctx, []string{incidentUser(2), incidentUser(404), incidentUser(1)})
		if err != nil {
			t.Fatal(err)
		}
		same(t, "ExistingUsers", known, []string{incidentUser(1), incidentUser(2)})
		if known, err := s.ExistingUsers(ctx, nil); err != nil || len(known) != 0 {
			t.Errorf("ExistingUsers of none = %v, %v", known, err)
		}
	})

	register("IncidentEveryoneAndAnnouncements", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Incidents()
		incidentUsers(t, db, 1, 2, 3)
		late := newUserRecord(incidentUser(4), "idx-late")
		late.CreatedAt = t0.Add(time.Hour)
		if err := db.Identity().CreateUser(ctx, late, identity.PolicyAcceptance{}); err != nil {
			t.Fatal(err)
		}
		n, err := s.CountUsersCreatedBy(ctx, t0)
		if err != nil || n != 3 {
			t.Errorf("CountUsersCreatedBy = %d, %v; want 3", n, err)
		}
		var anns []incidents.AnnouncementRecord
		for i := 1; i <= 3; i++ {
			r := newIncidentRecord(i, true, 3)
			a := incidents.AnnouncementRecord{ID: fmt.Sprintf("00000000-0000-7000-8300-%012d", i), IncidentID: r.ID, PublishedAt: r.DeclaredAt}
			createIncident(t, s, r, nil, &a)
			anns = append(anns, a)
		}
		got, err := s.AnnouncementOf(ctx, incidentID(2))
		if err != nil {
			t.Fatal(err)
		}
		same(t, "AnnouncementOf", got, anns[1])
		got, err = s.AnnouncementByID(ctx, anns[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "AnnouncementByID", got, anns[0])
		_, err = s.AnnouncementByID(ctx, "nope")
		wantCode(t, "AnnouncementByID of nothing", err, yuncan.NotFound)
		page, err := s.Announcements(ctx, incidents.Cursor{}, 2)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "Announcements, newest first", page, []incidents.AnnouncementRecord{anns[2], anns[1]})
		page, err = s.Announcements(ctx, incidents.Cursor{At: anns[1].PublishedAt, ID: anns[1].ID}, 2)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "Announcements after a cursor", page, []incidents.AnnouncementRecord{anns[0]})

		// Everyone: the accounts there were at declaration, in id order,
		// each added once and marked told once.
		ids, err := s.UsersAfter(ctx, t0, "", 2)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "UsersAfter", ids, []string{incidentUser(1), incidentUser(2)})
		ids, err = s.UsersAfter(ctx, t0, incidentUser(2), 10)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "UsersAfter a cursor, not the later account", ids, []string{incidentUser(3)})
		id := incidentID(1)
		for range 2 {
			if err := s.AddRecipients(ctx, id, []string{incidentUser(1), incidentUser(2)}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.MarkNotified(ctx, id, incidentUser(1), "n-1", t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkNotified(ctx, id, incidentUser(1), "n-again", t0.Add(2*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if n, err := s.CountNotified(ctx, id); err != nil || n != 1 {
			t.Errorf("CountNotified = %d, %v; want 1", n, err)
		}
		ids, err = s.ListedAfter(ctx, id, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "recipients added once", ids, []string{incidentUser(1), incidentUser(2)})
		var nid string
		q := fmt.Sprintf(`SELECT notification_id FROM incident_recipients WHERE incident_id = '%s' AND user_id = '%s'`, id, incidentUser(1))
		if err := db.SQL().QueryRowContext(ctx, q).Scan(&nid); err != nil || nid != "n-1" {
			t.Errorf("the first notice stays recorded: %q, %v", nid, err)
		}
		err = s.AddRecipients(ctx, id, []string{incidentUser(404)})
		wantCode(t, "AddRecipients of an unknown account", err, yuncan.NotFound)

		// The rows go with the account.
		if err := db.Identity().DeleteUser(ctx, incidentUser(2)); err != nil {
			t.Fatal(err)
		}
		ids, err = s.ListedAfter(ctx, id, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "recipients after an account is deleted", ids, []string{incidentUser(1)})
	})

	register("IncidentNotificationLease", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Incidents()
		users := incidentUsers(t, db, 1)
		createIncident(t, s, newIncidentRecord(2, false, 1), users, nil)
		createIncident(t, s, newIncidentRecord(1, false, 1), users, nil)
		now := t0.Add(time.Hour)
		r, err := s.ClaimNotifying(ctx, now, now.Add(time.Minute))
		if err != nil || r.ID != incidentID(1) || !r.LeaseUntil.Equal(now.Add(time.Minute)) {
			t.Fatalf("ClaimNotifying = %s %v, %v; want the oldest, leased", r.ID, r.LeaseUntil, err)
		}
		r2, err := s.ClaimNotifying(ctx, now, now.Add(time.Minute))
		if err != nil || r2.ID != incidentID(2) {
			t.Fatalf("second ClaimNotifying = %s, %v; want the other", r2.ID, err)
		}
		_, err = s.ClaimNotifying(ctx, now, now.Add(time.Minute))
		wantCode(t, "ClaimNotifying while both are leased", err, yuncan.NotFound)

		// Progress moves the cursor only from where it is.
		step := incidents.Step{IncidentID: r.ID, From: "", To: users[0], LeaseUntil: now.Add(2 * time.Minute), At: now}
		if err := s.SaveProgress(ctx, step); err != nil {
			t.Fatal(err)
		}
		err = s.SaveProgress(ctx, step)
		wantCode(t, "SaveProgress from a stale cursor", err, yuncan.Conflict)
		err = s.SaveProgress(ctx, incidents.Step{IncidentID: incidentID(99), At: now})
		wantCode(t, "SaveProgress of nothing", err, yuncan.NotFound)
		got, err := s.IncidentByID(ctx, r.ID)
		if err != nil || got.Cursor != users[0] || !got.LeaseUntil.Equal(now.Add(2*time.Minute)) || got.Status != incidents.StatusDeclared {
			t.Errorf("after SaveProgress: %+v, %v", got, err)
		}

		// A dead job's lease runs out, and another takes the incident
		// over from its cursor.
		later := now.Add(3 * time.Minute)
		r3, err := s.ClaimNotifying(ctx, later, later.Add(time.Minute))
		if err != nil || r3.ID != incidentID(1) || r3.Cursor != users[0] {
			t.Fatalf("ClaimNotifying after the lease = %+v, %v", r3, err)
		}
		done := incidents.Step{IncidentID: r.ID, From: users[0], To: users[0], LeaseUntil: later, At: later, Done: true}
		if err := s.SaveProgress(ctx, done); err != nil {
			t.Fatal(err)
		}
		got, err = s.IncidentByID(ctx, r.ID)
		if err != nil || got.Status != incidents.StatusNotified || !got.NotifiedAt.Equal(later) {
			t.Errorf("after the last step: %+v, %v", got, err)
		}
		err = s.SaveProgress(ctx, done)
		wantCode(t, "SaveProgress of a notified incident", err, yuncan.Conflict)
		_, err = s.ClaimNotifying(ctx, later.Add(time.Hour), later.Add(2*time.Hour))
		if err != nil {
			t.Fatalf("the other incident's lease ran out too: %v", err)
		}
		_, err = s.ClaimNotifying(ctx, later.Add(time.Hour), later.Add(2*time.Hour))
		wantCode(t, "ClaimNotifying with nothing declared and free", err, yuncan.NotFound)
	})

	register("IncidentReportCloseAndExpiry", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Incidents()
		users := incidentUsers(t, db, 1, 2)
		for i := 1; i <= 3; i++ {
			createIncident(t, s, newIncidentRecord(i, false, 2), users, nil)
		}
		rep := incidentReport(newIncidentRecord(1, false, 2))
		rep.SubmittedAt, rep.SubmittedBy, rep.Reference, rep.Authority = t0.Add(time.Hour), "admin-2", "网信办-2025-001", "国家网信办"
		if err := s.SubmitReport(ctx, rep); err != nil {
			t.Fatal(err)
		}
		got, err := s.ReportOf(ctx, rep.IncidentID)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "ReportOf after SubmitReport", got, rep)
		again := rep
		again.Reference = "other"
		wantCode(t, "SubmitReport twice", s.SubmitReport(ctx, again), yuncan.Conflict)
		wantCode(t, "SubmitReport of nothing", s.SubmitReport(ctx, incidents.Report{IncidentID: incidentID(99)}), yuncan.NotFound)

		// Closing needs every notice out.
		wantCode(t, "CloseIncident of a declared incident", s.CloseIncident(ctx, incidentID(1), t0, "admin-2"), yuncan.Conflict)
		wantCode(t, "CloseIncident of nothing", s.CloseIncident(ctx, incidentID(99), t0, "admin-2"), yuncan.NotFound)
		for _, i := range []int{1, 2} {
			if err := s.SaveProgress(ctx, incidents.Step{IncidentID: incidentID(i), At: t0, Done: true}); err != nil {
				t.Fatal(err)
			}
		}
		closedAt := t0.Add(24 * time.Hour)
		if err := s.CloseIncident(ctx, incidentID(1), closedAt, "admin-2"); err != nil {
			t.Fatal(err)
		}
		r, err := s.IncidentByID(ctx, incidentID(1))
		if err != nil || r.Status != incidents.StatusClosed || !r.ClosedAt.Equal(closedAt) || r.ClosedBy != "admin-2" {
			t.Errorf("after CloseIncident: %+v, %v", r, err)
		}
		wantCode(t, "CloseIncident twice", s.CloseIncident(ctx, incidentID(1), closedAt, "admin-2"), yuncan.Conflict)

		// Lists: newest first, by status, by cursor.
		all, err := s.Incidents(ctx, "", incidents.Cursor{}, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 3 || all[0].ID != incidentID(3) || all[2].ID != incidentID(1) {
			t.Errorf("Incidents = %v", all)
		}
		page, err := s.Incidents(ctx, "", incidents.Cursor{At: all[0].DeclaredAt, ID: all[0].ID}, 1)
		if err != nil || len(page) != 1 || page[0].ID != incidentID(2) {
			t.Errorf("Incidents after a cursor = %v, %v", page, err)
		}
		page, err = s.Incidents(ctx, incidents.StatusNotified, incidents.Cursor{}, 10)
		if err != nil || len(page) != 1 || page[0].ID != incidentID(2) {
			t.Errorf("notified Incidents = %v, %v", page, err)
		}

		// Who was told goes once the incident has been closed long
		// enough; the others' rows stay.
		n, err := s.DeleteRecipientsClosedBefore(ctx, closedAt, 10)
		if err != nil || n != 0 {
			t.Errorf("DeleteRecipientsClosedBefore the closing = %d, %v", n, err)
		}
		n, err = s.DeleteRecipientsClosedBefore(ctx, closedAt.Add(time.Nanosecond), 1)
		if err != nil || n != 1 {
			t.Errorf("DeleteRecipientsClosedBefore, limit 1 = %d, %v", n, err)
		}
		n, err = s.DeleteRecipientsClosedBefore(ctx, closedAt.Add(time.Nanosecond), 10)
		if err != nil || n != 1 {
			t.Errorf("DeleteRecipientsClosedBefore, the rest = %d, %v", n, err)
		}
		for i, want := range map[int]int{1: 0, 2: 2, 3: 2} {
			ids, err := s.ListedAfter(ctx, incidentID(i), "", 10)
			if err != nil || len(ids) != want {
				t.Errorf("incident %d keeps %v, %v; want %d rows", i, ids, err, want)
			}
		}
	})
}
