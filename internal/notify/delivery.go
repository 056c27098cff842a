package notify

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"
)

// DeliveryStatus is where a push to one device stands.
type DeliveryStatus string

// Delivery statuses.
const (
	// StatusSending: claimed by a process that is pushing (or died
	// pushing: Resume takes such rows over after the lease).
	StatusSending DeliveryStatus = "sending"
	StatusSent    DeliveryStatus = "sent"
	// StatusFailed: refused for good, or still failing after the last
	// attempt.
	StatusFailed DeliveryStatus = "failed"
	// StatusGone: the token or subscription was no longer valid and has
	// been forgotten.
	StatusGone DeliveryStatus = "gone"
)

// Delivery records the push of one notification to one device: there is
// at most one per pair, so each device is pushed once per notification.
// LastError is a provider code ("410", "429 TooManyRequests", "network"),
// never a token or a message.
type Delivery struct {
	NotificationID string
	DeviceID       string
	Channel        Channel
	Status         DeliveryStatus
	Attempts       int
	LastError      string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// DispatcherConfig tunes the dispatcher; zero fields take the defaults.
type DispatcherConfig struct {
	// MaxAttempts bounds the tries per device (4).
	MaxAttempts int
	// BaseDelay is the first backoff (1 s); each retry doubles it, with
	// jitter, up to MaxDelay (30 s). A provider's Retry-After is honoured
	// up to MaxDelay.
	BaseDelay time.Duration
	MaxDelay  time.Duration
	// Lease is how long a delivery may stay "sending" before Resume
	// assumes its process died (10 minutes).
	Lease time.Duration
	// MarketingAllowed is the consent gate for marketing pushes (P60):
	// it reports whether the subject granted marketing_push. Nil refuses
	// every marketing push.
	MarketingAllowed func(ctx context.Context, sub Subject) (bool, error)
	// CrossBorderAllowed is the consent gate for pushers outside China
	// (CrossBorder, P50): it reports whether the subject granted
	// cross_border_push. Nil refuses every such push; the inbox and the
	// live stream still carry the notification.
	CrossBorderAllowed func(ctx context.Context, sub Subject) (bool, error)
	// Disclose records, in the sharing ledger, a push about sub through a
	// pusher that is a ThirdParty, before it goes (P33); an error refuses
	// the push, which fails with code "not_disclosed". cmd/yuncan wires
	// sharing.Ledger.PushDisclose; nil records nothing.
	Disclose func(ctx context.Context, recipient string, sub Subject, fields []string) error
	// Sleep waits between attempts; nil waits on a timer. Tests pass a
	// fake.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Dispatcher delivers a notification everywhere it should go: the inbox,
// the live streams, and one push to each of the recipient's devices.
type Dispatcher struct {
	inbox   *Inbox
	store   Store
	pushers map[Channel]Pusher
	cfg     DispatcherConfig
	logger  *slog.Logger
}

// NewDispatcher returns a dispatcher pushing through pushers (a channel
// without one is not pushed to).
func NewDispatcher(inbox *Inbox, pushers map[Channel]Pusher, cfg DispatcherConfig, logger *slog.Logger) *Dispatcher {
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = 4
	}
	if cfg.BaseDelay == 0 {
		cfg.BaseDelay = time.Second
	}
	if cfg.MaxDelay == 0 {
		cfg.MaxDelay = 30 * time.Second
	}
	if cfg.Lease == 0 {
		cfg.Lease = 10 * time.Minute
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleep
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Dispatcher{inbox: inbox, store: inbox.store, pushers: pushers, cfg: cfg, logger: logger}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Skip reasons of a Result.
const (
	SkippedConsent  = "consent"
	SkippedShielded = "shielded"
)

// Result is what Dispatch did.
type Result struct {
	Notification Notification
	// Created is false when the recipient had it already (a repeated
	// dispatch); its pushes not done yet are done now.
	Created bool
	// Skipped says why nothing was delivered: SkippedConsent (a marketing
	// push without consent, P60) or SkippedShielded (P56); "" otherwise.
	Skipped string
	// Deliveries are the pushes this call made.
	Deliveries []Delivery
}

// Dispatch delivers n: a marketing push only with consent (P60), nothing
// the recipient shields (P56); then the inbox and live streams, then one
// push per device, retried with backoff. It is idempotent: after a crash,
// dispatch the same notification (same dedupe key) again and only what is
// missing happens.
func (d *Dispatcher) Dispatch(ctx context.Context, n Notification) (Result, error) {
	return d.dispatch(ctx, n, true)
}

// DispatchQuiet is Dispatch without the pushes: the inbox and the live
// streams only, with the same consent gate and shields. The alerts use it
// in quiet hours. Dispatching the same notification again later, by
// either method, finds the first one (and Dispatch pushes it then).
func (d *Dispatcher) DispatchQuiet(ctx context.Context, n Notification) (Result, error) {
	return d.dispatch(ctx, n, false)
}

func (d *Dispatcher) dispatch(ctx context.Context, n Notification, push bool) (Result, error) {
	if err := n.Validate(); err != nil {
		return Result{}, err
	}
	ok, err := d.allowed(ctx, n)
	if err != nil {
		return Result{}, err
	}
	if !ok {
		return Result{Skipped: SkippedConsent}, nil
	}
	shielded, err := d.inbox.shielded(ctx, n.Recipient, n.Kind, n.Data, n.DedupeKey)
	if err != nil {
		return Result{}, err
	}
	if shielded {
		return Result{Skipped: SkippedShielded}, nil
	}
	got, created, err := d.inbox.Deliver(ctx, n)
	if err != nil {
		return Result{}, err
	}
	res := Result{Notification: got, Created: created}
	if !push {
		return res, nil
	}
	res.Deliveries, err = d.pushAll(ctx, got, nil)
	return res, err
}

// allowed is the consent gate: transactional, security and alert
// notifications need none; marketing needs marketing_push (P60).
func (d *Dispatcher) allowed(ctx context.Context, n Notification) (bool, error) {
	if n.Kind != KindMarketing {
		return true, nil
	}
	if d.cfg.MarketingAllowed == nil {
		return false, nil
	}
	ok, err := d.cfg.MarketingAllowed(ctx, n.Recipient)
	if err != nil {
		return false, fmt.Errorf("notify: marketing consent: %w", err)
	}
	return ok, nil
}

// crossBorderAllowed asks the cross-border gate once per notification,
// and only when one of the targets' pushers is abroad.
func (d *Dispatcher) crossBorderAllowed(ctx context.Context, sub Subject, targets []Target) (bool, error) {
	abroad := false
	for _, t := range targets {
		if p := d.pushers[t.channel()]; p != nil && crossesBorder(p) {
			abroad = true
			break
		}
	}
	if !abroad || d.cfg.CrossBorderAllowed == nil {
		return false, nil
	}
	ok, err := d.cfg.CrossBorderAllowed(ctx, sub)
	if err != nil {
		return false, fmt.Errorf("notify: cross-border consent: %w", err)
	}
	return ok, nil
}

// pushAll pushes n to each of its recipient's devices (only those in
// only, when set) that no delivery has claimed, in parallel.
func (d *Dispatcher) pushAll(ctx context.Context, n Notification, only map[string]bool) ([]Delivery, error) {
	targets, err := d.store.PushTargets(ctx, n.Recipient)
	if err != nil {
		return nil, fmt.Errorf("notify: push targets: %w", err)
	}
	p := PayloadOf(n)
	abroad, err := d.crossBorderAllowed(ctx, n.Recipient, targets)
	if err != nil {
		return nil, err
	}
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		out  []Delivery
		errs []error
	)
	for _, t := range targets {
		ch := t.channel()
		pusher := d.pushers[ch]
		if pusher == nil || (only != nil && !only[t.DeviceID]) || (!abroad && crossesBorder(pusher)) {
			continue
		}
		wg.Go(func() {
			dl, err := d.pushOne(ctx, n, t, ch, pusher, p)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			}
			if dl.Status != "" {
				out = append(out, dl)
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return out, errs[0]
	}
	return out, nil
}

// pushOne claims the (notification, device) delivery and, if it got it,
// pushes with retries and records the outcome. A zero Delivery means
// another run has it.
func (d *Dispatcher) pushOne(ctx context.Context, n Notification, t Target, ch Channel, pusher Pusher, p Payload) (Delivery, error) {
	now := d.inbox.now().UTC()
	dl := Delivery{NotificationID: n.ID, DeviceID: t.DeviceID, Channel: ch, Status: StatusSending, CreatedAt: now, UpdatedAt: now}
	claimed, err := d.store.ClaimDelivery(ctx, dl, now.Add(-d.cfg.Lease))
	if err != nil {
		return Delivery{}, fmt.Errorf("notify: claim delivery: %w", err)
	}
	if !claimed {
		return Delivery{}, nil
	}
	if tp, ok := pusher.(ThirdParty); ok && d.cfg.Disclose != nil {
		if err := d.cfg.Disclose(ctx, tp.Recipient(), n.Recipient, tp.Fields()); err != nil {
			d.logger.WarnContext(ctx, "push not disclosed", slog.String("notification_id", n.ID), slog.Any("target", t),
				slog.String("channel", string(ch)), slog.Any("err", err))
			dl.Status, dl.LastError, dl.UpdatedAt = StatusFailed, "not_disclosed", d.inbox.now().UTC()
			if err := d.store.FinishDelivery(context.WithoutCancel(ctx), dl); err != nil {
				return dl, fmt.Errorf("notify: finish delivery: %w", err)
			}
			return dl, nil
		}
	}
	for attempt := 1; ; attempt++ {
		err := pusher.Push(ctx, t, p)
		dl.Attempts = attempt
		if err == nil {
			dl.Status, dl.LastError = StatusSent, ""
			break
		}
		pe := asPushError(ch, err)
		dl.LastError = pe.Code()
		if pe.Gone {
			dl.Status = StatusGone
			d.forget(ctx, t, ch)
			break
		}
		if !pe.Retry || attempt >= d.cfg.MaxAttempts {
			dl.Status = StatusFailed
			break
		}
		delay := max(d.backoff(attempt), min(pe.RetryAfter, d.cfg.MaxDelay))
		if err := d.cfg.Sleep(ctx, delay); err != nil {
			dl.Status = StatusFailed
			break
		}
	}
	if dl.Status != StatusSent {
		d.logger.WarnContext(ctx, "push failed", slog.String("notification_id", n.ID), slog.Any("target", t),
			slog.String("channel", string(ch)), slog.String("status", string(dl.Status)),
			slog.String("code", dl.LastError), slog.Int("attempts", dl.Attempts))
	}
	dl.UpdatedAt = d.inbox.now().UTC()
	// The outcome is recorded even when ctx ended meanwhile (a shutdown):
	// otherwise Resume would push again what was sent.
	if err := d.store.FinishDelivery(context.WithoutCancel(ctx), dl); err != nil {
		return dl, fmt.Errorf("notify: finish delivery: %w", err)
	}
	return dl, nil
}

// backoff is the wait before attempt+1: BaseDelay doubled per attempt,
// capped at MaxDelay, with the upper half jittered so that many devices
// failing together do not retry together.
func (d *Dispatcher) backoff(attempt int) time.Duration {
	b := d.cfg.BaseDelay << min(attempt-1, 20)
	if b <= 0 || b > d.cfg.MaxDelay {
		b = d.cfg.MaxDelay
	}
	half := b / 2
	return half + rand.N(half+1)
}

// forget clears a token or subscription the push service called gone, so
// it is not pushed to again; the app sends a fresh one when it has it.
func (d *Dispatcher) forget(ctx context.Context, t Target, ch Channel) {
	ctx = context.WithoutCancel(ctx)
	var err error
	if ch == ChannelWebPush {
		err = d.store.DeleteWebPush(ctx, t.DeviceID, t.WebPush.Endpoint)
	} else {
		err = d.store.ClearPushToken(ctx, t.DeviceID, t.Token)
	}
	if err != nil {
		d.logger.ErrorContext(ctx, "forgetting a gone push token failed", slog.Any("target", t), slog.Any("err", err))
	}
}

// Resume takes over deliveries whose process died while pushing (still
// "sending" after the lease) and pushes them again: a job.
func (d *Dispatcher) Resume(ctx context.Context) error {
	stale, err := d.store.StaleDeliveries(ctx, d.inbox.now().Add(-d.cfg.Lease), 500)
	if err != nil {
		return fmt.Errorf("notify: resume: %w", err)
	}
	byNotification := map[string]map[string]bool{}
	var order []string
	for _, s := range stale {
		if byNotification[s.NotificationID] == nil {
			byNotification[s.NotificationID] = map[string]bool{}
			order = append(order, s.NotificationID)
		}
		byNotification[s.NotificationID][s.DeviceID] = true
	}
	for _, id := range order {
		n, err := d.store.NotificationByID(ctx, id)
		if err != nil {
			return fmt.Errorf("notify: resume: %w", err)
		}
		devs := byNotification[id]
		if ok, err := d.allowed(ctx, n); err != nil {
			return err
		} else if !ok {
			// Consent was withdrawn meanwhile (P60): close the rows unsent.
			if err := d.abandon(ctx, id, devs, "consent"); err != nil {
				return err
			}
			continue
		}
		done, err := d.pushAll(ctx, n, devs)
		if err != nil {
			return err
		}
		for _, dl := range done {
			delete(devs, dl.DeviceID)
		}
		// What is left has no push channel any more (token cleared,
		// device logged out): close it, or it would be resumed forever.
		if err := d.abandon(ctx, id, devs, "no_target"); err != nil {
			return err
		}
	}
	return nil
}

// abandon closes stale deliveries as failed with code, each only if this
// run can claim it (another process may have taken it over meanwhile).
func (d *Dispatcher) abandon(ctx context.Context, notificationID string, devices map[string]bool, code string) error {
	now := d.inbox.now().UTC()
	for dev := range devices {
		dl := Delivery{NotificationID: notificationID, DeviceID: dev, Status: StatusSending, CreatedAt: now, UpdatedAt: now}
		claimed, err := d.store.ClaimDelivery(ctx, dl, now.Add(-d.cfg.Lease))
		if err != nil {
			return fmt.Errorf("notify: resume: %w", err)
		}
		if !claimed {
			continue
		}
		dl.Status, dl.LastError = StatusFailed, code
		if err := d.store.FinishDelivery(ctx, dl); err != nil {
			return fmt.Errorf("notify: resume: %w", err)
		}
	}
	return nil
}

// VAPIDPublicKey is the key browsers subscribe with; "" when Web Push is
// not set up.
func (d *Dispatcher) VAPIDPublicKey() string {
	if wp, ok := d.pushers[ChannelWebPush].(interface{ PublicKey() string }); ok {
		return wp.PublicKey()
	}
	return ""
}

// SaveWebPush stores the browser subscription of a device, replacing any
// it had. Invalid when the subscription is malformed, NotFound when the
// device is gone.
func (d *Dispatcher) SaveWebPush(ctx context.Context, deviceID string, s WebPushSubscription) error {
	if err := s.Validate(); err != nil {
		return err
	}
	return d.store.SaveWebPush(ctx, deviceID, s, d.inbox.now().UTC())
}

// DeleteWebPush forgets the browser subscription of a device (the page
// unsubscribed).
func (d *Dispatcher) DeleteWebPush(ctx context.Context, deviceID string) error {
	return d.store.DeleteWebPush(ctx, deviceID, "")
}
