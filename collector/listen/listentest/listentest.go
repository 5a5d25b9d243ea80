package listentest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/weft-dev/weft/bus"
	"github.com/weft-dev/weft/event"
	"github.com/weft-dev/weft/internal/tlstest"
)

// PKI is a throw-away certificate authority with a server certificate for
// 127.0.0.1 and a client certificate, all written as PEM files.
type PKI struct {
	CAFile                string
	ServerCert, ServerKey string
	ClientCert, ClientKey string

	pool *x509.CertPool
}

// NewPKI makes the CA and its certificates in temporary folders.
func NewPKI(t testing.TB) *PKI {
	t.Helper()
	ca := tlstest.NewCA(t)
	p := &PKI{CAFile: ca.File, pool: ca.Pool()}
	p.ServerCert, p.ServerKey = ca.Leaf(t, "127.0.0.1", "localhost")
	p.ClientCert, p.ClientKey = ca.Leaf(t, "client")
	return p
}

// ClientTLS is what a sender uses: it trusts the CA and, with withCert,
// presents the client certificate.
func (p *PKI) ClientTLS(t testing.TB, withCert bool) *tls.Config {
	t.Helper()
	cfg := &tls.Config{RootCAs: p.pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
	if withCert {
		cert, err := tls.LoadX509KeyPair(p.ClientCert, p.ClientKey)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg
}

// OpenBus opens an embedded bus that keeps its streams in a temporary
// folder, so that what is stored stays readable; cfg's other fields apply.
func OpenBus(t testing.TB, cfg bus.Config) *bus.Bus {
	t.Helper()
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := bus.Open(ctx, cfg, zerolog.Nop())
	if err != nil {
		t.Fatalf("open bus: %v", err)
	}
	t.Cleanup(b.Close)
	return b
}

// Stored returns the raw events stored in the raw stream, in order.
func Stored(t testing.TB, b *bus.Bus) []event.Raw {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := b.JetStream().Stream(ctx, bus.StreamRaw)
	if err != nil {
		t.Fatal(err)
	}
	var out []event.Raw
	for seq := uint64(1); ; {
		msg, err := s.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(bus.SubjectRaw+".>"))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return out
		}
		if err != nil {
			t.Fatalf("read %s at %d: %v", bus.StreamRaw, seq, err)
		}
		var batch event.RawBatch
		if err := bus.Decode(msg.Data, &batch); err != nil {
			t.Fatalf("message %d: %v", msg.Sequence, err)
		}
		out = append(out, batch...)
		seq = msg.Sequence + 1
	}
}

// Records returns the record ids of events.
func Records(events []event.Raw) []uint64 {
	ids := make([]uint64, len(events))
	for i := range events {
		ids[i] = events[i].RecordID
	}
	return ids
}
