package listen

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weft-dev/weft/bus"
	"github.com/weft-dev/weft/collector/listen/listentest"
)

// waitEvents waits until the listener has stored n events, failing only
// when it makes no progress for a long while (a loaded machine is slow, not
// stuck).
func waitEvents(t *testing.T, s *served, n int64) Stats {
	t.Helper()
	last, since := int64(-1), time.Now()
	for {
		st := s.l.Stats()
		if st.Events >= n {
			return st
		}
		if st.Events != last {
			last, since = st.Events, time.Now()
		}
		if time.Since(since) > 30*time.Second {
			t.Fatalf("%d events stored, want %d; totals %+v", st.Events, n, st)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// storedOnce checks that the records first..first+n-1 are stored, each once.
func storedOnce(t *testing.T, s *served, first uint64, n int) {
	t.Helper()
	seen := map[uint64]int{}
	for _, r := range listentest.Stored(t, s.bus) {
		seen[r.RecordID]++
	}
	for rec := first; rec < first+uint64(n); rec++ {
		if seen[rec] != 1 {
			t.Errorf("record %d stored %d times", rec, seen[rec])
		}
	}
	if len(seen) != n {
		t.Errorf("%d distinct records stored, want %d", len(seen), n)
	}
}

// TestOneEventSenders: senders that each connect, write one event and
// close, one after the other as fast as they can or all at once, with the
// default limits: every event is stored, none is refused. A sender does
// not wait for weft, so weft runs behind; its connections wait for a slot
// instead of being refused.
func TestOneEventSenders(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		n        int
		parallel bool
	}{
		{"1000 one after the other", 1000, false},
		{"300 at once", 300, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := serve(t, KindTCP, Config{}, bus.Config{}, ServeTCP)
			send := func(rec uint64) {
				c, err := net.Dial("tcp", s.addr)
				if err != nil {
					t.Errorf("dial: %v", err)
					return
				}
				if _, err := c.Write([]byte(xmlEvent(t, rec))); err != nil {
					t.Errorf("record %d: %v", rec, err)
				}
				c.Close()
			}
			var wg sync.WaitGroup
			for i := range tc.n {
				if tc.parallel {
					wg.Go(func() { send(uint64(1 + i)) })
				} else {
					send(uint64(1 + i))
				}
			}
			wg.Wait()
			st := waitEvents(t, s, int64(tc.n))
			if st.Errors[ReasonMaxConnections] != 0 || st.Errors[ReasonEvicted] != 0 || st.Errors[ReasonPeerLimit] != 0 {
				t.Errorf("connections refused: %v", st.Errors)
			}
			storedOnce(t, s, 1, tc.n)
		})
	}
}

// TestHTTPOneRequestPerConnection: 300 requests, each on a connection of
// its own, one after the other: all answered 200.
func TestHTTPOneRequestPerConnection(t *testing.T) {
	t.Parallel()
	s := serve(t, KindHTTP, Config{}, bus.Config{}, ServeHTTP)
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{DisableKeepAlives: true}}
	const n = 300
	for i := range n {
		res := post(t, client, "http://"+s.addr+EventsPath, "application/xml", "", strings.NewReader(xmlEvent(t, uint64(1+i))))
		if res.code != http.StatusOK {
			t.Fatalf("request %d: %d %+v", i, res.code, res.resp)
		}
	}
	waitEvents(t, s, n)
	storedOnce(t, s, 1, n)
}

// trickle writes data a byte at a time, every interval, until a write
// fails; it reports the error.
func trickle(c net.Conn, data string, interval time.Duration) <-chan error {
	done := make(chan error, 1)
	go func() {
		for i := 0; ; i = (i + 1) % len(data) {
			if _, err := c.Write([]byte{data[i]}); err != nil {
				done <- err
				return
			}
			time.Sleep(interval)
		}
	}()
	return done
}

// TestTrickle: a peer sending an event a byte at a time (slow loris) is
// cut by the event timeout, though each byte comes well within the idle
// timeout, while a sender streaming events on another connection, for
// longer than the event timeout, stays connected and gets every event
// stored.
func TestTrickle(t *testing.T) {
	t.Parallel()
	request := "POST " + EventsPath + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/xml\r\nContent-Length: 100000\r\n\r\n"
	for _, tc := range []struct {
		name   string
		kind   string
		prefix string // sent at once before the trickle
		data   string // trickled
		logs   []string
	}{
		{"tcp", KindTCP, "", xmlEvent(t, 9999), []string{"an event was not received within the event timeout"}},
		{"tcp, half an event then silence", KindTCP, xmlEvent(t, 9999)[:100], "", []string{"an event was not received within the event timeout"}},
		{"http body", KindHTTP, request, xmlEvent(t, 9999), []string{"request abandoned", "event timeout"}},
		{"http header", KindHTTP, "", request + strings.Repeat("X-Padding: x\r\n", 1000), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			const eventTimeout = time.Second
			run := ServeTCP
			if tc.kind == KindHTTP {
				run = ServeHTTP
			}
			s := serve(t, tc.kind, Config{EventTimeout: eventTimeout, IdleTimeout: time.Hour}, bus.Config{}, run)

			// The streaming sender: an event every 20 ms until the
			// trickler is cut, then a few more.
			stopGood := make(chan struct{})
			goodDone := make(chan uint64, 1)
			go func() {
				rec := uint64(1)
				defer func() { goodDone <- rec - 1 }()
				var c net.Conn
				var br *bufio.Reader
				var err error
				if c, err = net.Dial("tcp", s.addr); err != nil {
					t.Errorf("dial: %v", err)
					return
				}
				defer c.Close()
				br = bufio.NewReader(c)
				started := time.Now()
				for stopped := 0; stopped < 5; rec++ {
					select {
					case <-stopGood:
						stopped++
					default:
					}
					ev := xmlEvent(t, rec)
					if tc.kind == KindHTTP {
						ev = fmt.Sprintf("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/xml\r\nContent-Length: %d\r\n\r\n%s", EventsPath, len(ev), ev)
					}
					if _, err := c.Write([]byte(ev)); err != nil {
						t.Errorf("the streaming sender was cut after %v: %v", time.Since(started), err)
						return
					}
					if tc.kind == KindHTTP {
						res, err := http.ReadResponse(br, nil)
						if err != nil {
							t.Errorf("the streaming sender was cut after %v: %v", time.Since(started), err)
							return
						}
						_, _ = io.Copy(io.Discard, res.Body)
						res.Body.Close()
						if res.StatusCode != http.StatusOK {
							t.Errorf("answer %d", res.StatusCode)
						}
					}
					time.Sleep(20 * time.Millisecond)
				}
			}()

			slow, err := net.Dial("tcp", s.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer slow.Close()
			if _, err := slow.Write([]byte(tc.prefix)); err != nil {
				t.Fatal(err)
			}
			started := time.Now()
			if tc.data != "" {
				// Cut: the server closes, and the trickler's writes fail.
				if err := <-trickle(slow, tc.data, 50*time.Millisecond); err == nil {
					t.Fatal("trickle ended without an error")
				}
			} else {
				_ = slow.SetReadDeadline(time.Now().Add(time.Minute))
				if n, err := slow.Read(make([]byte, 1)); err == nil || IsIdle(err) {
					t.Fatalf("read %d bytes, %v: not cut", n, err)
				}
			}
			if took := time.Since(started); took < eventTimeout {
				t.Errorf("trickler cut after %v, before the event timeout", took)
			}
			if len(tc.logs) > 0 {
				s.logs.waitLog(t, append(tc.logs, slow.LocalAddr().String())...)
				waitStats(t, s.l, func(st Stats) bool { return st.Errors[ReasonEventTimeout] == 1 })
			}
			close(stopGood)
			sent := <-goodDone
			if sent < 10 {
				t.Fatalf("the streaming sender sent only %d events", sent)
			}
			waitEvents(t, s, int64(sent))
			storedOnce(t, s, 1, int(sent))
		})
	}
}

// TestSilentConnections: connections from one peer that never start their
// TLS handshake (or, without TLS, never send a byte), as many as
// max_connections, do not lock out a sender from another; nor does a TLS
// handshake that never ends hold its slot beyond the handshake timeout.
func TestSilentConnections(t *testing.T) {
	t.Parallel()
	pki := listentest.NewPKI(t)
	mutual := TLS{CertFile: pki.ServerCert, KeyFile: pki.ServerKey, ClientCAFile: pki.CAFile}
	for _, tc := range []struct {
		name   string
		tls    TLS
		client *tls.Config
	}{
		{"tls", mutual, pki.ClientTLS(t, true)},
		{"plain", TLS{}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// Timeouts far beyond the test: only eviction lets the
			// sender in.
			s := serve(t, KindTCP, Config{TLS: tc.tls, HandshakeTimeout: time.Hour, IdleTimeout: time.Hour}, bus.Config{}, ServeTCP)
			silent := make([]net.Conn, DefaultMaxConnections)
			for i := range silent {
				c, err := net.Dial("tcp", s.addr)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				silent[i] = c
			}
			waitStats(t, s.l, func(st Stats) bool { return st.Active == DefaultMaxConnections })
			c := dialFrom(t, "127.0.0.2", s.addr)
			if tc.client != nil {
				c = tls.Client(c, tc.client)
			}
			if _, err := c.Write([]byte(xmlEvent(t, 1))); err != nil {
				t.Fatal(err)
			}
			c.Close()
			st := waitEvents(t, s, 1)
			if st.Errors[ReasonEvicted] != 1 || st.Errors[ReasonMaxConnections] != 0 {
				t.Errorf("errors %v, want one silent connection evicted", st.Errors)
			}
			s.logs.waitLog(t, "nothing received from it, and its slot was needed", `"peer":"127.0.0.1:`)
			storedOnce(t, s, 1, 1)
		})
	}

	t.Run("idle timeout", func(t *testing.T) {
		t.Parallel()
		s := serve(t, KindTCP, Config{IdleTimeout: 500 * time.Millisecond}, bus.Config{}, ServeTCP)
		c, err := net.Dial("tcp", s.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Write([]byte(xmlEvent(t, 1))); err != nil {
			t.Fatal(err)
		}
		// An event, then silence: the event is stored, the server
		// closes the connection.
		_ = c.SetReadDeadline(time.Now().Add(time.Minute))
		if n, err := c.Read(make([]byte, 1)); err == nil || IsIdle(err) {
			t.Fatalf("read %d bytes, %v", n, err)
		}
		s.logs.waitLog(t, "nothing received within the idle timeout", c.LocalAddr().String())
		waitStats(t, s.l, func(st Stats) bool { return st.Errors[ReasonIdle] == 1 && st.Events == 1 && st.Active == 0 })
	})

	t.Run("handshake timeout", func(t *testing.T) {
		t.Parallel()
		s := serve(t, KindTCP, Config{TLS: mutual, HandshakeTimeout: 500 * time.Millisecond}, bus.Config{}, ServeTCP)
		c, err := net.Dial("tcp", s.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// The server gives up: the connection ends.
		_ = c.SetReadDeadline(time.Now().Add(time.Minute))
		if n, err := c.Read(make([]byte, 1)); err == nil || IsIdle(err) {
			t.Fatalf("read %d bytes", n)
		}
		s.logs.waitLog(t, "not completed within the handshake timeout", c.LocalAddr().String())
		waitStats(t, s.l, func(st Stats) bool { return st.Errors[ReasonTLS] == 1 && st.Active == 0 })
	})
}

// dialFrom connects from a loopback address of its own, as another peer.
func dialFrom(t *testing.T, ip, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Skipf("cannot connect from %s (loopback is 127.0.0.1 only here): %v", ip, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestPerPeerLimit: a peer's connections beyond max_connections_per_peer
// wait for their turn; when another peer needs the room, a waiting one is
// closed instead.
func TestPerPeerLimit(t *testing.T) {
	t.Parallel()
	s := serve(t, KindTCP, Config{MaxConnections: 3, MaxConnectionsPerPeer: 2}, bus.Config{}, ServeTCP)
	send := func(c net.Conn, rec uint64) {
		t.Helper()
		if _, err := c.Write([]byte(xmlEvent(t, rec))); err != nil {
			t.Fatal(err)
		}
	}
	a1, a2 := dialFrom(t, "127.0.0.1", s.addr), dialFrom(t, "127.0.0.1", s.addr)
	send(a1, 1)
	send(a2, 2)
	waitEvents(t, s, 2)

	// A third from the same peer waits: its event is not read.
	a3 := dialFrom(t, "127.0.0.1", s.addr)
	send(a3, 3)
	s.logs.waitLog(t, "connection waits: too many connections from this peer", a3.LocalAddr().String())
	if st := s.l.Stats(); st.Events != 2 {
		t.Fatalf("%d events stored, want 2: the third connection was served", st.Events)
	}
	// One of the peer's connections closes: the waiting one's turn.
	a1.Close()
	waitEvents(t, s, 3)

	// Another waits; then a second peer comes, all three slots taken:
	// the waiting connection gives way.
	a4 := dialFrom(t, "127.0.0.1", s.addr)
	send(a4, 4)
	waitStats(t, s.l, func(st Stats) bool { return st.Active == 3 })
	s.logs.waitLog(t, "connection waits", a4.LocalAddr().String())
	b1 := dialFrom(t, "127.0.0.2", s.addr)
	send(b1, 5)
	st := waitEvents(t, s, 4)
	if _, err := a4.Read(make([]byte, 1)); err == nil {
		t.Error("the waiting connection was not closed")
	}
	line := s.logs.waitLog(t, "too many connections from this peer, and its slot was needed")
	if !strings.Contains(line, a4.LocalAddr().String()) {
		t.Errorf("eviction of another connection: %s", line)
	}
	if st.Errors[ReasonPeerLimit] != 1 {
		t.Errorf("errors %v", st.Errors)
	}
	got := listentest.Records(listentest.Stored(t, s.bus))
	slices.Sort(got)
	if fmt.Sprint(got) != "[1 2 3 5]" {
		t.Errorf("records %v stored, want [1 2 3 5]", got)
	}
}
