package collector

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weft-dev/weft/event"
)

// TestBadInputs reads a folder of broken files the way weft dump does:
// expand, then read each. Every broken file gives one-line errors that
// name it, and the good files around them are read whole.
func TestBadInputs(t *testing.T) {
	t.Parallel()
	good := buildEVTX(buildChunk(testRecords(1, 10)), buildChunk(testRecords(11, 20)))
	claims := buildEVTX(buildChunk(testRecords(1, 10)))
	binary.LittleEndian.PutUint16(claims[42:], 9)
	random := buildEVTX(buildChunk(testRecords(1, 10)), buildChunk(testRecords(11, 20)))
	rng := rand.New(rand.NewPCG(7, 7))
	for i := fileHeaderSize + chunkSize + 600; i < fileHeaderSize+chunkSize+4000; i++ {
		random[i] = byte(rng.Uint32())
	}
	noise := make([]byte, 3*chunkSize)
	for i := range noise {
		noise[i] = byte(rng.Uint32())
	}
	root := writeTree(t, map[string]string{
		"cases/a-good.evtx":            string(good),
		"cases/b-truncated.evtx":       string(good[:fileHeaderSize+chunkSize+5000]),
		"cases/c-empty.evtx":           "",
		"cases/d-not-evtx.evtx":        string(noise),
		"cases/e-claims-9-chunks.evtx": string(reseal(claims)),
		"cases/f-random-bytes.evtx":    string(random),
		"cases/gone/g.evtx":            string(good),
		"cases/z-good.xml":             ev(1, ""),
	})
	inputs := Expand([]string{filepath.Join(root, "cases")}, func(err error) { t.Errorf("expand: %v", err) })
	if len(inputs) != 8 {
		t.Fatalf("expanded to %d inputs: %v", len(inputs), inputs)
	}
	// The folder goes away between listing and reading.
	if err := os.RemoveAll(filepath.Join(root, "cases", "gone")); err != nil {
		t.Fatal(err)
	}
	records := map[string]int{}
	reports := map[string][]string{}
	for _, in := range inputs {
		name := filepath.Base(in.Path)
		report := func(err error) { reports[name] = append(reports[name], err.Error()) }
		st, err := ReadInput(context.Background(), in, Options{}, func(*event.Raw) error { records[name]++; return nil }, report)
		if err != nil {
			if !IsInputError(err) {
				t.Fatalf("%s: %v is not an input error", name, err)
			}
			report(err)
		}
		if st.Records != records[name] {
			t.Errorf("%s: stats %+v, %d emitted", name, st, records[name])
		}
	}
	want := map[string]struct {
		records int
		reports []string
	}{
		"a-good.evtx":            {20, nil},
		"b-truncated.evtx":       {10 + 2, []string{"chunk 1: offset 0x11000: chunk truncated to 5000 bytes", "chunk 1: record 13: offset 0x"}},
		"c-empty.evtx":           {0, []string{"c-empty.evtx: offset 0x0: empty file (0 bytes)"}},
		"d-not-evtx.evtx":        {0, []string{"offset 0x0: not an event log: neither the EVTX file header (it starts with"}},
		"e-claims-9-chunks.evtx": {10, []string{"offset 0x11000: file header declares 9 chunks, the file ends after 1: it was cut short"}},
		"g.evtx":                 {0, []string{"g.evtx: no such file or directory"}},
		"z-good.xml":             {1, nil},
	}
	for name, w := range want {
		if records[name] != w.records {
			t.Errorf("%s: %d records, want %d", name, records[name], w.records)
		}
		if len(reports[name]) != len(w.reports) {
			t.Errorf("%s: reports %q, want %q", name, reports[name], w.reports)
			continue
		}
		for i, r := range reports[name] {
			if !strings.HasPrefix(r, filepath.Join(root, "cases")) || !strings.Contains(r, w.reports[i]) || strings.Contains(r, "\n") {
				t.Errorf("%s: report %q, want one line naming the file and saying %q", name, r, w.reports[i])
			}
		}
	}
	// Random bytes inside a chunk: the first chunk whole, then whatever of
	// the second survives, and the damage reported.
	if n := records["f-random-bytes.evtx"]; n < 10 || n >= 20 || len(reports["f-random-bytes.evtx"]) == 0 {
		t.Errorf("random bytes: %d records, reports %q", n, reports["f-random-bytes.evtx"])
	}
}

func TestReadUnreadableFile(t *testing.T) {
	t.Parallel()
	if os.Geteuid() == 0 {
		t.Skip("permissions do not stop root (cmd/weft tests this as an unprivileged user)")
	}
	root := writeTree(t, map[string]string{"locked.evtx": string(buildEVTX(buildChunk(testRecords(1, 2))))})
	path := filepath.Join(root, "locked.evtx")
	if err := os.Chmod(path, 0); err != nil {
		t.Fatal(err)
	}
	_, err := ReadFile(context.Background(), path, Options{}, func(*event.Raw) error { return nil }, nil)
	if !IsInputError(err) || err.Error() != path+": permission denied" {
		t.Errorf("got %v", err)
	}
}
