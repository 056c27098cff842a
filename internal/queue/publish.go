package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/yuncan/yuncan"
)

// Publish stores msgs durably on the named queue and returns once JetStream
// has acknowledged every one of them (a duplicate ID counts as stored). The
// stream is created, or updated to the current settings, on first use.
//
// Messages go out asynchronously and the acknowledgements are awaited
// together; the ones that fail are sent again a few times with a growing
// pause. An error means some messages may not be stored: calling Publish
// again with the same IDs is safe, because JetStream drops the ones it
// already has. Errors: Invalid for a bad name or ID, Unavailable when
// JetStream did not acknowledge everything, ctx.Err() when ctx ends first.
func (q *Queue) Publish(ctx context.Context, name string, msgs ...Message) error {
	if err := validName(name); err != nil {
		return err
	}
	if len(msgs) == 0 {
		return nil
	}
	if q.nc.IsClosed() {
		return unavailable("queue: publish to "+name, nats.ErrConnectionClosed)
	}
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		switch {
		case m.ID == "":
			ids[i] = uuid.NewString() // so that our own retries below cannot store it twice
		case len(m.ID) > maxIDLen || strings.ContainsAny(m.ID, "\r\n"):
			return yuncan.Errorf(yuncan.Invalid, "queue: message %d: the ID must be one line of at most %d bytes", i, maxIDLen)
		default:
			ids[i] = m.ID
		}
	}

	todo := make([]int, len(msgs))
	for i := range todo {
		todo[i] = i
	}
	var lastErr error
	pause := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		if err := q.ensureStream(ctx, name); err != nil {
			lastErr = err
		} else {
			todo, lastErr = q.publishOnce(ctx, name, msgs, ids, todo)
			if len(todo) == 0 {
				return nil
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if attempt == publishAttempts || q.nc.IsClosed() {
			break
		}
		if errors.Is(lastErr, jetstream.ErrNoStreamResponse) || errors.Is(lastErr, jetstream.ErrStreamNotFound) {
			q.forgetStream(name)
		}
		q.log.Debug("publish retry", slog.String("queue", name), slog.Int("unacked", len(todo)), slog.Int("attempt", attempt), slog.Any("err", lastErr))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
		pause = min(2*pause, 2*time.Second)
	}
	q.log.Warn("publish failed", slog.String("queue", name), slog.Int("unacked", len(todo)), slog.Int("of", len(msgs)), slog.Any("err", lastErr))
	return unavailable(fmt.Sprintf("queue: publish to %s: %d of %d messages not acknowledged", name, len(todo), len(msgs)), lastErr)
}

// publishOnce sends msgs[i] for every i in todo without waiting, then waits
// for all the acknowledgements. It returns the indexes that failed and the
// last error seen.
func (q *Queue) publishOnce(ctx context.Context, name string, msgs []Message, ids []string, todo []int) (failed []int, lastErr error) {
	subject, stream := q.subject(name), q.streamName(name)
	type sent struct {
		i   int
		ack jetstream.PubAckFuture
	}
	inflight := make([]sent, 0, len(todo))
	for k, i := range todo {
		m := &nats.Msg{Subject: subject, Data: msgs[i].Data, Header: nats.Header{}}
		ack, err := q.js.PublishMsgAsync(m,
			jetstream.WithMsgID(ids[i]),
			jetstream.WithExpectStream(stream),
			// When publishMaxPend acks are outstanding, wait for room
			// rather than fail at once.
			jetstream.WithStallWait(publishAckWait),
		)
		if err != nil {
			// The connection is closed or the window stayed full: keep
			// the rest for the next attempt.
			lastErr = err
			failed = append(failed, todo[k:]...)
			break
		}
		inflight = append(inflight, sent{i, ack})
	}
	for _, s := range inflight {
		select {
		case <-s.ack.Ok():
		case err := <-s.ack.Err():
			lastErr = err
			failed = append(failed, s.i)
		case <-ctx.Done():
			return todo, ctx.Err()
		}
	}
	return failed, lastErr
}
