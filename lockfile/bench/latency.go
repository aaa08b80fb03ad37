package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hfpack/hfpack/lockfile/indextest"
)

// server is an indextest.Index served on loopback as if it were latency
// away: every request waits one round trip before it is answered, and every
// new connection one more before its first byte is read (the TCP handshake;
// TLS would add more, so this flatters whoever opens many connections).
type server struct {
	*indextest.Index
	URL string
	srv *httptest.Server
	// requests counts the requests answered.
	requests atomic.Int64
}

func newServer(latency time.Duration, opts ...indextest.Option) *server {
	s := &server{Index: indextest.New(opts...)}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		time.Sleep(latency)
		s.Index.ServeHTTP(w, r)
	}))
	if latency > 0 {
		s.srv.Listener = slowListener{s.srv.Listener, latency}
	}
	s.srv.Start()
	s.URL = s.srv.URL + "/simple/"
	return s
}

func (s *server) Close() { s.srv.Close() }

type slowListener struct {
	net.Listener
	d time.Duration
}

func (l slowListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &slowConn{Conn: c, d: l.d}, nil
}

// slowConn delays its first read by one round trip.
type slowConn struct {
	net.Conn
	d    time.Duration
	once sync.Once
}

func (c *slowConn) Read(p []byte) (int, error) {
	c.once.Do(func() { time.Sleep(c.d) })
	return c.Conn.Read(p)
}
