package worker

import "errors"

// ErrCrashed fails the requests of a batch during which the worker died.
var ErrCrashed = errors.New("worker exited while predicting")

// ErrHung fails the requests of a batch that outlived every request's
// deadline; the worker is killed and restarted.
var ErrHung = errors.New("worker did not answer before the request deadline")

// ErrNotReady is returned by Stream when no worker is ready.
var ErrNotReady = errors.New("worker not ready")

// ErrNoGenerate is returned by Stream when the handler defines no generate().
var ErrNoGenerate = errors.New("the handler defines no generate()")
