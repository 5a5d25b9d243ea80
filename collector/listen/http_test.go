package listen

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weft-dev/weft/bus"
	"github.com/weft-dev/weft/collector/listen/listentest"
)

type httpResult struct {
	code int
	resp Response
	hdr  http.Header
}

func post(t *testing.T, client *http.Client, url, contentType, token string, body io.Reader) httpResult {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	defer res.Body.Close()
	var out httpResult
	out.code, out.hdr = res.StatusCode, res.Header
	if err := json.NewDecoder(res.Body).Decode(&out.resp); err != nil {
		t.Fatalf("response body: %v", err)
	}
	return out
}

func httpClient(tlsConf *tls.Config) *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsConf}}
}

func TestHTTPEvents(t *testing.T) {
	t.Parallel()
	pki := listentest.NewPKI(t)
	positive := fixture(t, "mmc-positive.xml")
	for _, tc := range []struct {
		name        string
		tls         TLS
		client      *tls.Config
		contentType string
		body        []byte
	}{
		{"xml", TLS{}, nil, "application/xml", positive},
		{"xml sniffed", TLS{}, nil, "", positive},
		{"xml in <Events>", TLS{}, nil, "text/xml; charset=utf-8", []byte("<Events>" + string(positive) + "</Events>")},
		{"ndjson", TLS{}, nil, "application/x-ndjson", winlogbeatFixture(t)},
		{"ndjson sniffed", TLS{}, nil, "application/octet-stream", winlogbeatFixture(t)},
		{"xml over tls", TLS{CertFile: pki.ServerCert, KeyFile: pki.ServerKey}, pki.ClientTLS(t, false), "application/xml", positive},
		{"ndjson over mutual tls", TLS{CertFile: pki.ServerCert, KeyFile: pki.ServerKey, ClientCAFile: pki.CAFile}, pki.ClientTLS(t, true), "application/json", winlogbeatFixture(t)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := serve(t, KindHTTP, Config{TLS: tc.tls, Token: "s3cret"}, bus.Config{}, ServeHTTP)
			scheme := "http://"
			if tc.tls.Enabled() {
				scheme = "https://"
			}
			res := post(t, httpClient(tc.client), scheme+s.addr+EventsPath, tc.contentType, "s3cret", bytes.NewReader(tc.body))
			if res.code != http.StatusOK || res.resp.Events != 7 || res.resp.Errors != 0 {
				t.Fatalf("answer %d %+v\nlogs:\n%s", res.code, res.resp, s.logs.String())
			}
			// Answered means stored: no waiting.
			got := listentest.Stored(t, s.bus)
			if !sameRecords(got, positiveRecords) {
				t.Fatalf("answered 200 with records %v stored", listentest.Records(got))
			}
			if o := got[6].Origin; o.Listener != "http "+s.addr || !strings.HasPrefix(o.Peer, "127.0.0.1:") || o.Path != "" {
				t.Errorf("origin %+v", o)
			}
		})
	}
}

func TestHTTPRefusals(t *testing.T) {
	t.Parallel()
	pki := listentest.NewPKI(t)
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := serve(t, KindHTTP, Config{
		TLS:           TLS{CertFile: pki.ServerCert, KeyFile: pki.ServerKey, ClientCAFile: pki.CAFile},
		TokenFile:     tokenFile,
		MaxBatchBytes: 4 << 20,
		EventTimeout:  time.Second,
	}, bus.Config{}, ServeHTTP)
	url := "https://" + s.addr + EventsPath
	client := httpClient(pki.ClientTLS(t, true))
	event1 := xmlEvent(t, 1)

	for _, tc := range []struct {
		name        string
		contentType string
		token       string
		body        string
		code        int
		events      int
		says        string // in the response or its problems
		logs        []string
	}{
		{"no token", "application/xml", "", event1, 401, 0, "bearer token", []string{"missing or wrong bearer token"}},
		{"wrong token", "application/xml", "s3cre", event1, 401, 0, "bearer token", []string{"missing or wrong bearer token"}},
		{"empty body", "application/xml", "s3cret", "", 400, 0, "holds no event", nil},
		{"json that is not an event", "application/json", "s3cret", `{"user":"bob"}` + "\n", 400, 0, "not a Windows event", []string{"skipped event", "not a Windows event"}},
		{"malformed xml around good events", "application/xml", "s3cret", xmlEvent(t, 10) + strings.Replace(xmlEvent(t, 11), "</Computer>", "</Channel>", 1) + xmlEvent(t, 12), 200, 2, "closes", []string{"skipped event", ":2: "}},
		{"doctype", "application/xml", "s3cret", `<!DOCTYPE Event [<!ENTITY x "boom">]>` + strings.Replace(xmlEvent(t, 20), ">-</Data>", ">&x;</Data>", 1), 400, 0, "DOCTYPE", []string{"DOCTYPE and entity declarations are not allowed"}},
		{"invalid utf-8", "application/xml", "s3cret", strings.Replace(xmlEvent(t, 30), "taskhostw", "task\xffhostw", 1) + xmlEvent(t, 31), 200, 2, "invalid UTF-8", []string{"invalid UTF-8"}},
		{"event of 2 MiB", "application/xml", "s3cret", xmlEvent(t, 40) + "<Event><System/><EventData><Data>" + strings.Repeat("x", 2<<20) + "</Data></EventData></Event>" + xmlEvent(t, 41), 200, 2, "event too large", []string{"event too large"}},
		{"body of 10 MiB", "application/x-ndjson", "s3cret", strings.Repeat(`{"winlog":{"event_id":1}}`+"\n", 400000), 413, 0, "body larger than", []string{"body too large"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := post(t, client, url, tc.contentType, tc.token, strings.NewReader(tc.body))
			text := res.resp.Error + strings.Join(res.resp.Problems, "\n")
			if res.code != tc.code || res.resp.Events != tc.events || !strings.Contains(text, tc.says) {
				t.Errorf("answer %d %+v; want %d with %d events saying %q", res.code, res.resp, tc.code, tc.events, tc.says)
			}
			if tc.code == 401 && res.hdr.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			if len(tc.logs) > 0 {
				if line := s.logs.waitLog(t, tc.logs...); !strings.Contains(line, `"peer":"127.0.0.1:`) {
					t.Errorf("log line does not name the peer: %s", line)
				}
			}
		})
	}

	t.Run("no client certificate", func(t *testing.T) {
		_, err := httpClient(pki.ClientTLS(t, false)).Post(url, "application/xml", strings.NewReader(event1))
		if err == nil {
			t.Fatal("request without a client certificate went through")
		}
		s.logs.waitLog(t, "TLS handshake failed", `"peer":"127.0.0.1:`, "certificate")
	})
	t.Run("wrong method and path", func(t *testing.T) {
		res, err := client.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "POST" {
			t.Errorf("GET: %d, Allow %q", res.StatusCode, res.Header.Get("Allow"))
		}
		if res := post(t, client, "https://"+s.addr+"/events", "", "s3cret", strings.NewReader(event1)); res.code != http.StatusNotFound {
			t.Errorf("wrong path: %d", res.code)
		}
	})
	t.Run("body that stops half-way", func(t *testing.T) {
		// The body stops after 100 bytes, until the answer comes.
		pr, pw := io.Pipe()
		answered := make(chan struct{})
		go func() {
			_, _ = pw.Write([]byte(event1[:100]))
			<-answered
			pw.Close()
		}()
		req, _ := http.NewRequest(http.MethodPost, url, pr)
		req.Header.Set("Authorization", "Bearer s3cret")
		res, err := client.Do(req)
		close(answered)
		if err == nil {
			res.Body.Close()
			if res.StatusCode < 400 {
				t.Errorf("a body cut short was answered %d", res.StatusCode)
			}
		}
		s.logs.waitLog(t, "request abandoned", "event timeout")
	})

	// Only the events of the accepted bodies are stored; the one with a
	// byte that is not UTF-8 is kept with U+FFFD in its place.
	got := listentest.Stored(t, s.bus)
	want := []uint64{10, 12, 30, 31, 40, 41}
	if !sameRecords(got, want) {
		t.Errorf("records %v stored, want %v", listentest.Records(got), want)
	}
}

// TestHTTPBusy fills the raw stream: requests are answered 503 with
// Retry-After, and succeed once the bus has room.
func TestHTTPBusy(t *testing.T) {
	t.Parallel()
	s := serve(t, KindHTTP, Config{PublishTimeout: 300 * time.Millisecond}, bus.Config{MaxBytes: 16 << 10}, ServeHTTP)
	url := "http://" + s.addr + EventsPath
	client := httpClient(nil)
	var body strings.Builder
	for i := range 100 {
		body.WriteString(xmlEvent(t, uint64(i+1)))
	}
	var res httpResult
	for range 10 {
		res = post(t, client, url, "application/xml", "", strings.NewReader(body.String()))
		if res.code == http.StatusServiceUnavailable {
			break
		}
	}
	if res.code != http.StatusServiceUnavailable || res.hdr.Get("Retry-After") != "1" {
		t.Fatalf("full stream: answer %d, Retry-After %q, %+v", res.code, res.hdr.Get("Retry-After"), res.resp)
	}
	s.logs.waitLog(t, "answered 503", `"peer":"127.0.0.1:`)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, err := s.bus.JetStream().Stream(ctx, bus.StreamRaw)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Purge(ctx); err != nil {
		t.Fatal(err)
	}
	res = post(t, client, url, "application/xml", "", strings.NewReader(xmlEvent(t, 1000)))
	if res.code != http.StatusOK || res.resp.Events != 1 {
		t.Fatalf("after purge: %d %+v", res.code, res.resp)
	}
}

// TestHTTPMaxConnections: a connection beyond the limit, while the one
// within it is busy, waits for the handshake timeout and is refused and
// logged with its peer; the one within is served.
func TestHTTPMaxConnections(t *testing.T) {
	t.Parallel()
	s := serve(t, KindHTTP, Config{MaxConnections: 1, HandshakeTimeout: 300 * time.Millisecond}, bus.Config{}, ServeHTTP)
	first, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	if _, err := first.Write([]byte("POST ")); err != nil {
		t.Fatal(err)
	}
	waitStats(t, s.l, func(st Stats) bool { return st.Active == 1 })
	second, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	if _, err := second.Write([]byte("POST ")); err != nil {
		t.Fatal(err)
	}
	_ = second.SetReadDeadline(time.Now().Add(time.Minute))
	if n, err := second.Read(make([]byte, 1)); err == nil || n > 0 || IsIdle(err) {
		t.Errorf("second connection not refused: %d bytes, %v", n, err)
	}
	s.logs.waitLog(t, "too many connections", second.LocalAddr().String())
	if st := s.l.Stats(); st.Errors[ReasonMaxConnections] != 1 {
		t.Errorf("errors %v", st.Errors)
	}

	req := EventsPath + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/xml\r\nContent-Length: " +
		strconv.Itoa(len(xmlEvent(t, 1))) + "\r\nConnection: close\r\n\r\n" + xmlEvent(t, 1)
	if _, err := first.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	reply, err := io.ReadAll(first)
	if err != nil || !strings.HasPrefix(string(reply), "HTTP/1.1 200") {
		t.Errorf("first connection: %v\n%s", err, reply)
	}
}
