package collector

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/weft-dev/weft/event"
)

// outcome is what a read produced, in order, as text to compare.
func outcome(t *testing.T, data []byte, opts Options) []string {
	t.Helper()
	var out []string
	_, err := ReadEVTX(context.Background(), bytes.NewReader(data), int64(len(data)), "x.evtx", opts, func(r *event.Raw) error {
		out = append(out, fmt.Sprintf("event %d at %#x", r.RecordID, r.Origin.Offset))
		return nil
	}, func(err error) { out = append(out, "error "+err.Error()) })
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestReadEVTXWorkersAgree reads damaged samples on one worker and on
// several: the events and errors, and their order, must be the same.
func TestReadEVTXWorkersAgree(t *testing.T) {
	t.Parallel()
	dir := corpusDir(t, "evtx-dirty")
	for _, name := range []string{
		"2-vss_0-Microsoft-Windows-RemoteDesktopServices-RdpCoreTS%4Operational.evtx",
		"sample_with_a_bad_chunk_magic.evtx",
		"E_Windows_system32_winevt_logs_Microsoft-Windows-CAPI2%4Operational.evtx",
		"system.evtx",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			one := outcome(t, data, Options{Workers: 1})
			many := outcome(t, data, Options{Workers: 5})
			if !slices.Equal(one, many) {
				t.Errorf("one worker and five differ:\n%s\n---\n%s", strings.Join(one, "\n"), strings.Join(many, "\n"))
			}
		})
	}
}

// virtualEVTX is a large EVTX file that exists only as its parts: a header
// and one chunk repeated, so reading it costs no memory of its own.
type virtualEVTX struct {
	header, chunk []byte
	size          int64
}

func (v *virtualEVTX) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) && off < v.size {
		var src []byte
		if off < fileHeaderSize {
			src = v.header[off:]
		} else {
			src = v.chunk[(off-fileHeaderSize)%chunkSize:]
		}
		c := copy(p[n:], src[:min(int64(len(src)), v.size-off)])
		n += c
		off += int64(c)
	}
	if n < len(p) {
		return n, fmt.Errorf("EOF at %d: %w", off, io.EOF)
	}
	return n, nil
}

// TestReadEVTXMemoryBounded reads an 88 MiB file of 42000 events and checks
// the heap stays small: chunks are read into a fixed pool of buffers, and
// decoded chunks wait in a bounded queue, so neither the file nor its
// events pile up (either would be more than 40 MiB).
func TestReadEVTXMemoryBounded(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("reads 88 MiB; under the race detector heap figures mean little and it takes long")
	}
	const chunks, perChunk = 1400, 30
	chunk := buildChunk(testRecords(1, perChunk))
	f := &virtualEVTX{header: buildEVTX()[:fileHeaderSize], chunk: chunk, size: fileHeaderSize + chunks*chunkSize}
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak uint64
	n := 0
	stats, err := ReadEVTX(context.Background(), f, f.size, "big.evtx", Options{Workers: 4, KeepXML: true}, func(*event.Raw) error {
		if n++; n%1000 == 0 {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapAlloc)
		}
		return nil
	}, nil)
	if err != nil || stats.Records != chunks*perChunk || stats.Bytes != f.size {
		t.Fatalf("%+v %v", stats, err)
	}
	if grown := int64(peak) - int64(base.HeapAlloc); grown > 24<<20 {
		t.Errorf("heap grew by %d MiB reading a %d MiB file", grown>>20, f.size>>20)
	}
}
