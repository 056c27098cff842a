package notify

import (
	"testing"
	"time"
)

func TestBrokerPerSubject(t *testing.T) {
	b := NewBroker(4)
	u1, u2 := User("u-1"), User("u-2")
	a, a2, other := b.Subscribe(u1), b.Subscribe(u1), b.Subscribe(u2)
	b.Publish(Notification{ID: "n-1", Recipient: u1})
	b.Publish(Notification{ID: "n-2", Recipient: Device("u-1")})
	for _, s := range []*Subscription{a, a2} {
		if n := <-s.C(); n.ID != "n-1" {
			t.Errorf("got %s, want n-1", n.ID)
		}
	}
	select {
	case n := <-other.C():
		t.Errorf("another subject's stream got %s", n.ID)
	case n := <-a.C():
		t.Errorf("a device's notification reached the account's stream: %s", n.ID)
	default:
	}
	a.Close()
	a.Close() // twice is harmless
	if _, open := <-a.C(); open {
		t.Error("a closed subscription's channel is open")
	}
	if a.Lost() {
		t.Error("a closed subscription reports lost")
	}
	if n := b.Subscribers(u1); n != 1 {
		t.Errorf("Subscribers = %d after one closed, want 1", n)
	}
	a2.Close()
	other.Close()
	if n := b.Subscribers(u1) + b.Subscribers(u2); n != 0 {
		t.Errorf("Subscribers = %d after all closed", n)
	}
}

// A subscriber that falls behind is cut off, not waited for.
func TestBrokerCutsOffSlowSubscribers(t *testing.T) {
	b := NewBroker(2)
	u := User("u-1")
	slow, fast := b.Subscribe(u), b.Subscribe(u)
	for i := range 3 {
		b.Publish(Notification{ID: string(rune('a' + i)), Recipient: u})
		if i < 2 {
			<-fast.C()
		}
	}
	got := 0
	for range slow.C() {
		got++
	}
	if got != 2 || !slow.Lost() {
		t.Errorf("slow subscriber got %d then lost=%v; want 2 buffered, then cut off", got, slow.Lost())
	}
	if n := <-fast.C(); n.ID != "c" || fast.Lost() {
		t.Errorf("the keeping-up subscriber got %q, lost=%v", n.ID, fast.Lost())
	}
	slow.Close() // after being cut off: harmless
	if n := b.Subscribers(u); n != 1 {
		t.Errorf("Subscribers = %d, want 1", n)
	}
}

func TestPositionRoundTrip(t *testing.T) {
	for _, p := range []Position{{}, {At: alertTime, ID: "0190a5b2-0000-7000-8000-000000000001"}, {At: alertTime}} {
		got, err := ParsePosition(p.String())
		if err != nil || !got.At.Equal(p.At) || got.ID != p.ID {
			t.Errorf("ParsePosition(%q) = %v, %v; want %v", p.String(), got, err, p)
		}
	}
	if p, err := ParsePosition(""); err != nil || !p.IsZero() {
		t.Errorf(`ParsePosition("") = %v, %v`, p, err)
	}
	for _, bad := range []string{"!", "AAAA", "AAAAAAAAAAA=", string(make([]byte, 200))} {
		if _, err := ParsePosition(bad); err == nil {
			t.Errorf("ParsePosition(%q) accepted", bad)
		}
	}
}

func FuzzParsePosition(f *testing.F) {
	f.Add("")
	f.Add(Position{At: alertTime, ID: "n-1"}.String())
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePosition(s)
		if err != nil {
			return
		}
		if again, err := ParsePosition(p.String()); err != nil || !again.At.Equal(p.At) || again.ID != p.ID {
			t.Errorf("%q: round trip gave %v, %v", s, again, err)
		}
	})
}

var alertTime = time.Date(2025, 3, 1, 8, 30, 0, 123456789, time.UTC)
