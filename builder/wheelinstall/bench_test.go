package wheelinstall

import (
	"archive/zip"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hfpack/hfpack/builder/tree"
)

// BenchmarkRead compares reading an installed file through its tree entry
// (re-open, seek, inflate, sha256 check) with a plain archive/zip read of the
// same member (parse, inflate, CRC-32), and reports the ratio; ns/op
// covers both.
func BenchmarkRead(b *testing.B) {
	// 8 MiB of text-like data that compresses about as well as Python code.
	words := strings.Fields("import torch def return self class None for in if else tensor dtype shape")
	r := rand.New(rand.NewSource(1))
	var sb strings.Builder
	for sb.Len() < 8<<20 {
		sb.WriteString(words[r.Intn(len(words))])
		sb.WriteByte(" \n"[r.Intn(2)])
	}
	w := wheelSpec{name: "big", version: "1", purelib: true, files: []member{{name: "big/data.py", data: sb.String()}}}
	p, sum := w.write(b, b.TempDir())
	tr := tree.New()
	if _, err := Install(tr, p, sum, testScheme); err != nil {
		b.Fatal(err)
	}
	e, _ := tr.Get(pure + "big/data.py")

	timeIt := func(read func() error) time.Duration {
		start := time.Now()
		for range b.N {
			if err := read(); err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(start)
	}
	b.ResetTimer()
	base := timeIt(func() error {
		zr, err := zip.OpenReader(p)
		if err != nil {
			return err
		}
		defer zr.Close()
		rc, err := zr.File[0].Open()
		if err != nil {
			return err
		}
		defer rc.Close()
		_, err = io.Copy(io.Discard, rc)
		return err
	})
	ours := timeIt(func() error {
		rc, err := e.Open()
		if err != nil {
			return err
		}
		defer rc.Close()
		_, err = io.Copy(io.Discard, rc)
		return err
	})
	b.ReportMetric(float64(ours)/float64(base), "x-archive/zip")
	b.ReportMetric(float64(e.Size)*float64(b.N)/ours.Seconds()/1e6, "MB/s")
	b.ReportMetric(float64(e.Size)*float64(b.N)/base.Seconds()/1e6, "MB/s-archive/zip")
}

// BenchmarkInstall installs a wheel of 5,000 small modules and compares it
// with its lower bound in the same run: one sha256 pass over the file plus
// parsing its zip directory. Contents are not read (RECORD has the hashes).
func BenchmarkInstall(b *testing.B) {
	var files []member
	for i := range 5000 {
		files = append(files, member{name: fmt.Sprintf("pkg/sub%02d/mod%04d.py", i%50, i), data: strings.Repeat("x = 1\n", 50+i%200)})
	}
	w := wheelSpec{name: "pkg", version: "1", purelib: true, files: files}
	p, sum := w.write(b, b.TempDir())
	base := time.Duration(0)
	ours := time.Duration(0)
	for range b.N {
		start := time.Now()
		f, err := os.Open(p)
		if err != nil {
			b.Fatal(err)
		}
		h := sha256.New()
		n, _ := io.Copy(h, f)
		if _, err := zip.NewReader(f, n); err != nil {
			b.Fatal(err)
		}
		f.Close()
		base += time.Since(start)

		start = time.Now()
		if _, err := Install(tree.New(), p, sum, testScheme); err != nil {
			b.Fatal(err)
		}
		ours += time.Since(start)
	}
	b.ReportMetric(float64(ours)/float64(base), "x-hash+parse")
	b.ReportMetric(float64(ours.Nanoseconds())/float64(b.N)/1e6, "ms/install")
}
