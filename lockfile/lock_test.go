package lockfile_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hfpack/hfpack/lockfile"
	"github.com/hfpack/hfpack/lockfile/index"
	"github.com/hfpack/hfpack/lockfile/indextest"
	"github.com/hfpack/hfpack/lockfile/pylock"
	"github.com/hfpack/hfpack/lockfile/resolve"
	"github.com/hfpack/hfpack/manifest"
)

func TestLockBacktracksOverSeveralLevels(t *testing.T) {
	srv := indextest.NewServer()
	defer srv.Close()
	wheel(srv, "app", "1.0", "lib<2")
	wheel(srv, "app", "2.0", "lib>=2")
	wheel(srv, "lib", "1.0", "core<3")
	wheel(srv, "lib", "2.0", "core>=3")
	wheel(srv, "lib", "2.1", "core>=3")
	wheel(srv, "core", "2.0")
	wheel(srv, "core", "3.0", "leaf>=1") // leaf has only 0.5: core 3, lib 2.x and app 2 all fail
	wheel(srv, "leaf", "0.5")

	l := mustLock(t, srv, []string{"app"}, nil)
	wantVersions(t, l, "app==1.0", "core==2.0", "lib==1.0")
}

func TestLockConflictExplainsTheChain(t *testing.T) {
	srv := indextest.NewServer()
	defer srv.Close()
	wheel(srv, "transformers", "4.46.1", "tokenizers<0.21,>=0.20")
	wheel(srv, "tokenizers", "0.20.3")
	wheel(srv, "tokenizers", "0.21.0")

	_, err := lock(t, srv, []string{"transformers==4.46.1", "tokenizers==0.21.0"}, nil)
	if !errors.Is(err, resolve.ErrNoSolution) {
		t.Fatalf("err = %v, want ErrNoSolution", err)
	}
	wantErr(t, err, "transformers 4.46.1 requires tokenizers", "<0.21", "tokenizers==0.21.0")
}

func TestLockExtras(t *testing.T) {
	srv := indextest.NewServer()
	defer srv.Close()
	srv.MustAddWheel(indextest.WheelSpec{Name: "Transformers", Version: "4.46.1",
		RequiresDist:  []string{"tokenizers", `torch>=2; extra == "torch"`, `accelerate; extra == "torch"`},
		ProvidesExtra: []string{"torch"}})
	wheel(srv, "tokenizers", "0.20.3")
	wheel(srv, "torch", "2.4.1")
	wheel(srv, "accelerate", "1.0.1", "torch>=2")

	t.Run("without", func(t *testing.T) {
		wantVersions(t, mustLock(t, srv, []string{"transformers"}, nil), "tokenizers==0.20.3", "transformers==4.46.1")
	})
	t.Run("with", func(t *testing.T) {
		l := mustLock(t, srv, []string{"transformers[torch]"}, nil)
		wantVersions(t, l, "accelerate==1.0.1", "tokenizers==0.20.3", "torch==2.4.1", "transformers==4.46.1")
		// The graph, the requested extra's dependencies included, is in the lock (PEP 751 dependencies).
		graph := map[string][]string{}
		for _, p := range l.Packages {
			graph[p.Name] = p.Dependencies
		}
		want := map[string][]string{"accelerate": {"torch"}, "tokenizers": {}, "torch": {}, "transformers": {"accelerate", "tokenizers", "torch"}}
		if diff := cmp.Diff(want, graph); diff != "" {
			t.Errorf("dependencies (-want +got):\n%s", diff)
		}
	})
}

func TestLockMarkersAreEvaluatedForTheLinuxTarget(t *testing.T) {
	srv := indextest.NewServer()
	defer srv.Close()
	wheel(srv, "app", "1.0",
		`pywin32>=300; sys_platform == "win32"`,
		`appnope; platform_system == "Darwin"`,
		`uvloop; sys_platform == "linux" and platform_machine == "x86_64"`,
		`typing-extensions; python_version < "3.10"`,
		`tomli; python_full_version < "3.11.0a7"`,
		`exceptiongroup; implementation_name == "cpython"`)
	wheel(srv, "uvloop", "0.21.0")
	wheel(srv, "exceptiongroup", "1.2.2")
	// Deliberately absent from the index: a lock that needed them would fail.
	l := mustLock(t, srv, []string{"app", `colorama; os_name == "nt"`}, nil)
	wantVersions(t, l, "app==1.0", "exceptiongroup==1.2.2", "uvloop==0.21.0")
}

func TestLockRequiresPythonExcludesVersions(t *testing.T) {
	srv := indextest.NewServer()
	defer srv.Close()
	// 3.0 says so in its metadata only, 2.5 on the index page only.
	srv.MustAddWheel(indextest.WheelSpec{Name: "numpy", Version: "3.0", RequiresPython: ">=3.12"})
	srv.MustAddWheel(indextest.WheelSpec{Name: "numpy", Version: "2.5"}, indextest.RequiresPython(">=3.12"))
	srv.MustAddWheel(indextest.WheelSpec{Name: "numpy", Version: "2.1.3", RequiresPython: ">=3.10"})

	l := mustLock(t, srv, []string{"numpy"}, nil)
	wantVersions(t, l, "numpy==2.1.3")
	if got := l.Packages[0].RequiresPython; got != ">=3.10" {
		t.Errorf("requires-python = %q, want >=3.10", got)
	}
	_, err := lock(t, srv, []string{"numpy>=3"}, nil)
	wantErr(t, err, "numpy", "3.12")
}

func TestLockYanked(t *testing.T) {
	srv := indextest.NewServer()
	defer srv.Close()
	wheel(srv, "requests", "2.32.2")
	srv.MustAddWheel(indextest.WheelSpec{Name: "requests", Version: "2.32.3"}, indextest.Yanked("broke proxies"))

	wantVersions(t, mustLock(t, srv, []string{"requests"}, nil), "requests==2.32.2")
	_, err := lock(t, srv, []string{"requests>2.32.2"}, nil)
	wantErr(t, err, "requests 2.32.3 was yanked (broke proxies)", "requests==2.32.3")

	// PEP 592: an exact pin selects the yanked release; the lock says so.
	var warnings []string
	l := mustLock(t, srv, []string{"requests==2.32.3"}, nil, lockfile.WithWarnings(func(m string) { warnings = append(warnings, m) }))
	wantVersions(t, l, "requests==2.32.3")
	if len(warnings) != 1 || !strings.Contains(warnings[0], "requests 2.32.3 is yanked (broke proxies)") {
		t.Errorf("warnings = %q, want the yank reported", warnings)
	}
}

func TestLockPrereleases(t *testing.T) {
	srv := indextest.NewServer()
	defer srv.Close()
	wheel(srv, "vllm", "0.6.3")
	wheel(srv, "vllm", "0.7.0rc1")
	wheel(srv, "nightly", "1.0.dev3")
	wheel(srv, "nightly", "1.0b1")

	for _, tc := range []struct {
		name string
		req  string
		want string
	}{
		{"final preferred", "vllm", "vllm==0.6.3"},
		{"named pre-release", "vllm>=0.7.0rc1", "vllm==0.7.0rc1"},
		{"only pre-releases", "nightly", "nightly==1.0b1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantVersions(t, mustLock(t, srv, []string{tc.req}, nil), tc.want)
		})
	}
	t.Run("policy allow", func(t *testing.T) {
		wantVersions(t, mustLock(t, srv, []string{"vllm"}, nil, lockfile.WithPrereleases(resolve.PrereleasesAllow)), "vllm==0.7.0rc1")
	})
}

func TestLockLocalVersionsMatchPublicPins(t *testing.T) {
	srv := indextest.NewServer()
	defer srv.Close()
	srv.MustAddWheel(indextest.WheelSpec{Name: "torch", Version: "2.4.1+cu121", Tag: "cp311-cp311-manylinux_2_28_x86_64"})
	srv.MustAddWheel(indextest.WheelSpec{Name: "torch", Version: "2.4.0+cu121", Tag: "cp311-cp311-manylinux_2_28_x86_64"})

	l := mustLock(t, srv, []string{"torch==2.4.1"}, nil)
	wantVersions(t, l, "torch==2.4.1+cu121")
	if got, want := l.Packages[0].Wheels[0].Name, "torch-2.4.1+cu121-cp311-cp311-manylinux_2_28_x86_64.whl"; got != want {
		t.Errorf("wheel = %s, want %s", got, want)
	}
}

func TestLockSkipsWheelsThatDoNotFitTheTarget(t *testing.T) {
	srv := indextest.NewServer()
	defer srv.Close()
	srv.MustAddWheel(indextest.WheelSpec{Name: "fastlib", Version: "4.0", Tag: "cp311-cp311-macosx_11_0_arm64"})
	srv.MustAddWheel(indextest.WheelSpec{Name: "fastlib", Version: "3.0", Tag: "cp312-cp312-manylinux_2_17_x86_64"})
	srv.MustAddWheel(indextest.WheelSpec{Name: "fastlib", Version: "2.0", Tag: "cp311-cp311-manylinux_2_39_x86_64"})
	srv.MustAddWheel(indextest.WheelSpec{Name: "fastlib", Version: "1.0", Tag: "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64"})
	srv.MustAddWheel(indextest.WheelSpec{Name: "fastlib", Version: "1.0", Tag: "py3-none-any"})

	l := mustLock(t, srv, []string{"fastlib"}, nil)
	wantVersions(t, l, "fastlib==1.0")
	if got, want := l.Packages[0].Wheels[0].Name, "fastlib-1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"; got != want {
		t.Errorf("wheel = %s, want the most specific fit %s", got, want)
	}
	for _, tc := range []struct{ pin, why string }{
		{"fastlib==4.0", "macOS"},
		{"fastlib==3.0", "3.12"},
		{"fastlib==2.0", "2.39"},
	} {
		t.Run(tc.pin, func(t *testing.T) {
			_, err := lock(t, srv, []string{tc.pin}, nil)
			wantErr(t, err, "fastlib", tc.why)
		})
	}
}

func TestLockSdistOnlyNamesThePackageAndWhy(t *testing.T) {
	srv := indextest.NewServer()
	defer srv.Close()
	wheel(srv, "app", "1.0", "legacy-pkg")
	srv.AddFile("legacy-pkg", "legacy_pkg-0.3.tar.gz", []byte("not really a tarball"))

	_, err := lock(t, srv, []string{"app"}, nil)
	wantErr(t, err, "legacy-pkg", "source distribution", "wheels only")
}

// TestLockTorchFromItsOwnIndex imitates PyPI plus download.pytorch.org:
// torch comes only from the CUDA index, even though the default index has
// a newer torch, and everything else only from the default index, even
// though the CUDA index has a newer filelock (dependency confusion).
func TestLockTorchFromItsOwnIndex(t *testing.T) {
	pypi := indextest.NewServer()
	defer pypi.Close()
	cuda := indextest.NewServer()
	defer cuda.Close()
	pypi.MustAddWheel(indextest.WheelSpec{Name: "torch", Version: "2.5.0", Tag: "cp311-cp311-manylinux_2_17_x86_64", RequiresDist: []string{"filelock"}})
	wheel(pypi, "filelock", "3.16.1")
	wheel(pypi, "transformers", "4.46.1", "torch>=2", "filelock")
	cuda.MustAddWheel(indextest.WheelSpec{Name: "torch", Version: "2.4.1+cu121", Tag: "cp311-cp311-linux_x86_64", RequiresDist: []string{"filelock"}})
	cuda.MustAddWheel(indextest.WheelSpec{Name: "torch", Version: "2.4.1+cu121", Tag: "cp312-cp312-linux_x86_64", RequiresDist: []string{"filelock"}})
	wheel(cuda, "filelock", "99.0")

	m := newManifest(t, pypi.URL, []string{"transformers", "torch==2.4.1"},
		manifest.Index{Name: "pytorch-cu121", URL: cuda.URL, Packages: []string{"torch"}})
	l, err := lockfile.Lock(context.Background(), m, target, nil, lockOpts(t)...)
	if err != nil {
		t.Fatal(err)
	}
	wantVersions(t, l, "filelock==3.16.1", "torch==2.4.1+cu121", "transformers==4.46.1")
	torch, _ := l.Package("torch")
	if torch.Index != cuda.URL || !strings.HasPrefix(torch.Wheels[0].URL, cuda.Root) {
		t.Errorf("torch from %s (%s), want the CUDA index %s", torch.Index, torch.Wheels[0].URL, cuda.URL)
	}
	if got, want := torch.Wheels[0].Name, "torch-2.4.1+cu121-cp311-cp311-linux_x86_64.whl"; got != want {
		t.Errorf("torch wheel = %s, want %s", got, want)
	}
	fl, _ := l.Package("filelock")
	if fl.Index != pypi.URL {
		t.Errorf("filelock from %s, want the default index %s", fl.Index, pypi.URL)
	}
	if n := pypi.Requests(indextest.ProjectPath("torch")); n != 0 {
		t.Errorf("the default index was asked for torch %d times, want never", n)
	}
	if n := cuda.Requests(indextest.ProjectPath("filelock")); n != 0 {
		t.Errorf("the CUDA index was asked for filelock %d times, want never", n)
	}
}

func TestLockWritesEveryWheelField(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []indextest.Option
		file []indextest.FileOption
	}{
		{"json with metadata files", nil, nil},
		{"html without metadata files", []indextest.Option{indextest.HTMLOnly(), indextest.WithoutMetadata()}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := indextest.NewServer(tc.opts...)
			defer srv.Close()
			spec := indextest.WheelSpec{Name: "hfpack-demo-text", Version: "1.0.0", RequiresPython: ">=3.8"}
			data := srv.MustAddWheel(spec, tc.file...)

			l := mustLock(t, srv, []string{"hfpack-demo-text>=1.0"}, nil)
			want := []pylock.Package{{
				Name: "hfpack-demo-text", Version: "1.0.0", RequiresPython: ">=3.8", Dependencies: []string{}, Index: srv.URL,
				Wheels: []pylock.Wheel{{
					Name: spec.Filename(), URL: srv.FileURL(spec.Filename()), UploadTime: indextest.DefaultUploadTime,
					Size: int64(len(data)), SHA256: sha256Hex(data),
				}},
			}}
			got := l.Packages
			if tc.opts != nil { // HTML pages carry no upload-time
				want[0].Wheels[0].UploadTime = got[0].Wheels[0].UploadTime
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("packages (-want +got):\n%s", diff)
			}
			if got, want := l.RequiresPython, "==3.11.*"; got != want {
				t.Errorf("requires-python = %q, want %q", got, want)
			}
			h := l.HFPack
			if h == nil || h.Python != "3.11" || h.Platform != "manylinux_2_35_x86_64" || h.Glibc != "2.35" || !strings.HasPrefix(h.RequirementsDigest, "sha256:") {
				t.Errorf("tool.hfpack = %+v", h)
			}
		})
	}
}

func TestLockBadIndexResponses(t *testing.T) {
	t.Run("404 for a project", func(t *testing.T) {
		srv := indextest.NewServer()
		defer srv.Close()
		wheel(srv, "app", "1.0", "no-such-project>=1")
		_, err := lock(t, srv, []string{"app"}, nil)
		wantErr(t, err, "no-such-project")
	})
	t.Run("500s then success", func(t *testing.T) {
		srv := indextest.NewServer()
		defer srv.Close()
		wheel(srv, "app", "1.0")
		srv.InjectFault(indextest.ProjectPath("app"), indextest.Fault{Status: http.StatusInternalServerError, Times: 2})
		wantVersions(t, mustLock(t, srv, []string{"app"}, nil), "app==1.0")
		if n := srv.Requests(indextest.ProjectPath("app")); n != 3 {
			t.Errorf("project page requested %d times, want 3 (two 500s, then success)", n)
		}
	})
	t.Run("500s forever", func(t *testing.T) {
		srv := indextest.NewServer()
		defer srv.Close()
		wheel(srv, "app", "1.0")
		srv.InjectFault(indextest.ProjectPath("app"), indextest.Fault{Status: http.StatusServiceUnavailable})
		_, err := lock(t, srv, []string{"app"}, nil)
		wantErr(t, err, "app", "503")
	})
	t.Run("truncated JSON is not cached", func(t *testing.T) {
		srv := indextest.NewServer(indextest.JSONOnly(), indextest.WithMaxAge(600))
		defer srv.Close()
		wheel(srv, "app", "1.0")
		srv.InjectFault(indextest.ProjectPath("app"), indextest.Fault{Truncate: true, Times: 1})
		cacheDir := t.TempDir()
		_, err := lock(t, srv, []string{"app"}, nil, lockfile.WithCacheDir(cacheDir))
		wantErr(t, err, "app")
		wantVersions(t, mustLock(t, srv, []string{"app"}, nil, lockfile.WithCacheDir(cacheDir)), "app==1.0")
	})
	t.Run("no sha256 on the page", func(t *testing.T) {
		srv := indextest.NewServer(indextest.HTMLOnly())
		defer srv.Close()
		spec := indextest.WheelSpec{Name: "app", Version: "1.0"}
		srv.MustAddWheel(spec, indextest.NoHash())
		_, err := lock(t, srv, []string{"app"}, nil)
		wantErr(t, err, spec.Filename(), "sha256")
	})
	t.Run("wrong sha256 is refused and not cached", func(t *testing.T) {
		srv := indextest.NewServer(indextest.WithoutMetadata(), indextest.WithoutRanges())
		defer srv.Close()
		spec := indextest.WheelSpec{Name: "app", Version: "1.0"}
		srv.MustAddWheel(spec, indextest.WrongSHA256())
		cacheDir := t.TempDir()
		_, err := lock(t, srv, []string{"app"}, nil, lockfile.WithCacheDir(cacheDir))
		var he *index.HashError
		if !errors.As(err, &he) {
			t.Fatalf("err = %v, want a *index.HashError", err)
		}
		wantErr(t, err, spec.Filename())
		// Once the index is fixed the same cache gives the right lock.
		fixed := indextest.NewServer(indextest.WithoutMetadata(), indextest.WithoutRanges())
		defer fixed.Close()
		data := fixed.MustAddWheel(spec)
		l := mustLock(t, fixed, []string{"app"}, nil, lockfile.WithCacheDir(cacheDir))
		if got, want := l.Packages[0].Wheels[0].SHA256, sha256Hex(data); got != want {
			t.Errorf("sha256 = %s, want %s", got, want)
		}
	})
}

func TestLockTwiceGivesIdenticalBytes(t *testing.T) {
	srv := indextest.NewServer()
	defer srv.Close()
	srv.MustAddWheel(indextest.WheelSpec{Name: "transformers", Version: "4.46.1",
		RequiresDist: []string{"tokenizers<0.21", "huggingface-hub>=0.23", "numpy>=1.17", `safetensors; extra == "torch"`}, ProvidesExtra: []string{"torch"}})
	for _, v := range []string{"0.20.1", "0.20.3", "0.21.0"} {
		wheel(srv, "tokenizers", v, "huggingface-hub>=0.16,<1.0")
	}
	wheel(srv, "huggingface-hub", "0.26.2", "filelock", "pyyaml>=5.1")
	wheel(srv, "filelock", "3.16.1")
	srv.MustAddWheel(indextest.WheelSpec{Name: "PyYAML", Version: "6.0.2", Tag: "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64"})
	wheel(srv, "numpy", "2.1.3")
	wheel(srv, "safetensors", "0.4.5")

	m := newManifest(t, srv.URL, []string{"transformers[torch]==4.46.1"})
	writeModel(t, m.ModelDir())
	var outs [][]byte
	for range 2 {
		l, err := lockfile.Lock(context.Background(), m, target, nil, lockfile.WithCacheDir(t.TempDir()))
		if err != nil {
			t.Fatal(err)
		}
		b, err := pylock.Marshal(l)
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, b)
	}
	if !bytes.Equal(outs[0], outs[1]) {
		t.Errorf("two locks differ:\n%s", cmp.Diff(string(outs[0]), string(outs[1])))
	}
	l, _ := pylock.Unmarshal(outs[0])
	wantVersions(t, l, "filelock==3.16.1", "huggingface-hub==0.26.2", "numpy==2.1.3", "pyyaml==6.0.2", "safetensors==0.4.5", "tokenizers==0.20.3", "transformers==4.46.1")
	if got := len(l.HFPack.ModelFiles); got != 2 {
		t.Errorf("%d model files locked, want 2", got)
	}
}

func TestLockKeepsWhatStillSatisfies(t *testing.T) {
	srv := indextest.NewServer()
	defer srv.Close()
	wheel(srv, "app", "1.0", "lib>=1")
	wheel(srv, "lib", "1.0")
	wheel(srv, "other", "1.0")
	first := mustLock(t, srv, []string{"app"}, nil)
	wantVersions(t, first, "app==1.0", "lib==1.0")

	// New releases appear; the manifest gains a requirement.
	wheel(srv, "app", "1.1", "lib>=1")
	wheel(srv, "lib", "1.1")
	wheel(srv, "other", "2.0")
	second := mustLock(t, srv, []string{"app", "other"}, first)
	wantVersions(t, second, "app==1.0", "lib==1.0", "other==2.0")
	if diff := cmp.Diff([]lockfile.Change{{Name: "other", To: "2.0"}}, lockfile.Diff(first, second)); diff != "" {
		t.Errorf("Diff (-want +got):\n%s", diff)
	}

	t.Run("a requirement that moves past the lock", func(t *testing.T) {
		wantVersions(t, mustLock(t, srv, []string{"app", "lib>=1.1", "other"}, second), "app==1.0", "lib==1.1", "other==2.0")
	})
	t.Run("upgrade-package", func(t *testing.T) {
		l := mustLock(t, srv, []string{"app", "other"}, second, lockfile.WithUpgradePackages("Lib"))
		wantVersions(t, l, "app==1.0", "lib==1.1", "other==2.0")
		if diff := cmp.Diff([]lockfile.Change{{Name: "lib", From: "1.0", To: "1.1"}}, lockfile.Diff(second, l)); diff != "" {
			t.Errorf("Diff (-want +got):\n%s", diff)
		}
	})
	t.Run("upgrade", func(t *testing.T) {
		wantVersions(t, mustLock(t, srv, []string{"app", "other"}, second, lockfile.WithUpgrade(true)), "app==1.1", "lib==1.1", "other==2.0")
	})
	t.Run("removed requirement", func(t *testing.T) {
		l := mustLock(t, srv, []string{"app"}, second)
		if diff := cmp.Diff([]lockfile.Change{{Name: "other", From: "2.0"}}, lockfile.Diff(second, l)); diff != "" {
			t.Errorf("Diff (-want +got):\n%s", diff)
		}
	})
}

func TestLockKeepsTheLockedWheel(t *testing.T) {
	srv := indextest.NewServer()
	defer srv.Close()
	srv.MustAddWheel(indextest.WheelSpec{Name: "fastlib", Version: "1.0", Tag: "cp311-cp311-manylinux_2_17_x86_64"})
	first := mustLock(t, srv, []string{"fastlib"}, nil)
	// A better-ranked wheel of the same version appears later.
	srv.MustAddWheel(indextest.WheelSpec{Name: "fastlib", Version: "1.0", Tag: "cp311-cp311-manylinux_2_34_x86_64"})
	if got := mustLock(t, srv, []string{"fastlib"}, nil).Packages[0].Wheels[0].Name; !strings.Contains(got, "2_34") {
		t.Fatalf("fresh lock chose %s, want the manylinux_2_34 wheel", got)
	}
	kept := mustLock(t, srv, []string{"fastlib"}, first)
	if diff := cmp.Diff(first.Packages, kept.Packages); diff != "" {
		t.Errorf("relock moved the wheel (-want +got):\n%s", diff)
	}
}

func TestLockRejectsBadUpgradePackage(t *testing.T) {
	srv := indextest.NewServer()
	defer srv.Close()
	wheel(srv, "app", "1.0")
	first := mustLock(t, srv, []string{"app"}, nil)
	_, err := lock(t, srv, []string{"app"}, first, lockfile.WithUpgradePackages("not a name"))
	wantErr(t, err, "not a name")
}

func TestLockNeverWritesCredentials(t *testing.T) {
	srv := indextest.NewServer(indextest.WithBasicAuth("deploy", "s3cret"))
	defer srv.Close()
	wheel(srv, "app", "1.0")
	authed := strings.Replace(srv.URL, "http://", "http://deploy:s3cret@", 1)
	m := newManifest(t, authed, []string{"app"})
	l, err := lockfile.Lock(context.Background(), m, target, nil, lockOpts(t)...)
	if err != nil {
		t.Fatal(err)
	}
	b, err := pylock.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte("s3cret")) || bytes.Contains(b, []byte("deploy@")) {
		t.Errorf("the lock carries the index credentials:\n%s", b)
	}
	if got := l.Packages[0].Index; got != srv.URL {
		t.Errorf("index = %q, want %q", got, srv.URL)
	}
}

func TestLockConcurrentlySharingACache(t *testing.T) {
	srv := indextest.NewServer()
	defer srv.Close()
	wheel(srv, "app", "1.0", "lib>=1", "util")
	wheel(srv, "lib", "1.0")
	wheel(srv, "lib", "1.1")
	wheel(srv, "util", "0.9")
	cacheDir := t.TempDir()
	outs := make([][]byte, 4)
	errs := make(chan error, len(outs))
	for i := range outs {
		go func() {
			l, err := lock(t, srv, []string{"app"}, nil, lockfile.WithCacheDir(cacheDir))
			if err == nil {
				outs[i], err = pylock.Marshal(l)
			}
			errs <- err
		}()
	}
	for range outs {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for i := range outs {
		if !bytes.Equal(outs[0], outs[i]) {
			t.Errorf("lock %d differs from lock 0:\n%s", i, cmp.Diff(string(outs[0]), string(outs[i])))
		}
	}
}
