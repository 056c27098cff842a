// Package queue is the durable work queue that alert fan-out runs on: named
// queues of messages on NATS JetStream, each stored on a work-queue stream
// (a message is removed once a consumer acknowledges it) and handed out to
// every process consuming that queue, one message to one handler.
//
// With no URL it starts an in-process NATS server that listens on no port
// and keeps its streams in a folder of the data folder (the embedded mode);
// with a URL it talks to a NATS cluster (the scaled mode). See docs/queue.md.
package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/yuncan/yuncan"
)

// Config says which NATS to use and how to name what the queue creates.
type Config struct {
	// URL is the nats://… address of a cluster (comma-separate several
	// seeds; it may carry credentials, so it is never logged). Empty means
	// the embedded mode: an in-process server listening on no TCP port.
	URL string
	// Dir is where the embedded server's JetStream keeps its streams, for
	// example <data>/nats. Required when URL is empty; unused otherwise.
	Dir string
	// Prefix starts every stream name ("<Prefix>_<NAME>") and, lowercased,
	// every subject ("<prefix>.<name>"). Default "YUNCAN". Letters, digits,
	// '_' and '-' only. Tests use a unique one so that tests sharing one
	// server never meet.
	Prefix string
	// Replicas is how many servers of a cluster keep each stream (1, 3 or
	// 5). Default 1; a production cluster wants 3 so that a stored message
	// survives the loss of a server. The embedded mode always uses 1.
	Replicas int
	// Logger receives ids, queue names and counts, never message data.
	// Default: discard.
	Logger *slog.Logger

	// syncEvery, when set, replaces SyncAlways in the embedded mode with an
	// fsync every syncEvery; only the benchmark sets it, to measure the
	// cost of SyncAlways (see docs/queue.md).
	syncEvery time.Duration
}

// Message is one unit of work. ID deduplicates: JetStream drops a second
// publish of the same ID on the same queue within the duplicate window
// (10 minutes), so a publisher can repeat a call that failed half-way. An
// empty ID gets a fresh random one (no deduplication across calls).
type Message struct {
	ID   string
	Data []byte
}

// Settings of every stream and consumer; see docs/queue.md for why.
const (
	defaultPrefix    = "YUNCAN"
	duplicateWindow  = 10 * time.Minute
	defaultAckWait   = 30 * time.Second
	defaultMaxDeliv  = 10
	maxIDLen         = 256
	publishAttempts  = 8
	publishMaxPend   = 512
	publishAckWait   = 30 * time.Second
	embeddedStartMax = 30 * time.Second
)

// defaultBackoff is the delay before a failed message is offered again,
// by delivery: the first failure waits 1s, the second 5s, and so on; the
// last value repeats.
var defaultBackoff = []time.Duration{time.Second, 5 * time.Second, 30 * time.Second, time.Minute, 5 * time.Minute}

// Queue is a connection to JetStream (and, in the embedded mode, the
// server itself). It is safe for concurrent use.
type Queue struct {
	prefix   string // as given, for stream names
	subjPfx  string // lowercased, for subjects
	replicas int
	log      *slog.Logger

	ns *server.Server // nil unless embedded
	nc *nats.Conn
	js jetstream.JetStream

	// Consumer settings; tests shorten them.
	ackWait    time.Duration
	maxDeliver int
	backoff    []time.Duration

	mu      sync.Mutex
	streams map[string]bool // queue names whose stream exists (created or updated by us)
	closed  bool
	stop    context.CancelFunc // ends every Consume on Close
	stopCtx context.Context
	running sync.WaitGroup // Consume calls in progress
}

// Open connects to cfg.URL, or starts the embedded server when it is empty.
// Errors: Invalid for a bad Config, Unavailable when NATS cannot be reached
// or the embedded server does not start.
func Open(ctx context.Context, cfg Config) (*Queue, error) {
	if cfg.Prefix == "" {
		cfg.Prefix = defaultPrefix
	}
	if !validPrefix(cfg.Prefix) {
		return nil, yuncan.Errorf(yuncan.Invalid, "queue: prefix %q: use letters, digits, '_' and '-'", cfg.Prefix)
	}
	if cfg.URL == "" && cfg.Dir == "" {
		return nil, yuncan.Errorf(yuncan.Invalid, "queue: the embedded mode (no URL) needs a Dir for its streams")
	}
	switch cfg.Replicas {
	case 0:
		cfg.Replicas = 1
	case 1, 3, 5:
	default:
		return nil, yuncan.Errorf(yuncan.Invalid, "queue: replicas %d: use 1, 3 or 5", cfg.Replicas)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With(slog.String("component", "queue"))

	q := &Queue{
		prefix:     cfg.Prefix,
		subjPfx:    strings.ToLower(cfg.Prefix),
		replicas:   cfg.Replicas,
		log:        log,
		ackWait:    defaultAckWait,
		maxDeliver: defaultMaxDeliv,
		backoff:    defaultBackoff,
		streams:    map[string]bool{},
	}
	q.stopCtx, q.stop = context.WithCancel(context.Background())

	opts := []nats.Option{
		nats.Name("yuncan"),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats disconnected", slog.Any("err", err))
			}
		}),
		nats.ReconnectHandler(func(*nats.Conn) { log.Info("nats reconnected") }),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			// Async errors name a subscription at most, never a payload.
			log.Warn("nats async error", slog.Any("err", err))
		}),
	}
	url := cfg.URL
	if url == "" {
		q.replicas = 1
		ns, err := startEmbedded(cfg, log)
		if err != nil {
			return nil, err
		}
		q.ns = ns
		opts = append(opts, nats.InProcessServer(ns))
	}
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) > 0 {
		opts = append(opts, nats.Timeout(time.Until(deadline)))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		q.shutdownServer()
		return nil, unavailable("queue: connect to nats", err)
	}
	q.nc = nc
	js, err := jetstream.New(nc,
		jetstream.WithPublishAsyncMaxPending(publishMaxPend),
		jetstream.WithPublishAsyncTimeout(publishAckWait),
	)
	if err != nil {
		nc.Close()
		q.shutdownServer()
		return nil, unavailable("queue: jetstream", err)
	}
	q.js = js
	// Fail now, not at the first publish, when the server has no JetStream.
	if _, err := js.AccountInfo(ctx); err != nil {
		nc.Close()
		q.shutdownServer()
		return nil, unavailable("queue: jetstream account", err)
	}
	if q.ns != nil {
		log.Info("queue open", slog.String("mode", "embedded"), slog.String("dir", cfg.Dir))
	} else {
		log.Info("queue open", slog.String("mode", "cluster"), slog.Int("replicas", q.replicas))
	}
	return q, nil
}

// Close ends every Consume (waiting for handlers in flight to finish),
// drains the connection so that pending acknowledgements reach the server,
// closes it and, in the embedded mode, shuts the server down and waits for
// it. Calling Close again does nothing.
func (q *Queue) Close() error {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return nil
	}
	q.closed = true
	q.mu.Unlock()

	q.stop()
	q.running.Wait()

	var err error
	closed := make(chan struct{})
	q.nc.SetClosedHandler(func(*nats.Conn) { close(closed) })
	if derr := q.nc.Drain(); derr != nil {
		// Already closed (a drain error would come back here too): make sure.
		q.nc.Close()
		if !errors.Is(derr, nats.ErrConnectionClosed) {
			err = fmt.Errorf("queue: drain: %w", derr)
		}
	} else {
		// Drain has its own timeout (30s) after which it closes anyway.
		<-closed
	}
	q.shutdownServer()
	return err
}

func (q *Queue) shutdownServer() {
	if q.ns == nil {
		return
	}
	q.ns.Shutdown()
	q.ns.WaitForShutdown()
}

// streamName is the stream of queue name: "<Prefix>_<NAME>".
func (q *Queue) streamName(name string) string {
	return q.prefix + "_" + strings.ToUpper(name)
}

// subject is the subject of queue name: "<prefix>.<name>".
func (q *Queue) subject(name string) string {
	return q.subjPfx + "." + name
}

// ensureStream creates the stream of queue name, or updates it to the
// current settings, once per Queue.
func (q *Queue) ensureStream(ctx context.Context, name string) error {
	q.mu.Lock()
	done := q.streams[name]
	q.mu.Unlock()
	if done {
		return nil
	}
	_, err := q.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        q.streamName(name),
		Description: "yuncan work queue " + name,
		Subjects:    []string{q.subject(name)},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		Replicas:    q.replicas,
		Duplicates:  duplicateWindow,
		Discard:     jetstream.DiscardNew, // when full, refuse new work rather than drop stored work
	})
	if err != nil {
		return unavailable(fmt.Sprintf("queue: create stream for %s", name), err)
	}
	q.mu.Lock()
	q.streams[name] = true
	q.mu.Unlock()
	return nil
}

// forgetStream makes the next ensureStream ask the server again, after an
// error that suggests the stream is gone.
func (q *Queue) forgetStream(name string) {
	q.mu.Lock()
	delete(q.streams, name)
	q.mu.Unlock()
}

// Pending returns how many messages wait on the named queue: stored and
// not yet acknowledged, including those a handler is working on. A queue
// never used has 0. Errors: Invalid for a bad name, Unavailable.
func (q *Queue) Pending(ctx context.Context, name string) (uint64, error) {
	if err := validName(name); err != nil {
		return 0, err
	}
	s, err := q.js.Stream(ctx, q.streamName(name))
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, unavailable(fmt.Sprintf("queue: pending %s", name), err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0, unavailable(fmt.Sprintf("queue: pending %s", name), err)
	}
	return info.State.Msgs, nil
}

// validName accepts lowercase queue names made of [a-z0-9_].
func validName(name string) error {
	if name == "" || len(name) > 64 {
		return yuncan.Errorf(yuncan.Invalid, "queue: name %q: 1 to 64 characters of a-z, 0-9 and _", name)
	}
	for _, r := range name {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '_' {
			return yuncan.Errorf(yuncan.Invalid, "queue: name %q: 1 to 64 characters of a-z, 0-9 and _", name)
		}
	}
	return nil
}

func validPrefix(p string) bool {
	if len(p) > 32 {
		return false
	}
	for _, r := range p {
		if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') && r != '_' && r != '-' {
			return false
		}
	}
	return p != ""
}

func unavailable(what string, err error) error {
	return &yuncan.Error{Code: yuncan.Unavailable, Message: "the work queue is unavailable", Err: fmt.Errorf("%s: %w", what, err)}
}
