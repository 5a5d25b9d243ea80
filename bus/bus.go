package bus

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/weft-dev/weft/internal/confkey"
	"github.com/weft-dev/weft/internal/datadir"
)

// Bus is a connection to NATS with JetStream, and the embedded server when
// weft runs one.
type Bus struct {
	cfg    Config
	srv    *server.Server
	tmpDir string
	// lock holds DataDir while the embedded server uses it.
	lock *datadir.Lock
	nc   *nats.Conn
	js   jetstream.JetStream
	log  zerolog.Logger

	// observePublish, set by NewMetrics before anything publishes, sees
	// how long each Publish took.
	observePublish func(subject string, took time.Duration)

	// rejected counts the items NATS refused and PublishItems
	// dead-lettered.
	rejected atomic.Uint64
}

// Open starts the embedded server (unless cfg.URL names an external one),
// connects, and makes sure weft's streams exist.
func Open(ctx context.Context, cfg Config, log zerolog.Logger) (*Bus, error) {
	if err := cfg.Validate(); err != nil {
		return nil, confkey.Under("bus", err)
	}
	b := &Bus{cfg: cfg, log: log}
	var err error
	if cfg.URL == "" {
		err = b.startEmbedded()
	} else {
		err = b.connectExternal()
	}
	if err != nil {
		b.Close()
		return nil, err
	}
	b.js, err = jetstream.New(b.nc)
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("bus: jetstream: %w", err)
	}
	if err := b.ensureStreams(ctx); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

func (b *Bus) startEmbedded() error {
	opts := &server.Options{
		ServerName: "weft",
		JetStream:  true,
		NoSigs:     true,
		NoLog:      true,
		DontListen: b.cfg.Listen == "",
		MaxPayload: 8 << 20,
	}
	if b.cfg.Listen != "" {
		addr, err := listenAddr(b.cfg.Listen)
		if err != nil {
			return err
		}
		opts.Host, opts.Port = addr.IP.String(), addr.Port
		if opts.Port == 0 {
			opts.Port = server.RANDOM_PORT
		}
	}
	opts.StoreDir = b.cfg.DataDir
	if opts.StoreDir != "" {
		// One process at a time on a store: a second server on the same
		// files would see them change under it.
		if err := os.MkdirAll(opts.StoreDir, 0o750); err != nil {
			return fmt.Errorf("bus: data directory: %w", err)
		}
		lock, err := datadir.Acquire(opts.StoreDir)
		if err != nil {
			return fmt.Errorf("bus: %w", err)
		}
		b.lock = lock
	}
	if opts.StoreDir == "" {
		// Streams live in memory, but JetStream still wants a directory of
		// its own; a private one keeps concurrent hunts apart.
		dir, err := os.MkdirTemp("", "weft-nats-")
		if err != nil {
			return fmt.Errorf("bus: %w", err)
		}
		b.tmpDir, opts.StoreDir = dir, dir
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return fmt.Errorf("bus: embedded nats-server: %w", err)
	}
	srv.SetLoggerV2(serverLogger{b.log}, false, false, false)
	b.srv = srv
	srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		return errors.New("bus: embedded nats-server did not become ready in 30s")
	}
	nc, err := nats.Connect(srv.ClientURL(), nats.InProcessServer(srv), nats.Name("weft"), nats.MaxReconnects(-1))
	if err != nil {
		return fmt.Errorf("bus: connect to embedded server: %w", err)
	}
	b.nc = nc
	if b.cfg.Listen != "" {
		b.log.Info().Str("url", srv.ClientURL()).Msg("embedded NATS server listening")
	}
	return nil
}

func (b *Bus) connectExternal() error {
	opts := []nats.Option{
		nats.Name("weft"),
		nats.MaxReconnects(-1),
		// Close would otherwise report a disconnect, from another
		// goroutine, after the command using the bus has ended.
		nats.NoCallbacksAfterClientClose(),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			b.log.Warn().Err(err).Msg("disconnected from NATS")
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			b.log.Info().Str("url", nc.ConnectedUrlRedacted()).Msg("reconnected to NATS")
		}),
	}
	if b.cfg.CredsFile != "" {
		opts = append(opts, nats.UserCredentials(b.cfg.CredsFile))
	}
	if b.cfg.User != "" {
		pw := ""
		if b.cfg.PasswordEnv != "" {
			pw = os.Getenv(b.cfg.PasswordEnv)
		}
		opts = append(opts, nats.UserInfo(b.cfg.User, pw))
	}
	if b.cfg.TLS.CAFile != "" {
		opts = append(opts, nats.RootCAs(b.cfg.TLS.CAFile))
	}
	if b.cfg.TLS.CertFile != "" {
		opts = append(opts, nats.ClientCert(b.cfg.TLS.CertFile, b.cfg.TLS.KeyFile))
	}
	nc, err := nats.Connect(b.cfg.URL, opts...)
	if err != nil {
		return fmt.Errorf("bus: connect to %s: %w", redactURL(b.cfg.URL), err)
	}
	b.nc = nc
	return nil
}

// Close drains the connection and stops the embedded server.
func (b *Bus) Close() {
	if b.nc != nil {
		_ = b.nc.Drain()
		b.nc.Close()
	}
	if b.srv != nil {
		b.srv.Shutdown()
		b.srv.WaitForShutdown()
	}
	if b.tmpDir != "" {
		_ = os.RemoveAll(b.tmpDir)
	}
	if err := b.lock.Release(); err != nil {
		b.log.Warn().Err(err).Msg("bus: data directory")
	}
	b.lock = nil
}

// Conn is the underlying NATS connection.
func (b *Bus) Conn() *nats.Conn { return b.nc }

// JetStream is the JetStream context of the connection.
func (b *Bus) JetStream() jetstream.JetStream { return b.js }

// ClientURL is the URL other processes use to reach this bus: the external
// URL, or the embedded server's address when it listens.
func (b *Bus) ClientURL() string {
	if b.srv != nil {
		if b.cfg.Listen == "" {
			return ""
		}
		return b.srv.ClientURL()
	}
	return b.cfg.URL
}

// Connected reports whether the connection to NATS is up.
func (b *Bus) Connected() bool { return b.nc != nil && b.nc.IsConnected() }

// Partitions is the number of host partitions of the raw stream.
func (b *Bus) Partitions() int { return b.cfg.partitions() }

// BatchSize is the number of events a publisher puts in one message.
func (b *Bus) BatchSize() int { return b.cfg.batchSize() }

// serverLogger passes the embedded server's notices to zerolog.
type serverLogger struct{ log zerolog.Logger }

func (l serverLogger) Noticef(format string, v ...any) { l.log.Debug().Msgf("nats: "+format, v...) }
func (l serverLogger) Warnf(format string, v ...any)   { l.log.Warn().Msgf("nats: "+format, v...) }
func (l serverLogger) Fatalf(format string, v ...any)  { l.log.Error().Msgf("nats: "+format, v...) }
func (l serverLogger) Errorf(format string, v ...any)  { l.log.Error().Msgf("nats: "+format, v...) }
func (l serverLogger) Debugf(format string, v ...any)  { l.log.Trace().Msgf("nats: "+format, v...) }
func (l serverLogger) Tracef(format string, v ...any)  { l.log.Trace().Msgf("nats: "+format, v...) }
