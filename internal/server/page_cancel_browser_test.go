package server

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestPageCancelBrowserJourney: P66, issue 5 item 9: in headless Chromium
// a person reads the cancellation conditions without logging in, logs in,
// is refused on a brand-new login, asks for the code a day later, is
// refused without the agreement, cancels, withdraws, cancels again; after
// the cooling-off the job erases the account, and the same browser is
// logged out and cannot get back in with its old session.
func TestPageCancelBrowserJourney(t *testing.T) {
	e := newPageEnv(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	bctx := headlessBrowser(t, ctx, 1000, 1000)
	base := e.srv.URL

	step := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		browserStep(t, bctx, what, steps...)
	}
	text := func(sel string) string {
		t.Helper()
		return browserText(t, bctx, sel)
	}
	const phone = "13800138277"

	step("read the conditions without a login",
		chromedp.Navigate(base+"/privacy/cancellation"),
		chromedp.WaitVisible(chromedp.CSS("#cancel-agreement")),
	)
	if kept := text("#cancel-kept"); !strings.Contains(kept, "audit_log") || !strings.Contains(kept, "Cybersecurity Law") {
		t.Errorf("the kept records are not listed with their basis: %q", kept)
	}
	step("log in",
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.CSS("#phone")),
		chromedp.SendKeys(chromedp.CSS("#phone"), phone),
		chromedp.Click(chromedp.CSS("#send-code")),
		chromedp.WaitVisible(chromedp.CSS("#code-sent")),
	)
	step("with the code",
		chromedp.SendKeys(chromedp.CSS("#code"), e.code("+86"+phone)),
		chromedp.Click(chromedp.CSS("#accept")),
		chromedp.SetValue(chromedp.CSS("#age-band"), "adult"),
		chromedp.Click(chromedp.CSS("#login")),
		chromedp.WaitVisible(chromedp.CSS("#flash-welcome_created")),
	)
	step("a brand-new login may not ask",
		chromedp.Navigate(base+"/me/privacy"),
		chromedp.WaitVisible(chromedp.CSS("#cancel-link a")),
		chromedp.Click(chromedp.CSS("#cancel-link a")),
		chromedp.WaitVisible(chromedp.CSS("#cancel-send")),
		chromedp.Click(chromedp.CSS("#cancel-send")),
		chromedp.WaitVisible(chromedp.CSS("#cancel-error")),
	)
	e.rightsClock.advance(25 * time.Hour)
	step("a day later the code is sent",
		chromedp.Click(chromedp.CSS("#cancel-send")),
		chromedp.WaitVisible(chromedp.CSS("#cancel-sent")),
	)
	code := e.code("+86" + phone)
	step("without the agreement the browser refuses to send the form",
		chromedp.SendKeys(chromedp.CSS("#cancel-code"), code),
		chromedp.Click(chromedp.CSS("#cancel-submit")),
		chromedp.Sleep(300*time.Millisecond),
	)
	if u, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`location.pathname`)); u != "/me/privacy/cancel" {
		t.Fatalf("the form left for %s without the agreement", u)
	}
	step("agree and cancel",
		chromedp.Click(chromedp.CSS("#cancel-agree")),
		chromedp.Click(chromedp.CSS("#cancel-submit")),
		chromedp.WaitVisible(chromedp.CSS("#cancel-pending")),
	)
	step("withdraw during the cooling-off",
		chromedp.Click(chromedp.CSS("#cancel-withdraw")),
		chromedp.WaitVisible(chromedp.CSS("#cancel-withdrawn")),
	)
	step("ask again with a new code",
		chromedp.Click(chromedp.CSS("#cancel-send")),
		chromedp.WaitVisible(chromedp.CSS("#cancel-sent")),
	)
	step("and cancel",
		chromedp.SendKeys(chromedp.CSS("#cancel-code"), e.code("+86"+phone)),
		chromedp.Click(chromedp.CSS("#cancel-agree")),
		chromedp.Click(chromedp.CSS("#cancel-submit")),
		chromedp.WaitVisible(chromedp.CSS("#cancel-pending")),
	)

	// The cooling-off ends; the job erases the account.
	e.rightsClock.advance(7*24*time.Hour + time.Minute)
	if err := e.rights.RunCancellations(context.Background()); err != nil {
		t.Fatal(err)
	}
	step("the old session no longer opens the account",
		chromedp.Navigate(base+"/me"),
		chromedp.WaitVisible(chromedp.CSS("#phone")),
	)
	if u, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`location.pathname`)); u != "/login" {
		t.Errorf("after the erasure /me led to %s", u)
	}
}
