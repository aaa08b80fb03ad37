#!/usr/bin/env bash
# bench-serve: hfpack-sidecar + worker against FastAPI under uvicorn, on
# loopback with wrk, serving the same handlers:
#   trivial  - serving overhead;
#   batch    - fixed cost per call plus a small cost per instance (batching's gain).
# Prints requests/s, p50/p99 latency and the sidecar/FastAPI ratios.
# Needs: go, wrk, curl, Debian's python3 with python3-fastapi and python3-uvicorn.
# Env: BENCH_DURATION (default 5s), BENCH_CONNECTIONS (32), BENCH_PYTHON (/usr/bin/python3).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
duration=${BENCH_DURATION:-5s}
conns=${BENCH_CONNECTIONS:-32}
py=${BENCH_PYTHON:-/usr/bin/python3}
port_sidecar=${BENCH_PORT:-18480}
port_fastapi=$((port_sidecar + 1))

for tool in wrk curl go "$py"; do
  command -v "$tool" >/dev/null || { echo "bench-serve: $tool not found (apt-get install wrk python3-fastapi python3-uvicorn)" >&2; exit 1; }
done
"$py" -c 'import fastapi, uvicorn' 2>/dev/null || { echo "bench-serve: $py lacks fastapi/uvicorn (apt-get install python3-fastapi python3-uvicorn)" >&2; exit 1; }

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

(cd "$root" && CGO_ENABLED=0 go build -o "$work/hfpack-sidecar" ./cmd/hfpack-sidecar)
mkdir -p "$work/model" && echo '{}' > "$work/model/config.json"

wait_healthy() { # url
  for _ in $(seq 1 300); do
    curl -fs -o /dev/null "$1" && return 0
    sleep 0.1
  done
  echo "bench-serve: $1 never became healthy" >&2; return 1
}

stop_last() {
  local p=${pids[-1]}
  kill "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
  unset 'pids[-1]'
}

# run_wrk NAME URL -> prints a row, records "rps p50 p99" in $work/NAME
run_wrk() {
  curl -fs -o /dev/null -H 'Content-Type: application/json' -d '{"instances":[{"text":"warm"}]}' "$2" # warm up
  wrk -t2 -c"$conns" -d1s -s "$here/post.lua" "$2" >/dev/null 2>&1 || true
  local line
  line=$(wrk -t2 -c"$conns" -d"$duration" --timeout 10s -s "$here/post.lua" "$2" | grep '^RESULT')
  read -r _ rps p50 p99 non2xx errs <<<"$line"
  printf '%-30s %10s req/s   p50 %8s ms   p99 %8s ms   non-2xx %s  errors %s\n' "$1" "$rps" "$p50" "$p99" "$non2xx" "$errs"
  echo "$rps $p50 $p99" >"$work/$1"
}

sidecar() { # name handler extra-flags...
  local name=$1 handler=$2; shift 2
  "$work/hfpack-sidecar" --host 127.0.0.1 --port "$port_sidecar" --model "$work/model" \
    --handler "$handler" --python "$py" "$@" >"$work/$name.log" 2>&1 &
  pids+=($!)
  wait_healthy "http://127.0.0.1:$port_sidecar/health"
  run_wrk "$name" "http://127.0.0.1:$port_sidecar/predict"
  stop_last
}

fastapi() { # name handler
  local name=$1 handler=$2
  (cd "$here" && BENCH_HANDLER=$handler BENCH_MODEL_DIR=$work/model exec "$py" -m uvicorn fastapi_app:app \
    --host 127.0.0.1 --port "$port_fastapi" --log-level warning --no-access-log) >"$work/$name.log" 2>&1 &
  pids+=($!)
  wait_healthy "http://127.0.0.1:$port_fastapi/health"
  run_wrk "$name" "http://127.0.0.1:$port_fastapi/predict"
  stop_last
}

ratio() { # name-a name-b field(1 rps, 3 p99)
  awk -v f="$3" 'NR==FNR { a=$f; next } { b=$f } END { if (b > 0) printf "%.2f", a/b; else print "n/a" }' "$work/$1" "$work/$2"
}

echo "hfpack bench-serve: wrk -c$conns -d$duration on loopback, $(nproc) CPUs, $("$py" --version 2>&1)"
fastapi  fastapi-trivial        "$here/trivial_handler.py"
sidecar  sidecar-trivial        "$here/trivial_handler.py" --max-batch-size 32 --max-batch-delay 1ms
fastapi  fastapi-batch          "$here/batch_handler.py"
sidecar  sidecar-batch-off      "$here/batch_handler.py" --max-batch-size 1 --max-batch-delay 0s
sidecar  sidecar-batch          "$here/batch_handler.py" --max-batch-size 32 --max-batch-delay 1ms

echo
echo "trivial: sidecar/fastapi throughput $(ratio sidecar-trivial fastapi-trivial 1)x, p99 $(ratio sidecar-trivial fastapi-trivial 3)x"
echo "batch:   sidecar/fastapi throughput $(ratio sidecar-batch fastapi-batch 1)x, p99 $(ratio sidecar-batch fastapi-batch 3)x"
echo "batch:   batching on/off throughput $(ratio sidecar-batch sidecar-batch-off 1)x"
