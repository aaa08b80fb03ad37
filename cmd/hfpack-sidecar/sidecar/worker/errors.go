package worker

import "errors"

// ErrCrashed fails the requests of a batch during which the worker died.
var ErrCrashed = errors.New("worker exited while predicting")

// ErrHung fails the requests of a batch that outlived every request's
// deadline; the worker is killed and restarted.
var ErrHung = errors.New("worker did not answer before the request deadline")
