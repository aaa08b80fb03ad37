#!/usr/bin/env python3
"""hfpack worker: runs a model handler for hfpack-sidecar.

Standard library only (Python 3.8+): it adds nothing to the image's Python
environment. The sidecar starts it with

    python3 hfpack_worker.py --socket PATH --model-dir DIR
                             [--handler FILE] [--task TASK] [--debug]

It connects to the Unix socket PATH, loads the handler once and answers
batches. Frames are a 4-byte big-endian length and a UTF-8 JSON object (see
the Go package cmd/hfpack-sidecar/sidecar/protocol).

Handler contract (a Python file given with --handler):

    def load(model_dir):                          -> state (anything)
    def predict(state, instances, parameters):    -> list, one item per instance
    def preprocess(state, instances, parameters): -> what predict receives   (optional)
    def postprocess(state, predictions, parameters): -> final list           (optional)
    def generate(state, instance, parameters):    -> yields pieces           (optional)

generate() serves chat and completion requests, streamed or not: it is a
generator yielding text pieces (str) or dicts {"text": ..., "finish_reason":
..., "usage": {"prompt_tokens": N, "completion_tokens": M}}. instance is
{"messages": [...]} or {"prompt": "..."}; parameters holds the request's
generation options (max_tokens, temperature, top_p, stop, seed, ...). Each
generation runs on a thread of its own; when the client goes away or the
deadline passes, the generator is closed before its next piece.

Without --handler, a transformers pipeline for --task serves the model.
"""

import argparse
import importlib.util
import json
import os
import queue
import socket
import struct
import sys
import threading
import time

PROTOCOL = 3
_HEADER = struct.Struct(">I")
_MAX_FRAME = 256 << 20


GENERATIVE_TASKS = ("text-generation", "text2text-generation")


def _content(message):
    """The text of a chat message whose content is a string or a list of parts."""
    content = message.get("content") or ""
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return str(content)


class DefaultHandler:
    """Serves a Hugging Face model with transformers.pipeline."""

    def __init__(self, task):
        self.task = task or None

    def load(self, model_dir):
        from transformers import pipeline

        device = -1
        try:
            import torch

            if torch.cuda.is_available():
                device = 0
        except ImportError:
            pass
        return pipeline(self.task, model=model_dir, device=device)

    def predict(self, state, instances, parameters):
        params = dict(parameters)
        batch_size = params.pop("batch_size", len(instances))
        out = state(instances, batch_size=batch_size, **params)
        return list(out)

    def __getattr__(self, name):
        # generate() exists only for the generative tasks, so that the
        # worker announces it only where it works.
        if name == "generate" and self.task in GENERATIVE_TASKS:
            return self._generate
        raise AttributeError(name)

    def _generate(self, state, instance, parameters):
        """Streams a text-generation or text2text-generation model's output
        with transformers' TextIteratorStreamer, generation running in a
        thread; closing the generator stops the generation at its next token."""
        import threading

        import transformers

        tokenizer, model = state.tokenizer, state.model
        params = dict(parameters or {})
        if isinstance(instance, dict) and "messages" in instance:
            if getattr(tokenizer, "chat_template", None):
                prompt = tokenizer.apply_chat_template(instance["messages"], tokenize=False, add_generation_prompt=True)
            else:  # no chat template (most text2text models): the contents, one per line
                prompt = "\n".join(_content(m) for m in instance["messages"])
        elif isinstance(instance, dict) and "prompt" in instance:
            prompt = instance["prompt"]
        elif isinstance(instance, str):
            prompt = instance
        else:
            raise ValueError('instance must be {"messages": [...]}, {"prompt": "..."} or a string')
        if not isinstance(prompt, str):
            raise ValueError("prompt must be a string")
        max_new = params.get("max_new_tokens", params.get("max_tokens"))
        max_new = 256 if max_new is None else int(max_new)
        if max_new < 1:
            raise ValueError("max_tokens must be at least 1")
        stop = params.get("stop") or []
        if isinstance(stop, str):
            stop = [stop]
        if params.get("seed") is not None:
            transformers.set_seed(int(params["seed"]))

        inputs = tokenizer(prompt, return_tensors="pt")
        inputs = inputs.to(model.device)
        prompt_tokens = int(inputs["input_ids"].shape[-1])
        stopped = threading.Event()
        steps = [0]

        class _Stop(transformers.StoppingCriteria):
            def __call__(self, input_ids, scores, **kwargs):
                steps[0] += 1
                return stopped.is_set()

        streamer = transformers.TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
        kwargs = dict(inputs)
        kwargs.update(max_new_tokens=max_new, streamer=streamer, stopping_criteria=transformers.StoppingCriteriaList([_Stop()]))
        temperature = params.get("temperature")
        if temperature is not None and float(temperature) == 0:
            kwargs["do_sample"] = False
        elif temperature is not None or params.get("top_p") is not None:
            kwargs["do_sample"] = True
            if temperature is not None:
                kwargs["temperature"] = float(temperature)
            if params.get("top_p") is not None:
                kwargs["top_p"] = float(params["top_p"])
        failure = []

        def run():
            try:
                model.generate(**kwargs)
            except BaseException as exc:  # re-raised in the generator
                failure.append(exc)
                streamer.end()

        thread = threading.Thread(target=run, name="hfpack-model-generate", daemon=True)
        thread.start()
        finish = None
        text = ""
        sent = 0
        hold = max([len(s) for s in stop] or [0])
        try:
            for new in streamer:
                text += new
                cut = min([i for i in (text.find(s, max(sent - len(s), 0)) for s in stop) if i >= 0] or [-1])
                if cut >= 0:
                    if cut > sent:
                        yield text[sent:cut]
                    finish = "stop"
                    break
                # Keep back what could be the start of a stop sequence.
                upto = len(text) - (hold - 1 if hold else 0)
                if upto > sent:
                    yield text[sent:upto]
                    sent = upto
            if failure:
                raise failure[0]
            if finish is None and len(text) > sent:
                yield text[sent:]
        finally:
            stopped.set()
            thread.join()
        if finish is None:
            finish = "length" if steps[0] >= max_new else "stop"
        yield {"finish_reason": finish, "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": min(steps[0], max_new)}}


def load_handler(path, task):
    """Returns an object with load/predict and optional pre/postprocess."""
    if not path:
        return DefaultHandler(task)
    path = os.path.abspath(path)
    directory = os.path.dirname(path)
    if directory not in sys.path:
        sys.path.insert(0, directory)
    name = os.path.splitext(os.path.basename(path))[0]
    if name in sys.modules:  # never shadow an imported module (a handler named json.py)
        name = "hfpack_user_handler"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError("cannot import handler file %s" % path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    for required in ("load", "predict"):
        if not callable(getattr(module, required, None)):
            raise AttributeError("handler %s defines no %s() function" % (path, required))
    return module


def _default(obj):
    """Makes numpy/torch values and dataclasses JSON-serialisable."""
    tolist = getattr(obj, "tolist", None)
    if callable(tolist):
        return tolist()
    item = getattr(obj, "item", None)
    if callable(item):
        return item()
    if hasattr(obj, "__dataclass_fields__"):
        import dataclasses

        return dataclasses.asdict(obj)
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    if isinstance(obj, bytes):
        return obj.decode("utf-8", "replace")
    raise TypeError("%s is not JSON-serialisable" % type(obj).__name__)


def _encode(msg):
    return json.dumps(msg, default=_default, allow_nan=False, separators=(",", ":")).encode("utf-8")


def _describe(exc):
    text = str(exc)
    name = type(exc).__name__
    return "%s: %s" % (name, text) if text else name


class Channel:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.reader = self.sock.makefile("rb", buffering=1 << 16)

        self.lock = threading.Lock()

    def send(self, msg):
        self.send_raw(_encode(msg))

    def send_raw(self, body):
        frame = _HEADER.pack(len(body)) + body
        with self.lock:
            self.sock.sendall(frame)

    def recv(self):
        header = self.reader.read(4)
        if len(header) < 4:
            return None
        (n,) = _HEADER.unpack(header)
        if n > _MAX_FRAME:
            raise ValueError("frame of %d bytes exceeds the limit" % n)
        body = self.reader.read(n)
        if len(body) < n:
            return None
        return json.loads(body.decode("utf-8"))


def predict(handler, state, msg):
    instances = msg["instances"]
    parameters = msg.get("parameters") or {}
    pre = getattr(handler, "preprocess", None)
    post = getattr(handler, "postprocess", None)
    data = pre(state, instances, parameters) if callable(pre) else instances
    preds = handler.predict(state, data, parameters)
    if callable(post):
        preds = post(state, preds, parameters)
    if not isinstance(preds, (list, tuple)):
        tolist = getattr(preds, "tolist", None)
        if not callable(tolist):
            raise TypeError("handler returned %s, want a list with one prediction per instance" % type(preds).__name__)
        preds = tolist()
    if len(preds) != len(instances):
        raise ValueError("handler returned %d predictions for %d instances" % (len(preds), len(instances)))
    return list(preds)


def _traceback():
    """The exception being handled, formatted; traceback is imported only
    when one is (importing it is a tenth of the worker's start)."""
    import traceback

    return traceback.format_exc()


def _error(msg_id, exc):
    # The sidecar logs the traceback; clients see it only in debug mode.
    return {"type": "error", "id": msg_id, "error": _describe(exc), "traceback": _traceback()}


def run_predict(chan, handler, state, msg):
    reply = {"type": "result", "id": msg["id"]}
    try:
        reply["predictions"] = predict(handler, state, msg)
        body = _encode(reply)
    except Exception as exc:  # the handler's error goes to the client as a 500
        body = _encode(_error(msg["id"], exc))
    chan.send_raw(body)


class Flow:
    """One generation's cancellation and window: the bytes of piece frames
    sent that the sidecar has not yet acknowledged stay within the window
    (a larger piece goes alone), so a slow client pauses the generator."""

    def __init__(self, window):
        self.window = window or 0  # 0: no window
        self.unacked = 0
        self.cancelled = False
        self.cond = threading.Condition()

    def is_set(self):
        return self.cancelled

    def set(self):
        with self.cond:
            self.cancelled = True
            self.cond.notify_all()

    def ack(self, n):
        with self.cond:
            self.unacked = max(0, self.unacked - n)
            self.cond.notify_all()

    def room(self, chan, msg_id, n):
        """Waits until a piece frame of n bytes fits the window, telling
        the sidecar once per wait; False when cancelled meanwhile."""
        while True:
            with self.cond:
                if self.cancelled:
                    return False
                if not self.window or self.unacked == 0 or self.unacked + n <= self.window:
                    self.unacked += n
                    return True
                unacked = self.unacked
            chan.send({"type": "wait", "id": msg_id})
            with self.cond:
                while not self.cancelled and self.unacked == unacked:
                    self.cond.wait()


def run_generate(chan, handler, state, msg, cancelled):
    """Sends each piece the handler's generator yields, then an end frame.

    A cancel (client gone, deadline) closes the generator before its next
    piece is sent: the generator's finally blocks run, here, at once.
    """
    msg_id = msg["id"]
    gen = None
    try:
        gen = handler.generate(state, msg.get("instance"), msg.get("parameters") or {})
        for piece in gen:
            if cancelled.is_set():
                break
            body = _encode({"type": "piece", "id": msg_id, "data": piece})
            if not cancelled.room(chan, msg_id, len(body)):
                break
            chan.send_raw(body)
            if cancelled.is_set():
                break
        close = getattr(gen, "close", None)
        if callable(close):
            close()
        end = {"type": "end", "id": msg_id}
        if cancelled.is_set():
            end["cancelled"] = True
        chan.send_raw(_encode(end))
    except Exception as exc:
        try:
            close = getattr(gen, "close", None)
            if callable(close):
                close()
        except Exception:
            pass
        chan.send_raw(_encode(_error(msg_id, exc)))


def serve(chan, handler, state):
    """Runs batches one at a time on this (the main) thread, as the handler
    has always been called; a reader thread takes frames off the socket, and
    each generation runs on a thread of its own."""
    batches = queue.Queue()
    streams = {}  # id -> Flow
    lock = threading.Lock()
    # Generations run on a pool of threads that grows to the most ever
    # running at once (the sidecar bounds that) and is kept: starting a
    # thread per request would add its start-up to the first piece.
    jobs = queue.Queue()
    idle = [0]

    def generate_loop():
        while True:
            msg, cancelled = jobs.get()
            try:
                run_generate(chan, handler, state, msg, cancelled)
            finally:
                with lock:
                    streams.pop(msg["id"], None)
                    idle[0] += 1

    def start_generate(msg):
        cancelled = Flow(msg.get("window"))
        with lock:
            streams[msg["id"]] = cancelled
            spawn = idle[0] == 0
            if not spawn:
                idle[0] -= 1
        jobs.put((msg, cancelled))
        if spawn:
            threading.Thread(target=generate_loop, name="hfpack-generate", daemon=True).start()

    def read_loop():
        try:
            while True:
                msg = chan.recv()
                kind = None if msg is None else msg.get("type")
                if kind is None or kind == "shutdown":
                    batches.put(None)
                    return
                if kind == "predict":
                    batches.put(msg)
                elif kind == "generate":
                    start_generate(msg)
                elif kind == "cancel" or kind == "ack":
                    with lock:
                        flow = streams.get(msg["id"])
                    if flow is not None and kind == "cancel":
                        flow.set()
                    elif flow is not None:
                        flow.ack(msg.get("bytes", 0))
                else:
                    raise ValueError("unexpected message %r" % kind)
        except BaseException as exc:
            batches.put(exc)

    threading.Thread(target=read_loop, name="hfpack-reader", daemon=True).start()
    while True:
        msg = batches.get()
        if msg is None:
            break
        if isinstance(msg, BaseException):
            raise msg
        run_predict(chan, handler, state, msg)
    with lock:
        running = list(streams.values())
    for cancelled in running:
        cancelled.set()
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--socket", required=True)
    ap.add_argument("--model-dir", default="")
    ap.add_argument("--handler", default="")
    ap.add_argument("--task", default="")
    ap.add_argument("--debug", action="store_true", help="configure Python logging at DEBUG level")
    args = ap.parse_args(argv)
    if args.debug:
        import logging  # only here: importing it costs a start every time

        logging.basicConfig(level=logging.DEBUG)

    chan = Channel(args.socket)
    chan.send({"type": "hello", "protocol": PROTOCOL, "pid": os.getpid(), "python": sys.version.split()[0]})
    try:
        t0 = time.monotonic()
        handler = load_handler(args.handler, args.task)
        t1 = time.monotonic()
        state = handler.load(args.model_dir)
        t2 = time.monotonic()
    except BaseException as exc:  # report every load failure, SystemExit included
        # The sidecar logs the traceback as one entry; clients see only the error.
        chan.send({"type": "load_error", "error": _describe(exc), "traceback": _traceback()})
        return 1
    # The two durations let the sidecar's log say where a cold start goes.
    ready = {"type": "ready", "generate": callable(getattr(handler, "generate", None))}
    ready.update(import_seconds=round(t1 - t0, 6), load_seconds=round(t2 - t1, 6))
    chan.send(ready)
    return serve(chan, handler, state)


if __name__ == "__main__":
    sys.exit(main())
