// Package bench compares, on one BuildKit daemon, hfpack's LLB build with
// the conventional Dockerfile build (the wheels bind-mounted into a RUN of
// pip install --no-index --no-deps, as Cog-style tools do; the base carries
// Debian's python3-pip), cold (after `buildctl prune --all`), warm
// (everything cached) and after a one-line handler edit; and the embedded
// builder against both. It prints the ratios. It is a benchmark, run by
// `make bench-buildkit`, never a timed test:
//
//	go test ./builder/llb/bench -run '^$' -bench BuildKit -benchtime 1x \
//	    -args -wheels 6 -wheel-mb 16 -model-mb 32
package bench
