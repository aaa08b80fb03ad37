# hfpack — make targets. `make demo` builds the bundled example image;
# `make test` installs what the tests need and runs the whole suite.

GO        ?= go
BIN       ?= $(CURDIR)/bin
PKGS      ?= ./...
# Static, reproducible binaries: no cgo, no local paths, VCS stamped.
GOBUILD   = CGO_ENABLED=0 $(GO) build -trimpath -buildvcs=auto
FUZZTIME  ?= 10s

.PHONY: all build demo test unit setup lint fuzz e2e release clean bench-serve bench-stream bench-workers bench-build bench-lock bench-buildkit bench-hub bench-coldstart bases-refresh buildkit

all: build

build:
	$(GOBUILD) -o $(BIN)/hfpack ./cmd/hfpack
	$(GOBUILD) -o $(BIN)/hfpack-sidecar ./cmd/hfpack-sidecar

## demo: lock and build the bundled example into an OCI layout (see README).
demo: build
	bash examples/sst2/demo.sh

## test: the whole suite, as CI runs it: setup, lint, unit and e2e tests.
test: setup lint unit

## setup: install the Debian packages and build the tools the tests use.
setup:
	bash e2e/setup.sh

unit:
	$(GO) test -race -timeout 30m -count=1 $(PKGS)

lint:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) mod tidy -diff

## fuzz: run every fuzz target briefly (FUZZTIME each), one after the
## other, and report every failing one at the end (not only the first). A
## failure leaves its input in the package's testdata/fuzz/FuzzX/: commit
## it as a regression seed once fixed. A run that fails with no new input
## is Go 1.26's fuzztime race (golang/go#75804: "context deadline
## exceeded" as the time runs out), reported as a flake, not a failure.
fuzz:
	@failed=""; flaky=""; \
	for dir in $$(git grep -l '^func Fuzz' -- '*_test.go' | xargs -n1 dirname | sort -u); do \
	  for f in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$dir/*_test.go); do \
	    echo "== ./$$dir $$f"; \
	    before=$$(ls $$dir/testdata/fuzz/$$f 2>/dev/null | wc -l); \
	    if ! $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 2s ./$$dir; then \
	      if [ "$$(ls $$dir/testdata/fuzz/$$f 2>/dev/null | wc -l)" -gt "$$before" ]; then \
	        failed="$$failed ./$$dir:$$f"; else flaky="$$flaky ./$$dir:$$f"; fi; \
	    fi; \
	  done; \
	done; \
	if [ -n "$$flaky" ]; then echo "fuzz: failed with no new input (golang/go#75804):$$flaky"; fi; \
	if [ -n "$$failed" ]; then \
	  echo "fuzz: failing targets:$$failed"; \
	  git status --short --untracked-files=all -- '*testdata/fuzz/*'; \
	  exit 1; \
	fi

e2e: setup
	$(GO) test -count=1 -timeout 40m -v ./e2e/...

## Benchmarks: each compares hfpack with a baseline in the same run and
## prints ratios (timings on a shared machine are noisy; never assert them).
bench-serve: build
	@command -v wrk >/dev/null && /usr/bin/python3 -c 'import fastapi, uvicorn' 2>/dev/null || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk curl python3-fastapi python3-uvicorn)
	bash cmd/hfpack-sidecar/bench/bench-serve.sh
## bench-stream: what the sidecar adds to a streamed generation's first byte
## and to each piece, against the handler called in-process, at 1 and 64 streams.
bench-stream:
	$(GO) run ./cmd/hfpack-sidecar/bench/stream -streams $${BENCH_STREAMS:-1,64}
## bench-workers: a CPU-bound handler's throughput with [serving] workers 1 vs 2 (goal: 1.7x on 2 CPUs)
bench-workers:
	$(GO) run ./cmd/hfpack-sidecar/bench/workers -workers $${BENCH_WORKERS:-1,2}
# bench-build: BENCH_SIZE of weights (4 shards) plus a quarter of it in wheels
# of many files; BENCH_PUSH=1 adds the push against skopeo copy (needs
# docker-registry and skopeo). The issue's size: BENCH_SIZE=16GiB BENCH_PUSH=1.
bench-build:
	$(GO) run ./builder/bench -size $${BENCH_SIZE:-1GiB} $${BENCH_PUSH:+-push}
# bench-lock: BENCH_LATENCY=20ms puts the loopback indexes one round trip away.
bench-lock: build
	$(GO) run ./lockfile/bench -hfpack $(BIN)/hfpack -latency $${BENCH_LATENCY:-0s}
## bench-coldstart: the AIP_STORAGE_URI download of a BENCH_COLDSTART_SIZE model from the GCS
## stand-in (20 ms per request, 50 MB/s per connection) against one sequential stream, and the
## sidecar's start to health 200 against reading the model once (BENCH_COLDSTART_DIR: where).
bench-coldstart:
	$(GO) run ./cmd/hfpack-sidecar/bench/coldstart -size $${BENCH_COLDSTART_SIZE:-4GiB} $${BENCH_COLDSTART_DIR:+-dir $$BENCH_COLDSTART_DIR}
## bench-hub: a BENCH_HUB_SIZE model from the stand-in Hub (20 ms per request, 50 MB/s per
## connection): hfpack's parallel ranged fetch against one sequential stream, ratio and peak RSS.
bench-hub:
	$(GO) run ./hub/bench -size $${BENCH_HUB_SIZE:-4GiB} $${BENCH_HUB_DIR:+-dir $$BENCH_HUB_DIR}
BENCH_WHEELS ?= 6
BENCH_WHEEL_MB ?= 16
BENCH_MODEL_MB ?= 32
BENCH_FILE_KB ?= 256
bench-buildkit: setup
	$(GO) test ./builder/llb/bench -run '^$$' -bench BuildKit -benchtime 1x -timeout 30m \
	  -args -wheels $(BENCH_WHEELS) -wheel-mb $(BENCH_WHEEL_MB) -model-mb $(BENCH_MODEL_MB) \
	  -file-kb $(BENCH_FILE_KB) $(if $(BENCH_PUSH),-push)

## bases-refresh: re-resolve base image digests and runtime checksums (network);
## PYTHON_RELEASE=20260901 moves the Python runtimes to that python-build-standalone release.
bases-refresh:
	$(GO) run ./baseimages/cmd/refresh -data baseimages/data $(if $(PYTHON_RELEASE),-python-release $(PYTHON_RELEASE))

## buildkit: build buildkitd and buildctl from the module version in go.mod.
buildkit:
	$(GO) run ./e2e/cmd/e2e-prepare -base=false

## release: static binaries for every platform, and their SHA256SUMS. The
## output depends only on the commit and the Go version: two runs give the
## same checksums (no paths, no build IDs of temp dirs, VCS stamp kept).
RELEASE_PLATFORMS ?= linux/amd64 linux/arm64 darwin/arm64
release:
	rm -rf dist && mkdir -p dist
	@set -e; for p in $(RELEASE_PLATFORMS); do \
	  os=$${p%/*}; arch=$${p#*/}; \
	  echo "building hfpack for $$os/$$arch"; \
	  GOOS=$$os GOARCH=$$arch $(GOBUILD) -ldflags=-buildid= -o dist/hfpack_$${os}_$${arch} ./cmd/hfpack; \
	  GOOS=linux GOARCH=$$arch $(GOBUILD) -ldflags=-buildid= -o dist/hfpack-sidecar_linux_$${arch} ./cmd/hfpack-sidecar; \
	done
	cd dist && sha256sum hfpack* > SHA256SUMS && cat SHA256SUMS

clean:
	rm -rf $(BIN) dist
