//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/weft-dev/weft/bus"
	"github.com/weft-dev/weft/testdata/gen/scenario"
)

// TestRunProcess builds weft once and runs weft run as a process where
// only a real process shows the behaviour: SIGKILL at random points, and
// SIGTERM while a receiver is dead.
func TestRunProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds weft and kills it several times")
	}
	t.Parallel()
	began := time.Now()
	bin := buildWeft(t)
	t.Logf("built weft in %s", time.Since(began).Round(time.Millisecond))
	t.Run("killed and restarted", func(t *testing.T) {
		t.Parallel()
		testRunKilledAndRestarted(t, bin)
	})
	t.Run("stopped with a dead receiver", func(t *testing.T) {
		t.Parallel()
		testStopWithDeadReceiver(t, bin)
	})
}

// testRunKilledAndRestarted runs weft run as a process over a synthesized
// domain with hundreds of attacks, kills it with SIGKILL at random points
// while it works, starts it again on the same data directory each time,
// and checks that the alerts delivered to its jsonl sink are exactly the
// manifest's: none lost, none invented, duplicates (at-least-once)
// counted, and every copy of one alert with the same event.id.
//
// WEFT_CRASH_SEED replays the kill points of a run (the seed is logged);
// WEFT_CRASH_TRIALS runs more trials, one after the other.
func testRunKilledAndRestarted(t *testing.T, bin string) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("WEFT_CRASH_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("WEFT_CRASH_SEED: %v", err)
		}
	}
	trials := 1
	if s := os.Getenv("WEFT_CRASH_TRIALS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("WEFT_CRASH_TRIALS=%q", s)
		}
		trials = n
	}
	began := time.Now()
	// One domain for every trial: 25 hosts, 250 attacks, and one of each
	// kind of near-miss, which must raise nothing.
	src := t.TempDir()
	m, err := scenario.Generate(testContext(t), scenario.Config{
		Seed: 20261207, Hosts: 25, Span: 20 * time.Minute, Rate: 0.2, Attacks: 250,
		NearMisses: scenario.NearMisses(), Dir: src,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[sequenceKey]bool{}
	for _, k := range manifestKeys(m) {
		want[k] = true
	}
	if len(want) != 250 {
		t.Fatalf("the manifest lists %d distinct alerts, want 250", len(want))
	}

	var kills, delivered, duplicated int
	for i := range trials {
		r := crashTrial{t: t, bin: bin, m: m, src: src, want: want, rng: rand.New(rand.NewPCG(seed, uint64(i)))}
		t.Logf("trial %d: seed %d (WEFT_CRASH_SEED), trial index %d", i+1, seed, i)
		r.run()
		kills += r.kills
		delivered += r.delivered
		duplicated += r.duplicated
		if t.Failed() {
			break
		}
	}
	t.Logf("%d trials, %d SIGKILLs: %d alerts expected, %d delivered, %d lost, %d duplicates (same event.id), in %s",
		trials, kills, trials*len(want), delivered, trials*len(want)-delivered, duplicated, time.Since(began).Round(time.Millisecond))
}

// crashTrial is one domain fed to weft run across several kills.
type crashTrial struct {
	t    *testing.T
	bin  string
	m    *scenario.Manifest
	src  string
	want map[sequenceKey]bool
	rng  *rand.Rand

	kills, delivered, duplicated int
}

func (r *crashTrial) run() {
	t := r.t
	ctx, cancel := context.WithTimeout(testContext(t), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	watched := filepath.Join(dir, "logs")
	if err := os.Mkdir(watched, 0o755); err != nil {
		t.Fatal(err)
	}
	alerts := filepath.Join(dir, "alerts.jsonl")
	config := filepath.Join(dir, "weft.yaml")
	writeFile(t, config, fmt.Sprintf(`bus:
  batch_size: 16
correlator:
  lateness: 1s
sources:
  - type: watch
    path: %q
    pattern: "*.evtx"
    settle: 50ms
sinks:
  - type: jsonl
    path: %q
`, watched, alerts))
	args := []string{"run", "--config", config, "--data-dir", filepath.Join(dir, "data"), "--metrics-listen="}

	// The host files arrive a few at a time, one batch before each run,
	// so that every run has work in hand when it is killed.
	files := make([]string, len(r.m.Files))
	for i, f := range r.m.Files {
		files[i] = f.Path
	}
	r.rng.Shuffle(len(files), func(i, j int) { files[i], files[j] = files[j], files[i] })
	kills := 6 + r.rng.IntN(3)
	drop := func(names []string) {
		for _, name := range names {
			data, err := os.ReadFile(filepath.Join(r.src, name))
			if err != nil {
				t.Fatal(err)
			}
			// Whole or not at all: the watch source must not see half a file.
			tmp := filepath.Join(dir, name+".part")
			writeFile(t, tmp, string(data))
			if err := os.Rename(tmp, filepath.Join(watched, name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	per := (len(files) + kills) / (kills + 1)
	for k := range kills {
		drop(files[min(k*per, len(files)):min((k+1)*per, len(files))])
		p := startWeft(t, r.bin, "warn", args...)
		js := p.connect(t, ctx)
		// The streams are created one after the other.
		ecs, err := js.Stream(ctx, bus.StreamECS)
		for ; err != nil; ecs, err = js.Stream(ctx, bus.StreamECS) {
			select {
			case <-p.done:
				t.Fatalf("weft exited (%v):\n%s", p.err, p.out.String())
			case <-ctx.Done():
				t.Fatalf("no ECS stream: %v\n%s", err, p.out.String())
			case <-time.After(5 * time.Millisecond):
			}
		}
		first, err := ecs.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// Kill it once it has normalized a random number of messages more,
		// or after a random time when it has less to do than that.
		grow := uint64(1 + r.rng.IntN(80))
		limit := time.Now().Add(time.Duration(200+r.rng.IntN(3000)) * time.Millisecond)
		for time.Now().Before(limit) {
			info, err := ecs.Info(ctx)
			if err == nil && info.State.LastSeq >= first.State.LastSeq+grow {
				break
			}
			select {
			case <-p.done:
				t.Fatalf("weft exited (%v):\n%s", p.err, p.out.String())
			case <-ctx.Done():
				t.Fatalf("%v:\n%s", ctx.Err(), p.out.String())
			case <-time.After(5 * time.Millisecond):
			}
		}
		if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-p.done
		r.kills++
		r.checkLog(p)
	}
	drop(files[min(kills*per, len(files)):])

	// The last run must deliver every alert, the dead runs' messages in
	// hand included (JetStream hands them out again after AckWait), then
	// stop cleanly.
	p := startWeft(t, r.bin, "warn", args...)
	var got map[sequenceKey]map[string]int
	for {
		var lines int
		got, lines = r.read(alerts)
		if len(got) >= len(r.want) {
			r.delivered, r.duplicated = len(got), lines-len(got)
			break
		}
		select {
		case <-p.done:
			t.Fatalf("weft exited (%v):\n%s", p.err, p.out.String())
		case <-ctx.Done():
			r.delivered, r.duplicated = len(got), lines-len(got)
			r.report(got)
			t.Fatalf("%d of %d alerts delivered after %d kills", len(got), len(r.want), r.kills)
		case <-time.After(50 * time.Millisecond):
		}
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-p.done
	if p.err != nil {
		t.Errorf("weft run after SIGTERM: %v\n%s", p.err, p.out.String())
	}
	r.checkLog(p)
	got, lines := r.read(alerts)
	r.delivered, r.duplicated = len(got), lines-len(got)
	r.report(got)
	t.Logf("%d kills: %d alerts expected, %d delivered, %d duplicates", r.kills, len(r.want), r.delivered, r.duplicated)
}

// read returns the event.ids delivered for each sequence, with their
// counts, and the number of alerts in the file.
func (r *crashTrial) read(path string) (map[sequenceKey]map[string]int, int) {
	data, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		r.t.Fatal(err)
	}
	// Only whole lines: the sink may be writing the next one.
	data = data[:bytes.LastIndexByte(data, '\n')+1]
	got := map[sequenceKey]map[string]int{}
	lines := 0
	if len(strings.TrimSpace(string(data))) == 0 {
		return got, 0
	}
	for _, a := range decodeAlerts(r.t, string(data)) {
		lines++
		events, _ := field(a, "weft.events").([]any)
		if len(events) != 2 {
			r.t.Fatalf("alert with %d events, want 2", len(events))
		}
		net, _ := events[0].(map[string]any)
		child, _ := events[1].(map[string]any)
		k := sequenceKey{
			host:        fmt.Sprint(field(a, "host.name")),
			mmc:         fmt.Sprint(field(net, "process.entity_id")),
			child:       fmt.Sprint(field(child, "process.entity_id")),
			netRecord:   fmt.Sprint(field(net, "winlog.record_id")),
			childRecord: fmt.Sprint(field(child, "winlog.record_id")),
		}
		if got[k] == nil {
			got[k] = map[string]int{}
		}
		got[k][fmt.Sprint(field(a, "event.id"))]++
	}
	return got, lines
}

// report fails the test for every alert missing, unexpected, or delivered
// under two ids.
func (r *crashTrial) report(got map[sequenceKey]map[string]int) {
	t := r.t
	lost := 0
	for k := range r.want {
		if got[k] == nil {
			lost++
			t.Errorf("lost: %v", k)
		}
	}
	for k, ids := range got {
		if !r.want[k] {
			t.Errorf("unexpected alert: %v", k)
		}
		if len(ids) != 1 {
			t.Errorf("alert %v delivered under %d event.ids: %v", k, len(ids), ids)
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d alerts lost after %d kills", lost, len(r.want), r.kills)
	}
}

// checkLog fails the test for an error a run logged.
func (r *crashTrial) checkLog(p *weftProcess) {
	for line := range strings.Lines(p.out.String()) {
		if strings.Contains(line, `"level":"error"`) {
			r.t.Errorf("error logged: %s", line)
		}
	}
}

// testStopWithDeadReceiver stops weft run with SIGTERM while its webhook
// receiver refuses connections or takes them and never answers: weft must
// exit 0 within its shutdown_timeout (set in weft.yaml in one case, by the
// flag in the other), say what it left, and the next start, with a
// receiver that works, must deliver the alert.
func testStopWithDeadReceiver(t *testing.T, bin string) {
	positive, err := os.ReadFile(filepath.Join(fixtures, "mmc-positive.xml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		hang    bool
		viaFlag bool
	}{
		{name: "refusing", hang: false, viaFlag: false},
		{name: "hanging", hang: true, viaFlag: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(testContext(t), 2*time.Minute)
			defer cancel()
			dir := t.TempDir()
			input := filepath.Join(dir, "positive.xml")
			writeFile(t, input, string(positive))
			// The dead receiver: a port nobody listens on, or a server that
			// takes the request and never answers.
			dead := fmt.Sprintf("http://127.0.0.1:%d/hook", freePort(t))
			reached := make(chan struct{}, 1)
			if tc.hang {
				release := make(chan struct{})
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					// The body read whole, so that the server notices weft
					// hanging up.
					_, _ = io.Copy(io.Discard, r.Body)
					select {
					case reached <- struct{}{}:
					default:
					}
					select {
					case <-r.Context().Done(): // weft hung up
					case <-release:
					}
				}))
				t.Cleanup(srv.Close)
				t.Cleanup(func() { close(release) }) // before srv.Close
				dead = srv.URL + "/hook"
			}
			const bound = 2 * time.Second
			config := func(url string) string {
				path := filepath.Join(dir, "weft.yaml")
				body := fmt.Sprintf("sources:\n  - type: files\n    paths: [%q]\nsinks:\n  - type: webhook\n    url: %q\n    delivery: {retry_backoff: 100ms}\n", input, url)
				if !tc.viaFlag {
					body += fmt.Sprintf("shutdown_timeout: %s\n", bound)
				}
				writeFile(t, path, body)
				return path
			}
			args := []string{"run", "--config", config(dead), "--data-dir", filepath.Join(dir, "data"), "--metrics-listen="}
			if tc.viaFlag {
				args = append(args, "--shutdown-timeout", bound.String())
			}
			p := startWeft(t, bin, "info", args...)
			// Stop it once the sink has tried the receiver and failed (or is
			// waiting on it).
			for tried := false; !tried; {
				select {
				case <-reached:
					tried = true
				case <-p.done:
					t.Fatalf("weft exited (%v):\n%s", p.err, p.out.String())
				case <-ctx.Done():
					t.Fatalf("the sink never tried the receiver:\n%s", p.out.String())
				case <-time.After(20 * time.Millisecond):
					tried = !tc.hang && strings.Contains(p.out.String(), "delivery failed; will retry")
				}
			}
			stopped := time.Now()
			if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			<-p.done
			took := time.Since(stopped)
			t.Logf("exit after SIGTERM with a %s receiver: %v, %s after the signal (shutdown_timeout %s)", tc.name, p.err, took.Round(time.Millisecond), bound)
			if p.err != nil {
				t.Errorf("weft run exited with %v, want 0:\n%s", p.err, p.out.String())
			}
			// The bound plus the stop itself; the old drain took 60s.
			if took > bound+20*time.Second {
				t.Errorf("weft run took %s to stop, shutdown_timeout %s", took, bound)
			}
			if !strings.Contains(p.out.String(), "stopped before everything was delivered") || !strings.Contains(p.out.String(), `"sink-webhook":1`) {
				t.Errorf("the log does not say that one alert was left for the next start:\n%s", p.out.String())
			}

			// The next start, with a receiver that works, delivers it.
			srv, got := alertReceiver(t)
			args[2] = config(srv.URL)
			next := startWeft(t, bin, "warn", args...)
			select {
			case a := <-got:
				if id := field(a, "rule.id"); id != seedID {
					t.Errorf("alert of rule %v", id)
				}
			case <-next.done:
				t.Fatalf("weft exited (%v):\n%s", next.err, next.out.String())
			case <-ctx.Done():
				t.Fatalf("the alert left at the stop was not delivered after the restart:\n%s", next.out.String())
			}
			if err := next.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			<-next.done
			if next.err != nil {
				t.Errorf("weft run after SIGTERM: %v\n%s", next.err, next.out.String())
			}
		})
	}
}
