package collector

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/weft-dev/weft/event"
)

// checkRead runs read and asserts what must hold for any input: no panic
// (the fuzzer catches those), located reports, stats that agree.
func checkRead(t *testing.T, size int, read func(EmitFunc, ReportFunc) (Stats, error)) {
	var events, reports int
	stats, err := read(func(r *event.Raw) error {
		events++
		if r.Origin.Offset < 0 || r.Origin.Offset >= int64(size) {
			t.Errorf("origin offset %d outside the %d-byte input", r.Origin.Offset, size)
		}
		return nil
	}, func(err error) {
		reports++
		var e *Error
		if !errors.As(err, &e) || e.Path == "" || e.Err == nil {
			t.Errorf("report %v is not a located *Error", err)
		}
	})
	if err != nil {
		t.Errorf("read failed: %v", err)
	}
	if stats.Records != events || stats.Errors != reports {
		t.Errorf("stats %+v, saw %d events and %d reports", stats, events, reports)
	}
}

func FuzzReadXML(f *testing.F) {
	for _, name := range []string{"mmc-positive.xml", "wrapped.xml", "malformed.xml", "negative/child-first.xml"} {
		if b, err := os.ReadFile(fixture(f, name)); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(ev(1, `<Data Name="a">x</Data><Data>y</Data>`) + ev(2, "")))
	f.Add([]byte(utf16LE(ev(3, ""), true)))
	f.Add([]byte(`<!DOCTYPE x [<!ENTITY a "b">]><Events><Event><System><EventID>1</EventID></System><UserData><A B="c"><D>e</D></A></UserData></Event></Events>`))
	f.Add([]byte("<Event><System><EventID>1</EventID></System><Event><System/></Event>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkRead(t, len(data)+1, func(emit EmitFunc, report ReportFunc) (Stats, error) {
			return ReadXML(context.Background(), bytes.NewReader(data), "fuzz.xml", Options{KeepXML: true, MaxEventSize: 4096}, emit, report)
		})
	})
}

func FuzzReadEVTX(f *testing.F) {
	f.Add(buildEVTX(buildChunk(testRecords(1, 3))))
	f.Add(buildEVTX(buildChunk(testRecords(1, 1)))[:fileHeaderSize+2000])
	// A few small real files, when the corpus is there.
	dir := filepath.Join(repoRoot(f), "..", "shared", "corpus", "evtx-dirty")
	for _, name := range []string{"Application_no_crc32.evtx", "Microsoft-Windows-HelloForBusiness%4Operational.evtx", "issue_201.evtx", "new-user-security.evtx"} {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkRead(t, len(data), func(emit EmitFunc, report ReportFunc) (Stats, error) {
			return ReadEVTX(context.Background(), bytes.NewReader(data), int64(len(data)), "fuzz.evtx", Options{KeepXML: true}, emit, report)
		})
	})
}
