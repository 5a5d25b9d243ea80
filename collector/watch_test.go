package collector

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// fakeWatch drives a watcher by hand: list, then move the clock.
type fakeWatch struct {
	t       *testing.T
	w       *watcher
	now     time.Time
	read    []string // base names, in the order read
	reports []string
	fail    map[string]error // what read returns for a base name
}

func newFakeWatch(t *testing.T, dir, pattern string) *fakeWatch {
	f := &fakeWatch{t: t, now: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC), fail: map[string]error{}}
	cfg := WatchConfig{Dir: dir, Pattern: pattern, Settle: 5 * time.Second, Now: func() time.Time { return f.now }}
	f.w = &watcher{cfg: cfg, files: map[string]*watched{}, report: func(err error) { f.reports = append(f.reports, err.Error()) }}
	return f
}

// scan lists the folder after d has passed and returns what it read.
func (f *fakeWatch) scan(d time.Duration) []string {
	f.t.Helper()
	f.now = f.now.Add(d)
	before := len(f.read)
	err := f.w.scan(context.Background(), func(_ context.Context, in Input) error {
		f.read = append(f.read, filepath.Base(in.Path))
		return f.fail[filepath.Base(in.Path)]
	})
	if err != nil {
		f.t.Fatalf("scan: %v", err)
	}
	return f.read[before:]
}

func writeAged(t *testing.T, path string, data []byte, mtime time.Time) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

func TestWatchOrderAndSettle(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	evtxData := buildEVTX(buildChunk(testRecords(1, 2)))
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	writeAged(t, filepath.Join(dir, "Archive-Security-2.evtx"), evtxData, base.Add(2*time.Hour))
	writeAged(t, filepath.Join(dir, "Archive-Security-1.evtx"), evtxData, base.Add(time.Hour))
	writeAged(t, filepath.Join(dir, "sub", "Archive-System-1.evtx"), evtxData, base.Add(time.Hour))
	writeAged(t, filepath.Join(dir, "Security.evtx"), evtxData, base) // the live log: not matched
	f := newFakeWatch(t, dir, "Archive-*.evtx")

	if got := f.scan(0); len(got) != 0 {
		t.Fatalf("read %v before the files settled", got)
	}
	// Oldest first; equal times by path.
	if got := f.scan(5 * time.Second); !slices.Equal(got, []string{"Archive-Security-1.evtx", "Archive-System-1.evtx", "Archive-Security-2.evtx"}) {
		t.Fatalf("read %v", got)
	}
	if got := f.scan(time.Minute); len(got) != 0 {
		t.Fatalf("read again: %v", got)
	}

	// A file being written is read once it stops growing.
	growing := filepath.Join(dir, "Archive-Security-3.evtx")
	writeAged(t, growing, nil, base.Add(3*time.Hour)) // created empty
	f.scan(10 * time.Second)
	writeAged(t, growing, evtxData[:fileHeaderSize], base.Add(4*time.Hour))
	if got := f.scan(4 * time.Second); len(got) != 0 {
		t.Fatalf("read %v while it was written", got)
	}
	writeAged(t, growing, evtxData, base.Add(5*time.Hour))
	if got := f.scan(4 * time.Second); len(got) != 0 {
		t.Fatalf("read %v while it was written", got)
	}
	if got := f.scan(5 * time.Second); !slices.Equal(got, []string{"Archive-Security-3.evtx"}) {
		t.Fatalf("read %v", got)
	}
	// Changed after it was read: read again.
	writeAged(t, growing, append(slices.Clone(evtxData), evtxData[fileHeaderSize:]...), base.Add(6*time.Hour))
	f.scan(time.Second)
	if got := f.scan(5 * time.Second); !slices.Equal(got, []string{"Archive-Security-3.evtx"}) {
		t.Fatalf("changed file: read %v", got)
	}
	if len(f.reports) != 0 {
		t.Errorf("reports: %q", f.reports)
	}
}

func TestWatchProblems(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	dir := filepath.Join(root, "drop")
	old := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	writeAged(t, filepath.Join(dir, "a.evtx"), buildEVTX(buildChunk(testRecords(1, 2))), old)
	writeAged(t, filepath.Join(dir, "notes.txt"), []byte("not a log"), old)
	writeAged(t, filepath.Join(dir, "b.evtx"), buildEVTX(buildChunk(testRecords(3, 4))), old.Add(time.Hour))
	f := newFakeWatch(t, dir, "")
	f.fail["a.evtx"] = &Error{Path: "a.evtx", Chunk: -1, Offset: -1, Err: errors.New("unreadable")}
	f.scan(0)
	// An input error is reported and the watch goes on; notes.txt is
	// skipped quietly.
	if got := f.scan(5 * time.Second); !slices.Equal(got, []string{"a.evtx", "b.evtx"}) {
		t.Fatalf("read %v", got)
	}
	if len(f.reports) != 1 || f.reports[0] != "a.evtx: unreadable" {
		t.Fatalf("reports %q", f.reports)
	}
	// The folder goes away: reported once, however long it stays away.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	f.reports = nil
	for range 3 {
		f.scan(5 * time.Second)
	}
	if len(f.reports) != 1 || !strings.Contains(f.reports[0], "drop: watched folder: no such file or directory; watching on") {
		t.Fatalf("reports %q", f.reports)
	}
	// It comes back with a new file: read as if nothing happened.
	writeAged(t, filepath.Join(dir, "c.evtx"), buildEVTX(buildChunk(testRecords(5, 6))), old)
	f.scan(time.Second)
	if got := f.scan(5 * time.Second); !slices.Equal(got, []string{"c.evtx"}) {
		t.Fatalf("read %v", got)
	}
	// A bus failure stops the watch.
	writeAged(t, filepath.Join(dir, "d.evtx"), buildEVTX(buildChunk(testRecords(7, 8))), old)
	f.fail["d.evtx"] = errors.New("bus down")
	f.scan(time.Second)
	f.now = f.now.Add(5 * time.Second)
	err := f.w.scan(context.Background(), func(_ context.Context, in Input) error { return f.fail[filepath.Base(in.Path)] })
	if err == nil || err.Error() != "bus down" {
		t.Errorf("scan returned %v, want the bus failure", err)
	}
}

// TestWatch runs the real loop briefly: files are read, and it ends with
// its context.
func TestWatch(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeAged(t, filepath.Join(dir, "a.evtx"), buildEVTX(buildChunk(testRecords(1, 2))), time.Now())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	read := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- Watch(ctx, WatchConfig{Dir: dir, Settle: 50 * time.Millisecond, Interval: 10 * time.Millisecond}, nil, func(_ context.Context, in Input) error {
			read <- filepath.Base(in.Path)
			return nil
		})
	}()
	select {
	case name := <-read:
		if name != "a.evtx" {
			t.Errorf("read %s", name)
		}
	case <-ctx.Done():
		t.Fatal("file never read")
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Watch returned %v", err)
	}
	if err := Watch(ctx, WatchConfig{Dir: dir, Pattern: "["}, nil, nil); err == nil {
		t.Error("bad pattern accepted")
	}
}
