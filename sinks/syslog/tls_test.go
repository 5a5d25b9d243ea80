package syslog

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/weft-dev/weft/event"
	"github.com/weft-dev/weft/internal/tlstest"
	"github.com/weft-dev/weft/sinks"
	"github.com/weft-dev/weft/sinks/internal/alerttest"
)

// newTLSReceiver serves TLS on a loopback port with a certificate from ca
// for names.
func newTLSReceiver(t *testing.T, ca *tlstest.CA, names ...string) *tcpReceiver {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", ca.ServerConfig(t, names...))
	if err != nil {
		t.Fatal(err)
	}
	return newStreamReceiver(t, ln)
}

func TestTLS(t *testing.T) {
	t.Parallel()
	ca := tlstest.NewCA(t)
	r := newTLSReceiver(t, ca, "127.0.0.1")
	s := newSink(t, Config{Network: "tls", Address: r.ln.Addr().String(), CAFile: ca.File})
	for i := range 3 {
		a := alerttest.Seed(hostile + strconv.Itoa(i))
		if err := s.Send(context.Background(), a); err != nil {
			t.Fatal(err)
		}
		f := r.next(t)
		p, err := parse5424(f.msg)
		if err != nil {
			t.Fatalf("frame %d is not RFC 5424: %v", i, err)
		}
		if id, _ := p.param("alert_id"); id != a.Event.ID || f.conn != 0 {
			t.Errorf("frame %d: alert_id %q on connection %d", i, id, f.conn)
		}
	}
}

func TestTLSVerification(t *testing.T) {
	t.Parallel()
	ca := tlstest.NewCA(t)
	wrongName := newTLSReceiver(t, ca, "syslog.example")
	otherCA := newTLSReceiver(t, tlstest.NewCA(t), "127.0.0.1")
	tests := []struct {
		name     string
		receiver *tcpReceiver
		cfg      Config
		wantErr  string
	}{
		{name: "certificate for another name", receiver: wrongName, cfg: Config{CAFile: ca.File}, wantErr: "x509: cannot validate certificate for 127.0.0.1"},
		{name: "certificate for another host name", receiver: wrongName, cfg: Config{CAFile: ca.File, ServerName: "siem.example"}, wantErr: "x509: certificate is valid for syslog.example, not siem.example"},
		{name: "unknown CA", receiver: otherCA, cfg: Config{CAFile: ca.File}, wantErr: "certificate signed by unknown authority"},
		{name: "system roots", receiver: otherCA, cfg: Config{}, wantErr: "certificate signed by unknown authority"},
		{name: "server_name matches", receiver: wrongName, cfg: Config{CAFile: ca.File, ServerName: "syslog.example"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// The handshake fails on verification, not on time; the
			// timeout only bounds a hang (loading the system roots under
			// -race on a loaded machine takes seconds).
			tt.cfg.Network, tt.cfg.Address, tt.cfg.Timeout = "tls", tt.receiver.ln.Addr().String(), 30*time.Second
			s := newSink(t, tt.cfg)
			err := s.Send(context.Background(), alerttest.Seed("x"))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestTLSClientCertificate(t *testing.T) {
	t.Parallel()
	ca := tlstest.NewCA(t)
	conf := ca.ServerConfig(t, "127.0.0.1")
	pool, err := tlsConfig(Config{CAFile: ca.File}, "127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	conf.ClientCAs = pool.RootCAs
	conf.ClientAuth = tls.RequireAndVerifyClientCert
	ln, err := tls.Listen("tcp", "127.0.0.1:0", conf)
	if err != nil {
		t.Fatal(err)
	}
	r := newStreamReceiver(t, ln)
	certFile, keyFile := ca.Leaf(t, "weft-client")
	s := newSink(t, Config{Network: "tls", Address: ln.Addr().String(), CAFile: ca.File, CertFile: certFile, KeyFile: keyFile})
	if err := s.Send(context.Background(), alerttest.Seed("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := parse5424(r.next(t).msg); err != nil {
		t.Fatal(err)
	}
}

// A receiver that goes down and comes back on the same port: sends fail
// while it is down (the caller keeps the alert and retries), and the alert
// in hand arrives once it is back.
func TestReceiverRestarts(t *testing.T) {
	t.Parallel()
	ca := tlstest.NewCA(t)
	for _, network := range []string{"tcp", "tls"} {
		t.Run(network, func(t *testing.T) {
			t.Parallel()
			listen := func(addr string) net.Listener {
				var ln net.Listener
				var err error
				for range 50 { // the port may linger briefly after close
					if network == "tls" {
						ln, err = tls.Listen("tcp", addr, ca.ServerConfig(t, "127.0.0.1"))
					} else {
						ln, err = net.Listen("tcp", addr)
					}
					if err == nil {
						return ln
					}
					time.Sleep(20 * time.Millisecond)
				}
				t.Fatal(err)
				return nil
			}
			r := newStreamReceiver(t, listen("127.0.0.1:0"))
			addr := r.ln.Addr().String()
			cfg := Config{Network: network, Address: addr, Timeout: time.Second}
			if network == "tls" {
				cfg.CAFile = ca.File
			}
			s := newSink(t, cfg)
			if err := s.Send(context.Background(), alerttest.Seed("before")); err != nil {
				t.Fatal(err)
			}
			r.next(t)
			r.stop()
			inHand := alerttest.Seed("in hand")
			var err error
			for range 20 {
				// The first send after the close may still be taken by the
				// kernel; the receiver being gone shows within a few.
				if err = s.Send(context.Background(), inHand); err != nil {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			if err == nil || !strings.Contains(err.Error(), "to "+network+" "+addr) {
				t.Fatalf("send to a stopped receiver: %v", err)
			}
			back := newStreamReceiver(t, listen(addr))
			if err := s.Send(context.Background(), inHand); err != nil {
				t.Fatalf("send after the receiver came back: %v", err)
			}
			p, err := parse5424(back.next(t).msg)
			if err != nil {
				t.Fatal(err)
			}
			if cl, _ := p.param("command_line"); cl != "in hand" {
				t.Fatalf("received %q, want the alert in hand", cl)
			}
		})
	}
}

var header3164 = regexp.MustCompile(`^<(\d{1,3})>([A-Z][a-z]{2} [ 1-3]\d \d\d:\d\d:\d\d) (\S+) weft\[(\d+)\]: (\[.*)$`)

func TestRFC3164(t *testing.T) {
	t.Parallel()
	r := newTCPReceiver(t)
	s := newSink(t, Config{Network: "tcp", Address: r.ln.Addr().String(), Format: "rfc3164", Facility: "auth"})
	a := alerttest.Seed(hostile)
	if err := s.Send(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	msg := r.next(t).msg
	m := header3164.FindSubmatch(msg)
	if m == nil {
		t.Fatalf("not an RFC 3164 message: %.120q", msg)
	}
	if string(m[1]) != strconv.Itoa(4*8+3) || string(m[2]) != "Mar  5 14:07:31" || string(m[3]) != "wec01" {
		t.Errorf("PRI %s TIMESTAMP %q HOSTNAME %s", m[1], m[2], m[3])
	}
	// The content is the RFC 5424 structured data and the JSON: parse it
	// behind a made-up RFC 5424 header.
	p, err := parse5424(append([]byte("<0>1 - - - - - "), m[5]...))
	if err != nil {
		t.Fatalf("content %.80q: %v", m[5], err)
	}
	if cl, _ := p.param("command_line"); cl != hostile {
		t.Errorf("command_line %q", cl)
	}
	var back event.Alert
	if err := json.Unmarshal(p.msg, &back); err != nil || back.Event.ID != a.Event.ID {
		t.Errorf("JSON: %v, id %q", err, back.Event.ID)
	}
}

// Event fields carry what an attacker wrote: control characters, bytes
// that are not UTF-8, a megabyte of command line. The message stays one
// valid record with every field where it belongs.
func TestHostileFields(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cmd     string
		wantCmd string
		omitted string
	}{
		{
			name:    "control characters",
			cmd:     "cmd.exe /c echo a\nfake=\"1\"] [x@1 y=\"z\"]\r\x00\x1b[31m\x7f",
			wantCmd: "cmd.exe /c echo a␊fake=\"1\"] [x@1 y=\"z\"]␍␀␛[31m␡",
		},
		{
			name:    "invalid UTF-8",
			cmd:     "cmd.exe /c \xff\xfe\xc3 end",
			wantCmd: "cmd.exe /c \uFFFD end",
		},
		{
			name:    "1 MiB command line",
			cmd:     strings.Repeat("A", 1<<20),
			wantCmd: sinks.Cut(strings.Repeat("A", 1<<20), sdValueLimit),
			omitted: "rule.note weft.events",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newTCPReceiver(t)
			s := newSink(t, Config{Network: "tcp", Address: r.ln.Addr().String()})
			a := alerttest.Seed(tt.cmd)
			a.Host.Name = "WKS\n01"
			if err := s.Send(context.Background(), a); err != nil {
				t.Fatal(err)
			}
			msg := r.next(t).msg
			if len(msg) > DefaultMaxSize {
				t.Errorf("message of %d bytes, over max_size", len(msg))
			}
			for i, c := range msg {
				if c < 0x20 || c == 0x7f {
					t.Fatalf("control byte %#x at %d: %q", c, i, msg[max(0, i-20):i+1])
				}
			}
			p, err := parse5424(msg)
			if err != nil {
				t.Fatalf("not RFC 5424: %v", err)
			}
			if len(p.sd) != 1 {
				t.Fatalf("%d SD elements, want 1 (a forged one?)", len(p.sd))
			}
			if cl, _ := p.param("command_line"); cl != tt.wantCmd {
				t.Errorf("command_line = %.80q…, want %.80q…", cl, tt.wantCmd)
			}
			if h, _ := p.param("host"); h != "WKS␊01" {
				t.Errorf("host = %q", h)
			}
			if got, _ := p.param("omitted"); got != tt.omitted {
				t.Errorf("omitted = %q, want %q", got, tt.omitted)
			}
			var back event.Alert
			if err := json.Unmarshal(p.msg, &back); err != nil || back.Event.ID != a.Event.ID {
				t.Fatalf("MSG: %v", err)
			}
			// encoding/json puts one U+FFFD per invalid byte; valid text
			// comes back as it was.
			if tt.omitted == "" && utf8.ValidString(tt.cmd) && back.Weft.Events[1].String("process.command_line") != tt.cmd {
				t.Errorf("MSG command line %q", back.Weft.Events[1].String("process.command_line"))
			}
		})
	}
}

func TestPermanentFailures(t *testing.T) {
	t.Parallel()
	s := newSink(t, Config{Network: "tcp", Address: "127.0.0.1:9"})
	if err := s.Send(context.Background(), nil); !sinks.IsPermanent(err) {
		t.Errorf("nil alert: err = %v, want a permanent error", err)
	}
}
