package batch_test

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hfpack/hfpack/cmd/hfpack-sidecar/sidecar/batch"
)

func raw(vals ...int) []json.RawMessage {
	out := make([]json.RawMessage, len(vals))
	for i, v := range vals {
		out[i] = json.RawMessage(strconv.Itoa(v))
	}
	return out
}

// echo consumes batches until ctx ends, answering each instance with itself
// and recording batch sizes and parameters.
type echo struct {
	mu      sync.Mutex
	batches []string // params:size
}

func (e *echo) run(ctx context.Context, b *batch.Batcher) {
	for {
		bt, err := b.Next(ctx)
		if err != nil {
			return
		}
		e.mu.Lock()
		e.batches = append(e.batches, string(bt.Params)+":"+strconv.Itoa(len(bt.Instances)))
		e.mu.Unlock()
		bt.Complete(bt.Instances)
	}
}

func TestSubmitSplitsAndKeepsOrder(t *testing.T) {
	b := batch.New(batch.WithMaxSize(3), batch.WithMaxDelay(0))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e := &echo{}
	go e.run(ctx, b)
	got, err := b.Submit(ctx, nil, raw(0, 1, 2, 3, 4, 5, 6))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(raw(0, 1, 2, 3, 4, 5, 6), got); diff != "" {
		t.Errorf("predictions (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{":3", ":3", ":1"}, e.batches); diff != "" {
		t.Errorf("batches (-want +got):\n%s", diff)
	}
}

func TestBatchesNeverMixParameters(t *testing.T) {
	b := batch.New(batch.WithMaxSize(4), batch.WithMaxDelay(time.Hour))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := json.RawMessage(`{"p":` + strconv.Itoa(i%2) + `}`)
			if _, err := b.Submit(ctx, p, raw(i)); err != nil {
				t.Error(err)
			}
		}()
	}
	e := &echo{}
	go e.run(ctx, b)
	wg.Wait()
	e.mu.Lock()
	defer e.mu.Unlock()
	want := map[string]int{`{"p":0}:4`: 1, `{"p":1}:4`: 1}
	got := map[string]int{}
	for _, s := range e.batches {
		got[s]++
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("batches (-want +got):\n%s", diff)
	}
}

func TestQueueFull(t *testing.T) {
	b := batch.New(batch.WithMaxSize(2), batch.WithMaxQueue(3))
	ctx, cancel := context.WithCancel(context.Background())
	go b.Submit(ctx, nil, raw(1, 2, 3))
	for b.QueueDepth() != 3 {
		time.Sleep(time.Millisecond)
	}
	if _, err := b.Submit(context.Background(), nil, raw(4)); !errors.Is(err, batch.ErrQueueFull) {
		t.Errorf("Submit over the limit = %v, want ErrQueueFull", err)
	}
	cancel()
	// The abandoned request's instances leave the queue when a consumer sees them.
	// Until a consumer has seen them, the queue may still be full: retry.
	go func() {
		for {
			if _, err := b.Submit(context.Background(), nil, raw(5)); !errors.Is(err, batch.ErrQueueFull) {
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	nctx, ncancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer ncancel()
	bt, err := b.Next(nctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(raw(5), bt.Instances); diff != "" {
		t.Errorf("batch after an abandoned request (-want +got):\n%s", diff)
	}
	bt.Complete(bt.Instances)
	if d := b.QueueDepth(); d != 0 {
		t.Errorf("QueueDepth = %d, want 0", d)
	}
}

func TestFailAndClose(t *testing.T) {
	b := batch.New(batch.WithMaxSize(4), batch.WithMaxDelay(0))
	boom := errors.New("boom")
	done := make(chan error, 2)
	go func() { _, err := b.Submit(context.Background(), nil, raw(1)); done <- err }()
	bt, err := b.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	bt.Fail(boom)
	if err := <-done; !errors.Is(err, boom) {
		t.Errorf("Submit after Fail = %v, want %v", err, boom)
	}
	go func() { _, err := b.Submit(context.Background(), nil, raw(2)); done <- err }()
	for b.QueueDepth() != 1 {
		time.Sleep(time.Millisecond)
	}
	b.Close()
	if err := <-done; !errors.Is(err, batch.ErrClosed) {
		t.Errorf("Submit after Close = %v, want ErrClosed", err)
	}
}

func TestCompleteWithWrongCountFails(t *testing.T) {
	b := batch.New(batch.WithMaxDelay(0))
	done := make(chan error, 1)
	go func() { _, err := b.Submit(context.Background(), nil, raw(1, 2)); done <- err }()
	bt, err := b.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	bt.Complete(raw(1))
	if err := <-done; err == nil {
		t.Error("Submit after a short Complete = nil error")
	}
}

func TestSplitIsolatesRequests(t *testing.T) {
	b := batch.New(batch.WithMaxSize(4), batch.WithMaxDelay(time.Hour))
	type res struct {
		preds []json.RawMessage
		err   error
	}
	done := make([]chan res, 3)
	for i, in := range [][]json.RawMessage{raw(1), raw(2, 3), raw(4)} {
		done[i] = make(chan res, 1)
		go func() { p, err := b.Submit(context.Background(), nil, in); done[i] <- res{p, err} }()
		for b.QueueDepth() != 1+i+min(i, 1) {
			time.Sleep(time.Millisecond)
		}
	}
	bt, err := b.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	subs := bt.Split()
	if len(subs) != 3 {
		t.Fatalf("Split = %d batches, want 3", len(subs))
	}
	boom := errors.New("boom")
	subs[0].Complete(subs[0].Instances)
	subs[1].Fail(boom)
	subs[2].Complete(subs[2].Instances)
	if r := <-done[0]; r.err != nil || !cmp.Equal(r.preds, raw(1)) {
		t.Errorf("request 0 = %s, %v; want [1]", r.preds, r.err)
	}
	if r := <-done[1]; !errors.Is(r.err, boom) {
		t.Errorf("request 1 = %v, want boom", r.err)
	}
	if r := <-done[2]; r.err != nil || !cmp.Equal(r.preds, raw(4)) {
		t.Errorf("request 2 = %s, %v; want [4]", r.preds, r.err)
	}
}

// A consumer waiting for its turn while another waits for requests leaves as
// soon as its context ends: a worker that died idle is noticed at once, not
// when the next request is handed to it.
func TestWaitingConsumerLeavesOnCancel(t *testing.T) {
	b := batch.New(batch.WithMaxDelay(0))
	got := make(chan *batch.Batch, 1)
	go func() {
		bt, err := b.Next(context.Background())
		if err == nil {
			got <- bt
		}
	}()
	time.Sleep(20 * time.Millisecond) // let the first consumer take its turn
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := b.Next(ctx); errc <- err }()
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Next = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a consumer waiting its turn did not leave when its context ended")
	}
	res := make(chan error, 1)
	go func() {
		_, err := b.Submit(context.Background(), nil, []json.RawMessage{json.RawMessage(`1`)})
		res <- err
	}()
	bt := <-got
	bt.Complete([]json.RawMessage{json.RawMessage(`2`)})
	if err := <-res; err != nil {
		t.Fatal(err)
	}
}
