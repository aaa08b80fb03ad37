// Command hfpack turns a Hugging Face model and an hfpack.toml manifest into a
// reproducible, Vertex-AI-ready serving image.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/hfpack/hfpack/cmd/hfpack/internal/commands"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := commands.Execute(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
