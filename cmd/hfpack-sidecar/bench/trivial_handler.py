"""Trivial handler: measures serving overhead only."""


def load(model_dir):
    return None


def predict(state, instances, parameters):
    return [{"label": "ok"} for _ in instances]
