package sidecar

import (
	"context"
	"fmt"
	"net"
	"strconv"
)

// Run serves cfg on its host and port until ctx ends (see Sidecar.Serve).
func Run(ctx context.Context, cfg Config, opts ...Option) error {
	s, err := New(cfg, opts...)
	if err != nil {
		return err
	}
	addr := net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		s.close()
		return fmt.Errorf("listening on %s: %w", addr, err)
	}
	return s.Serve(ctx, ln)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
