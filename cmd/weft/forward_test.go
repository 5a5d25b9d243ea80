package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	lumber "github.com/elastic/go-lumber/client/v2"
	"github.com/rs/zerolog"

	"github.com/weft-dev/weft/bus"
	"github.com/weft-dev/weft/collector/listen/listentest"
	"github.com/weft-dev/weft/collector/winlog"
)

const forwardedJSONFixtures = "../../collector/jsonevent/testdata/winlogbeat"

// forwarded is the MMC sequence as a sender sends it: the negatives first,
// each on hosts of its own so that they cannot combine with one another or
// with the positive, then the positive. Each is one document (XML) or a
// list of lines (NDJSON).
func forwarded(t *testing.T, asJSON bool) []string {
	t.Helper()
	dir, ext := fixtures, ".xml"
	if asJSON {
		dir, ext = forwardedJSONFixtures, ".ndjson"
	}
	negatives, err := filepath.Glob(filepath.Join(dir, "negative", "*"+ext))
	if err != nil || len(negatives) < 8 {
		t.Fatalf("negative fixtures in %s: %v (%d)", dir, err, len(negatives))
	}
	var out []string
	for i, f := range append(negatives, filepath.Join(dir, "mmc-positive"+ext)) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		doc := string(data)
		if i < len(negatives) {
			doc = strings.ReplaceAll(doc, "WKS-FIN-0", fmt.Sprintf("NEG%d-FIN-0", i))
		}
		out = append(out, doc)
	}
	return out
}

// alertReceiver is the webhook sink's destination.
func alertReceiver(t *testing.T) (*httptest.Server, chan map[string]any) {
	t.Helper()
	got := make(chan map[string]any, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var a map[string]any
		if err := json.NewDecoder(r.Body).Decode(&a); err != nil {
			t.Errorf("webhook body: %v", err)
		}
		got <- a
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

// startRun runs weft run in-process until the returned stop is called,
// which returns its exit code and stderr.
func startRun(t *testing.T, config string, args ...string) (stop func() (int, string)) {
	t.Helper()
	ctx, cancel := context.WithCancel(testContext(t))
	type result struct {
		code   int
		stderr string
	}
	done := make(chan result, 1)
	go func() {
		code, _, errOut := runWeft(t, ctx, nil, append([]string{"run", "--config", config}, args...)...)
		done <- result{code, errOut}
	}()
	var once *result
	return func() (int, string) {
		if once == nil {
			cancel()
			r := <-done
			once = &r
		}
		return once.code, once.stderr
	}
}

// retry calls send until it works or 30 s pass: weft binds its listener
// soon after it starts.
func retry(t *testing.T, what string, send func() error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := send()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func dialer(tlsConf *tls.Config) func(network, addr string) (net.Conn, error) {
	if tlsConf == nil {
		return net.Dial
	}
	return func(network, addr string) (net.Conn, error) { return tls.Dial(network, addr, tlsConf) }
}

// send delivers docs to a weft source of kind the way its senders do,
// and checks that each is acknowledged where the protocol has a way to.
func send(t *testing.T, kind, addr string, tlsConf *tls.Config, token string, docs []string) {
	t.Helper()
	switch kind {
	case "tcp":
		var c net.Conn
		retry(t, "connect", func() (err error) {
			c, err = dialer(tlsConf)("tcp", addr)
			return err
		})
		for _, d := range docs {
			if _, err := c.Write([]byte(d)); err != nil {
				t.Fatalf("write: %v", err)
			}
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	case "http":
		scheme := "http://"
		if tlsConf != nil {
			scheme = "https://"
		}
		client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsConf}}
		for _, d := range docs {
			retry(t, "POST", func() error {
				req, err := http.NewRequest(http.MethodPost, scheme+addr+"/v1/events", strings.NewReader(d))
				if err != nil {
					return err
				}
				req.Header.Set("Authorization", "Bearer "+token)
				res, err := client.Do(req)
				if err != nil {
					return err
				}
				defer res.Body.Close()
				body, _ := io.ReadAll(res.Body)
				if res.StatusCode != http.StatusOK {
					t.Fatalf("answered %d: %s", res.StatusCode, body)
				}
				return nil
			})
		}
	case "beats":
		var c *lumber.SyncClient
		retry(t, "connect", func() (err error) {
			c, err = lumber.SyncDialWith(dialer(tlsConf), addr, lumber.CompressionLevel(3), lumber.Timeout(30*time.Second))
			return err
		})
		defer c.Close()
		for _, d := range docs {
			var window []any
			for _, line := range strings.Split(strings.TrimSpace(d), "\n") {
				window = append(window, json.RawMessage(line))
			}
			if n, err := c.Send(window); err != nil || n != len(window) {
				t.Fatalf("Beats window: %d of %d acknowledged, %v", n, len(window), err)
			}
		}
	}
}

// TestRunForwarded sends the MMC sequence to weft run through each way
// in, with and without TLS, from real clients on loopback: the positive
// raises one alert at the webhook, the negatives none.
func TestRunForwarded(t *testing.T) {
	t.Parallel()
	pki := listentest.NewPKI(t)
	tokenFile := filepath.Join(t.TempDir(), "token")
	writeFile(t, tokenFile, "s3cret-token\n")
	for _, tc := range []struct {
		name, kind string
		tls, json  bool
	}{
		{"tcp xml", "tcp", false, false},
		{"tcp tls ndjson", "tcp", true, true},
		{"http xml", "http", false, false},
		{"http tls ndjson", "http", true, true},
		{"beats", "beats", false, true},
		{"beats tls", "beats", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			hook, alerts := alertReceiver(t)
			addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
			var source strings.Builder
			fmt.Fprintf(&source, "  - type: %s\n    listen: %s\n", tc.kind, addr)
			var clientTLS *tls.Config
			if tc.tls {
				fmt.Fprintf(&source, "    tls: {cert_file: %q, key_file: %q, client_ca_file: %q}\n", pki.ServerCert, pki.ServerKey, pki.CAFile)
				clientTLS = pki.ClientTLS(t, true)
			}
			if tc.kind == "http" {
				fmt.Fprintf(&source, "    token_file: %q\n", tokenFile)
			}
			config := filepath.Join(t.TempDir(), "weft.yaml")
			writeFile(t, config, "sources:\n"+source.String()+`correlator:
  lateness: 2s
sinks:
  - type: webhook
    url: `+hook.URL+`/alerts
`)
			stop := startRun(t, config)
			send(t, tc.kind, addr, clientTLS, "s3cret-token", forwarded(t, tc.json))
			var first map[string]any
			select {
			case first = <-alerts:
			case <-time.After(45 * time.Second):
				code, errOut := stop()
				t.Fatalf("no alert at the webhook; weft run exited %d:\n%s", code, errOut)
			}
			// Stopping drains: every negative is evaluated, and any
			// alert it raised delivered, before weft exits.
			if code, errOut := stop(); code != 0 {
				t.Fatalf("weft run exited %d:\n%s", code, errOut)
			}
			if field(first, "rule.name") != "Incoming DCOM Lateral Movement with MMC" || field(first, "host.name") != "WKS-FIN-07.corp.example" {
				t.Errorf("alert for %v by %v", field(first, "host.name"), field(first, "rule.name"))
			}
			close(alerts)
			for extra := range alerts {
				t.Errorf("another alert, for host %v", field(extra, "host.name"))
			}
		})
	}
}

// TestRunForwardedRestart stops weft right after the sender was
// acknowledged and starts it again on the same data dir: the acknowledged
// events are on the bus, and the alert reaches the webhook sink that only
// the second run has.
func TestRunForwardedRestart(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	source := "sources:\n  - type: http\n    listen: " + addr + "\ncorrelator:\n  lateness: 2s\n"
	first := filepath.Join(t.TempDir(), "first.yaml")
	writeFile(t, first, source)

	stop := startRun(t, first, "--data-dir", dataDir)
	positive, err := os.ReadFile(filepath.Join(fixtures, "mmc-positive.xml"))
	if err != nil {
		t.Fatal(err)
	}
	send(t, "http", addr, nil, "", []string{string(positive)})
	if code, errOut := stop(); code != 0 {
		t.Fatalf("first run exited %d:\n%s", code, errOut)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := bus.Open(ctx, bus.Config{DataDir: dataDir}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	stored := listentest.Records(listentest.Stored(t, b))
	b.Close()
	if want := "[48211 48212 48213 48214 48215 48216 48217]"; fmt.Sprint(stored) != want {
		t.Fatalf("after the stop the raw stream holds %v, want %s", stored, want)
	}

	hook, alerts := alertReceiver(t)
	second := filepath.Join(t.TempDir(), "second.yaml")
	writeFile(t, second, source+"sinks:\n  - type: webhook\n    url: "+hook.URL+"/alerts\n")
	stop = startRun(t, second, "--data-dir", dataDir)
	select {
	case a := <-alerts:
		if field(a, "host.name") != "WKS-FIN-07.corp.example" {
			t.Errorf("alert for %v", field(a, "host.name"))
		}
	case <-time.After(45 * time.Second):
		code, errOut := stop()
		t.Fatalf("no alert after the restart; weft run exited %d:\n%s", code, errOut)
	}
	if code, errOut := stop(); code != 0 {
		t.Fatalf("second run exited %d:\n%s", code, errOut)
	}
	close(alerts)
	for extra := range alerts {
		t.Errorf("a second alert: %v", extra)
	}
}

func TestRunLiveConfigErrors(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { busy.Close() }) // after the parallel subtests
	dir := t.TempDir()
	cases := []struct{ name, yaml, want string }{
		{"tcp without listen", "sources:\n  - type: tcp\n", "sources[0].listen: is required for a tcp source"},
		{"token on tcp", "sources:\n  - type: tcp\n    listen: 5140\n    token: x\n", "for http sources, not tcp"},
		{"paths on http", "sources:\n  - type: http\n    listen: 8080\n    paths: [a]\n", "sources[0].paths: is for files sources, not http"},
		{"listen on files", "sources:\n  - type: files\n    paths: [a]\n    listen: 5140\n", "for tcp, http and beats sources, not files"},
		{"channels on beats", "sources:\n  - type: beats\n    channels: [Security]\n", "for winlog sources, not beats"},
		{"bad start_at", "sources:\n  - type: winlog\n    start_at: never\n", `sources[0].start_at: "never": want oldest or now`},
		{"unknown key", "sources:\n  - type: tcp\n    listen: 5140\n    lisen: 5141\n", "lisen"},
		{"port in use", "sources:\n  - type: tcp\n    listen: " + busy.Addr().String() + "\n", "address already in use"},
		{"missing certificate", "sources:\n  - type: beats\n    listen: 127.0.0.1:0\n    tls: {cert_file: " + filepath.Join(dir, "nope.pem") + ", key_file: k.pem}\n", "nope.pem"},
	}
	if winlog.Available() != nil {
		cases = append(cases, struct{ name, yaml, want string }{"winlog here", "sources:\n  - type: winlog\n", "need Windows"})
	}
	for _, tc := range cases {
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
	code, out, _ := runWeft(t, testContext(t), nil, "run", "--help")
	for _, want := range []string{`"tcp"`, `"http"`, `"beats"`, `"winlog"`, "client_ca_file", "Retry-After"} {
		if code != 0 || !bytes.Contains([]byte(out), []byte(want)) {
			t.Errorf("weft run --help does not mention %s", want)
		}
	}
}
