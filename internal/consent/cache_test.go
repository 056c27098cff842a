package consent

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/yuncan/yuncan"
)

var granted = map[Purpose]State{PurposeContacts: {Purpose: PurposeContacts, Granted: true}}

func TestCachePutWithCurrentGeneration(t *testing.T) {
	t.Parallel()
	c, u := newCache(), User("u-1")
	if _, ok := c.get(u); ok {
		t.Fatal("an empty cache has an entry")
	}
	c.put(u, c.generation(), granted)
	if st, ok := c.get(u); !ok || !st[PurposeContacts].Granted {
		t.Fatalf("get after put = %v, %v", st, ok)
	}
	// Kinds are part of the key.
	if _, ok := c.get(Device("u-1")); ok {
		t.Error("the device with the user's id hits the user's entry")
	}
	c.invalidate(u)
	if _, ok := c.get(u); ok {
		t.Error("the entry survived its invalidation")
	}
}

// A read that started before a decision must not put what it read back
// after the decision invalidated the subject.
func TestCacheDropsStalePut(t *testing.T) {
	t.Parallel()
	c, u := newCache(), User("u-1")
	gen := c.generation() // a reader misses and notes the generation
	c.invalidate(u)       // a withdrawal lands meanwhile
	c.put(u, gen, granted)
	if st, ok := c.get(u); ok {
		t.Fatalf("a stale put was kept: %v", st)
	}
	// Any decision, on any subject, makes older reads stale.
	gen = c.generation()
	c.invalidate(User("someone-else"))
	c.put(u, gen, granted)
	if _, ok := c.get(u); ok {
		t.Fatal("a put older than another subject's invalidation was kept")
	}
	// A read that starts after the invalidation is kept.
	c.put(u, c.generation(), granted)
	if _, ok := c.get(u); !ok {
		t.Fatal("a fresh put was dropped")
	}
}

func TestCacheBounded(t *testing.T) {
	t.Parallel()
	c := newCache()
	gen := c.generation()
	for i := range maxCached {
		c.put(Subject{Kind: SubjectDevice, ID: strconv.Itoa(i)}, gen, granted)
	}
	c.put(User("one-more"), gen, granted)
	if n := len(c.entries); n != 1 {
		t.Fatalf("cache holds %d entries past its bound; want a fresh start with 1", n)
	}
}

// The same rule through the service: a Require whose store read raced
// with a Withdraw answers from what it read, but does not leave the
// granted state in the cache for the next Require.
func TestServiceDropsReadRacingWithdraw(t *testing.T) {
	t.Parallel()
	dm, err := LoadDataMap()
	if err != nil {
		t.Fatal(err)
	}
	ctx, u, p := context.Background(), User("u-1"), PurposeContacts
	st := &memStore{}
	svc := NewService(st, dm, func() string { return "v1" }, nil, nil)
	if err := svc.Grant(ctx, u, p, ChannelApp); err != nil {
		t.Fatal(err)
	}

	// The next read takes its snapshot, then waits for the withdrawal.
	read, release := make(chan struct{}), make(chan struct{})
	st.pause(read, release)
	done := make(chan error)
	go func() { done <- svc.Require(ctx, u, p) }()
	<-read
	if err := svc.Withdraw(ctx, u, p, ChannelApp); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("the racing Require (its read predates the withdrawal) = %v", err)
	}
	if err := svc.Require(ctx, u, p); yuncan.ErrorReason(err) != "consent_required" {
		t.Fatalf("Require after the withdrawal = %v; want consent_required (the racing read was cached)", err)
	}
}

// memStore is an in-memory Store for the cache tests; pause makes the
// next LastEvents take its snapshot, signal, and wait.
type memStore struct {
	Store          // nil: the methods the tests here do not use panic
	mu             sync.Mutex
	events         []Event
	last           map[Subject]map[Purpose]Event
	read, released chan struct{}
}

func (m *memStore) pause(read, release chan struct{}) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.read, m.released = read, release
}

func (m *memStore) AppendEvent(ctx context.Context, e Event, prev string, purges []Purge) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.last == nil {
		m.last = map[Subject]map[Purpose]Event{}
	}
	if m.last[e.Subject] == nil {
		m.last[e.Subject] = map[Purpose]Event{}
	}
	if m.last[e.Subject][e.Purpose].ID != prev {
		return yuncan.Errorf(yuncan.Conflict, "moved")
	}
	m.last[e.Subject][e.Purpose] = e
	m.events = append(m.events, e)
	return nil
}

func (m *memStore) LastEvents(ctx context.Context, s Subject) ([]Event, error) {
	m.mu.Lock()
	var out []Event
	for _, e := range m.last[s] {
		out = append(out, e)
	}
	read, release := m.read, m.released
	m.read, m.released = nil, nil
	m.mu.Unlock()
	if read != nil {
		close(read)
		<-release
	}
	return out, nil
}

func (m *memStore) Events(ctx context.Context, s Subject) ([]Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Event
	for _, e := range m.events {
		if e.Subject == s {
			out = append(out, e)
		}
	}
	return out, nil
}

func (m *memStore) LastTimes(ctx context.Context, s Subject) (map[Purpose][2]time.Time, error) {
	return map[Purpose][2]time.Time{}, nil
}

func (m *memStore) PendingPurges(ctx context.Context, limit int) ([]Purge, error) { return nil, nil }

func (m *memStore) FinishPurge(ctx context.Context, id string, at time.Time) error { return nil }

func (m *memStore) RetryPurge(ctx context.Context, id string) error { return nil }
