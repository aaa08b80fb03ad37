"""Baseline for bench-stream: calls the handler's generate() in-process on
STREAMS threads at once, as the worker does, and prints per stream the time
to the first piece and each piece's delay from its yield to its consumer
(nanoseconds, JSON)."""

import importlib.util
import json
import sys
import threading
import time

handler_path, streams, params = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
spec = importlib.util.spec_from_file_location("handler", handler_path)
handler = importlib.util.module_from_spec(spec)
spec.loader.exec_module(handler)
state = handler.load("")
results = [None] * streams
start = threading.Barrier(streams)


def run(i):
    start.wait()
    t0 = time.time_ns()
    ttfb, delays = None, []
    for piece in handler.generate(state, {"messages": [{"role": "user", "content": "x"}]}, params):
        now = time.time_ns()
        if ttfb is None:
            ttfb = now - t0
        delays.append(now - int(piece))
    results[i] = {"ttfb": ttfb, "delays": delays}


threads = [threading.Thread(target=run, args=(i,)) for i in range(streams)]
for t in threads:
    t.start()
for t in threads:
    t.join()
json.dump(results, sys.stdout)
