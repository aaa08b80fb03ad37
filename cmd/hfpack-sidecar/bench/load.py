"""Stdlib load generator: N threads POST one instance each for D seconds;
prints "RESULT rps p50_ms p99_ms errors"."""
import json
import sys
import threading
import time
import urllib.request

url, conns, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
body = json.dumps({"instances": ["w1 w2 w3 w4 w5 w6 w7 w8"]}).encode()
lat, errors, lock = [], [0], threading.Lock()
end = time.time() + secs


def worker():
    while time.time() < end:
        t = time.perf_counter()
        try:
            req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
            urllib.request.urlopen(req, timeout=30).read()
            with lock:
                lat.append(time.perf_counter() - t)
        except Exception:
            with lock:
                errors[0] += 1


threads = [threading.Thread(target=worker) for _ in range(conns)]
for t in threads:
    t.start()
for t in threads:
    t.join()
lat.sort()
pct = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else 0
print("RESULT %.1f %.2f %.2f %d" % (len(lat) / secs, pct(0.5), pct(0.99), errors[0]))
