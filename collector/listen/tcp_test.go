package listen

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weft-dev/weft/bus"
	"github.com/weft-dev/weft/collector/listen/listentest"
)

// sendTCP writes chunks to a new connection, pausing between them, and
// closes it.
func sendTCP(t *testing.T, addr string, tlsConf *tls.Config, chunks ...string) {
	t.Helper()
	var c net.Conn
	var err error
	if tlsConf != nil {
		c, err = tls.Dial("tcp", addr, tlsConf)
	} else {
		c, err = net.Dial("tcp", addr)
	}
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	for i, chunk := range chunks {
		if i > 0 {
			time.Sleep(20 * time.Millisecond)
		}
		if _, err := c.Write([]byte(chunk)); err != nil {
			t.Fatalf("write: %v", err)
		}
	}
}

// xmlEvent is the first positive event with another record id.
func xmlEvent(t *testing.T, record uint64) string {
	t.Helper()
	line := strings.SplitN(string(fixture(t, "mmc-positive.xml")), "\n", 2)[0]
	return strings.Replace(line, "<EventRecordID>48211</EventRecordID>", fmt.Sprintf("<EventRecordID>%d</EventRecordID>", record), 1) + "\n"
}

func TestTCPStreams(t *testing.T) {
	t.Parallel()
	pki := listentest.NewPKI(t)
	positive := string(fixture(t, "mmc-positive.xml"))
	half := strings.Index(positive, "<Data Name=\"DestinationPort\">") // inside the fourth event
	for _, tc := range []struct {
		name   string
		tls    TLS
		client *tls.Config
		chunks []string
		format string
	}{
		{"xml", TLS{}, nil, []string{positive}, "xml"},
		{"xml split inside an event", TLS{}, nil, []string{positive[:half], positive[half:]}, "xml"},
		{"xml in <Events>", TLS{}, nil, []string{"<?xml version=\"1.0\"?>\r\n<Events>\r\n" + positive + "</Events>"}, "xml"},
		{"ndjson winlogbeat", TLS{}, nil, []string{string(winlogbeatFixture(t))}, "ndjson"},
		{"xml over tls", TLS{CertFile: pki.ServerCert, KeyFile: pki.ServerKey}, pki.ClientTLS(t, false), []string{positive}, "xml"},
		{"ndjson over mutual tls", TLS{CertFile: pki.ServerCert, KeyFile: pki.ServerKey, ClientCAFile: pki.CAFile}, pki.ClientTLS(t, true), []string{string(winlogbeatFixture(t))}, "ndjson"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := serve(t, KindTCP, Config{TLS: tc.tls}, bus.Config{}, ServeTCP)
			sendTCP(t, s.addr, tc.client, tc.chunks...)
			got := s.waitStored(t, 7)
			if !sameRecords(got, positiveRecords) {
				t.Fatalf("records %v", listentest.Records(got))
			}
			o := got[0].Origin
			if o.Listener != "tcp "+s.addr || !strings.HasPrefix(o.Peer, "127.0.0.1:") || o.Path != "" || o.Received.IsZero() {
				t.Errorf("origin %+v", o)
			}
			if got[0].Computer != "WKS-FIN-07.corp.example" || len(got[0].Data) == 0 {
				t.Errorf("event %+v", got[0])
			}
			s.logs.waitLog(t, `"message":"connection closed"`, `"events":7`, `"format":"`+tc.format+`"`)
		})
	}
}

// TestTCPBadInput sends every kind of bad input on its own connection while
// a good sender goes on: each is logged with its peer, the good events
// around it are stored, and the good connection is unaffected.
func TestTCPBadInput(t *testing.T) {
	t.Parallel()
	pki := listentest.NewPKI(t)
	s := serve(t, KindTCP, Config{
		TLS: TLS{CertFile: pki.ServerCert, KeyFile: pki.ServerKey, ClientCAFile: pki.CAFile},
		// The half-open connection below is cut by the idle timeout;
		// the event timeout is left long, for the large inputs that a
		// loaded machine may send slowly (TestTrickle tests it).
		IdleTimeout:  2 * time.Second,
		EventTimeout: time.Hour,
	}, bus.Config{}, ServeTCP)
	client := pki.ClientTLS(t, true)

	// The good sender sends an event every 50 ms through everything below.
	good, err := tls.Dial("tcp", s.addr, client)
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	stopGood := make(chan struct{})
	goodDone := make(chan uint64, 1)
	go func() {
		rec := uint64(1)
		defer func() { goodDone <- rec - 1 }()
		for {
			if _, err := good.Write([]byte(xmlEvent(t, rec))); err != nil {
				t.Errorf("the good connection was affected: %v", err)
				return
			}
			rec++
			select {
			case <-stopGood:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()

	tooLarge := "<Event><System><EventID>1</EventID></System><EventData><Data Name=\"x\">" + strings.Repeat("A", 10<<20) + "</Data></EventData></Event>\n"
	badUTF8 := strings.Replace(xmlEvent(t, 0), "taskhostw.exe</Data>", "task\xffhostw.exe</Data>", 1)
	for _, tc := range []struct {
		name   string
		tls    *tls.Config
		chunks []string
		logs   []string
	}{
		{"malformed xml", client, []string{xmlEvent(t, 1010) + strings.Replace(xmlEvent(t, 1011), "</Computer>", "</Channel>", 1) + xmlEvent(t, 1012)},
			[]string{"skipped event", ":2: ", "closes"}},
		{"doctype", client, []string{`<!DOCTYPE Event [<!ENTITY x "boom">]>` + "\n" + strings.Replace(xmlEvent(t, 1020), "<Data Name=\"RuleName\">-", "<Data Name=\"RuleName\">&x;", 1) + xmlEvent(t, 1021)},
			[]string{"skipped event", "DOCTYPE and entity declarations are not allowed"}},
		{"10 MiB event", client, []string{xmlEvent(t, 1030) + tooLarge + xmlEvent(t, 1031)},
			[]string{"skipped event", "event too large"}},
		{"invalid utf-8", client, []string{badUTF8 + xmlEvent(t, 1040)},
			[]string{"event kept", "invalid UTF-8"}},
		{"json that is not an event", client, []string{`{"user":"bob"}` + "\n" + strings.SplitN(string(winlogbeatFixture(t)), "\n", 2)[0] + "\n"},
			[]string{"skipped event", "not a Windows event", `"format":"ndjson"`}},
		{"endless line", client, []string{`{"winlog":` + strings.Repeat(" ", 3<<20), strings.Repeat(" ", 3<<20) + "\n" + strings.SplitN(string(winlogbeatFixture(t)), "\n", 3)[1] + "\n"},
			[]string{"skipped event", "line longer than 1048576 bytes"}},
		{"neither xml nor json", client, []string{"hello there\n"},
			[]string{"closing connection", "neither event XML"}},
		{"no client certificate", pki.ClientTLS(t, false), nil,
			[]string{"TLS handshake failed", "certificate"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tls.Dial("tcp", s.addr, tc.tls)
			if err == nil {
				for _, chunk := range tc.chunks {
					if _, err := c.Write([]byte(chunk)); err != nil {
						t.Fatalf("write: %v", err)
					}
				}
				// Without a certificate the handshake fails on the
				// server's side; the client learns on its first read.
				_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
				_ = c.CloseWrite()
				_, _ = c.Read(make([]byte, 1))
				c.Close()
			}
			line := s.logs.waitLog(t, tc.logs...)
			if !strings.Contains(line, `"peer":"127.0.0.1:`) {
				t.Errorf("log line does not name the peer: %s", line)
			}
		})
	}

	// A half-open connection: half an event, then silence.
	half, err := tls.Dial("tcp", s.addr, client)
	if err != nil {
		t.Fatal(err)
	}
	defer half.Close()
	ev := xmlEvent(t, 1050)
	if _, err := half.Write([]byte(ev[:len(ev)/2])); err != nil {
		t.Fatal(err)
	}
	s.logs.waitLog(t, "idle timeout", half.LocalAddr().String())

	close(stopGood)
	goodSent := <-goodDone
	if err := good.Close(); err != nil {
		t.Fatal(err)
	}
	// Record 0 has a byte that is not UTF-8: kept, with U+FFFD.
	want := map[uint64]bool{0: true, 1010: true, 1012: true, 1021: true, 1030: true, 1031: true, 1040: true, 48211: true, 48212: true}
	for rec := uint64(1); rec <= goodSent; rec++ {
		want[rec] = true
	}
	got := s.waitStored(t, len(want))
	for _, r := range got {
		if !want[r.RecordID] {
			t.Errorf("record %d stored", r.RecordID)
		}
		delete(want, r.RecordID)
	}
	if len(want) != 0 {
		t.Errorf("records not stored: %v", want)
	}
}

// TestTCPBackpressure fills the raw stream: the listener stops reading and
// the sender's writes block, rather than weft buffering the stream. Once
// there is room again, everything sent is stored.
func TestTCPBackpressure(t *testing.T) {
	t.Parallel()
	s := serve(t, KindTCP, Config{}, bus.Config{MaxBytes: 64 << 10}, ServeTCP)
	const n = 4000
	var sent atomic.Int64
	done := make(chan error, 1)
	c, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Small socket buffers, so that a stalled listener shows soon.
	if err := c.(*net.TCPConn).SetWriteBuffer(16 << 10); err != nil {
		t.Fatal(err)
	}
	go func() {
		for i := range n {
			ev := fmt.Sprintf(`<Event><System><Provider Name="Microsoft-Windows-Sysmon"/><EventID>1</EventID>`+
				`<EventRecordID>%d</EventRecordID><Channel>Microsoft-Windows-Sysmon/Operational</Channel>`+
				`<Computer>HOST</Computer></System><EventData><Data Name="Image">C:\x.exe</Data></EventData></Event>`+"\n", 100000+i)
			if _, err := c.Write([]byte(ev)); err != nil {
				done <- err
				return
			}
			sent.Add(1)
		}
		done <- c.Close()
	}()

	// The stream fills, and the sender stalls. A pause of the sender
	// counts as its stall only once the listener has stored something: on
	// a loaded machine both sides can pause for a while before that.
	var stalledAt int64
	var stored int
	for prev := int64(-1); ; {
		time.Sleep(500 * time.Millisecond)
		now := sent.Load()
		select {
		case err := <-done:
			t.Fatalf("the sender sent all %d events (err %v) into a full stream", n, err)
		default:
		}
		if now == prev {
			if stored = len(listentest.Stored(t, s.bus)); stored > 0 {
				stalledAt = now
				break
			}
		}
		prev = now
	}
	t.Logf("sender stalled after %d events, %d stored", stalledAt, stored)
	if stored == 0 || stored >= int(stalledAt) {
		t.Fatalf("%d events stored when the sender stalled after %d", stored, stalledAt)
	}
	if strings.Contains(s.logs.String(), `"level":"error"`) {
		t.Errorf("errors logged while waiting for the bus:\n%s", s.logs.String())
	}

	// Room again: the rest goes through.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
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
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("sender: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("sender still blocked after %d events", sent.Load())
	}
	got := s.waitStored(t, n)
	seen := map[uint64]bool{}
	for _, r := range got {
		seen[r.RecordID] = true
	}
	if len(seen) != n {
		t.Errorf("%d distinct events stored, want %d", len(seen), n)
	}
}
