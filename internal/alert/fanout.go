package alert

import (
	"context"
	"fmt"
	"math/bits"
	"strconv"

	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/queue"
)

// QueueName is the queue the batches go through.
const QueueName = "alerts"

// bucketOf is the batch, of n (a power of two), that sub falls in. It
// hashes with FNV-1a, the same in every process and after every restart:
// a repeated opening must put each person in the batch they were in
// before (see split).
func bucketOf(sub consent.Subject, n int) int {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	h = (h ^ uint64(kindLetter(sub.Kind))) * prime
	for i := 0; i < len(sub.ID); i++ {
		h = (h ^ uint64(sub.ID[i])) * prime
	}
	h ^= h >> 32
	return int(h & uint64(n-1))
}

// batchCount is how many batches n recipients make: about n/size, rounded
// up to a power of two.
func batchCount(n, size int) int {
	b := (n + size - 1) / size
	if b <= 1 {
		return 1
	}
	return 1 << bits.Len(uint(b-1))
}

// partition orders items by batch, of n (a power of two), by a hash of
// the person, so that the same person always lands in the same batch:
// items[order[bounds[b]:bounds[b+1]]] are batch b. A repeated opening
// after a crash therefore makes batches whose ids the queue has seen only
// when it already holds those people; when the recipients grew, n grows
// to a multiple and each new batch is a part of an old one, or new. n
// never shrinks (Store.SetRingBatches).
func partition(items []item, n int) (order []int32, bounds []int) {
	bucket := make([]int32, len(items))
	bounds = make([]int, n+1)
	for i, it := range items {
		b := bucketOf(it.Subject, n)
		bucket[i] = int32(b)
		bounds[b+1]++
	}
	for b := 1; b <= n; b++ {
		bounds[b] += bounds[b-1]
	}
	next := append([]int(nil), bounds[:n]...)
	order = make([]int32, len(items))
	for i, b := range bucket {
		order[next[b]] = int32(i)
		next[b]++
	}
	return order, bounds
}

// split is partition as slices of items, for tests.
func split(items []item, n int) [][]item {
	order, bounds := partition(items, n)
	out := make([][]item, n)
	for b := range n {
		for _, i := range order[bounds[b]:bounds[b+1]] {
			out[b] = append(out[b], items[i])
		}
	}
	return out
}

// enqueue stores items on the queue in n batches (see partition) and
// returns how many messages it stored; id names batch number b.
func (s *Service) enqueue(ctx context.Context, kind, alertID, caseID string, items []item, n int, id func(b int) string) (int, error) {
	order, bounds := partition(items, n)
	msgs := make([]queue.Message, 0, n)
	for b := range n {
		part := order[bounds[b]:bounds[b+1]]
		if len(part) == 0 {
			continue
		}
		data := appendHeader(make([]byte, 0, 128+len(part)*56), kind, alertID, caseID)
		for _, i := range part {
			data = appendItem(data, kind, items[i])
		}
		msgs = append(msgs, queue.Message{ID: id(b), Data: data})
	}
	if err := s.queue.Publish(ctx, QueueName, msgs...); err != nil {
		return 0, fmt.Errorf("alert: enqueue %d batches of case %s: %w", len(msgs), caseID, err)
	}
	return len(msgs), nil
}

// ringMessageID is the queue id of batch b of a ring:
// "ring:<alert>:<ring>:<batch>".
func ringMessageID(alertID string, ring, b int) string {
	return "ring:" + alertID + ":" + strconv.Itoa(ring) + ":" + strconv.Itoa(b)
}

// resolutionMessageID is the queue id of batch b of n of a case's
// resolution. The count is part of the id: the unresolved recipients
// shrink as workers go, so a repeat may split them into fewer batches,
// and those must not be taken for the earlier ones.
func resolutionMessageID(caseID string, n, b int) string {
	return "resolution:" + caseID + ":" + strconv.Itoa(n) + ":" + strconv.Itoa(b)
}
