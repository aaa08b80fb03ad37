package llb_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/moby/buildkit/solver/pb"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	hfllb "github.com/hfpack/hfpack/builder/llb"
)

// emitFixture lowers the fixture (laid out in a fresh temp dir) and
// returns the canonical bytes.
func emitFixture(t testing.TB) []byte {
	t.Helper()
	f := newFixture(t, fakeBase(), nil)
	var buf bytes.Buffer
	if _, err := hfllb.Emit(context.Background(), &buf, f.plan(t), hfllb.WithWheelURLs(f.url)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestHelperEmit is run as a subprocess by TestEmitSameBytesAcrossProcesses.
func TestHelperEmit(t *testing.T) {
	out := os.Getenv("HFPACK_LLB_EMIT_OUT")
	if out == "" {
		t.Skip("helper process for TestEmitSameBytesAcrossProcesses")
	}
	if err := os.WriteFile(out, emitFixture(t), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestEmitSameBytesAcrossProcesses(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var got [][]byte
	for i, tz := range []string{"UTC", "Asia/Kolkata", "America/St_Johns"} {
		procs := []string{"GOMAXPROCS=1", "GOMAXPROCS=2", "GOMAXPROCS=4"}[i]
		dir := t.TempDir()
		out := filepath.Join(dir, "def.pb")
		cmd := exec.Command(exe, "-test.run=^TestHelperEmit$", "-test.count=1")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "HFPACK_LLB_EMIT_OUT="+out, "TZ="+tz, "TMPDIR="+dir, procs)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("process %d: %v\n%s", i, err, b)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, b)
	}
	for i := 1; i < len(got); i++ {
		if !bytes.Equal(got[0], got[i]) {
			t.Errorf("process %d (TZ, working directory and fixture paths differ) emitted %s, process 0 %s",
				i, hfllb.Digest(got[i]), hfllb.Digest(got[0]))
		}
	}
	if here := emitFixture(t); !bytes.Equal(here, got[0]) {
		t.Errorf("this process emitted %s, the subprocesses %s", hfllb.Digest(here), hfllb.Digest(got[0]))
	}
}

func TestMarshalReadsBack(t *testing.T) {
	b := emitFixture(t)
	def, err := hfllb.ReadFrom(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	again, err := hfllb.Marshal(def)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, again) {
		t.Errorf("read back and marshalled again: %s, want %s", hfllb.Digest(again), hfllb.Digest(b))
	}
	var want pb.Definition
	if err := proto.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&want, def.ToPB(), protocmp.Transform()); diff != "" {
		t.Errorf("definition (-want +got):\n%s", diff)
	}
}

// ops decodes every op of a marshalled definition.
func ops(t *testing.T, b []byte) []*pb.Op {
	t.Helper()
	var def pb.Definition
	if err := proto.Unmarshal(b, &def); err != nil {
		t.Fatal(err)
	}
	var out []*pb.Op
	for _, dt := range def.Def {
		var op pb.Op
		if err := proto.Unmarshal(dt, &op); err != nil {
			t.Fatal(err)
		}
		out = append(out, &op)
	}
	return out
}

func TestLoweredGraph(t *testing.T) {
	f := newFixture(t, fakeBase(), nil)
	p := f.plan(t)
	var buf bytes.Buffer
	if _, err := hfllb.Emit(context.Background(), &buf, p, hfllb.WithWheelURLs(f.url)); err != nil {
		t.Fatal(err)
	}
	var images, https, locals, execs, fileOps, merges int
	for _, op := range ops(t, buf.Bytes()) {
		// Images and execs depend on the platform (local and HTTP sources
		// do not carry one); it must be the Plan's, never the host's.
		needs := op.GetExec() != nil || strings.HasPrefix(op.GetSource().GetIdentifier(), "docker-image://")
		if needs && op.Platform == nil {
			t.Errorf("op %v has no platform", op)
		} else if op.Platform != nil && (op.Platform.OS != "linux" || op.Platform.Architecture != "amd64") {
			t.Errorf("op on platform %s/%s, want linux/amd64", op.Platform.OS, op.Platform.Architecture)
		}
		switch {
		case op.GetSource() != nil:
			src := op.GetSource()
			switch id := src.Identifier; {
			case strings.HasPrefix(id, "docker-image://"):
				images++
				if want := "docker-image://registry.example/hfpack/base:bookworm@sha256:" + strings.Repeat("a", 64); id != want {
					t.Errorf("base %s, want %s", id, want)
				}
			case strings.HasPrefix(id, "https://"):
				https++
				if !strings.HasPrefix(src.Attrs[pb.AttrHTTPChecksum], "sha256:") {
					t.Errorf("wheel %s has no checksum: %v", id, src.Attrs)
				}
			case strings.HasPrefix(id, "local://"):
				locals++
				if src.Attrs[pb.AttrLocalUniqueID] != "hfpack" {
					t.Errorf("local %s unique ID %q, want the fixed \"hfpack\"", id, src.Attrs[pb.AttrLocalUniqueID])
				}
				if src.Attrs[pb.AttrIncludePatterns] == "" {
					t.Errorf("local %s has no include patterns", id)
				}
			default:
				t.Errorf("unexpected source %s", id)
			}
		case op.GetExec() != nil:
			execs++
			if op.GetExec().Network != pb.NetMode_NONE {
				t.Errorf("install exec has network %v, want none", op.GetExec().Network)
			}
		case op.GetFile() != nil:
			fileOps++
		case op.GetMerge() != nil:
			merges++
			if got, want := len(op.GetMerge().Inputs), 1+len(p.Layers); got != want {
				t.Errorf("merge of %d inputs, want the base and %d layers", got, len(p.Layers))
			}
		}
	}
	want := map[string]int{"images": 1, "https": len(wheelSpecs), "execs": 1, "fileOps": 2 * (len(p.Layers) - 1), "merges": 1}
	got := map[string]int{"images": images, "https": https, "execs": execs, "fileOps": fileOps, "merges": merges}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("op counts (-want +got):\n%s", diff)
	}
	if locals == 0 {
		t.Error("no local sources")
	}
}

// A local OCI layout base is read by BuildKit's oci-layout source from the
// client's content store, by digest: the graph names the store and the
// digest, never the layout's directory, so it is the same wherever the
// layout is.
func TestLowerLayoutBase(t *testing.T) {
	emit := func(dir string) []byte {
		b := fakeBase()
		b.Ref, b.Layout = "oci-layout:base", dir
		f := newFixture(t, b, nil)
		var buf bytes.Buffer
		if _, err := hfllb.Emit(context.Background(), &buf, f.plan(t), hfllb.WithWheelURLs(f.url)); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	one, two := emit("/tmp/one/base"), emit("/srv/two/base")
	if !bytes.Equal(one, two) {
		t.Error("the LLB of a layout base depends on the layout's directory")
	}
	if bytes.Contains(one, []byte("/tmp/one")) {
		t.Error("the LLB holds the layout's directory")
	}
	var found bool
	for _, op := range ops(t, one) {
		if src := op.GetSource(); src != nil && strings.HasPrefix(src.Identifier, "oci-layout://") {
			found = true
			if !strings.HasSuffix(src.Identifier, "@sha256:"+strings.Repeat("a", 64)) || src.Attrs[pb.AttrOCILayoutStoreID] != hfllb.LayoutStore {
				t.Errorf("base source %s %v: want the base digest from store %s", src.Identifier, src.Attrs, hfllb.LayoutStore)
			}
		}
	}
	if !found {
		t.Error("no oci-layout source in the graph")
	}
}

// The plan is the whole truth: each wheel carries its URL, so emitting
// without WithWheelURLs gives the graph the lock's URLs give.
func TestEmitUsesThePlansWheelURLs(t *testing.T) {
	f := newFixture(t, fakeBase(), nil)
	for i, w := range f.inputs.Wheels {
		f.inputs.Wheels[i].URL = f.urls[w.SHA256]
	}
	var withOpt, fromPlan bytes.Buffer
	if _, err := hfllb.Emit(context.Background(), &withOpt, f.plan(t), hfllb.WithWheelURLs(f.url)); err != nil {
		t.Fatal(err)
	}
	if _, err := hfllb.Emit(context.Background(), &fromPlan, f.plan(t)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(withOpt.Bytes(), fromPlan.Bytes()) {
		t.Error("Emit from the plan's wheel URLs differs from Emit with the same URLs given")
	}
	if !bytes.Contains(fromPlan.Bytes(), []byte("https://")) && !bytes.Contains(fromPlan.Bytes(), []byte("http://")) {
		t.Error("no wheel URL in the graph")
	}
}

// A base pulled from a mirror (HFPACK_BASE_MIRROR) is the mirror's image by
// the same digest: the daemon never contacts Ref's registry.
func TestLowerMirroredBase(t *testing.T) {
	b := fakeBase()
	b.Ref, b.Pull = "docker.io/nvidia/cuda:12.1.1-base-ubuntu22.04", "mirror.example/dockerhub/nvidia/cuda"
	f := newFixture(t, b, nil)
	var buf bytes.Buffer
	if _, err := hfllb.Emit(context.Background(), &buf, f.plan(t), hfllb.WithWheelURLs(f.url)); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, op := range ops(t, buf.Bytes()) {
		if id := op.GetSource().GetIdentifier(); strings.HasPrefix(id, "docker-image://") {
			ids = append(ids, id)
		}
	}
	want := []string{"docker-image://mirror.example/dockerhub/nvidia/cuda@sha256:" + strings.Repeat("a", 64)}
	if diff := cmp.Diff(want, ids); diff != "" {
		t.Errorf("image sources (-want +got):\n%s", diff)
	}
}
