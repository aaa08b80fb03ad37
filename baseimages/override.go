package baseimages

import (
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/hfpack/hfpack/imagespec"
)

// OCILayoutPrefix marks an [image] base read from a local OCI layout.
const OCILayoutPrefix = imagespec.LayoutPrefix

// Labels an [image] base may carry so hfpack can check it.
const (
	LabelGlibc      = "org.hfpack.glibc"
	LabelPython     = "org.hfpack.python"
	LabelPythonPath = "org.hfpack.python-path"
)

// glibcByOS is the glibc of the distributions bases are built on.
var glibcByOS = []struct{ os, version, codename, glibc string }{
	{"debian", "11", "bullseye", "2.31"},
	{"debian", "12", "bookworm", "2.36"},
	{"debian", "13", "trixie", "2.41"},
	{"ubuntu", "20.04", "focal", "2.31"},
	{"ubuntu", "22.04", "jammy", "2.35"},
	{"ubuntu", "24.04", "noble", "2.39"},
}

var ubuntuTagRE = regexp.MustCompile(`ubuntu(\d\d\.\d\d)`)

// ParseOverride splits an [image] base into an Image with Ref, Repository,
// Tag and Digest set. Registry references must be pinned by digest; OCI
// layouts ("oci-layout:PATH[@sha256:...]") are content-addressed already.
func ParseOverride(ref string) (Image, error) {
	name, digest, pinned := strings.Cut(ref, "@")
	if pinned && !ValidDigest(digest) {
		return Image{}, &OverrideError{Ref: ref, Reason: "digest " + digest + " is not sha256:<64 hex digits>", Fix: "copy the digest from `crane digest REF`"}
	}
	if lr, ok := imagespec.ParseLayoutRef(ref); ok {
		if lr.Dir == "" {
			return Image{}, &OverrideError{Ref: ref, Reason: "no layout path", Fix: "write oci-layout:PATH"}
		}
		return Image{Ref: ref, Repository: name, Digest: digest}, nil
	}
	if !pinned {
		return Image{}, &OverrideError{Ref: ref, Reason: "not pinned by digest, so builds would float", Fix: "append @sha256:<digest> (crane digest " + ref + ")"}
	}
	repo, tag := name, ""
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		repo, tag = name[:i], name[i+1:]
	}
	if repo == "" {
		return Image{}, &OverrideError{Ref: ref, Reason: "no repository", Fix: "write REGISTRY/REPO:TAG@sha256:..."}
	}
	return Image{Ref: ref, Repository: repo, Tag: tag, Digest: digest}, nil
}

// override uses the manifest's [image] base, checking what its config lets
// hfpack check.
func (s *selector) override(needs wheelNeeds) {
	im, err := ParseOverride(s.req.Override)
	if err != nil {
		s.fail(err)
		return
	}
	im.Flavour, im.Source, im.DigestVerified = "override", "[image] base in hfpack.toml", im.Digest != ""
	cfg := s.req.OverrideConfig
	if cfg == nil {
		cfg = &ImageConfig{}
	}
	env := envMap(cfg.Env)
	s.overridePath = env["PATH"]
	s.reason("base %s from [image] base, not the catalog", im.Ref)

	if cv, err := ParseCUDAVersion(env["CUDA_VERSION"]); err == nil {
		im.CUDA, im.CUDAPatch = cv, env["CUDA_VERSION"]
		s.reason("the base carries CUDA %s (CUDA_VERSION)", im.CUDAPatch)
		if !s.need.version.IsZero() && cv.Major != s.need.version.Major && !s.need.wheels {
			s.fail(&CUDAConflictError{A: s.need.version, FromA: s.need.from, B: cv, FromB: "base " + im.Ref})
		}
	}
	if s.acc.IsGPU() && s.need.minorKnown {
		s.out.CUDA = s.need.version.String()
		s.driver(s.need.version)
	}

	det := cfg.Detected
	if det == nil {
		det = &Detected{}
	}
	im.OS, im.OSVersion, im.Glibc = overrideOS(im, cfg.Labels)
	switch {
	case cfg.Labels[LabelGlibc] != "":
		s.reason("the base's glibc %s comes from its %s label", im.Glibc, LabelGlibc)
	case det.Glibc != "":
		im.OS, im.OSVersion, im.Glibc = det.OS, det.OSVersion, det.Glibc
		s.reason("the base's glibc %s comes from its own files (%s)", im.Glibc, strings.Join(filterEvidence(det.Evidence, "glibc"), "; "))
	case im.Glibc != "":
		s.reason("the base's glibc %s is guessed from its tag or labels (%s %s)", im.Glibc, im.OS, im.OSVersion)
	}
	switch {
	case im.Glibc == "":
		s.reason("the base's glibc could not be checked (no %s label, no /etc/os-release of a known Debian/Ubuntu release in its layers, nor one in its tag)", LabelGlibc)
	case needs.glibc != "" && compareGlibc(im.Glibc, needs.glibc) < 0:
		s.fail(&GlibcError{Wheel: needs.glibcWheel, Needs: needs.glibc, Base: im.Ref, Has: im.Glibc})
	default:
		s.reason("the base's glibc %s covers the locked wheels", im.Glibc)
	}

	im.Python, im.PythonPath = overridePython(cfg.Labels, env)
	switch {
	case pythonMinor(cfg.Labels[LabelPython]) != "":
		s.reason("the base's Python %s at %s comes from its %s label", im.Python, im.PythonPath, LabelPython)
	case det.Pythons[s.req.Python] != "":
		im.Python, im.PythonPath = s.req.Python, det.Pythons[s.req.Python]
		s.reason("the base's Python %s at %s was found in its own files (%s)", im.Python, im.PythonPath, strings.Join(filterEvidence(det.Evidence, im.PythonPath+" "), "; "))
	case im.Python != "":
		s.reason("the base's Python %s at %s comes from its PYTHON_VERSION", im.Python, im.PythonPath)
	case len(det.Pythons) > 0:
		var have []string
		for v, p := range det.Pythons {
			have = append(have, v+" at "+p)
		}
		slices.Sort(have)
		im.Python = slices.Max(slices.Collect(maps.Keys(det.Pythons)))
		s.reason("the base's own files have Python %s, not the target %s", strings.Join(have, ", "), s.req.Python)
	}
	if im.Python == "" {
		s.reason("the base's Python could not be detected (no %s label, no pythonX.Y in its layers, no PYTHON_VERSION)", LabelPython)
	} else if im.Python != s.req.Python {
		s.reason("the base's Python %s is not the target %s", im.Python, s.req.Python)
	}
	s.out.Override = true
	s.out.Base = im
}

// overrideOS derives the distribution and glibc from labels or the tag.
func overrideOS(im Image, labels map[string]string) (os, version, glibc string) {
	if g := labels[LabelGlibc]; g != "" {
		return "", "", g
	}
	name, ver := labels["org.opencontainers.image.ref.name"], labels["org.opencontainers.image.version"]
	if m := ubuntuTagRE.FindStringSubmatch(im.Tag); m != nil {
		name, ver = "ubuntu", m[1]
	}
	for _, r := range glibcByOS {
		if (name == r.os && ver == r.version) || (im.Tag != "" && strings.Contains(im.Tag, r.codename)) {
			return r.os, r.version, r.glibc
		}
	}
	return "", "", ""
}

// overridePython reads the base's Python from labels or the official
// python images' PYTHON_VERSION.
func overridePython(labels, env map[string]string) (version, path string) {
	if v := pythonMinor(labels[LabelPython]); v != "" {
		path = labels[LabelPythonPath]
		if path == "" {
			path = "/usr/bin/python" + v
		}
		return v, path
	}
	if v := pythonMinor(env["PYTHON_VERSION"]); v != "" {
		return v, "/usr/local/bin/python" + v
	}
	return "", ""
}

func envMap(env []string) map[string]string {
	m := make(map[string]string, len(env))
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

// filterEvidence keeps the evidence lines that mention what.
func filterEvidence(ev []string, what string) []string {
	var out []string
	for _, e := range ev {
		if strings.Contains(e, what) {
			out = append(out, e)
		}
	}
	return out
}
