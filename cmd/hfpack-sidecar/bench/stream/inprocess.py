"""Baseline for bench-stream: calls the handler's generate() in-process on
STREAMS threads at once, as the worker does, each running ROUNDS streams in
a row after a start offset of STAGGER seconds times its index, and prints
per stream the time to the first piece and each piece's delay from its
yield to its consumer (nanoseconds, JSON)."""

import importlib.util
import json
import sys
import threading
import time

handler_path, streams, params = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
rounds, stagger = int(sys.argv[4]), float(sys.argv[5])
spec = importlib.util.spec_from_file_location("handler", handler_path)
handler = importlib.util.module_from_spec(spec)
spec.loader.exec_module(handler)
state = handler.load("")
results = [[] for _ in range(streams)]
start = threading.Barrier(streams)


def run(i):
    start.wait()
    time.sleep(i * stagger)
    for _ in range(rounds):
        t0 = time.time_ns()
        ttfb, delays = None, []
        for piece in handler.generate(state, {"messages": [{"role": "user", "content": "x"}]}, params):
            now = time.time_ns()
            if ttfb is None:
                ttfb = now - t0
            delays.append(now - int(piece))
        results[i].append({"ttfb": ttfb, "delays": delays})


threads = [threading.Thread(target=run, args=(i,)) for i in range(streams)]
for t in threads:
    t.start()
for t in threads:
    t.join()
json.dump([r for rs in results for r in rs], sys.stdout)
