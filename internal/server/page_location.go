package server

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/consent"
)

// Sharing a position for people-seeking alerts (api_location.go is the
// API twin). The page explains what is kept and for how long; its button
// asks the browser for the position only while the consent is live
// (P05): without it the page links to the consent instead and sends
// nothing. The location service asks the gate again on every update.

type positionBox struct {
	Lat, Lng string
	Coarse   bool
	Updated  string
	Age      string
	Expires  string
}

type locationView struct {
	pageBase
	// Consent: the seeking_alert_location consent is live. Blocked says
	// why the gate refuses when it is something other than a missing
	// consent (a minor's guardian, a new policy to accept).
	Consent   bool
	Blocked   string
	Position  *positionBox
	Freshness string
	Err       formErrors
	Coarse    bool
}

func (s *Server) newLocationView(w http.ResponseWriter, r *http.Request) (*locationView, error) {
	ctx := r.Context()
	sub := userSubject(r)
	v := &locationView{pageBase: s.newBase(w, r, "location.title")}
	v.Freshness = durationText(v.Lang, s.location.Config().Freshness)
	var err error
	if v.Consent, v.Blocked, err = s.pageConsent(ctx, v.Lang, sub, consent.PurposeAlertLocation); err != nil {
		return nil, err
	}
	p, err := s.location.Position(ctx, sub)
	switch {
	case err == nil:
		now := s.now()
		v.Position = &positionBox{Lat: strconv.FormatFloat(p.Lat, 'f', 5, 64), Lng: strconv.FormatFloat(p.Lng, 'f', 5, 64), Coarse: p.Coarse,
			Updated: pageTime(p.UpdatedAt), Age: ageText(v.Lang, now.Sub(p.UpdatedAt)),
			Expires: pageTime(p.UpdatedAt.Add(s.location.Config().Freshness))}
		v.Coarse = p.Coarse
	case yuncan.ErrorCode(err) != yuncan.NotFound:
		return nil, err
	}
	return v, nil
}

// pageConsent asks the gate whether p is live for sub, for a page that
// offers a form only then: blocked says why the gate refuses when it is
// something other than a missing consent (a minor's guardian, a new policy
// to accept); a failure of the gate itself is returned.
func (s *Server) pageConsent(ctx context.Context, lang string, sub consent.Subject, p consent.Purpose) (live bool, blocked string, err error) {
	err = s.consent.Require(ctx, sub, p)
	if err == nil {
		return true, "", nil
	}
	e := yuncan.AsError(err)
	if e.Code != yuncan.Forbidden {
		return false, "", err
	}
	if e.Reason != "consent_required" {
		blocked = privacyErrText(lang, e)
	}
	return false, blocked, nil
}

// pageLocationShow shows the shared position, if any, and the button.
func (s *Server) pageLocationShow() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := s.newLocationView(w, r)
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		s.render(w, r, http.StatusOK, "location", v)
	})
}

// pageLocationUpdate stores the position the browser gave (coarse: only
// a cell of a few km). Without the consent nothing is stored.
func (s *Server) pageLocationUpdate() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := r.PostForm
		coarse := f.Get("coarse") == "on"
		e := yuncan.Errorf(yuncan.Invalid, "the position is not valid").WithReason("invalid_coordinates")
		num := func(name string) float64 {
			s := strings.TrimSpace(f.Get(name))
			if s == "" {
				e.WithField(name, "is required")
				return 0
			}
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				e.WithField(name, "must be a number")
			}
			return v
		}
		lat, lng := num("lat"), num("lng")
		var err error
		if len(e.Fields) > 0 {
			err = e
		} else {
			_, err = s.location.Update(r.Context(), userSubject(r), lat, lng, coarse)
		}
		if err != nil {
			v, verr := s.newLocationView(w, r)
			if verr != nil {
				s.pageError(w, r, verr)
				return
			}
			v.Err = s.privacyFormErr(r, v.Lang, err)
			v.Coarse = coarse
			s.render(w, r, v.Err.Status, "location", v)
			return
		}
		seeOther(w, r, "/me/location?ok=location_saved")
	})
}

// pageLocationDelete deletes the position at once, from the store and
// the geo index.
func (s *Server) pageLocationDelete() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.location.Delete(r.Context(), userSubject(r)); err != nil {
			s.pageError(w, r, err)
			return
		}
		seeOther(w, r, "/me/location?ok=location_deleted")
	})
}

// ageText says how long ago something was, roughly.
func ageText(lang string, d time.Duration) string {
	switch {
	case d < time.Minute:
		return translate(lang, "time.just_now")
	case d < time.Hour:
		return translate(lang, "time.minutes_ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return translate(lang, "time.hours_ago", int(d.Hours()))
	}
	return translate(lang, "time.days_ago", int(d.Hours()/24))
}

// durationText says a duration in hours, or minutes below one.
func durationText(lang string, d time.Duration) string {
	if d < time.Hour {
		return translate(lang, "time.minutes", int(math.Ceil(d.Minutes())))
	}
	h := d.Hours()
	if h == math.Trunc(h) {
		return translate(lang, "time.hours", int(h))
	}
	return translate(lang, "time.hours", fmt.Sprintf("%.1f", h))
}
