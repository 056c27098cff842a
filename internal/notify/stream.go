package notify

import (
	"sync"
)

// Broker hands new notifications to the live streams open in this
// process, per subject. A subscriber that falls more than its buffer
// behind is cut off (its channel closed, Lost true) rather than slowing
// delivery: the client reconnects and re-syncs from its last event id.
//
// Several replicas each have their own broker: a stream hears what this
// replica delivered, and catches up on the rest when it reconnects.
type Broker struct {
	buffer int
	mu     sync.Mutex
	subs   map[Subject]map[*Subscription]struct{}
}

// NewBroker returns a broker whose subscribers buffer up to buffer events.
func NewBroker(buffer int) *Broker {
	if buffer < 1 {
		buffer = 1
	}
	return &Broker{buffer: buffer, subs: map[Subject]map[*Subscription]struct{}{}}
}

// Subscription is one open stream's view of a subject's notifications.
type Subscription struct {
	b    *Broker
	sub  Subject
	c    chan Notification
	lost bool // set under b.mu before c is closed
}

// Subscribe opens a subscription for sub.
func (b *Broker) Subscribe(sub Subject) *Subscription {
	s := &Subscription{b: b, sub: sub, c: make(chan Notification, b.buffer)}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.subs[sub] == nil {
		b.subs[sub] = map[*Subscription]struct{}{}
	}
	b.subs[sub][s] = struct{}{}
	return s
}

// Publish hands n to every subscription of its recipient without
// blocking.
func (b *Broker) Publish(n Notification) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs[n.Recipient] {
		select {
		case s.c <- n:
		default:
			s.lost = true
			b.removeLocked(s)
		}
	}
}

// Subscribers counts the open subscriptions of sub (for tests and
// metrics).
func (b *Broker) Subscribers(sub Subject) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs[sub])
}

func (b *Broker) removeLocked(s *Subscription) {
	set := b.subs[s.sub]
	if _, ok := set[s]; !ok {
		return
	}
	delete(set, s)
	if len(set) == 0 {
		delete(b.subs, s.sub)
	}
	close(s.c)
}

// C delivers the subject's new notifications; it is closed when the
// subscription is closed or lost.
func (s *Subscription) C() <-chan Notification { return s.c }

// Lost reports whether the subscriber fell too far behind and was cut
// off; read it after C is closed.
func (s *Subscription) Lost() bool {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	return s.lost
}

// Close ends the subscription; closing twice is harmless.
func (s *Subscription) Close() {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	s.b.removeLocked(s)
}
