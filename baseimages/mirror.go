package baseimages

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// CheckPythonMirror vets an HFPACK_PYTHON_MIRROR value: an http(s) URL that
// takes the place of PythonDownloadPrefix.
func CheckPythonMirror(mirror string) error {
	u, err := url.Parse(mirror)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("HFPACK_PYTHON_MIRROR=%q is not an http(s) URL: set it to the URL that replaces %s, e.g. https://files.example.com/python-build-standalone", mirror, PythonDownloadPrefix)
	}
	return nil
}

// CheckBaseMirror vets an HFPACK_BASE_MIRROR value: a registry host with an
// optional path that takes the place of docker.io.
func CheckBaseMirror(mirror string) error {
	if _, err := name.NewRepository(strings.TrimSuffix(mirror, "/")+"/x", name.StrictValidation); err != nil || strings.Contains(mirror, "://") {
		return fmt.Errorf("HFPACK_BASE_MIRROR=%q is not a registry host/path: set it to what replaces docker.io, e.g. us-docker.pkg.dev/PROJECT/dockerhub", mirror)
	}
	return nil
}

// MirrorRuntimeURL rewrites a runtime URL under PythonDownloadPrefix to the
// mirror; other URLs (a catalog file's own server) stay as they are.
func MirrorRuntimeURL(u, mirror string) (string, bool) {
	rest, ok := strings.CutPrefix(u, PythonDownloadPrefix+"/")
	if !ok || mirror == "" {
		return u, false
	}
	return strings.TrimSuffix(mirror, "/") + "/" + rest, true
}

// MirrorRepository maps a Docker Hub repository (docker.io/nvidia/cuda,
// nvidia/cuda, debian) onto the mirror (MIRROR/nvidia/cuda,
// MIRROR/library/debian); other registries stay as they are.
func MirrorRepository(repo, mirror string) (string, bool) {
	if mirror == "" || strings.HasPrefix(repo, OCILayoutPrefix) {
		return repo, false
	}
	r, err := name.NewRepository(repo)
	if err != nil || r.RegistryStr() != name.DefaultRegistry {
		return repo, false
	}
	return strings.TrimSuffix(mirror, "/") + "/" + r.RepositoryStr(), true
}

// mirrors points the base and the runtime at the mirrors the request names
// and says so; digests and checksums are unchanged, so the image is too.
func (s *selector) mirrors() {
	if m, ok := MirrorRepository(s.out.Base.Repository, s.req.BaseMirror); ok {
		s.out.Base.Mirror = m
		s.reason("the base is pulled from %s (HFPACK_BASE_MIRROR), by the same digest", m)
	}
	if rt := s.out.Runtime; rt != nil {
		if u, ok := MirrorRuntimeURL(rt.URL, s.req.PythonMirror); ok {
			rt.URL, rt.Mirror = u, s.req.PythonMirror
			s.reason("the Python runtime is downloaded from %s (HFPACK_PYTHON_MIRROR), checked against the same sha256", u)
		}
	}
	if c := s.out.Base.Catalog; c != "" {
		s.reason("the base's row comes from the catalog file %s", c)
	}
	if rt := s.out.Runtime; rt != nil && rt.Catalog != "" {
		s.reason("the Python runtime's row comes from the catalog file %s", rt.Catalog)
	}
}
