package collector

import (
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weft-dev/weft/event"

	"github.com/weft-dev/weft/internal/repotest"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// fixedNow keeps Origin.Received out of golden comparisons.
var fixedNow = func() time.Time { return time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC) }

// repoRoot is the folder holding go.mod.
func repoRoot(t testing.TB) string {
	return repotest.Root(t)
}

// corpusDir is ../shared/corpus/<sub> beside the repository; the test is
// skipped when it is absent.
func corpusDir(t testing.TB, sub string) string {
	t.Helper()
	dir := filepath.Join(repoRoot(t), "..", "shared", "corpus", sub)
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("corpus %s absent (%v); skipping", dir, err)
	}
	return dir
}

func fixture(t testing.TB, name string) string {
	t.Helper()
	return filepath.Join(repoRoot(t), "testdata", "xml", name)
}

// result is what one read produced.
type result struct {
	events []*event.Raw
	errs   []*Error
	stats  Stats
	err    error
}

func (r result) ids() []uint64 {
	var ids []uint64
	for _, e := range r.events {
		ids = append(ids, e.RecordID)
	}
	return ids
}

func (r result) errorText() string {
	var b strings.Builder
	for _, e := range r.errs {
		b.WriteString(e.Error())
		b.WriteByte('\n')
	}
	return b.String()
}

// collect gathers emitted events and reports, checking that every report
// is an *Error.
func collect(t testing.TB) (EmitFunc, ReportFunc, *result) {
	t.Helper()
	res := &result{}
	emit := func(r *event.Raw) error {
		res.events = append(res.events, r)
		return nil
	}
	report := func(err error) {
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("report got %T %v, want *Error", err, err)
			return
		}
		res.errs = append(res.errs, e)
	}
	return emit, report, res
}

func readXMLString(t testing.TB, s string, opts Options) result {
	t.Helper()
	emit, report, res := collect(t)
	res.stats, res.err = ReadXML(context.Background(), strings.NewReader(s), "test.xml", opts, emit, report)
	return *res
}

func readEVTXBytes(t testing.TB, b []byte, opts Options) result {
	t.Helper()
	emit, report, res := collect(t)
	res.stats, res.err = ReadEVTX(context.Background(), strings.NewReader(string(b)), int64(len(b)), "test.evtx", opts, emit, report)
	return *res
}
