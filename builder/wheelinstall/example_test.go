package wheelinstall_test

import (
	"archive/zip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/hfpack/hfpack/builder/tree"
	"github.com/hfpack/hfpack/builder/wheelinstall"
)

// writeWheel writes a minimal wheel with one module and one console script
// and returns its path and sha256, as a lock would record them.
func writeWheel(dir string) (string, string) {
	p := filepath.Join(dir, "hello-1.0-py3-none-any.whl")
	f, err := os.Create(p)
	if err != nil {
		log.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for _, m := range [][2]string{
		{"hello.py", "def main():\n    print('hello')\n"},
		{"hello-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: hello\nVersion: 1.0\n"},
		{"hello-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\n"},
		{"hello-1.0.dist-info/entry_points.txt", "[console_scripts]\nhello = hello:main\n"},
		{"hello-1.0.dist-info/RECORD", ""}, // hashes are optional; Install computes missing ones
	} {
		w, _ := zw.Create(m[0])
		w.Write([]byte(m[1]))
	}
	zw.Close()
	f.Close()
	b, _ := os.ReadFile(p)
	sum := sha256.Sum256(b)
	return p, hex.EncodeToString(sum[:])
}

func ExampleInstall() {
	dir, _ := os.MkdirTemp("", "wheelinstall")
	defer os.RemoveAll(dir)
	wheel, sum := writeWheel(dir)

	t := tree.New()
	res, err := wheelinstall.Install(t, wheel, sum, wheelinstall.Scheme{
		Purelib:     "usr/local/lib/python3.11/site-packages",
		Platlib:     "usr/local/lib/python3.11/site-packages",
		Scripts:     "usr/local/bin",
		Data:        "usr/local",
		Include:     "usr/local/include/python3.11",
		Interpreter: "/usr/local/bin/python3.11",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Name, res.Version)
	for _, f := range res.Files {
		fmt.Printf("%o %s\n", f.Mode, f.Path)
	}
	// Output:
	// hello 1.0
	// 755 usr/local/bin/hello
	// 644 usr/local/lib/python3.11/site-packages/hello-1.0.dist-info/INSTALLER
	// 644 usr/local/lib/python3.11/site-packages/hello-1.0.dist-info/METADATA
	// 644 usr/local/lib/python3.11/site-packages/hello-1.0.dist-info/RECORD
	// 644 usr/local/lib/python3.11/site-packages/hello-1.0.dist-info/WHEEL
	// 644 usr/local/lib/python3.11/site-packages/hello-1.0.dist-info/entry_points.txt
	// 644 usr/local/lib/python3.11/site-packages/hello.py
}
