//go:build linux

package syslog

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/leodido/go-syslog/v4/rfc5424"
	"github.com/rs/zerolog"

	"github.com/weft-dev/weft/bus"
	"github.com/weft-dev/weft/event"
	"github.com/weft-dev/weft/internal/tlstest"
	"github.com/weft-dev/weft/sinks"
	"github.com/weft-dev/weft/sinks/internal/alerttest"
)

// rsyslogConf has rsyslog take octet-counted syslog over plain TCP and
// over TLS (RFC 5425, GnuTLS) on loopback and write every message twice:
// as received (%rawmsg%), and as rsyslog parsed it, rendered again in RFC
// 5424 from its own properties.
const rsyslogConf = `global(
  workDirectory="{{dir}}/work"
  maxMessageSize="64k"
  defaultNetstreamDriverCAFile="{{ca}}"
  defaultNetstreamDriverCertFile="{{cert}}"
  defaultNetstreamDriverKeyFile="{{key}}"
)
module(load="imtcp")
template(name="raw" type="string" string="%rawmsg%\n")
template(name="parsed" type="string" string="<%PRI%>1 %TIMESTAMP:::date-rfc3339% %HOSTNAME% %APP-NAME% %PROCID% %MSGID% %STRUCTURED-DATA% %msg%\n")
ruleset(name="weft") {
  action(type="omfile" file="{{dir}}/raw.log" template="raw")
  action(type="omfile" file="{{dir}}/parsed.log" template="parsed")
}
input(type="imtcp" address="127.0.0.1" port="{{tcp}}" ruleset="weft")
input(type="imtcp" address="127.0.0.1" port="{{tls}}" ruleset="weft"
  streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")
`

// rsyslogd is a running rsyslog, started by the test.
type rsyslogd struct {
	t      *testing.T
	bin    string
	conf   string
	ports  []string
	cmd    *exec.Cmd
	stderr *syncLog // written by rsyslogd's output copier while the test reads it
	done   chan struct{}
	// state describes the senders' side when lines gives up: what each
	// sink's consumer has delivered and acknowledged, and its log.
	state func() string
}

// findRsyslogd returns the rsyslogd binary, or skips the test: on a
// developer machine without rsyslog (.ci/run installs it in CI).
func findRsyslogd(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("rsyslogd")
	if err != nil {
		if _, statErr := os.Stat("/usr/sbin/rsyslogd"); statErr == nil {
			return "/usr/sbin/rsyslogd"
		}
		if os.Getenv("CI") == "true" {
			t.Fatal("rsyslogd not found; .ci/run installs Debian's rsyslog and rsyslog-gnutls")
		}
		t.Skip("rsyslogd not found: install Debian's rsyslog and rsyslog-gnutls to run the end-to-end syslog test")
	}
	return bin
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// start runs rsyslogd in the foreground and waits until its ports accept
// connections.
func (r *rsyslogd) start() {
	t := r.t
	t.Helper()
	r.stderr = &syncLog{}
	r.cmd = exec.Command(r.bin, "-n", "-f", r.conf, "-i", r.conf+".pid")
	r.cmd.Stdout, r.cmd.Stderr = r.stderr, r.stderr
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("start rsyslogd: %v", err)
	}
	r.done = make(chan struct{})
	go func() {
		_ = r.cmd.Wait()
		close(r.done)
	}()
	for _, port := range r.ports {
		deadline := time.Now().Add(15 * time.Second)
		for {
			c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", port), time.Second)
			if err == nil {
				c.Close()
				break
			}
			select {
			case <-r.done:
				t.Fatalf("rsyslogd exited: %s", r.stderr)
			default:
			}
			if time.Now().After(deadline) {
				r.stop()
				t.Fatalf("rsyslogd does not listen on %s: %v\n%s", port, err, r.stderr)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// stop ends the rsyslogd this test started, by its process id.
func (r *rsyslogd) stop() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.done
	}
	r.cmd = nil
}

// lines waits until path holds at least n complete lines and returns
// them.
func lines(t *testing.T, path string, n int, r *rsyslogd) []string {
	t.Helper()
	// Longer than the sinks' AckWait (30s): on a starved machine a pull
	// request can reach the server so late that a message it hands over
	// finds the client gone, and comes back only AckWait later. What this
	// test checks is that every alert arrives, not how fast.
	deadline := time.Now().Add(75 * time.Second)
	for {
		data, _ := os.ReadFile(path)
		// Complete lines only: rsyslog writes a line longer than its
		// output buffer (4 KiB) in several writes, and one read here may
		// come between them.
		data = data[:bytes.LastIndexByte(data, '\n')+1]
		var out []string
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			out = append(out, sc.Text())
		}
		if len(out) >= n {
			return out
		}
		if time.Now().After(deadline) {
			var state string
			if r.state != nil {
				state = r.state()
			}
			t.Fatalf("%s has %d lines, want %d; rsyslogd said:\n%s\n%s", path, len(out), n, r.stderr, state)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// e2eAlert is alert i: its own events (so its own id) and a command line
// with everything an attacker may put there.
func e2eAlert(i int) event.Alert {
	cmd := fmt.Sprintf(`cmd.exe /c "echo ]%d[ \\share\c$" > C:\Users\Jürgen\o.txt`+"\n\tnext \xff 🙂", i)
	if i == 5 {
		cmd = "cmd.exe /c " + strings.Repeat("x", 1<<20)
	}
	a := alerttest.Seed(cmd)
	for j, d := range a.Weft.Events {
		d["winlog"].(map[string]any)["record_id"] = strconv.Itoa(5000 + 2*i + j)
	}
	a.Event.ID = event.AlertID(a.Rule.ID, a.Weft.Events)
	return *a
}

// wantSD is every structured-data field of alert a, as the README
// documents them, written out independently of the formatter.
func wantSD(a event.Alert) map[string]string {
	cmd := a.Weft.Events[1].String("process.command_line")
	cmd = strings.ToValidUTF8(cmd, "\uFFFD")
	cmd = strings.NewReplacer("\n", "\u240a", "\t", "\u2409").Replace(cmd)
	if len(cmd) > sdValueLimit {
		// Alert 5's command line, 1,048,587 bytes: 1,000 kept and a
		// 24-byte marker.
		cmd = cmd[:1000] + "…[cut 1,047,587 bytes]"
	}
	return map[string]string{
		"alert_id":          a.Event.ID,
		"rule_id":           "51ce96fb-9e52-4dad-b0ba-99b54440fc9a",
		"rule":              "Incoming DCOM Lateral Movement with MMC",
		"rule_version":      "209",
		"severity":          "high",
		"risk_score":        "73",
		"host":              "WKS-01",
		"src_ip":            "10.1.2.30",
		"src_port":          "49702",
		"dst_ip":            "10.9.8.7",
		"dst_port":          "50211",
		"direction":         "ingress",
		"remote_ip":         "10.9.8.7",
		"remote_port":       "50211",
		"parent_process":    "mmc.exe",
		"parent_entity_id":  "{8f1e2a3b-0000-1111-2222-333344445555}",
		"process":           "cmd.exe",
		"process_entity_id": "{8f1e2a3b-0000-1111-2222-999988887777}",
		"command_line":      cmd,
		"technique":         "T1021,T1021.003,T1218,T1218.014",
	}
}

// TestRsyslogEndToEnd sends alerts through the bus and the sinks'
// durable delivery to Debian's rsyslog over TCP, over TLS, and over TCP in
// RFC 3164 form; restarts rsyslog while alerts are produced; and parses
// what rsyslog wrote with the RFC 5424 parser of rfc5424_test.go, which is
// written from the RFC's ABNF and shares no code with the formatter.
func TestRsyslogEndToEnd(t *testing.T) {
	t.Parallel()
	bin := findRsyslogd(t)
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "work"), 0o700); err != nil {
		t.Fatal(err)
	}
	ca := tlstest.NewCA(t)
	cert, key := ca.Leaf(t, "127.0.0.1")
	tcpPort, tlsPort := freePort(t), freePort(t)
	conf := strings.NewReplacer("{{dir}}", dir, "{{ca}}", ca.File, "{{cert}}", cert, "{{key}}", key,
		"{{tcp}}", tcpPort, "{{tls}}", tlsPort).Replace(rsyslogConf)
	confPath := filepath.Join(dir, "rsyslog.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-N1", "-f", confPath).CombinedOutput(); err != nil {
		msg := fmt.Sprintf("rsyslog rejects the test configuration (is rsyslog-gnutls installed?): %v\n%s", err, out)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	rs := &rsyslogd{t: t, bin: bin, conf: confPath, ports: []string{tcpPort, tlsPort}}
	rs.start()
	t.Cleanup(rs.stop)

	// Bounds a hang only: the whole test, rsyslog's restart included, on a
	// loaded machine under -race.
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	b, err := bus.Open(ctx, bus.Config{BatchSize: 4}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	// Timeouts only bound a receiver that hangs, which rsyslog does not: a
	// TLS handshake on a loaded machine under -race can take seconds, and
	// one cut short by a tight timeout is retried after backoff until the
	// lines' deadline passes.
	configs := map[string]Config{
		"tcp": {Network: "tcp", Address: "127.0.0.1:" + tcpPort, Hostname: "wec-tcp", Timeout: 15 * time.Second},
		"tls": {Network: "tls", Address: "127.0.0.1:" + tlsPort, Hostname: "wec-tls", CAFile: ca.File, Timeout: 15 * time.Second},
		"bsd": {Network: "tcp", Address: "127.0.0.1:" + tcpPort, Hostname: "wec-bsd", Format: "rfc3164", Timeout: 15 * time.Second},
	}
	var logs syncLog
	var wg sync.WaitGroup
	runCtx, stopDelivery := context.WithCancel(context.Background())
	for name, cfg := range configs {
		s, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.EnsureConsumer(ctx, sinks.Consumer(name)); err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			opts := sinks.DeliveryOptions{RetryBackoff: 50 * time.Millisecond, RetryMaxBackoff: 200 * time.Millisecond}
			if err := sinks.Deliver(runCtx, b, name, sinks.WithDelivery(s, opts), zerolog.New(&logs)); err != nil {
				t.Errorf("deliver %s: %v", name, err)
			}
			_ = s.Close()
		}()
	}
	t.Cleanup(func() {
		stopDelivery()
		wg.Wait()
	})
	rs.state = func() string {
		// The test's ctx may be over by the time lines gives up.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var sb strings.Builder
		for name := range configs {
			c := sinks.Consumer(name)
			cons, err := b.JetStream().Consumer(ctx, c.Stream, c.Durable)
			if err != nil {
				fmt.Fprintf(&sb, "sink %s: %v\n", name, err)
				continue
			}
			info, err := cons.Info(ctx)
			if err != nil {
				fmt.Fprintf(&sb, "sink %s: %v\n", name, err)
				continue
			}
			fmt.Fprintf(&sb, "sink %s: delivered stream seq %d, ack floor %d, %d pending, %d awaiting ack, %d redelivered, %d pull requests waiting\n",
				name, info.Delivered.Stream, info.AckFloor.Stream, info.NumPending, info.NumAckPending, info.NumRedelivered, info.NumWaiting)
		}
		return sb.String() + "delivery log:\n" + logs.String()
	}

	publish := func(from, to int) []event.Alert {
		bt := bus.NewBatcher[event.Alert](b, "alert")
		var out []event.Alert
		for i := from; i < to; i++ {
			a := e2eAlert(i)
			if err := bt.Add(ctx, bus.Subject(bus.SubjectAlerts, a.Rule.ID), a, a.Event.ID); err != nil {
				t.Fatal(err)
			}
			out = append(out, a)
		}
		if err := bt.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		return out
	}
	raw := filepath.Join(dir, "raw.log")
	alerts := publish(0, 8)
	lines(t, raw, 3*len(alerts), rs)

	// rsyslog restarts: alerts produced while it is down wait on the bus
	// and reach the new rsyslog, over fresh connections.
	rs.stop()
	alerts = append(alerts, publish(8, 14)...)
	// Each sink tries as soon as it gets the alerts, and fails: wait for
	// the failure to be logged rather than a guess at how long that takes.
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(logs.String(), "connection refused"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no failed delivery logged in 30s while rsyslog was down:\n%s", logs.String())
		}
	}
	rs.start()
	got := lines(t, raw, 3*len(alerts), rs)
	for name := range configs {
		if err := b.WaitIdle(ctx, sinks.Consumer(name)); err != nil {
			t.Fatalf("sink %s: %v", name, err)
		}
	}
	rendered := lines(t, filepath.Join(dir, "parsed.log"), len(got), rs)

	byHost := map[string]map[string]parsed{}
	for _, line := range got {
		p, host, err := parseReceived(line)
		if err != nil {
			t.Fatalf("rsyslog wrote a line that does not parse: %v\n%.300s", err, line)
		}
		if !bsdLine.MatchString(line) {
			checkGoSyslog(t, line, p)
		}
		if byHost[host] == nil {
			byHost[host] = map[string]parsed{}
		}
		id, _ := p.param("alert_id")
		byHost[host][id] = p
	}
	for name, cfg := range configs {
		msgs := byHost[cfg.Hostname]
		for _, a := range alerts {
			p, ok := msgs[a.Event.ID]
			if !ok {
				t.Errorf("sink %s: alert %s never reached rsyslog", name, a.Event.ID)
				continue
			}
			for field, want := range wantSD(a) {
				if got, ok := p.param(field); !ok || got != want {
					t.Errorf("sink %s alert %s: %s = %.80q, want %.80q", name, a.Event.ID, field, got, want)
				}
			}
			var back event.Alert
			if err := json.Unmarshal(p.msg, &back); err != nil || back.Event.ID != a.Event.ID {
				t.Errorf("sink %s alert %s: MSG is not the alert JSON: %v", name, a.Event.ID, err)
			}
		}
	}
	checkRsyslogParse(t, rendered, configs)
	t.Logf("%d messages received by rsyslog for %d alerts × %d sinks", len(got), len(alerts), len(configs))
}

var bsdLine = regexp.MustCompile(`^<(\d{1,3})>[A-Z][a-z]{2} [ 1-3]\d \d\d:\d\d:\d\d (\S+) weft\[\d+\]: (.*)$`)

// checkGoSyslog reads a received RFC 5424 line with a third party's
// parser (github.com/leodido/go-syslog, strict mode) and requires it to
// agree with ours on the header and every structured-data parameter.
func checkGoSyslog(t *testing.T, line string, p parsed) {
	t.Helper()
	m, err := rfc5424.NewParser().Parse([]byte(line))
	if err != nil {
		t.Errorf("go-syslog rejects what rsyslog received: %v\n%.200s", err, line)
		return
	}
	sm, ok := m.(*rfc5424.SyslogMessage)
	if !ok || sm.Hostname == nil || sm.Appname == nil || sm.MsgID == nil || sm.StructuredData == nil {
		t.Errorf("go-syslog: header or structured data missing in %.200s", line)
		return
	}
	if *sm.Hostname != p.hostname || *sm.Appname != p.app || *sm.MsgID != p.msgID {
		t.Errorf("go-syslog reads header %q %q %q, ours %q %q %q", *sm.Hostname, *sm.Appname, *sm.MsgID, p.hostname, p.app, p.msgID)
	}
	for _, e := range p.sd {
		params := (*sm.StructuredData)[e.id]
		for _, kv := range e.params {
			if params[kv[0]] != kv[1] {
				t.Errorf("go-syslog reads %s %s = %.80q, ours %.80q", e.id, kv[0], params[kv[0]], kv[1])
			}
		}
	}
}

// parseReceived parses one line rsyslog received: RFC 5424, or RFC 3164
// whose content is our structured data and JSON.
func parseReceived(line string) (parsed, string, error) {
	if m := bsdLine.FindStringSubmatch(line); m != nil {
		p, err := parse5424([]byte("<" + m[1] + ">1 - " + m[2] + " weft - - " + m[3]))
		return p, m[2], err
	}
	p, err := parse5424([]byte(line))
	return p, p.hostname, err
}

// checkRsyslogParse checks rsyslog's own reading of each message, which
// it rendered again from its properties: HOSTNAME, APP-NAME, MSGID and,
// for RFC 5424, every structured-data parameter as sent.
func checkRsyslogParse(t *testing.T, lines []string, configs map[string]Config) {
	t.Helper()
	for _, line := range lines {
		p, err := parse5424([]byte(line))
		if err != nil {
			t.Errorf("rsyslog's rendering does not parse: %v\n%.200s", err, line)
			continue
		}
		if p.app != "weft" {
			t.Errorf("rsyslog read APP-NAME %q", p.app)
		}
		switch p.hostname {
		case configs["bsd"].Hostname:
			// rsyslog keeps the space after the RFC 3164 tag in MSG.
			if !bytes.HasPrefix(bytes.TrimLeft(p.msg, " "), []byte("[weft@32473 alert_id=")) {
				t.Errorf("rsyslog read the RFC 3164 content as %.60q", p.msg)
			}
		case configs["tcp"].Hostname, configs["tls"].Hostname:
			if p.msgID != "51ce96fb-9e52-4dad-b0ba-99b54440" || len(p.sd) != 1 || p.sd[0].id != DefaultSDID {
				t.Errorf("rsyslog read MSGID %q and SD %+v", p.msgID, p.sd)
				continue
			}
			id, _ := p.param("alert_id")
			cl, _ := p.param("command_line")
			// 20 key fields, and "omitted" for the alert that did not fit.
			if n := len(p.sd[0].params); n < 20 || n > 21 || id == "" || !strings.HasPrefix(cl, "cmd.exe /c ") {
				t.Errorf("rsyslog read %d SD parameters, alert_id %q, command_line %.40q", len(p.sd[0].params), id, cl)
			}
		default:
			t.Errorf("rsyslog read HOSTNAME %q", p.hostname)
		}
	}
}

// syncLog collects the delivery log of several sinks.
type syncLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
