package server

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/identity"
	"github.com/yuncan/yuncan/internal/media"
	"github.com/yuncan/yuncan/internal/seeking"
)

// People-seeking: cases (this file), clues and the masked relay
// (api_seeking_clues.go), review and partner organisations
// (api_seeking_staff.go). The rules live in the seeking area; a viewer
// who may not see something gets 404.

// viewerOf is the caller as the seeking area knows them: the account of
// a valid bearer token, or an anonymous visitor when there is none. A
// token that is sent but not valid is 401, not anonymous.
func (s *Server) viewerOf(r *http.Request) (seeking.Viewer, error) {
	if a, ok := r.Context().Value(ctxAuth).(identity.Auth); ok {
		return seeking.Viewer{UserID: a.User.ID, Role: a.User.Role}, nil
	}
	tok, ok := bearer(r)
	if !ok {
		return seeking.Viewer{}, nil
	}
	a, err := s.identity.Authenticate(r.Context(), tok)
	if err != nil {
		return seeking.Viewer{}, err
	}
	return seeking.Viewer{UserID: a.User.ID, Role: a.User.Role}, nil
}

// withViewer resolves the viewer before next runs.
func (s *Server) withViewer(next func(w http.ResponseWriter, r *http.Request, v seeking.Viewer)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := s.viewerOf(r)
		if err != nil {
			if yuncan.ErrorCode(err) == yuncan.Unauthenticated {
				w.Header().Set("WWW-Authenticate", `Bearer realm="yuncan", error="invalid_token"`)
			}
			s.writeError(w, r, err)
			return
		}
		next(w, r, v)
	})
}

type personJSON struct {
	FullName            string   `json:"full_name"`
	GivenName           string   `json:"given_name"`
	FamilyName          string   `json:"family_name"`
	AlternateNames      []string `json:"alternate_names"`
	Sex                 string   `json:"sex"`
	DateOfBirth         string   `json:"date_of_birth"`
	Age                 *int     `json:"age"`
	HomeCity            string   `json:"home_city"`
	HeightCm            *int     `json:"height_cm"`
	Build               string   `json:"build"`
	Clothing            string   `json:"clothing"`
	DistinguishingMarks string   `json:"distinguishing_marks"`
	Description         string   `json:"description"`
	Circumstances       string   `json:"circumstances"`
	// PhotoURL is the first photo, as PFIF's photo_url; null when none.
	PhotoURL *string `json:"photo_url"`
}

type lastSeenJSON struct {
	At        string  `json:"at"`
	Lat       float64 `json:"lat"`
	Lng       float64 `json:"lng"`
	PlaceName string  `json:"place_name"`
}

type photoJSON struct {
	ID        string `json:"id"`
	URL       string `json:"url"`
	CreatedAt string `json:"created_at"`
}

type orgJSON struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Kind      string `json:"kind"`
	CreatedAt string `json:"created_at"`
}

func toOrgJSON(o seeking.Org) orgJSON {
	return orgJSON{ID: o.ID, Name: o.Name, Kind: string(o.Kind), CreatedAt: o.CreatedAt.UTC().Format(time.RFC3339Nano)}
}

// reviewJSON is the state of a case's review, for the reporter and staff.
type reviewJSON struct {
	SubmittedAt      *string `json:"submitted_at"`
	Verified         bool    `json:"verified"`
	VerifiedAt       *string `json:"verified_at"`
	HasPoliceReceipt bool    `json:"has_police_receipt"`
	// StatusReason is the reason given with the last rejection, return
	// or resolution.
	StatusReason string `json:"status_reason"`
}

type eventJSON struct {
	At     string  `json:"at"`
	From   *string `json:"from"`
	To     string  `json:"to"`
	By     string  `json:"by"` // reporter, moderator, partner_staff
	Reason string  `json:"reason"`
	// ActorID is shown to staff only.
	ActorID string `json:"actor_id,omitempty"`
}

type privateJSON struct {
	Relationship  string  `json:"relationship"`
	ContactPhone  string  `json:"contact_phone"`
	PoliceReceipt *string `json:"police_receipt"`
}

// caseJSON is a case as one viewer sees it. access says which view it
// is: "public" (a published case), "redacted" (a resolved case seen by
// the public: person, last_seen and photos are null/empty), "staff" or
// "reporter" (with review and history; private for the reporter).
type caseJSON struct {
	ID          string        `json:"id"`
	Status      string        `json:"status"`
	Category    string        `json:"category"`
	Access      string        `json:"access"`
	Person      *personJSON   `json:"person"`
	LastSeen    *lastSeenJSON `json:"last_seen"`
	Photos      []photoJSON   `json:"photos"`
	Org         *orgJSON      `json:"org"`
	PublishedAt *string       `json:"published_at"`
	ResolvedAt  *string       `json:"resolved_at"`
	UpdatedAt   string        `json:"updated_at"`
	// For the reporter and staff only.
	Review  *reviewJSON  `json:"review,omitempty"`
	History []eventJSON  `json:"history,omitempty"`
	Private *privateJSON `json:"private,omitempty"`
}

var accessNames = map[seeking.Access]string{seeking.AccessRedacted: "redacted", seeking.AccessPublic: "public",
	seeking.AccessStaff: "staff", seeking.AccessReporter: "reporter"}

func casePhotoURL(key string) string { return "/media/" + key }

func toCaseJSON(v seeking.CaseView) caseJSON {
	j := caseJSON{ID: v.ID, Status: string(v.Status), Category: string(v.Category), Access: accessNames[v.Access],
		Photos: []photoJSON{}, PublishedAt: timePtr(v.PublishedAt), ResolvedAt: timePtr(v.ResolvedAt),
		UpdatedAt: v.UpdatedAt.UTC().Format(time.RFC3339Nano)}
	if v.Org != nil {
		o := toOrgJSON(*v.Org)
		j.Org = &o
	}
	if v.Redacted() {
		return j
	}
	p := v.Person
	alt := p.AlternateNames
	if alt == nil {
		alt = []string{}
	}
	j.Person = &personJSON{FullName: p.FullName, GivenName: p.GivenName, FamilyName: p.FamilyName, AlternateNames: alt, Sex: p.Sex,
		DateOfBirth: p.DateOfBirth, Age: p.Age, HomeCity: p.HomeCity, HeightCm: p.HeightCm, Build: p.Build, Clothing: p.Clothing,
		DistinguishingMarks: p.DistinguishingMarks, Description: p.Description, Circumstances: p.Circumstances}
	j.LastSeen = &lastSeenJSON{At: v.LastSeen.At.UTC().Format(time.RFC3339), Lat: v.LastSeen.Lat, Lng: v.LastSeen.Lng, PlaceName: v.LastSeen.PlaceName}
	for _, ph := range v.Photos {
		j.Photos = append(j.Photos, photoJSON{ID: ph.ID, URL: casePhotoURL(ph.Key), CreatedAt: ph.CreatedAt.UTC().Format(time.RFC3339Nano)})
	}
	if len(j.Photos) > 0 {
		j.Person.PhotoURL = &j.Photos[0].URL
	}
	if v.Access < seeking.AccessStaff {
		return j
	}
	j.Review = &reviewJSON{SubmittedAt: timePtr(v.SubmittedAt), Verified: !v.VerifiedAt.IsZero(), VerifiedAt: timePtr(v.VerifiedAt),
		HasPoliceReceipt: v.HasPoliceReceipt, StatusReason: v.StatusReason}
	for _, e := range v.History {
		ej := eventJSON{At: e.At.UTC().Format(time.RFC3339Nano), To: string(e.To), By: e.ActorRole, Reason: e.Reason}
		if e.From != "" {
			from := string(e.From)
			ej.From = &from
		}
		if v.Access == seeking.AccessStaff {
			ej.ActorID = e.ActorID
		}
		j.History = append(j.History, ej)
	}
	if v.Private != nil {
		j.Private = toPrivateJSON(*v.Private)
	}
	return j
}

func toPrivateJSON(p seeking.Private) *privateJSON {
	j := &privateJSON{Relationship: p.Relationship, ContactPhone: p.ContactPhone}
	if p.PoliceReceipt != "" {
		j.PoliceReceipt = &p.PoliceReceipt
	}
	return j
}

// caseRequest creates or replaces a case.
type caseRequest struct {
	Category string          `json:"category"`
	Person   personRequest   `json:"person"`
	LastSeen lastSeenRequest `json:"last_seen"`
	Private  privateRequest  `json:"private"`
	OrgID    string          `json:"org_id"`
}

type personRequest struct {
	FullName            string   `json:"full_name"`
	GivenName           string   `json:"given_name"`
	FamilyName          string   `json:"family_name"`
	AlternateNames      []string `json:"alternate_names"`
	Sex                 string   `json:"sex"`
	DateOfBirth         string   `json:"date_of_birth"`
	Age                 *int     `json:"age"`
	HomeCity            string   `json:"home_city"`
	HeightCm            *int     `json:"height_cm"`
	Build               string   `json:"build"`
	Clothing            string   `json:"clothing"`
	DistinguishingMarks string   `json:"distinguishing_marks"`
	Description         string   `json:"description"`
	Circumstances       string   `json:"circumstances"`
}

type lastSeenRequest struct {
	At        string   `json:"at"`
	Lat       *float64 `json:"lat"`
	Lng       *float64 `json:"lng"`
	PlaceName string   `json:"place_name"`
}

type privateRequest struct {
	Relationship  string `json:"relationship"`
	ContactPhone  string `json:"contact_phone"`
	PoliceReceipt string `json:"police_receipt"`
}

// input turns the request into the area's input; what cannot be parsed
// here (a time, a missing coordinate) is reported like the area's own
// field errors, all at once.
func (c caseRequest) input() (seeking.CaseInput, error) {
	p := c.Person
	in := seeking.CaseInput{Category: seeking.Category(c.Category), OrgID: c.OrgID,
		Person: seeking.Person{FullName: p.FullName, GivenName: p.GivenName, FamilyName: p.FamilyName, AlternateNames: p.AlternateNames,
			Sex: p.Sex, DateOfBirth: p.DateOfBirth, Age: p.Age, HomeCity: p.HomeCity, HeightCm: p.HeightCm, Build: p.Build,
			Clothing: p.Clothing, DistinguishingMarks: p.DistinguishingMarks, Description: p.Description, Circumstances: p.Circumstances},
		LastSeen: seeking.LastSeen{PlaceName: c.LastSeen.PlaceName},
		Private:  seeking.Private{Relationship: c.Private.Relationship, ContactPhone: c.Private.ContactPhone, PoliceReceipt: c.Private.PoliceReceipt}}
	e := yuncan.Errorf(yuncan.Invalid, "the case has invalid fields")
	if c.LastSeen.At != "" {
		t, err := time.Parse(time.RFC3339, c.LastSeen.At)
		if err != nil {
			e.WithField("last_seen.at", "must be a date-time as RFC 3339")
		}
		in.LastSeen.At = t
	}
	if c.LastSeen.Lat == nil {
		e.WithField("last_seen.lat", "is required")
	} else {
		in.LastSeen.Lat = *c.LastSeen.Lat
	}
	if c.LastSeen.Lng == nil {
		e.WithField("last_seen.lng", "is required")
	} else {
		in.LastSeen.Lng = *c.LastSeen.Lng
	}
	if len(e.Fields) > 0 {
		return in, e
	}
	return in, nil
}

// decodeCase reads a case request.
func decodeCase(w http.ResponseWriter, r *http.Request) (seeking.CaseInput, error) {
	var req caseRequest
	if err := decode(w, r, &req); err != nil {
		return seeking.CaseInput{}, err
	}
	return req.input()
}

// handleCaseCreate starts a draft case. P10: only a real-name verified
// account or staff of a partner police organisation or rescue station
// may; others get 403 real_name_required.
func (s *Server) handleCaseCreate() http.Handler {
	return s.withViewer(func(w http.ResponseWriter, r *http.Request, v seeking.Viewer) {
		in, err := decodeCase(w, r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		c, err := s.seeking.CreateCase(r.Context(), v, in)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusCreated, toCaseJSON(c))
	})
}

// handleCaseUpdate replaces the fields of a draft.
func (s *Server) handleCaseUpdate() http.Handler {
	return s.withViewer(func(w http.ResponseWriter, r *http.Request, v seeking.Viewer) {
		in, err := decodeCase(w, r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		c, err := s.seeking.UpdateCase(r.Context(), v, r.PathValue("id"), in)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, toCaseJSON(c))
	})
}

// handleCaseShow shows a case as the caller may see it (logged in or
// not): published cases to everyone, resolved ones redacted, drafts and
// cases in review only to their reporter (and staff after submission).
func (s *Server) handleCaseShow() http.Handler {
	return s.withViewer(func(w http.ResponseWriter, r *http.Request, v seeking.Viewer) {
		c, err := s.seeking.Case(r.Context(), v, r.PathValue("id"))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, toCaseJSON(c))
	})
}

// handleCaseReach gives the reporter and staff a case's reach figures.
func (s *Server) handleCaseReach() http.Handler {
	return s.withViewer(func(w http.ResponseWriter, r *http.Request, v seeking.Viewer) {
		rc, err := s.seeking.Reach(r.Context(), v, r.PathValue("id"))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, map[string]int{"alerted": rc.Alerted, "opened": rc.Opened, "clues": rc.Clues})
	})
}

// handleMyCaseList lists the caller's own cases.
func (s *Server) handleMyCaseList() http.Handler {
	return s.withViewer(func(w http.ResponseWriter, r *http.Request, v seeking.Viewer) {
		cs, err := s.seeking.MyCases(r.Context(), v)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		out := mapSlice(cs, toCaseJSON)
		encode(w, http.StatusOK, map[string]any{"cases": out})
	})
}

type casePrivateJSON struct {
	privateJSON
	VerificationNote *string `json:"verification_note"`
	VerifiedAt       *string `json:"verified_at"`
}

// handleCasePrivate shows a case's private fields to its reporter, and to
// moderators and partner police with an audit record of the read (P52):
// ?reason= is kept in the record. Anyone else gets 404.
func (s *Server) handleCasePrivate() http.Handler {
	return s.withViewer(func(w http.ResponseWriter, r *http.Request, v seeking.Viewer) {
		p, err := s.seeking.CasePrivate(r.Context(), v, r.PathValue("id"), r.URL.Query().Get("reason"))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		j := casePrivateJSON{privateJSON: *toPrivateJSON(p.Private), VerifiedAt: timePtr(p.VerifiedAt)}
		if p.VerificationNote != "" {
			j.VerificationNote = &p.VerificationNote
		}
		encode(w, http.StatusOK, j)
	})
}

// handleCaseSubmit sends a draft for review.
func (s *Server) handleCaseSubmit() http.Handler {
	return s.withViewer(func(w http.ResponseWriter, r *http.Request, v seeking.Viewer) {
		c, err := s.seeking.Submit(r.Context(), v, r.PathValue("id"))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, toCaseJSON(c))
	})
}

type resolveRequest struct {
	Outcome string `json:"outcome"`
	Note    string `json:"note"`
}

// handleCaseResolve closes a case: found_safe, found_safe_private (found
// safe, does not want to be contacted: hidden from the public),
// found_deceased or withdrawn.
func (s *Server) handleCaseResolve() http.Handler {
	return s.withViewer(func(w http.ResponseWriter, r *http.Request, v seeking.Viewer) {
		var req resolveRequest
		if err := decode(w, r, &req); err != nil {
			s.writeError(w, r, err)
			return
		}
		c, err := s.seeking.Resolve(r.Context(), v, r.PathValue("id"), seeking.Status(req.Outcome), req.Note)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, toCaseJSON(c))
	})
}

// photoBody returns the uploaded image: the "photo" part of a multipart
// form, or the raw body. The limit leaves room for the form's other
// parts; Sanitize holds the image itself to PhotoOptions.MaxBytes.
func photoBody(w http.ResponseWriter, r *http.Request) (io.Reader, error) {
	r.Body = http.MaxBytesReader(w, r.Body, media.PhotoOptions.MaxBytes+maxJSONBody)
	if mr, err := r.MultipartReader(); err == nil {
		part, err := firstFilePart(mr, "photo")
		if err != nil {
			return nil, err
		}
		return uploadReader{part}, nil
	}
	return uploadReader{r.Body}, nil
}

// handleCasePhotoAdd adds a photo to a draft; EXIF, GPS and all other
// metadata are stripped (the pixels are re-encoded).
func (s *Server) handleCasePhotoAdd() http.Handler {
	return s.withViewer(func(w http.ResponseWriter, r *http.Request, v seeking.Viewer) {
		body, err := photoBody(w, r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		p, err := s.seeking.AddCasePhoto(r.Context(), v, r.PathValue("id"), body)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusCreated, photoJSON{ID: p.ID, URL: casePhotoURL(p.Key), CreatedAt: p.CreatedAt.UTC().Format(time.RFC3339Nano)})
	})
}

// handleCasePhotoDelete removes a photo from a draft.
func (s *Server) handleCasePhotoDelete() http.Handler {
	return s.withViewer(func(w http.ResponseWriter, r *http.Request, v seeking.Viewer) {
		if err := s.seeking.DeleteCasePhoto(r.Context(), v, r.PathValue("id"), r.PathValue("photo")); err != nil {
			s.writeError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// handleCasePhotoShow serves a case photo: to anyone while the case is
// published and not resolved, else only to the reporter and staff
// (bearer token), never cached then.
func (s *Server) handleCasePhotoShow() http.Handler {
	return s.withViewer(func(w http.ResponseWriter, r *http.Request, v seeking.Viewer) {
		f, err := s.seeking.OpenCasePhoto(r.Context(), v, "cases/"+r.PathValue("key"))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		servePhoto(w, r, f)
	})
}

// servePhoto writes an opened photo; only public ones may be cached, and
// briefly, so that a resolution hides them soon.
func servePhoto(w http.ResponseWriter, r *http.Request, f seeking.PhotoFile) {
	defer f.Close()
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if f.Public {
		w.Header().Set("Cache-Control", "public, max-age=60")
	} else {
		w.Header().Set("Cache-Control", "private, no-store")
	}
	http.ServeContent(w, r, "photo", f.ModTime, f)
}

// nearbyJSON is a case near the asked point.
type nearbyJSON struct {
	caseJSON
	DistanceKm float64 `json:"distance_km"`
}

// handleCaseList lists the published cases last seen within radius_km of
// lat,lng, nearest first; cursor pages on.
func (s *Server) handleCaseList() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		e := yuncan.Errorf(yuncan.Invalid, "lat, lng and radius_km are required numbers")
		num := func(name string) float64 {
			v := q.Get(name)
			if v == "" {
				e.WithField(name, "is required")
				return 0
			}
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				e.WithField(name, "must be a number")
			}
			return f
		}
		lat, lng, radius := num("lat"), num("lng"), num("radius_km")
		limit := 20
		if v := q.Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				e.WithField("limit", "must be a whole number")
			}
			limit = n
		}
		if len(e.Fields) > 0 {
			s.writeError(w, r, e)
			return
		}
		cs, next, err := s.seeking.Near(r.Context(), lat, lng, radius, q.Get("cursor"), limit)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		out := make([]nearbyJSON, 0, len(cs))
		for _, c := range cs {
			out = append(out, nearbyJSON{caseJSON: toCaseJSON(c.CaseView), DistanceKm: c.DistanceKm})
		}
		var nextPtr *string
		if next != "" {
			nextPtr = &next
		}
		encode(w, http.StatusOK, map[string]any{"cases": out, "next_cursor": nextPtr})
	})
}

type geoFeatureCollection struct {
	Type     string       `json:"type"`
	Features []geoFeature `json:"features"`
}

type geoFeature struct {
	Type       string         `json:"type"`
	ID         string         `json:"id"`
	Geometry   geoPoint       `json:"geometry"`
	Properties geoCaseSummary `json:"properties"`
}

type geoPoint struct {
	Type        string     `json:"type"`
	Coordinates [2]float64 `json:"coordinates"` // longitude, latitude (RFC 7946)
}

type geoCaseSummary struct {
	FullName    string  `json:"full_name"`
	Category    string  `json:"category"`
	Sex         string  `json:"sex"`
	Age         *int    `json:"age"`
	LastSeenAt  string  `json:"last_seen_at"`
	PlaceName   string  `json:"place_name"`
	PhotoURL    *string `json:"photo_url"`
	PublishedAt *string `json:"published_at"`
	URL         string  `json:"url"`
}

// handleCaseFeed is the map feed: the published cases as an RFC 7946
// GeoJSON FeatureCollection, optionally within ?bbox=minLng,minLat,maxLng,maxLat.
func (s *Server) handleCaseFeed() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var box *seeking.Box
		if v := r.URL.Query().Get("bbox"); v != "" {
			b, err := seeking.ParseBBox(v)
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			box = &b
		}
		cs, err := s.seeking.Feed(r.Context(), box)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		fc := geoFeatureCollection{Type: "FeatureCollection", Features: make([]geoFeature, 0, len(cs))}
		for _, c := range cs {
			j := toCaseJSON(c)
			fc.Features = append(fc.Features, geoFeature{Type: "Feature", ID: c.ID,
				Geometry: geoPoint{Type: "Point", Coordinates: [2]float64{c.LastSeen.Lng, c.LastSeen.Lat}},
				Properties: geoCaseSummary{FullName: c.Person.FullName, Category: string(c.Category), Sex: c.Person.Sex, Age: c.Person.Age,
					LastSeenAt: j.LastSeen.At, PlaceName: c.LastSeen.PlaceName, PhotoURL: j.Person.PhotoURL, PublishedAt: j.PublishedAt,
					URL: "/api/v1/cases/" + c.ID}})
		}
		w.Header().Set("Cache-Control", "public, max-age=60")
		w.Header().Set("Content-Type", "application/geo+json")
		w.WriteHeader(http.StatusOK)
		json.NewEncoder(w).Encode(fc)
	})
}
