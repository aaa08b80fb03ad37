package harness

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/client/llb"
)

// hello is a one-file image: no pull, no runc.
func hello(t *testing.T) *llb.Definition {
	t.Helper()
	def, err := llb.Scratch().File(llb.Mkfile("/hello.txt", 0o644, []byte("hello from llb\n"))).
		Marshal(context.Background(), llb.LinuxAmd64)
	if err != nil {
		t.Fatal(err)
	}
	return def
}

func TestBuildKit(t *testing.T) {
	if testing.Short() {
		t.Skip("starts buildkitd (builds it when uncached)")
	}
	reg := StartRegistry(t)
	bk := StartBuildKit(t, WithInsecureRegistry(reg.Addr))

	t.Run("client solves a scratch file to a local directory", func(t *testing.T) {
		out := t.TempDir()
		_, err := bk.Client(t).Solve(t.Context(), hello(t), client.SolveOpt{
			Exports: []client.ExportEntry{{Type: client.ExporterLocal, OutputDir: out}},
		}, nil)
		if err != nil {
			t.Fatalf("Solve: %v", err)
		}
		got, err := os.ReadFile(filepath.Join(out, "hello.txt"))
		if err != nil || string(got) != "hello from llb\n" {
			t.Errorf("exported hello.txt = %q, %v; want %q", got, err, "hello from llb\n")
		}
	})

	t.Run("buildctl builds a definition from stdin to an OCI tar", func(t *testing.T) {
		var def bytes.Buffer
		if err := llb.WriteTo(hello(t), &def); err != nil {
			t.Fatal(err)
		}
		dest := filepath.Join(t.TempDir(), "image.tar")
		if _, err := bk.Buildctl(t.Context(), &def, "build", "--progress=plain",
			"--output", "type=oci,dest="+dest); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(dest); err != nil || fi.Size() == 0 {
			t.Errorf("buildctl wrote no OCI tar at %s: %v", dest, err)
		}
	})

	t.Run("runs python3 in the base pulled from the insecure registry", func(t *testing.T) {
		if os.Getenv("HFPACK_E2E_SKIP_BASE") != "" {
			t.Skip("HFPACK_E2E_SKIP_BASE is set")
		}
		ref := Base(t, DefaultBase()).Push(t, reg, "base/python")
		st := llb.Image(ref.String(), llb.LinuxAmd64).
			Run(llb.Args([]string{"python3", "-c",
				"import sys; open('/out/version', 'w').write(sys.version)"})).
			AddMount("/out", llb.Scratch())
		def, err := st.Marshal(t.Context(), llb.LinuxAmd64)
		if err != nil {
			t.Fatal(err)
		}
		out := t.TempDir()
		_, err = bk.Client(t).Solve(t.Context(), def, client.SolveOpt{
			Exports: []client.ExportEntry{{Type: client.ExporterLocal, OutputDir: out}},
		}, nil)
		if err != nil {
			t.Fatalf("Solve: %v", err)
		}
		got, err := os.ReadFile(filepath.Join(out, "version"))
		if err != nil || !strings.HasPrefix(string(got), "3.11") {
			t.Errorf("python3 in the base wrote version %q, %v; want 3.11.*", got, err)
		}
	})
}
