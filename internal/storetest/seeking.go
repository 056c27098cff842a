package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/audit"
	"github.com/yuncan/yuncan/internal/seeking"
	"github.com/yuncan/yuncan/internal/sqlstore"
)

func intp(n int) *int { return &n }

// newCaseRecord is a draft case with every field set.
func newCaseRecord(id, reporterID string) seeking.CaseRecord {
	return seeking.CaseRecord{
		ID: id, ReporterID: reporterID, Status: seeking.StatusDraft, Category: seeking.CategoryChild,
		Person: seeking.Person{FullName: "王小明", GivenName: "小明", FamilyName: "王", AlternateNames: []string{"明明", "Xiaoming"},
			Sex: "male", DateOfBirth: "2018-05-01", Age: intp(6), HomeCity: "杭州", HeightCm: intp(120), Build: "slim",
			Clothing: "red coat", DistinguishingMarks: "mole on the left cheek", Description: "shy", Circumstances: "left the park"},
		LastSeenAt: t0.Add(-time.Hour), LastSeenPlace: "西湖公园", PointSealed: "k1:point-" + id, AreaLat: 303, AreaLng: 1202,
		RelationshipSealed: "k1:rel", ContactSealed: "k1:contact", ReceiptSealed: "k1:receipt",
		StatusReason: "", CreatedAt: t0, UpdatedAt: t0,
	}
}

func createCase(t *testing.T, s *sqlstore.SeekingStore, c seeking.CaseRecord) {
	t.Helper()
	ev := seeking.Event{ID: "ev-" + c.ID, CaseID: c.ID, At: c.CreatedAt, ActorID: c.ReporterID, ActorRole: seeking.ActorReporter, To: c.Status}
	if err := s.CreateCase(context.Background(), c, ev); err != nil {
		t.Fatalf("CreateCase %s: %v", c.ID, err)
	}
}

func init() {
	register("SeekingCaseRoundTrip", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Seeking()
		createUser(t, db.Identity(), "rep")
		c := newCaseRecord("case-1", "rep")
		createCase(t, s, c)
		got, err := s.CaseByID(ctx, "case-1")
		if err != nil {
			t.Fatal(err)
		}
		same(t, "CaseByID", got, c)

		// Optional fields empty: nil stays nil, no alternate names is an
		// empty list.
		bare := newCaseRecord("case-2", "rep")
		bare.Person = seeking.Person{FullName: "x", AlternateNames: []string{}}
		bare.ReceiptSealed = ""
		createCase(t, s, bare)
		got, err = s.CaseByID(ctx, "case-2")
		if err != nil {
			t.Fatal(err)
		}
		same(t, "CaseByID of a bare case", got, bare)

		_, err = s.CaseByID(ctx, "nope")
		wantCode(t, "CaseByID of nothing", err, yuncan.NotFound)
		err = s.CreateCase(ctx, newCaseRecord("case-3", "nobody"), seeking.Event{ID: "ev-3", CaseID: "case-3", At: t0, To: seeking.StatusDraft})
		wantCode(t, "CreateCase by a missing account", err, yuncan.NotFound)
		if _, err := s.CaseByID(ctx, "case-3"); yuncan.ErrorCode(err) != yuncan.NotFound {
			t.Fatalf("a refused case was stored: %v", err)
		}
		err = s.CreateCase(ctx, c, seeking.Event{ID: "ev-dup", CaseID: c.ID, At: t0, To: seeking.StatusDraft})
		wantCode(t, "CreateCase twice", err, yuncan.Conflict)

		// Edits while the status is as expected.
		c.Person.FullName, c.Category, c.Person.Age, c.ReceiptSealed = "王明", seeking.CategoryAdult, nil, ""
		c.UpdatedAt = t0.Add(time.Minute)
		if err := s.UpdateCase(ctx, c, seeking.StatusDraft); err != nil {
			t.Fatal(err)
		}
		got, _ = s.CaseByID(ctx, c.ID)
		same(t, "CaseByID after UpdateCase", got, c)
		wantCode(t, "UpdateCase in the wrong status", s.UpdateCase(ctx, c, seeking.StatusInReview), yuncan.Conflict)
		wantCode(t, "UpdateCase of nothing", s.UpdateCase(ctx, newCaseRecord("nope", "rep"), seeking.StatusDraft), yuncan.NotFound)
		c.OrgID = "no-such-org"
		wantCode(t, "UpdateCase with a missing organisation", s.UpdateCase(ctx, c, seeking.StatusDraft), yuncan.NotFound)

		evs, err := s.CaseEvents(ctx, "case-1")
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 1 || evs[0].To != seeking.StatusDraft || evs[0].ActorID != "rep" || !evs[0].At.Equal(t0) {
			t.Fatalf("CaseEvents = %+v", evs)
		}
	})

	register("SeekingCaseTransition", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Seeking()
		createUser(t, db.Identity(), "rep")
		c := newCaseRecord("c", "rep")
		createCase(t, s, c)
		next := c
		next.Status, next.SubmittedAt, next.UpdatedAt, next.StatusReason = seeking.StatusInReview, t0.Add(time.Second), t0.Add(time.Second), "why"
		ev := seeking.Event{ID: "e2", CaseID: "c", At: t0.Add(time.Second), ActorID: "rep", ActorRole: seeking.ActorReporter,
			From: seeking.StatusDraft, To: seeking.StatusInReview, Reason: "why"}
		if err := s.TransitionCase(ctx, next, seeking.StatusDraft, ev); err != nil {
			t.Fatal(err)
		}
		got, _ := s.CaseByID(ctx, "c")
		same(t, "case after TransitionCase", got, next)
		// Compare-and-set: the status moved on, so a second move from
		// draft loses, and writes no event.
		ev.ID = "e3"
		wantCode(t, "TransitionCase from a stale status", s.TransitionCase(ctx, next, seeking.StatusDraft, ev), yuncan.Conflict)
		gone := newCaseRecord("gone", "rep")
		wantCode(t, "TransitionCase of nothing", s.TransitionCase(ctx, gone, seeking.StatusDraft, seeking.Event{ID: "e4", CaseID: "gone"}), yuncan.NotFound)
		evs, _ := s.CaseEvents(ctx, "c")
		if len(evs) != 2 {
			t.Fatalf("CaseEvents = %+v, want the creation and one move", evs)
		}
		same(t, "second event", evs[1], seeking.Event{ID: "e2", CaseID: "c", At: t0.Add(time.Second), ActorID: "rep",
			ActorRole: seeking.ActorReporter, From: seeking.StatusDraft, To: seeking.StatusInReview, Reason: "why"})

		if err := s.SetCaseVerification(ctx, "c", "mod", t0.Add(time.Hour), "k1:note"); err != nil {
			t.Fatal(err)
		}
		got, _ = s.CaseByID(ctx, "c")
		if got.VerifiedBy != "mod" || !got.VerifiedAt.Equal(t0.Add(time.Hour)) || got.VerificationNoteSealed != "k1:note" {
			t.Fatalf("verification not stored: %+v", got)
		}
		wantCode(t, "SetCaseVerification of nothing", s.SetCaseVerification(ctx, "nope", "mod", t0, "x"), yuncan.NotFound)
	})

	register("SeekingCaseLists", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Seeking()
		createUser(t, db.Identity(), "a")
		createUser(t, db.Identity(), "b")
		// Three in review submitted at t0+1s, t0+1s, t0+2s; one published.
		for i, id := range []string{"r2", "r1", "r3"} {
			c := newCaseRecord(id, "a")
			c.Status = seeking.StatusInReview
			c.SubmittedAt = t0.Add(time.Duration(1+i/2) * time.Second)
			c.CreatedAt = t0.Add(time.Duration(i) * time.Minute)
			createCase(t, s, c)
		}
		p := newCaseRecord("p1", "b")
		p.Status, p.SubmittedAt, p.PublishedAt, p.AreaLat, p.AreaLng = seeking.StatusPublished, t0, t0.Add(time.Hour), 399, 1164
		createCase(t, s, p)
		p2 := newCaseRecord("p2", "b")
		p2.Status, p2.SubmittedAt, p2.PublishedAt, p2.AreaLat, p2.AreaLng = seeking.StatusPublished, t0, t0.Add(2*time.Hour), 400, 1165
		createCase(t, s, p2)

		page, err := s.CasesByStatus(ctx, seeking.StatusInReview, time.Time{}, "", 2)
		if err != nil {
			t.Fatal(err)
		}
		if caseIDs(page) != "r1,r2" {
			t.Fatalf("first page %s, want r1,r2 (submitted together, then by id)", caseIDs(page))
		}
		last := page[len(page)-1]
		page, err = s.CasesByStatus(ctx, seeking.StatusInReview, last.SubmittedAt, last.ID, 2)
		if err != nil {
			t.Fatal(err)
		}
		if caseIDs(page) != "r3" {
			t.Fatalf("second page %s, want r3", caseIDs(page))
		}

		mine, err := s.CasesByReporter(ctx, "a")
		if err != nil {
			t.Fatal(err)
		}
		if caseIDs(mine) != "r3,r1,r2" {
			t.Fatalf("CasesByReporter = %s, want newest first r3,r1,r2", caseIDs(mine))
		}

		in, err := s.CasesInArea(ctx, seeking.StatusPublished, seeking.AreaBox{MinLat: 390, MaxLat: 400, MinLng: 1160, MaxLng: 1170}, 10)
		if err != nil {
			t.Fatal(err)
		}
		if caseIDs(in) != "p2,p1" {
			t.Fatalf("CasesInArea = %s, want newest published first p2,p1", caseIDs(in))
		}
		in, _ = s.CasesInArea(ctx, seeking.StatusPublished, seeking.AreaBox{MinLat: 400, MaxLat: 401, MinLng: 1160, MaxLng: 1170}, 10)
		if caseIDs(in) != "p2" {
			t.Fatalf("CasesInArea of a smaller box = %s, want p2", caseIDs(in))
		}
		in, _ = s.CasesInArea(ctx, seeking.StatusPublished, seeking.AreaBox{MinLat: -900, MaxLat: 900, MinLng: -1800, MaxLng: 1800}, 1)
		if caseIDs(in) != "p2" {
			t.Fatalf("CasesInArea limit 1 = %s, want p2", caseIDs(in))
		}
		in, _ = s.CasesInArea(ctx, seeking.StatusInReview, seeking.AreaBox{MinLat: 390, MaxLat: 400, MinLng: 1160, MaxLng: 1170}, 10)
		if len(in) != 0 {
			t.Fatalf("CasesInArea matched another status: %s", caseIDs(in))
		}
	})

	register("SeekingPhotos", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Seeking()
		createUser(t, db.Identity(), "rep")
		createCase(t, s, newCaseRecord("c", "rep"))
		for i, id := range []string{"p1", "p2"} {
			p := seeking.Photo{ID: id, OwnerID: "c", Key: "cases/c/" + id + ".jpg", CreatedAt: t0.Add(time.Duration(i) * time.Second)}
			if err := s.AddCasePhoto(ctx, p, 2); err != nil {
				t.Fatal(err)
			}
		}
		err := s.AddCasePhoto(ctx, seeking.Photo{ID: "p3", OwnerID: "c", Key: "cases/c/p3.jpg", CreatedAt: t0}, 2)
		wantCode(t, "AddCasePhoto past the limit", err, yuncan.Conflict)
		err = s.AddCasePhoto(ctx, seeking.Photo{ID: "p4", OwnerID: "nope", Key: "cases/nope/p4.jpg", CreatedAt: t0}, 2)
		wantCode(t, "AddCasePhoto to nothing", err, yuncan.NotFound)
		err = s.AddCasePhoto(ctx, seeking.Photo{ID: "p5", OwnerID: "c", Key: "cases/c/p1.jpg", CreatedAt: t0}, 9)
		wantCode(t, "AddCasePhoto with a key in use", err, yuncan.Conflict)

		ps, err := s.CasePhotos(ctx, "c")
		if err != nil {
			t.Fatal(err)
		}
		same(t, "CasePhotos", ps, []seeking.Photo{
			{ID: "p1", OwnerID: "c", Key: "cases/c/p1.jpg", CreatedAt: t0},
			{ID: "p2", OwnerID: "c", Key: "cases/c/p2.jpg", CreatedAt: t0.Add(time.Second)}})
		p, err := s.CasePhotoByKey(ctx, "cases/c/p2.jpg")
		if err != nil || p.ID != "p2" {
			t.Fatalf("CasePhotoByKey = %+v, %v", p, err)
		}
		_, err = s.CasePhotoByKey(ctx, "cases/c/none.jpg")
		wantCode(t, "CasePhotoByKey of nothing", err, yuncan.NotFound)
		p, err = s.DeleteCasePhoto(ctx, "c", "p1")
		if err != nil || p.Key != "cases/c/p1.jpg" {
			t.Fatalf("DeleteCasePhoto = %+v, %v", p, err)
		}
		_, err = s.DeleteCasePhoto(ctx, "c", "p1")
		wantCode(t, "DeleteCasePhoto twice", err, yuncan.NotFound)
		_, err = s.DeleteCasePhoto(ctx, "other", "p2")
		wantCode(t, "DeleteCasePhoto of another case's photo", err, yuncan.NotFound)

		createUser(t, db.Identity(), "giver")
		if err := s.CreateClue(ctx, newClueRecord("cl", "c", "giver", t0)); err != nil {
			t.Fatal(err)
		}
		if err := s.AddCluePhoto(ctx, seeking.Photo{ID: "q1", OwnerID: "cl", Key: "clues/cl/q1.jpg", CreatedAt: t0}, 1); err != nil {
			t.Fatal(err)
		}
		err = s.AddCluePhoto(ctx, seeking.Photo{ID: "q2", OwnerID: "cl", Key: "clues/cl/q2.jpg", CreatedAt: t0}, 1)
		wantCode(t, "AddCluePhoto past the limit", err, yuncan.Conflict)
		err = s.AddCluePhoto(ctx, seeking.Photo{ID: "q3", OwnerID: "nope", Key: "clues/nope/q3.jpg", CreatedAt: t0}, 1)
		wantCode(t, "AddCluePhoto to nothing", err, yuncan.NotFound)
		qs, err := s.CluePhotos(ctx, "cl")
		if err != nil || len(qs) != 1 || qs[0].Key != "clues/cl/q1.jpg" {
			t.Fatalf("CluePhotos = %+v, %v", qs, err)
		}
	})

	register("SeekingClues", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Seeking()
		createUser(t, db.Identity(), "rep")
		createUser(t, db.Identity(), "g1")
		createUser(t, db.Identity(), "g2")
		createCase(t, s, newCaseRecord("c", "rep"))
		createCase(t, s, newCaseRecord("d", "rep"))
		c1 := newClueRecord("cl1", "c", "g1", t0)
		c1.SeenAt, c1.PointSealed, c1.PlaceSealed, c1.Source = t0.Add(-time.Hour), "k1:pt", "k1:place", seeking.SourceDevice
		for _, c := range []seeking.ClueRecord{c1, newClueRecord("cl2", "c", "g2", t0.Add(time.Minute)),
			newClueRecord("cl3", "d", "g1", t0.Add(2*time.Minute))} {
			if err := s.CreateClue(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		wantCode(t, "CreateClue on nothing", s.CreateClue(ctx, newClueRecord("x", "nope", "g1", t0)), yuncan.NotFound)
		wantCode(t, "CreateClue by nobody", s.CreateClue(ctx, newClueRecord("y", "c", "nobody", t0)), yuncan.NotFound)

		got, err := s.ClueByID(ctx, "c", "cl1")
		if err != nil {
			t.Fatal(err)
		}
		same(t, "ClueByID", got, c1)
		_, err = s.ClueByID(ctx, "d", "cl1")
		wantCode(t, "ClueByID under another case", err, yuncan.NotFound)

		all, err := s.Clues(ctx, "c", "")
		if err != nil || len(all) != 2 || all[0].ID != "cl1" || all[1].ID != "cl2" {
			t.Fatalf("Clues = %+v, %v", all, err)
		}
		own, err := s.Clues(ctx, "c", "g2")
		if err != nil || len(own) != 1 || own[0].ID != "cl2" {
			t.Fatalf("Clues of g2 = %+v, %v", own, err)
		}
		times, err := s.ClueTimesSince(ctx, "g1", t0)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "ClueTimesSince", times, []time.Time{t0, t0.Add(2 * time.Minute)})
		times, _ = s.ClueTimesSince(ctx, "g1", t0.Add(time.Nanosecond))
		same(t, "ClueTimesSince a moment later", times, []time.Time{t0.Add(2 * time.Minute)})

		if err := s.SetClueReview(ctx, "c", "cl1", seeking.ClueVerified, "mod", t0.Add(time.Hour), "seen by police"); err != nil {
			t.Fatal(err)
		}
		got, _ = s.ClueByID(ctx, "c", "cl1")
		if got.Status != seeking.ClueVerified || got.ReviewedBy != "mod" || !got.ReviewedAt.Equal(t0.Add(time.Hour)) || got.ReviewNote != "seen by police" {
			t.Fatalf("review not stored: %+v", got)
		}
		wantCode(t, "SetClueReview under another case", s.SetClueReview(ctx, "d", "cl1", seeking.ClueDismissed, "m", t0, ""), yuncan.NotFound)
	})

	register("SeekingRelay", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Seeking()
		createUser(t, db.Identity(), "rep")
		createUser(t, db.Identity(), "g1")
		createUser(t, db.Identity(), "g2")
		createCase(t, s, newCaseRecord("c", "rep"))
		msgs := []seeking.MessageRecord{
			{ID: "m1", CaseID: "c", GiverID: "g1", SenderID: "g1", TextSealed: "k1:a", CreatedAt: t0},
			{ID: "m2", CaseID: "c", GiverID: "g1", SenderID: "rep", TextSealed: "k1:b", CreatedAt: t0.Add(time.Second)},
			{ID: "m3", CaseID: "c", GiverID: "g2", SenderID: "g2", TextSealed: "k1:c", CreatedAt: t0.Add(2 * time.Second)},
		}
		for _, m := range msgs {
			if err := s.AddMessage(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		err := s.AddMessage(ctx, seeking.MessageRecord{ID: "m4", CaseID: "nope", GiverID: "g1", SenderID: "g1", TextSealed: "k1:x", CreatedAt: t0})
		wantCode(t, "AddMessage on nothing", err, yuncan.NotFound)
		th, err := s.Messages(ctx, "c", "g1")
		if err != nil {
			t.Fatal(err)
		}
		same(t, "thread of g1", th, msgs[:2])
		times, err := s.MessageTimesSince(ctx, "rep", t0)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "MessageTimesSince", times, []time.Time{t0.Add(time.Second)})
	})

	register("SeekingOrgs", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Seeking()
		createUser(t, db.Identity(), "u1")
		police := seeking.Org{ID: "o1", Name: "西湖派出所", Kind: seeking.OrgPolice, CreatedAt: t0}
		rescue := seeking.Org{ID: "o2", Name: "A rescue station", Kind: seeking.OrgRescueStation, CreatedAt: t0}
		for _, o := range []seeking.Org{police, rescue} {
			if err := s.CreateOrg(ctx, o); err != nil {
				t.Fatal(err)
			}
		}
		wantCode(t, "CreateOrg with a name in use", s.CreateOrg(ctx, seeking.Org{ID: "o3", Name: "西湖派出所", Kind: seeking.OrgPolice, CreatedAt: t0}), yuncan.Conflict)
		got, err := s.OrgByID(ctx, "o1")
		if err != nil {
			t.Fatal(err)
		}
		same(t, "OrgByID", got, police)
		_, err = s.OrgByID(ctx, "nope")
		wantCode(t, "OrgByID of nothing", err, yuncan.NotFound)
		all, err := s.Orgs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "Orgs by name", all, []seeking.Org{rescue, police})

		st := seeking.Staff{OrgID: "o1", UserID: "u1", AddedBy: "admin", AddedAt: t0}
		if err := s.AddStaff(ctx, st); err != nil {
			t.Fatal(err)
		}
		wantCode(t, "AddStaff twice", s.AddStaff(ctx, st), yuncan.Conflict)
		wantCode(t, "AddStaff to nothing", s.AddStaff(ctx, seeking.Staff{OrgID: "nope", UserID: "u1", AddedAt: t0}), yuncan.NotFound)
		wantCode(t, "AddStaff of nobody", s.AddStaff(ctx, seeking.Staff{OrgID: "o1", UserID: "nobody", AddedAt: t0}), yuncan.NotFound)
		mine, err := s.OrgsOfUser(ctx, "u1")
		if err != nil {
			t.Fatal(err)
		}
		same(t, "OrgsOfUser", mine, []seeking.Org{police})
		if err := s.RemoveStaff(ctx, "o1", "u1"); err != nil {
			t.Fatal(err)
		}
		wantCode(t, "RemoveStaff twice", s.RemoveStaff(ctx, "o1", "u1"), yuncan.NotFound)
		mine, _ = s.OrgsOfUser(ctx, "u1")
		if len(mine) != 0 {
			t.Fatalf("OrgsOfUser after RemoveStaff = %+v", mine)
		}
	})

	register("SeekingGoesWithTheAccount", func(t *testing.T, db *sqlstore.DB) {
		ctx, s, ids := context.Background(), db.Seeking(), db.Identity()
		createUser(t, ids, "rep")
		createUser(t, ids, "giver")
		createCase(t, s, newCaseRecord("c", "rep"))
		createCase(t, s, newCaseRecord("d", "giver"))
		if err := s.CreateClue(ctx, newClueRecord("cl", "d", "rep", t0)); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateClue(ctx, newClueRecord("cl2", "c", "giver", t0)); err != nil {
			t.Fatal(err)
		}
		appendEntry(t, s, audit.Entry{At: t0, ActorID: "rep", Action: "x", TargetKind: "case", TargetID: "d"})
		if err := ids.DeleteUser(ctx, "rep"); err != nil {
			t.Fatal(err)
		}
		_, err := s.CaseByID(ctx, "c")
		wantCode(t, "the reporter's case after the account is deleted", err, yuncan.NotFound)
		_, err = s.ClueByID(ctx, "d", "cl")
		wantCode(t, "the author's clue after the account is deleted", err, yuncan.NotFound)
		if _, err := s.CaseByID(ctx, "d"); err != nil {
			t.Fatalf("another account's case went too: %v", err)
		}
		// The audit log outlives the accounts it names.
		if a, _ := s.Entries(ctx, audit.Filter{TargetKind: "case", TargetID: "d", Limit: 10}); len(a) != 1 {
			t.Fatalf("audit events after the account is deleted: %+v", a)
		}
	})
}

func newClueRecord(id, caseID, authorID string, at time.Time) seeking.ClueRecord {
	return seeking.ClueRecord{ID: id, CaseID: caseID, AuthorID: authorID, TextSealed: "k1:text-" + id, Source: seeking.SourceTyped,
		Status: seeking.ClueNew, CreatedAt: at}
}

func caseIDs(cs []seeking.CaseRecord) string {
	out := ""
	for i, c := range cs {
		if i > 0 {
			out += ","
		}
		out += c.ID
	}
	return out
}
