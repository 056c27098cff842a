package server

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/yuncan/yuncan/internal/storetest"
)

// TestPageDisclosuresBrowserJourney: P33, issue 5 item 6: in headless
// Chromium a person signs up through the login page — the code goes out
// through the real SMS adapter to the provider — opens the privacy
// center, follows "who received my data" and finds the SMS provider
// there, with the number and the code by name and the basis in words.
func TestPageDisclosuresBrowserJourney(t *testing.T) {
	e := newSharingEnv(t, storetest.Targets(t)[0])
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	bctx := headlessBrowser(t, ctx, 1000, 1000)
	base := e.ts.URL
	step := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		browserStep(t, bctx, what, steps...)
	}
	phone := apiPhone()

	step("ask for a code on the login page",
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.CSS("#phone")),
		chromedp.SendKeys(chromedp.CSS("#phone"), phone),
		chromedp.Click(chromedp.CSS("#send-code")),
		chromedp.WaitVisible(chromedp.CSS("#code-sent")),
	)
	e.mu.Lock()
	code := e.codes[phone]
	e.mu.Unlock()
	if code == "" {
		t.Fatal("the code did not reach the SMS provider")
	}
	step("sign up with it",
		chromedp.SendKeys(chromedp.CSS("#code"), code),
		chromedp.Click(chromedp.CSS("#accept")),
		chromedp.SetValue(chromedp.CSS("#age-band"), "adult"),
		chromedp.Click(chromedp.CSS("#login")),
		chromedp.WaitVisible(chromedp.CSS("#flash-welcome_created")),
	)
	step("open who received my data from the privacy center",
		chromedp.Navigate(base+"/me/privacy"),
		chromedp.WaitVisible(chromedp.CSS("#disclosures-link a")),
		chromedp.Click(chromedp.CSS("#disclosures-link a")),
		chromedp.WaitVisible(chromedp.CSS("#disclosures")),
	)
	table, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("#disclosures tbody")))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"短信服务商（阿里云短信）", "注册、登录与账号", "手机号、验证码", "第十三条"} {
		if !strings.Contains(table, want) {
			t.Errorf("the ledger shows %q, without %q", table, want)
		}
	}
	if rows, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll("#disclosures tbody tr").length`)); err != nil || rows != 1 {
		t.Fatalf("%d rows, %v; want the one code", rows, err)
	}
}
