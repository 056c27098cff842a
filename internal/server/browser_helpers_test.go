package server

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The browser journeys' steps, written once: each step has its own
// deadline, so that a stuck one says where, and what the page showed.
// browserSession (page_seeking_browser_test.go) opens a logged-in tab.

// browserStep runs steps in bc, failing the test with the page's address
// and body when one does not finish within 20 seconds.
func browserStep(t *testing.T, bc context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(bc, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, steps...); err != nil {
		page, _ := chromedp.Run(bc, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerHTML`))
		t.Fatalf("%s: %v\n%s", what, err, page)
	}
}

// browserText reads the text of the element sel finds in bc.
func browserText(t *testing.T, bc context.Context, sel string) string {
	t.Helper()
	v, err := chromedp.Run(bc, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("read %s: %v", sel, err)
	}
	return v
}
