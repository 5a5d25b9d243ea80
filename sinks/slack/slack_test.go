package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
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

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// cutMarked matches text that ends in the marker of a cut.
var cutMarked = regexp.MustCompile(`…\[cut [0-9]{1,3}(,[0-9]{3})* bytes\]$`)

// slackServer is an incoming-webhook receiver over TLS that answers with
// the given codes in turn (the last repeating), as Slack does: "ok" on
// success, a reason otherwise.
type slackServer struct {
	*httptest.Server
	caFile string
	mu     sync.Mutex
	bodies [][]byte
	header []http.Header
	codes  []int
}

func newSlackServer(t *testing.T, codes ...int) *slackServer {
	t.Helper()
	s := &slackServer{codes: codes}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.bodies = append(s.bodies, body)
		s.header = append(s.header, r.Header.Clone())
		code := s.codes[min(len(s.bodies), len(s.codes))-1]
		s.mu.Unlock()
		switch code {
		case http.StatusOK:
			_, _ = io.WriteString(w, "ok")
		case http.StatusTooManyRequests:
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(code)
		default:
			w.WriteHeader(code)
			_, _ = io.WriteString(w, "no_service")
		}
	}))
	// Handshakes the client refuses (untrusted CA) are expected here.
	s.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.StartTLS()
	t.Cleanup(s.Close)
	s.caFile = tlstest.ServerCA(t, s.Server)
	return s
}

func (s *slackServer) received() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.bodies...)
}

// hookURL looks like a real incoming-webhook URL, whose path is the secret.
func (s *slackServer) hookURL() string {
	return s.URL + "/services/T0001/B0002/SECRETxyz"
}

func send(t *testing.T, srv *slackServer, a *event.Alert) message {
	t.Helper()
	s, err := New(Config{URL: srv.hookURL(), HTTPOptions: sinks.HTTPOptions{CAFile: srv.caFile}, Version: "0.1.0"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Send(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	bodies := srv.received()
	var m message
	if err := json.Unmarshal(bodies[len(bodies)-1], &m); err != nil {
		t.Fatalf("payload is not JSON: %v", err)
	}
	return m
}

// texts returns every text of the message, fallback included.
func texts(m message) []string {
	out := []string{m.Text}
	for _, b := range m.Blocks {
		if b.Text != nil {
			out = append(out, b.Text.Text)
		}
		for _, f := range append(b.Fields, b.Elements...) {
			out = append(out, f.Text)
		}
	}
	return out
}

func findSection(m message, prefix string) string {
	for _, b := range m.Blocks {
		if b.Type == "section" && b.Text != nil && strings.HasPrefix(b.Text.Text, prefix) {
			return b.Text.Text
		}
	}
	return ""
}

func TestSendGolden(t *testing.T) {
	t.Parallel()
	srv := newSlackServer(t, 200)
	a := alerttest.Seed(`cmd.exe /c "whoami /all > C:\Users\Public\o.txt"`)
	send(t, srv, a)
	body := srv.received()[0]
	if h := srv.header[0]; h.Get("Content-Type") != "application/json; charset=utf-8" || h.Get("User-Agent") != "weft/0.1.0" {
		t.Errorf("headers %v", h)
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, body, "", "  "); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "seed.golden.json")
	if *update {
		if err := os.WriteFile(golden, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(pretty.Bytes(), want) {
		t.Errorf("payload differs from %s (go test -update rewrites it):\n%s", golden, pretty.Bytes())
	}
}

func TestSendStructure(t *testing.T) {
	t.Parallel()
	srv := newSlackServer(t, 200)
	a := alerttest.Seed(`cmd.exe /c calc.exe`)
	m := send(t, srv, a)

	if m.Text != escapeText(a.Message, sectionLimit) || m.Text == "" {
		t.Errorf("text = %q, want the alert message", m.Text)
	}
	if len(m.Blocks) == 0 || m.Blocks[0].Type != "header" || m.Blocks[0].Text.Type != "plain_text" {
		t.Fatalf("first block is not a plain_text header: %+v", m.Blocks)
	}
	if h := m.Blocks[0].Text.Text; !strings.Contains(h, "HIGH") || !strings.Contains(h, a.Rule.Name) {
		t.Errorf("header %q lacks severity and rule name", h)
	}
	var fields []string
	for _, b := range m.Blocks {
		for _, f := range b.Fields {
			fields = append(fields, f.Text)
		}
	}
	all := strings.Join(fields, "\n")
	for _, want := range []string{
		"*Host*\nWKS-01",
		"*Remote peer (ingress)*\n10.9.8.7:50211",
		"*Parent process*\nmmc.exe `{8f1e2a3b-0000-1111-2222-333344445555}`",
		"*Process*\ncmd.exe `{8f1e2a3b-0000-1111-2222-999988887777}`",
		"*Time*\n<!date^1709647651^{date_short_pretty} {time_secs}|2024-03-05T14:07:31Z>",
		"*Severity*\nhigh (risk 73)",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("fields lack %q:\n%s", want, all)
		}
	}
	if cl := findSection(m, "*Command line*"); cl != "*Command line*\n```cmd.exe /c calc.exe```" {
		t.Errorf("command line section = %q", cl)
	}
	mitre := findSection(m, "*MITRE ATT&amp;CK*")
	for _, want := range []string{
		"<https://attack.mitre.org/tactics/TA0008/|TA0008 Lateral Movement> › <https://attack.mitre.org/techniques/T1021/|T1021 Remote Services> › <https://attack.mitre.org/techniques/T1021/003/|T1021.003 Distributed Component Object Model>",
		"<https://attack.mitre.org/techniques/T1218/014/|T1218.014 MMC>",
	} {
		if !strings.Contains(mitre, want) {
			t.Errorf("MITRE section lacks %q:\n%s", want, mitre)
		}
	}
	steps := findSection(m, "*First investigation steps*")
	if strings.Count(steps, "\n") != 3 || !strings.Contains(steps, "\n1. Review the network traffic logs") ||
		!strings.Contains(steps, "\n3. Check the source and destination ports (both should be &gt;= 49152)") {
		t.Errorf("steps section = %q", steps)
	}
	last := m.Blocks[len(m.Blocks)-1]
	if last.Type != "context" || !strings.Contains(last.Elements[0].Text, a.Event.ID) {
		t.Errorf("last block = %+v, want a context naming the alert id", last)
	}
}

func TestSendEscapesEventText(t *testing.T) {
	t.Parallel()
	srv := newSlackServer(t, 200)
	hostile := []string{"<!channel>", "<https://evil|click>", "<!here>", "<@U0123>", "<#C0123>"}
	a := alerttest.Seed(`powershell -c "<!channel> <https://evil|click> & <@U0123>"`)
	a.Host.Name = "WKS-01<!here>"
	a.Message = "alert <#C0123> <!channel>"
	a.Weft.Events[0].Set("process.name", "mmc.exe<https://evil|click>")
	a.Weft.Events[1].Set("process.entity_id", "{x}`<!channel>")
	a.Rule.Note = "### Possible investigation steps\n\n- Ask <!channel> to look at <https://evil|click>\n"
	m := send(t, srv, a)

	for _, text := range texts(m) {
		for _, h := range hostile {
			if strings.Contains(text, h) {
				t.Errorf("%q reaches Slack unescaped in %q", h, text)
			}
		}
		// The only markup allowed is weft's own: the date and ATT&CK links.
		for i := strings.IndexByte(text, '<'); i >= 0; i = strings.IndexByte(text, '<') {
			text = text[i:]
			if !strings.HasPrefix(text, "<!date^") && !strings.HasPrefix(text, "<https://attack.mitre.org/") {
				t.Errorf("unexpected markup %.40q", text)
			}
			text = text[1:]
		}
	}
	cl := findSection(m, "*Command line*")
	if want := "&lt;!channel&gt; &lt;https://evil|click&gt; &amp; &lt;@U0123&gt;"; !strings.Contains(cl, want) {
		t.Errorf("command line %q lacks the escaped text %q", cl, want)
	}
	if m.Text != "alert &lt;#C0123&gt; &lt;!channel&gt;" {
		t.Errorf("text = %q", m.Text)
	}
}

func TestSendTruncatesLongFields(t *testing.T) {
	t.Parallel()
	srv := newSlackServer(t, 200)
	a := alerttest.Seed("cmd.exe /c " + strings.Repeat("a&b<c>", 2000) + " ``` injected")
	a.Rule.Name = strings.Repeat("Very Long Rule Name ", 20)
	a.Host.Name = strings.Repeat("h", 5000)
	m := send(t, srv, a)

	if h := m.Blocks[0].Text.Text; len([]rune(h)) > headerLimit || !cutMarked.MatchString(h) {
		t.Errorf("header is %d characters: %q", len([]rune(h)), h)
	}
	cl := findSection(m, "*Command line*")
	if len(cl) > sectionLimit || !cutMarked.MatchString(strings.TrimSuffix(cl, "```")) {
		t.Errorf("command line section is %d bytes, ends %q", len(cl), cl[max(0, len(cl)-30):])
	}
	for _, b := range m.Blocks {
		for _, f := range b.Fields {
			if len(f.Text) > fieldLimit {
				t.Errorf("field of %d bytes", len(f.Text))
			}
		}
	}
	// An entity is never cut in half.
	if i := strings.LastIndexByte(cl, '&'); i >= 0 && !strings.Contains(cl[i:], ";") {
		t.Errorf("truncation split an entity: %q", cl[i:])
	}
}

func TestCodeBlockCannotBeClosedEarly(t *testing.T) {
	t.Parallel()
	got := codeBlock("a ``` b `` c", 100)
	inner := strings.TrimSuffix(strings.TrimPrefix(got, "```"), "```")
	if strings.Contains(inner, "``") {
		t.Fatalf("code block %q has adjacent backticks inside", got)
	}
	if strings.ReplaceAll(inner, "\u200b", "") != "a ``` b `` c" {
		t.Fatalf("code block %q does not show the text", got)
	}
}

func TestEscapeText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in    string
		limit int
		want  string
	}{
		{"plain", 100, "plain"},
		{"a<b>&c", 100, "a&lt;b&gt;&amp;c"},
		{"<!channel>", 100, "&lt;!channel&gt;"},
		{"&&&&&&&&&&&&&&&&&&&&", 30, "&amp;&amp;…[cut 18 bytes]"},
		{"ééééééééééééééééééééééé", 20, "é…[cut 44 bytes]"},
		{"bad \xff utf8", 100, "bad \uFFFD utf8"},
		{strings.Repeat("x", 30), 30, strings.Repeat("x", 30)},
	}
	for _, tt := range tests {
		got := escapeText(tt.in, tt.limit)
		if got != tt.want {
			t.Errorf("escapeText(%q, %d) = %q, want %q", tt.in, tt.limit, got, tt.want)
		}
		if len(got) > tt.limit {
			t.Errorf("escapeText(%q, %d) is %d bytes", tt.in, tt.limit, len(got))
		}
	}
}

func TestSendErrors(t *testing.T) {
	t.Parallel()
	t.Run("no_service", func(t *testing.T) {
		t.Parallel()
		srv := newSlackServer(t, 404)
		s, err := New(Config{URL: srv.hookURL(), HTTPOptions: sinks.HTTPOptions{CAFile: srv.caFile}})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		err = s.Send(context.Background(), alerttest.Seed("cmd.exe"))
		if err == nil || !strings.Contains(err.Error(), "status 404") || !strings.Contains(err.Error(), "no_service") {
			t.Fatalf("err = %v", err)
		}
		if strings.Contains(err.Error(), "SECRET") || strings.Contains(err.Error(), "/services/") {
			t.Fatalf("error reveals the webhook URL: %v", err)
		}
	})
	t.Run("rate limited then ok", func(t *testing.T) {
		t.Parallel()
		srv := newSlackServer(t, 429, 200)
		s, err := New(Config{URL: srv.hookURL(), HTTPOptions: sinks.HTTPOptions{CAFile: srv.caFile}})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.Send(context.Background(), alerttest.Seed("cmd.exe")); err != nil {
			t.Fatal(err)
		}
		if n := len(srv.received()); n != 2 {
			t.Fatalf("got %d posts, want 2", n)
		}
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		t.Parallel()
		srv := newSlackServer(t, 200)
		s, err := New(Config{URL: srv.hookURL(), HTTPOptions: sinks.HTTPOptions{CAFile: tlstest.OtherCA(t), Attempts: 1}})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		err = s.Send(context.Background(), alerttest.Seed("cmd.exe"))
		if err == nil || !strings.Contains(err.Error(), "certificate") || strings.Contains(err.Error(), "SECRET") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestNewErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{name: "no url", cfg: Config{}, wantErr: "slack: url: is required"},
		{name: "http", cfg: Config{URL: "http://hooks.slack.com/services/T/B/SECRET"}, wantErr: "slack: url: must be an https URL (Slack's incoming webhook), got http://hooks.slack.com"},
		{name: "unparsable", cfg: Config{URL: "https://hooks slack.com/services/SECRET"}, wantErr: "slack: url: is not a valid URL"},
		{name: "missing file", cfg: Config{URLFile: "/nonexistent/slack-url"}, wantErr: "slack: url_file: open /nonexistent/slack-url"},
		{name: "bad CA", cfg: Config{URL: "https://hooks.slack.com/services/SECRET", HTTPOptions: sinks.HTTPOptions{CAFile: "slack.go"}}, wantErr: "slack: ca_file: slack.go holds no PEM certificate"},
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
	// Not parallel: sets an environment variable.
	srv := newSlackServer(t, 200)
	t.Setenv("WEFT_SLACK_URL", srv.hookURL())
	var cfg Config
	dec := yaml.NewDecoder(strings.NewReader(SampleConfig))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		t.Fatalf("sample.yaml: %v", err)
	}
	if cfg.URLEnv != "WEFT_SLACK_URL" || cfg.MaxRetryAfter != 30*time.Second {
		t.Fatalf("sample.yaml decoded to %+v", cfg)
	}
	cfg.CAFile = srv.caFile
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Send(context.Background(), alerttest.Seed("cmd.exe")); err != nil {
		t.Fatal(err)
	}
}

// Control characters cannot lay out fields of their own, bytes that are
// not UTF-8 become U+FFFD, and a megabyte of command line is cut to
// Slack's limits with a visible marker.
func TestSendHostileText(t *testing.T) {
	t.Parallel()
	srv := newSlackServer(t, 200)
	a := alerttest.Seed("cmd.exe /c \xff\xfeecho\x1b[2J line1\nline2\x00 " + strings.Repeat("A", 1<<20))
	a.Host.Name = "WKS-01\n*Severity*\nlow\r\x07"
	a.Message = "alert\n<!channel>"
	m := send(t, srv, a)
	body := srv.received()[0]
	if len(body) > 40<<10 {
		t.Errorf("payload of %d bytes for a 1 MiB command line", len(body))
	}
	var hostField string
	for _, b := range m.Blocks {
		for _, f := range b.Fields {
			if strings.HasPrefix(f.Text, "*Host*\n") {
				hostField = f.Text
			}
		}
	}
	if want := "*Host*\nWKS-01␊*Severity*␊low␍␇"; hostField != want {
		t.Errorf("host field %q, want %q", hostField, want)
	}
	if m.Text != "alert␊&lt;!channel&gt;" {
		t.Errorf("text = %q", m.Text)
	}
	cl := findSection(m, "*Command line*")
	if !strings.HasPrefix(cl, "*Command line*\n```cmd.exe /c \uFFFDecho␛[2J line1\nline2␀ AAAA") {
		t.Errorf("command line section starts %.80q", cl)
	}
	if len(cl) > sectionLimit || !cutMarked.MatchString(strings.TrimSuffix(cl, "```")) {
		t.Errorf("command line section of %d bytes ends %q", len(cl), cl[max(0, len(cl)-20):])
	}
	for _, text := range texts(m) {
		for _, r := range text {
			if r < 0x20 && r != '\n' {
				t.Fatalf("control character %U in %.60q", r, text)
			}
		}
	}
}

// An attacker chooses the length of a command line or a host name: the
// alert still goes out, each long field cut to Slack's limits and saying
// how much was cut.
func TestSendLongFields(t *testing.T) {
	t.Parallel()
	cmd := "powershell.exe -NoProfile -EncodedCommand " + strings.Repeat("SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIAB", 110)[:4458]
	host := strings.Repeat("H", 3000)
	a := alerttest.Seed(cmd)
	a.Host.Name = host
	a.Message = "mmc.exe on " + host + " accepted TCP from 10.9.8.7:50211 and started " + cmd
	srv := newSlackServer(t, 200)
	m := send(t, srv, a)

	cl := strings.TrimSuffix(findSection(m, "*Command line*\n```"), "```")
	if !strings.HasPrefix(cl, "*Command line*\n```powershell.exe -NoProfile -EncodedCommand SQBF") || !cutMarked.MatchString(cl) || len(cl) > sectionLimit {
		t.Errorf("command line section of %d bytes: %.60q … %q", len(cl), cl, cl[max(0, len(cl)-30):])
	}
	var hostField string
	for _, b := range m.Blocks {
		for _, f := range b.Fields {
			if strings.HasPrefix(f.Text, "*Host*\n") {
				hostField = f.Text
			}
			if len(f.Text) > fieldLimit {
				t.Errorf("field of %d bytes: %.40q", len(f.Text), f.Text)
			}
		}
	}
	if !strings.HasPrefix(hostField, "*Host*\nHHHH") || !cutMarked.MatchString(hostField) {
		t.Errorf("host field %.40q … %q", hostField, hostField[max(0, len(hostField)-30):])
	}
	if !strings.HasPrefix(m.Text, "mmc.exe on HHHH") || !cutMarked.MatchString(m.Text) || len(m.Text) > sectionLimit {
		t.Errorf("text of %d bytes ends %q", len(m.Text), m.Text[max(0, len(m.Text)-30):])
	}
}

// Characters that reorder or break text, or that terminals and some
// receivers act on, are shown by their code points wherever event text
// reaches the message; so are C0 controls, by their pictures.
func TestSendInvisibleCharacters(t *testing.T) {
	t.Parallel()
	for _, r := range []rune{0x85, 0x9b, 0x80, 0x9f, 0x061c, 0x200e, 0x200f, 0x202a, 0x202e, 0x2066, 0x2069, 0x2028, 0x2029} {
		t.Run(fmt.Sprintf("U+%04X", r), func(t *testing.T) {
			t.Parallel()
			evil := "a" + string(r) + "b"
			a := alerttest.Seed("cmd.exe /c " + evil)
			a.Host.Name = "WKS" + evil
			a.Message = "msg " + evil
			a.Rule.Name = "rule " + evil
			m := send(t, newSlackServer(t, 200), a)
			shown := fmt.Sprintf("a[U+%04X]b", r)
			for _, text := range texts(m) {
				if strings.ContainsRune(text, r) {
					t.Errorf("%U reaches Slack in %q", r, text)
				}
			}
			if cl := findSection(m, "*Command line*"); !strings.Contains(cl, "cmd.exe /c "+shown) {
				t.Errorf("command line %q, want %q in it", cl, shown)
			}
			if !strings.Contains(m.Text, shown) || !strings.Contains(m.Blocks[0].Text.Text, shown) {
				t.Errorf("text %q, header %q", m.Text, m.Blocks[0].Text.Text)
			}
			var host string
			for _, f := range m.Blocks[1].Fields {
				if strings.HasPrefix(f.Text, "*Host*") {
					host = f.Text
				}
			}
			if host != "*Host*\nWKS"+shown {
				t.Errorf("host field %q", host)
			}
		})
	}
}
