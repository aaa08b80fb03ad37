#!/usr/bin/env bash
# The bundled example, end to end, with no internet beyond Debian's mirror
# and the Go module proxy (see the README for what is local and why):
#   1. serve the example's package index on 127.0.0.1:8765 (the PyPI stand-in),
#   2. assemble the Debian base image with python3 into .hfpack/base,
#   3. hfpack check, hfpack lock, hfpack build into out/sst2 (an OCI layout).
set -euo pipefail
cd "$(dirname "$0")/../.."
ex=examples/sst2
bin=${BIN:-$PWD/bin}
mkdir -p "$ex/.hfpack"

go build -o "$ex/.hfpack/gen" ./examples/sst2/gen
"$ex/.hfpack/gen" serve 127.0.0.1:8765 &
index_pid=$!
trap 'kill $index_pid 2>/dev/null || true' EXIT
for _ in $(seq 50); do
	curl -fsS -o /dev/null http://127.0.0.1:8765/simple/ 2>/dev/null && break
	sleep 0.1
done

bash e2e/setup.sh --no-buildkit --no-base   # Debian packages: debootstrap, skopeo, ...
if [ ! -f "$ex/.hfpack/base/index.json" ]; then
	echo "== assembling the base image (debootstrap, a few minutes the first time)"
	go run ./e2e/cmd/e2e-prepare -buildkit=false -base-layout "$ex/.hfpack/base"
fi

echo "== hfpack check"
"$bin/hfpack" check "$ex/hfpack.toml"
echo "== hfpack lock"
"$bin/hfpack" lock "$ex/hfpack.toml"
echo "== hfpack build"
digest=$("$bin/hfpack" build "$ex/hfpack.toml" --output "oci:$ex/out/sst2")
echo "== built $ex/out/sst2 with digest $digest"
echo "try it: skopeo inspect oci:$ex/out/sst2:latest"
