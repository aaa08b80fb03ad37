package publish

import (
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// Kind is the kind of an output.
type Kind string

// The output kinds, named as in `--output KIND:WHERE`.
const (
	OCI           Kind = "oci"
	DockerArchive Kind = "docker-archive"
	Registry      Kind = "registry"
)

// Target is where Publish sends an image.
type Target struct {
	Kind Kind
	// Path is the directory (OCI) or file (DockerArchive).
	Path string
	// Ref is the image reference for Registry, the tag recorded in a
	// docker archive (optional), or the ref name annotated in an OCI layout
	// (optional, default "latest").
	Ref string
}

// ErrBadTarget reports an output string Parse cannot read.
var ErrBadTarget = errors.New("invalid output")

// Parse reads an output specification: "oci:DIR[:NAME]" (NAME annotates the
// image in the layout's index, default "latest"), "docker-archive:FILE[:TAG]"
// (TAG is what `docker load` names the image), or "registry:REF". As in
// skopeo, the first ':' after the kind's own ends the path, so paths cannot
// contain ':'.
func Parse(s string) (Target, error) {
	kind, rest, ok := strings.Cut(s, ":")
	if !ok || rest == "" {
		return Target{}, fmt.Errorf("%w %q: want oci:DIR, docker-archive:FILE[:TAG] or registry:REF", ErrBadTarget, s)
	}
	if strings.ContainsRune(rest, 0) {
		return Target{}, fmt.Errorf("%w %q: NUL byte", ErrBadTarget, s)
	}
	switch Kind(kind) {
	case OCI, DockerArchive:
		return parseLocal(Kind(kind), rest)
	case Registry:
		ref, err := name.ParseReference(rest, name.StrictValidation)
		if err != nil {
			return Target{}, fmt.Errorf("%w %q: %w", ErrBadTarget, s, err)
		}
		return Target{Kind: Registry, Ref: ref.String()}, nil
	}
	return Target{}, fmt.Errorf("%w %q: unknown kind %q (want oci, docker-archive or registry)", ErrBadTarget, s, kind)
}

// parseLocal splits PATH[:NAME] at the first ':'.
func parseLocal(kind Kind, rest string) (Target, error) {
	file, ref, found := strings.Cut(rest, ":")
	if found {
		if err := checkLocalRef(kind, ref); err != nil {
			return Target{}, fmt.Errorf("%w %s:%s: %w", ErrBadTarget, kind, rest, err)
		}
	}
	if file == "" || strings.HasSuffix(file, "/") && kind == DockerArchive {
		return Target{}, fmt.Errorf("%w %s:%s: no file name", ErrBadTarget, kind, rest)
	}
	return Target{Kind: kind, Path: file, Ref: ref}, nil
}

func checkLocalRef(kind Kind, ref string) error {
	if kind == DockerArchive {
		_, err := name.NewTag(ref, name.StrictValidation)
		return err
	}
	if ref == "" || strings.ContainsAny(ref, "/ \t\n") {
		return fmt.Errorf("invalid image name %q", ref)
	}
	return nil
}

// String returns the specification Parse reads back.
func (t Target) String() string {
	switch t.Kind {
	case Registry:
		return string(Registry) + ":" + t.Ref
	case DockerArchive, OCI:
		if t.Ref != "" {
			return string(t.Kind) + ":" + t.Path + ":" + t.Ref
		}
	}
	return string(t.Kind) + ":" + t.Path
}
