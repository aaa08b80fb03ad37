package batch

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"
)

// call is one submitted request, possibly split into several chunks.
type call struct {
	ctx   context.Context
	preds []json.RawMessage

	mu        sync.Mutex
	remaining int
	err       error
	done      chan struct{}
}

func (c *call) finished() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

func (c *call) complete(off int, preds []json.RawMessage) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.remaining == 0 {
		return
	}
	copy(c.preds[off:], preds)
	c.remaining -= len(preds)
	if c.remaining == 0 {
		close(c.done)
	}
}

func (c *call) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.remaining == 0 {
		return
	}
	c.remaining, c.err = 0, err
	close(c.done)
}

// chunk is a run of one call's instances that travels in a single batch.
type chunk struct {
	call      *call
	offset    int
	instances []json.RawMessage
	params    json.RawMessage
	enqueued  time.Time
}

// Batch is a group of instances sharing parameters, to be predicted together.
type Batch struct {
	Params    json.RawMessage   // shared parameters: a JSON object, or empty
	Instances []json.RawMessage // instances of every request, in queue order
	chunks    []*chunk
}

func (bt *Batch) fits(c *chunk, maxSize int) bool {
	return string(c.params) == string(bt.Params) && len(bt.Instances)+len(c.instances) <= maxSize
}

func (bt *Batch) add(c *chunk) {
	bt.chunks = append(bt.chunks, c)
	bt.Instances = append(bt.Instances, c.instances...)
}

// Requests reports how many requests have instances in the batch.
func (bt *Batch) Requests() int { return len(bt.chunks) }

// Deadline is the latest deadline of the batch's requests; ok is false when
// some request has none.
func (bt *Batch) Deadline() (deadline time.Time, ok bool) {
	for _, c := range bt.chunks {
		d, has := c.call.ctx.Deadline()
		if !has {
			return time.Time{}, false
		}
		if d.After(deadline) {
			deadline = d
		}
	}
	return deadline, true
}

// Complete hands each request its predictions, which must be one per
// instance in order; a wrong count fails the batch instead.
func (bt *Batch) Complete(preds []json.RawMessage) {
	if len(preds) != len(bt.Instances) {
		bt.Fail(fmt.Errorf("batch: got %d predictions for %d instances", len(preds), len(bt.Instances)))
		return
	}
	off := 0
	for _, c := range bt.chunks {
		c.call.complete(c.offset, preds[off:off+len(c.instances)])
		off += len(c.instances)
	}
}

// Fail fails every request in the batch with err.
func (bt *Batch) Fail(err error) {
	for _, c := range bt.chunks {
		c.call.fail(err)
	}
}

// Split returns one batch per request in bt (per chunk, for a request split
// across batches), in queue order, so that a failed batch can be re-run
// request by request and only the request that fails gets the error.
func (bt *Batch) Split() []*Batch {
	out := make([]*Batch, len(bt.chunks))
	for i, c := range bt.chunks {
		out[i] = &Batch{Params: bt.Params, Instances: c.instances, chunks: []*chunk{c}}
	}
	return out
}
