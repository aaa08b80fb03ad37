"""Stand-in generator for bench-stream: each piece is the time.time_ns() at
which it was yielded, so a consumer can tell how long the piece took to
reach it. Parameters: pieces, first (seconds before the first piece),
interval (seconds between pieces)."""

import time


def load(model_dir):
    return None


def predict(state, instances, parameters):
    return [None for _ in instances]


def generate(state, instance, parameters):
    pieces = parameters.get("pieces", 50)
    time.sleep(parameters.get("first", 0.005))
    for i in range(pieces):
        if i:
            time.sleep(parameters.get("interval", 0.01))
        yield "%d " % time.time_ns()
