package collector

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestPublisherDuplicates reads a file, then the same content again under
// other names, with checkpoints (weft run) and without (weft hunt): a
// byte-identical copy beside the original is skipped, counted and told
// with both paths; the same path read again (a restart), or the original
// moved to a new name, is skipped without being called a copy; a copy cut
// short, or grown, is read.
func TestPublisherDuplicates(t *testing.T) {
	t.Parallel()
	evtx := buildEVTX(buildChunk(testRecords(1, 20)), buildChunk(testRecords(21, 45)))
	xml := []byte(`<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System><Provider Name="p"/><EventID>1</EventID><TimeCreated SystemTime="2026-11-20T10:14:31.5543210Z"/><EventRecordID>7</EventRecordID><Channel>c</Channel><Computer>h</Computer></System></Event>` + "\n")
	type step struct {
		name   string // file to read, under the test's folder
		data   []byte // written there first, unless nil
		moveTo string // instead: the file name is renamed to this, then that is read
		// what the read must do
		records    int // -1: not checked (resuming a cut copy is TestPublisherCheckpoints')
		duplicates int
		of         string // the file it duplicates
	}
	for _, tc := range []struct {
		name        string
		checkpoints bool
		format      Format
		steps       []step
	}{
		{"evtx with checkpoints", true, FormatEVTX, []step{
			{name: "Security.evtx", data: evtx, records: 45},
			{name: "Security.evtx"},
			{name: "copy/Security (1).evtx", data: evtx, duplicates: 1, of: "Security.evtx"},
			{name: "Security.evtx", moveTo: "Archive-Security.evtx"},
			{name: "cut.evtx", data: evtx[:fileHeaderSize+chunkSize], records: -1},
		}},
		{"evtx without checkpoints", false, FormatEVTX, []step{
			{name: "Security.evtx", data: evtx, records: 45},
			{name: "copy/Security (1).evtx", data: evtx, duplicates: 1, of: "Security.evtx"},
			{name: "Security.evtx", moveTo: "Archive-Security.evtx"},
			{name: "cut.evtx", data: evtx[:fileHeaderSize+chunkSize], records: 20},
		}},
		{"xml without checkpoints", false, FormatXML, []step{
			{name: "a.xml", data: xml, records: 1},
			{name: "b.xml", data: xml, duplicates: 1, of: "a.xml"},
			{name: "c.xml", data: append(slices.Clip(xml), xml...), records: 2},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dir := t.TempDir()
			b := openBus(t, filepath.Join(dir, "bus"), 8)
			var cps *Checkpoints
			if tc.checkpoints {
				cps = openCheckpoints(t, b)
			}
			var told [][2]string
			counters := &Counters{}
			p := NewPublisher(b, cps, Options{Counters: counters, Duplicate: func(path, of string) {
				told = append(told, [2]string{path, of})
			}}, nil)
			in := filepath.Join(dir, "in")
			var total int
			for i, s := range tc.steps {
				path := filepath.Join(in, s.name)
				switch {
				case s.moveTo != "":
					to := filepath.Join(in, s.moveTo)
					if err := os.Rename(path, to); err != nil {
						t.Fatal(err)
					}
					path = to
				case s.data != nil:
					if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(path, s.data, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				told = nil
				st, err := p.Publish(ctx, Input{Path: path, Format: tc.format}, nil)
				if err != nil {
					t.Fatalf("step %d (%s): %v", i, s.name, err)
				}
				total += st.Duplicates
				var want [][2]string
				if s.of != "" {
					want = [][2]string{{path, filepath.Join(in, s.of)}}
				}
				if (s.records >= 0 && st.Records != s.records) || st.Duplicates != s.duplicates || !slices.Equal(told, want) {
					t.Errorf("step %d (%s): %d records, %d duplicates, told %v; want %d, %d, %v",
						i, s.name, st.Records, st.Duplicates, told, s.records, s.duplicates, want)
				}
			}
			if n := counters.Duplicates.Load(); n != int64(total) || total != 1 {
				t.Errorf("Counters.Duplicates %d, Stats %d, want 1", n, total)
			}
		})
	}
}
