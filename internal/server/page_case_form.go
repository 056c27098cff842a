package server

import (
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/media"
	"github.com/yuncan/yuncan/internal/seeking"
)

// The publish-a-case form: a draft is written (and rewritten) here, gets
// its photos on the case page, and is sent for review from there. Who
// may publish (P10: a real name, or staff of partner police or a rescue
// station) is the seeking service's rule; the form shows its refusal
// with the way to verify.

// caseFormData is the form as text, the service's field names beside.
type caseFormData struct {
	Category, FullName, Sex, Age, DateOfBirth, HeightCm, Build, HomeCity string
	Clothing, Marks, Description, Circumstances                          string
	LastSeenAt, PlaceName, Lat, Lng                                      string
	Relationship, ContactPhone, PoliceReceipt                            string
}

func caseFormOf(f url.Values) caseFormData {
	g := func(k string) string { return strings.TrimSpace(crlf(f.Get(k))) }
	return caseFormData{Category: g("category"), FullName: g("full_name"), Sex: g("sex"), Age: g("age"), DateOfBirth: g("date_of_birth"),
		HeightCm: g("height_cm"), Build: g("build"), HomeCity: g("home_city"), Clothing: g("clothing"), Marks: g("distinguishing_marks"),
		Description: g("description"), Circumstances: g("circumstances"), LastSeenAt: g("last_seen_at"), PlaceName: g("place_name"),
		Lat: g("lat"), Lng: g("lng"), Relationship: g("relationship"), ContactPhone: g("contact_phone"), PoliceReceipt: g("police_receipt")}
}

// caseFormFrom fills the form from a draft, to edit it.
func caseFormFrom(c seeking.CaseView) caseFormData {
	p := c.Person
	d := caseFormData{Category: string(c.Category), FullName: p.FullName, Sex: p.Sex, DateOfBirth: p.DateOfBirth, Build: p.Build,
		HomeCity: p.HomeCity, Clothing: p.Clothing, Marks: p.DistinguishingMarks, Description: p.Description, Circumstances: p.Circumstances,
		LastSeenAt: pageTimeInput(c.LastSeen.At), PlaceName: c.LastSeen.PlaceName,
		Lat: strconv.FormatFloat(c.LastSeen.Lat, 'f', -1, 64), Lng: strconv.FormatFloat(c.LastSeen.Lng, 'f', -1, 64)}
	if p.Age != nil {
		d.Age = strconv.Itoa(*p.Age)
	}
	if p.HeightCm != nil {
		d.HeightCm = strconv.Itoa(*p.HeightCm)
	}
	if c.Private != nil {
		d.Relationship, d.ContactPhone, d.PoliceReceipt = c.Private.Relationship, c.Private.ContactPhone, c.Private.PoliceReceipt
	}
	return d
}

// input turns the form into the service's input. What cannot be parsed
// here is reported with the service's own findings on the rest, so that
// every problem shows at once; the service checks again on create.
func (d caseFormData) input(now time.Time) (seeking.CaseInput, error) {
	e := yuncan.Errorf(yuncan.Invalid, "the case has invalid fields")
	in := seeking.CaseInput{Category: seeking.Category(d.Category),
		Person: seeking.Person{FullName: d.FullName, Sex: d.Sex, DateOfBirth: d.DateOfBirth, HomeCity: d.HomeCity, Build: d.Build,
			Clothing: d.Clothing, DistinguishingMarks: d.Marks, Description: d.Description, Circumstances: d.Circumstances},
		LastSeen: seeking.LastSeen{PlaceName: d.PlaceName},
		Private:  seeking.Private{Relationship: d.Relationship, ContactPhone: d.ContactPhone, PoliceReceipt: d.PoliceReceipt}}
	whole := func(field, s string) *int {
		if s == "" {
			return nil
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			e.WithField(field, "must be a whole number")
			return nil
		}
		return &n
	}
	in.Person.Age, in.Person.HeightCm = whole("age", d.Age), whole("height_cm", d.HeightCm)
	t, ok := parsePageTime(d.LastSeenAt)
	if !ok {
		e.WithField("last_seen.at", "must be a date and time")
	}
	in.LastSeen.At = t
	coord := func(field, s string) float64 {
		if s == "" {
			e.WithField(field, "is required")
			return 0
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			e.WithField(field, "must be a number")
		}
		return v
	}
	in.LastSeen.Lat, in.LastSeen.Lng = coord("last_seen.lat", d.Lat), coord("last_seen.lng", d.Lng)
	if len(e.Fields) == 0 {
		return in, nil
	}
	check := in
	if err := check.Validate(now); err != nil {
		for f, p := range yuncan.AsError(err).Fields {
			if _, ours := e.Fields[f]; !ours {
				e.WithField(f, p)
			}
		}
	}
	return in, e
}

type caseFormView struct {
	pageBase
	// CaseID is set when editing a draft.
	CaseID     string
	Form       caseFormData
	Err        formErrors
	Categories []string
	Sexes      []string
	// NeedsRealName: the service refused for want of a real name (P10).
	NeedsRealName bool
	CanLocate     bool
	Now           string
	Map           mapSetup
}

var caseCategories = []string{string(seeking.CategoryChild), string(seeking.CategoryElder), string(seeking.CategoryDementia),
	string(seeking.CategoryAdult), string(seeking.CategoryOther)}

func (s *Server) newCaseFormView(w http.ResponseWriter, r *http.Request, titleKey string) *caseFormView {
	v := &caseFormView{pageBase: s.newBase(w, r, titleKey), Categories: caseCategories, Sexes: []string{"female", "male", "other"},
		Now: pageTimeInput(s.now())}
	v.Map = s.mapSetup(v.Lang)
	v.CanLocate = s.consent.Require(r.Context(), userSubject(r), consent.PurposePreciseLocation) == nil
	return v
}

func (s *Server) caseFormFailed(w http.ResponseWriter, r *http.Request, v *caseFormView, err error) {
	v.Err = s.formErr(r, v.Lang, err)
	if e := yuncan.AsError(err); e.Reason == "real_name_required" {
		v.NeedsRealName = true
		v.Err.Message = v.T("case.form.real_name_required")
	}
	s.render(w, r, v.Err.Status, "case_form", v)
}

// pageCaseNew shows the empty form.
func (s *Server) pageCaseNew() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := s.newCaseFormView(w, r, "case.form.title")
		v.Form.Category = string(seeking.CategoryChild)
		s.render(w, r, http.StatusOK, "case_form", v)
	})
}

// pageCaseCreate writes a new draft; its page then takes photos and
// sends it for review.
func (s *Server) pageCaseCreate() http.Handler {
	return s.withWebViewer(func(w http.ResponseWriter, r *http.Request, viewer seeking.Viewer) {
		form := caseFormOf(r.PostForm)
		in, err := form.input(s.now())
		var c seeking.CaseView
		if err == nil {
			c, err = s.seeking.CreateCase(r.Context(), viewer, in)
		}
		if err != nil {
			v := s.newCaseFormView(w, r, "case.form.title")
			v.Form = form
			s.caseFormFailed(w, r, v, err)
			return
		}
		seeOther(w, r, caseURL(c.ID)+"?ok=case_draft")
	})
}

// pageCaseEdit shows a draft in the form.
func (s *Server) pageCaseEdit() http.Handler {
	return s.withWebViewer(func(w http.ResponseWriter, r *http.Request, viewer seeking.Viewer) {
		c, err := s.seeking.Case(r.Context(), viewer, r.PathValue("id"))
		if err == nil && c.Access != seeking.AccessReporter {
			err = yuncan.Errorf(yuncan.Forbidden, "only the reporter may change a case").WithReason("not_reporter")
		}
		if err == nil && c.Status != seeking.StatusDraft {
			err = yuncan.Errorf(yuncan.Conflict, "a case can be changed only while it is a draft").WithReason("not_editable")
		}
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		v := s.newCaseFormView(w, r, "case.form.edit_title")
		v.CaseID, v.Form = c.ID, caseFormFrom(c)
		s.render(w, r, http.StatusOK, "case_form", v)
	})
}

// pageCaseUpdate rewrites a draft.
func (s *Server) pageCaseUpdate() http.Handler {
	return s.withWebViewer(func(w http.ResponseWriter, r *http.Request, viewer seeking.Viewer) {
		form := caseFormOf(r.PostForm)
		in, err := form.input(s.now())
		if err == nil {
			_, err = s.seeking.UpdateCase(r.Context(), viewer, r.PathValue("id"), in)
		}
		if err != nil {
			if c := yuncan.ErrorCode(err); c == yuncan.NotFound || c == yuncan.Internal || c == yuncan.Unavailable {
				s.pageError(w, r, err)
				return
			}
			v := s.newCaseFormView(w, r, "case.form.edit_title")
			v.CaseID, v.Form = r.PathValue("id"), form
			s.caseFormFailed(w, r, v, err)
			return
		}
		seeOther(w, r, caseURL(r.PathValue("id"))+"?ok=case_draft")
	})
}

// upload is the file part of a page's multipart form.
type upload struct {
	r   io.Reader
	err error
}

// uploadPart reads a multipart page form up to its file part name. The
// csrf part comes first (browsers send parts in form order), so the
// token is checked before a byte of the file is read. ok is false when
// the request was answered already (a failed check); upload.err is what
// is wrong with the form otherwise.
func (s *Server) uploadPart(w http.ResponseWriter, r *http.Request, name string) (upload, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, media.PhotoOptions.MaxBytes+avatarFormSlack)
	mr, err := r.MultipartReader()
	if err != nil {
		s.pageForbidden(w, r) // not a form this site serves, so no token either
		return upload{}, false
	}
	checked := false
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			if !checked {
				s.pageForbidden(w, r)
				return upload{}, false
			}
			return upload{err: yuncan.Errorf(yuncan.Invalid, "the upload was cut short").WithReason("image_corrupt")}, true
		}
		switch p.FormName() {
		case "csrf":
			tok, _ := io.ReadAll(io.LimitReader(p, 256))
			if !csrfOK(r, string(tok)) {
				s.pageForbidden(w, r)
				return upload{}, false
			}
			checked = true
		case name:
			if !checked {
				s.pageForbidden(w, r)
				return upload{}, false
			}
			if p.FileName() == "" {
				return upload{err: yuncan.FieldError(name, "is missing from the form")}, true
			}
			return upload{r: uploadReader{p}}, true
		}
	}
	if !checked {
		s.pageForbidden(w, r)
		return upload{}, false
	}
	return upload{err: yuncan.FieldError(name, "is missing from the form")}, true
}

// photoErr puts a lone field problem of an upload in the message.
func photoErr(fe formErrors) formErrors {
	if len(fe.Fields) == 1 {
		for _, m := range fe.Fields {
			fe.Message = m
		}
	}
	return fe
}

// pageCasePhotoAdd adds a photo to a draft; the service strips its
// metadata.
func (s *Server) pageCasePhotoAdd() http.Handler {
	return s.withWebViewer(func(w http.ResponseWriter, r *http.Request, v seeking.Viewer) {
		body, ok := s.uploadPart(w, r, "photo")
		if !ok {
			return
		}
		err := body.err
		if err == nil {
			_, err = s.seeking.AddCasePhoto(r.Context(), v, r.PathValue("id"), body.r)
		}
		if err != nil {
			s.caseFailed(w, r, err, func(cv *caseView, fe formErrors) { cv.PhotoErr = photoErr(fe) })
			return
		}
		seeOther(w, r, caseURL(r.PathValue("id"))+"?ok=photo_added#photos")
	})
}

// pageCasePhotoDelete removes a photo from a draft.
func (s *Server) pageCasePhotoDelete() http.Handler {
	return s.withWebViewer(func(w http.ResponseWriter, r *http.Request, v seeking.Viewer) {
		if err := s.seeking.DeleteCasePhoto(r.Context(), v, r.PathValue("id"), r.PathValue("photo")); err != nil {
			s.caseFailed(w, r, err, func(cv *caseView, fe formErrors) { cv.PhotoErr = fe })
			return
		}
		seeOther(w, r, caseURL(r.PathValue("id"))+"?ok=photo_removed#photos")
	})
}
