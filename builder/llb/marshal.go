package llb

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/moby/buildkit/client/llb"
	"github.com/opencontainers/go-digest"
	"google.golang.org/protobuf/proto"

	"github.com/hfpack/hfpack/builder"
)

// Marshal returns def's canonical bytes: the deterministic protobuf
// encoding of def.ToPB(). llb.WriteTo is not stable (it writes the
// metadata map in Go map order); these bytes are, for one buildkit and
// protobuf version. `buildctl build` reads them from stdin, and ReadFrom
// reads them back.
func Marshal(def *llb.Definition) ([]byte, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(def.ToPB())
	if err != nil {
		return nil, fmt.Errorf("marshalling the llb definition: %w", err)
	}
	return b, nil
}

// ReadFrom reads a definition written by Marshal.
func ReadFrom(r io.Reader) (*llb.Definition, error) {
	return llb.ReadFrom(r)
}

// Digest is the sha256 digest of Marshal's bytes.
func Digest(b []byte) digest.Digest { return digest.FromBytes(b) }

// Emit lowers p and writes its canonical bytes to w (`hfpack build
// --emit-llb`), returning their digest.
func Emit(ctx context.Context, w io.Writer, p *builder.Plan, opts ...Option) (digest.Digest, error) {
	def, err := Lower(ctx, p, opts...)
	if err != nil {
		return "", err
	}
	b, err := Marshal(def)
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(w, bytes.NewReader(b)); err != nil {
		return "", fmt.Errorf("writing the llb definition: %w", err)
	}
	return Digest(b), nil
}
