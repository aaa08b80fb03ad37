// Package batch gathers the instances of concurrent prediction requests into
// batches: up to a maximum size, waiting at most a maximum delay after the
// oldest queued instance, never mixing requests whose parameters differ, and
// splitting a request larger than the maximum size across batches. Results
// are scattered back to each request in order.
//
// The queue is bounded in instances; Submit fails fast with ErrQueueFull
// rather than buffering without limit.
package batch
