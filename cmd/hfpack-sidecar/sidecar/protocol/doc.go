// Package protocol is the framed wire protocol between hfpack-sidecar and the
// Python worker (templates/worker/hfpack_worker.py).
//
// Every message is one frame: a 4-byte big-endian length N followed by N
// bytes of a UTF-8 JSON object with a "type" field. The worker connects to the
// Unix socket the sidecar listens on and speaks first:
//
//	worker  → sidecar  {"type":"hello","protocol":2,"pid":123,"python":"3.11.7"}
//	worker  → sidecar  {"type":"ready","generate":true}      model loaded; generate() defined
//	worker  → sidecar  {"type":"load_error","error":"...","traceback":"..."}  then exits
//	sidecar → worker   {"type":"predict","id":7,"parameters":{...},"instances":[...]}
//	worker  → sidecar  {"type":"result","id":7,"predictions":[...]}
//	worker  → sidecar  {"type":"error","id":7,"error":"...","traceback":"..."}
//	sidecar → worker   {"type":"generate","id":8,"parameters":{...},"instance":{...}}
//	worker  → sidecar  {"type":"piece","id":8,"data":"Hello"}   one per yielded piece
//	worker  → sidecar  {"type":"end","id":8}                     or an error frame
//	sidecar → worker   {"type":"cancel","id":8}                  client gone or deadline passed
//	worker  → sidecar  {"type":"end","id":8,"cancelled":true}    generator closed
//	sidecar → worker   {"type":"shutdown"}
//
// Batches run one at a time, in order, on one worker thread; each generation
// runs on a thread of its own, its pieces interleaved with other frames. A
// cancel closes the generator before its next piece is sent. Ids are unique
// per connection, so answers are matched to requests by id.
package protocol
