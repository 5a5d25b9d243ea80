package jsonl

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"

	"github.com/weft-dev/weft/event"
	"github.com/weft-dev/weft/sinks"
)

// SampleConfig is a commented example of this sink's configuration.
//
//go:embed sample.yaml
var SampleConfig string

// Config configures the JSON-lines sink.
type Config struct {
	// Path is the file alerts are appended to; it is created when missing.
	// Empty or "-" writes to standard output.
	Path string `yaml:"path"`
	// Mode is the octal permission of a file the sink creates. Default
	// "0600": alerts name hosts, users and command lines.
	Mode string `yaml:"mode"`
}

type sink struct {
	mu   sync.Mutex
	w    io.Writer
	name string
	// file is set when the sink owns the file: it syncs after each alert
	// and closes it.
	file *os.File
}

// New builds the sink from cfg, opening the file when one is configured.
func New(cfg Config) (sinks.Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("jsonl: %w", err)
	}
	if cfg.Path == "" || cfg.Path == "-" {
		if cfg.Mode != "" {
			return nil, errors.New("jsonl: mode applies only to a file path")
		}
		return NewWriter(os.Stdout, "stdout"), nil
	}
	mode := os.FileMode(0o600)
	if cfg.Mode != "" {
		m, err := strconv.ParseUint(cfg.Mode, 8, 32)
		if err != nil || m > 0o777 {
			return nil, fmt.Errorf("jsonl: mode %q is not an octal permission such as 0640", cfg.Mode)
		}
		mode = os.FileMode(m)
	}
	f, err := os.OpenFile(cfg.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, mode)
	if err != nil {
		return nil, fmt.Errorf("jsonl: %w", err)
	}
	return &sink{w: f, name: "file", file: f}, nil
}

// NewWriter returns a sink writing to w, named name. Close does not close
// w: the caller owns it.
func NewWriter(w io.Writer, name string) sinks.Sink {
	return &sink{w: w, name: name}
}

func (s *sink) Name() string { return s.name }

// Send writes the alert as one line in a single Write, so concurrent
// writers appending to the same file do not interleave within a line.
// encoding/json escapes control characters inside strings, so the
// object itself never contains a newline.
func (s *sink) Send(ctx context.Context, a *event.Alert) error {
	if a == nil {
		return fmt.Errorf("%s: nil alert", s.name)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: alert %s: %w", s.name, a.Event.ID, err)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	// Command lines are full of < > &; keep them readable.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(a); err != nil {
		return fmt.Errorf("%s: encode alert %s: %w", s.name, a.Event.ID, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("%s: write alert %s: %w", s.name, a.Event.ID, err)
	}
	if s.file != nil {
		// Alerts are few and each matters: one that was written survives a
		// crash.
		if err := s.file.Sync(); err != nil {
			return fmt.Errorf("%s: sync alert %s: %w", s.name, a.Event.ID, err)
		}
	}
	return nil
}

func (s *sink) Close() error {
	if s.file == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.file.Close(); err != nil {
		return fmt.Errorf("%s: %w", s.name, err)
	}
	return nil
}
