package e2e

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/hfpack/hfpack/e2e/harness"
)

// TestVerify is the auditor's rebuild check: `hfpack build --verify` of the published image
// passes on the unchanged project, and after a one-byte change to the handler fails naming the
// differing layer, whether the published image is in a registry or an OCI layout.
func TestVerify(t *testing.T) {
	heavy(t)
	reg := harness.StartRegistry(t)
	ix := startIndex(t)
	p := newProject(t, ix, baseLayout(t))
	mustHfpack(t, p.Dir, nil, "lock", p.Manifest)
	digestFile := filepath.Join(p.Dir, "image.digest")
	layoutDir := filepath.Join(t.TempDir(), "published")
	mustHfpack(t, p.Dir, nil, "build", p.Manifest, "--push", reg.Ref("sst2", ":v1"), "--digest-file", digestFile,
		"--output", "oci:"+layoutDir)
	ref := readDigestFile(t, digestFile, reg.Addr+"/sst2@")
	_, digest, _ := strings.Cut(ref, "@")

	forms := map[string]string{"registry": ref, "oci-layout": "oci:" + layoutDir + "@" + digest, "digest": digest}
	for _, form := range []string{"registry", "oci-layout", "digest"} {
		// A clean cache: the auditor's machine, not the publisher's.
		r := mustHfpack(t, p.Dir, nil, "build", p.Manifest, "--verify", forms[form], "--cache-dir", t.TempDir())
		if got := strings.TrimSpace(r.stdout); got != digest {
			t.Errorf("--verify %s printed %q, want %s", form, got, digest)
		}
	}

	h := p.read(t, "handler.py")
	p.write(t, "handler.py", strings.Replace(h, "bag-of-words", "bag-of-wordz", 1))
	for _, form := range []string{"registry", "oci-layout"} {
		r := hfpack(t, p.Dir, nil, "build", p.Manifest, "--verify", forms[form])
		wantRefused(t, r, "verification failed", digest, `"app" differs`)
		if strings.Contains(r.stderr, `"model`) || strings.Contains(r.stderr, `"sidecar"`) {
			t.Errorf("--verify %s named layers the handler change did not touch:\n%s", form, r.stderr)
		}
	}
	wantRefused(t, hfpack(t, p.Dir, nil, "build", p.Manifest, "--verify", digest), "verification failed", digest)
}
