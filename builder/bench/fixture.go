package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"math/bits"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"golang.org/x/sync/errgroup"

	"github.com/hfpack/hfpack/builder"
	"github.com/hfpack/hfpack/builder/layer"
	"github.com/hfpack/hfpack/builder/tree"
)

// chunk is the size of each "installed file" cut from a fake wheel; the
// bench sets it from -files.
var chunk int64 = 256 << 10

type fixture struct {
	inputs  builder.Inputs
	wheels  []string
	weights []string
	handler string
}

// shardShares split the weights as a 16 GiB model ships them: shards of
// 5, 4, 4 and 3 GiB (scaled with the size).
var shardShares = []int64{5, 4, 4, 3}

// makeFixture writes wheels bytes of wheel-like text in 8 "wheels" of
// skewed sizes and weights bytes of bf16 weights in 4 shards, plus a
// handler and a sidecar.
func makeFixture(dir string, wheels, weights int64) (*fixture, error) {
	fx := &fixture{}
	sp := "/usr/local/lib/python3.11/site-packages"
	fx.inputs = builder.Inputs{
		Name: "bench",
		Base: builder.BaseInput{Ref: "example.com/base", Digest: "sha256:" + strings.Repeat("0", 64),
			Python: "/usr/local/bin/python3", SitePackages: sp},
		ModelDir:        filepath.Join(dir, "model"),
		SourceDateEpoch: 1700000000,
	}
	var g errgroup.Group
	g.SetLimit(2)
	// Wheel sizes skewed as in a real lock: torch, then the CUDA libraries,
	// then a tail of small packages.
	for i, share := range []int64{40, 20, 12, 8, 8, 6, 4, 2} {
		p := filepath.Join(dir, "wheels", fmt.Sprintf("pkg%d-1.0-py3-none-any.whl", i))
		fx.wheels = append(fx.wheels, p)
		g.Go(func() error { return writeText(p, wheels*share/100, uint64(i)) })
	}
	var total int64
	for _, s := range shardShares {
		total += s
	}
	for i, share := range shardShares {
		p := filepath.Join(fx.inputs.ModelDir, fmt.Sprintf("model-%05d-of-%05d.safetensors", i+1, len(shardShares)))
		fx.weights = append(fx.weights, p)
		g.Go(func() error { return writeBF16(p, weights*share/total/8*8, uint64(100+i)) })
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for i, p := range fx.wheels {
		sum, n, err := hashFile(p)
		if err != nil {
			return nil, err
		}
		fx.inputs.Wheels = append(fx.inputs.Wheels, builder.Wheel{Name: fmt.Sprintf("pkg%d", i), Version: "1.0",
			Filename: filepath.Base(p), Path: p, SHA256: sum, Size: n})
	}
	small := map[string]string{
		"model/config.json":  `{"architectures": ["Bench"]}`,
		"app/handler.py":     "def predict(instances):\n    return instances\n",
		"app/worker.py":      "import json, socket\n",
		"app/sidecar.json":   `{"port": 8080}`,
		"bin/hfpack-sidecar": strings.Repeat("\x7fELF sidecar ", 1<<18),
	}
	for rel, data := range small {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			return nil, err
		}
	}
	fx.handler = filepath.Join(dir, "app/handler.py")
	for _, f := range []string{"handler.py", "worker.py", "sidecar.json"} {
		fx.inputs.AppFiles = append(fx.inputs.AppFiles, builder.File{Path: "/opt/hfpack/worker/" + f, Source: filepath.Join(dir, "app", f), Mode: 0o644})
	}
	fx.inputs.SidecarPath = filepath.Join(dir, "bin/hfpack-sidecar")
	return fx, nil
}

var words = strings.Fields("def return self import from class if else for in while try except with as yield lambda None True False numpy torch tensor shape dtype forward module layer weight bias")

// writeText writes n bytes of Python-like source (gzip ratio about 0.3):
// a 4 MiB block of random lines, repeated (gzip and zstd-fastest windows are
// far smaller, so repetition does not help them).
func writeText(p string, n int64, seed uint64) error {
	r := rand.New(rand.NewPCG(seed, 1))
	var block strings.Builder
	for block.Len() < 4<<20 {
		fmt.Fprintf(&block, "    %s %s_%d = %s(%d, %x)\n", words[r.IntN(len(words))], words[r.IntN(len(words))],
			r.IntN(1000), words[r.IntN(len(words))], r.IntN(1<<20), r.Uint32())
	}
	b := []byte(block.String())
	return writeStream(p, n, func(w *bufio.Writer, n int64) error {
		for written := int64(0); written < n; {
			k := min(int64(len(b)), n-written)
			w.Write(b[:k])
			written += k
		}
		return nil
	})
}

// writeBF16 writes n bytes of bfloat16-like values: random sign and
// mantissa, exponents clustered as in trained weights (|x| mostly in
// 2^-12..2^-4), so that gzip saves about a fifth and fast codecs nothing.
func writeBF16(p string, n int64, seed uint64) error {
	return writeStream(p, n, func(w *bufio.Writer, n int64) error {
		r := rand.New(rand.NewPCG(seed, 2))
		var b [8]byte
		for i := int64(0); i < n/8; i++ {
			x := r.Uint64()
			for j := range 4 {
				v := uint16(x >> (16 * j))
				exp := uint16(123 - bits.TrailingZeros16(v|0x100)) // 115..123, geometric
				binary.LittleEndian.PutUint16(b[2*j:], v&0x8000|exp<<7|v>>9&0x7f)
			}
			w.Write(b[:])
		}
		return nil
	})
}

func writeStream(p string, n int64, fill func(*bufio.Writer, int64) error) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.Create(p)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if err := fill(w, n); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func hashFile(p string) (string, int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	return hex.EncodeToString(h.Sum(nil)), n, err
}

// installChunks stands in for the wheel installer: it checks the wheel's
// sha256 and "installs" it as files of 256 KiB under site-packages, read
// straight from the wheel file.
func installChunks(t *tree.Tree, w builder.WheelRef, b builder.Base) error {
	sum, _, err := hashFile(w.Source)
	if err != nil {
		return err
	}
	if sum != w.SHA256 {
		return fmt.Errorf("wheel %s: sha256 mismatch", w.Filename)
	}
	root := strings.TrimPrefix(b.SitePackages, "/") + "/" + w.Name
	for off := int64(0); off < w.Size; off += chunk {
		n := min(chunk, w.Size-off)
		src, off := w.Source, off
		if err := t.AddFile(fmt.Sprintf("%s/mod%05d.py", root, off/chunk), 0o644, n, func() (io.ReadCloser, error) {
			f, err := os.Open(src)
			if err != nil {
				return nil, err
			}
			return struct {
				io.Reader
				io.Closer
			}{io.NewSectionReader(f, off, n), f}, nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// lowerBound times one sha256 pass over every new byte plus the chosen
// compression of each file, spread over all cores.
func lowerBound(fx *fixture, code, weights layer.Compression) error {
	var g errgroup.Group
	g.SetLimit(max(1, int(runtimeProcs())))
	job := func(p string, c layer.Compression) {
		g.Go(func() error { return hashAndCompress(p, c) })
	}
	for _, p := range fx.wheels {
		job(p, code)
	}
	for _, p := range fx.weights {
		job(p, weights)
	}
	return g.Wait()
}

// hashAndCompress hashes the file and compresses it to nowhere with the
// codec and level the layer writer uses for c.
func hashAndCompress(p string, c layer.Compression) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	var zw io.WriteCloser
	switch c {
	case layer.Gzip:
		zw, err = gzip.NewWriterLevel(io.Discard, gzip.BestSpeed)
	case layer.Zstd:
		zw, err = zstd.NewWriter(io.Discard, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
	}
	if err != nil {
		return err
	}
	var w io.Writer = sha256.New()
	if zw != nil {
		w = io.MultiWriter(w, zw)
	}
	// Reads of 1 MiB, as the layer writer's: *os.File's WriteTo would make
	// io.CopyBuffer ignore the buffer and read 32 KiB at a time.
	if _, err := io.CopyBuffer(w, struct{ io.Reader }{f}, make([]byte, 1<<20)); err != nil {
		return err
	}
	if zw != nil {
		return zw.Close()
	}
	return nil
}
