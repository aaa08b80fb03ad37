# A CPU-bound, GIL-holding handler for bench-workers: each instance is a
# pure-Python loop of `n` iterations (parameters) and returns its sum.


def load(model_dir):
    return None


def predict(state, instances, parameters):
    n = int(parameters.get("n", 200000))
    out = []
    for _ in instances:
        s = 0
        for i in range(n):
            s += i * i % 7
        out.append(s)
    return out
