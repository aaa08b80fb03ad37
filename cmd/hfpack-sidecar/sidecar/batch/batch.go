package batch

import (
	"context"
	"encoding/json"
	"errors"

	"sync/atomic"
	"time"

	"github.com/hfpack/hfpack/imagespec"
)

// ErrQueueFull is returned by Submit when accepting the request would exceed
// the queue limit.
var ErrQueueFull = errors.New("batch: queue full")

// ErrClosed is returned to requests still queued when the Batcher is closed.
var ErrClosed = errors.New("batch: shutting down")

// Batcher queues requests and hands out batches. Submit may be called from
// any goroutine; Next may be called by several consumers (one per worker):
// they take turns, and a consumer waiting its turn leaves when its context
// ends.
type Batcher struct {
	maxSize  int
	maxDelay time.Duration
	maxQueue int64

	queue   chan *chunk
	queued  atomic.Int64
	turn    chan struct{} // held by the consumer forming a batch; guards pending
	pending []*chunk      // chunks taken from queue but not yet batched, oldest first
}

// Option configures a Batcher.
type Option func(*Batcher)

// WithMaxSize sets the largest number of instances in one batch (default 8;
// values below 1 mean 1).
func WithMaxSize(n int) Option {
	return func(b *Batcher) { b.maxSize = max(n, 1) }
}

// WithMaxDelay sets how long the oldest queued instance may wait for others
// to join its batch (default 5ms; 0 dispatches whatever is queued at once).
func WithMaxDelay(d time.Duration) Option {
	return func(b *Batcher) { b.maxDelay = max(d, 0) }
}

// WithMaxQueue sets how many instances may wait at once (default 1024;
// raised to the maximum batch size if lower).
func WithMaxQueue(n int) Option {
	return func(b *Batcher) { b.maxQueue = int64(n) }
}

// New returns a Batcher.
func New(opts ...Option) *Batcher {
	b := &Batcher{maxSize: imagespec.DefaultMaxBatchSize, maxDelay: imagespec.DefaultMaxBatchDelay, maxQueue: 1024}
	for _, o := range opts {
		o(b)
	}
	b.maxQueue = max(b.maxQueue, int64(b.maxSize), 1)
	// Every chunk holds at least one reserved instance, so the channel can
	// never fill: sends in Submit do not block.
	b.queue = make(chan *chunk, b.maxQueue)
	b.turn = make(chan struct{}, 1)
	return b
}

// QueueDepth reports how many instances are waiting for a batch.
func (b *Batcher) QueueDepth() int { return int(b.queued.Load()) }

// Submit queues instances sharing params and waits for their predictions,
// returned in order. It returns ErrQueueFull at once when the queue is full,
// ctx's error when ctx ends first, or the error the batch failed with.
// params must be a compact JSON object or empty; requests batch together only
// when their params are byte-for-byte equal.
func (b *Batcher) Submit(ctx context.Context, params json.RawMessage, instances []json.RawMessage) ([]json.RawMessage, error) {
	n := len(instances)
	if n == 0 {
		return []json.RawMessage{}, nil
	}
	if !b.reserve(int64(n)) {
		return nil, ErrQueueFull
	}
	c := &call{ctx: ctx, preds: make([]json.RawMessage, n), remaining: n, done: make(chan struct{})}
	now := time.Now()
	for off := 0; off < n; off += b.maxSize {
		end := min(off+b.maxSize, n)
		b.queue <- &chunk{call: c, offset: off, instances: instances[off:end], params: params, enqueued: now}
	}
	select {
	case <-c.done:
		if c.err != nil {
			return nil, c.err
		}
		return c.preds, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (b *Batcher) reserve(n int64) bool {
	for {
		cur := b.queued.Load()
		if cur+n > b.maxQueue {
			return false
		}
		if b.queued.CompareAndSwap(cur, cur+n) {
			return true
		}
	}
}

// Next blocks until a batch is ready or ctx ends. The caller must finish the
// batch with Complete or Fail.
func (b *Batcher) Next(ctx context.Context) (*Batch, error) {
	select {
	case b.turn <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-b.turn }()
	first, err := b.first(ctx)
	if err != nil {
		return nil, err
	}
	bt := &Batch{Params: first.params}
	bt.add(first)
	b.fromPending(bt)
	timer := time.NewTimer(time.Until(first.enqueued.Add(b.maxDelay)))
	defer timer.Stop()
	for len(bt.Instances) < b.maxSize {
		select {
		case c := <-b.queue:
			b.consider(bt, c)
			continue
		default:
		}
		select {
		case c := <-b.queue:
			b.consider(bt, c)
		case <-timer.C:
			return b.dispatch(bt), nil
		case <-ctx.Done():
			b.pending = append(bt.chunks, b.pending...)
			return nil, ctx.Err()
		}
	}
	return b.dispatch(bt), nil
}

// first returns the oldest live chunk, waiting for one if none is queued.
func (b *Batcher) first(ctx context.Context) (*chunk, error) {
	for len(b.pending) > 0 {
		c := b.pending[0]
		b.pending = b.pending[1:]
		if b.live(c) {
			return c, nil
		}
	}
	for {
		select {
		case c := <-b.queue:
			if b.live(c) {
				return c, nil
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// fromPending moves pending chunks that fit into bt, keeping the others.
func (b *Batcher) fromPending(bt *Batch) {
	keep := b.pending[:0]
	for _, c := range b.pending {
		switch {
		case !b.live(c):
		case bt.fits(c, b.maxSize):
			bt.add(c)
		default:
			keep = append(keep, c)
		}
	}
	clear(b.pending[len(keep):])
	b.pending = keep
}

func (b *Batcher) consider(bt *Batch, c *chunk) {
	switch {
	case !b.live(c):
	case bt.fits(c, b.maxSize):
		bt.add(c)
	default:
		b.pending = append(b.pending, c)
	}
}

// live reports whether anyone still waits for c; dead chunks leave the queue.
func (b *Batcher) live(c *chunk) bool {
	if c.call.ctx.Err() != nil || c.call.finished() {
		b.queued.Add(-int64(len(c.instances)))
		return false
	}
	return true
}

func (b *Batcher) dispatch(bt *Batch) *Batch {
	b.queued.Add(-int64(len(bt.Instances)))
	return bt
}

// Close fails every queued request with ErrClosed. Call it once no consumer
// is running and no Submit will start.
func (b *Batcher) Close() {
	b.turn <- struct{}{}
	defer func() { <-b.turn }()
	for _, c := range b.pending {
		c.call.fail(ErrClosed)
	}
	b.pending = nil
	for {
		select {
		case c := <-b.queue:
			c.call.fail(ErrClosed)
		default:
			return
		}
	}
}
