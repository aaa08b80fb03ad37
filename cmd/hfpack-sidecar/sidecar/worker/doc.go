// Package worker starts and supervises the Python worker process: it listens
// on a private Unix socket, starts the worker, waits for it to load the
// handler, feeds it batches, and restarts it with exponential backoff when it
// exits, hangs past a batch's deadline or breaks the protocol. Its Status is
// what the health route reports.
package worker
