//go:build linux

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/weft-dev/weft/bus"
)

// seedRuleSeries is the seed rule's label in the correlator's metrics.
const seedRuleSeries = `{rule="51ce96fb-9e52-4dad-b0ba-99b54440fc9a"}`

// TestDistributedStages runs weft as it runs across machines: a real
// nats-server with JetStream, built from the module weft depends on, and
// every stage as its own weft process — collectors, a normalizer, a sink
// and a group of two correlators. It checks that
//
//   - the positive fixture raises its alert exactly once;
//   - a correlator stopped with SIGTERM between the two events of an attack
//     hands the host to the other, which raises the alert, once;
//   - a correlator joining takes its share, and one killed with SIGKILL
//     between the two events loses its hosts to the other once its TTL
//     has run out, with the same result.
func TestDistributedStages(t *testing.T) {
	if testing.Short() {
		t.Skip("builds weft and nats-server and runs a dozen processes")
	}
	t.Parallel()
	ctx := testContext(t)
	began := time.Now()
	dir := t.TempDir()

	// The two builds at once; each reuses the packages the test itself was
	// compiled with.
	var weft, natsServer string
	var wg sync.WaitGroup
	wg.Go(func() { weft = buildWeft(t) })
	wg.Go(func() { natsServer = buildNATSServer(t, dir) })
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("built weft and nats-server in %s", time.Since(began).Round(time.Millisecond))

	d := &deployment{t: t, ctx: ctx, dir: dir, weft: weft}
	d.url = d.startNATS(natsServer)
	probe, err := bus.Open(ctx, bus.Config{URL: d.url}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	d.probe = probe
	partitions := probe.Partitions()

	d.alerts = filepath.Join(dir, "alerts.jsonl")
	base := "bus:\n  url: " + d.url + "\ncorrelator:\n  lateness: 1s\nsinks:\n  - type: jsonl\n    path: " + d.alerts + "\n"
	d.cfg = filepath.Join(dir, "weft.yaml")
	writeFile(t, d.cfg, base)
	d.base = base

	d.start("sink", "sink", "--config", d.cfg)
	d.start("normalizer", "normalize", "--serve", "--config", d.cfg)
	c1 := d.startCorrelator("c1")
	c2 := d.startCorrelator("c2")
	d.waitOwned(partitions, c1, c2)

	// (a) The positive fixture, whole: one alert.
	positive, err := os.ReadFile(filepath.Join(fixtures, "mmc-positive.xml"))
	if err != nil {
		t.Fatal(err)
	}
	d.collect("positive", string(positive))
	d.waitAlerts(map[string]int{"WKS-FIN-07": 1}, c1, c2)

	// (b) SIGTERM between the two events of an attack on another host.
	first, second := splitAttack(t, string(positive), "WKS-FIN-08")
	d.collect("host 8, network event", first)
	owner, other := d.pendingOn(c1, c2)
	t.Logf("WKS-FIN-08's sequence is pending on %s; stopping it with SIGTERM", owner.name)
	stopped := time.Now()
	owner.signal(syscall.SIGTERM)
	d.waitOwned(partitions, other)
	t.Logf("handover after SIGTERM: %s took every partition %s after the signal", other.name, time.Since(stopped).Round(time.Millisecond))
	if err := owner.wait(20 * time.Second); err != nil {
		t.Fatalf("%s after SIGTERM: %v\n%s", owner.name, err, owner.out.String())
	}
	d.collect("host 8, process event", second)
	d.waitAlerts(map[string]int{"WKS-FIN-07": 1, "WKS-FIN-08": 1}, other)

	// (c) A third correlator joins; SIGKILL between the two events of an
	// attack on a third host.
	c3 := d.startCorrelator("c3")
	d.waitOwned(partitions, other, c3)
	first, second = splitAttack(t, string(positive), "WKS-FIN-09")
	d.collect("host 9, network event", first)
	owner, survivor := d.pendingOn(other, c3)
	t.Logf("WKS-FIN-09's sequence is pending on %s; killing it", owner.name)
	killed := time.Now()
	owner.signal(syscall.SIGKILL)
	d.waitOwned(partitions, survivor)
	t.Logf("takeover after SIGKILL: %s took every partition %s after the kill (group TTL 2s)", survivor.name, time.Since(killed).Round(time.Millisecond))
	d.collect("host 9, process event", second)
	d.waitAlerts(map[string]int{"WKS-FIN-07": 1, "WKS-FIN-08": 1, "WKS-FIN-09": 1}, survivor)

	if text := survivor.scrape(); sample(text, `weft_correlator_handovers_total{direction="gained"}`) <= float64(partitions/2) {
		t.Errorf("%s counted no takeover:\n%s", survivor.name, text)
	}
	d.stopAll()
	t.Logf("whole test: %s", time.Since(began).Round(time.Millisecond))
}

// buildNATSServer builds the nats-server of the module weft depends on.
func buildNATSServer(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "nats-server")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	if out, err := exec.Command("go", append(args, "github.com/nats-io/nats-server/v2")...).CombinedOutput(); err != nil {
		t.Errorf("go build nats-server: %v\n%s", err, out)
	}
	return bin
}

// splitAttack renames the positive fixture's host and splits it after
// the network event of mmc.exe (the fourth event): the first part ends
// with the sequence pending, the second completes it.
func splitAttack(t *testing.T, positive, host string) (string, string) {
	t.Helper()
	lines := strings.SplitAfter(strings.ReplaceAll(positive, "WKS-FIN-07", host), "\n")
	if len(lines) < 7 || !strings.Contains(lines[3], "<EventID>3</EventID>") || !strings.Contains(lines[4], "mmc.exe -Embedding</Data><Data Name=\"ParentUser\">") {
		t.Fatalf("the positive fixture is no longer one event per line, network event fourth")
	}
	return strings.Join(lines[:4], ""), strings.Join(lines[4:], "")
}

// deployment is the processes of one distributed weft.
type deployment struct {
	t     *testing.T
	ctx   context.Context
	dir   string
	weft  string
	url   string
	probe *bus.Bus // the test's own connection, to watch consumers

	cfg, base, alerts string

	mu    sync.Mutex
	procs []*process
	// busy says what kept the deployment from being quiet, last time.
	busy string
}

// process is one weft or nats-server process.
type process struct {
	t       *testing.T
	name    string
	cmd     *exec.Cmd
	out     lockedBuffer
	done    chan struct{}
	err     error
	metrics string // the address of /metrics, for correlators
}

func (p *process) signal(sig syscall.Signal) { _ = p.cmd.Process.Signal(sig) }

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// wait waits for the process to exit and returns how it did.
func (p *process) wait(d time.Duration) error {
	select {
	case <-p.done:
		return p.err
	case <-time.After(d):
		return fmt.Errorf("still running after %s", d)
	}
}

// scrape reads the process's /metrics; "" once it is gone.
func (p *process) scrape() string {
	resp, err := http.Get("http://" + p.metrics + "/metrics")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return sb.String()
}

func (d *deployment) spawn(name, bin string, args ...string) *process {
	p := &process{t: d.t, name: name, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	if err := p.cmd.Start(); err != nil {
		d.t.Fatalf("%s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	d.mu.Lock()
	d.procs = append(d.procs, p)
	d.mu.Unlock()
	d.t.Cleanup(func() {
		if !p.exited() {
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if d.t.Failed() {
			d.t.Logf("--- %s:\n%s", p.name, p.out.String())
		}
	})
	return p
}

// startNATS starts nats-server with JetStream on a free loopback port and
// returns its URL, read from the ports file the server writes.
func (d *deployment) startNATS(bin string) string {
	portsDir := filepath.Join(d.dir, "ports")
	if err := os.Mkdir(portsDir, 0o755); err != nil {
		d.t.Fatal(err)
	}
	p := d.spawn("nats-server", bin, "-js", "-sd", filepath.Join(d.dir, "jetstream"), "-a", "127.0.0.1", "-p", "-1", "--ports_file_dir", portsDir)
	var url string
	d.poll("nats-server to listen", 20*time.Second, func() bool {
		if p.exited() {
			d.t.Fatalf("nats-server exited: %v\n%s", p.err, p.out.String())
		}
		data, err := os.ReadFile(filepath.Join(portsDir, fmt.Sprintf("nats-server_%d.ports", p.cmd.Process.Pid)))
		if err != nil {
			return false
		}
		var ports struct{ Nats []string }
		if json.Unmarshal(data, &ports) != nil || len(ports.Nats) == 0 {
			return false
		}
		url = ports.Nats[0]
		return true
	})
	return url
}

// start runs a weft stage with its metrics listener off.
func (d *deployment) start(name string, args ...string) *process {
	return d.spawn(name, d.weft, append([]string{"--log-level", "warn", "--metrics-listen", ""}, args...)...)
}

// startCorrelator runs a member of the group "e2e" and finds its metrics
// listener in its log.
func (d *deployment) startCorrelator(member string) *process {
	p := d.spawn(member, d.weft, "--log-level", "info", "correlate", "--config", d.cfg,
		"--group", "e2e", "--group-ttl", "2s", "--member", member, "--metrics-listen", "127.0.0.1:0")
	d.poll(member+"'s metrics listener", 30*time.Second, func() bool {
		if p.exited() {
			d.t.Fatalf("%s exited: %v\n%s", member, p.err, p.out.String())
		}
		for _, line := range strings.Split(p.out.String(), "\n") {
			var entry struct{ Message, Addr string }
			if json.Unmarshal([]byte(line), &entry) == nil && strings.HasPrefix(entry.Message, "serving /metrics") {
				p.metrics = entry.Addr
				return true
			}
		}
		return false
	})
	return p
}

// collect runs weft collect over one XML file with content and waits for
// it to finish.
func (d *deployment) collect(name, content string) {
	file := filepath.Join(d.dir, strings.NewReplacer(" ", "-", ",", "").Replace(name)+".xml")
	writeFile(d.t, file, content)
	cfg := filepath.Join(d.dir, "collect-"+filepath.Base(file)+".yaml")
	writeFile(d.t, cfg, d.base+"sources:\n  - type: files\n    paths: [\""+file+"\"]\n")
	p := d.start("collector ("+name+")", "collect", "--config", cfg)
	if err := p.wait(60 * time.Second); err != nil {
		d.t.Fatalf("weft collect %s: %v\n%s", name, err, p.out.String())
	}
}

// poll waits, within limit, for cond.
func (d *deployment) poll(what string, limit time.Duration, cond func() bool) {
	d.t.Helper()
	for deadline := time.Now().Add(limit); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) || d.ctx.Err() != nil {
			d.t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// waitOwned waits until the correlators own every partition between them,
// each its fair share.
func (d *deployment) waitOwned(partitions int, correlators ...*process) {
	d.t.Helper()
	d.poll("the partitions shared out", 30*time.Second, func() bool {
		total := 0
		for _, c := range correlators {
			n := sample(c.scrape(), "weft_correlator_owned_partitions")
			if n < float64(partitions/len(correlators)) {
				return false
			}
			total += int(n)
		}
		return total == partitions
	})
}

// pendingOn waits until one of two correlators holds a pending sequence of
// the seed rule and returns it first.
func (d *deployment) pendingOn(a, b *process) (owner, other *process) {
	d.t.Helper()
	d.poll("the network event to be pending on a correlator", 30*time.Second, func() bool {
		pa := sample(a.scrape(), "weft_correlator_pending_sequences"+seedRuleSeries)
		pb := sample(b.scrape(), "weft_correlator_pending_sequences"+seedRuleSeries)
		switch {
		case pa == 1 && pb <= 0:
			owner, other = a, b
		case pb == 1 && pa <= 0:
			owner, other = b, a
		}
		return owner != nil
	})
	return owner, other
}

// waitAlerts waits until the sink has written one alert per host of want,
// then until the whole deployment is quiet — every consumer has handled
// everything, the live correlators hold no document back — and checks
// that the alerts are exactly want, per host.
func (d *deployment) waitAlerts(want map[string]int, correlators ...*process) {
	d.t.Helper()
	total := 0
	for _, n := range want {
		total += n
	}
	d.poll(fmt.Sprintf("%d alerts", total), 45*time.Second, func() bool { return len(d.readAlerts()) >= total })
	d.poll("the deployment to be quiet", 45*time.Second, func() bool {
		if d.quiet(correlators) {
			return true
		}
		d.t.Logf("not quiet: %s", d.busy)
		return false
	})
	got := map[string]int{}
	for _, host := range d.readAlerts() {
		got[host]++
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		d.t.Fatalf("alerts per host %v, want %v", got, want)
	}
}

// readAlerts returns the host of each alert the sink wrote.
func (d *deployment) readAlerts() []string {
	data, err := os.ReadFile(d.alerts)
	if err != nil {
		return nil
	}
	var hosts []string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if line == "" {
			continue
		}
		var a struct {
			Host struct{ Name string } `json:"host"`
		}
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			d.t.Fatalf("alert line %q: %v", line, err)
		}
		hosts = append(hosts, strings.TrimSuffix(a.Host.Name, ".corp.example"))
	}
	return hosts
}

// quiet reports whether nothing can raise or deliver an alert any more:
// the raw and ECS consumers have handled every message, the correlators
// hold no document for reordering, then the sink's consumer has handled
// every alert — checked in that order, so that what one step passes on is
// seen by the next.
func (d *deployment) quiet(correlators []*process) bool {
	idle := func(stream string) bool {
		ctx, cancel := context.WithTimeout(d.ctx, 5*time.Second)
		defer cancel()
		s, err := d.probe.JetStream().Stream(ctx, stream)
		if err != nil {
			return false
		}
		lister := s.ListConsumers(ctx)
		for info := range lister.Info() {
			// Ephemeral consumers (a correlator's replay) are not stages.
			if info.Config.Durable != "" && (info.NumPending > 0 || info.NumAckPending > 0) {
				d.busy = fmt.Sprintf("consumer %s: %d pending, %d unacknowledged", info.Name, info.NumPending, info.NumAckPending)
				return false
			}
		}
		return lister.Err() == nil || errors.Is(lister.Err(), jetstream.ErrEndOfData)
	}
	if !idle(bus.StreamRaw) || !idle(bus.StreamECS) {
		return false
	}
	for _, c := range correlators {
		if n := sample(c.scrape(), "weft_correlator_buffered_documents"); n != 0 {
			d.busy = fmt.Sprintf("%s holds %v documents", c.name, n)
			return false
		}
	}
	return idle(bus.StreamAlerts)
}

// stopAll stops every process still running with SIGTERM, stages before
// the server, and checks that each stops cleanly.
func (d *deployment) stopAll() {
	d.mu.Lock()
	procs := d.procs
	d.mu.Unlock()
	var server *process
	for _, p := range procs {
		if p.name == "nats-server" {
			server = p
			continue
		}
		if p.exited() {
			continue
		}
		p.signal(syscall.SIGTERM)
		if err := p.wait(20 * time.Second); err != nil {
			d.t.Errorf("%s after SIGTERM: %v", p.name, err)
		}
	}
	server.signal(syscall.SIGTERM)
	_ = server.wait(20 * time.Second)
}
