"""Batch-friendly CPU handler: a fixed cost per call plus a small cost per
instance, like a model whose kernel launch and framework overhead dominate."""

import time

FIXED_S = 0.002
PER_INSTANCE_S = 0.0001


def _spin(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def load(model_dir):
    return None


def predict(state, instances, parameters):
    _spin(FIXED_S + PER_INSTANCE_S * len(instances))
    return [{"label": "ok", "n": len(instances)} for _ in instances]
