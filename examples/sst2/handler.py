"""Custom handler for the sst2 example: a bag-of-words sentiment classifier.

The handler contract (see the README): load(model_dir) returns any state;
predict(state, instances, parameters) returns one prediction per instance.
This one needs no torch: it reads model.safetensors with the standard library
and tokenizes with demo_text, the locked hfpack-demo-text wheel.
"""

import json
import math
import os
import struct

from demo_text import encode

_DTYPES = {"F32": ("f", 4)}


def _read_safetensors(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        fmt, size = _DTYPES[info["dtype"]]
        start, end = info["data_offsets"]
        values = struct.unpack("<%d%s" % ((end - start) // size, fmt), data[start:end])
        tensors[name] = (info["shape"], values)
    return tensors


def load(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        config = json.load(f)
    with open(os.path.join(model_dir, "vocab.txt")) as f:
        vocab = {w: i for i, w in enumerate(f.read().split("\n")) if w}
    tensors = _read_safetensors(os.path.join(model_dir, "model.safetensors"))
    (rows, labels), weight = tensors["classifier.weight"]
    _, bias = tensors["classifier.bias"]
    return {
        "vocab": vocab,
        "weight": [weight[r * labels:(r + 1) * labels] for r in range(rows)],
        "bias": bias,
        "labels": [config["id2label"][str(i)] for i in range(labels)],
    }


def _text(instance):
    if isinstance(instance, dict):
        instance = instance.get("text", "")
    if not isinstance(instance, str):
        raise ValueError("each instance must be a string or {\"text\": string}")
    return instance


def predict(state, instances, parameters):
    out = []
    for instance in instances:
        logits = list(state["bias"])
        for tok in encode(_text(instance), state["vocab"]):
            for j, w in enumerate(state["weight"][tok]):
                logits[j] += w
        top = max(logits)
        exps = [math.exp(v - top) for v in logits]
        best = max(range(len(exps)), key=exps.__getitem__)
        out.append({"label": state["labels"][best], "score": round(exps[best] / sum(exps), 4)})
    return out
