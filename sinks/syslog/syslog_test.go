package syslog

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/weft-dev/weft/event"
	"github.com/weft-dev/weft/sinks/internal/alerttest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// cutMarked matches text that ends in the marker of a cut.
var cutMarked = regexp.MustCompile(`…\[cut [0-9]{1,3}(,[0-9]{3})* bytes\]$`)

// hostile has every character structured data must escape, markup, and
// text outside ASCII.
const hostile = `cmd.exe /c "echo ]x[ \\share\c$" > C:\Users\Jürgen\o.txt 🙂`

func testFormatter() *formatter {
	return &formatter{facility: 16, hostname: "wec01", procID: "4242", sdID: DefaultSDID, maxSize: 65000}
}

func TestFormat(t *testing.T) {
	t.Parallel()
	a := alerttest.Seed(hostile)
	msg, err := testFormatter().format(a)
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "seed.golden.txt")
	if *update {
		if err := os.WriteFile(golden, msg, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(msg, want) {
		t.Errorf("message differs from %s (go test -update rewrites it):\n%s", golden, msg)
	}

	p, err := parse5424(msg)
	if err != nil {
		t.Fatalf("not RFC 5424: %v\n%s", err, msg)
	}
	header := []string{p.timestamp, p.hostname, p.app, p.procID, p.msgID}
	wantHeader := []string{"2024-03-05T14:07:31.123456Z", "wec01", "weft", "4242", "51ce96fb-9e52-4dad-b0ba-99b54440"}
	if p.pri != 16*8+3 || p.version != 1 || strings.Join(header, " ") != strings.Join(wantHeader, " ") {
		t.Errorf("header: pri %d version %d %q, want pri 131 version 1 %q", p.pri, p.version, header, wantHeader)
	}
	if len(p.sd) != 1 || p.sd[0].id != "weft@32473" {
		t.Fatalf("structured data %+v", p.sd)
	}
	for name, want := range map[string]string{
		"alert_id":          a.Event.ID,
		"rule_id":           a.Rule.ID,
		"rule":              a.Rule.Name,
		"severity":          "high",
		"host":              "WKS-01",
		"src_ip":            "10.1.2.30",
		"src_port":          "49702",
		"dst_ip":            "10.9.8.7",
		"dst_port":          "50211",
		"remote_ip":         "10.9.8.7",
		"remote_port":       "50211",
		"direction":         "ingress",
		"parent_process":    "mmc.exe",
		"process":           "cmd.exe",
		"process_entity_id": "{8f1e2a3b-0000-1111-2222-999988887777}",
		"command_line":      hostile,
		"technique":         "T1021,T1021.003,T1218,T1218.014",
	} {
		if got, _ := p.param(name); got != want {
			t.Errorf("SD %s = %q, want %q", name, got, want)
		}
	}
	if _, ok := p.param("omitted"); ok {
		t.Error("omitted set although the message fits")
	}
	if bytes.HasPrefix(p.msg, []byte("\xef\xbb\xbf")) {
		t.Error("MSG starts with a BOM")
	}
	for _, c := range p.msg {
		if c >= 0x80 {
			t.Fatalf("MSG is not 7-bit: %q", p.msg)
		}
	}
	var back event.Alert
	if err := json.Unmarshal(p.msg, &back); err != nil {
		t.Fatalf("MSG is not the alert JSON: %v", err)
	}
	if got := back.Weft.Events[1].String("process.command_line"); got != hostile || back.Event.ID != a.Event.ID || back.Rule.Note != a.Rule.Note {
		t.Errorf("MSG decodes to command line %q, id %q", got, back.Event.ID)
	}
}

func TestFormatPRI(t *testing.T) {
	t.Parallel()
	tests := []struct {
		facility string
		severity string
		eventSev int
		wantPRI  int
	}{
		{"local0", "critical", 0, 16*8 + 2},
		{"local0", "High", 0, 16*8 + 3},
		{"local0", "medium", 0, 16*8 + 4},
		{"local0", "low", 0, 16*8 + 5},
		{"local0", "", 99, 16*8 + 2},
		{"local0", "", 47, 16*8 + 4},
		{"local0", "", 0, 16*8 + 4},
		{"auth", "high", 0, 4*8 + 3},
		{"audit", "low", 0, 13*8 + 5},
		{"local7", "critical", 0, 23*8 + 2},
		{"0", "critical", 0, 2},
	}
	for _, tt := range tests {
		fac, err := parseFacility(tt.facility)
		if err != nil {
			t.Fatal(err)
		}
		f := testFormatter()
		f.facility = fac
		a := alerttest.Seed("x")
		a.Rule.Severity, a.Event.Severity = tt.severity, tt.eventSev
		msg, err := f.format(a)
		if err != nil {
			t.Fatal(err)
		}
		p, err := parse5424(msg)
		if err != nil {
			t.Fatal(err)
		}
		if p.pri != tt.wantPRI {
			t.Errorf("facility %s severity %q/%d: PRI %d, want %d", tt.facility, tt.severity, tt.eventSev, p.pri, tt.wantPRI)
		}
	}
}

func TestFormatEdgeFields(t *testing.T) {
	t.Parallel()
	a := alerttest.Seed(strings.Repeat(`]"\`, 1000))
	a.Rule.ID = "rule id\twith spaces"
	a.Timestamp = time.Time{}
	a.Event.Created = time.Time{}
	msg, err := testFormatter().format(a)
	if err != nil {
		t.Fatal(err)
	}
	p, err := parse5424(msg)
	if err != nil {
		t.Fatalf("not RFC 5424: %v", err)
	}
	if p.msgID != "rule_id_with_spaces" || p.timestamp != "-" {
		t.Errorf("MSGID %q TIMESTAMP %q", p.msgID, p.timestamp)
	}
	cl, _ := p.param("command_line")
	if len(cl) > sdValueLimit || !cutMarked.MatchString(cl) || !strings.HasPrefix(cl, `]"\]"\`) {
		t.Errorf("command_line SD value: %d bytes, %.20q…", len(cl), cl)
	}
}

func TestFormatShrinks(t *testing.T) {
	t.Parallel()
	a := alerttest.Seed("cmd.exe /c whoami")
	full, err := testFormatter().format(a)
	if err != nil {
		t.Fatal(err)
	}
	noNote := *a
	noNote.Rule.Note = ""
	withoutNote, err := testFormatter().format(&noNote)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		maxSize     int
		wantOmitted string
		wantCmd     bool // the command line stays in the SD
		wantErr     string
	}{
		{name: "fits", maxSize: len(full), wantCmd: true},
		{name: "drops the note", maxSize: len(full) - 1, wantOmitted: "rule.note", wantCmd: true},
		{name: "drops the events", maxSize: len(withoutNote) - 1, wantOmitted: "rule.note weft.events", wantCmd: true},
		{name: "key fields", maxSize: 1000, wantOmitted: "rule.note weft.events rule.description rule.reference rule.author rule.license threat host.id host.os weft.join_keys", wantCmd: true},
		{name: "identity", maxSize: 700, wantOmitted: "*"},
		{name: "too small", maxSize: 500, wantErr: "over max_size 500 even with every field cut"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := testFormatter()
			f.maxSize = tt.maxSize
			msg, err := f.format(a)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(msg) > tt.maxSize {
				t.Fatalf("message is %d bytes, over %d", len(msg), tt.maxSize)
			}
			p, err := parse5424(msg)
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := p.param("omitted"); got != tt.wantOmitted {
				t.Errorf("omitted = %q, want %q", got, tt.wantOmitted)
			}
			var back event.Alert
			if err := json.Unmarshal(p.msg, &back); err != nil {
				t.Fatal(err)
			}
			if back.Event.ID != a.Event.ID || back.Rule.ID != a.Rule.ID || (tt.wantOmitted != "" && tt.wantOmitted != "rule.note") != (len(back.Weft.Events) == 0) {
				t.Errorf("MSG alert has id %q and %d events", back.Event.ID, len(back.Weft.Events))
			}
			if got, _ := p.param("command_line"); tt.wantCmd && got != "cmd.exe /c whoami" {
				t.Errorf("key fields lost from SD: command_line %q", got)
			}
		})
	}
	if a.Rule.Note == "" || len(a.Weft.Events) != 2 {
		t.Error("format changed the caller's alert")
	}
}

func newSink(t *testing.T, cfg Config) *sink {
	t.Helper()
	if cfg.Hostname == "" {
		cfg.Hostname = "wec01"
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s.(*sink)
}

func TestUDP(t *testing.T) {
	t.Parallel()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	s := newSink(t, Config{Address: pc.LocalAddr().String(), Facility: "auth"})
	a := alerttest.Seed(hostile)
	if err := s.Send(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 65536)
	_ = pc.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _, err := pc.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	p, err := parse5424(buf[:n])
	if err != nil {
		t.Fatalf("datagram is not RFC 5424: %v", err)
	}
	if p.pri != 4*8+3 || p.hostname != "wec01" || p.procID != strconv.Itoa(os.Getpid()) {
		t.Errorf("pri %d hostname %q procid %q", p.pri, p.hostname, p.procID)
	}
	if id, _ := p.param("alert_id"); id != a.Event.ID {
		t.Errorf("alert_id = %q", id)
	}
	if n > DefaultMaxSize {
		t.Errorf("datagram of %d bytes, over the default max_size", n)
	}
}

// tcpReceiver accepts connections and passes every frame it reads, with
// the index of the connection it came on, to frames.
type tcpReceiver struct {
	ln     net.Listener
	frames chan frame
	conns  chan net.Conn
	stop   func()
}

type frame struct {
	conn int
	msg  []byte
}

func newTCPReceiver(t *testing.T) *tcpReceiver {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return newStreamReceiver(t, ln)
}

// newStreamReceiver serves ln (plain TCP or TLS) until the test ends.
func newStreamReceiver(t *testing.T, ln net.Listener) *tcpReceiver {
	t.Helper()
	r := &tcpReceiver{ln: ln, frames: make(chan frame, 16), conns: make(chan net.Conn, 16)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			r.conns <- c
			go func() {
				br := bufio.NewReader(c)
				for {
					msg, err := readFrame(br)
					if err != nil {
						return
					}
					r.frames <- frame{conn: i, msg: msg}
				}
			}()
		}
	}()
	// stop closes the listener and every connection, as a receiver that
	// goes down does.
	r.stop = sync.OnceFunc(func() {
		ln.Close()
		<-done
		close(r.conns)
		for c := range r.conns {
			c.Close()
		}
	})
	t.Cleanup(r.stop)
	return r
}

func (r *tcpReceiver) next(t *testing.T) frame {
	t.Helper()
	select {
	case f := <-r.frames:
		return f
	case <-time.After(5 * time.Second):
		t.Fatal("no frame received")
	}
	return frame{}
}

func TestTCP(t *testing.T) {
	t.Parallel()
	r := newTCPReceiver(t)
	s := newSink(t, Config{Network: "tcp", Address: r.ln.Addr().String()})
	for i := range 3 {
		a := alerttest.Seed(hostile + strings.Repeat("!", i))
		if err := s.Send(context.Background(), a); err != nil {
			t.Fatal(err)
		}
		f := r.next(t)
		if f.conn != 0 {
			t.Errorf("message %d came on connection %d; one connection should carry all", i, f.conn)
		}
		p, err := parse5424(f.msg)
		if err != nil {
			t.Fatalf("frame %d is not RFC 5424: %v", i, err)
		}
		if cl, _ := p.param("command_line"); cl != a.Weft.Events[1].String("process.command_line") {
			t.Errorf("frame %d carries command_line %q", i, cl)
		}
	}
}

func TestTCPReconnectsAfterReceiverClose(t *testing.T) {
	t.Parallel()
	r := newTCPReceiver(t)
	s := newSink(t, Config{Network: "tcp", Address: r.ln.Addr().String()})
	if err := s.Send(context.Background(), alerttest.Seed("first")); err != nil {
		t.Fatal(err)
	}
	r.next(t)
	// The receiver restarts: it closes the connection it had.
	(<-r.conns).Close()
	s.mu.Lock()
	dead := s.dead
	s.mu.Unlock()
	select {
	case <-dead:
	case <-time.After(5 * time.Second):
		t.Fatal("the sink did not notice the receiver closing")
	}
	if err := s.Send(context.Background(), alerttest.Seed("second")); err != nil {
		t.Fatal(err)
	}
	f := r.next(t)
	p, err := parse5424(f.msg)
	if err != nil {
		t.Fatal(err)
	}
	if cl, _ := p.param("command_line"); cl != "second" || f.conn != 1 {
		t.Fatalf("got %q on connection %d, want \"second\" on connection 1", cl, f.conn)
	}
}

// failingConn fails writes the way a connection reset does, without the
// reader noticing first.
type failingConn struct{ net.Conn }

func (failingConn) Write([]byte) (int, error) { return 0, errors.New("connection reset by peer") }

func TestTCPResendsAfterWriteError(t *testing.T) {
	t.Parallel()
	r := newTCPReceiver(t)
	s := newSink(t, Config{Network: "tcp", Address: r.ln.Addr().String()})
	if err := s.Send(context.Background(), alerttest.Seed("first")); err != nil {
		t.Fatal(err)
	}
	r.next(t)
	s.mu.Lock()
	s.conn = failingConn{s.conn}
	s.mu.Unlock()
	if err := s.Send(context.Background(), alerttest.Seed("in hand")); err != nil {
		t.Fatal(err)
	}
	f := r.next(t)
	p, err := parse5424(f.msg)
	if err != nil {
		t.Fatal(err)
	}
	if cl, _ := p.param("command_line"); cl != "in hand" || f.conn != 1 {
		t.Fatalf("got %q on connection %d, want the message in hand on a fresh connection", cl, f.conn)
	}
}

func TestTCPReceiverDown(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := newSink(t, Config{Network: "tcp", Address: addr})
	a := alerttest.Seed("x")
	err = s.Send(context.Background(), a)
	if err == nil || !strings.Contains(err.Error(), "syslog: alert "+a.Event.ID+" to tcp "+addr) || !strings.Contains(err.Error(), "after reconnecting") {
		t.Fatalf("err = %v", err)
	}
}

func TestTCPStalledReceiverHonoursContext(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	// Accept but never read, so the socket buffers fill up.
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	s := newSink(t, Config{Network: "tcp", Address: ln.Addr().String(), MaxSize: maxTCPSize, Timeout: time.Minute})
	a := alerttest.Seed(strings.Repeat("A", 900_000))
	start := time.Now()
	var sendErr error
	for range 200 {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		sendErr = s.Send(ctx, a)
		cancel()
		if sendErr != nil {
			break
		}
	}
	if sendErr == nil || !errors.Is(sendErr, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a deadline error from a stalled receiver", sendErr)
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Fatalf("took %s", took)
	}
	select {
	case c := <-accepted:
		c.Close()
	default:
	}
}

func TestSendAfterClose(t *testing.T) {
	t.Parallel()
	s := newSink(t, Config{Address: "127.0.0.1:9"})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), alerttest.Seed("x")); err == nil || !strings.Contains(err.Error(), "send after close") {
		t.Fatalf("err = %v", err)
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
		check   func(*sink) bool
	}{
		{name: "defaults", cfg: Config{Address: "127.0.0.1"}, check: func(s *sink) bool {
			return s.network == "udp" && s.address == "127.0.0.1:514" && s.f.facility == 16 && s.f.sdID == DefaultSDID &&
				s.f.maxSize == DefaultMaxSize && s.timeout == DefaultTimeout && s.f.hostname != "" && s.f.hostname != "-"
		}},
		{name: "ipv6 without port", cfg: Config{Address: "::1"}, check: func(s *sink) bool { return s.address == "[::1]:514" }},
		{name: "tcp", cfg: Config{Network: "tcp", Address: "127.0.0.1:1514", Facility: "23", MaxSize: 200000}, check: func(s *sink) bool {
			return s.stream && s.f.facility == 23 && s.f.maxSize == 200000
		}},
		{name: "no address", cfg: Config{}, wantErr: "syslog: address: is required"},
		{name: "bad network", cfg: Config{Network: "sctp", Address: "h:1"}, wantErr: `network: "sctp" is not udp, tcp or tls`},
		{name: "bad facility", cfg: Config{Address: "h:1", Facility: "local8"}, wantErr: `facility: "local8" is not a facility name`},
		{name: "facility out of range", cfg: Config{Address: "h:1", Facility: "24"}, wantErr: "facility: \"24\""},
		{name: "bad hostname", cfg: Config{Address: "h:1", Hostname: "wec 01"}, wantErr: "hostname: \"wec 01\" must be 1-255 printable ASCII"},
		{name: "bad sd_id", cfg: Config{Address: "h:1", SDID: "weft alerts"}, wantErr: "is not a valid SD-NAME"},
		{name: "sd_id without number", cfg: Config{Address: "h:1", SDID: "weft"}, wantErr: "sd_id: must have the form name@"},
		{name: "sd_id bad number", cfg: Config{Address: "h:1", SDID: "weft@abc"}, wantErr: "sd_id: must have the form name@"},
		{name: "udp too large", cfg: Config{Address: "h:1", MaxSize: 70000}, wantErr: "max_size: 70000 is outside 480-65507 for udp"},
		{name: "too small", cfg: Config{Address: "h:1", MaxSize: 100}, wantErr: "max_size: 100 is outside"},
		// 480 bytes are what RFC 5424 receivers must accept, but an alert
		// with long fields needs more even when they are cut.
		{name: "too small for long fields", cfg: Config{Address: "h:1", Hostname: "wec01", MaxSize: 600}, wantErr: "max_size: 600 is too small: with hostname \"wec01\" an alert needs up to"},
		{name: "1 KiB", cfg: Config{Address: "h:1", Hostname: strings.Repeat("h", 200), MaxSize: 1024}, check: func(s *sink) bool { return s.f.maxSize == 1024 }},
		{name: "negative timeout", cfg: Config{Address: "h:1", Timeout: -time.Second}, wantErr: "timeout: must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := New(tt.cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if !tt.check(s.(*sink)) {
				t.Fatalf("sink %+v", s)
			}
		})
	}
}

func TestSampleConfig(t *testing.T) {
	t.Parallel()
	var cfg Config
	dec := yaml.NewDecoder(strings.NewReader(SampleConfig))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		t.Fatalf("sample.yaml: %v", err)
	}
	if cfg.Network != "tcp" || cfg.Timeout != 5*time.Second || cfg.MaxSize != 8192 {
		t.Fatalf("sample.yaml decoded to %+v", cfg)
	}
	r := newTCPReceiver(t)
	cfg.Address = r.ln.Addr().String()
	s := newSink(t, cfg)
	if err := s.Send(context.Background(), alerttest.Seed("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := parse5424(r.next(t).msg); err != nil {
		t.Fatal(err)
	}
}
