package beats

import (
	"bytes"
	"compress/zlib"
	"context"
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	lumber "github.com/elastic/go-lumber/client/v2"
	"github.com/rs/zerolog"

	"github.com/weft-dev/weft/bus"
	"github.com/weft-dev/weft/collector/listen"
	"github.com/weft-dev/weft/collector/listen/listentest"
	"github.com/weft-dev/weft/event"
)

// winlogbeatDocs are the positive MMC events as Winlogbeat sends them.
func winlogbeatDocs(t testing.TB) []any {
	t.Helper()
	data, err := os.ReadFile("../jsonevent/testdata/winlogbeat/mmc-positive.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	var docs []any
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		docs = append(docs, json.RawMessage(line))
	}
	return docs
}

type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) waitLog(t *testing.T, parts ...string) string {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		l.mu.Lock()
		text := l.buf.String()
		l.mu.Unlock()
		for _, line := range strings.Split(text, "\n") {
			all := line != ""
			for _, p := range parts {
				all = all && strings.Contains(line, p)
			}
			if all {
				return line
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	t.Fatalf("no log line with %q in:\n%s", parts, l.buf.String())
	return ""
}

type server struct {
	addr string
	l    *listen.Listener
	bus  *bus.Bus
	logs *logBuffer
}

// waitStats waits until the listener's totals satisfy ok.
func (s *server) waitStats(t *testing.T, ok func(listen.Stats) bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !ok(s.l.Stats()); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("listener totals stayed %+v", s.l.Stats())
		}
	}
}

func start(t *testing.T, cfg listen.Config, busCfg bus.Config, keepalive time.Duration) *server {
	t.Helper()
	cfg.Listen = "127.0.0.1:0"
	logs := &logBuffer{}
	l, err := listen.Open(listen.KindBeats, cfg, zerolog.New(logs))
	if err != nil {
		t.Fatal(err)
	}
	b := listentest.OpenBus(t, busCfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, l, b, keepalive) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return &server{addr: l.Addr().String(), l: l, bus: b, logs: logs}
}

func dial(t *testing.T, addr string, tlsConf *tls.Config, opts ...lumber.Option) *lumber.SyncClient {
	t.Helper()
	dialer := net.Dial
	if tlsConf != nil {
		dialer = func(network, address string) (net.Conn, error) { return tls.Dial(network, address, tlsConf) }
	}
	c, err := lumber.SyncDialWith(dialer, addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

var positiveRecords = []uint64{48211, 48212, 48213, 48214, 48215, 48216, 48217}

func sameRecords(got []event.Raw, want []uint64) bool {
	ids := listentest.Records(got)
	if len(ids) != len(want) {
		return false
	}
	for i := range want {
		if ids[i] != want[i] {
			return false
		}
	}
	return true
}

func TestBeats(t *testing.T) {
	t.Parallel()
	pki := listentest.NewPKI(t)
	for _, tc := range []struct {
		name     string
		tls      listen.TLS
		client   *tls.Config
		compress int
	}{
		{"plain", listen.TLS{}, nil, 0},
		{"compressed", listen.TLS{}, nil, 3},
		{"tls", listen.TLS{CertFile: pki.ServerCert, KeyFile: pki.ServerKey}, pki.ClientTLS(t, false), 3},
		{"mutual tls", listen.TLS{CertFile: pki.ServerCert, KeyFile: pki.ServerKey, ClientCAFile: pki.CAFile}, pki.ClientTLS(t, true), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := start(t, listen.Config{TLS: tc.tls}, bus.Config{}, KeepaliveInterval)
			c := dial(t, s.addr, tc.client, lumber.CompressionLevel(tc.compress), lumber.Timeout(time.Minute))
			docs := winlogbeatDocs(t)
			// Two windows, as a Beat sends its queue in batches.
			for _, window := range [][]any{docs[:3], docs[3:]} {
				n, err := c.Send(window)
				if err != nil || n != len(window) {
					t.Fatalf("Send: %d acknowledged, %v", n, err)
				}
			}
			// Acknowledged means stored: no waiting.
			got := listentest.Stored(t, s.bus)
			if !sameRecords(got, positiveRecords) {
				t.Fatalf("acknowledged with records %v stored", listentest.Records(got))
			}
			o := got[3].Origin
			if o.Listener != "beats "+s.addr || !strings.HasPrefix(o.Peer, "127.0.0.1:") || o.Kind != "json" {
				t.Errorf("origin %+v", o)
			}
			if got[3].Computer != "WKS-FIN-07.corp.example" || got[3].EventID != 3 {
				t.Errorf("event %+v", got[3])
			}
			s.waitStats(t, func(st listen.Stats) bool { return st.Events == 7 && st.Connections == 1 })
		})
	}
}

// TestBeatsWithheldAck fills the raw stream: the Beat gets keep-alives
// (ACKs of sequence 0, every keep-alive interval, which reset a Beat's own
// timeout) and no acknowledgement, until the bus has room; then the window
// is acknowledged. The test counts keep-alives rather than relying on a
// client's timeout, which a loaded machine can overrun.
func TestBeatsWithheldAck(t *testing.T) {
	t.Parallel()
	s := start(t, listen.Config{}, bus.Config{MaxBytes: 4 << 10}, 100*time.Millisecond)
	c, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	docs := winlogbeatDocs(t)
	window := windowFrame(uint32(len(docs)))
	for i, d := range docs {
		window = append(window, eventFrame(uint32(i+1), d.(json.RawMessage))...)
	}
	if _, err := c.Write(window); err != nil {
		t.Fatal(err)
	}
	readACK := func() uint32 {
		t.Helper()
		var ack [6]byte
		_ = c.SetReadDeadline(time.Now().Add(time.Minute))
		if _, err := io.ReadFull(c, ack[:]); err != nil {
			t.Fatalf("no ACK: %v", err)
		}
		if ack[0] != '2' || ack[1] != 'A' {
			t.Fatalf("not an ACK: %q", ack)
		}
		return binary.BigEndian.Uint32(ack[2:])
	}
	for range 10 {
		if seq := readACK(); seq != 0 {
			t.Fatalf("window acknowledged (sequence %d) while the stream is full", seq)
		}
	}
	if got := listentest.Stored(t, s.bus); len(got) != 0 {
		t.Fatalf("%d events stored in a full stream", len(got))
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stream, err := s.bus.JetStream().Stream(ctx, bus.StreamRaw)
	if err != nil {
		t.Fatal(err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cfg := info.Config
	cfg.MaxBytes = -1
	if _, err := s.bus.JetStream().UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	seq := readACK()
	for seq == 0 {
		seq = readACK()
	}
	if seq != uint32(len(docs)) {
		t.Fatalf("ACK of sequence %d, want %d", seq, len(docs))
	}
	if got := listentest.Stored(t, s.bus); !sameRecords(got, positiveRecords) {
		t.Errorf("records %v", listentest.Records(got))
	}
	s.waitStats(t, func(st listen.Stats) bool { return st.Events == 7 })
}

// Frames, as a Beat writes them.

func windowFrame(n uint32) []byte {
	return binary.BigEndian.AppendUint32([]byte{'2', 'W'}, n)
}

func eventFrame(seq uint32, payload []byte) []byte {
	b := binary.BigEndian.AppendUint32([]byte{'2', 'J'}, seq)
	b = binary.BigEndian.AppendUint32(b, uint32(len(payload)))
	return append(b, payload...)
}

func compressedFrame(t testing.TB, inner []byte) []byte {
	t.Helper()
	var z bytes.Buffer
	w := zlib.NewWriter(&z)
	if _, err := w.Write(inner); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	b := binary.BigEndian.AppendUint32([]byte{'2', 'C'}, uint32(z.Len()))
	return append(b, z.Bytes()...)
}

// exchange writes frames on a new connection and returns the ACK sequence
// numbers read, once it has want of them or the server closes it.
func exchange(t *testing.T, addr string, tlsConf *tls.Config, want int, frames ...[]byte) []uint32 {
	t.Helper()
	var c net.Conn
	var err error
	if tlsConf != nil {
		c, err = tls.Dial("tcp", addr, tlsConf)
	} else {
		c, err = net.Dial("tcp", addr)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	go func() {
		for _, f := range frames {
			if _, err := c.Write(f); err != nil {
				return
			}
		}
	}()
	var acks []uint32
	// Only a ceiling: the server answers or closes long before.
	_ = c.SetReadDeadline(time.Now().Add(time.Minute))
	for len(acks) < want || want == 0 {
		var ack [6]byte
		if _, err := io.ReadFull(c, ack[:]); err != nil {
			return acks
		}
		if ack[0] != '2' || ack[1] != 'A' {
			t.Fatalf("not an ACK: %q", ack)
		}
		if seq := binary.BigEndian.Uint32(ack[2:]); seq != 0 {
			acks = append(acks, seq)
		}
	}
	return acks
}

// TestBeatsBadInput sends broken frames on connections of their own while
// a Beat sends good events: each problem is logged with its peer, usable
// events around it are stored, and the Beat is unaffected.
func TestBeatsBadInput(t *testing.T) {
	t.Parallel()
	pki := listentest.NewPKI(t)
	s := start(t, listen.Config{
		TLS: listen.TLS{CertFile: pki.ServerCert, KeyFile: pki.ServerKey, ClientCAFile: pki.CAFile},
		// Generous: the 10 MiB frames below come from a writer the
		// machine's load may starve, and the Beat idles between its
		// windows as long as the load makes it. TestBeatsSlowPeers cuts
		// slow windows.
		IdleTimeout:   time.Hour,
		EventTimeout:  time.Hour,
		MaxBatchBytes: 32 << 20,
	}, bus.Config{}, KeepaliveInterval)
	t.Cleanup(func() {
		if t.Failed() {
			s.logs.mu.Lock()
			defer s.logs.mu.Unlock()
			t.Logf("listener's log:\n%s", s.logs.buf.String())
		}
	})
	client := pki.ClientTLS(t, true)
	docs := winlogbeatDocs(t)
	doc := func(i int) []byte { return docs[i].(json.RawMessage) }

	// A Beat sends the same window every 100 ms through everything below
	// (stored once: the copies are duplicates).
	// Its timeout is only a ceiling: a loaded machine, inflating the bomb
	// below under the race detector, has left the Beat without an answer
	// for more than 10 s.
	beat := dial(t, s.addr, client, lumber.CompressionLevel(3), lumber.Timeout(time.Minute))
	stopBeat := make(chan struct{})
	beatDone := make(chan struct{})
	go func() {
		defer close(beatDone)
		for {
			if n, err := beat.Send(docs[:2]); err != nil || n != 2 {
				t.Errorf("the Beat was affected: %d acknowledged, %v", n, err)
				return
			}
			select {
			case <-stopBeat:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()

	huge := append(append([]byte(`{"winlog":{"event_id":1,"message":"`), bytes.Repeat([]byte("x"), 10<<20)...), `"}}`...)
	var bomb bytes.Buffer
	bomb.Write(eventFrame(1, bytes.Repeat([]byte(" "), 40<<20)))
	for _, tc := range []struct {
		name   string
		tls    *tls.Config
		frames [][]byte
		acks   []uint32
		logs   []string
	}{
		{"skipped events are acknowledged with the window", client, [][]byte{
			windowFrame(5),
			eventFrame(1, []byte(`{"user":"bob"}`)),
			eventFrame(2, huge),
			eventFrame(3, []byte("{\"winlog\":{\"event_id\":1,\"record_id\":901,\"channel\":\"\xff\"}}")), // kept, with U+FFFD
			eventFrame(4, []byte(`{"winlog":`)),
			eventFrame(5, doc(2)),
		}, []uint32{5}, []string{"skipped event", "event too large", `"seq":2`}},
		{"not an event", client, [][]byte{windowFrame(1), eventFrame(7, []byte(`[1,2,3]`))}, []uint32{7}, []string{"skipped event", "not a Windows event", `"seq":7`}},
		{"invalid utf-8 is kept", client, [][]byte{windowFrame(1), eventFrame(8, []byte("{\"winlog\":{\"event_id\":1,\"record_id\":902,\"channel\":\"\xc3\x28\"}}"))}, []uint32{8}, []string{"event kept", "invalid UTF-8: 1 byte(s) replaced by U+FFFD", `"seq":8`}},
		{"compressed window", client, [][]byte{windowFrame(2), compressedFrame(t, append(eventFrame(1, doc(3)), eventFrame(2, doc(4))...))}, []uint32{2}, nil},
		{"lumberjack v1", client, [][]byte{{'1', 'W', 0, 0, 0, 1}}, nil, []string{"version 1 is not supported"}},
		{"garbage", client, [][]byte{[]byte("GET / HTTP/1.1\r\n\r\n")}, nil, []string{"where a window header (2W) belongs"}},
		{"frame claiming 4 GiB", client, [][]byte{windowFrame(1), {'2', 'J', 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xf0}}, nil, []string{"window larger than max_batch_bytes"}},
		{"compressed bomb", client, [][]byte{windowFrame(1), compressedFrame(t, bomb.Bytes())}, nil, []string{"window larger than max_batch_bytes"}},
		{"unknown frame", client, [][]byte{windowFrame(1), {'2', 'X'}}, nil, []string{"unknown frame type"}},
		{"no client certificate", pki.ClientTLS(t, false), nil, nil, []string{"TLS handshake failed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			acks := exchange(t, s.addr, tc.tls, len(tc.acks), tc.frames...)
			if len(acks) != len(tc.acks) || (len(acks) > 0 && acks[0] != tc.acks[0]) {
				t.Errorf("ACKs %v, want %v", acks, tc.acks)
			}
			if len(tc.logs) > 0 {
				if line := s.logs.waitLog(t, tc.logs...); !strings.Contains(line, `"peer":"127.0.0.1:`) {
					t.Errorf("log line does not name the peer: %s", line)
				}
			}
		})
	}

	close(stopBeat)
	<-beatDone
	if n, err := beat.Send(docs[6:]); err != nil || n != 1 {
		t.Fatalf("the Beat was affected: %d, %v", n, err)
	}
	// The Beat's events, the good event of the mixed window, the
	// compressed window's, and the two with bytes that are not UTF-8
	// (901, 902), kept with U+FFFD; in any order, the Beat sending all
	// along.
	got := listentest.Records(listentest.Stored(t, s.bus))
	slices.Sort(got)
	if want := []uint64{901, 902, 48211, 48212, 48213, 48214, 48215, 48217}; !slices.Equal(got, want) {
		t.Errorf("records %v stored, want %v", got, want)
	}
	// Every kind of problem above is counted under its reason.
	s.waitStats(t, func(st listen.Stats) bool {
		return st.Errors[listen.ReasonBadEvent] >= 6 && st.Errors[listen.ReasonProtocol] >= 5 &&
			st.Errors[listen.ReasonTLS] >= 1 && st.Active == 1
	})
}

// TestBeatsSlowPeers: a peer sending a window a byte at a time, or
// stopping half-way through one, is cut by the event timeout, though each
// byte comes well within the idle timeout; the window is not acknowledged
// (its sender sends it again). A Beat sending windows all along is
// unaffected.
func TestBeatsSlowPeers(t *testing.T) {
	t.Parallel()
	const eventTimeout = time.Second
	s := start(t, listen.Config{EventTimeout: eventTimeout, IdleTimeout: time.Hour}, bus.Config{}, KeepaliveInterval)
	docs := winlogbeatDocs(t)
	doc := func(i int) []byte { return docs[i].(json.RawMessage) }
	beat := dial(t, s.addr, nil, lumber.Timeout(time.Minute))
	stop := make(chan struct{})
	beatDone := make(chan int, 1)
	go func() {
		windows := 0
		defer func() { beatDone <- windows }()
		for {
			if n, err := beat.Send(docs[:3]); err != nil || n != 3 {
				t.Errorf("the Beat was affected: %d acknowledged, %v", n, err)
				return
			}
			windows++
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()

	for _, tc := range []struct {
		name    string
		atOnce  []byte // written at once
		trickle []byte // then a byte every 50 ms, over and over
	}{
		{"trickle", nil, append(windowFrame(1), eventFrame(1, doc(3))...)},
		{"half-open window", append(windowFrame(2), eventFrame(1, doc(4))...), nil},
		{"half a frame", append(windowFrame(1), eventFrame(1, doc(5))[:100]...), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			slow, err := net.Dial("tcp", s.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer slow.Close()
			if _, err := slow.Write(tc.atOnce); err != nil {
				t.Fatal(err)
			}
			started := time.Now()
			if len(tc.trickle) > 0 {
				var werr error
				for i := 0; werr == nil; i = (i + 1) % len(tc.trickle) {
					_, werr = slow.Write(tc.trickle[i : i+1])
					time.Sleep(50 * time.Millisecond)
				}
			} else {
				_ = slow.SetReadDeadline(time.Now().Add(time.Minute))
				if n, err := slow.Read(make([]byte, 6)); err == nil || listen.IsIdle(err) {
					t.Fatalf("read %d bytes, %v: not cut", n, err)
				}
			}
			if took := time.Since(started); took < eventTimeout {
				t.Errorf("cut after %v, before the event timeout", took)
			}
			s.logs.waitLog(t, "a window was not received within the event timeout", slow.LocalAddr().String())
		})
	}
	close(stop)
	if windows := <-beatDone; windows == 0 {
		t.Error("the Beat sent nothing")
	}
	s.waitStats(t, func(st listen.Stats) bool { return st.Errors[listen.ReasonEventTimeout] == 3 && st.Active == 1 })
	if got := listentest.Stored(t, s.bus); !sameRecords(got, positiveRecords[:3]) {
		t.Errorf("records %v", listentest.Records(got))
	}
}
