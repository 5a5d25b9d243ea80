package collector

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/weft-dev/weft/internal/confkey"
)

// DefaultSettle is how long a watched file must stay unchanged before it
// is read, when WatchConfig.Settle is zero.
const DefaultSettle = 5 * time.Second

// WatchConfig says which folder to watch and when a file in it is ready.
type WatchConfig struct {
	// Dir is the folder, watched with its subfolders.
	Dir string
	// Pattern selects files by base name (filepath.Match syntax, e.g.
	// "Archive-*.evtx"); empty means every file. Files that are neither
	// EVTX nor XML are skipped quietly, as Expand does.
	Pattern string
	// Settle is how long a file's size and modification time must stay
	// the same before it is read: Windows and copy tools write a file
	// over time, and a file read too early is read again when it changes.
	// Zero means DefaultSettle.
	Settle time.Duration
	// Interval is how often the folder is listed; zero means a fifth of
	// Settle, at most one second.
	Interval time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (c WatchConfig) settle() time.Duration {
	if c.Settle > 0 {
		return c.Settle
	}
	return DefaultSettle
}

func (c WatchConfig) interval() time.Duration {
	if c.Interval > 0 {
		return c.Interval
	}
	return min(c.settle()/5, time.Second)
}

func (c WatchConfig) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Validate reports a configuration that cannot work: every problem, each
// with its key in weft.yaml's watch source (confkey).
func (c WatchConfig) Validate() error {
	var errs []error
	if c.Dir == "" {
		errs = append(errs, confkey.Errorf("path", "is required: the folder to watch"))
	}
	if _, err := filepath.Match(c.Pattern, ""); err != nil {
		errs = append(errs, confkey.Errorf("pattern", "%q is not a file name pattern such as Archive-*.evtx", c.Pattern))
	}
	if c.Settle < 0 {
		errs = append(errs, confkey.Errorf("settle", "must not be negative"))
	}
	if c.Interval < 0 {
		errs = append(errs, confkey.Errorf("interval", "must not be negative"))
	}
	return errors.Join(errs...)
}

// Watch lists cfg.Dir every interval and hands each file to read once it
// is complete: non-empty, and with the same size and modification time
// for cfg.Settle. Files ready together go oldest first (by modification
// time, then path); read is called for one file at a time. A file is read
// again only if it changes afterwards, which a Publisher with checkpoints
// turns into reading what was added (or nothing).
//
// Problems (the folder missing or unreadable, a file that cannot be
// opened, an input error returned by read) go to report, each once until
// it changes, and the watch goes on; files that are neither EVTX nor XML
// are skipped quietly. Watch returns when ctx ends, or with
// the first error from read that is not an input error (IsInputError),
// such as a bus failure.
func Watch(ctx context.Context, cfg WatchConfig, report ReportFunc, read func(context.Context, Input) error) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	w := &watcher{cfg: cfg, report: report, files: map[string]*watched{}}
	tick := time.NewTicker(cfg.interval())
	defer tick.Stop()
	for {
		if err := w.scan(ctx, read); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// watched is what the watcher knows of one file.
type watched struct {
	size    int64
	mtime   time.Time
	since   time.Time // when this size and mtime were first seen
	read    bool      // read (or given up on) with this size and mtime
	present bool      // seen in the latest listing
}

type watcher struct {
	cfg    WatchConfig
	report ReportFunc
	files  map[string]*watched
	// problems are the folder problems of the latest listing; each is
	// reported when it appears, not at every listing.
	problems map[string]bool
}

func (w *watcher) fail(path string, err error) {
	if w.report != nil {
		w.report(fileError(path, err))
	}
}

// scan lists the folder once and reads the files that are ready.
func (w *watcher) scan(ctx context.Context, read func(context.Context, Input) error) error {
	now := w.cfg.now()
	for _, f := range w.files {
		f.present = false
	}
	problems := map[string]bool{}
	_ = filepath.WalkDir(w.cfg.Dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			// A folder that is missing, unreadable or gone mid-listing.
			e := fileError(path, err)
			key := e.Error()
			problems[key] = true
			if !w.problems[key] && w.report != nil {
				e.Err = fmt.Errorf("watched folder: %w; watching on", e.Err)
				w.report(e)
			}
			if d != nil && d.IsDir() && path != w.cfg.Dir {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		if w.cfg.Pattern != "" {
			if ok, _ := filepath.Match(w.cfg.Pattern, d.Name()); !ok {
				return nil
			}
		}
		info, err := os.Stat(path) // follows a link to a file
		if err != nil || !info.Mode().IsRegular() {
			return nil
		}
		f := w.files[path]
		if f == nil || f.size != info.Size() || !f.mtime.Equal(info.ModTime()) {
			f = &watched{size: info.Size(), mtime: info.ModTime(), since: now}
			w.files[path] = f
		}
		f.present = true
		return nil
	})
	w.problems = problems
	for path, f := range w.files {
		if !f.present {
			delete(w.files, path)
		}
	}
	var ready []string
	for path, f := range w.files {
		if !f.read && f.size > 0 && now.Sub(f.since) >= w.cfg.settle() {
			ready = append(ready, path)
		}
	}
	slices.SortFunc(ready, func(a, b string) int {
		if c := w.files[a].mtime.Compare(w.files[b].mtime); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	for _, path := range ready {
		if err := ctx.Err(); err != nil {
			return err
		}
		w.files[path].read = true
		format, err := DetectFormat(path)
		if err != nil {
			if !errors.Is(err, ErrNotEventLog) {
				w.fail(path, err)
			}
			continue
		}
		if err := read(ctx, Input{Path: path, Format: format}); err != nil {
			if !IsInputError(err) {
				return err
			}
			if w.report != nil {
				w.report(err)
			}
		}
	}
	return nil
}
