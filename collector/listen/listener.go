package listen

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/weft-dev/weft/event"
)

// Listener is a bound socket with the options of one network source. Open
// binds it, so that a port in use is an error at start; ServeTCP, ServeHTTP
// or beats.Serve then take connections on it.
type Listener struct {
	kind  string
	cfg   Config
	ln    net.Listener
	tls   *tls.Config
	token string
	log   zerolog.Logger
	sem   chan struct{}

	counters counters
}

// Open validates cfg for kind, loads its certificates and token, and binds
// the listening socket.
func Open(kind string, cfg Config, log zerolog.Logger) (*Listener, error) {
	if err := cfg.Validate(kind); err != nil {
		return nil, err
	}
	tlsConf, err := cfg.TLS.serverTLS()
	if err != nil {
		return nil, err
	}
	token, err := cfg.token()
	if err != nil {
		return nil, err
	}
	addr, err := listenAddr(cfg.address(kind))
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s source: %w", kind, err)
	}
	l := &Listener{
		kind: kind, cfg: cfg, ln: ln, tls: tlsConf, token: token,
		sem: make(chan struct{}, cfg.maxConnections()),
	}
	l.log = log.With().Str("source", kind).Str("listener", l.Name()).Logger()
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok && !tcp.IP.IsLoopback() && tlsConf == nil {
		l.log.Warn().Msg("listening beyond loopback without TLS: events travel in clear text")
	}
	return l, nil
}

// Addr is the bound address (with the port chosen when 0 was asked for).
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

// Name names the listener in logs and event origins: "tcp 127.0.0.1:5140".
func (l *Listener) Name() string { return l.kind + " " + l.ln.Addr().String() }

// Close releases the socket; serving closes it too.
func (l *Listener) Close() error { return l.ln.Close() }

// MaxEventSize is the configured bound on one event.
func (l *Listener) MaxEventSize() int { return l.cfg.maxEventSize() }

// MaxBatchBytes is the configured bound on what is acknowledged together.
func (l *Listener) MaxBatchBytes() int64 { return l.cfg.maxBatchBytes() }

// Log is the listener's logger.
func (l *Listener) Log() zerolog.Logger { return l.log }

// Stamp records on an event that it came through this listener from peer.
// The file fields are cleared: for a network event they would only repeat
// the peer and mislead readers of origins.
func (l *Listener) Stamp(r *event.Raw, peer string) {
	r.Origin.Path, r.Origin.Chunk = "", 0
	r.Origin.Listener, r.Origin.Peer = l.Name(), peer
}

// ErrShutdown is what a Conn's reads return once its listener is stopping.
var ErrShutdown = errors.New("listener shutting down")

// Conn is one accepted connection, TLS already negotiated. Each read or
// write must complete within the idle timeout; once the listener stops,
// reads fail with ErrShutdown so that the handler stores what it has read
// and returns.
type Conn struct {
	net.Conn
	// Peer is the remote address, as logs and origins name it.
	Peer string
	idle time.Duration

	mu       sync.Mutex
	stopping bool
}

func (c *Conn) Read(p []byte) (int, error) {
	c.mu.Lock()
	if c.stopping {
		c.mu.Unlock()
		return 0, ErrShutdown
	}
	err := c.Conn.SetReadDeadline(time.Now().Add(c.idle))
	c.mu.Unlock()
	if err != nil {
		return 0, err
	}
	n, err := c.Conn.Read(p)
	if err != nil {
		c.mu.Lock()
		if c.stopping {
			err = ErrShutdown
		}
		c.mu.Unlock()
	}
	return n, err
}

func (c *Conn) Write(p []byte) (int, error) {
	if err := c.Conn.SetWriteDeadline(time.Now().Add(c.idle)); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

// IsIdle reports whether err is a connection timing out for silence.
func IsIdle(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// stop makes pending and later reads fail with ErrShutdown.
func (c *Conn) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopping = true
	_ = c.Conn.SetReadDeadline(time.Now())
}

// ConnHandler serves one connection. ctx is for storing what was read: it
// outlives the listener's stop by DrainTimeout. The listener closes the
// connection when the handler returns.
type ConnHandler func(ctx context.Context, c *Conn)

// ServeConns accepts connections until ctx ends, each served by handle in
// a goroutine of its own, then waits for every handler to return. A
// connection over the limit, or whose TLS handshake fails, is logged with
// its peer and closed.
func (l *Listener) ServeConns(ctx context.Context, handle ConnHandler) error {
	store, cancelStore := drainContext(ctx)
	defer cancelStore()
	var mu sync.Mutex
	active := map[*Conn]struct{}{}
	stopConns := func() {
		mu.Lock()
		defer mu.Unlock()
		for c := range active {
			c.stop()
		}
	}
	unregister := context.AfterFunc(ctx, func() {
		_ = l.ln.Close()
		stopConns()
	})
	defer unregister()
	l.log.Info().Msg("listening")

	var wg sync.WaitGroup
	defer wg.Wait()
	// However serving ends (the listener may be closed from outside),
	// connections stop being read before they are waited for.
	defer stopConns()
	var backoff time.Duration
	for {
		nc, err := l.ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			// Out of file descriptors and the like: wait, try again.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			l.log.Error().Err(err).Dur("retry_in", backoff).Msg("accept")
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(backoff):
			}
			continue
		}
		backoff = 0
		if !l.acquire(nc) {
			continue
		}
		closed := l.opened()
		c := &Conn{Conn: nc, Peer: nc.RemoteAddr().String(), idle: l.cfg.idleTimeout()}
		mu.Lock()
		active[c] = struct{}{}
		if ctx.Err() != nil {
			c.stop()
		}
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				mu.Lock()
				delete(active, c)
				mu.Unlock()
				_ = c.Conn.Close()
				closed()
				<-l.sem
			}()
			if l.tls != nil {
				if !l.handshake(ctx, c) {
					return
				}
			}
			l.log.Debug().Str("peer", c.Peer).Msg("connection")
			handle(store, c)
		}()
	}
}

// acquire takes a connection slot, or refuses the connection.
func (l *Listener) acquire(nc net.Conn) bool {
	select {
	case l.sem <- struct{}{}:
		return true
	default:
		l.CountError(ReasonMaxConnections, 1)
		l.log.Warn().Str("peer", nc.RemoteAddr().String()).Int("max_connections", cap(l.sem)).
			Msg("refused connection: too many connections")
		_ = nc.Close()
		return false
	}
}

// handshake runs the TLS handshake within the idle timeout and swaps the
// connection for its TLS side.
func (l *Listener) handshake(ctx context.Context, c *Conn) bool {
	tc := tls.Server(c.Conn, l.tls)
	hctx, cancel := context.WithTimeout(ctx, c.idle)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		l.CountError(ReasonTLS, 1)
		l.log.Warn().Str("peer", c.Peer).Err(err).Msg("TLS handshake failed")
		return false
	}
	c.mu.Lock()
	c.Conn = tc
	if c.stopping {
		_ = tc.SetReadDeadline(time.Now())
	}
	c.mu.Unlock()
	return true
}

// drainContext is a context for storing events: it ends DrainTimeout after
// ctx does, or when cancel is called.
func drainContext(ctx context.Context) (context.Context, context.CancelFunc) {
	store, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(DrainTimeout, cancel)
		context.AfterFunc(store, func() { t.Stop() })
	})
	return store, func() {
		stop()
		cancel()
	}
}
