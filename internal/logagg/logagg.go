// Package logagg keeps repeated log lines from flooding the log. A Writer
// wraps the process's log writer (zerolog JSON lines): lines of one kind —
// the same level, message, source fields (peer, file, listener ...) and
// error but for its numbers (record, line, offset) —
// pass as they come up to a burst per interval; beyond it they are counted,
// and at the end of the interval one line stands for them: the first one
// held back, with "repeated" (how many lines it stands for) and
// "repeated_in" (over how long). An input that makes a warning per event
// thus makes a few lines per interval, however fast it comes, while
// distinct sources stay apart.
package logagg

import (
	"bytes"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Defaults of Options.
const (
	DefaultInterval = 10 * time.Second
	DefaultBurst    = 5
	DefaultMaxKeys  = 1024
)

// Options tune a Writer. Zero fields take the defaults.
type Options struct {
	// Interval is how often held-back lines are summed up in one line.
	Interval time.Duration
	// Burst is how many lines of one kind pass per interval.
	Burst int
	// MaxKeys bounds the kinds of line tracked at once. Past it, a new
	// kind is counted with the others of its level and message, whatever
	// its source (and, past twice as many, with the others of its level).
	MaxKeys int
	// MinLevel: lines below pass untouched (debug and trace are asked for
	// when every line is wanted). Zero means zerolog.WarnLevel.
	MinLevel zerolog.Level
	// Fields name the fields that tell sources apart (nil: SourceFields).
	Fields []string
}

// SourceFields are the fields weft's stages put on a line to say where its
// cause came from.
func SourceFields() []string {
	return []string{"source", "listener", "peer", "file", "path", "sink", "consumer", "stage", "rule", "partition"}
}

// Writer is a zerolog.LevelWriter that aggregates repeated lines. It is
// safe for concurrent use; logging never waits for the summaries, which a
// goroutine writes every interval until Close.
type Writer struct {
	out    zerolog.LevelWriter
	opts   Options
	outMu  sync.Mutex // one line at a time, whoever writes it
	mu     sync.Mutex
	keys   map[string]*entry
	since  time.Time // start of the current interval
	closed bool
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once
}

// entry is one kind of line in the current interval.
type entry struct {
	level  zerolog.Level
	passed int
	held   uint64
	first  []byte // the first line held back
}

// New wraps out and starts the goroutine that writes the summaries; Close
// ends it.
func New(out io.Writer, opts Options) *Writer {
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	if opts.Burst <= 0 {
		opts.Burst = DefaultBurst
	}
	if opts.MaxKeys <= 0 {
		opts.MaxKeys = DefaultMaxKeys
	}
	if opts.MinLevel == zerolog.DebugLevel { // the zero Level
		opts.MinLevel = zerolog.WarnLevel
	}
	if opts.Fields == nil {
		opts.Fields = SourceFields()
	}
	lw, ok := out.(zerolog.LevelWriter)
	if !ok {
		lw = zerolog.LevelWriterAdapter{Writer: out}
	}
	w := &Writer{out: lw, opts: opts, keys: map[string]*entry{}, since: time.Now(),
		stop: make(chan struct{}), done: make(chan struct{})}
	go w.run()
	return w
}

func (w *Writer) run() {
	defer close(w.done)
	t := time.NewTicker(w.opts.Interval)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
			w.Flush()
		}
	}
}

// Write passes a line without a level through.
func (w *Writer) Write(p []byte) (int, error) {
	w.outMu.Lock()
	defer w.outMu.Unlock()
	return w.out.Write(p)
}

// pass writes a line to out. Lines are written one at a time, as the
// goroutine writes summaries beside the callers.
func (w *Writer) pass(level zerolog.Level, p []byte) (int, error) {
	w.outMu.Lock()
	defer w.outMu.Unlock()
	return w.out.WriteLevel(level, p)
}

// WriteLevel passes the line on, or counts it when its kind has had its
// burst in this interval.
func (w *Writer) WriteLevel(level zerolog.Level, p []byte) (int, error) {
	if level < w.opts.MinLevel || level == zerolog.NoLevel {
		return w.pass(level, p)
	}
	msg, src, ok := w.kind(p)
	if !ok {
		return w.pass(level, p)
	}
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return w.pass(level, p)
	}
	e := w.entry(level, msg, src)
	if e.passed < w.opts.Burst {
		e.passed++
		w.mu.Unlock()
		return w.pass(level, p)
	}
	e.held++
	if e.first == nil {
		e.first = bytes.Clone(p)
	}
	w.mu.Unlock()
	return len(p), nil
}

// entry finds or makes the entry of a kind of line; the caller holds mu.
func (w *Writer) entry(level zerolog.Level, msg, src string) *entry {
	key := level.String() + "\x00" + msg + "\x00" + src
	if e, ok := w.keys[key]; ok {
		return e
	}
	if len(w.keys) >= w.opts.MaxKeys {
		key = level.String() + "\x00" + msg + "\x00\x00overflow"
		if e, ok := w.keys[key]; ok {
			return e
		}
		if len(w.keys) >= 2*w.opts.MaxKeys {
			key = level.String() + "\x00\x00overflow"
			if e, ok := w.keys[key]; ok {
				return e
			}
		}
	}
	e := &entry{level: level}
	w.keys[key] = e
	return e
}

// kind reads a line's message and source fields; ok is false for a line
// that is not a JSON object.
func (w *Writer) kind(p []byte) (msg, src string, ok bool) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(p, &fields); err != nil {
		return "", "", false
	}
	var b strings.Builder
	for _, f := range w.opts.Fields {
		if v, ok := fields[f]; ok {
			b.WriteString(f)
			b.WriteByte('=')
			b.Write(v)
			b.WriteByte(0)
		}
	}
	if v, ok := fields[zerolog.ErrorFieldName]; ok {
		b.WriteString("error~")
		b.WriteString(shape(v))
	}
	return string(fields[zerolog.MessageFieldName]), b.String(), true
}

// maxShape bounds the part of an error that tells kinds apart.
const maxShape = 256

// shape is an error's kind: its text with every word that holds a digit
// (a record number, a line, an offset such as 0x1f00) made "#", so that
// "record 12: bad tag" and "record 13: bad tag" are one kind of line and
// "bad tag" and "bad checksum" two.
func shape(raw []byte) string {
	raw = raw[:min(len(raw), maxShape)]
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); {
		j := i
		digit := false
		for j < len(raw) && isWord(raw[j]) {
			digit = digit || raw[j] >= '0' && raw[j] <= '9'
			j++
		}
		switch {
		case j == i:
			out = append(out, raw[i])
			j++
		case digit:
			out = append(out, '#')
		default:
			out = append(out, raw[i:j]...)
		}
		i = j
	}
	return string(out)
}

func isWord(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}

// Flush writes one line for each kind of line held back since the last
// Flush, and starts a new interval. The goroutine calls it every interval.
func (w *Writer) Flush() {
	w.mu.Lock()
	held, over := w.take()
	w.mu.Unlock()
	w.write(held, over)
}

// take empties the table and returns the entries with lines held back;
// the caller holds mu.
func (w *Writer) take() ([]*entry, time.Duration) {
	over := time.Since(w.since)
	w.since = time.Now()
	var held []*entry
	for k, e := range w.keys {
		if e.held > 0 {
			held = append(held, e)
		}
		delete(w.keys, k)
	}
	return held, over
}

func (w *Writer) write(held []*entry, over time.Duration) {
	for _, e := range held {
		_, _ = w.pass(e.level, summary(e, over))
	}
}

// summary is the first line held back with the count of the lines it
// stands for.
func summary(e *entry, over time.Duration) []byte {
	line := bytes.TrimRight(e.first, " \r\n")
	if len(line) < 2 || line[len(line)-1] != '}' {
		return e.first
	}
	out := make([]byte, 0, len(line)+64)
	out = append(out, line[:len(line)-1]...)
	if len(bytes.TrimSpace(line[1:len(line)-1])) > 0 {
		out = append(out, ',')
	}
	out = append(out, `"repeated":`...)
	out = strconv.AppendUint(out, e.held, 10)
	out = append(out, `,"repeated_in":"`...)
	out = append(out, over.Round(time.Millisecond).String()...)
	out = append(out, "\"}\n"...)
	return out
}

// Close writes what is held back and ends the goroutine; later lines pass
// through. It may be called more than once.
func (w *Writer) Close() error {
	w.once.Do(func() {
		close(w.stop)
		<-w.done
		w.mu.Lock()
		w.closed = true
		held, over := w.take()
		w.mu.Unlock()
		w.write(held, over)
	})
	return nil
}
