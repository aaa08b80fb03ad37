package publish

import (
	"io"
	"log"

	"github.com/google/go-containerregistry/pkg/v1/types"
)

type typesMediaType = types.MediaType

func nopLogger() *log.Logger { return log.New(io.Discard, "", 0) }
