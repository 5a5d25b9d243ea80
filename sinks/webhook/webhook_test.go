package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/weft-dev/weft/event"
	"github.com/weft-dev/weft/internal/tlstest"
	"github.com/weft-dev/weft/sinks"
	"github.com/weft-dev/weft/sinks/internal/alerttest"
)

type request struct {
	method, path string
	header       http.Header
	body         []byte
}

// recorder is a webhook receiver that answers with codes in turn (the
// last repeating) and keeps what it received.
type recorder struct {
	mu    sync.Mutex
	reqs  []request
	codes []int
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec.mu.Lock()
	rec.reqs = append(rec.reqs, request{r.Method, r.URL.Path, r.Header.Clone(), body})
	code := rec.codes[min(len(rec.reqs), len(rec.codes))-1]
	rec.mu.Unlock()
	w.WriteHeader(code)
	if code >= 300 {
		_, _ = io.WriteString(w, "receiver says no: quota exceeded")
	}
}

func (rec *recorder) requests() []request {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]request(nil), rec.reqs...)
}

func newServer(t *testing.T, codes ...int) (*httptest.Server, *recorder) {
	rec := &recorder{codes: codes}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	return srv, rec
}

func fastConfig(cfg Config) Config {
	cfg.Backoff = time.Millisecond
	cfg.MaxBackoff = 2 * time.Millisecond
	return cfg
}

func mustNew(t *testing.T, cfg Config) *sink {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s.(*sink)
}

// checkSignature verifies a request's signature the way a receiver
// would, independently of Signature.
func checkSignature(t *testing.T, key string, r request) {
	t.Helper()
	ts := r.header.Get("X-Weft-Timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		t.Fatalf("X-Weft-Timestamp %q: %v", ts, err)
	}
	if d := time.Since(time.Unix(sec, 0)); d < -2*time.Second || d > 10*time.Second {
		t.Fatalf("X-Weft-Timestamp %s is %s away from now", ts, d)
	}
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(ts + "."))
	m.Write(r.body)
	want := "sha256=" + hex.EncodeToString(m.Sum(nil))
	if got := r.header.Get("X-Weft-Signature"); !hmac.Equal([]byte(got), []byte(want)) {
		t.Fatalf("X-Weft-Signature = %q, want %q", got, want)
	}
}

func TestSend(t *testing.T) {
	t.Parallel()
	srv, rec := newServer(t, http.StatusAccepted)
	s := mustNew(t, Config{
		URL:     srv.URL + "/hooks/weft",
		Secret:  "hmac-key",
		Headers: map[string]string{"X-Source": "weft", "x-tenant": "blue"},
		Version: "1.2.3",
	})
	a := alerttest.Seed(`cmd.exe /c "echo <b> & whoami"`)
	if err := s.Send(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	reqs := rec.requests()
	if len(reqs) != 1 {
		t.Fatalf("got %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	want, _ := json.Marshal(a)
	if !bytes.Equal(r.body, want) {
		t.Errorf("body = %s\nwant %s", r.body, want)
	}
	var back event.Alert
	if err := json.Unmarshal(r.body, &back); err != nil || back.Event.ID != a.Event.ID || len(back.Weft.Events) != 2 {
		t.Errorf("body does not decode to the alert: %v", err)
	}
	for name, want := range map[string]string{
		"Content-Type":    "application/json",
		"User-Agent":      "weft/1.2.3",
		"Idempotency-Key": a.Event.ID,
		"X-Source":        "weft",
		"X-Tenant":        "blue",
	} {
		if got := r.header.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if r.method != http.MethodPost || r.path != "/hooks/weft" {
		t.Errorf("request %s %s", r.method, r.path)
	}
	checkSignature(t, "hmac-key", r)
}

func TestSendUnsigned(t *testing.T) {
	t.Parallel()
	srv, rec := newServer(t, http.StatusOK)
	s := mustNew(t, Config{URL: srv.URL})
	a := alerttest.Seed("cmd.exe")
	a.Event.ID = ""
	if err := s.Send(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	r := rec.requests()[0]
	if r.header.Get("X-Weft-Signature") != "" || r.header.Get("X-Weft-Timestamp") != "" {
		t.Error("signature headers sent without a secret")
	}
	if got, want := r.header.Get("Idempotency-Key"), event.AlertID(a.Rule.ID, a.Weft.Events); got != want {
		t.Errorf("Idempotency-Key = %q, want the derived id %q", got, want)
	}
	if got := r.header.Get("User-Agent"); got != "weft/dev" {
		t.Errorf("User-Agent = %q", got)
	}
}

func TestSendRetries(t *testing.T) {
	t.Parallel()
	srv, rec := newServer(t, 500, 503, 200)
	s := mustNew(t, fastConfig(Config{URL: srv.URL, Secret: "k"}))
	a := alerttest.Seed("cmd.exe")
	if err := s.Send(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	reqs := rec.requests()
	if len(reqs) != 3 {
		t.Fatalf("got %d requests, want 3", len(reqs))
	}
	for _, r := range reqs {
		if r.header.Get("Idempotency-Key") != a.Event.ID {
			t.Errorf("retry changed the Idempotency-Key to %q", r.header.Get("Idempotency-Key"))
		}
		checkSignature(t, "k", r)
	}
}

func TestSendErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		codes   []int
		calls   int
		wantErr []string
	}{
		{name: "4xx", codes: []int{422}, calls: 1, wantErr: []string{"status 422", "quota exceeded", "attempt 1"}},
		{name: "5xx exhausts attempts", codes: []int{500}, calls: 3, wantErr: []string{"status 500", "attempt 3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, rec := newServer(t, tt.codes...)
			s := mustNew(t, fastConfig(Config{URL: srv.URL + "/secret-path?token=SECRET"}))
			a := alerttest.Seed("cmd.exe")
			err := s.Send(context.Background(), a)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range append(tt.wantErr, "webhook: alert "+a.Event.ID) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "SECRET") || strings.Contains(err.Error(), "secret-path") {
				t.Errorf("error reveals the URL: %v", err)
			}
			if n := len(rec.requests()); n != tt.calls {
				t.Errorf("got %d requests, want %d", n, tt.calls)
			}
		})
	}
}

func TestSendTLS(t *testing.T) {
	t.Parallel()
	rec := &recorder{codes: []int{200}}
	srv := httptest.NewUnstartedServer(rec)
	// Handshakes the client refuses (untrusted CA) are expected here.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	tests := []struct {
		name    string
		caFile  string
		wantErr bool
	}{
		{name: "server CA trusted", caFile: tlstest.ServerCA(t, srv)},
		{name: "other CA", caFile: tlstest.OtherCA(t), wantErr: true},
		{name: "system roots", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := mustNew(t, Config{URL: srv.URL, HTTPOptions: sinks.HTTPOptions{CAFile: tt.caFile, Attempts: 1}})
			err := s.Send(context.Background(), alerttest.Seed("cmd.exe"))
			if !tt.wantErr {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "certificate") {
				t.Fatalf("err = %v, want a certificate error", err)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{name: "no url", cfg: Config{}, wantErr: "webhook: url: is required"},
		{name: "ftp", cfg: Config{URL: "ftp://example.com/x"}, wantErr: `webhook: url: scheme "ftp" is not http or https`},
		{name: "relative", cfg: Config{URL: "/hooks/x"}, wantErr: `url: scheme "" is not http or https`},
		{name: "no host", cfg: Config{URL: "https:///x"}, wantErr: "url: has no host"},
		{name: "unparsable", cfg: Config{URL: "https://exa mple.com/SECRET"}, wantErr: "url: is not a valid URL"},
		{name: "two url sources", cfg: Config{URL: "https://a.example", URLFile: "/x"}, wantErr: "url_file: url is set too: give only one of url, url_env and url_file"},
		{name: "two secret sources", cfg: Config{URL: "https://a.example", Secret: "k", SecretEnv: "K"}, wantErr: "secret_env: secret is set too: give only one of secret, secret_env and secret_file"},
		{name: "reserved header", cfg: Config{URL: "https://a.example", Headers: map[string]string{"idempotency-key": "x"}}, wantErr: "headers.idempotency-key: header Idempotency-Key is set by weft"},
		{name: "bad header name", cfg: Config{URL: "https://a.example", Headers: map[string]string{"X Bad": "x"}}, wantErr: `"X Bad" is not a valid header name`},
		{name: "header injection", cfg: Config{URL: "https://a.example", Headers: map[string]string{"X-A": "a\r\nX-B: b"}}, wantErr: "line break"},
		{name: "header env unset", cfg: Config{URL: "https://a.example", HeadersEnv: map[string]string{"Authorization": "WEFT_TEST_UNSET_AUTH"}}, wantErr: "headers_env.Authorization: environment variable WEFT_TEST_UNSET_AUTH"},
		{name: "negative attempts", cfg: Config{URL: "https://a.example", HTTPOptions: sinks.HTTPOptions{Attempts: -1}}, wantErr: "must not be negative"},
		{name: "missing CA", cfg: Config{URL: "https://a.example", HTTPOptions: sinks.HTTPOptions{CAFile: "/nonexistent/ca.pem"}}, wantErr: "webhook: ca_file:"},
		{name: "every problem at once", cfg: Config{URLEnv: "WEFT_TEST_UNSET_URL", SecretFile: "/nonexistent/secret", HTTPOptions: sinks.HTTPOptions{Attempts: -1}},
			wantErr: "webhook: url_env: environment variable WEFT_TEST_UNSET_URL is not set or empty\nsecret_file: open /nonexistent/secret: no such file or directory\nattempts: must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "SECRET") {
				t.Fatalf("error reveals the URL: %v", err)
			}
		})
	}
}

func TestSampleConfig(t *testing.T) {
	// Not parallel: sets environment variables.
	srv, rec := newServer(t, 200)
	t.Setenv("WEFT_WEBHOOK_URL", srv.URL)
	t.Setenv("WEFT_WEBHOOK_SECRET", "sample-key")
	t.Setenv("WEFT_WEBHOOK_AUTH", "Bearer sample-token")
	var cfg Config
	dec := yaml.NewDecoder(strings.NewReader(SampleConfig))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		t.Fatalf("sample.yaml: %v", err)
	}
	if cfg.Timeout != 10*time.Second || cfg.Attempts != 3 || cfg.Backoff != 500*time.Millisecond {
		t.Fatalf("sample.yaml decoded to %+v", cfg)
	}
	s := mustNew(t, cfg)
	if err := s.Send(context.Background(), alerttest.Seed("cmd.exe")); err != nil {
		t.Fatal(err)
	}
	r := rec.requests()[0]
	if r.header.Get("Authorization") != "Bearer sample-token" || r.header.Get("X-Source") != "weft" {
		t.Errorf("headers from sample not sent: %v", r.header)
	}
	checkSignature(t, "sample-key", r)
}

func TestSignature(t *testing.T) {
	t.Parallel()
	// Reference value: printf '1700000000.{}' | openssl dgst -sha256 -hmac key
	const want = "sha256=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae"
	if got := Signature([]byte("key"), 1700000000, []byte("{}")); got != want {
		t.Fatalf("Signature = %s, want %s", got, want)
	}
}

// The body is the alert JSON whatever the events hold: control characters
// and invalid UTF-8 are escaped or replaced by encoding/json, and a
// megabyte of command line is sent whole.
func TestSendHostileFields(t *testing.T) {
	t.Parallel()
	srv, rec := newServer(t, http.StatusOK)
	s := mustNew(t, Config{URL: srv.URL, Secret: "k"})
	cmd := "cmd.exe /c \x00\x1b\r\n\xff " + strings.Repeat("B", 1<<20)
	a := alerttest.Seed(cmd)
	a.Event.ID = "id\r\nX-Injected: 1"
	if err := s.Send(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	r := rec.requests()[0]
	var back event.Alert
	if err := json.Unmarshal(r.body, &back); err != nil {
		t.Fatalf("body is not JSON: %v", err)
	}
	if got := back.Weft.Events[1].String("process.command_line"); got != strings.ToValidUTF8(cmd, "\uFFFD") {
		t.Errorf("command line of %d bytes came back as %d bytes", len(cmd), len(got))
	}
	if key := r.header.Get("Idempotency-Key"); key != event.AlertID(a.Rule.ID, a.Weft.Events) {
		t.Errorf("Idempotency-Key %q: an id unfit for a header must be replaced by the derived one", key)
	}
	if r.header.Get("X-Injected") != "" {
		t.Error("header injected through the alert id")
	}
	checkSignature(t, "k", r)
}

// A server whose certificate names another host is refused even with the
// right CA: verification is never skipped.
func TestSendWrongNameCertificate(t *testing.T) {
	t.Parallel()
	ca := tlstest.NewCA(t)
	rec := &recorder{codes: []int{200}}
	srv := httptest.NewUnstartedServer(rec)
	srv.TLS = ca.ServerConfig(t, "hooks.example")
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	s := mustNew(t, Config{URL: srv.URL + "/SECRET", HTTPOptions: sinks.HTTPOptions{CAFile: ca.File, Attempts: 1}})
	err := s.Send(context.Background(), alerttest.Seed("cmd.exe"))
	if err == nil || !strings.Contains(err.Error(), "x509: cannot validate certificate for 127.0.0.1") || strings.Contains(err.Error(), "SECRET") {
		t.Fatalf("err = %v, want a certificate name error without the path", err)
	}
	if n := len(rec.requests()); n != 0 {
		t.Fatalf("%d requests reached a server with the wrong name", n)
	}
}
