package resolve

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// syntheticIndex is shaped like a Hugging Face stack: n projects with
// several versions each, where project i depends on a few projects after it,
// with ranges that force older versions, markers and an extra.
func syntheticIndex(n, versions int) memIndex {
	index := memIndex{}
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("p%02d", i)
		for j := versions; j >= 1; j-- {
			var deps []string
			for k := 1; k <= 3 && i+k*7 < n; k++ {
				dep := fmt.Sprintf("p%02d", i+k*7)
				switch k {
				case 1:
					deps = append(deps, fmt.Sprintf("%s>=%d.0,<%d.0", dep, max(1, j-3), versions))
				case 2:
					deps = append(deps, dep+`; sys_platform == "linux"`)
				case 3:
					deps = append(deps, dep+`; extra == "all"`, dep+`; sys_platform == "win32"`)
				}
			}
			mv := v(fmt.Sprintf("%d.0", j), deps...).provides("all")
			if j == versions && i%5 == 0 {
				mv = mv.excluded(NoCompatibleWheel, "built for CPython 3.12")
			}
			index[name] = append(index[name], mv)
		}
	}
	return index
}

// slowProvider adds a fixed latency to every call, like an index over HTTP.
type slowProvider struct {
	Provider
	delay time.Duration
}

func (p slowProvider) Versions(ctx context.Context, name string) ([]Candidate, error) {
	time.Sleep(p.delay)
	return p.Provider.Versions(ctx, name)
}

func (p slowProvider) Dependencies(ctx context.Context, name string, c Candidate) (Dependencies, error) {
	time.Sleep(p.delay)
	return p.Provider.Dependencies(ctx, name, c)
}

func TestSyntheticIndexResolves(t *testing.T) {
	r := mustResolve(t, syntheticIndex(70, 8), []string{"p00[all]", "p01", "p02", "p03", "p04", "p05", "p06"})
	if len(r.Packages) != 70 {
		t.Errorf("resolved %d packages, want all 70", len(r.Packages))
	}
}

// BenchmarkResolve compares sequential Provider calls (the baseline) with
// prefetching, against a provider with 1 ms latency per call.
func BenchmarkResolve(b *testing.B) {
	index := syntheticIndex(70, 8)
	roots := reqs("p00[all]", "p01", "p02", "p03", "p04", "p05", "p06")
	var perOp [2]float64
	for i, conc := range []int{1, 16} {
		b.Run(fmt.Sprintf("latency1ms/concurrency%d", conc), func(b *testing.B) {
			for b.Loop() {
				p := slowProvider{Provider: newProvider(index), delay: time.Millisecond}
				if _, err := Resolve(context.Background(), p, roots, linux311, WithConcurrency(conc)); err != nil {
					b.Fatal(err)
				}
			}
			perOp[i] = float64(b.Elapsed()) / float64(b.N)
		})
	}
	if perOp[1] > 0 {
		b.Logf("prefetching is %.1fx faster than sequential calls", perOp[0]/perOp[1])
	}
	b.Run("in-memory", func(b *testing.B) {
		for b.Loop() {
			if _, err := Resolve(context.Background(), newProvider(index), roots, linux311); err != nil {
				b.Fatal(err)
			}
		}
	})
}
