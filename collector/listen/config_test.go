package listen

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/weft-dev/weft/bus"
	"github.com/weft-dev/weft/collector/listen/listentest"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	token := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(token, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		kind string
		cfg  Config
		says string // "" when valid
	}{
		{"tcp", KindTCP, Config{Listen: "5140"}, ""},
		{"beats default port", KindBeats, Config{}, ""},
		{"http with token file", KindHTTP, Config{Listen: "127.0.0.1:8080", TokenFile: token}, ""},
		{"http with a missing token file", KindHTTP, Config{Listen: "127.0.0.1:8080", TokenFile: "/no/such/token"}, "token_file: open /no/such/token"},
		{"http with an unset token variable", KindHTTP, Config{Listen: "1", TokenEnv: "WEFT_TEST_NO_SUCH_TOKEN"}, "token_env: environment variable WEFT_TEST_NO_SUCH_TOKEN is not set"},
		{"missing certificate", KindTCP, Config{Listen: "1", TLS: TLS{CertFile: "/no/c.pem", KeyFile: "/no/k.pem"}}, "tls: open /no/c.pem"},
		{"unknown kind", "udp", Config{Listen: "1"}, `unknown kind "udp"`},
		{"tcp without listen", KindTCP, Config{}, "listen: is required for a tcp source"},
		{"bad port", KindTCP, Config{Listen: "127.0.0.1:http2x"}, `listen: "127.0.0.1:http2x" is not a [host:]port`},
		{"cert without key", KindTCP, Config{Listen: "1", TLS: TLS{CertFile: "c.pem"}}, "cert_file and key_file"},
		{"client ca alone", KindTCP, Config{Listen: "1", TLS: TLS{ClientCAFile: "ca.pem"}}, "cert_file and key_file"},
		{"negative", KindTCP, Config{Listen: "1", IdleTimeout: -time.Second}, "idle_timeout: must not be negative"},
		{"negative event timeout", KindBeats, Config{EventTimeout: -time.Second}, "must not be negative"},
		{"negative handshake timeout", KindHTTP, Config{Listen: "1", HandshakeTimeout: -time.Second}, "must not be negative"},
		{"negative per-peer limit", KindTCP, Config{Listen: "1", MaxConnectionsPerPeer: -1}, "must not be negative"},
		{"limits and timeouts", KindTCP, Config{Listen: "1", MaxConnections: 10, MaxConnectionsPerPeer: 2, HandshakeTimeout: time.Second, EventTimeout: time.Second}, ""},
		{"batch below event", KindTCP, Config{Listen: "1", MaxEventSize: 1 << 20, MaxBatchBytes: 1 << 10}, "smaller than max_event_size"},
		{"token on tcp", KindTCP, Config{Listen: "1", Token: "x"}, "for http sources"},
		{"two tokens", KindHTTP, Config{Listen: "1", Token: "x", TokenEnv: "Y"}, "one of token"},
	} {
		err := tc.cfg.Validate(tc.kind)
		switch {
		case tc.says == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.says != "" && (err == nil || !strings.Contains(err.Error(), tc.says)):
			t.Errorf("%s: error %v, want one saying %q", tc.name, err, tc.says)
		}
	}
}

func TestOpen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	pki := listentest.NewPKI(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, tc := range []struct {
		name string
		kind string
		cfg  Config
		says string
	}{
		{"port in use", KindTCP, Config{Listen: busy.Addr().String()}, "address already in use"},
		{"missing certificate", KindTCP, Config{Listen: "127.0.0.1:0", TLS: TLS{CertFile: filepath.Join(dir, "nope.pem"), KeyFile: pki.ServerKey}}, "nope.pem"},
		{"client CA not PEM", KindTCP, Config{Listen: "127.0.0.1:0", TLS: TLS{CertFile: pki.ServerCert, KeyFile: pki.ServerKey, ClientCAFile: notPEM}}, "holds no PEM certificate"},
		{"empty token file", KindHTTP, Config{Listen: "127.0.0.1:0", TokenFile: empty}, "is empty"},
		{"unset token variable", KindHTTP, Config{Listen: "127.0.0.1:0", TokenEnv: "WEFT_TEST_UNSET_TOKEN_VARIABLE"}, "is not set"},
	} {
		l, err := Open(tc.kind, tc.cfg, zerolog.Nop())
		if err == nil {
			l.Close()
			t.Errorf("%s: opened", tc.name)
			continue
		}
		if !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: error %v, want one saying %q", tc.name, err, tc.says)
		}
	}

	l, err := Open(KindTCP, Config{Listen: "0"}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if ip := l.Addr().(*net.TCPAddr).IP; !ip.IsLoopback() {
		t.Errorf("a port alone listens on %v, want loopback", ip)
	}
}

// TestShutdownWithSenderConnected stops a TCP listener while a sender is
// connected and idle: serving ends at once, what it sent stays stored, and
// the port is released.
func TestShutdownWithSenderConnected(t *testing.T) {
	t.Parallel()
	l, err := Open(KindTCP, Config{Listen: "127.0.0.1:0"}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	b := listentest.OpenBus(t, bus.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ServeTCP(ctx, l, b) }()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(xmlEvent(t, 1) + xmlEvent(t, 2))); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(listentest.Stored(t, b)) < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(DrainTimeout):
		t.Fatal("ServeTCP did not return after its context ended, with a client still connected")
	}
	if got := listentest.Stored(t, b); !sameRecords(got, []uint64{1, 2}) {
		t.Errorf("records %v", listentest.Records(got))
	}
	if _, err := net.Dial("tcp", l.Addr().String()); err == nil {
		t.Error("still accepting after the stop")
	}
}
