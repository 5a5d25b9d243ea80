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

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/weft-dev/weft/bus"
	"github.com/weft-dev/weft/event"
)

// openBus starts an embedded bus kept in dir, with small batches so that a
// few records make several rounds.
func openBus(t *testing.T, dir string, batch int) *bus.Bus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := bus.Open(ctx, bus.Config{DataDir: dir, BatchSize: batch}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

func openCheckpoints(t *testing.T, b *bus.Bus) *Checkpoints {
	t.Helper()
	kv, err := b.KeyValue(context.Background(), bus.BucketCheckpoints)
	if err != nil {
		t.Fatal(err)
	}
	return NewCheckpoints(kv)
}

// streamRecords returns the record ids of every event in WEFT_RAW, in
// stream order, and the number of messages.
func streamRecords(t *testing.T, b *bus.Bus) ([]uint64, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := b.JetStream().Stream(ctx, bus.StreamRaw)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []uint64
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		var batch []*event.Raw
		if err := bus.Decode(m.Data, &batch); err != nil {
			t.Fatal(err)
		}
		for _, r := range batch {
			ids = append(ids, r.RecordID)
		}
	}
	return ids, int(info.State.Msgs)
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestPublisherCheckpoints(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	file := buildEVTX(buildChunk(testRecords(1, 20)), buildChunk(testRecords(21, 45)))
	dir := t.TempDir()
	b := openBus(t, filepath.Join(dir, "bus"), 8)
	cps := openCheckpoints(t, b)
	var reports []error
	p := NewPublisher(b, cps, Options{}, func(err error) { reports = append(reports, err) })

	// A copy cut short inside the second chunk is read first.
	short := writeFile(t, dir, "cut.evtx", file[:fileHeaderSize+chunkSize+3000])
	st, err := p.Publish(ctx, Input{Path: short, Format: FormatEVTX}, nil)
	if err == nil && st.Records == 0 {
		t.Fatalf("nothing read from the cut copy: %+v", st)
	}
	if err != nil {
		t.Fatal(err)
	}
	firstPart := st.Records
	if len(reports) != 2 || st.Errors != 2 {
		t.Errorf("cut copy: %+v, reports %v", st, reports)
	}

	// The whole file, renamed, continues where the cut copy ended.
	whole := writeFile(t, dir, "Archive-Sysmon-2026-11-27.evtx", file)
	p = NewPublisher(b, cps, Options{}, nil)
	st, err = p.Publish(ctx, Input{Path: whole, Format: FormatEVTX}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Delivered != firstPart || st.Records != 45-firstPart {
		t.Errorf("whole file after the cut copy: %+v, want %d delivered before and %d now", st, firstPart, 45-firstPart)
	}
	// Read again: nothing new.
	st, err = p.Publish(ctx, Input{Path: whole, Format: FormatEVTX}, nil)
	if err != nil || st.Records != 0 || st.Delivered != 45 {
		t.Errorf("third read: %+v %v", st, err)
	}
	ids, _ := streamRecords(t, b)
	if !slices.Equal(ids, seq(1, 45)) {
		t.Errorf("stream holds %v", ids)
	}
	id, err := Identify(whole)
	if err != nil {
		t.Fatal(err)
	}
	cp, ok, err := cps.Get(ctx, id)
	if err != nil || !ok || !cp.Complete || cp.Records != 45 || cp.Path != whole || cp.Size != int64(len(file)) {
		t.Errorf("checkpoint %+v %v %v", cp, ok, err)
	}
}

// TestPublisherResumesMidFile stores a checkpoint as a process that died
// after its third round would have left it, and checks the next read
// sends only what came after.
func TestPublisherResumesMidFile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	tests := []struct {
		name   string
		data   []byte
		format Format
	}{
		{"evtx", buildEVTX(buildChunk(testRecords(1, 12)), buildChunk(testRecords(13, 30))), FormatEVTX},
		{"xml", []byte(xmlEvents(1, 30)), FormatXML},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := openBus(t, filepath.Join(dir, tc.name), 4)
			cps := openCheckpoints(t, b)
			path := writeFile(t, dir, "log."+tc.name, tc.data)
			// Where the record with id 12 was read.
			var at int64
			if _, err := ReadFile(ctx, path, Options{}, func(r *event.Raw) error {
				if r.RecordID == 12 {
					at = r.Origin.Offset
				}
				return nil
			}, nil); err != nil {
				t.Fatal(err)
			}
			id, err := Identify(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := cps.Put(ctx, id, Checkpoint{Path: path, Offset: at, Records: 12}); err != nil {
				t.Fatal(err)
			}
			st, err := NewPublisher(b, cps, Options{}, nil).Publish(ctx, Input{Path: path, Format: tc.format}, nil)
			if err != nil || st.Records != 18 || st.Delivered != 12 {
				t.Fatalf("resumed read: %+v %v", st, err)
			}
			ids, msgs := streamRecords(t, b)
			if !slices.Equal(ids, seq(13, 30)) || msgs != 5 {
				t.Errorf("stream holds %v in %d messages", ids, msgs)
			}
		})
	}
}

// TestPublisherRoundsRepeat checks what makes a replay harmless: from a
// given checkpoint the batches come out the same, so JetStream drops the
// second copy of each by its message id.
func TestPublisherRoundsRepeat(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	// Two computers interleaved, so rounds hold a batch of each.
	var text strings.Builder
	for id := 1; id <= 30; id++ {
		e := ev(id, "")
		if id%3 == 0 {
			e = strings.Replace(e, "WKS-FIN-07", "SRV-DC-01", 1)
		}
		text.WriteString(e)
	}
	path := writeFile(t, dir, "a.xml", []byte(text.String()))
	b := openBus(t, filepath.Join(dir, "bus"), 4)
	for range 2 {
		// No checkpoints: each Publish reads the whole file again.
		if _, err := NewPublisher(b, nil, Options{}, nil).Publish(ctx, Input{Path: path, Format: FormatXML}, nil); err != nil {
			t.Fatal(err)
		}
	}
	ids, _ := streamRecords(t, b)
	slices.Sort(ids)
	if !slices.Equal(ids, seq(1, 30)) {
		t.Errorf("stream holds %v", ids)
	}
}

// xmlEvents renders events first..last as one XML document.
func xmlEvents(first, last int) string {
	var b strings.Builder
	b.WriteString("<Events>\n")
	for id := first; id <= last; id++ {
		b.WriteString(ev(id, `<Data Name="n">v</Data>`) + "\n")
	}
	b.WriteString("</Events>\n")
	return b.String()
}

func TestIdentify(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a := buildEVTX(buildChunk(testRecords(1, 20)), buildChunk(testRecords(21, 40)))
	closed := slices.Clone(a)
	closed[flagsOffset] ^= 1 // the dirty flag, cleared when Windows closes a log
	other := buildEVTX(buildChunk(testRecords(2, 20)), buildChunk(testRecords(21, 40)))
	ids := map[string]FileID{}
	for name, data := range map[string][]byte{
		"a.evtx": a, "renamed.evtx": a, "closed.evtx": closed, "cut.evtx": a[:fileHeaderSize+100],
		"other.evtx": other, "a.xml": []byte(xmlEvents(1, 3)), "b.xml": []byte(xmlEvents(1, 4)),
	} {
		id, err := Identify(writeFile(t, dir, name, data))
		if err != nil {
			t.Fatal(err)
		}
		ids[name] = id
	}
	same := [][2]string{{"a.evtx", "renamed.evtx"}, {"a.evtx", "closed.evtx"}}
	differ := [][2]string{{"a.evtx", "other.evtx"}, {"a.evtx", "cut.evtx"}, {"a.xml", "b.xml"}, {"a.evtx", "a.xml"}}
	for _, p := range same {
		if ids[p[0]] != ids[p[1]] {
			t.Errorf("%s and %s have different ids", p[0], p[1])
		}
	}
	for _, p := range differ {
		if ids[p[0]] == ids[p[1]] {
			t.Errorf("%s and %s share id %s", p[0], p[1], ids[p[0]])
		}
	}
	if _, err := Identify(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// TestPublisherHostileEvents: an event whose host name is 4,100
// characters long, and one too big for any NATS message, do not stop a
// file: the first is published (under a bounded subject), the second is
// dead-lettered with the file and offset it was read at, and every other
// event reaches the bus.
func TestPublisherHostileEvents(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	var text strings.Builder
	for id := 1; id <= 9; id++ {
		e := ev(id, `<Data Name="n">v</Data>`)
		switch id {
		case 3:
			e = strings.Replace(e, "WKS-FIN-07.corp.example", strings.Repeat("H", 4100), 1)
		case 6:
			e = ev(id, `<Data Name="n">`+strings.Repeat("x", 9<<20)+`</Data>`)
		}
		text.WriteString(e + "\n")
	}
	path := writeFile(t, dir, "hostile.xml", []byte(text.String()))
	b := openBus(t, filepath.Join(dir, "bus"), 4)
	st, err := NewPublisher(b, nil, Options{MaxEventSize: 16 << 20}, nil).Publish(ctx, Input{Path: path, Format: FormatXML}, nil)
	if err != nil {
		t.Fatalf("Publish: %v (stats %+v)", err, st)
	}
	ids, _ := streamRecords(t, b)
	slices.Sort(ids)
	if want := []uint64{1, 2, 3, 4, 5, 7, 8, 9}; !slices.Equal(ids, want) {
		t.Errorf("stream holds %v, want %v", ids, want)
	}
	rej, err := b.RejectedItems(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(rej) != 1 || b.Rejected() != 1 {
		t.Fatalf("%d rejected items, %d counted; want 1", len(rej), b.Rejected())
	}
	if want := "xml " + path + " offset "; !strings.HasPrefix(rej[0].Source, want) {
		t.Errorf("rejected item's source %q, want %q…", rej[0].Source, want)
	}
	if !b.Connected() {
		t.Error("the connection closed")
	}
}
