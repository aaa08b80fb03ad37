// Command hfpack-sidecar serves a model under the Vertex AI custom-container
// contract in front of hfpack's Python worker. See package sidecar.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/hfpack/hfpack/cmd/hfpack-sidecar/sidecar"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "hfpack-sidecar:", err)
		}
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string) error {
	cfg, err := sidecar.ParseArgs(args, os.Getenv, os.Stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	return sidecar.Run(ctx, cfg)
}
