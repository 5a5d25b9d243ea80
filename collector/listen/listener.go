package listen

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/weft-dev/weft/event"
)

// Listener is a bound socket with the options of one network source. Open
// binds it, so that a port in use is an error at start; ServeTCP, ServeHTTP
// or beats.Serve then take connections on it.
type Listener struct {
	kind string
	cfg  Config
	ln   net.Listener
	// addr is the address as configured, with the bound port (AsConfigured).
	addr  string
	tls   *tls.Config
	token string
	log   zerolog.Logger
	slots *table

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
		kind: kind, cfg: cfg, ln: ln, addr: AsConfigured(cfg.address(kind), ln.Addr()), tls: tlsConf, token: token,
		slots: newTable(cfg.maxConnections(), cfg.maxConnectionsPerPeer()),
	}
	l.log = log.With().Str("source", kind).Str("listener", l.Name()).Logger()
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok && !tcp.IP.IsLoopback() && tlsConf == nil {
		l.log.Warn().Msg("listening beyond loopback without TLS: events travel in clear text")
	}
	return l, nil
}

// Addr is the bound address (with the port chosen when 0 was asked for).
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

// Name names the listener in logs, metrics and event origins as it was
// configured: "tcp 127.0.0.1:5140", "http 0.0.0.0:8080" (not the socket's
// "[::]:8080").
func (l *Listener) Name() string { return l.kind + " " + l.addr }

// AsConfigured names a bound listener as its configuration did, with the
// port it was given when 0 was asked for: "0.0.0.0:8080" stays that, where
// the socket itself says "[::]:8080" (Go binds 0.0.0.0 to both IPv4 and
// IPv6), and a host name stays a name. A missing host is loopback, as
// listenAddr makes it.
func AsConfigured(configured string, bound net.Addr) string {
	host, port, err := net.SplitHostPort(configured)
	if err != nil {
		host, port = "", configured
	}
	if host == "" {
		host = "127.0.0.1"
	}
	if tcp, ok := bound.(*net.TCPAddr); ok {
		port = strconv.Itoa(tcp.Port)
	}
	return net.JoinHostPort(host, port)
}

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

// ErrEventTimeout is what a Conn's reads return when an event that has
// started to arrive is not complete within the event timeout, however the
// sender trickles it.
var ErrEventTimeout = errors.New("event not completed within the event timeout")

// Conn is one accepted connection, TLS already negotiated and its first
// byte received. A read may wait up to the idle timeout; once an event has
// started (its first byte read), the reads until the handler calls
// EventDone also share the event timeout, so that a peer sending a byte now
// and then cannot hold the connection. Time the handler spends
// not reading (waiting for the bus) does not count. Once the listener
// stops, reads fail with ErrShutdown so that the handler stores what it has
// read and returns.
type Conn struct {
	net.Conn
	// Peer is the remote address, as logs and origins name it.
	Peer string
	idle time.Duration

	// Owned by the goroutine that reads.
	pre          []byte // read ahead while opening
	eventTimeout time.Duration
	partial      bool          // an event has started
	left         time.Duration // of the event timeout, while partial
	manual       bool          // deadlines are set by the user (net/http)

	slot    *slot
	table   *table
	release sync.Once
	closed  func()

	mu       sync.Mutex
	stopping bool
}

func (c *Conn) Read(p []byte) (int, error) {
	if len(c.pre) > 0 {
		n := copy(p, c.pre)
		c.pre = c.pre[n:]
		return n, nil
	}
	if c.manual {
		return c.Conn.Read(p)
	}
	c.mu.Lock()
	if c.stopping {
		c.mu.Unlock()
		return 0, ErrShutdown
	}
	// Silence is bounded by the idle timeout anywhere; an event that has
	// started, by what is left of the event timeout too.
	wait, eventBound := c.idle, false
	if c.partial {
		if c.left <= 0 {
			c.mu.Unlock()
			return 0, ErrEventTimeout
		}
		wait, eventBound = min(c.idle, c.left), c.left <= c.idle
	}
	start := time.Now()
	err := c.Conn.SetReadDeadline(start.Add(wait))
	c.mu.Unlock()
	if err != nil {
		return 0, err
	}
	n, err := c.Conn.Read(p)
	switch {
	case c.partial:
		c.left -= time.Since(start)
	case n > 0:
		c.partial, c.left = true, c.eventTimeout
	}
	if err != nil {
		c.mu.Lock()
		stopping := c.stopping
		c.mu.Unlock()
		switch {
		case stopping:
			err = ErrShutdown
		case eventBound && IsIdle(err):
			err = ErrEventTimeout
		}
	}
	return n, err
}

// EventDone tells the connection that an event is complete (stored or
// skipped): the next bytes start the next event's time.
func (c *Conn) EventDone() { c.partial = false }

func (c *Conn) Write(p []byte) (int, error) {
	if !c.manual {
		if err := c.Conn.SetWriteDeadline(time.Now().Add(c.idle)); err != nil {
			return 0, err
		}
	}
	return c.Conn.Write(p)
}

// Close closes the connection and frees its slot.
func (c *Conn) Close() error {
	err := c.Conn.Close()
	c.release.Do(func() {
		c.table.release(c.slot)
		c.closed()
	})
	return err
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
// a goroutine of its own once it has its TLS handshake done, its first
// byte sent and its turn among its peer's connections; then waits for
// every handler to return. A connection refused, evicted or whose TLS
// handshake fails is logged with its peer and closed.
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
	return l.acceptConns(ctx, false, stopConns, func(c *Conn) {
		mu.Lock()
		active[c] = struct{}{}
		if ctx.Err() != nil {
			c.stop()
		}
		mu.Unlock()
		defer func() {
			mu.Lock()
			delete(active, c)
			mu.Unlock()
		}()
		l.log.Debug().Str("peer", c.Peer).Msg("connection")
		handle(store, c)
	})
}

// acceptConns accepts connections until ctx ends or the socket is closed.
// Each one, holding a slot, is opened in a goroutine of its own (TLS
// handshake, first byte, its turn) and then given to serve, which returns
// when done with it (manual: when it handed it on, and the new owner closes
// it). When ctx ends, or serving does, stopServing is called to stop the
// connections being served; then it waits for those goroutines.
func (l *Listener) acceptConns(ctx context.Context, manual bool, stopServing func(), serve func(c *Conn)) error {
	var mu sync.Mutex
	opening := map[*Conn]struct{}{}
	stopOpening := func() {
		mu.Lock()
		defer mu.Unlock()
		for c := range opening {
			c.stop()
		}
		if stopServing != nil {
			stopServing()
		}
	}
	unregister := context.AfterFunc(ctx, func() {
		_ = l.ln.Close()
		stopOpening()
	})
	defer unregister()
	l.log.Info().Msg("listening")

	var wg sync.WaitGroup
	defer wg.Wait()
	quit := make(chan struct{})
	defer close(quit)
	// However serving ends (the listener may be closed from outside),
	// connections stop being opened and read before they are waited for.
	defer stopOpening()
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
		s := l.admit(ctx, nc)
		if s == nil {
			continue
		}
		c := &Conn{
			Conn: nc, Peer: nc.RemoteAddr().String(), idle: l.cfg.idleTimeout(),
			eventTimeout: l.cfg.eventTimeout(), manual: manual,
			slot: s, table: l.slots, closed: l.opened(),
		}
		mu.Lock()
		opening[c] = struct{}{}
		if ctx.Err() != nil {
			c.stop()
		}
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok := l.open(ctx, quit, c)
			mu.Lock()
			delete(opening, c)
			mu.Unlock()
			if !ok {
				_ = c.Close()
				return
			}
			if !manual {
				defer c.Close()
			}
			serve(c)
		}()
	}
}

// admit finds nc a slot: a free one, or one given up by a connection that
// has sent nothing, or by one over its peer's limit; else it waits up to
// the handshake timeout for one to free, and refuses nc.
func (l *Listener) admit(ctx context.Context, nc net.Conn) *slot {
	peer := nc.RemoteAddr().String()
	if host, _, err := net.SplitHostPort(peer); err == nil {
		peer = host
	}
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	deadline := time.Now().Add(l.cfg.handshakeTimeout())
	for {
		now := time.Now()
		s, ev, next := l.slots.take(nc, peer, now)
		if ev != nil {
			l.evicted(ev)
		}
		if s != nil {
			return s
		}
		if !now.Before(deadline) {
			l.CountError(ReasonMaxConnections, 1)
			l.log.Warn().Str("peer", nc.RemoteAddr().String()).Int("max_connections", l.slots.max).
				Dur("waited", l.cfg.handshakeTimeout()).Msg("refused connection: too many connections")
			_ = nc.Close()
			return nil
		}
		wake := deadline
		if !next.IsZero() && next.Before(wake) {
			wake = next
		}
		if timer == nil {
			timer = time.NewTimer(wake.Sub(now))
		} else {
			timer.Reset(wake.Sub(now))
		}
		select {
		case <-ctx.Done():
			_ = nc.Close()
			return nil
		case <-l.slots.changed:
		case <-timer.C:
		}
	}
}

// evicted closes a connection that gave its slot to a newcomer.
func (l *Listener) evicted(ev *eviction) {
	peer := ev.conn.RemoteAddr().String()
	switch ev.reason {
	case ReasonEvicted:
		l.CountError(ev.reason, 1)
		l.log.Warn().Str("peer", peer).Int("max_connections", l.slots.max).
			Msg("closed connection: nothing received from it, and its slot was needed")
	case ReasonPeerLimit:
		l.CountError(ev.reason, 1)
		l.log.Warn().Str("peer", peer).Int("max_connections_per_peer", l.slots.perPeer).
			Msg("closed connection: too many connections from this peer, and its slot was needed")
	default:
		l.log.Debug().Str("peer", peer).Msg("closed idle keep-alive connection: its slot was needed")
	}
	_ = ev.conn.Close()
}

// open runs a new connection's opening: its TLS handshake within the
// handshake timeout, its first byte within the idle timeout (until then it
// gives way to newcomers when slots run out), then its turn among its
// peer's connections. It reports false, having counted and logged why, when
// the connection is to be closed.
func (l *Listener) open(ctx context.Context, quit <-chan struct{}, c *Conn) bool {
	l.slots.setQuiet(c.slot, true)
	if l.tls != nil && !l.handshake(ctx, c) {
		return false
	}
	err := c.readFirst()
	l.slots.setQuiet(c.slot, false)
	if err != nil {
		log := l.log.With().Str("peer", c.Peer).Logger()
		switch {
		case l.slots.wasEvicted(c.slot), errors.Is(err, ErrShutdown):
		case errors.Is(err, io.EOF):
			log.Debug().Msg("connection closed before sending anything")
		case IsIdle(err):
			l.CountError(ReasonIdle, 1)
			log.Warn().Dur("idle_timeout", c.idle).Msg("closing connection: nothing received within the idle timeout")
		default:
			l.CountError(ReasonRead, 1)
			log.Warn().Err(err).Msg("closing connection")
		}
		return false
	}
	turn, idle := l.slots.promote(c.slot)
	if idle != nil {
		_ = idle.Close()
	}
	if turn != nil {
		l.log.Debug().Str("peer", c.Peer).Int("max_connections_per_peer", l.slots.perPeer).
			Msg("connection waits: too many connections from this peer")
		select {
		case <-turn:
		case <-ctx.Done():
			return false
		case <-quit:
			return false
		}
		if !l.slots.isActive(c.slot) {
			return false // evicted, and logged so
		}
	}
	return true
}

// readFirst waits up to the idle timeout for the first byte, which starts
// the first event.
func (c *Conn) readFirst() error {
	c.mu.Lock()
	if c.stopping {
		c.mu.Unlock()
		return ErrShutdown
	}
	err := c.Conn.SetReadDeadline(time.Now().Add(c.idle))
	c.mu.Unlock()
	if err != nil {
		return err
	}
	var b [1]byte
	n, err := c.Conn.Read(b[:])
	if n > 0 {
		c.pre = b[:n]
		c.partial, c.left = true, c.eventTimeout
		if c.manual {
			return c.Conn.SetReadDeadline(time.Time{})
		}
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	c.mu.Lock()
	if c.stopping {
		err = ErrShutdown
	}
	c.mu.Unlock()
	return err
}

// handshake runs the TLS handshake within the handshake timeout and swaps
// the connection for its TLS side.
func (l *Listener) handshake(ctx context.Context, c *Conn) bool {
	tc := tls.Server(c.Conn, l.tls)
	limit := l.cfg.handshakeTimeout()
	hctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		switch {
		case ctx.Err() != nil, l.slots.wasEvicted(c.slot):
		case errors.Is(hctx.Err(), context.DeadlineExceeded):
			l.CountError(ReasonTLS, 1)
			l.log.Warn().Str("peer", c.Peer).Dur("handshake_timeout", limit).Msg("TLS handshake failed: not completed within the handshake timeout")
		default:
			l.CountError(ReasonTLS, 1)
			l.log.Warn().Str("peer", c.Peer).Err(err).Msg("TLS handshake failed")
		}
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
