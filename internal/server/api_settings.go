package server

import (
	"net/http"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/consent"
)

// privacySettingsJSON is the caller's privacy settings (policy 6.1, 6.2).
// The last four are consents, read from the ledger: the same state GET
// /api/v1/consents shows.
type privacySettingsJSON struct {
	RecommendMeToContacts       bool `json:"recommend_me_to_contacts"`
	SuggestPeopleIMayKnow       bool `json:"suggest_people_i_may_know"`
	ShowIdentityOnSharePages    bool `json:"show_identity_on_share_pages"`
	PersonalizedRecommendations bool `json:"personalized_recommendations"`
	ProgrammaticAds             bool `json:"programmatic_ads"`
	MarketingPush               bool `json:"marketing_push"`
	MarketingSMS                bool `json:"marketing_sms"`
	// GPCActive tells that this request carries the Global Privacy
	// Control signal: while it does, the gate refuses ads and third-party
	// sharing whatever the switches say (P31).
	GPCActive bool `json:"gpc_active"`
}

func settingsJSON(r *http.Request, st consent.Settings) privacySettingsJSON {
	return privacySettingsJSON{
		RecommendMeToContacts:       st.RecommendMeToContacts,
		SuggestPeopleIMayKnow:       st.SuggestPeopleIMayKnow,
		ShowIdentityOnSharePages:    st.ShowIdentityOnSharePages,
		PersonalizedRecommendations: st.PersonalizedRecommendations,
		ProgrammaticAds:             st.ProgrammaticAds,
		MarketingPush:               st.MarketingPush,
		MarketingSMS:                st.MarketingSMS,
		GPCActive:                   consent.HasGPC(r.Context()),
	}
}

// privacySettingsPatch is a JSON merge patch of the settings: a field left
// out stays; each present one must be true or false (null is refused, as
// a switch has no "unset").
type privacySettingsPatch struct {
	RecommendMeToContacts       optional[bool] `json:"recommend_me_to_contacts"`
	SuggestPeopleIMayKnow       optional[bool] `json:"suggest_people_i_may_know"`
	ShowIdentityOnSharePages    optional[bool] `json:"show_identity_on_share_pages"`
	PersonalizedRecommendations optional[bool] `json:"personalized_recommendations"`
	ProgrammaticAds             optional[bool] `json:"programmatic_ads"`
	MarketingPush               optional[bool] `json:"marketing_push"`
	MarketingSMS                optional[bool] `json:"marketing_sms"`
}

// patch checks every field before anything is applied.
func (p privacySettingsPatch) patch() (consent.SettingsPatch, error) {
	var out consent.SettingsPatch
	var err *yuncan.Error
	for _, f := range []struct {
		name string
		in   optional[bool]
		out  **bool
	}{
		{"recommend_me_to_contacts", p.RecommendMeToContacts, &out.RecommendMeToContacts},
		{"suggest_people_i_may_know", p.SuggestPeopleIMayKnow, &out.SuggestPeopleIMayKnow},
		{"show_identity_on_share_pages", p.ShowIdentityOnSharePages, &out.ShowIdentityOnSharePages},
		{"personalized_recommendations", p.PersonalizedRecommendations, &out.PersonalizedRecommendations},
		{"programmatic_ads", p.ProgrammaticAds, &out.ProgrammaticAds},
		{"marketing_push", p.MarketingPush, &out.MarketingPush},
		{"marketing_sms", p.MarketingSMS, &out.MarketingSMS},
	} {
		if !f.in.Set {
			continue
		}
		if f.in.Value == nil {
			if err == nil {
				err = yuncan.Errorf(yuncan.Invalid, "a setting is true or false; leave it out to keep it")
			}
			err.WithField(f.name, "must be true or false")
			continue
		}
		*f.out = f.in.Value
	}
	if err != nil {
		return consent.SettingsPatch{}, err
	}
	return out, nil
}

// handlePrivacySettingsShow returns the caller's privacy settings.
func (s *Server) handlePrivacySettingsShow() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st, err := s.consent.Settings(r.Context(), authOf(r).User.ID)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		w.Header().Add("Vary", "Sec-GPC")
		encode(w, http.StatusOK, settingsJSON(r, st))
	})
}

// handlePrivacySettingsUpdate changes some settings (P56 switch, P58, P60,
// P61, P62) and returns them all. A refused patch changes nothing.
func (s *Server) handlePrivacySettingsUpdate() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req privacySettingsPatch
		if err := decode(w, r, &req); err != nil {
			s.writeError(w, r, err)
			return
		}
		p, err := req.patch()
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		st, err := s.consent.UpdateSettings(r.Context(), authOf(r).User.ID, p, channelOf(r))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		w.Header().Add("Vary", "Sec-GPC")
		encode(w, http.StatusOK, settingsJSON(r, st))
	})
}
