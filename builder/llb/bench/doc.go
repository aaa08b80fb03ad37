// Package bench compares, on one BuildKit daemon, hfpack's LLB build with
// the conventional Dockerfile build (the wheels bind-mounted into a RUN of
// pip install --no-index --no-deps, as Cog-style tools do; the base carries
// Debian's python3-pip), cold (after `buildctl prune --all`, and for hfpack
// an empty build cache), warm (everything cached) and after a one-line
// handler edit (each the median of -reps runs, default 3); and the embedded
// builder against both. It prints the ratios and the load average. It is a benchmark, run by
// `make bench-buildkit`, never a timed test:
//
//	go test ./builder/llb/bench -run '^$' -bench BuildKit -benchtime 1x \
//	    -args -wheels 6 -wheel-mb 16 -model-mb 32
//
// Each hfpack run does what `hfpack build --output oci:NEW_DIR` does with
// its builder: build (the LLB through llb.Backend, which has the daemon
// export into the build cache's content store), then publish into a new
// OCI layout; with -push, what `hfpack build --push` does (for the LLB:
// the daemon pushes the image by digest, llb.WithDaemonPush, and publish
// moves the tag). The Dockerfile build keeps its reproducible settings
// (SOURCE_DATE_EPOCH, rewrite-timestamp=true) and exports a new OCI tar
// each run, as `buildctl --output type=oci,dest=FILE` does.
package bench
