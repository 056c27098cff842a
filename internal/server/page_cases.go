package server

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/seeking"
)

// People-seeking pages: the active cases as a list and on a map, and a
// case's own page. Each action calls the seeking service method its JSON
// API twin calls (api_seeking*.go): who sees what, who may publish and
// what a resolved case hides are decided there, never here. The form to
// publish a case is in page_case_form.go, clues and the relay in
// page_clues.go.

// pageCaseListMax is how many cases the list shows at once.
const pageCaseListMax = 50

// nearRadii are the distances the "near" list offers, in km; the first
// page uses defaultNearKm.
var nearRadii = []int{10, 50, 100, 500}

const defaultNearKm = 50

// pageViewer is the visitor as the seeking area knows them: the web
// login's account, or an anonymous visitor.
func (s *Server) pageViewer(w http.ResponseWriter, r *http.Request) (seeking.Viewer, error) {
	a, err := s.webAuth(w, r)
	if err != nil || a == nil {
		return seeking.Viewer{}, err
	}
	return seeking.Viewer{UserID: a.User.ID, Role: a.User.Role}, nil
}

// mapSetup is what the map script needs: the tile URL template and the
// credit its tiles require.
type mapSetup struct {
	Tiles       string
	Attribution string
}

func (s *Server) mapSetup(lang string) mapSetup {
	m := mapSetup{Tiles: s.cfg.TileURL}
	if origin, err := tileOrigin(s.cfg.TileURL); err == nil && strings.HasSuffix(origin, "openstreetmap.org") {
		m.Attribution = translate(lang, "map.attribution.osm")
	}
	return m
}

// caseCard is a case in a list.
type caseCard struct {
	ID       string
	Name     string
	Category string
	Facts    string // sex and age
	Place    string
	LastSeen string
	Photo    string
	Distance string
}

func cardOf(lang string, c seeking.CaseView) caseCard {
	card := caseCard{ID: c.ID, Name: c.Person.FullName, Category: categoryText(lang, c.Category),
		Facts: personFacts(lang, c.Person), Place: c.LastSeen.PlaceName, LastSeen: pageTime(c.LastSeen.At)}
	if len(c.Photos) > 0 {
		card.Photo = casePagePhotoURL(c.Photos[0].Key)
	}
	return card
}

// casePagePhotoURL is where the pages show a case photo: a route that
// knows the web login, so that a reporter sees their draft's photos.
func casePagePhotoURL(key string) string {
	// key is cases/<case id>/<name>.
	parts := strings.Split(key, "/")
	if len(parts) != 3 {
		return ""
	}
	return "/cases/" + url.PathEscape(parts[1]) + "/photos/" + url.PathEscape(parts[2])
}

func categoryText(lang string, c seeking.Category) string {
	return messageOr(lang, "seeking.category."+string(c), string(c))
}

func statusText(lang string, st seeking.Status) string {
	return messageOr(lang, "seeking.status."+string(st), string(st))
}

// personFacts is "male, 7 years" in the page's language.
func personFacts(lang string, p seeking.Person) string {
	var parts []string
	if p.Sex != "" {
		parts = append(parts, messageOr(lang, "seeking.sex."+p.Sex, p.Sex))
	}
	if p.Age != nil {
		parts = append(parts, translate(lang, "seeking.age", *p.Age))
	}
	return strings.Join(parts, listSep(lang))
}

func kmText(lang string, km float64) string {
	if km < 1 {
		return translate(lang, "seeking.distance.m", int(math.Round(km*1000)))
	}
	return translate(lang, "seeking.distance.km", strconv.FormatFloat(km, 'f', 1, 64))
}

type caseListView struct {
	pageBase
	// Near is true for the "near" list; Lat, Lng and Radius say around
	// what.
	Near     bool
	Lat, Lng string
	Radius   int
	Radii    []int
	// FromPosition: the centre is the position the person shares for
	// alerts.
	FromPosition bool
	// NearMe says how the "near me" choice can work for this visitor:
	// "position" (a shared position is on file), "locate" (the precise
	// location consent is live: the browser may give its position),
	// "login" or "share" (neither: how to get there).
	NearMe  string
	Cases   []caseCard
	More    string // the next page of the near list, "" on the last
	ListErr string
	Map     mapSetup
}

// pageCaseList shows the published cases, newest first, or near a point:
// the person's shared position (?near=me) or coordinates the browser
// gave (?lat=&lng=, only offered with the precise location consent).
// The map beside the list draws the GeoJSON feed.
func (s *Server) pageCaseList() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		v := &caseListView{pageBase: s.newBase(w, r, "cases.title"), Radii: nearRadii, Radius: defaultNearKm}
		v.Map = s.mapSetup(v.Lang)
		q := r.URL.Query()
		v.NearMe = "login"
		var pos *[2]float64
		if v.User != nil {
			sub := consent.User(v.User.ID)
			v.NearMe = "share"
			if p, err := s.location.Position(ctx, sub); err == nil {
				pos, v.NearMe = &[2]float64{p.Lat, p.Lng}, "position"
			} else if yuncan.ErrorCode(err) != yuncan.NotFound && yuncan.ErrorCode(err) != yuncan.Forbidden {
				s.pageError(w, r, err)
				return
			}
			if v.NearMe != "position" && s.consent.Require(ctx, sub, consent.PurposePreciseLocation) == nil {
				v.NearMe = "locate"
			}
		}
		if rk := q.Get("radius_km"); rk != "" {
			n, err := strconv.Atoi(rk)
			if err != nil {
				n = -1
			}
			v.Radius = n
		}
		var lat, lng float64
		switch {
		case q.Get("near") == "me":
			v.Near = true
			if pos == nil {
				v.ListErr = translate(v.Lang, "cases.near.no_position")
				break
			}
			lat, lng, v.FromPosition = pos[0], pos[1], true
		case q.Has("lat") || q.Has("lng"):
			v.Near = true
			var err1, err2 error
			lat, err1 = strconv.ParseFloat(q.Get("lat"), 64)
			lng, err2 = strconv.ParseFloat(q.Get("lng"), 64)
			if err1 != nil || err2 != nil {
				v.ListErr = translate(v.Lang, "reason.invalid_coordinates")
			}
			v.Lat, v.Lng = q.Get("lat"), q.Get("lng")
		}
		status := http.StatusOK
		switch {
		case v.ListErr != "":
			status = http.StatusBadRequest
		case v.Near:
			cs, next, err := s.seeking.Near(ctx, lat, lng, float64(v.Radius), q.Get("cursor"), pageCaseListMax)
			if err != nil {
				fe := s.formErr(r, v.Lang, err)
				if fe.Status >= 500 {
					s.pageError(w, r, err)
					return
				}
				v.ListErr, status = fe.Message, fe.Status
				break
			}
			for _, c := range cs {
				card := cardOf(v.Lang, c.CaseView)
				card.Distance = kmText(v.Lang, c.DistanceKm)
				v.Cases = append(v.Cases, card)
			}
			if next != "" {
				mq := url.Values{"radius_km": {strconv.Itoa(v.Radius)}, "cursor": {next}}
				if v.FromPosition {
					mq.Set("near", "me")
				} else {
					mq.Set("lat", v.Lat)
					mq.Set("lng", v.Lng)
				}
				v.More = "/cases?" + mq.Encode()
			}
		default:
			cs, err := s.seeking.Feed(ctx, nil)
			if err != nil {
				s.pageError(w, r, err)
				return
			}
			for i, c := range cs {
				if i == pageCaseListMax {
					break
				}
				v.Cases = append(v.Cases, cardOf(v.Lang, c))
			}
		}
		s.render(w, r, status, "cases", v)
	})
}

// caseDetail is a case as the page shows it; personal fields are empty
// when the service redacted them.
type caseDetail struct {
	ID, Status, StatusKey, Category, Name, Facts          string
	DateOfBirth, HomeCity, Height, Build                  string
	Clothing, Marks, Description, Circumstances           string
	LastSeenAt, Place, Lat, Lng, Org, Published, Resolved string
	Photos                                                []photoRow
	StatusReason                                          string
	Verified                                              bool
	HasPoliceReceipt                                      bool
}

type photoRow struct{ ID, URL string }

type historyEvent struct{ At, To, By, Reason string }

type casePrivate struct{ Relationship, ContactPhone, PoliceReceipt string }

type caseView struct {
	pageBase
	Case     caseDetail
	Redacted bool
	// Reporter: the viewer reported the case; Reviewer: a moderator or
	// partner police officer sees it as staff.
	Reporter bool
	Reviewer bool
	Private  *casePrivate
	History  []historyEvent
	Draft    bool
	// Published: open for clues.
	Published bool
	Resolved  bool
	// CanClue: a logged-in visitor other than the reporter may send a
	// clue; CanLocate: the precise location consent is live, so the
	// browser's position may go with it.
	CanClue   bool
	CanLocate bool
	ClueForm  clueForm
	ClueErr   formErrors
	// Clues are the clues the viewer may see: all for the reporter and
	// (after stating a reason, audited) staff; their own for a clue-giver.
	Clues      []clueRow
	CluesAsked bool
	AuditQuery string
	CanResolve bool
	Outcomes   []string
	ActionErr  formErrors
	PhotoErr   formErrors
	Map        mapSetup
	// Reach: how far the case went, for its reporter and staff.
	Reach *seeking.Reach
}

// clueForm is what the clue form holds after a refused try.
type clueForm struct {
	Text, SeenAt, PlaceName, Lat, Lng, Source string
}

type clueRow struct {
	ID, Text, SeenAt, Place, Status, StatusKey, Created string
	Mine                                                bool
	Photos                                              int
}

// resolutions lists the outcomes a case may be closed with.
var resolutions = []string{string(seeking.StatusFoundSafe), string(seeking.StatusFoundSafePrivate), string(seeking.StatusFoundDeceased),
	string(seeking.StatusWithdrawn)}

func caseDetailOf(lang string, c seeking.CaseView) caseDetail {
	d := caseDetail{ID: c.ID, Status: statusText(lang, c.Status), StatusKey: string(c.Status), Category: categoryText(lang, c.Category),
		Published: pageTime(c.PublishedAt), Resolved: pageTime(c.ResolvedAt), StatusReason: c.StatusReason,
		Verified: !c.VerifiedAt.IsZero(), HasPoliceReceipt: c.HasPoliceReceipt}
	if c.Org != nil {
		d.Org = c.Org.Name
	}
	if c.Redacted() {
		return d
	}
	p := c.Person
	d.Name, d.Facts, d.DateOfBirth, d.HomeCity, d.Build = p.FullName, personFacts(lang, p), p.DateOfBirth, p.HomeCity, p.Build
	d.Clothing, d.Marks, d.Description, d.Circumstances = p.Clothing, p.DistinguishingMarks, p.Description, p.Circumstances
	if p.HeightCm != nil {
		d.Height = translate(lang, "seeking.height", *p.HeightCm)
	}
	d.LastSeenAt, d.Place = pageTime(c.LastSeen.At), c.LastSeen.PlaceName
	d.Lat, d.Lng = strconv.FormatFloat(c.LastSeen.Lat, 'f', 6, 64), strconv.FormatFloat(c.LastSeen.Lng, 'f', 6, 64)
	for _, ph := range c.Photos {
		d.Photos = append(d.Photos, photoRow{ID: ph.ID, URL: casePagePhotoURL(ph.Key)})
	}
	return d
}

// newCaseView reads the case as the visitor may see it, with what the
// visitor may do on it. A case the visitor may not see is not found.
func (s *Server) newCaseView(w http.ResponseWriter, r *http.Request) (*caseView, error) {
	ctx := r.Context()
	viewer, err := s.pageViewer(w, r)
	if err != nil {
		return nil, err
	}
	c, err := s.seeking.Case(ctx, viewer, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	v := &caseView{pageBase: s.newBase(w, r, "case.title"), Case: caseDetailOf(pageReqOf(r).lang, c), Redacted: c.Redacted(),
		Reporter: c.Access == seeking.AccessReporter, Reviewer: c.Access == seeking.AccessStaff, Draft: c.Status == seeking.StatusDraft,
		Published: c.Status == seeking.StatusPublished, Resolved: c.Status.Resolved(), Outcomes: resolutions}
	v.Map = s.mapSetup(v.Lang)
	if v.Case.Name != "" {
		v.Title = v.T("case.title_of", v.Case.Name)
	}
	if c.Private != nil {
		v.Private = &casePrivate{Relationship: c.Private.Relationship, ContactPhone: maskPhone(c.Private.ContactPhone),
			PoliceReceipt: c.Private.PoliceReceipt}
	}
	for _, e := range c.History {
		v.History = append(v.History, historyEvent{At: pageTime(e.At), To: statusText(v.Lang, e.To),
			By: messageOr(v.Lang, "case.by."+e.ActorRole, e.ActorRole), Reason: e.Reason})
	}
	// The service decides who may resolve; the page offers the form to
	// those who may try: the reporter, and staff on a published case.
	v.CanResolve = !v.Resolved && c.Status != seeking.StatusRejected && (v.Reporter || v.Reviewer && v.Published)
	if viewer.Anonymous() {
		return v, nil
	}
	if v.Reporter || v.Reviewer {
		rc, err := s.seeking.Reach(ctx, viewer, c.ID)
		if err != nil {
			return nil, err
		}
		v.Reach = &rc
	}
	v.CanClue = v.Published && !v.Reporter
	if v.CanClue {
		v.CanLocate = s.consent.Require(ctx, consent.User(viewer.UserID), consent.PurposePreciseLocation) == nil
	}
	// Staff read clues only when they ask, with a reason: each read is
	// audited (P52).
	reason := strings.TrimSpace(r.URL.Query().Get("reason"))
	v.CluesAsked = !v.Reviewer || r.URL.Query().Has("clues")
	if v.Reviewer && v.CluesAsked {
		v.AuditQuery = "?" + url.Values{"reason": {reason}}.Encode()
	}
	if v.CluesAsked && (v.Reporter || v.Reviewer || v.Published || v.Resolved) {
		cs, err := s.seeking.Clues(ctx, viewer, c.ID, reason)
		if err != nil {
			return nil, err
		}
		for _, cl := range cs {
			v.Clues = append(v.Clues, clueRowOf(v.Lang, cl))
		}
	}
	return v, nil
}

func clueRowOf(lang string, c seeking.ClueView) clueRow {
	row := clueRow{ID: c.ID, Text: c.Text, SeenAt: pageTime(c.SeenAt), Place: c.PlaceName, StatusKey: string(c.Status),
		Status: messageOr(lang, "clue.status."+string(c.Status), string(c.Status)), Created: pageTime(c.CreatedAt), Mine: c.Mine,
		Photos: len(c.Photos)}
	if c.Point != nil && row.Place == "" {
		row.Place = fmt.Sprintf("%.5f, %.5f", c.Point.Lat, c.Point.Lng)
	}
	return row
}

// pageCaseShow is the case page: the public record (redacted once
// resolved), and for logged-in people the clue form; for the reporter
// the private fields, the history, the draft's actions and the clues.
func (s *Server) pageCaseShow() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := s.newCaseView(w, r)
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		s.render(w, r, http.StatusOK, "case", v)
	})
}

// caseFailed shows the case page again with a refused action's message;
// only a failure to read the case itself becomes an error page.
func (s *Server) caseFailed(w http.ResponseWriter, r *http.Request, err error, set func(v *caseView, fe formErrors)) {
	fe := s.formErr(r, pageReqOf(r).lang, err)
	if fe.Status >= 500 || fe.Status == http.StatusNotFound || fe.Status == http.StatusUnauthorized {
		s.pageError(w, r, err)
		return
	}
	v, verr := s.newCaseView(w, r)
	if verr != nil {
		s.pageError(w, r, verr)
		return
	}
	set(v, fe)
	s.render(w, r, fe.Status, "case", v)
}

func caseURL(id string) string { return "/cases/" + url.PathEscape(id) }

// pageCaseSubmit sends a draft for review.
func (s *Server) pageCaseSubmit() http.Handler {
	return s.withWebViewer(func(w http.ResponseWriter, r *http.Request, v seeking.Viewer) {
		if _, err := s.seeking.Submit(r.Context(), v, r.PathValue("id")); err != nil {
			s.caseFailed(w, r, err, func(cv *caseView, fe formErrors) { cv.ActionErr = fe })
			return
		}
		seeOther(w, r, caseURL(r.PathValue("id"))+"?ok=case_submitted")
	})
}

// pageCaseResolve closes a case: found safe (possibly not to be
// contacted), found deceased, or withdrawn.
func (s *Server) pageCaseResolve() http.Handler {
	return s.withWebViewer(func(w http.ResponseWriter, r *http.Request, v seeking.Viewer) {
		f := r.PostForm
		_, err := s.seeking.Resolve(r.Context(), v, r.PathValue("id"), seeking.Status(f.Get("outcome")), crlf(f.Get("note")))
		if err != nil {
			s.caseFailed(w, r, err, func(cv *caseView, fe formErrors) { cv.ActionErr = fe })
			return
		}
		seeOther(w, r, caseURL(r.PathValue("id"))+"?ok=case_resolved")
	})
}

// withWebViewer runs next with the web login as the seeking viewer; it
// sits behind requireWebLogin.
func (s *Server) withWebViewer(next func(w http.ResponseWriter, r *http.Request, v seeking.Viewer)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { next(w, r, seekingViewerOf(r)) })
}

// crlf turns a textarea's CRLF line breaks into the LF the services
// allow.
func crlf(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }

// pageCasePhoto serves a case photo to whoever may see it now: the
// public while the case is published, the reporter and staff always.
func (s *Server) pageCasePhoto() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := s.pageViewer(w, r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		name := r.PathValue("name")
		if strings.ContainsAny(name, "/\\") || path.Clean(name) != name {
			http.NotFound(w, r)
			return
		}
		f, err := s.seeking.OpenCasePhoto(r.Context(), v, "cases/"+r.PathValue("id")+"/"+name)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		servePhoto(w, r, f)
	})
}

// pageTimeInput is a time as a datetime-local field shows it, China time.
func pageTimeInput(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(chinaTime).Format("2006-01-02T15:04")
}

// parsePageTime reads a datetime-local field, in China time; "" is the
// zero time.
func parsePageTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, true
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(layout, s, chinaTime); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
