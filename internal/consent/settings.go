package consent

import (
	"context"
	"fmt"
	"time"

	"github.com/yuncan/yuncan"
)

// Privacy settings (policy 6.1, 6.2): the switches a person finds under
// "my → system settings". Four of them are consents and live only in the
// ledger, read and written through the gate's own Grant and Withdraw, so
// that a switch and a consent can never disagree. The other three are not
// about processing for a purpose but about how others may find and see
// the person; they are SocialSettings, kept by a SettingsStore.

// SocialSettings are the settings kept apart from the ledger.
type SocialSettings struct {
	// RecommendMeToContacts lets the account be recommended to people who
	// have its phone number in their contacts (P61, 6.2.1a).
	RecommendMeToContacts bool
	// SuggestPeopleIMayKnow lets the account be shown "people you may
	// know" (P61, 6.2.1a).
	SuggestPeopleIMayKnow bool
	// ShowIdentityOnSharePages shows the avatar and nickname beside the
	// account's content on share pages; off, a placeholder shows (P62,
	// 6.2.1b).
	ShowIdentityOnSharePages bool
	// UpdatedAt is when the person last changed one; zero while the
	// defaults apply.
	UpdatedAt time.Time
}

// DefaultSocialSettings are a new account's settings. Both friend
// recommendations start off: being found through one's phone number, and
// being shown people one may know, rest on contact data the person has
// not chosen to use that way, so they wait for an opt-in (P61). Showing
// the avatar and nickname on share pages starts on: they are the public
// profile already shown beside everything the person publishes (P15), so
// a share page reveals nothing new; turning it off hides them there
// (P62).
func DefaultSocialSettings() SocialSettings {
	return SocialSettings{RecommendMeToContacts: false, SuggestPeopleIMayKnow: false, ShowIdentityOnSharePages: true}
}

// Settings are all of a person's privacy settings. The four consent
// fields are the person's choice as the ledger holds it; whether the gate
// is open right now (it also weighs the browser's Global Privacy Control
// signal and age) is Require's answer, which every processing path asks.
type Settings struct {
	SocialSettings
	// PersonalizedRecommendations is consent to PurposePersonalized
	// (P56 switch): off, the feed is not personalised.
	PersonalizedRecommendations bool
	// ProgrammaticAds is consent to PurposeProgrammaticAds (P58): off,
	// as many ads show, chosen from context only.
	ProgrammaticAds bool
	// MarketingPush is consent to PurposeMarketingPush (P60).
	MarketingPush bool
	// MarketingSMS is consent to PurposeMarketingSMS (P60).
	MarketingSMS bool
}

// SettingsPatch changes some settings: a nil field stays as it is.
type SettingsPatch struct {
	RecommendMeToContacts       *bool
	SuggestPeopleIMayKnow       *bool
	ShowIdentityOnSharePages    *bool
	PersonalizedRecommendations *bool
	ProgrammaticAds             *bool
	MarketingPush               *bool
	MarketingSMS                *bool
}

// consentSettings ties each consent-backed setting to its purpose: the
// one place that says which switch is which consent.
func (p SettingsPatch) consentSettings() []consentSetting {
	return []consentSetting{
		{PurposePersonalized, p.PersonalizedRecommendations},
		{PurposeProgrammaticAds, p.ProgrammaticAds},
		{PurposeMarketingPush, p.MarketingPush},
		{PurposeMarketingSMS, p.MarketingSMS},
	}
}

type consentSetting struct {
	purpose Purpose
	on      *bool
}

func (st *Settings) setConsent(p Purpose, on bool) {
	switch p {
	case PurposePersonalized:
		st.PersonalizedRecommendations = on
	case PurposeProgrammaticAds:
		st.ProgrammaticAds = on
	case PurposeMarketingPush:
		st.MarketingPush = on
	case PurposeMarketingSMS:
		st.MarketingSMS = on
	}
}

// SettingsStore keeps the social settings; it is part of Store.
type SettingsStore interface {
	// SocialSettings returns the account's saved settings; NotFound when
	// it never changed them (the defaults apply).
	SocialSettings(ctx context.Context, userID string) (SocialSettings, error)
	// SaveSocialSettings creates or replaces the account's settings.
	// NotFound when the account does not exist.
	SaveSocialSettings(ctx context.Context, userID string, st SocialSettings) error
}

// Settings returns the account's privacy settings: the defaults until it
// changes them, and the ledger's state for the four that are consents.
// Areas that recommend people or render share pages read the social
// settings here (P61, P62).
func (s *Service) Settings(ctx context.Context, userID string) (Settings, error) {
	st, _, err := s.settings(ctx, userID)
	return st, err
}

// settings also tells whether the social settings were ever saved.
func (s *Service) settings(ctx context.Context, userID string) (Settings, bool, error) {
	saved := true
	soc, err := s.store.SocialSettings(ctx, userID)
	switch {
	case yuncan.ErrorCode(err) == yuncan.NotFound:
		soc, saved = DefaultSocialSettings(), false
	case err != nil:
		return Settings{}, false, fmt.Errorf("consent: settings of %s: %w", userID, err)
	}
	states, err := s.states(ctx, User(userID))
	if err != nil {
		return Settings{}, false, err
	}
	out := Settings{SocialSettings: soc}
	for _, c := range (SettingsPatch{}).consentSettings() {
		out.setConsent(c.purpose, states[c.purpose].Granted)
	}
	return out, saved, nil
}

// UpdateSettings applies a patch and returns the settings after it. The
// consent-backed fields are granted or withdrawn in the ledger through ch;
// asking for what already holds changes nothing (no event).
//
// A patch applies whole or not at all for every refusal that can be
// known in advance: each grant is checked (the purpose, the gate's
// restrictions such as a minor's) before anything is written. Then the
// grants go first, being what could still be refused, the withdrawals
// next, and the social settings last.
func (s *Service) UpdateSettings(ctx context.Context, userID string, p SettingsPatch, ch Channel) (Settings, error) {
	cur, saved, err := s.settings(ctx, userID)
	if err != nil {
		return Settings{}, err
	}
	sub := User(userID)
	var grants, withdrawals []Purpose
	for _, c := range p.consentSettings() {
		if c.on == nil {
			continue
		}
		was := cur.consent(c.purpose)
		switch {
		case *c.on && !was:
			grants = append(grants, c.purpose)
		case !*c.on && was:
			withdrawals = append(withdrawals, c.purpose)
		}
	}
	for _, pu := range grants {
		if err := s.checkGrant(ctx, sub, pu); err != nil {
			return Settings{}, err
		}
	}

	// A social setting the person sets is saved even when it equals the
	// default, so that a later change of the defaults leaves their
	// choice alone.
	soc := cur.SocialSettings
	save := false
	for _, f := range []struct {
		to  *bool
		dst *bool
	}{
		{p.RecommendMeToContacts, &soc.RecommendMeToContacts},
		{p.SuggestPeopleIMayKnow, &soc.SuggestPeopleIMayKnow},
		{p.ShowIdentityOnSharePages, &soc.ShowIdentityOnSharePages},
	} {
		if f.to != nil && (*f.to != *f.dst || !saved) {
			*f.dst, save = *f.to, true
		}
	}

	for _, pu := range grants {
		if err := s.Grant(ctx, sub, pu, ch); err != nil {
			return Settings{}, err
		}
	}
	for _, pu := range withdrawals {
		err := s.Withdraw(ctx, sub, pu, ch)
		// A concurrent withdrawal got there first: the switch is off,
		// which is what was asked.
		if err != nil && yuncan.ErrorReason(err) != "not_granted" {
			return Settings{}, err
		}
	}
	if save {
		soc.UpdatedAt = s.now().UTC()
		if err := s.store.SaveSocialSettings(ctx, userID, soc); err != nil {
			return Settings{}, fmt.Errorf("consent: save settings of %s: %w", userID, err)
		}
	}
	return s.Settings(ctx, userID)
}

func (st Settings) consent(p Purpose) bool {
	switch p {
	case PurposePersonalized:
		return st.PersonalizedRecommendations
	case PurposeProgrammaticAds:
		return st.ProgrammaticAds
	case PurposeMarketingPush:
		return st.MarketingPush
	case PurposeMarketingSMS:
		return st.MarketingSMS
	}
	return false
}

// checkGrant refuses, before anything is written, a grant that Grant
// would refuse for a reason known now: an undeclared or necessary
// purpose, or a restriction of the gate (a minor and an adults-only
// purpose), asked through Grant's own check. GPC is not one: it is a
// signal of this request, not a refusal of the person's choice.
func (s *Service) checkGrant(ctx context.Context, sub Subject, p Purpose) error {
	d, err := s.decl(p)
	if err != nil {
		return err
	}
	if d.Basis == BasisNecessary {
		return yuncan.Errorf(yuncan.Invalid, "%s needs no separate consent", p).WithReason("purpose_necessary")
	}
	return s.grantRestricted(ctx, sub, d)
}

// HasGPC reports whether ctx carries the browser's Global Privacy Control
// signal (see WithGPC).
func HasGPC(ctx context.Context) bool { return gpcFrom(ctx) }
