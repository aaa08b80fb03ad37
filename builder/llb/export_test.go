package llb

// Received returns how many blobs were sent to s: writers it opened
// rather than refused because it had the blob.
func (s *Store) Received() int64 { return s.received.Load() }

var IsLoopback = isLoopback
