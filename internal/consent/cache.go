package consent

import (
	"context"
	"sync"
)

// cache keeps each subject's consent states in memory. A decision
// invalidates the subject's entry and bumps the generation, so a read
// that raced with any decision cannot put stale states back. In the
// embedded mode every reader is in this process, so a withdrawal closes
// the gate everywhere at once.
type cache struct {
	mu      sync.Mutex
	entries map[Subject]map[Purpose]State
	gen     uint64
}

// maxCached bounds the cache; past it the cache starts afresh.
const maxCached = 100_000

func newCache() *cache { return &cache{entries: map[Subject]map[Purpose]State{}} }

func (c *cache) get(s Subject) (map[Purpose]State, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st, ok := c.entries[s]
	return st, ok
}

func (c *cache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

func (c *cache) put(s Subject, gen uint64, st map[Purpose]State) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if len(c.entries) >= maxCached {
		c.entries = map[Subject]map[Purpose]State{}
	}
	c.entries[s] = st
}

func (c *cache) invalidate(s Subject) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, s)
	c.gen++
}

func (c *cache) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries = map[Subject]map[Purpose]State{}
	c.gen++
}

type gpcKey struct{}

// WithGPC marks ctx as carrying the browser's Global Privacy Control
// signal (Sec-GPC: 1), which refuses the purposes declared "gpc".
func WithGPC(ctx context.Context) context.Context { return context.WithValue(ctx, gpcKey{}, true) }

func gpcFrom(ctx context.Context) bool {
	v, _ := ctx.Value(gpcKey{}).(bool)
	return v
}
