package queue

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/yuncan/yuncan"
)

// Every test runs on the embedded server and, when this variable names
// one, on a shared NATS server too (with a prefix of its own).
const envNATS = "YUNCAN_TEST_NATS_URL"

// eachBackend runs fn as parallel subtests: "embedded" always, "nats" when
// envNATS is set. fn gets a fresh Config; opening it twice reaches the same
// streams (the same Dir, or the same server and Prefix).
func eachBackend(t *testing.T, fn func(t *testing.T, cfg Config)) {
	t.Run("embedded", func(t *testing.T) {
		t.Parallel()
		fn(t, Config{Dir: t.TempDir(), Logger: testLogger(t)})
	})
	if url := os.Getenv(envNATS); url != "" {
		t.Run("nats", func(t *testing.T) {
			t.Parallel()
			fn(t, sharedConfig(t, url))
		})
	}
}

// sharedConfig is a Config for the shared server with a unique Prefix; its
// streams are deleted when the test ends.
func sharedConfig(t testing.TB, url string) Config {
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := "T" + strings.ToUpper(hex.EncodeToString(b[:]))
	t.Cleanup(func() { deleteStreams(t, url, prefix) })
	return Config{URL: url, Prefix: prefix, Logger: testLogger(t)}
}

func deleteStreams(t testing.TB, url, prefix string) {
	nc, err := nats.Connect(url)
	if err != nil {
		t.Errorf("cleanup: connect: %v", err)
		return
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Errorf("cleanup: %v", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	names := js.StreamNames(ctx)
	var doomed []string
	for n := range names.Name() {
		if strings.HasPrefix(n, prefix+"_") {
			doomed = append(doomed, n)
		}
	}
	if err := names.Err(); err != nil {
		t.Errorf("cleanup: list streams: %v", err)
	}
	for _, n := range doomed {
		if err := js.DeleteStream(ctx, n); err != nil {
			t.Errorf("cleanup: delete stream %s: %v", n, err)
		}
	}
}

// testLogger shows warnings and errors in the test's output.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// open opens cfg, closes it when the test ends, and shortens the retry
// pause so that redelivery tests take milliseconds.
func open(t testing.TB, cfg Config) *Queue {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	q, err := Open(ctx, cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	q.backoff = []time.Duration{10 * time.Millisecond}
	t.Cleanup(func() {
		if err := q.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return q
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func messages(prefix string, n int) []Message {
	ms := make([]Message, n)
	for i := range ms {
		id := fmt.Sprintf("%s-%d", prefix, i)
		ms[i] = Message{ID: id, Data: []byte("data of " + id)}
	}
	return ms
}

// collector is a handler that records what it got and cancels the
// consumption once it has want distinct messages.
type collector struct {
	mu     sync.Mutex
	got    map[string][]string // id → data of each delivery
	want   int
	cancel context.CancelFunc
}

func newCollector(want int, cancel context.CancelFunc) *collector {
	return &collector{got: map[string][]string{}, want: want, cancel: cancel}
}

func (c *collector) handle(_ context.Context, m Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got[m.ID] = append(c.got[m.ID], string(m.Data))
	if len(c.got) >= c.want {
		c.cancel()
	}
	return nil
}

// consumeAll consumes name until every message of want has arrived, and
// checks that each came exactly once with its data.
func consumeAll(t *testing.T, q *Queue, name string, workers int, want []Message) {
	t.Helper()
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	c := newCollector(len(want), cancel)
	if err := q.Consume(ctx, name, workers, c.handle); err != nil {
		t.Fatalf("Consume: %v", err)
	}
	if errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
		t.Fatalf("timed out with %d of %d messages", len(c.got), len(want))
	}
	for _, m := range want {
		if d := c.got[m.ID]; len(d) != 1 || d[0] != string(m.Data) {
			t.Errorf("message %s: got deliveries %q, want one of %q", m.ID, d, m.Data)
		}
	}
	if len(c.got) != len(want) {
		t.Errorf("got %d distinct messages, want %d", len(c.got), len(want))
	}
	waitPending(t, q, name, 0)
}

// waitPending waits until name holds want messages; acknowledgements are
// asynchronous, so the count settles a moment after the handler returns.
func waitPending(t testing.TB, q *Queue, name string, want uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := q.Pending(testCtx(t), name)
		if err != nil {
			t.Fatalf("Pending: %v", err)
		}
		if n == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Pending(%s) = %d, want %d", name, n, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestPublishConsume(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, cfg Config) {
		q := open(t, cfg)
		ctx := testCtx(t)
		if n, err := q.Pending(ctx, "fanout"); err != nil || n != 0 {
			t.Fatalf("Pending before use = %d, %v; want 0, nil", n, err)
		}
		want := messages("m", 50)
		if err := q.Publish(ctx, "fanout", want...); err != nil {
			t.Fatalf("Publish: %v", err)
		}
		if err := q.Publish(ctx, "fanout"); err != nil {
			t.Fatalf("Publish of nothing: %v", err)
		}
		waitPending(t, q, "fanout", 50)
		// Another queue is another stream: it sees none of them.
		if n, err := q.Pending(ctx, "other"); err != nil || n != 0 {
			t.Fatalf("Pending(other) = %d, %v; want 0, nil", n, err)
		}
		consumeAll(t, q, "fanout", 4, want)
	})
}

func TestEmptyIDGetsOne(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, cfg Config) {
		q := open(t, cfg)
		ctx := testCtx(t)
		if err := q.Publish(ctx, "anon", Message{Data: []byte("a")}, Message{Data: []byte("a")}); err != nil {
			t.Fatalf("Publish: %v", err)
		}
		waitPending(t, q, "anon", 2) // distinct IDs: both kept
		ctx, cancel := context.WithCancel(ctx)
		c := newCollector(2, cancel)
		if err := q.Consume(ctx, "anon", 1, c.handle); err != nil {
			t.Fatalf("Consume: %v", err)
		}
		for id := range c.got {
			if id == "" {
				t.Errorf("a message came without an ID")
			}
		}
	})
}

func TestDuplicateIDsDropped(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, cfg Config) {
		q := open(t, cfg)
		ctx := testCtx(t)
		first := messages("d", 3)
		if err := q.Publish(ctx, "dups", first...); err != nil {
			t.Fatalf("Publish: %v", err)
		}
		// A repeated call (a retry after a failure) and a duplicate inside
		// one call: only d-3 is new.
		again := append(messages("d", 4), Message{ID: "d-3", Data: []byte("data of d-3")})
		if err := q.Publish(ctx, "dups", again...); err != nil {
			t.Fatalf("Publish again: %v", err)
		}
		waitPending(t, q, "dups", 4)
		consumeAll(t, q, "dups", 2, messages("d", 4))
	})
}

func TestHandlerErrorRedelivers(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, cfg Config) {
		var logs syncBuffer
		cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		q := open(t, cfg)
		ctx := testCtx(t)
		secret := "13800138000 Zhang San" // stands for personal data
		if err := q.Publish(ctx, "retry", Message{ID: "flaky", Data: []byte(secret)}, Message{ID: "fine", Data: []byte(secret)}); err != nil {
			t.Fatalf("Publish: %v", err)
		}
		ctx, cancel := context.WithCancel(ctx)
		var mu sync.Mutex
		calls := map[string]int{}
		err := q.Consume(ctx, "retry", 2, func(_ context.Context, m Message) error {
			mu.Lock()
			defer mu.Unlock()
			calls[m.ID]++
			if m.ID == "flaky" && calls[m.ID] < 3 {
				return errors.New("failed for " + string(m.Data))
			}
			if calls["flaky"] == 3 && calls["fine"] == 1 {
				cancel()
			}
			return nil
		})
		if err != nil {
			t.Fatalf("Consume: %v", err)
		}
		if calls["flaky"] != 3 || calls["fine"] != 1 {
			t.Fatalf("calls = %v, want flaky 3 and fine 1", calls)
		}
		waitPending(t, q, "retry", 0)
		if strings.Contains(logs.String(), "13800138000") || strings.Contains(logs.String(), "Zhang") {
			t.Errorf("message data reached the log:\n%s", logs.String())
		}
	})
}

func TestLastDeliveryTerminates(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, cfg Config) {
		var logs syncBuffer
		cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		q := open(t, cfg)
		q.maxDeliver = 3
		ctx := testCtx(t)
		if err := q.Publish(ctx, "poison", Message{ID: "bad", Data: []byte("13800138000")}); err != nil {
			t.Fatalf("Publish: %v", err)
		}
		ctx, cancel := context.WithCancel(ctx)
		var mu sync.Mutex
		calls := 0
		done := make(chan error)
		go func() {
			done <- q.Consume(ctx, "poison", 1, func(_ context.Context, m Message) error {
				mu.Lock()
				calls++
				mu.Unlock()
				return errors.New("always fails")
			})
		}()
		waitPending(t, q, "poison", 0) // terminated: gone from the queue
		// Had it not been terminated, it would come back within the 10ms pause.
		time.Sleep(100 * time.Millisecond)
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Consume: %v", err)
		}
		if calls != 3 {
			t.Errorf("handler ran %d times, want 3 (MaxDeliver)", calls)
		}
		l := logs.String()
		if !strings.Contains(l, "id=bad") || !strings.Contains(l, "deliveries=3") {
			t.Errorf("the dropped message was not logged by id:\n%s", l)
		}
		if strings.Contains(l, "13800138000") {
			t.Errorf("message data reached the log:\n%s", l)
		}
	})
}

func TestHandlerPanicCountsAsFailure(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, cfg Config) {
		cfg.Logger = slog.New(slog.DiscardHandler) // the panic's stack is logged as an error
		q := open(t, cfg)
		ctx := testCtx(t)
		if err := q.Publish(ctx, "panics", Message{ID: "p", Data: []byte("x")}); err != nil {
			t.Fatalf("Publish: %v", err)
		}
		ctx, cancel := context.WithCancel(ctx)
		calls := 0
		err := q.Consume(ctx, "panics", 1, func(context.Context, Message) error {
			calls++
			if calls == 1 {
				panic("boom")
			}
			cancel()
			return nil
		})
		if err != nil || calls != 2 {
			t.Fatalf("Consume = %v after %d calls; want nil after 2", err, calls)
		}
	})
}

func TestLongHandlerKeepsItsMessage(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, cfg Config) {
		q := open(t, cfg)
		q.ackWait = 300 * time.Millisecond // progress signals every 100ms
		ctx := testCtx(t)
		if err := q.Publish(ctx, "slow", Message{ID: "long", Data: []byte("x")}); err != nil {
			t.Fatalf("Publish: %v", err)
		}
		ctx, cancel := context.WithCancel(ctx)
		var calls atomic.Int32
		done := make(chan error)
		go func() {
			done <- q.Consume(ctx, "slow", 2, func(ctx context.Context, m Message) error {
				calls.Add(1)
				time.Sleep(time.Second) // three times AckWait
				return nil
			})
		}()
		waitPending(t, q, "slow", 0)
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Consume: %v", err)
		}
		if n := calls.Load(); n != 1 {
			t.Errorf("handler ran %d times, want 1: the message was handed out again while in progress", n)
		}
	})
}

func TestConsumersShareWork(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, cfg Config) {
		q1 := open(t, cfg)
		// Two processes: on a shared server, two connections; embedded,
		// there is one server per process, so two Consume calls on it.
		q2 := q1
		if cfg.URL != "" {
			q2 = open(t, cfg)
		}
		ctx := testCtx(t)
		want := messages("s", 60)
		if err := q1.Publish(ctx, "shared", want...); err != nil {
			t.Fatalf("Publish: %v", err)
		}

		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		var mu sync.Mutex
		got := map[string][]int{} // id → the consumers that got it
		started := [2]chan struct{}{make(chan struct{}), make(chan struct{})}
		var once [2]sync.Once
		handler := func(who int) func(context.Context, Message) error {
			return func(ctx context.Context, m Message) error {
				// Each consumer holds its first message until the other
				// has one too: proof that the work is shared, not just
				// taken by whoever came first.
				once[who].Do(func() { close(started[who]) })
				select {
				case <-started[1-who]:
				case <-ctx.Done():
					return ctx.Err()
				}
				mu.Lock()
				defer mu.Unlock()
				got[m.ID] = append(got[m.ID], who)
				if len(got) == len(want) {
					cancel()
				}
				return nil
			}
		}
		errs := make(chan error, 2)
		go func() { errs <- q1.Consume(ctx, "shared", 2, handler(0)) }()
		go func() { errs <- q2.Consume(ctx, "shared", 2, handler(1)) }()
		for range 2 {
			if err := <-errs; err != nil {
				t.Fatalf("Consume: %v", err)
			}
		}
		count := [2]int{}
		for _, m := range want {
			if len(got[m.ID]) != 1 {
				t.Errorf("message %s went to consumers %v, want exactly one", m.ID, got[m.ID])
				continue
			}
			count[got[m.ID][0]]++
		}
		if count[0] == 0 || count[1] == 0 {
			t.Errorf("work was not shared: %v", count)
		}
		t.Logf("consumer 0 got %d, consumer 1 got %d", count[0], count[1])
		waitPending(t, q1, "shared", 0)
	})
}

func TestReopenKeepsMessages(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, cfg Config) {
		ctx := testCtx(t)
		want := messages("r", 10)
		q, err := Open(ctx, cfg)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if err := q.Publish(ctx, "restart", want...); err != nil {
			t.Fatalf("Publish: %v", err)
		}
		if err := q.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		q = open(t, cfg)
		waitPending(t, q, "restart", 10)
		consumeAll(t, q, "restart", 3, want)
	})
}

// TestStreamDeletedUnderfoot: an operator deletes the stream (or the
// consumer) while the queue is in use; the next Publish and the running
// Consume make them again.
func TestStreamDeletedUnderfoot(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, cfg Config) {
		cfg.Logger = slog.New(slog.DiscardHandler) // Consume warns that it resubscribes
		q := open(t, cfg)
		ctx := testCtx(t)
		if err := q.Publish(ctx, "gone", messages("g", 2)...); err != nil {
			t.Fatalf("Publish: %v", err)
		}
		if err := q.js.DeleteStream(ctx, q.streamName("gone")); err != nil {
			t.Fatal(err)
		}
		if err := q.Publish(ctx, "gone", messages("h", 1)...); err != nil {
			t.Fatalf("Publish after the stream was deleted: %v", err)
		}
		waitPending(t, q, "gone", 1)

		ctx, cancel := context.WithCancel(ctx)
		c := newCollector(2, cancel)
		done := make(chan error)
		go func() { done <- q.Consume(ctx, "gone", 1, c.handle) }()
		waitPending(t, q, "gone", 0)
		if err := q.js.DeleteConsumer(ctx, q.streamName("gone"), "gone"); err != nil {
			t.Fatal(err)
		}
		if err := q.Publish(ctx, "gone", messages("i", 1)...); err != nil {
			t.Fatalf("Publish: %v", err)
		}
		if err := <-done; err != nil {
			t.Fatalf("Consume: %v", err)
		}
		if len(c.got["h-0"]) != 1 || len(c.got["i-0"]) != 1 {
			t.Fatalf("got %v, want h-0 and i-0 once each", c.got)
		}
	})
}

// TestCrash kills a process that is publishing (SIGKILL, no chance to
// flush anything) and checks that every message it was told was stored is
// there after a restart.
func TestCrash(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const batch, batches = 20, 5
	cmd := exec.CommandContext(testCtx(t), os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), "YUNCAN_QUEUE_CRASH_DIR="+dir)
	cmd.Stderr = t.Output()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The child prints "acked N" after Publish of batch N returns and goes
	// on to the next batch; kill it while it does.
	acked := -1
	lines := bufio.NewScanner(out)
	for acked < batches-1 && lines.Scan() {
		if _, err := fmt.Sscanf(lines.Text(), "acked %d", &acked); err != nil {
			t.Logf("child: %s", lines.Text())
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if acked < batches-1 {
		t.Fatalf("the child acknowledged only %d batches", acked+1)
	}

	q := open(t, Config{Dir: dir, Logger: testLogger(t)})
	ctx := testCtx(t)
	n, err := q.Pending(ctx, "crash")
	if err != nil {
		t.Fatal(err)
	}
	if n < batch*batches {
		t.Fatalf("after the crash %d messages wait, want at least %d", n, batch*batches)
	}
	ctx, cancel := context.WithCancel(ctx)
	c := newCollector(int(n), cancel)
	if err := q.Consume(ctx, "crash", 4, c.handle); err != nil {
		t.Fatal(err)
	}
	for b := range batches {
		for _, m := range messages(fmt.Sprintf("b%d", b), batch) {
			if len(c.got[m.ID]) != 1 {
				t.Errorf("acknowledged message %s: %d deliveries after the crash, want 1", m.ID, len(c.got[m.ID]))
			}
		}
	}
	t.Logf("%d batches acknowledged before the kill, %d messages found", acked+1, n)
}

// TestCrashChild is the process TestCrash kills.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv("YUNCAN_QUEUE_CRASH_DIR")
	if dir == "" {
		t.Skip("run by TestCrash")
	}
	ctx := context.Background()
	q, err := Open(ctx, Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for b := 0; b < 1000; b++ {
		if err := q.Publish(ctx, "crash", messages(fmt.Sprintf("b%d", b), 20)...); err != nil {
			t.Fatal(err)
		}
		fmt.Printf("acked %d\n", b)
	}
	t.Fatal("not killed")
}

func TestInvalid(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	for _, cfg := range []Config{
		{},                                // embedded without a Dir
		{Dir: t.TempDir(), Prefix: "a.b"}, // a dot would split subjects
		{Dir: t.TempDir(), Prefix: "a b"},
		{URL: "nats://127.0.0.1:1", Replicas: 2},
	} {
		if _, err := Open(ctx, cfg); yuncan.ErrorCode(err) != yuncan.Invalid {
			t.Errorf("Open(%+v) = %v, want code invalid", cfg, err)
		}
	}
	if _, err := Open(ctx, Config{URL: "nats://127.0.0.1:1"}); yuncan.ErrorCode(err) != yuncan.Unavailable {
		t.Errorf("Open of a closed port = %v, want code unavailable", err)
	}

	q := open(t, Config{Dir: t.TempDir()})
	handler := func(context.Context, Message) error { return nil }
	for _, name := range []string{"", "Fanout", "fan.out", "fan-out", "fan out", "fan*", ">", "队列", strings.Repeat("a", 65)} {
		if err := q.Publish(ctx, name, Message{ID: "x"}); yuncan.ErrorCode(err) != yuncan.Invalid {
			t.Errorf("Publish(%q) = %v, want code invalid", name, err)
		}
		if err := q.Consume(ctx, name, 1, handler); yuncan.ErrorCode(err) != yuncan.Invalid {
			t.Errorf("Consume(%q) = %v, want code invalid", name, err)
		}
		if _, err := q.Pending(ctx, name); yuncan.ErrorCode(err) != yuncan.Invalid {
			t.Errorf("Pending(%q) = %v, want code invalid", name, err)
		}
	}
	if err := q.Publish(ctx, "ok", Message{ID: "two\nlines"}); yuncan.ErrorCode(err) != yuncan.Invalid {
		t.Errorf("Publish of an ID with a newline = %v, want code invalid", err)
	}
	if err := q.Consume(ctx, "ok", 0, handler); yuncan.ErrorCode(err) != yuncan.Invalid {
		t.Errorf("Consume with 0 workers = %v, want code invalid", err)
	}
	if err := q.Consume(ctx, "ok", 1, nil); yuncan.ErrorCode(err) != yuncan.Invalid {
		t.Errorf("Consume without handler = %v, want code invalid", err)
	}
}

// TestCloseLeavesNothing is not parallel: it counts goroutines.
func TestCloseLeavesNothing(t *testing.T) {
	cfgs := map[string]Config{"embedded": {Dir: t.TempDir()}}
	if url := os.Getenv(envNATS); url != "" {
		cfgs["nats"] = sharedConfig(t, url)
	}
	for name, cfg := range cfgs {
		t.Run(name, func(t *testing.T) {
			cycle(t, cfg) // warm up whatever the libraries start once per process
			before := runtime.NumGoroutine()
			cycle(t, cfg)
			deadline := time.Now().Add(5 * time.Second)
			for runtime.NumGoroutine() > before {
				if time.Now().After(deadline) {
					buf := make([]byte, 1<<20)
					t.Fatalf("%d goroutines before, %d after Close:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

// cycle opens cfg, publishes, closes the queue while Consume is running a
// handler, and closes it again.
func cycle(t *testing.T, cfg Config) {
	ctx := testCtx(t)
	q, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Publish(ctx, "cycle", messages("c", 5)...); err != nil {
		t.Fatal(err)
	}
	inHandler := make(chan struct{})
	var once sync.Once
	var finished atomic.Bool
	done := make(chan error)
	go func() {
		done <- q.Consume(ctx, "cycle", 2, func(ctx context.Context, m Message) error {
			once.Do(func() { close(inHandler) })
			<-ctx.Done() // Close ends the consumption
			finished.Store(true)
			return nil
		})
	}()
	<-inHandler
	if err := q.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Consume after Close = %v, want nil", err)
	}
	if !finished.Load() {
		t.Errorf("Close returned before the handler in flight finished")
	}
	if err := q.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := q.Publish(ctx, "cycle", messages("late", 1)...); yuncan.ErrorCode(err) != yuncan.Unavailable {
		t.Errorf("Publish on a closed queue = %v, want code unavailable", err)
	}
	if err := q.Consume(ctx, "cycle", 1, func(context.Context, Message) error { return nil }); yuncan.ErrorCode(err) != yuncan.Unavailable {
		t.Errorf("Consume on a closed queue = %v, want code unavailable", err)
	}
}

// syncBuffer is a bytes.Buffer that log handlers on several goroutines
// may write to.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
