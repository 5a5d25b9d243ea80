package jsonl

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/weft-dev/weft/event"
	"github.com/weft-dev/weft/sinks/internal/alerttest"
)

// lines splits output into lines, checking each decodes to an alert.
func lines(t *testing.T, b []byte) []event.Alert {
	t.Helper()
	var out []event.Alert
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var a event.Alert
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			t.Fatalf("line %d is not an alert: %v\n%s", len(out)+1, err, sc.Bytes())
		}
		out = append(out, a)
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		t.Fatal("output does not end with a newline")
	}
	return out
}

func TestWriterOneLinePerAlert(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	s := NewWriter(&buf, "test")
	const n = 40
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Newlines, quotes and markup in fields must not break lines.
			a := alerttest.Seed("cmd.exe /c \"echo a\nb\r\n\u2028c\" > <out> & " + strings.Repeat("x", i*100))
			if err := s.Send(context.Background(), a); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got := lines(t, buf.Bytes())
	if len(got) != n {
		t.Fatalf("got %d lines, want %d", len(got), n)
	}
	if cl := got[0].Weft.Events[1].String("process.command_line"); !strings.HasPrefix(cl, "cmd.exe /c \"echo a\nb\r\n\u2028c\" > <out> & ") {
		t.Fatalf("command line came back as %q", cl)
	}
	if !bytes.Contains(buf.Bytes(), []byte(`> <out> &`)) {
		t.Error("markup was HTML-escaped; JSON lines should read as written")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestFileAppends(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "alerts.jsonl")
	for i := range 2 {
		s, err := New(Config{Path: path})
		if err != nil {
			t.Fatal(err)
		}
		if s.Name() != "file" {
			t.Errorf("Name() = %q", s.Name())
		}
		a := alerttest.Seed("cmd.exe")
		a.Event.ID = strings.Repeat("ab", i+1)
		if err := s.Send(context.Background(), a); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got := lines(t, b)
	if len(got) != 2 || got[0].Event.ID != "ab" || got[1].Event.ID != "abab" {
		t.Fatalf("file holds %d alerts: %+v", len(got), got)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode %o, want 600", fi.Mode().Perm())
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		name     string
		cfg      Config
		wantName string
		wantMode os.FileMode
		wantErr  string
	}{
		{name: "stdout by default", cfg: Config{}, wantName: "stdout"},
		{name: "dash is stdout", cfg: Config{Path: "-"}, wantName: "stdout"},
		{name: "mode", cfg: Config{Path: filepath.Join(dir, "a.jsonl"), Mode: "0640"}, wantName: "file", wantMode: 0o640},
		{name: "bad mode", cfg: Config{Path: filepath.Join(dir, "b.jsonl"), Mode: "rw-r"}, wantErr: `jsonl: mode: "rw-r" is not an octal permission`},
		{name: "mode too big", cfg: Config{Path: filepath.Join(dir, "b.jsonl"), Mode: "7777"}, wantErr: "is not an octal permission"},
		{name: "mode for stdout", cfg: Config{Mode: "0600"}, wantErr: "jsonl: mode: applies only to a file path"},
		{name: "missing directory", cfg: Config{Path: filepath.Join(dir, "no", "such", "dir.jsonl")}, wantErr: "jsonl: path: folder " + filepath.Join(dir, "no", "such") + " does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := New(tt.cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if s.Name() != tt.wantName {
				t.Errorf("Name() = %q, want %q", s.Name(), tt.wantName)
			}
			if tt.wantMode != 0 {
				fi, err := os.Stat(tt.cfg.Path)
				if err != nil {
					t.Fatal(err)
				}
				// The umask may only remove bits.
				if fi.Mode().Perm()&^tt.wantMode != 0 {
					t.Errorf("mode %o, want within %o", fi.Mode().Perm(), tt.wantMode)
				}
			}
		})
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestSendErrors(t *testing.T) {
	t.Parallel()
	a := alerttest.Seed("cmd.exe")
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		w       io.Writer
		ctx     context.Context
		alert   *event.Alert
		wantErr string
	}{
		{"write fails", failingWriter{}, context.Background(), a, "out: write alert " + a.Event.ID + ": disk full"},
		{"cancelled", &bytes.Buffer{}, cancelled, a, "out: alert " + a.Event.ID + ": context canceled"},
		{"nil alert", &bytes.Buffer{}, context.Background(), nil, "out: nil alert"},
	}
	for _, tt := range tests {
		err := NewWriter(tt.w, "out").Send(tt.ctx, tt.alert)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.wantErr)
		}
		if b, ok := tt.w.(*bytes.Buffer); ok && b.Len() != 0 {
			t.Errorf("%s: failed send wrote %q", tt.name, b.String())
		}
	}
}

func TestSampleConfig(t *testing.T) {
	t.Parallel()
	var cfg Config
	dec := yaml.NewDecoder(strings.NewReader(SampleConfig))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		t.Fatalf("sample.yaml: %v", err)
	}
	if cfg.Path != "/var/log/weft/alerts.jsonl" || cfg.Mode != "0640" {
		t.Fatalf("sample.yaml decoded to %+v", cfg)
	}
	cfg.Path = filepath.Join(t.TempDir(), "alerts.jsonl")
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}
