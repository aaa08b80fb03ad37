#!/usr/bin/env bash
# gpu-check: the default transformers handler on a GPU. Builds a tiny
# random-weight BERT, serves it with hfpack-sidecar + worker, checks the
# predictions, and measures throughput with batching off and on.
# Needs a Python with torch (CUDA) and transformers: PYTHON=/path/to/python3.
# Run from the repository root on the GPU machine (the sidecar binary is
# built here, or pass SIDECAR=/path/to/hfpack-sidecar).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
py=${PYTHON:-python3}
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$work"' EXIT
sidecar=${SIDECAR:-}
if [ -z "$sidecar" ]; then
  (cd "$here/../../.." && CGO_ENABLED=0 go build -o "$work/hfpack-sidecar" ./cmd/hfpack-sidecar)
  sidecar=$work/hfpack-sidecar
fi
"$py" -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")'
"$py" "$here/tiny_bert.py" "$work/model"

serve() { # max-batch-size
  "$sidecar" --host 127.0.0.1 --port 18580 --model "$work/model" --task text-classification \
    --python "$py" --max-batch-size "$1" --max-batch-delay 2ms >"$work/sidecar.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 600); do curl -fs -o /dev/null http://127.0.0.1:18580/health && return 0; sleep 0.2; done
  cat "$work/sidecar.log"; return 1
}

serve 32
curl -fsS -H 'Content-Type: application/json' -d '{"instances":["w1 w2 w3","w4 w5"]}' http://127.0.0.1:18580/predict | tee "$work/pred.json"; echo
"$py" -c 'import json,sys; p=json.load(open(sys.argv[1]))["predictions"]; assert len(p)==2 and all("label" in x and "score" in x for x in p), p; print("predictions ok")' "$work/pred.json"
measure() { echo "max-batch-size $1: $("$py" "$here/load.py" http://127.0.0.1:18580/predict 32 "${DURATION:-10}")"; }
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=; }
measure 32
stop
serve 1
measure 1
stop
