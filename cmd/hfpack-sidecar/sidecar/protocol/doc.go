// Package protocol is the framed wire protocol between hfpack-sidecar and the
// Python worker (templates/worker/hfpack_worker.py).
//
// Every message is one frame: a 4-byte big-endian length N followed by N
// bytes of a UTF-8 JSON object with a "type" field. The worker connects to the
// Unix socket the sidecar listens on and speaks first:
//
//	worker  → sidecar  {"type":"hello","protocol":1,"pid":123,"python":"3.11.7"}
//	worker  → sidecar  {"type":"ready"}                      model loaded
//	worker  → sidecar  {"type":"load_error","error":"...","traceback":"..."}  then exits
//	sidecar → worker   {"type":"predict","id":7,"parameters":{...},"instances":[...]}
//	worker  → sidecar  {"type":"result","id":7,"predictions":[...]}
//	worker  → sidecar  {"type":"error","id":7,"error":"...","traceback":"..."}
//	sidecar → worker   {"type":"shutdown"}
//
// One predict is in flight at a time; the worker answers in order.
package protocol
