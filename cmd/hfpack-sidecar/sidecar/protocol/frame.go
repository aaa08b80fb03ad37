package protocol

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Version is the protocol version the sidecar speaks; the worker announces
// its own in the hello message and the two must match.
const Version = 3

// MaxFrameSize bounds the length of one frame (256 MiB), so that a corrupt
// or hostile length prefix cannot make the reader allocate without limit.
const MaxFrameSize = 256 << 20

// ErrFrameTooLarge is returned when a frame's length prefix exceeds the limit.
var ErrFrameTooLarge = errors.New("protocol: frame too large")

// WriteFrame writes payload as one frame.
func WriteFrame(w io.Writer, payload []byte) error {
	if len(payload) > MaxFrameSize {
		return fmt.Errorf("writing frame of %d bytes: %w", len(payload), ErrFrameTooLarge)
	}
	buf := make([]byte, 4+len(payload))
	binary.BigEndian.PutUint32(buf, uint32(len(payload)))
	copy(buf[4:], payload)
	_, err := w.Write(buf)
	return err
}

// ReadFrame reads one frame and returns its payload. It returns io.EOF only
// when the stream ends cleanly between frames.
func ReadFrame(r io.Reader) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > MaxFrameSize {
		return nil, fmt.Errorf("reading frame of %d bytes: %w", n, ErrFrameTooLarge)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("reading frame body: %w", err)
	}
	return buf, nil
}
