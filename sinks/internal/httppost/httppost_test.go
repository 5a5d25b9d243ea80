package httppost

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weft-dev/weft/sinks"
)

func fast(o sinks.HTTPOptions) sinks.HTTPOptions {
	if o.Backoff == 0 {
		o.Backoff = time.Millisecond
	}
	o.MaxBackoff = 5 * time.Millisecond
	return o
}

// server answers request n (from 1) with answers[n-1], the last answer
// repeating.
func server(t *testing.T, answers ...func(http.ResponseWriter)) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		i := int(n.Add(1)) - 1
		answers[min(i, len(answers)-1)](w)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func status(code int, body string, header ...string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(code)
		_, _ = io.WriteString(w, body)
	}
}

func TestPost(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		opts     sinks.HTTPOptions
		answers  []func(http.ResponseWriter)
		calls    int32
		wantErr  []string
		minTime  time.Duration
		maxTime  time.Duration
		wantCode int
	}{
		{name: "ok", answers: []func(http.ResponseWriter){status(200, "ok")}, calls: 1},
		{name: "500 then 204", answers: []func(http.ResponseWriter){status(500, "boom"), status(204, "")}, calls: 2},
		{name: "502 503 then 200", answers: []func(http.ResponseWriter){status(502, ""), status(503, ""), status(200, "")}, calls: 3},
		{
			name:    "gives up after attempts",
			opts:    sinks.HTTPOptions{Attempts: 2},
			answers: []func(http.ResponseWriter){status(500, "internal\n\n  failure\x01 here")},
			calls:   2, wantCode: 500,
			wantErr: []string{"attempt 2", "status 500 Internal Server Error", `"internal failure here"`},
		},
		{
			name:    "4xx is not retried",
			answers: []func(http.ResponseWriter){status(400, "invalid_payload")},
			calls:   1, wantCode: 400,
			wantErr: []string{"attempt 1", "status 400", "invalid_payload"},
		},
		{
			name:    "408 is retried",
			answers: []func(http.ResponseWriter){status(408, ""), status(200, "")},
			calls:   2,
		},
		{
			name:    "429 honours a short Retry-After",
			opts:    sinks.HTTPOptions{MaxRetryAfter: 2 * time.Second},
			answers: []func(http.ResponseWriter){status(429, "slow down", "Retry-After", "1"), status(200, "")},
			calls:   2, minTime: time.Second,
		},
		{
			name:    "503 with a long Retry-After fails at once",
			opts:    sinks.HTTPOptions{MaxRetryAfter: time.Second},
			answers: []func(http.ResponseWriter){status(503, "", "Retry-After", "120"), status(200, "")},
			calls:   1, wantCode: 503, maxTime: 500 * time.Millisecond,
			wantErr: []string{"retry-after 2m0s exceeds max_retry_after 1s"},
		},
		{
			name:    "redirect is not followed",
			answers: []func(http.ResponseWriter){status(302, "", "Location", "https://elsewhere.example/steal?token=1")},
			calls:   1, wantCode: 302,
			wantErr: []string{"status 302", "redirect to https://elsewhere.example not followed"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, n := server(t, tt.answers...)
			c, err := New(fast(tt.opts))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			start := time.Now()
			err = c.Post(context.Background(), srv.URL+"/hook/SECRET", []byte(`{}`), func(http.Header) {})
			took := time.Since(start)
			if got := n.Load(); got != tt.calls {
				t.Errorf("server saw %d requests, want %d", got, tt.calls)
			}
			if tt.minTime > 0 && took < tt.minTime {
				t.Errorf("returned after %s, want at least %s", took, tt.minTime)
			}
			if tt.maxTime > 0 && took > tt.maxTime {
				t.Errorf("returned after %s, want at most %s", took, tt.maxTime)
			}
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "SECRET") || strings.Contains(err.Error(), "token") {
				t.Errorf("error reveals the URL: %v", err)
			}
			var se *StatusError
			if !errors.As(err, &se) || se.Code != tt.wantCode {
				t.Errorf("error %v is not a StatusError with code %d", err, tt.wantCode)
			}
		})
	}
}

func TestPostHeadersPerAttempt(t *testing.T) {
	t.Parallel()
	var (
		mu   sync.Mutex
		seen []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, r.Header.Get("X-Attempt"))
		if len(seen) == 1 {
			w.WriteHeader(500)
		}
	}))
	defer srv.Close()
	c, err := New(fast(sinks.HTTPOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	calls := 0
	err = c.Post(context.Background(), srv.URL, nil, func(h http.Header) {
		calls++
		h.Set("X-Attempt", strings.Repeat("a", calls))
	})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(seen, ",") != "a,aa" {
		t.Fatalf("headers seen %q, want a fresh header per attempt", seen)
	}
}

func TestPostNetworkErrorRedacted(t *testing.T) {
	t.Parallel()
	// A port that was just free: connections to it are refused.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c, err := New(fast(sinks.HTTPOptions{Attempts: 2}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.Post(context.Background(), "http://"+addr+"/services/T0/B0/SECRETTOKEN?x=SECRET2", []byte("{}"), func(http.Header) {})
	if err == nil {
		t.Fatal("no error posting to a closed port")
	}
	if strings.Contains(err.Error(), "SECRET") {
		t.Fatalf("error reveals the URL: %v", err)
	}
	if !strings.Contains(err.Error(), "attempt 2") || !strings.Contains(err.Error(), "http://"+addr) {
		t.Fatalf("error %q should name the last attempt and the host", err)
	}
}

func TestPostContextEndsRetries(t *testing.T) {
	t.Parallel()
	srv, n := server(t, status(500, ""))
	c, err := New(sinks.HTTPOptions{Attempts: 10, Backoff: time.Second, MaxBackoff: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	t.Run("cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			for n.Load() == 0 {
				time.Sleep(time.Millisecond)
			}
			cancel()
		}()
		start := time.Now()
		err := c.Post(ctx, srv.URL, nil, func(http.Header) {})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if took := time.Since(start); took > 900*time.Millisecond {
			t.Fatalf("took %s: cancel did not cut the backoff", took)
		}
	})
	t.Run("deadline before next attempt", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := c.Post(ctx, srv.URL, nil, func(http.Header) {})
		if err == nil || !strings.Contains(err.Error(), "deadline is before the next attempt") {
			t.Fatalf("err = %v", err)
		}
		if took := time.Since(start); took > 250*time.Millisecond {
			t.Fatalf("took %s: should give up without waiting", took)
		}
	})
}

func TestNewOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		opts    sinks.HTTPOptions
		wantErr string
	}{
		{name: "defaults", opts: sinks.HTTPOptions{}},
		{name: "negative", opts: sinks.HTTPOptions{Attempts: -1}, wantErr: "must not be negative"},
		{name: "missing CA", opts: sinks.HTTPOptions{CAFile: "/nonexistent/ca.pem"}, wantErr: "ca_file: open /nonexistent/ca.pem"},
		{name: "CA without PEM", opts: sinks.HTTPOptions{CAFile: "httppost_test.go"}, wantErr: "holds no PEM certificate"},
	}
	for _, tt := range tests {
		c, err := New(tt.opts)
		if tt.wantErr == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
				continue
			}
			if c.opts.Attempts != DefaultAttempts || c.opts.Timeout != DefaultTimeout || c.opts.MaxRetryAfter != DefaultMaxRetryAfter {
				t.Errorf("%s: defaults not applied: %+v", tt.name, c.opts)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.wantErr)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"3", 3 * time.Second, true},
		{" 0 ", 0, true},
		{"-1", 0, false},
		{"", 0, false},
		{"soon", 0, false},
		{"Mon, 01 Jan 2024 12:00:10 GMT", 10 * time.Second, true},
		{"Mon, 01 Jan 2024 11:00:00 GMT", 0, true},
		{"99999999", 24 * time.Hour, true},
	}
	for _, tt := range tests {
		got, ok := retryAfter(tt.in, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("retryAfter(%q) = %s, %v; want %s, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	c := &Client{opts: sinks.HTTPOptions{Backoff: 100 * time.Millisecond, MaxBackoff: 400 * time.Millisecond}}
	for n, want := range []time.Duration{100, 200, 400, 400, 400} {
		want *= time.Millisecond
		for range 50 {
			if got := c.backoff(n + 1); got < want/2 || got > want {
				t.Fatalf("backoff(%d) = %s, want within [%s, %s]", n+1, got, want/2, want)
			}
		}
	}
}

// Receivers that misbehave: each failure is a clear error naming only the
// host, within the timeout, and never a silent success.
func TestPostBadReceivers(t *testing.T) {
	t.Parallel()
	other, otherCalls := server(t, status(200, "stolen"))
	tests := []struct {
		name    string
		handler http.HandlerFunc
		calls   int32
		wantErr string
	}{
		{
			name: "hangs without answering",
			handler: func(w http.ResponseWriter, r *http.Request) {
				// With the body read, the server notices the client
				// leaving and ends the request's context.
				_, _ = io.Copy(io.Discard, r.Body)
				<-r.Context().Done()
			},
			calls: 2, wantErr: "Client.Timeout exceeded",
		},
		{
			name: "closes the connection mid-request",
			handler: func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.CopyN(io.Discard, r.Body, 10)
				conn, _, err := w.(http.Hijacker).Hijack()
				if err == nil {
					conn.Close()
				}
			},
			calls: 2, wantErr: "EOF",
		},
		{
			name: "301 to another host",
			handler: func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, other.URL+"/collect?token=SECRET", http.StatusMovedPermanently)
			},
			calls: 1, wantErr: "status 301 Moved Permanently: \"redirect to " + other.URL + " not followed\"",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var n atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n.Add(1)
				tt.handler(w, r)
			}))
			t.Cleanup(srv.Close)
			c, err := New(fast(sinks.HTTPOptions{Timeout: 300 * time.Millisecond, Attempts: 2}))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			start := time.Now()
			err = c.Post(context.Background(), srv.URL+"/hook/SECRET", []byte(`{"a":1}`), func(http.Header) {})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "SECRET") || !strings.Contains(err.Error(), "post "+srv.URL+": attempt") {
				t.Errorf("error should name the host only: %v", err)
			}
			if got := n.Load(); got != tt.calls {
				t.Errorf("receiver saw %d requests, want %d", got, tt.calls)
			}
			if took := time.Since(start); took > 3*time.Second {
				t.Errorf("took %s", took)
			}
		})
	}
	if n := otherCalls.Load(); n != 0 {
		t.Errorf("the redirect target received %d requests", n)
	}
}

// The final error tells the caller's redelivery what the receiver said:
// a rejected body is permanent, a Retry-After is passed on.
func TestPostClassifiesFinalError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		answer    func(http.ResponseWriter)
		opts      sinks.HTTPOptions
		permanent bool
		after     time.Duration
	}{
		{name: "400", answer: status(400, "invalid_payload"), permanent: true},
		{name: "413", answer: status(413, ""), permanent: true},
		{name: "422", answer: status(422, ""), permanent: true},
		{name: "401 may be fixed", answer: status(401, "")},
		{name: "404 may be fixed", answer: status(404, "no_service")},
		{name: "500", answer: status(500, "")},
		{name: "301", answer: status(301, "", "Location", "http://127.0.0.1:9/")},
		{name: "503 with a long Retry-After", answer: status(503, "", "Retry-After", "120"), opts: sinks.HTTPOptions{MaxRetryAfter: time.Second}, after: 2 * time.Minute},
		{name: "429 on the last attempt", answer: status(429, "", "Retry-After", "7"), after: 7 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, _ := server(t, tt.answer)
			tt.opts.Attempts = 1
			c, err := New(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			err = c.Post(context.Background(), srv.URL, nil, func(http.Header) {})
			if err == nil {
				t.Fatal("no error")
			}
			if sinks.IsPermanent(err) != tt.permanent {
				t.Errorf("IsPermanent(%v) = %v", err, !tt.permanent)
			}
			if got, ok := sinks.RetryAfter(err); got != tt.after || ok != (tt.after > 0) {
				t.Errorf("RetryAfter(%v) = %s, %v; want %s", err, got, ok, tt.after)
			}
		})
	}
}
