package logagg

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// lines collects what a Writer writes, safely for concurrent writers.
type lines struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// records decodes every line written.
func (l *lines) records(t *testing.T) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// count is how many logged lines the records stand for, per value of field.
func count(recs []map[string]any, field string) map[string]int {
	out := map[string]int{}
	for _, r := range recs {
		n := 1
		if v, ok := r["repeated"].(float64); ok {
			n = int(v)
		}
		out[fmt.Sprint(r[field])] += n
	}
	return out
}

func TestBurstIsBounded(t *testing.T) {
	t.Parallel()
	out := &lines{}
	w := New(out, Options{Interval: time.Hour})
	log := zerolog.New(w).With().Timestamp().Str("peer", "10.0.0.1:5000").Logger()
	const goroutines, each = 10, 1000
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				log.Warn().Int("n", g*each+i).Msg("skipped event")
			}
		})
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	recs := out.records(t)
	if len(recs) != DefaultBurst+1 {
		t.Errorf("%d lines for %d warnings, want %d", len(recs), goroutines*each, DefaultBurst+1)
	}
	if got := count(recs, "message"); got["skipped event"] != goroutines*each || len(got) != 1 {
		t.Errorf("counts %v, want %d", got, goroutines*each)
	}
	last := recs[len(recs)-1]
	if last["repeated"] != float64(goroutines*each-DefaultBurst) || last["peer"] != "10.0.0.1:5000" || last["level"] != "warn" || last["repeated_in"] == nil {
		t.Errorf("summary line %v", last)
	}
}

func TestSourcesStayApart(t *testing.T) {
	t.Parallel()
	for _, field := range []string{"peer", "file", "listener", "source"} {
		t.Run(field, func(t *testing.T) {
			t.Parallel()
			out := &lines{}
			w := New(out, Options{Interval: time.Hour, Burst: 2})
			log := zerolog.New(w)
			for i := range 300 {
				src := fmt.Sprintf("src-%d", i%3)
				log.Warn().Str(field, src).Msg("skipped event")
				log.Error().Str(field, src).Msg("skipped event") // another level, another kind
				log.Warn().Str(field, src).Msg("other message")
			}
			log.Info().Str(field, "src-0").Msg("info passes")
			w.Close()
			recs := out.records(t)
			// 3 sources × 3 kinds × (burst + summary), and the info line.
			if len(recs) != 3*3*3+1 {
				t.Errorf("%d lines, want %d", len(recs), 3*3*3+1)
			}
			per := map[string]int{}
			for _, r := range recs {
				n := 1
				if v, ok := r["repeated"].(float64); ok {
					n = int(v)
				}
				per[fmt.Sprint(r["level"], "/", r[field], "/", r["message"])] += n
			}
			for i := range 3 {
				for _, k := range []string{"warn/src-%d/skipped event", "error/src-%d/skipped event", "warn/src-%d/other message"} {
					if k := fmt.Sprintf(k, i); per[k] != 100 {
						t.Errorf("%s: %d lines, want 100", k, per[k])
					}
				}
			}
		})
	}
}

// TestIntervals: the goroutine writes the summaries every interval,
// however many intervals the lines span, and none is lost.
func TestIntervals(t *testing.T) {
	t.Parallel()
	out := &lines{}
	w := New(out, Options{Interval: 20 * time.Millisecond, Burst: 1})
	log := zerolog.New(w)
	for range 100 {
		log.Warn().Msg("again")
	}
	deadline := time.Now().Add(time.Minute)
	for count(out.records(t), "message")["again"] < 100 {
		if time.Now().After(deadline) {
			t.Fatalf("the summary was not written within a minute: %v", out.records(t))
		}
		time.Sleep(time.Millisecond)
	}
	w.Close()
	select {
	case <-w.done:
	default:
		t.Error("the goroutine still runs after Close")
	}
	if got := count(out.records(t), "message")["again"]; got != 100 {
		t.Errorf("%d lines counted, want 100", got)
	}
}

// TestFlushStartsAnInterval: after a Flush a kind of line has its burst
// again; after Close lines pass through, and Close again is harmless.
func TestFlushStartsAnInterval(t *testing.T) {
	t.Parallel()
	out := &lines{}
	w := New(out, Options{Interval: time.Hour, Burst: 1})
	log := zerolog.New(w)
	for range 10 {
		log.Warn().Msg("again")
	}
	w.Flush()
	log.Warn().Msg("again")
	w.Close()
	recs := out.records(t)
	if len(recs) != 3 || recs[1]["repeated"] != float64(9) || recs[2]["repeated"] != nil {
		t.Errorf("lines %v", recs)
	}
	for range 10 {
		log.Warn().Msg("again")
	}
	w.Close()
	if n := len(out.records(t)); n != 13 {
		t.Errorf("%d lines after close, want 13", n)
	}
}

// TestKeysBounded: many sources share an overflow count past MaxKeys, and
// still no line is lost from the counts.
func TestKeysBounded(t *testing.T) {
	t.Parallel()
	out := &lines{}
	w := New(out, Options{Interval: time.Hour, Burst: 1, MaxKeys: 8})
	log := zerolog.New(w)
	for i := range 10_000 {
		log.Warn().Str("peer", fmt.Sprintf("10.0.%d.%d:1234", i/250, i%250)).Msg("skipped event")
	}
	w.Close()
	recs := out.records(t)
	if len(recs) > 2*8+2 {
		t.Errorf("%d lines, want at most %d", len(recs), 2*8+2)
	}
	if got := count(recs, "message"); got["skipped event"] != 10_000 {
		t.Errorf("counts %v", got)
	}
	if len(w.keys) != 0 {
		t.Errorf("%d keys left after close", len(w.keys))
	}
}

func TestPassesThrough(t *testing.T) {
	t.Parallel()
	out := &lines{}
	w := New(out, Options{Interval: time.Hour, Burst: 1})
	for range 3 {
		fmt.Fprintln(w, "not json")
		w.WriteLevel(zerolog.WarnLevel, []byte("not json either\n"))
		w.WriteLevel(zerolog.DebugLevel, []byte(`{"message":"debug"}`+"\n"))
	}
	w.Close()
	if got := out.buf.String(); strings.Count(got, "not json\n") != 3 || strings.Count(got, "not json either\n") != 3 || strings.Count(got, "debug") != 3 {
		t.Errorf("output %q", got)
	}
}

// TestErrorKinds: errors that differ only in their numbers are one kind of
// line, errors that say different things are two.
func TestErrorKinds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ a, b string }{
		{"x.evtx: chunk 3: record 48211: offset 0x1f00: bad tag", "x.evtx: chunk 4: record 48212: offset 0x2f00: bad tag"},
		{"x.xml:12: element <Computer> closed by </Channel>", "x.xml:7001: element <Computer> closed by </Channel>"},
	} {
		if shape([]byte(tc.a)) != shape([]byte(tc.b)) {
			t.Errorf("%q and %q are two kinds: %q, %q", tc.a, tc.b, shape([]byte(tc.a)), shape([]byte(tc.b)))
		}
	}
	out := &lines{}
	w := New(out, Options{Interval: time.Hour, Burst: 1})
	log := zerolog.New(w)
	for i := range 100 {
		log.Warn().Str("file", "x.evtx").Err(fmt.Errorf("record %d: bad tag", i)).Msg("skipped")
		log.Warn().Str("file", "x.evtx").Err(fmt.Errorf("record %d: bad checksum", i)).Msg("skipped")
	}
	w.Close()
	recs := out.records(t)
	for _, r := range recs {
		r["error"] = r["error"].(string)[strings.Index(r["error"].(string), ": ")+2:]
	}
	if got := count(recs, "error"); len(recs) != 4 || got["bad tag"] != 100 || got["bad checksum"] != 100 {
		t.Errorf("%d lines, counts by error %v", len(recs), got)
	}
}
