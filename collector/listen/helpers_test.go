package listen

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/weft-dev/weft/bus"
	"github.com/weft-dev/weft/collector/listen/listentest"
	"github.com/weft-dev/weft/event"
)

const xmlFixtures = "../../testdata/xml"

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(xmlFixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func winlogbeatFixture(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile("../jsonevent/testdata/winlogbeat/mmc-positive.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// logBuffer collects a listener's log lines for the tests to read.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// waitLog waits for a log line holding every one of parts.
func (l *logBuffer) waitLog(t *testing.T, parts ...string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(l.String(), "\n") {
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
	t.Fatalf("no log line with %q in:\n%s", parts, l.String())
	return ""
}

// served is a listener running on a test bus.
type served struct {
	l    *Listener
	bus  *bus.Bus
	logs *logBuffer
	addr string
}

// serve opens a listener of kind on 127.0.0.1 and serves it with run until
// the test ends.
func serve(t *testing.T, kind string, cfg Config, busCfg bus.Config, run func(context.Context, *Listener, *bus.Bus) error) *served {
	t.Helper()
	logs := &logBuffer{}
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	l, err := Open(kind, cfg, zerolog.New(logs).Level(zerolog.DebugLevel))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	b := listentest.OpenBus(t, busCfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, l, b) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(DrainTimeout + 5*time.Second):
			t.Error("listener did not stop")
		}
	})
	return &served{l: l, bus: b, logs: logs, addr: l.Addr().String()}
}

// waitStored waits until n events are stored and returns them.
func (s *served) waitStored(t *testing.T, n int) []event.Raw {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		got := listentest.Stored(t, s.bus)
		if len(got) >= n {
			if len(got) > n {
				t.Errorf("%d events stored, want %d: %v", len(got), n, listentest.Records(got))
			}
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d events stored, want %d: %v\nlogs:\n%s", len(got), n, listentest.Records(got), s.logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
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
