package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/yuncan/yuncan"
)

// Consume runs handler on the named queue's messages, at most workers at a
// time, until ctx ends or the Queue is closed; then it stops taking
// messages, waits for the handlers in flight and returns nil.
//
// All processes consuming a queue share one durable consumer named after
// it, so each message goes to one handler. A nil from handler acknowledges
// the message (it leaves the queue); an error offers it again after a pause
// that grows with each delivery (1s, 5s, 30s, 1m, 5m); after the tenth
// failed delivery it is dropped and logged by ID. A handler that ended
// because ctx ended gives its message back at once. Handlers that run long
// are kept alive with progress signals, so the message is not handed to
// another process meanwhile. A handler that panics counts as failed.
//
// The queue logs message IDs and counts only, never data nor the text of
// a handler's error: a handler logs its own failures, knowing what is safe
// to log. Errors: Invalid for a bad name, workers or handler; Unavailable
// when NATS fails or the Queue is closed.
func (q *Queue) Consume(ctx context.Context, name string, workers int, handler func(ctx context.Context, m Message) error) error {
	if err := validName(name); err != nil {
		return err
	}
	if workers < 1 {
		return yuncan.Errorf(yuncan.Invalid, "queue: consume %s: workers must be at least 1", name)
	}
	if handler == nil {
		return yuncan.Errorf(yuncan.Invalid, "queue: consume %s: no handler", name)
	}
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return unavailable("queue: consume "+name, errors.New("queue closed"))
	}
	q.running.Add(1)
	q.mu.Unlock()
	defer q.running.Done()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(q.stopCtx, cancel)()

	// workers bounds the handlers; busy holds a slot per running handler.
	busy := make(chan struct{}, workers)
	var wg sync.WaitGroup
	defer wg.Wait()

	for ctx.Err() == nil {
		it, err := q.subscribe(ctx, name, workers)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		err = q.dispatch(ctx, name, it, busy, &wg, handler)
		q.giveBack(name, it)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, jetstream.ErrConnectionClosed) || errors.Is(err, nats.ErrConnectionClosed) {
			return unavailable("queue: consume "+name, err)
		}
		// The consumer or its stream went away (deleted by an operator,
		// say): make them again after a pause.
		q.log.Warn("consume interrupted, resubscribing", slog.String("queue", name), slog.Any("err", err))
		q.forgetStream(name)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	return nil
}

// subscribe makes sure the stream and the durable consumer exist and
// starts pulling, at most workers messages ahead.
func (q *Queue) subscribe(ctx context.Context, name string, workers int) (jetstream.MessagesContext, error) {
	if err := q.ensureStream(ctx, name); err != nil {
		return nil, err
	}
	cons, err := q.js.CreateOrUpdateConsumer(ctx, q.streamName(name), jetstream.ConsumerConfig{
		Durable:       name,
		Description:   "yuncan workers of " + name,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       q.ackWait,
		MaxDeliver:    q.maxDeliver,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		Replicas:      q.replicas,
	})
	if err != nil {
		return nil, unavailable(fmt.Sprintf("queue: consumer for %s", name), err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(workers))
	if err != nil {
		return nil, unavailable(fmt.Sprintf("queue: pull from %s", name), err)
	}
	return it, nil
}

// dispatch hands messages from it to handlers, one per free slot in busy,
// until ctx ends or it fails.
func (q *Queue) dispatch(ctx context.Context, name string, it jetstream.MessagesContext, busy chan struct{}, wg *sync.WaitGroup, handler func(context.Context, Message) error) error {
	for {
		select {
		case busy <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		m, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			<-busy
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-busy }()
			q.handle(ctx, name, m, handler)
		}()
	}
}

// giveBack stops it and gives the messages it had already pulled, but no
// handler took, back to the queue, so that they need not wait out AckWait.
func (q *Queue) giveBack(name string, it jetstream.MessagesContext) {
	it.Drain()
	n := 0
	for {
		m, err := it.Next(jetstream.NextMaxWait(time.Second))
		if err != nil {
			break
		}
		_ = m.Nak() // at worst it comes back after AckWait
		n++
	}
	if n > 0 {
		q.log.Debug("gave back unstarted messages", slog.String("queue", name), slog.Int("count", n))
	}
}

// handle runs handler on m and settles m by the outcome.
func (q *Queue) handle(ctx context.Context, name string, m jetstream.Msg, handler func(context.Context, Message) error) {
	id := m.Headers().Get(jetstream.MsgIDHeader)
	delivered := uint64(1)
	if md, err := m.Metadata(); err == nil {
		delivered = md.NumDelivered
	}

	stop := q.keepAlive(m)
	err := q.call(ctx, name, id, handler, Message{ID: id, Data: m.Data()})
	stop()

	var settle error
	switch {
	case err == nil:
		settle = m.Ack()
	case ctx.Err() != nil:
		// Shutting down: give the message straight back to someone else.
		settle = m.Nak()
	case delivered >= uint64(q.maxDeliver):
		q.log.Error("message dropped after its last delivery failed",
			slog.String("queue", name), slog.String("id", id), slog.Uint64("deliveries", delivered))
		settle = m.Term()
	default:
		q.log.Debug("handler failed, will retry",
			slog.String("queue", name), slog.String("id", id), slog.Uint64("deliveries", delivered))
		settle = m.NakWithDelay(q.delay(delivered))
	}
	if settle != nil {
		// The server will offer the message again after AckWait.
		q.log.Warn("could not settle message", slog.String("queue", name), slog.String("id", id), slog.Any("err", settle))
	}
}

// delay is the pause before delivery number delivered+1.
func (q *Queue) delay(delivered uint64) time.Duration {
	i := int(min(delivered, uint64(len(q.backoff)))) - 1
	return q.backoff[max(i, 0)]
}

// keepAlive tells the server, every third of AckWait, that m is still
// being worked on, until the returned stop is called.
func (q *Queue) keepAlive(m jetstream.Msg) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(q.ackWait / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				_ = m.InProgress() // if it fails, AckWait may run out and the message come back
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// call runs handler, turning a panic into a failure so that one bad
// message does not take the process down. The stack is logged; the panic
// value is not, as it may hold data.
func (q *Queue) call(ctx context.Context, name, id string, handler func(context.Context, Message) error, m Message) (err error) {
	defer func() {
		if r := recover(); r != nil {
			q.log.Error("handler panicked", slog.String("queue", name), slog.String("id", id), slog.String("stack", string(debug.Stack())))
			err = errors.New("queue: handler panicked")
		}
	}()
	return handler(ctx, m)
}
