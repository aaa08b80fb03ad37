// Package protocol is the framed wire protocol between hfpack-sidecar and the
// Python worker (templates/worker/hfpack_worker.py).
//
// Every message is one frame: a 4-byte big-endian length N followed by N
// bytes of a UTF-8 JSON object with a "type" field. The worker connects to the
// Unix socket the sidecar listens on and speaks first:
//
//	worker  → sidecar  {"type":"hello","protocol":3,"pid":123,"python":"3.11.7"}
//	worker  → sidecar  {"type":"ready","generate":true,"import_seconds":0.01,"load_seconds":2.5}
//	                   model loaded; generate() defined; time spent importing the handler and in load()
//	worker  → sidecar  {"type":"load_error","error":"...","traceback":"..."}  then exits
//	sidecar → worker   {"type":"predict","id":7,"parameters":{...},"instances":[...]}
//	worker  → sidecar  {"type":"result","id":7,"predictions":[...]}
//	worker  → sidecar  {"type":"error","id":7,"error":"...","traceback":"..."}
//	sidecar → worker   {"type":"generate","id":8,"window":262144,"parameters":{...},"instance":{...}}
//	worker  → sidecar  {"type":"piece","id":8,"data":"Hello"}   one per yielded piece
//	sidecar → worker   {"type":"ack","id":8,"bytes":131072}      pieces the client has taken
//	worker  → sidecar  {"type":"wait","id":8}                    the window is full
//	worker  → sidecar  {"type":"end","id":8}                     or an error frame
//	sidecar → worker   {"type":"cancel","id":8}                  client gone or deadline passed
//	worker  → sidecar  {"type":"end","id":8,"cancelled":true}    generator closed
//	sidecar → worker   {"type":"shutdown"}
//
// Batches run one at a time, in order, on one worker thread; each generation
// runs on a thread of its own, its pieces interleaved with other frames. A
// cancel closes the generator before its next piece is sent. Ids are unique
// per connection, so answers are matched to requests by id.
//
// A generation's pieces are flow-controlled: the worker keeps at most
// "window" bytes of piece frames (payload lengths) unacknowledged, sending
// a larger piece only when none are; when the next piece does not fit it
// sends a wait frame and blocks the generator until an ack makes room. The
// sidecar acks every half window its client has taken, and at once after a
// wait, so a slow client slows the generator instead of filling memory.
package protocol
