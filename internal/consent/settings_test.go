package consent_test

import (
	"context"
	"testing"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/identity"
)

// newAccount creates an account row (privacy settings reference it).
func newAccount(t *testing.T, f *fixture, id string) string {
	t.Helper()
	now := f.clock.Now()
	u := identity.UserRecord{ID: id, PhoneSealed: "k1:sealed-" + id, PhoneIndex: "idx-" + id, Role: identity.RoleUser,
		Nickname: "user " + id, CreatedAt: now, UpdatedAt: now}
	mustNil(t, "CreateUser", f.db.Identity().CreateUser(context.Background(), u, identity.PolicyAcceptance{}))
	return id
}

func settingsOf(t *testing.T, svc *consent.Service, userID string) consent.Settings {
	t.Helper()
	st, err := svc.Settings(context.Background(), userID)
	if err != nil {
		t.Fatalf("Settings: %v", err)
	}
	return st
}

func on() *bool  { b := true; return &b }
func off() *bool { b := false; return &b }

// P61, P62: a new account is not recommended to anyone and gets no
// suggestions until it opts in; its share pages show its public profile;
// no optional consent is on (P01).
func TestSettingsDefaults(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		u := newAccount(t, f, "u-1")
		want := consent.Settings{SocialSettings: consent.DefaultSocialSettings()}
		if got := settingsOf(t, f.svc, u); got != want {
			t.Errorf("a new account's settings = %+v; want %+v", got, want)
		}
		if d := consent.DefaultSocialSettings(); d.RecommendMeToContacts || d.SuggestPeopleIMayKnow || !d.ShowIdentityOnSharePages {
			t.Errorf("defaults = %+v; want recommend off, suggest off, show identity on", d)
		}
		if evs := history(t, f.svc, consent.User(u)); len(evs) != 0 {
			t.Errorf("reading the settings wrote %d ledger events", len(evs))
		}
	})
}

// P61, P62: each social switch turns on and off again, alone, and is kept.
func TestSettingsSocialSwitches(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		ctx, u := context.Background(), newAccount(t, f, "u-1")
		for _, sw := range []struct {
			name  string
			patch func(*bool) consent.SettingsPatch
			field func(*consent.Settings) *bool
		}{
			{"recommend_me_to_contacts", func(b *bool) consent.SettingsPatch { return consent.SettingsPatch{RecommendMeToContacts: b} },
				func(s *consent.Settings) *bool { return &s.RecommendMeToContacts }},
			{"suggest_people_i_may_know", func(b *bool) consent.SettingsPatch { return consent.SettingsPatch{SuggestPeopleIMayKnow: b} },
				func(s *consent.Settings) *bool { return &s.SuggestPeopleIMayKnow }},
			{"show_identity_on_share_pages", func(b *bool) consent.SettingsPatch { return consent.SettingsPatch{ShowIdentityOnSharePages: b} },
				func(s *consent.Settings) *bool { return &s.ShowIdentityOnSharePages }},
		} {
			before := settingsOf(t, f.svc, u)
			start := *sw.field(&before)
			f.clock.Advance(time.Second)
			got, err := f.svc.UpdateSettings(ctx, u, sw.patch(ptr(!start)), consent.ChannelApp)
			mustNil(t, sw.name, err)
			want := before
			*sw.field(&want) = !start
			want.UpdatedAt = f.clock.Now().UTC()
			if got != want {
				t.Errorf("%s flipped: got %+v; want %+v", sw.name, got, want)
			}
			// A fresh service (as after a restart) reads the same.
			if again := settingsOf(t, f.newService(), u); again != want {
				t.Errorf("%s flipped, read again: %+v; want %+v", sw.name, again, want)
			}
			// Reversible (P61).
			back, err := f.svc.UpdateSettings(ctx, u, sw.patch(ptr(start)), consent.ChannelApp)
			mustNil(t, sw.name+" back", err)
			if *sw.field(&back) != start {
				t.Errorf("%s set back to %v: %+v", sw.name, start, back)
			}
		}
		if evs := history(t, f.svc, consent.User(u)); len(evs) != 0 {
			t.Errorf("social switches wrote %d consent events; they are not consents", len(evs))
		}
	})
}

func ptr(b bool) *bool { return &b }

// P56 switch, P58, P60: the four consent-backed switches are the ledger:
// turning one on grants the purpose through the channel, off withdraws it,
// and a grant made elsewhere shows in the settings. One rule, one place.
func TestSettingsConsentSwitchesAreTheLedger(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		ctx, u := context.Background(), newAccount(t, f, "u-1")
		sub := consent.User(u)
		for _, sw := range []struct {
			p     consent.Purpose
			patch func(*bool) consent.SettingsPatch
			get   func(consent.Settings) bool
		}{
			{consent.PurposePersonalized, func(b *bool) consent.SettingsPatch { return consent.SettingsPatch{PersonalizedRecommendations: b} },
				func(s consent.Settings) bool { return s.PersonalizedRecommendations }},
			{consent.PurposeProgrammaticAds, func(b *bool) consent.SettingsPatch { return consent.SettingsPatch{ProgrammaticAds: b} },
				func(s consent.Settings) bool { return s.ProgrammaticAds }},
			{consent.PurposeMarketingPush, func(b *bool) consent.SettingsPatch { return consent.SettingsPatch{MarketingPush: b} },
				func(s consent.Settings) bool { return s.MarketingPush }},
			{consent.PurposeMarketingSMS, func(b *bool) consent.SettingsPatch { return consent.SettingsPatch{MarketingSMS: b} },
				func(s consent.Settings) bool { return s.MarketingSMS }},
		} {
			// The ledger orders by time; the clock moves on so that
			// this purpose's events come after the last one's.
			f.clock.Advance(time.Second)
			n := len(history(t, f.svc, sub))
			got, err := f.svc.UpdateSettings(ctx, u, sw.patch(on()), consent.ChannelWeb)
			mustNil(t, "switch on "+string(sw.p), err)
			if !sw.get(got) {
				t.Errorf("%s switched on, settings say off", sw.p)
			}
			mustNil(t, "Require after switching on", f.svc.Require(ctx, sub, sw.p))
			evs := history(t, f.svc, sub)
			if len(evs) != n+1 {
				t.Fatalf("%s switched on: %d new events; want 1", sw.p, len(evs)-n)
			}
			if e := evs[n]; e.Purpose != sw.p || e.Action != consent.Grant || e.Channel != consent.ChannelWeb {
				t.Errorf("%s switched on: event %+v", sw.p, e)
			}
			// On again: nothing new.
			_, err = f.svc.UpdateSettings(ctx, u, sw.patch(on()), consent.ChannelWeb)
			mustNil(t, "switch on twice", err)
			if len(history(t, f.svc, sub)) != n+1 {
				t.Errorf("%s switched on twice wrote a second event", sw.p)
			}

			got, err = f.svc.UpdateSettings(ctx, u, sw.patch(off()), consent.ChannelApp)
			mustNil(t, "switch off "+string(sw.p), err)
			if sw.get(got) {
				t.Errorf("%s switched off, settings say on", sw.p)
			}
			wantRefused(t, "Require after switching off", f.svc.Require(ctx, sub, sw.p), sw.p)
			if st := stateOf(t, f.svc, sub, sw.p); st.Granted || st.WithdrawnAt.IsZero() {
				t.Errorf("%s switched off: ledger state %+v", sw.p, st)
			}
			// Off when off is no conflict, and writes nothing.
			_, err = f.svc.UpdateSettings(ctx, u, sw.patch(off()), consent.ChannelApp)
			mustNil(t, "switch off twice", err)
			if len(history(t, f.svc, sub)) != n+2 {
				t.Errorf("%s switched off twice wrote another event", sw.p)
			}

			// A grant through the consent API shows in the settings.
			mustNil(t, "Grant", f.svc.Grant(ctx, sub, sw.p, consent.ChannelAPI))
			if !sw.get(settingsOf(t, f.svc, u)) {
				t.Errorf("%s granted directly, settings say off", sw.p)
			}
			mustNil(t, "Withdraw", f.svc.Withdraw(ctx, sub, sw.p, consent.ChannelAPI))
		}
		// The social settings were not touched, so nothing was saved.
		if _, err := f.store.SocialSettings(ctx, u); yuncan.ErrorCode(err) != yuncan.NotFound {
			t.Errorf("consent switches saved social settings (err %v)", err)
		}
	})
}

// A switch set to its default value is saved, so that a later change of
// the defaults leaves the person's choice alone.
func TestSettingsExplicitDefaultIsKept(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		ctx, u := context.Background(), newAccount(t, f, "u-1")
		_, err := f.svc.UpdateSettings(ctx, u, consent.SettingsPatch{ShowIdentityOnSharePages: on()}, consent.ChannelApp)
		mustNil(t, "UpdateSettings", err)
		saved, err := f.store.SocialSettings(ctx, u)
		mustNil(t, "SocialSettings", err)
		if want := consent.DefaultSocialSettings(); saved.RecommendMeToContacts != want.RecommendMeToContacts ||
			saved.SuggestPeopleIMayKnow != want.SuggestPeopleIMayKnow || !saved.ShowIdentityOnSharePages || saved.UpdatedAt.IsZero() {
			t.Errorf("saved %+v", saved)
		}
		// An empty patch changes nothing and writes nothing.
		f.clock.Advance(time.Minute)
		got, err := f.svc.UpdateSettings(ctx, u, consent.SettingsPatch{}, consent.ChannelApp)
		mustNil(t, "empty patch", err)
		if got.SocialSettings != saved {
			t.Errorf("after an empty patch %+v; want %+v", got.SocialSettings, saved)
		}
	})
}

// A patch is all or nothing when a grant is refused for a reason known in
// advance (here a restriction standing in for a minor's: adults-only
// purposes stay off). The refusal comes back, and nothing changed.
func TestSettingsRefusedPatchChangesNothing(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		ctx, u := context.Background(), newAccount(t, f, "u-1")
		mustNil(t, "Grant marketing SMS", f.svc.Grant(ctx, consent.User(u), consent.PurposeMarketingSMS, consent.ChannelApp))
		refusal := yuncan.Errorf(yuncan.Forbidden, "not for minors").WithReason("minor_restricted")
		f.svc.Restrict(func(ctx context.Context, sub consent.Subject, d *consent.PurposeDecl) error {
			if d.AdultsOnly {
				return refusal
			}
			return nil
		})
		before := settingsOf(t, f.svc, u)
		n := len(history(t, f.svc, consent.User(u)))

		_, err := f.svc.UpdateSettings(ctx, u, consent.SettingsPatch{
			RecommendMeToContacts:       on(),
			ShowIdentityOnSharePages:    off(),
			PersonalizedRecommendations: on(),  // allowed on its own
			MarketingSMS:                off(), // a withdrawal
			ProgrammaticAds:             on(),  // refused
		}, consent.ChannelApp)
		wantCode(t, "patch with an adults-only grant", err, yuncan.Forbidden, "minor_restricted")
		if after := settingsOf(t, f.svc, u); after != before {
			t.Errorf("a refused patch changed the settings: %+v; was %+v", after, before)
		}
		if evs := history(t, f.svc, consent.User(u)); len(evs) != n {
			t.Errorf("a refused patch wrote %d ledger events", len(evs)-n)
		}
		if _, err := f.store.SocialSettings(ctx, u); yuncan.ErrorCode(err) != yuncan.NotFound {
			t.Errorf("a refused patch saved social settings (err %v)", err)
		}
		// Turning an adults-only purpose off is never refused.
		got, err := f.svc.UpdateSettings(ctx, u, consent.SettingsPatch{MarketingSMS: off()}, consent.ChannelApp)
		mustNil(t, "switch marketing SMS off", err)
		if got.MarketingSMS {
			t.Error("marketing SMS still on")
		}
	})
}

// P31: under the Global Privacy Control signal the settings still show
// the person's choice, while the gate refuses the gpc purposes.
func TestSettingsUnderGPC(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		ctx, u := context.Background(), newAccount(t, f, "u-1")
		gpc := consent.WithGPC(ctx)
		if consent.HasGPC(ctx) || !consent.HasGPC(gpc) {
			t.Fatal("HasGPC does not tell the signal")
		}
		// Switching ads on under GPC records the choice; the gate still
		// refuses while the signal is sent.
		got, err := f.svc.UpdateSettings(gpc, u, consent.SettingsPatch{ProgrammaticAds: on()}, consent.ChannelWeb)
		mustNil(t, "switch ads on under GPC", err)
		if !got.ProgrammaticAds {
			t.Error("settings under GPC hide the stored choice")
		}
		wantRefused(t, "Require ads under GPC", f.svc.Require(gpc, consent.User(u), consent.PurposeProgrammaticAds), consent.PurposeProgrammaticAds)
		mustNil(t, "Require ads without GPC", f.svc.Require(ctx, consent.User(u), consent.PurposeProgrammaticAds))
	})
}

// The social settings belong to an account: a patch for none is NotFound.
func TestSettingsOfNoAccount(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		_, err := f.svc.UpdateSettings(context.Background(), "nobody", consent.SettingsPatch{RecommendMeToContacts: on()}, consent.ChannelApp)
		if yuncan.ErrorCode(err) != yuncan.NotFound {
			t.Errorf("UpdateSettings for no account: %v; want NotFound", err)
		}
	})
}
