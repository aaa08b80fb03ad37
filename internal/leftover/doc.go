// Package leftover tells the temporary files and directories of a running
// hfpack process from those a killed one left behind, and removes the
// latter.
//
// A writer holds its temporary path (Hold) until it has renamed it into
// place or removed it: an exclusive flock on an open descriptor, which the
// kernel drops when the process dies, however it dies. Clean removes the
// entries of a directory whose names start with a prefix only hfpack uses,
// that are older than a grace period (which covers the moment between
// creating a path and holding it) and that no process holds. A concurrent
// build's live temporary is never removed.
//
// Share and Exclusive lock a whole directory the same way: the builds
// using a cache share its lock file, a prune of the cache takes it alone.
//
// Where flock is not available, Clean falls back to age alone (a day),
// Share does not wait, and Exclusive fails with errors.ErrUnsupported.
package leftover
