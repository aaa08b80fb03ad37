package worker

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
)

const maxLine = 64 << 10

// lineLogger turns the worker's output into one log record per line.
type lineLogger struct {
	log    *slog.Logger
	level  slog.Level
	stream string

	mu  sync.Mutex
	buf []byte
}

func (l *lineLogger) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			if len(l.buf) > maxLine {
				l.emit(l.buf)
				l.buf = l.buf[:0]
			}
			return len(p), nil
		}
		l.emit(l.buf[:i])
		l.buf = l.buf[i+1:]
	}
}

func (l *lineLogger) emit(line []byte) {
	line = bytes.TrimRight(line, "\r")
	if len(line) == 0 {
		return
	}
	l.log.Log(context.Background(), l.level, string(line), "source", "worker", "stream", l.stream)
}
