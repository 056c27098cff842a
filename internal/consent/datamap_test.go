package consent

import "testing"

func TestDataMapLoads(t *testing.T) {
	m, err := LoadDataMap()
	if err != nil {
		t.Fatal(err)
	}
	// Every purpose the code names is declared.
	for _, p := range []Purpose{PurposeAccount, PurposeSecurity, PurposeRealName, PurposeFaceVerification, PurposePersonalized,
		PurposePreciseLocation, PurposeAlertLocation, PurposeContacts, PurposeMedia, PurposeProgrammaticAds, PurposeMarketingPush,
		PurposeMarketingSMS, PurposeShareVideoPartner, PurposeThirdPartyLogin, PurposeCrossBorderPush} {
		if m.Purpose(p) == nil {
			t.Errorf("purpose %s is not declared in the policy data", p)
		}
	}
	// P05: contacts, precise location, camera/microphone/photos are sensitive
	// and need their own consent.
	for _, p := range []Purpose{PurposeContacts, PurposePreciseLocation, PurposeMedia, PurposeAlertLocation, PurposeRealName, PurposeFaceVerification, PurposeCrossBorderPush} {
		if d := m.Purpose(p); d.Basis != BasisConsent || !d.Sensitive {
			t.Errorf("%s: basis %s sensitive %v; want consent, sensitive", p, d.Basis, d.Sensitive)
		}
	}
	// P02: every purpose and category is described in both languages.
	for _, p := range m.Purposes {
		if p.Name.ZH == "" || p.Name.EN == "" || p.Description.ZH == "" || p.Description.EN == "" {
			t.Errorf("purpose %s lacks a Chinese or English text", p.ID)
		}
	}
	for _, c := range m.Categories {
		if c.Name.ZH == "" || c.Name.EN == "" || c.Retention.Text.ZH == "" || c.Retention.Text.EN == "" {
			t.Errorf("category %s lacks a Chinese or English text", c.ID)
		}
	}
}

func TestDataMapRejectsBrokenDeclarations(t *testing.T) {
	for name, doc := range map[string]string{
		"unknown category":             `{"purposes":[{"id":"a","basis":"necessary","categories":["nope"]}]}`,
		"sensitive necessary":          `{"purposes":[{"id":"a","basis":"necessary","sensitive":true}]}`,
		"undeclared foreign recipient": `{"purposes":[{"id":"a","basis":"consent","recipients":["r"]}],"recipients":[{"id":"r","purpose":"a","region":"US"}]}`,
		// P50: a recipient abroad needs a purpose with its own consent.
		"abroad without separate consent": `{"purposes":[{"id":"a","basis":"consent","recipients":["r"]}],"recipients":[{"id":"r","purpose":"a","region":"global","cross_border":true}]}`,
		"bad field":                       `{"categories":[{"id":"c","retention":{"rule":"account"},"fields":["nocolumn"]}]}`,
		"days without days":               `{"categories":[{"id":"c","retention":{"rule":"days"}}]}`,
		"cookie of no purpose":            `{"cookies":[{"name":"x","purpose":"nope"}]}`,
	} {
		if _, err := parseDataMap([]byte(doc)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
