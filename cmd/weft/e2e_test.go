//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/weft-dev/weft/bus"
	"github.com/weft-dev/weft/collector"
	"github.com/weft-dev/weft/event"
)

// TestBinary builds weft and runs it as users do, for what only a real
// process shows: a kill, and permissions.
func TestBinary(t *testing.T) {
	t.Parallel()
	bin := buildWeft(t)
	t.Run("run resumes after kill -9", func(t *testing.T) {
		t.Parallel()
		testRunResumesAfterKill(t, bin)
	})
	t.Run("dump of an unreadable file", func(t *testing.T) {
		t.Parallel()
		testDumpUnreadableFile(t, bin)
	})
}

// buildWeft builds the binary into a folder anyone may read, so that it
// can also run as an unprivileged user.
func buildWeft(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "weft")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	if out, err := exec.Command("go", append(args, ".")...).CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// weftProcess is weft run started as users start it.
type weftProcess struct {
	cmd  *exec.Cmd
	out  lockedBuffer
	url  string
	done chan struct{} // closed when the process has exited
	err  error         // how it exited, once done
}

func startWeft(t *testing.T, bin, logLevel string, args ...string) *weftProcess {
	t.Helper()
	port := freePort(t)
	p := &weftProcess{url: fmt.Sprintf("nats://127.0.0.1:%d", port), done: make(chan struct{})}
	p.cmd = exec.Command(bin, append(args, "--nats-listen", fmt.Sprintf("127.0.0.1:%d", port), "--log-level", logLevel)...)
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

// connect waits for the process's bus and returns its JetStream.
func (p *weftProcess) connect(t *testing.T, ctx context.Context) jetstream.JetStream {
	t.Helper()
	for {
		nc, err := nats.Connect(p.url, nats.Timeout(time.Second))
		if err == nil {
			t.Cleanup(nc.Close)
			js, err := jetstream.New(nc)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := js.Stream(ctx, bus.StreamRaw); err == nil {
				return js
			}
			nc.Close()
		}
		select {
		case <-p.done:
			t.Fatalf("weft exited (%v):\n%s", p.err, p.out.String())
		case <-ctx.Done():
			t.Fatalf("bus never came up:\n%s", p.out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// rawReader follows WEFT_RAW, decoding each message once.
type rawReader struct {
	stream jetstream.Stream
	next   uint64   // the next sequence to read
	ids    []string // identities of the events read, with repeats
}

func newRawReader(t *testing.T, ctx context.Context, js jetstream.JetStream) *rawReader {
	t.Helper()
	s, err := js.Stream(ctx, bus.StreamRaw)
	if err != nil {
		t.Fatal(err)
	}
	return &rawReader{stream: s, next: 1}
}

// update reads the messages stored since the last call and returns the
// identities of all events so far.
func (r *rawReader) update(t *testing.T, ctx context.Context) []string {
	t.Helper()
	info, err := r.stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for ; r.next <= info.State.LastSeq; r.next++ {
		m, err := r.stream.GetMsg(ctx, r.next)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		var batch []*event.Raw
		if err := bus.Decode(m.Data, &batch); err != nil {
			t.Fatal(err)
		}
		for _, e := range batch {
			r.ids = append(r.ids, e.Identity())
		}
	}
	return r.ids
}

// testRunResumesAfterKill kills weft run with SIGKILL while it reads a
// watched folder, starts it again on the same data dir, and checks that
// every record of every file is on the bus exactly once.
func testRunResumesAfterKill(t *testing.T, bin string) {
	corpus := corpusDir(t, "evtx-dirty")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	dir := t.TempDir()
	watched := filepath.Join(dir, "logs")
	if err := os.Mkdir(watched, 0o755); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for i, name := range []string{"sample-with-irregular-bool-values.evtx", "security.evtx", "system.evtx", "sysmon.evtx"} {
		data, err := os.ReadFile(filepath.Join(corpus, name))
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(watched, fmt.Sprintf("Archive-%d.evtx", i))
		writeFile(t, path, string(data))
		if _, err := collector.ReadFile(ctx, path, collector.Options{}, func(r *event.Raw) error {
			want[r.Identity()] = true
			return nil
		}, nil); err != nil {
			t.Fatal(err)
		}
	}
	config := filepath.Join(dir, "weft.yaml")
	writeFile(t, config, fmt.Sprintf(`bus:
  batch_size: 16
sources:
  - type: watch
    path: %q
    pattern: "Archive-*.evtx"
    settle: 100ms
`, watched))
	args := []string{"run", "--config", config, "--data-dir", filepath.Join(dir, "data"), "--metrics-listen="}

	start := time.Now()
	first := startWeft(t, bin, "warn", args...)
	stream, err := first.connect(t, ctx).Stream(ctx, bus.StreamRaw)
	if err != nil {
		t.Fatal(err)
	}
	// Kill it once a few rounds are on the bus (16 events a message).
	for {
		info, err := stream.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.State.Msgs >= 30 {
			break
		}
		select {
		case <-first.done:
			t.Fatalf("weft exited (%v):\n%s", first.err, first.out.String())
		case <-ctx.Done():
			t.Fatalf("no events on the bus:\n%s", first.out.String())
		case <-time.After(5 * time.Millisecond):
		}
	}
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-first.done
	killed := time.Since(start)
	// Read the stream through the next process: this one is gone.
	second := startWeft(t, bin, "debug", args...)
	raw := newRawReader(t, ctx, second.connect(t, ctx))
	before := len(raw.update(t, ctx))
	if before >= len(want) {
		t.Log("the first process had read everything before the kill; the test shows less than it could")
	}
	for len(raw.update(t, ctx)) < len(want) {
		select {
		case <-second.done:
			t.Fatalf("weft exited (%v):\n%s", second.err, second.out.String())
		case <-ctx.Done():
			t.Fatalf("%d of %d events after the restart:\n%s", len(raw.ids), len(want), second.out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Logf("killed after %v with %d of %d events on the bus; all there %v after the restart", killed, before, len(want), time.Since(start)-killed)
	// Let a late duplicate show up if there is one.
	time.Sleep(300 * time.Millisecond)
	got := raw.update(t, ctx)
	seen := map[string]int{}
	for _, id := range got {
		seen[id]++
	}
	for id, n := range seen {
		if n != 1 || !want[id] {
			t.Errorf("event %s on the bus %d times (expected: %v)", id, n, want[id])
		}
	}
	if len(seen) != len(want) {
		t.Errorf("%d distinct events on the bus, want %d", len(seen), len(want))
	}
	// The restart read each file from its checkpoint: what it sent and
	// what the first run had delivered make up each file, and the first
	// run's part was not read again.
	resumed, sent := 0, 0
	for line := range strings.Lines(second.out.String()) {
		var l struct {
			Level, Message string
			Events         int
			Resumed        int `json:"resumed_after"`
		}
		if json.Unmarshal([]byte(line), &l) != nil {
			continue
		}
		switch l.Message {
		case "file read":
			resumed += l.Resumed
			sent += l.Events
		case "file already read":
			resumed += l.Events
		}
		if l.Level == "error" {
			t.Errorf("error logged: %s", line)
		}
	}
	if resumed+sent != len(want) || (before < len(want) && resumed == 0) {
		t.Errorf("after the restart %d events were read and %d skipped as delivered, of %d:\n%s", sent, resumed, len(want), second.out.String())
	}
}

// testDumpUnreadableFile runs dump as a user who may not read one of the
// files: one line says so, the other file is read, and the exit is 0.
func testDumpUnreadableFile(t *testing.T, bin string) {
	good, err := os.ReadFile(filepath.Join(corpusDir(t, "evtx-dirty"), "sysmon.evtx"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(dir, "a-readable.evtx"), string(good))
	locked := filepath.Join(dir, "b-locked.evtx")
	writeFile(t, locked, string(good))
	if err := os.Chmod(locked, 0); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "dump", "--errors", dir)
	if os.Geteuid() == 0 {
		// Permissions do not stop root: run as nobody.
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if got := strings.TrimSpace(stdout.String()); got != locked+": permission denied" {
		t.Errorf("errors printed: %q", got)
	}
	if !strings.Contains(stderr.String(), "weft dump: 1 file, 358 events, 1 error") {
		t.Errorf("summary: %s", stderr.String())
	}
}
