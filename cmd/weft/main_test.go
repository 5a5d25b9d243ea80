package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/weft-dev/weft/bus"
	"github.com/weft-dev/weft/event"
)

const fixtures = "../../testdata/xml"

func TestMain(m *testing.M) {
	log.SetOutput(io.Discard) // as main does: golang-evtx logs every damaged record
	os.Exit(m.Run())
}

// runWeft runs the CLI in-process and returns its exit code and output.
func runWeft(t *testing.T, ctx context.Context, a *app, args ...string) (int, string, string) {
	t.Helper()
	// stderr gets the log, whose repeated lines are summed up by a
	// goroutine of their own (logagg) while the command writes too.
	var stdout bytes.Buffer
	var stderr lockedBuffer
	if a == nil {
		a = &app{}
	}
	a.stdin, a.stdout, a.stderr = strings.NewReader(""), &stdout, &stderr
	if a.getenv == nil {
		// No environment, but for the metrics: each weft run, collect ...
		// of the tests serves them on a port of its own (WEFT_METRICS_LISTEN
		// yields to --metrics-listen), since the default port can be bound
		// once and a port taken stops the command.
		a.getenv = func(name string) string {
			if name == "WEFT_METRICS_LISTEN" {
				return "127.0.0.1:0"
			}
			return ""
		}
	}
	code := a.execute(ctx, append([]string{"--log-level", "warn"}, args...))
	return code, stdout.String(), stderr.String()
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func decodeAlerts(t *testing.T, out string) []map[string]any {
	t.Helper()
	var alerts []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var a map[string]any
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			t.Fatalf("stdout line is not one JSON object: %v\n%s", err, line)
		}
		alerts = append(alerts, a)
	}
	return alerts
}

func field(m map[string]any, path string) any {
	v, _ := event.Document(m).Get(path)
	return v
}

func TestHuntPositive(t *testing.T) {
	t.Parallel()
	code, out, errOut := runWeft(t, testContext(t), nil, "hunt", "--json", filepath.Join(fixtures, "mmc-positive.xml"))
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	alerts := decodeAlerts(t, out)
	if len(alerts) != 1 {
		t.Fatalf("%d alerts, want 1:\n%s", len(alerts), out)
	}
	a := alerts[0]
	events, _ := field(a, "weft.events").([]any)
	if len(events) != 2 {
		t.Fatalf("alert has %d events, want 2", len(events))
	}
	netDoc, _ := events[0].(map[string]any)
	procDoc, _ := events[1].(map[string]any)
	for _, c := range []struct {
		name string
		got  any
		want any
	}{
		{"rule.name", field(a, "rule.name"), "Incoming DCOM Lateral Movement with MMC"},
		{"event.kind", field(a, "event.kind"), "alert"},
		{"host.name", field(a, "host.name"), "WKS-FIN-07.corp.example"},
		// Sysmon's Source* is the local end even for incoming connections,
		// so the remote peer is destination.*.
		{"peer ip", field(netDoc, "destination.ip"), "10.20.30.15"},
		{"peer port", field(netDoc, "destination.port"), float64(50112)},
		{"network.direction", field(netDoc, "network.direction"), "ingress"},
		{"mmc entity id", field(netDoc, "process.entity_id"), field(procDoc, "process.parent.entity_id")},
		{"mmc name", field(netDoc, "process.name"), "mmc.exe"},
		{"child command line", field(procDoc, "process.command_line"), `"C:\Windows\System32\cmd.exe" /c whoami /all > C:\Users\Public\o.txt`},
	} {
		if c.got != c.want {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
	msg, _ := field(a, "message").(string)
	for _, want := range []string{"WKS-FIN-07.corp.example", "10.20.30.15:50112", "whoami"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q does not name %q", msg, want)
		}
	}
	if !strings.Contains(errOut, "1 file, 7 events, 1 alert, 0 errors") {
		t.Errorf("summary missing from stderr:\n%s", errOut)
	}
}

func TestHuntTable(t *testing.T) {
	t.Parallel()
	code, out, errOut := runWeft(t, testContext(t), nil, "hunt", filepath.Join(fixtures, "mmc-positive.xml"))
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("table has %d lines, want a header and one alert:\n%s", len(lines), out)
	}
	for _, want := range []string{"WKS-FIN-07.corp.example", "10.20.30.15:50112", "mmc.exe", "{3f1c9a52-6b2e-6739-e802-000000001a00}", "whoami /all"} {
		if !strings.Contains(lines[1], want) {
			t.Errorf("alert row does not show %q:\n%s", want, lines[1])
		}
	}
}

func TestHuntNegatives(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join(fixtures, "negative", "*.xml"))
	if err != nil || len(files) < 8 {
		t.Fatalf("negative fixtures: %v (%d files)", err, len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runWeft(t, testContext(t), nil, "hunt", "--json", f)
			if code != 0 {
				t.Fatalf("exit %d, stderr:\n%s", code, errOut)
			}
			if strings.TrimSpace(out) != "" {
				t.Errorf("alerts for a negative fixture:\n%s", out)
			}
			if !strings.Contains(errOut, "0 alerts, 0 errors") {
				t.Errorf("summary: %s", errOut)
			}
		})
	}
}

// TestHuntCrossesNATS watches the bus during a hunt: the documents and the
// alert travel as msgpack batches on weft.ecs.* and weft.alerts.*.
func TestHuntCrossesNATS(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	subjects := map[string]int{}
	var docs event.DocumentBatch
	var alerts event.AlertBatch
	a := &app{busReady: func(b *bus.Bus) {
		for _, subj := range []string{"weft.ecs.>", "weft.alerts.>"} {
			_, err := b.Conn().Subscribe(subj, func(m *nats.Msg) {
				mu.Lock()
				defer mu.Unlock()
				subjects[m.Subject]++
				if strings.HasPrefix(m.Subject, "weft.ecs.") {
					var batch event.DocumentBatch
					if err := bus.Decode(m.Data, &batch); err != nil {
						t.Errorf("ecs message: %v", err)
					}
					docs = append(docs, batch...)
					return
				}
				var batch event.AlertBatch
				if err := bus.Decode(m.Data, &batch); err != nil {
					t.Errorf("alert message: %v", err)
				}
				alerts = append(alerts, batch...)
			})
			if err != nil {
				t.Errorf("subscribe %s: %v", subj, err)
			}
		}
		if err := b.Conn().Flush(); err != nil {
			t.Error(err)
		}
	}}
	code, out, errOut := runWeft(t, testContext(t), a, "hunt", "--json", filepath.Join(fixtures, "mmc-positive.xml"))
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(docs) != 7 {
		t.Errorf("saw %d ECS documents on weft.ecs.>, want 7 (subjects %v)", len(docs), subjects)
	}
	if subjects["weft.ecs.wks-fin-07_corp_example"] == 0 {
		t.Errorf("no message on the host's ECS subject; subjects %v", subjects)
	}
	if len(alerts) != 1 {
		t.Fatalf("saw %d alerts on weft.alerts.>, want 1", len(alerts))
	}
	if got := decodeAlerts(t, out); len(got) != 1 || field(got[0], "event.id") != alerts[0].Event.ID {
		t.Errorf("printed alert is not the one on the bus: %s", out)
	}
}

func TestHuntBadInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	notLog := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notLog, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	positive := filepath.Join(fixtures, "mmc-positive.xml")
	for _, tc := range []struct {
		name    string
		args    []string
		code    int
		stderr  string
		nAlerts int
	}{
		{"missing file only", []string{"hunt", filepath.Join(dir, "nope.evtx")}, exitFailure, "no readable", 0},
		{"not a log only", []string{"hunt", notLog}, exitFailure, "no readable", 0},
		{"bad beside good", []string{"hunt", "--json", filepath.Join(dir, "nope.evtx"), positive}, exitOK, "1 alert, 1 error", 1},
		{"strict", []string{"hunt", "--json", "--strict", filepath.Join(dir, "nope.evtx"), positive}, exitStrict, "--strict", 1},
		{"malformed xml", []string{"hunt", "--json", filepath.Join(fixtures, "malformed.xml")}, exitOK, "1 error", 0},
		{"no args", []string{"hunt"}, exitUsage, "requires at least 1 arg", 0},
		{"bad flag", []string{"hunt", "--nope", positive}, exitUsage, "unknown flag", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runWeft(t, testContext(t), nil, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, errOut)
			}
			if !strings.Contains(errOut, tc.stderr) {
				t.Errorf("stderr does not say %q:\n%s", tc.stderr, errOut)
			}
			if tc.code != exitFailure && tc.code != exitUsage {
				if n := len(decodeAlerts(t, out)); n != tc.nAlerts {
					t.Errorf("%d alerts, want %d", n, tc.nAlerts)
				}
			}
		})
	}
}

func TestDump(t *testing.T) {
	t.Parallel()
	code, out, errOut := runWeft(t, testContext(t), nil, "dump", filepath.Join(fixtures, "mmc-positive.xml"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 7 {
		t.Fatalf("%d events, want 7", len(lines))
	}
	var r event.Raw
	if err := json.Unmarshal([]byte(lines[0]), &r); err != nil {
		t.Fatal(err)
	}
	if r.Computer == "" || r.Provider != "Microsoft-Windows-Sysmon" || len(r.Data) == 0 || r.Origin.Kind != event.SourceXML {
		t.Errorf("first event incomplete: %+v", r)
	}
	code, out, _ = runWeft(t, testContext(t), nil, "dump", "--errors", filepath.Join(fixtures, "malformed.xml"))
	if code != 0 || !strings.Contains(out, "malformed.xml:") {
		t.Errorf("dump --errors: exit %d, output %q", code, out)
	}
}

// TestHuntCorpus runs hunt over Sysmon logs recorded during real attacks:
// it must reach the end and print its summary, whatever the files hold.
func TestHuntCorpus(t *testing.T) {
	t.Parallel()
	dir := "../../../shared/corpus/evtx-attack/Lateral Movement"
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("corpus not present (%v): it lives in ../shared beside the clone", err)
	}
	code, out, errOut := runWeft(t, testContext(t), nil, "hunt", "--json", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(errOut, "weft hunt: ") {
		t.Errorf("no summary: %s", errOut)
	}
	decodeAlerts(t, out)
}

// TestRunWebhook runs the service with a config that reads the positive
// fixture and posts alerts to a real HTTP listener on loopback.
func TestRunWebhook(t *testing.T) {
	t.Parallel()
	got := make(chan []byte, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get("Idempotency-Key") == "" || !strings.HasPrefix(r.Header.Get("User-Agent"), "weft/") {
			t.Errorf("headers: %v", r.Header)
		}
		got <- body
	}))
	defer srv.Close()
	positive, err := filepath.Abs(filepath.Join(fixtures, "mmc-positive.xml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "weft.yaml")
	writeFile(t, cfg, `
sources:
  - type: files
    paths: ["`+positive+`"]
correlator:
  lateness: 2s
sinks:
  - type: webhook
    url: `+srv.URL+`/alerts
`)
	ctx, cancel := context.WithCancel(testContext(t))
	defer cancel()
	done := make(chan int, 1)
	var errOut string
	go func() {
		code, _, e := runWeft(t, ctx, nil, "run", "--config", cfg)
		errOut = e
		done <- code
	}()
	var body []byte
	select {
	case body = <-got:
	case code := <-done:
		t.Fatalf("weft run exited %d before delivering: %s", code, errOut)
	case <-time.After(45 * time.Second):
		t.Fatal("no alert delivered to the webhook")
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("weft run exited %d after SIGINT-like cancel: %s", code, errOut)
	}
	var a map[string]any
	if err := json.Unmarshal(body, &a); err != nil {
		t.Fatalf("webhook body is not JSON: %v", err)
	}
	if field(a, "rule.name") != "Incoming DCOM Lateral Movement with MMC" || field(a, "host.name") != "WKS-FIN-07.corp.example" {
		t.Errorf("unexpected alert: %s", body)
	}
	select {
	case extra := <-got:
		t.Errorf("a second alert was delivered: %s", extra)
	default:
	}
}

func TestRunConfigErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct{ name, yaml, want string }{
		{"unknown key", "sinks: []\ncorelator: {}\n", "corelator"},
		{"unknown sink type", "sinks:\n  - type: pager\n", `unknown type "pager"`},
		{"unknown sink key", "sinks:\n  - type: webhook\n    url: http://127.0.0.1:1/\n    retries: 3\n", "retries"},
		{"bad source", "sources:\n  - type: tape\n", `sources[0].type: unknown type "tape"`},
		{"duplicate sink", "sinks:\n  - type: jsonl\n  - type: jsonl\n", "give each sink a distinct name"},
		{"missing rules path", "rules:\n  paths: [/no/such/rules]\n", "/no/such/rules"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".yaml")
			writeFile(t, path, tc.yaml)
			code, _, errOut := runWeft(t, testContext(t), nil, "run", "--config", path)
			if code != exitFailure || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit 1 naming %q", code, errOut, tc.want)
			}
		})
	}
	code, _, errOut := runWeft(t, testContext(t), nil, "run")
	if code != exitUsage || !strings.Contains(errOut, "--config") {
		t.Errorf("run without --config: exit %d, %s", code, errOut)
	}
}

func TestVersionAndEnv(t *testing.T) {
	t.Parallel()
	code, out, _ := runWeft(t, testContext(t), nil, "version")
	if code != 0 || !strings.HasPrefix(out, "weft ") {
		t.Errorf("version: exit %d, %q", code, out)
	}
	a := &app{getenv: func(k string) string {
		if k == "WEFT_LOG_FORMAT" {
			return "yaml"
		}
		return ""
	}}
	code, _, errOut := runWeft(t, testContext(t), a, "version")
	if code != exitUsage || !strings.Contains(errOut, "--log-format") {
		t.Errorf("WEFT_LOG_FORMAT=yaml: exit %d, %s", code, errOut)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// lockedBuffer is the process's output, written by exec's copier while
// the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
