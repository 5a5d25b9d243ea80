package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/weft-dev/weft/bus"
)

// TestDistributedStages runs every stage as its own weft process against
// one NATS server with JetStream — a collector, a normalizer, two
// correlators sharing the hosts and a sink — and checks that the positive
// fixture alerts exactly once.
func TestDistributedStages(t *testing.T) {
	if testing.Short() {
		t.Skip("builds weft and runs five processes")
	}
	t.Parallel()
	ctx := testContext(t)
	dir := t.TempDir()
	weft := filepath.Join(dir, "weft")
	build := exec.CommandContext(ctx, "go", "build", "-o", weft, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	nats, err := bus.Open(ctx, bus.Config{Listen: "127.0.0.1:0", DataDir: filepath.Join(dir, "nats")}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer nats.Close()

	positive, err := filepath.Abs(filepath.Join(fixtures, "mmc-positive.xml"))
	if err != nil {
		t.Fatal(err)
	}
	alerts := filepath.Join(dir, "alerts.jsonl")
	cfg := filepath.Join(dir, "weft.yaml")
	writeFile(t, cfg, "bus:\n  url: "+nats.ClientURL()+"\nsources:\n  - type: files\n    paths: [\""+positive+"\"]\ncorrelator:\n  lateness: 1s\nsinks:\n  - type: jsonl\n    path: "+alerts+"\n")

	type proc struct {
		name   string
		cmd    *exec.Cmd
		stderr *bytes.Buffer
		done   chan error
	}
	var (
		mu    sync.Mutex
		procs []*proc
	)
	start := func(name string, args ...string) *proc {
		p := &proc{name: name, stderr: &bytes.Buffer{}, done: make(chan error, 1)}
		p.cmd = exec.Command(weft, append([]string{"--log-level", "warn", "--metrics-listen", ""}, args...)...)
		p.cmd.Stderr = p.stderr
		if err := p.cmd.Start(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		go func() { p.done <- p.cmd.Wait() }()
		mu.Lock()
		procs = append(procs, p)
		mu.Unlock()
		return p
	}
	defer func() {
		for _, p := range procs {
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}()
	start("sink", "sink", "--config", cfg)
	start("correlator 0/2", "correlate", "--config", cfg, "--share", "0/2")
	start("correlator 1/2", "correlate", "--config", cfg, "--share", "1/2")
	start("normalizer", "normalize", "--serve", "--config", cfg)
	collect := start("collector", "collect", "--config", cfg)

	select {
	case err := <-collect.done:
		collect.done <- err
		if err != nil {
			t.Fatalf("weft collect: %v\n%s", err, collect.stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("weft collect did not finish reading the fixture")
	}
	var lines []string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && len(lines) == 0; time.Sleep(100 * time.Millisecond) {
		data, _ := os.ReadFile(alerts)
		lines = strings.Fields(string(bytes.TrimSpace(data)))
	}
	// Long enough for a second alert, from the other correlator or a
	// redelivery, to arrive.
	time.Sleep(3 * time.Second)
	data, _ := os.ReadFile(alerts)
	got := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(got) != 1 || got[0] == "" {
		for _, p := range procs {
			t.Logf("%s:\n%s", p.name, p.stderr)
		}
		t.Fatalf("%d alerts, want exactly 1:\n%s", len(got), data)
	}
	if !strings.Contains(got[0], "WKS-FIN-07.corp.example") {
		t.Errorf("unexpected alert: %s", got[0])
	}
	for _, p := range procs[:4] {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-p.done:
			p.done <- err
			if err != nil {
				t.Errorf("%s after SIGTERM: %v\n%s", p.name, err, p.stderr)
			}
		case <-time.After(20 * time.Second):
			t.Errorf("%s did not stop on SIGTERM", p.name)
		}
	}
}
