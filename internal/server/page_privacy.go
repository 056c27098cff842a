package server

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/identity"
)

// The privacy center (/me/privacy): the person's consents with their
// explanations, the privacy settings, the policy in force and any new
// version waiting for acceptance, the consent ledger, and a minor's
// guardian consent. Every decision goes through the same service methods
// as the JSON API (api_consent.go, api_settings.go, api_policy.go,
// api_minors.go); the page only shows and forwards, the rules stay in
// the consent area.

type privacyCenterView struct {
	pageBase
	Necessary []consentRow
	Optional  []consentRow
	// GPC tells that this request carries the Global Privacy Control
	// signal; GPCPurposes names the purposes it pauses.
	GPC         bool
	GPCPurposes string
	Settings    []settingGroup
	SettingsErr formErrors
	Policy      policyBox
	PolicyErr   string
	History     []historyRow
	Guardian    *guardianBox
	GuardianErr formErrors
	// GuardianPhone keeps what was typed after a refused request.
	GuardianPhone string
}

// consentRow is one purpose with the person's state.
type consentRow struct {
	ID          string
	Name        string
	Description string
	Section     string
	Necessary   bool
	Sensitive   bool
	AdultsOnly  bool
	Granted     bool
	GrantedAt   string
	WithdrawnAt string
	// Blocked is why the gate refuses the purpose now though the ledger
	// may allow it (a minor, a policy not accepted yet, GPC); "" when it
	// does not. CanGrant is false when a grant would be refused too.
	Blocked  string
	CanGrant bool
	// Error is the refusal of the decision just tried on this purpose.
	Error string
}

type settingGroup struct {
	Legend string
	Hint   string
	Rows   []settingRow
}

type settingRow struct {
	Field string // the form field, as the JSON field of the settings API
	Label string
	Hint  string
	On    bool
}

type policyBox struct {
	Version   string
	Effective string
	// AcceptedAt is when the person accepted the version in force, ""
	// when unknown (see acceptedAt).
	AcceptedAt string
	Pending    bool
	// PendingVersion and the rest describe the version waiting for the
	// person's acceptance (P72).
	PendingVersion   string
	PendingEffective string
	PendingSummary   string
	// PendingHeld names the purposes paused until the person accepts.
	PendingHeld string
}

type historyRow struct {
	Purpose    string
	PurposeID  string
	Action     string // grant or withdraw
	ActionText string
	At         string
	Version    string
	Channel    string
}

// messageOr is the message for key, or fallback when there is none.
func messageOr(lang, key, fallback string) string {
	if hasMessage(key) {
		return translate(lang, key)
	}
	return fallback
}

type guardianBox struct {
	// Required: under 14 and still without a verified guardian consent.
	Required bool
	Verified string
	Deadline string
	SentTo   string
	SentAt   string
}

// privacyErrText is the message for a refusal: the privacy center words
// the reasons of the gate and the policy and minors rules itself
// (privacy.reason.<reason>); others fall back to errText.
func privacyErrText(lang string, e *yuncan.Error) string {
	if e.Reason != "" && hasMessage("privacy.reason."+e.Reason) {
		return translate(lang, "privacy.reason."+e.Reason)
	}
	return errText(lang, e)
}

// privacyFormErr is formErr with the privacy center's wording of reasons.
func (s *Server) privacyFormErr(r *http.Request, lang string, err error) formErrors {
	fe := s.formErr(r, lang, err)
	if e := yuncan.AsError(err); e.Reason != "" && hasMessage("privacy.reason."+e.Reason) {
		fe.Message = translate(lang, "privacy.reason."+e.Reason)
	}
	return fe
}

// userSubject is the logged-in person as a consent subject.
func userSubject(r *http.Request) consent.Subject { return consent.User(authOf(r).User.ID) }

// newPrivacyCenterView reads everything the page shows. A storage failure
// is returned; refusals of the gate are shown on their purposes.
func (s *Server) newPrivacyCenterView(w http.ResponseWriter, r *http.Request) (*privacyCenterView, error) {
	ctx := r.Context()
	u := authOf(r).User
	sub := consent.User(u.ID)
	v := &privacyCenterView{pageBase: s.newBase(w, r, "privacy.center.title"), GPC: consent.HasGPC(ctx)}
	lang := v.Lang
	dm := s.consent.DataMap()

	states, err := s.consent.List(ctx, sub)
	if err != nil {
		return nil, err
	}
	var gpcNames []string
	for _, st := range states {
		d := dm.Purpose(st.Purpose)
		row := consentRow{ID: string(d.ID), Name: d.Name.In(lang), Description: d.Description.In(lang), Section: d.Section,
			Necessary: d.Basis == consent.BasisNecessary, Sensitive: d.Sensitive, AdultsOnly: d.AdultsOnly, Granted: st.Granted,
			GrantedAt: ledgerTime(st.GrantedAt), WithdrawnAt: ledgerTime(st.WithdrawnAt), CanGrant: true}
		if row.Necessary {
			v.Necessary = append(v.Necessary, row)
			continue
		}
		if d.GPC && v.GPC {
			gpcNames = append(gpcNames, row.Name)
		}
		// Ask the gate itself why it would refuse: the rules stay there.
		if err := s.consent.Require(ctx, sub, d.ID); err != nil {
			e := yuncan.AsError(err)
			switch {
			case e.Code != yuncan.Forbidden:
				return nil, err
			case e.Reason == "consent_required":
				if st.Granted && v.GPC {
					row.Blocked = translate(lang, "privacy.consents.gpc_paused")
				}
			default:
				row.Blocked, row.CanGrant = privacyErrText(lang, e), false
			}
		}
		v.Optional = append(v.Optional, row)
	}
	v.GPCPurposes = strings.Join(gpcNames, listSep(lang))

	st, err := s.consent.Settings(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	v.Settings = settingGroups(lang, st)

	if v.Policy, err = s.policyBox(ctx, lang, u.ID); err != nil {
		return nil, err
	}

	evs, err := s.consent.History(ctx, sub)
	if err != nil {
		return nil, err
	}
	for i := len(evs) - 1; i >= 0; i-- { // newest first
		e := evs[i]
		name := string(e.Purpose)
		if d := dm.Purpose(e.Purpose); d != nil {
			name = d.Name.In(lang)
		}
		v.History = append(v.History, historyRow{
			Purpose: name, PurposeID: string(e.Purpose), Action: string(e.Action), At: ledgerTime(e.At), Version: e.PolicyVersion,
			ActionText: messageOr(lang, "privacy.history.action."+string(e.Action), string(e.Action)),
			Channel:    messageOr(lang, "privacy.history.channel."+string(e.Channel), string(e.Channel)),
		})
	}

	if v.Guardian, err = s.guardianBox(ctx, u); err != nil {
		return nil, err
	}
	return v, nil
}

// ledgerTime shows the time of a decision to the second, in China time:
// a grant and its withdrawal a moment later must not look simultaneous.
func ledgerTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(chinaTime).Format(time.DateTime)
}

// listSep joins names in a sentence.
func listSep(lang string) string {
	if lang == langEN {
		return ", "
	}
	return "、"
}

// settingGroups lays out the seven privacy settings (policy 6.1, 6.2):
// the three about how others find and see the person, then the four that
// are consents.
func settingGroups(lang string, st consent.Settings) []settingGroup {
	row := func(field string, on bool) settingRow {
		return settingRow{Field: field, On: on, Label: translate(lang, "privacy.setting."+field),
			Hint: translate(lang, "privacy.setting."+field+".hint")}
	}
	return []settingGroup{
		{Legend: translate(lang, "privacy.settings.social"), Rows: []settingRow{
			row("recommend_me_to_contacts", st.RecommendMeToContacts),
			row("suggest_people_i_may_know", st.SuggestPeopleIMayKnow),
			row("show_identity_on_share_pages", st.ShowIdentityOnSharePages),
		}},
		{Legend: translate(lang, "privacy.settings.consents"), Hint: translate(lang, "privacy.settings.consents.hint"), Rows: []settingRow{
			row("personalized_recommendations", st.PersonalizedRecommendations),
			row("programmatic_ads", st.ProgrammaticAds),
			row("marketing_push", st.MarketingPush),
			row("marketing_sms", st.MarketingSMS),
		}},
	}
}

// settingsPatchOf reads the settings form. A checkbox is sent only when
// ticked, and the form always shows all seven, so each is set.
func settingsPatchOf(r *http.Request) consent.SettingsPatch {
	on := func(field string) *bool {
		b := r.PostForm.Get(field) != ""
		return &b
	}
	return consent.SettingsPatch{
		RecommendMeToContacts:       on("recommend_me_to_contacts"),
		SuggestPeopleIMayKnow:       on("suggest_people_i_may_know"),
		ShowIdentityOnSharePages:    on("show_identity_on_share_pages"),
		PersonalizedRecommendations: on("personalized_recommendations"),
		ProgrammaticAds:             on("programmatic_ads"),
		MarketingPush:               on("marketing_push"),
		MarketingSMS:                on("marketing_sms"),
	}
}

// policyBox describes the version in force and whether the person has a
// newer one to accept (P72).
func (s *Server) policyBox(ctx context.Context, lang, userID string) (policyBox, error) {
	cur := s.versions.Current()
	b := policyBox{Version: cur.Version, Effective: cur.Effective.UTC().Format(time.DateOnly)}
	p, pending, err := s.versions.Pending(ctx, userID)
	if err != nil {
		return b, err
	}
	if pending {
		b.Pending, b.PendingVersion, b.PendingEffective = true, p.Version, p.Effective.UTC().Format(time.DateOnly)
		b.PendingSummary = p.Summary.In(lang)
		if p.NeedsAcceptance() {
			var names []string
			for _, pu := range p.ChangedPurposes {
				if d := s.consent.DataMap().Purpose(pu); d != nil {
					names = append(names, d.Name.In(lang))
				}
			}
			b.PendingHeld = strings.Join(names, listSep(lang))
		}
		return b, nil
	}
	as, err := s.versions.Acceptances(ctx, userID)
	if err != nil {
		return b, err
	}
	for _, a := range slices.Backward(as) {
		if a.Version == cur.Version {
			b.AcceptedAt = pageTime(a.At)
			break
		}
	}
	return b, nil
}

// guardianBox is the minors part (P70): nil for adults.
func (s *Server) guardianBox(ctx context.Context, u identity.User) (*guardianBox, error) {
	if s.minors == nil || !u.AgeBand.Minor() {
		return nil, nil
	}
	gs, err := s.minors.GuardianStatus(ctx, u)
	if err != nil {
		return nil, err
	}
	b := &guardianBox{}
	if !gs.Required {
		return b, nil
	}
	if !gs.VerifiedAt.IsZero() {
		b.Verified = pageTime(gs.VerifiedAt)
		return b, nil
	}
	b.Required, b.Deadline = true, pageTime(gs.Deadline)
	if gs.GuardianPhone != "" && !gs.RequestedAt.IsZero() {
		b.SentTo, b.SentAt = maskPhone(string(gs.GuardianPhone)), pageTime(gs.RequestedAt)
	}
	return b, nil
}

// renderPrivacyCenter shows the page, after a refused post at its status.
func (s *Server) renderPrivacyCenter(w http.ResponseWriter, r *http.Request, status int, edit func(v *privacyCenterView)) {
	v, err := s.newPrivacyCenterView(w, r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	if edit != nil {
		edit(v)
	}
	s.render(w, r, status, "privacy_center", v)
}

// pagePrivacyCenter shows the privacy center.
func (s *Server) pagePrivacyCenter() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.renderPrivacyCenter(w, r, http.StatusOK, nil)
	})
}

// privacyPurpose returns the declared purpose the path names, or answers
// 404.
func (s *Server) privacyPurpose(w http.ResponseWriter, r *http.Request) (consent.Purpose, bool) {
	p := consent.Purpose(r.PathValue("purpose"))
	if s.consent.DataMap().Purpose(p) == nil {
		s.pageNotFound().ServeHTTP(w, r)
		return "", false
	}
	return p, true
}

// consentFailed shows the page with the refusal beside the purpose.
func (s *Server) consentFailed(w http.ResponseWriter, r *http.Request, p consent.Purpose, err error) {
	e := yuncan.AsError(err)
	status := statusOf(e.Code)
	if status >= 500 {
		s.pageError(w, r, err)
		return
	}
	s.renderPrivacyCenter(w, r, status, func(v *privacyCenterView) {
		msg := privacyErrText(v.Lang, e)
		for _, rows := range [][]consentRow{v.Necessary, v.Optional} {
			for i := range rows {
				if rows[i].ID == string(p) {
					rows[i].Error = msg
				}
			}
		}
	})
}

// purposeAnchor is where a decision sends the person back to: the
// purpose they decided on.
func purposeAnchor(p consent.Purpose) string { return "#purpose-" + string(p) }

// pageConsentGrant grants one purpose, each on its own: a sensitive one
// too is granted by this separate request only (P05).
func (s *Server) pageConsentGrant() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := s.privacyPurpose(w, r)
		if !ok {
			return
		}
		if err := s.consent.Grant(r.Context(), userSubject(r), p, consent.ChannelWeb); err != nil {
			s.consentFailed(w, r, p, err)
			return
		}
		seeOther(w, r, "/me/privacy?ok=consent_granted"+purposeAnchor(p))
	})
}

// pageConsentWithdraw withdraws one purpose; what it let us collect is
// purged by the consent area's hooks (P63). Withdrawing what a second
// click withdrew already is what was asked, so it counts as done.
func (s *Server) pageConsentWithdraw() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := s.privacyPurpose(w, r)
		if !ok {
			return
		}
		err := s.consent.Withdraw(r.Context(), userSubject(r), p, consent.ChannelWeb)
		if err != nil && yuncan.ErrorReason(err) != "not_granted" {
			s.consentFailed(w, r, p, err)
			return
		}
		seeOther(w, r, "/me/privacy?ok=consent_withdrawn"+purposeAnchor(p))
	})
}

// pagePrivacySettingsUpdate saves the settings form (P56 switch, P58,
// P60, P61, P62). The four consent switches are the ledger's own grants
// and withdrawals; a refused form changes nothing.
func (s *Server) pagePrivacySettingsUpdate() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := s.consent.UpdateSettings(r.Context(), authOf(r).User.ID, settingsPatchOf(r), consent.ChannelWeb); err != nil {
			fe := s.privacyFormErr(r, pageReqOf(r).lang, err)
			if fe.Status >= 500 {
				s.pageError(w, r, err)
				return
			}
			s.renderPrivacyCenter(w, r, fe.Status, func(v *privacyCenterView) { v.SettingsErr = fe })
			return
		}
		seeOther(w, r, "/me/privacy?ok=privacy_settings#settings")
	})
}

// pagePolicyAccept accepts the version in force (P72).
func (s *Server) pagePolicyAccept() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.versions.Accept(r.Context(), authOf(r).User.ID, r.PathValue("version"), consent.ChannelWeb); err != nil {
			e := yuncan.AsError(err)
			status := statusOf(e.Code)
			if status >= 500 {
				s.pageError(w, r, err)
				return
			}
			s.renderPrivacyCenter(w, r, status, func(v *privacyCenterView) {
				v.PolicyErr = privacyErrText(v.Lang, e)
				if e.Code == yuncan.NotFound {
					v.PolicyErr = v.T("privacy.policy.no_such_version")
				}
			})
			return
		}
		seeOther(w, r, "/me/privacy?ok=policy_accepted#policy")
	})
}

// guardianFailed shows the page with the minors form's refusal.
func (s *Server) guardianFailed(w http.ResponseWriter, r *http.Request, err error, phone string) {
	fe := s.privacyFormErr(r, pageReqOf(r).lang, err)
	if fe.Status >= 500 {
		s.pageError(w, r, err)
		return
	}
	s.renderPrivacyCenter(w, r, fe.Status, func(v *privacyCenterView) { v.GuardianErr, v.GuardianPhone = fe, phone })
}

// pageGuardianRequest sends a code to the guardian of an account under 14
// (P70), as POST /api/v1/me/guardian does.
func (s *Server) pageGuardianRequest() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		phone := strings.TrimSpace(r.PostForm.Get("guardian_phone"))
		if s.minors == nil {
			s.pageNotFound().ServeHTTP(w, r)
			return
		}
		if _, err := s.minors.RequestGuardian(r.Context(), authOf(r).User, phone, clientIP(r)); err != nil {
			s.guardianFailed(w, r, err, phone)
			return
		}
		seeOther(w, r, "/me/privacy?ok=guardian_sent#minors")
	})
}

// pageGuardianVerify records the guardian's consent with the code the
// guardian received.
func (s *Server) pageGuardianVerify() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.minors == nil {
			s.pageNotFound().ServeHTTP(w, r)
			return
		}
		if _, err := s.minors.VerifyGuardian(r.Context(), authOf(r).User, strings.TrimSpace(r.PostForm.Get("code"))); err != nil {
			s.guardianFailed(w, r, err, "")
			return
		}
		seeOther(w, r, "/me/privacy?ok=guardian_verified#minors")
	})
}
