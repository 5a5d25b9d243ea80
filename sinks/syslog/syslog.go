package syslog

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/weft-dev/weft/event"
	"github.com/weft-dev/weft/sinks"
)

// SampleConfig is a commented example of this sink's configuration.
//
//go:embed sample.yaml
var SampleConfig string

// Defaults for the zero values of Config.
const (
	DefaultFacility = "local0"
	DefaultSDID     = "weft@32473"
	DefaultTimeout  = 5 * time.Second
	DefaultMaxSize  = 8192
	defaultPort     = "514"
	defaultTLSPort  = "6514"
	// maxUDPPayload is the largest IPv4 UDP datagram payload.
	maxUDPPayload = 65507
	maxTCPSize    = 1 << 20
)

// Config configures the syslog sink. Zero values take the documented
// defaults.
type Config struct {
	// Network is udp (default), tcp or tls (RFC 5425: TCP with TLS, octet
	// counting); udp4, udp6, tcp4, tcp6 pin the address family.
	Network string `yaml:"network"`
	// Address is the receiver, host:port; the port defaults to 514, or
	// 6514 for tls. Required.
	Address string `yaml:"address"`
	// Format is rfc5424 (default) or rfc3164, the older BSD header
	// ("<PRI>Mmm dd hh:mm:ss HOST weft[PID]: ") before the same
	// structured data and JSON.
	Format string `yaml:"format"`
	// Facility is a name (kern, user, mail, daemon, auth, syslog, lpr,
	// news, uucp, cron, authpriv, ftp, ntp, audit, alert, clock,
	// local0-local7) or a number 0-23. Default local0.
	Facility string `yaml:"facility"`
	// Hostname is the HOSTNAME field. Default: the local host name.
	Hostname string `yaml:"hostname"`
	// SDID names the structured-data element. Default weft@32473 (32473 is
	// the example enterprise number of RFC 5612; use your own if you have
	// one).
	SDID string `yaml:"sd_id"`
	// Timeout bounds connecting (TLS handshake included) and writing one
	// message. Default 5s.
	Timeout time.Duration `yaml:"timeout"`
	// MaxSize is the largest message in bytes (framing excluded). Default
	// 8192, what rsyslog accepts by default; at most 65507 over UDP.
	MaxSize int `yaml:"max_size" unit:"bytes"`
	// TLS options, for network tls only. CAFile is a PEM bundle trusted
	// instead of the system roots; the server's certificate is always
	// verified, against ServerName (default: the host of Address).
	// CertFile and KeyFile are a client certificate for receivers that
	// authenticate senders; the key is read from its file only.
	CAFile     string `yaml:"ca_file"`
	ServerName string `yaml:"server_name"`
	CertFile   string `yaml:"cert_file"`
	KeyFile    string `yaml:"key_file"`
}

type sink struct {
	network string // as configured: udp, tcp or tls and their variants
	dialNet string // what net.Dial gets
	address string
	timeout time.Duration
	stream  bool // tcp or tls: octet-counted frames on one connection
	tls     *tls.Config
	f       formatter

	mu     sync.Mutex
	conn   net.Conn
	dead   chan struct{} // closed when a stream receiver closes its end
	closed bool
}

// New validates cfg and builds the sink. It connects on the first Send.
func New(cfg Config) (sinks.Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("syslog: %w", err)
	}
	s, err := build(cfg)
	if err != nil {
		return nil, fmt.Errorf("syslog: %w", err)
	}
	return s, nil
}

func build(cfg Config) (*sink, error) {
	s := &sink{network: cfg.Network, dialNet: cfg.Network, timeout: cfg.Timeout}
	port := defaultPort
	switch s.network {
	case "":
		s.network, s.dialNet = "udp", "udp"
	case "udp", "udp4", "udp6":
	case "tcp", "tcp4", "tcp6":
		s.stream = true
	case "tls":
		s.stream, s.dialNet, port = true, "tcp", defaultTLSPort
	default:
		return nil, fmt.Errorf("network %q is not udp, tcp or tls", cfg.Network)
	}
	if s.network != "tls" && (cfg.CAFile != "" || cfg.ServerName != "" || cfg.CertFile != "" || cfg.KeyFile != "") {
		return nil, fmt.Errorf("ca_file, server_name, cert_file and key_file apply to network tls only, not %s", s.network)
	}
	if cfg.Address == "" {
		return nil, errors.New("address is required")
	}
	s.address = cfg.Address
	if _, _, err := net.SplitHostPort(cfg.Address); err != nil {
		s.address = net.JoinHostPort(cfg.Address, port)
		if _, _, err := net.SplitHostPort(s.address); err != nil {
			return nil, fmt.Errorf("address %q is not host:port", cfg.Address)
		}
	}
	if s.timeout < 0 {
		return nil, errors.New("timeout must not be negative")
	}
	if s.timeout == 0 {
		s.timeout = DefaultTimeout
	}
	if s.network == "tls" {
		conf, err := tlsConfig(cfg, s.address)
		if err != nil {
			return nil, err
		}
		s.tls = conf
	}
	switch cfg.Format {
	case "", "rfc5424":
	case "rfc3164":
		s.f.rfc3164 = true
	default:
		return nil, fmt.Errorf("format %q is not rfc5424 or rfc3164", cfg.Format)
	}

	facility := cfg.Facility
	if facility == "" {
		facility = DefaultFacility
	}
	fac, err := parseFacility(facility)
	if err != nil {
		return nil, err
	}
	host := cfg.Hostname
	if host == "" {
		if host, err = os.Hostname(); err != nil {
			return nil, fmt.Errorf("hostname not configured and not known: %w", err)
		}
	} else if headerField(host, maxHostname) != host {
		return nil, fmt.Errorf("hostname %q must be 1-255 printable ASCII characters", host)
	}
	sdID := cfg.SDID
	if sdID == "" {
		sdID = DefaultSDID
	}
	if err := checkSDID(sdID); err != nil {
		return nil, err
	}
	limit := maxTCPSize
	if !s.stream {
		limit = maxUDPPayload
	}
	maxSize := cfg.MaxSize
	switch {
	case maxSize == 0:
		maxSize = DefaultMaxSize
	case maxSize < 480 || maxSize > limit:
		// RFC 5424 receivers must accept 480 octets.
		return nil, fmt.Errorf("max_size %d is outside 480-%d for %s", maxSize, limit, s.network)
	}
	s.f.facility = fac
	s.f.hostname = headerField(host, maxHostname)
	s.f.procID = strconv.Itoa(os.Getpid())
	s.f.sdID = sdID
	s.f.maxSize = maxSize
	// Event data makes alerts of any size: the smallest form of the
	// largest alert must fit, or some alerts could never be sent.
	for _, c := range []string{`"`, "\x01", "\u0085"} {
		if n, err := s.f.smallest(worstAlert(c)); err != nil || n > maxSize {
			return nil, fmt.Errorf("max_size %d is too small: with hostname %q an alert needs up to %d bytes when every field is cut (%v)", maxSize, s.f.hostname, n, err)
		}
	}
	return s, nil
}

// tlsConfig builds the client side of RFC 5425: TLS 1.2 or later, the
// server verified against the CA file (or the system roots) and the
// server name.
func tlsConfig(cfg Config, address string) (*tls.Config, error) {
	conf := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: cfg.ServerName}
	if conf.ServerName == "" {
		conf.ServerName, _, _ = net.SplitHostPort(address)
	}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file: %s holds no PEM certificate", cfg.CAFile)
		}
		conf.RootCAs = pool
	}
	if (cfg.CertFile == "") != (cfg.KeyFile == "") {
		return nil, errors.New("cert_file and key_file go together")
	}
	if cfg.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			// The error names the files and what is wrong with them; it
			// never quotes the key.
			return nil, fmt.Errorf("cert_file/key_file: %w", err)
		}
		conf.Certificates = []tls.Certificate{cert}
	}
	return conf, nil
}

func (s *sink) Name() string { return "syslog" }

// Send formats the alert and writes it. A failed write closes the
// connection and the same message is written once more on a fresh one, so
// a receiver restart costs no alert. Over TCP and TLS, a receiver that
// closed its end is noticed before writing; a close that races the write
// itself can still lose the message, which only an acknowledging protocol
// (RELP) would prevent.
func (s *sink) Send(ctx context.Context, a *event.Alert) error {
	if a == nil {
		return sinks.Permanent(errors.New("syslog: nil alert"))
	}
	msg, err := s.f.format(a)
	if err != nil {
		return sinks.Permanent(fmt.Errorf("syslog: alert %s: %w", a.Event.ID, err))
	}
	if s.stream {
		// RFC 6587 octet counting: MSG-LEN SP SYSLOG-MSG.
		framed := strconv.AppendInt(make([]byte, 0, len(msg)+8), int64(len(msg)), 10)
		framed = append(framed, ' ')
		msg = append(framed, msg...)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("syslog: send after close")
	}
	first := s.write(ctx, msg)
	if first == nil {
		return nil
	}
	s.drop()
	if ctx.Err() != nil || errors.Is(first, context.DeadlineExceeded) || errors.Is(first, context.Canceled) {
		return fmt.Errorf("syslog: alert %s to %s %s: %w", a.Event.ID, s.network, s.address, first)
	}
	if err := s.write(ctx, msg); err != nil {
		s.drop()
		return fmt.Errorf("syslog: alert %s to %s %s: %w (after reconnecting; first try: %v)", a.Event.ID, s.network, s.address, err, first)
	}
	return nil
}

// write sends one message, connecting first when there is no live
// connection. The caller holds s.mu.
func (s *sink) write(ctx context.Context, msg []byte) error {
	if s.conn != nil && s.stream {
		select {
		case <-s.dead:
			s.drop()
		default:
		}
	}
	if s.conn == nil {
		if err := s.dial(ctx); err != nil {
			return err
		}
	}
	deadline := time.Now().Add(s.timeout)
	ctxDeadline := false
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline, ctxDeadline = d, true
	}
	if err := s.conn.SetWriteDeadline(deadline); err != nil {
		return err
	}
	conn := s.conn
	// Cancelling ctx interrupts a write blocked on a full TCP window.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetWriteDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := conn.Write(msg); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("write: %w", context.Cause(ctx))
		}
		if ctxDeadline && errors.Is(err, os.ErrDeadlineExceeded) {
			// The write deadline was ctx's; its timer may not have fired yet.
			return fmt.Errorf("write: %w", context.DeadlineExceeded)
		}
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

func (s *sink) dial(ctx context.Context) error {
	d := &net.Dialer{Timeout: s.timeout}
	var conn net.Conn
	var err error
	if s.tls != nil {
		// The dialer's timeout covers the handshake too.
		conn, err = (&tls.Dialer{NetDialer: d, Config: s.tls}).DialContext(ctx, s.dialNet, s.address)
	} else {
		conn, err = d.DialContext(ctx, s.dialNet, s.address)
	}
	if err != nil {
		return err
	}
	s.conn = conn
	if s.stream {
		// Receivers never send syslog data on the connection (TLS's own
		// records are handled inside tls.Conn), so the only thing this
		// read can see is the receiver closing: mark the connection dead
		// so the next Send reconnects instead of writing into a socket the
		// peer has left. It ends when the connection is closed.
		dead := make(chan struct{})
		s.dead = dead
		go func() {
			_, _ = io.Copy(io.Discard, conn)
			close(dead)
		}()
	}
	return nil
}

// drop closes the connection and waits for its reader to end. The caller
// holds s.mu.
func (s *sink) drop() {
	if s.conn == nil {
		return
	}
	_ = s.conn.Close()
	if s.dead != nil {
		<-s.dead
	}
	s.conn, s.dead = nil, nil
}

func (s *sink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.drop()
	return nil
}
