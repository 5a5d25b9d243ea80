package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/weft-dev/weft/collector"
)

// progressEvery is how often the status line is redrawn (at most 5 times
// a second: a terminal does not need more, and a slow one drags).
const progressEvery = 200 * time.Millisecond

// progress keeps one status line at the bottom of a terminal while files
// are read: files and bytes done, events per second, errors, time left. It
// is also the writer the log goes through while it is shown, so that a log
// line clears the status line instead of running into it. A nil *progress
// does nothing.
type progress struct {
	out      io.Writer
	counters *collector.Counters
	files    int
	total    int64 // bytes of all inputs; 0 when unknown (standard input)
	start    time.Time
	now      func() time.Time

	mu    sync.Mutex // orders writes to out
	shown bool       // a status line is on screen

	stop chan struct{}
	done chan struct{}
}

// newProgress returns a progress display for inputs on out, or nil when
// none should be shown.
func newProgress(out io.Writer, show bool, inputs []collector.Input, counters *collector.Counters) *progress {
	if !show {
		return nil
	}
	p := &progress{out: out, counters: counters, files: len(inputs), now: time.Now}
	for _, in := range inputs {
		if info, err := os.Stat(in.Path); err == nil && in.Path != collector.Stdin {
			p.total += info.Size()
		}
	}
	return p
}

// run redraws the status line until finish is called.
func (p *progress) run() {
	if p == nil {
		return
	}
	p.start = p.now()
	p.stop, p.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(p.done)
		tick := time.NewTicker(progressEvery)
		defer tick.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-tick.C:
				p.draw()
			}
		}
	}()
}

// finish stops redrawing and clears the status line.
func (p *progress) finish() {
	if p == nil || p.stop == nil {
		return
	}
	close(p.stop)
	<-p.done
	p.stop = nil
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
}

func (p *progress) draw() {
	line := p.line(p.now())
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprint(p.out, "\r"+line+"\x1b[K")
	p.shown = true
}

func (p *progress) clear() {
	if p.shown {
		fmt.Fprint(p.out, "\r\x1b[K")
		p.shown = false
	}
}

// Write passes a log line through, clearing the status line first; the
// next tick draws it again below.
func (p *progress) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
	return p.out.Write(b)
}

// line renders the status: "3/10 files  12.3/45.6 MB  5432 events/s  2 errors  ETA 0:12".
func (p *progress) line(now time.Time) string {
	elapsed := now.Sub(p.start).Seconds()
	files := p.counters.Files.Load()
	bytes := p.counters.Bytes.Load()
	events := p.counters.Records.Load()
	errs := p.counters.Errors.Load()
	var b strings.Builder
	fmt.Fprintf(&b, "%d/%d files  ", files, p.files)
	if p.total > 0 {
		fmt.Fprintf(&b, "%s/%s  ", megabytes(bytes), megabytes(p.total))
	} else {
		fmt.Fprintf(&b, "%s  ", megabytes(bytes))
	}
	rate := 0.0
	if elapsed > 0 {
		rate = float64(events) / elapsed
	}
	fmt.Fprintf(&b, "%.0f events/s  %s", rate, plural(int(errs), "error"))
	if p.total > 0 && bytes > 0 && bytes < p.total && elapsed > 0 {
		left := time.Duration(float64(p.total-bytes) / (float64(bytes) / elapsed) * float64(time.Second))
		fmt.Fprintf(&b, "  ETA %s", clock(left))
	}
	return b.String()
}

func megabytes(n int64) string {
	return fmt.Sprintf("%.1f MB", float64(n)/1e6)
}

// clock writes d as m:ss or h:mm:ss.
func clock(d time.Duration) string {
	s := int(d.Round(time.Second).Seconds())
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// startProgress shows the status line on stderr for a batch command when
// stderr is a terminal and quiet is not set; when the command writes its
// results to stdout as it goes (streaming), only if stdout is not that
// terminal too. The log goes through the status line meanwhile. The
// returned function removes it; calling it again does nothing.
func (a *app) startProgress(quiet, streaming bool, inputs []collector.Input, counters *collector.Counters) func() {
	show := !quiet && isTerminal(a.stderr) && !(streaming && isTerminal(a.stdout))
	p := newProgress(a.stderr, show, inputs, counters)
	if p == nil {
		return func() {}
	}
	stderr, log := a.stderr, a.log
	a.stderr = p
	if err := a.setupLog(); err != nil {
		a.stderr, a.log = stderr, log
		return func() {}
	}
	p.run()
	var once sync.Once
	return func() {
		once.Do(func() {
			p.finish()
			a.stderr, a.log = stderr, log
		})
	}
}
