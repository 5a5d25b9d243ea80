package listen

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/weft-dev/weft/internal/confkey"
)

// Kinds of network source, as weft.yaml names them.
const (
	KindTCP   = "tcp"
	KindHTTP  = "http"
	KindBeats = "beats"
)

// Defaults for the zero values of Config.
const (
	DefaultMaxEventSize          = 1 << 20
	DefaultMaxConnections        = 256
	DefaultMaxConnectionsPerPeer = 64
	DefaultIdleTimeout           = 5 * time.Minute
	DefaultHandshakeTimeout      = 10 * time.Second
	DefaultEventTimeout          = time.Minute
	DefaultMaxBatchBytes         = 64 << 20
	DefaultPublishTimeout        = 10 * time.Second
	// DrainTimeout is how long a stopping listener waits for the events
	// it has read to be stored.
	DrainTimeout = 10 * time.Second
	// BeatsPort is the port Beats' Logstash output sends to by default.
	BeatsPort = "5044"
)

// Config is a network source's section of weft.yaml.
type Config struct {
	// Listen is the [host:]port to listen on. Without a host it is
	// loopback only; give 0.0.0.0 or [::] (or an address) to take events
	// from other machines.
	Listen string `yaml:"listen"`
	TLS    TLS    `yaml:"tls"`
	// MaxEventSize is the largest event accepted, in bytes; a larger one
	// is reported and skipped.
	MaxEventSize int `yaml:"max_event_size" unit:"bytes"`
	// MaxConnections caps connections open at once. A connection that
	// has sent nothing yet (or not finished its TLS handshake) gives way
	// to a newcomer from another IP when they are all taken; a newcomer otherwise waits
	// up to handshake_timeout for one to close, then is refused.
	MaxConnections int `yaml:"max_connections"`
	// MaxConnectionsPerPeer caps the connections of one source IP served
	// at once; its further connections wait for their turn, and are the
	// first closed when another peer needs the room.
	MaxConnectionsPerPeer int `yaml:"max_connections_per_peer"`
	// IdleTimeout closes a connection that sends nothing for this long
	// (a silent or half-open peer).
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// HandshakeTimeout bounds a TLS handshake, and how long a new
	// connection waits for a free slot.
	HandshakeTimeout time.Duration `yaml:"handshake_timeout"`
	// EventTimeout bounds the time an event takes to arrive once its
	// first byte has (for HTTP: the request header, and each event of the
	// body), however the sender trickles it; time weft spends waiting
	// for the bus does not count.
	EventTimeout time.Duration `yaml:"event_timeout"`
	// MaxBatchBytes bounds what is acknowledged together: an HTTP body,
	// or a Beats window once decompressed.
	MaxBatchBytes int64 `yaml:"max_batch_bytes" unit:"bytes"`

	// HTTP only. A bearer token the sender must present
	// (Authorization: Bearer ...), given as is, or read from an
	// environment variable or a file.
	Token     string `yaml:"token"`
	TokenEnv  string `yaml:"token_env"`
	TokenFile string `yaml:"token_file"`
	// PublishTimeout is how long a request waits for the bus to store its
	// events before it is answered 503 with Retry-After.
	PublishTimeout time.Duration `yaml:"publish_timeout"`
}

// TLS turns on TLS with a server certificate; ClientCAFile turns on
// client-certificate authentication: senders must present a certificate
// that CA signed.
type TLS struct {
	CertFile     string `yaml:"cert_file"`
	KeyFile      string `yaml:"key_file"`
	ClientCAFile string `yaml:"client_ca_file"`
}

// Enabled reports whether TLS is configured.
func (t TLS) Enabled() bool { return t.CertFile != "" || t.KeyFile != "" || t.ClientCAFile != "" }

// Validate checks a config for a kind of source and reports every
// problem, each with its key (confkey). It reads the certificate and
// token files and the token variable the config names, as Open would, and
// opens no socket.
func (c Config) Validate(kind string) error {
	var errs []error
	switch kind {
	case KindTCP, KindHTTP, KindBeats:
	default:
		return fmt.Errorf("listen: unknown kind %q (want tcp, http or beats)", kind)
	}
	if c.Listen == "" && kind != KindBeats {
		errs = append(errs, confkey.Errorf("listen", "is required for a %s source: give a [host:]port", kind))
	}
	if c.Listen != "" {
		if _, err := listenAddr(c.Listen); err != nil {
			errs = append(errs, confkey.Errorf("listen", "%q is not a [host:]port", c.Listen))
		}
	}
	if c.TLS.Enabled() && (c.TLS.CertFile == "" || c.TLS.KeyFile == "") {
		errs = append(errs, confkey.Errorf("tls", "cert_file and key_file are both needed (client_ca_file needs them too)"))
	} else if _, err := c.TLS.serverTLS(); err != nil {
		errs = append(errs, err)
	}
	for _, f := range []struct {
		key string
		v   int64
	}{
		{"max_event_size", int64(c.MaxEventSize)}, {"max_connections", int64(c.MaxConnections)},
		{"max_connections_per_peer", int64(c.MaxConnectionsPerPeer)}, {"idle_timeout", int64(c.IdleTimeout)},
		{"handshake_timeout", int64(c.HandshakeTimeout)}, {"event_timeout", int64(c.EventTimeout)},
		{"max_batch_bytes", c.MaxBatchBytes}, {"publish_timeout", int64(c.PublishTimeout)},
	} {
		if f.v < 0 {
			errs = append(errs, confkey.Errorf(f.key, "must not be negative"))
		}
	}
	if c.MaxBatchBytes > 0 && c.MaxBatchBytes < int64(c.maxEventSize()) {
		errs = append(errs, confkey.Errorf("max_batch_bytes", "%d is smaller than max_event_size (%d)", c.MaxBatchBytes, c.maxEventSize()))
	}
	var tokens []string
	for _, t := range []struct{ key, v string }{{"token", c.Token}, {"token_env", c.TokenEnv}, {"token_file", c.TokenFile}} {
		if t.v != "" {
			tokens = append(tokens, t.key)
		}
	}
	if kind != KindHTTP {
		for _, k := range tokens {
			errs = append(errs, confkey.Errorf(k, "is for http sources, not %s", kind))
		}
		if c.PublishTimeout != 0 {
			errs = append(errs, confkey.Errorf("publish_timeout", "is for http sources, not %s", kind))
		}
	}
	switch {
	case len(tokens) > 1:
		errs = append(errs, confkey.Errorf(tokens[1], "give one of token, token_env and token_file"))
	case len(tokens) == 1 && kind == KindHTTP:
		if _, err := c.token(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (c Config) address(kind string) string {
	if c.Listen == "" && kind == KindBeats {
		return BeatsPort
	}
	return c.Listen
}

func (c Config) maxEventSize() int {
	if c.MaxEventSize > 0 {
		return c.MaxEventSize
	}
	return DefaultMaxEventSize
}

func (c Config) maxConnections() int {
	if c.MaxConnections > 0 {
		return c.MaxConnections
	}
	return DefaultMaxConnections
}

func (c Config) maxConnectionsPerPeer() int {
	if c.MaxConnectionsPerPeer > 0 {
		return c.MaxConnectionsPerPeer
	}
	return min(DefaultMaxConnectionsPerPeer, c.maxConnections())
}

func (c Config) handshakeTimeout() time.Duration {
	if c.HandshakeTimeout > 0 {
		return c.HandshakeTimeout
	}
	return DefaultHandshakeTimeout
}

func (c Config) eventTimeout() time.Duration {
	if c.EventTimeout > 0 {
		return c.EventTimeout
	}
	return DefaultEventTimeout
}

func (c Config) idleTimeout() time.Duration {
	if c.IdleTimeout > 0 {
		return c.IdleTimeout
	}
	return DefaultIdleTimeout
}

func (c Config) maxBatchBytes() int64 {
	if c.MaxBatchBytes > 0 {
		return c.MaxBatchBytes
	}
	return DefaultMaxBatchBytes
}

func (c Config) publishTimeout() time.Duration {
	if c.PublishTimeout > 0 {
		return c.PublishTimeout
	}
	return DefaultPublishTimeout
}

// token resolves the bearer token; "" means none is required.
func (c Config) token() (string, error) {
	switch {
	case c.Token != "":
		return c.Token, nil
	case c.TokenEnv != "":
		v, ok := os.LookupEnv(c.TokenEnv)
		if !ok || strings.TrimSpace(v) == "" {
			return "", confkey.Errorf("token_env", "environment variable %s is not set", c.TokenEnv)
		}
		return strings.TrimSpace(v), nil
	case c.TokenFile != "":
		data, err := os.ReadFile(c.TokenFile)
		if err != nil {
			return "", confkey.Errorf("token_file", "%v", err)
		}
		v := strings.TrimSpace(string(data))
		if v == "" {
			return "", confkey.Errorf("token_file", "%s is empty", c.TokenFile)
		}
		return v, nil
	}
	return "", nil
}

// serverTLS builds the TLS configuration, or nil without TLS.
func (t TLS) serverTLS() (*tls.Config, error) {
	if !t.Enabled() {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		return nil, confkey.Errorf("tls", "%v", err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if t.ClientCAFile != "" {
		pem, err := os.ReadFile(t.ClientCAFile)
		if err != nil {
			return nil, confkey.Errorf("tls.client_ca_file", "%v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, confkey.Errorf("tls.client_ca_file", "%s holds no PEM certificate", t.ClientCAFile)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// listenAddr resolves [host:]port, with loopback for a missing host.
func listenAddr(s string) (string, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		host, port = "", s
	}
	if host == "" {
		host = "127.0.0.1"
	}
	addr, err := net.ResolveTCPAddr("tcp", net.JoinHostPort(host, port))
	if err != nil {
		return "", fmt.Errorf("listen %q: %w", s, err)
	}
	return addr.String(), nil
}
