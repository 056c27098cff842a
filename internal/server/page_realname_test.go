package server

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/yuncan/yuncan/internal/identity"
)

// TestPageRealName: verification on the web, behind its own consent
// (P05), shown only masked (P10); bad numbers are refused and nothing is
// stored; the verification can be deleted.
func TestPageRealName(t *testing.T) {
	t.Parallel()
	e := newPageEnv(t, "")
	ctx := t.Context()
	c, id := pageUser(t, e, "13800138501", identity.RoleUser)
	idNumber := rnID("19900307", "123")

	// P05: without the consent: no form, a link, and a post stores nothing.
	r := c.get("/me/real-name")
	wantStatus(t, "GET /me/real-name", r, http.StatusOK)
	if !strings.Contains(r.Body, `id="realname-consent-off"`) || strings.Contains(r.Body, `id="realname-form"`) {
		t.Error("P05: the page without the consent")
	}
	r = c.submit("/me/real-name", url.Values{"real_name": {"张三"}, "id_number": {idNumber}})
	if r.StatusCode != http.StatusForbidden || !strings.Contains(r.Body, `id="realname-error"`) {
		t.Errorf("P05: verify without the consent: %d", r.StatusCode)
	}
	if st, err := e.ids.RealName(ctx, id); err != nil || st.Verified {
		t.Fatalf("verified without the consent: %+v, %v", st, err)
	}

	if r := c.submit("/me/privacy/consents/real_name/grant", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("grant: %d", r.StatusCode)
	}
	// A wrong check character: refused, the name typed back, the number not.
	bad := idNumber[:17] + map[bool]string{true: "0", false: "1"}[idNumber[17] != '0']
	r = c.submit("/me/real-name", url.Values{"real_name": {"张三"}, "id_number": {bad}})
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Body, `aria-invalid="true" aria-describedby="id_number-error"`) ||
		!strings.Contains(r.Body, `value="张三"`) || strings.Contains(r.Body, bad) {
		t.Errorf("a bad ID number: %d", r.StatusCode)
	}
	if st, _ := e.ids.RealName(ctx, id); st.Verified {
		t.Fatal("a bad ID number was verified")
	}

	r = c.submit("/me/real-name", url.Values{"real_name": {"张三"}, "id_number": {idNumber}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("verify: %d\n%s", r.StatusCode, r.text())
	}
	// P10: shown only masked.
	r = c.get("/me/real-name?ok=real_name_verified")
	if !strings.Contains(r.Body, `id="realname-status"`) || strings.Contains(r.Body, idNumber) || strings.Contains(r.Body, "张三") ||
		!strings.Contains(r.Body, `id="flash-real_name_verified"`) {
		t.Errorf("P10: the verified page shows the name or number in clear, or no status:\n%s", r.text())
	}
	// Publishing now works: the case form no longer asks for it.
	if st, err := e.ids.RealName(ctx, id); err != nil || !st.Verified {
		t.Fatalf("not verified after the form: %+v, %v", st, err)
	}

	if r := c.submit("/me/real-name/delete", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete: %d", r.StatusCode)
	}
	if st, _ := e.ids.RealName(ctx, id); st.Verified {
		t.Error("the verification outlived its deletion")
	}
}
