package collector

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/weft-dev/weft/event"
)

// checkRead runs read and asserts what must hold for any input: no panic
// (the fuzzer catches those), located reports, stats that agree.
func checkRead(t *testing.T, size int, read func(EmitFunc, ReportFunc) (Stats, error)) {
	var events, reports, warnings int
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
		if IsWarning(err) {
			warnings++
		}
	})
	if err != nil {
		t.Errorf("read failed: %v", err)
	}
	// A warning (damage read around, no record lost) is reported like an
	// error but counted apart from them.
	if stats.Records != events || stats.Errors+stats.Warnings != reports || stats.Warnings != warnings {
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
	f.Add([]byte(ev(4, "<Data Name=\"CommandLine\">a\xff&#0;\r\nb<![CDATA[&#1;]]><!-- \r --></Data>")))
	f.Fuzz(func(t *testing.T, data []byte) {
		// Offsets count the text the decoder reads, where a replaced byte
		// is U+FFFD (3 bytes) and a carriage return &#13; (5), so up to
		// five times the input.
		checkRead(t, 5*len(data)+1, func(emit EmitFunc, report ReportFunc) (Stats, error) {
			return ReadXML(context.Background(), bytes.NewReader(data), "fuzz.xml", Options{KeepXML: true, MaxEventSize: 4096}, emit, report)
		})
	})
}

func FuzzReadEVTX(f *testing.F) {
	f.Add(buildEVTX(buildChunk(testRecords(1, 3))))
	f.Add(buildEVTX(buildChunk(testRecords(1, 1)))[:fileHeaderSize+2000])
	f.Add(buildEVTX(buildChunk(testRecords(1, 2)), buildChunk(testRecords(3, 4)), buildChunk(testRecords(5, 6))))
	// The damaged samples of the corpus, when it is there and the fuzzer
	// runs (as a plain test, TestReadEVTXCorpus reads them whole): each
	// one's header and first two chunks, as the fuzzer mutates small
	// inputs faster.
	if paths, err := filepath.Glob(filepath.Join(repoRoot(f), "..", "shared", "corpus", "evtx-dirty", "*.evtx")); err == nil && fuzzing() {
		for _, path := range paths {
			if b, err := os.ReadFile(path); err == nil {
				f.Add(b[:min(len(b), fileHeaderSize+2*chunkSize)])
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkRead(t, len(data), func(emit EmitFunc, report ReportFunc) (Stats, error) {
			return ReadEVTX(context.Background(), bytes.NewReader(data), int64(len(data)), "fuzz.evtx", Options{KeepXML: true, Workers: 3}, emit, report)
		})
		// One worker reads the same as several.
		one := outcome(t, data, Options{Workers: 1})
		if many := outcome(t, data, Options{Workers: 3}); !slices.Equal(one, many) {
			t.Fatalf("one worker and three differ:\n%s\n---\n%s", strings.Join(one, "\n"), strings.Join(many, "\n"))
		}
		// Resuming after any event gives the events that followed it.
		var offsets []int64
		_, _ = ReadEVTX(context.Background(), bytes.NewReader(data), int64(len(data)), "fuzz.evtx", Options{Workers: 1}, func(r *event.Raw) error {
			offsets = append(offsets, r.Origin.Offset)
			return nil
		}, nil)
		if len(offsets) == 0 {
			return
		}
		k := len(offsets) / 2
		var rest []int64
		_, _ = ReadEVTX(context.Background(), bytes.NewReader(data), int64(len(data)), "fuzz.evtx", Options{Workers: 2, Resume: &Position{Offset: offsets[k]}}, func(r *event.Raw) error {
			rest = append(rest, r.Origin.Offset)
			return nil
		}, nil)
		if !slices.Equal(rest, offsets[k+1:]) {
			t.Fatalf("resumed after %#x: %x, want %x", offsets[k], rest, offsets[k+1:])
		}
	})
}

// fuzzing tells whether the test binary runs the fuzzer (-test.fuzz).
func fuzzing() bool {
	fl := flag.Lookup("test.fuzz")
	return fl != nil && fl.Value.String() != ""
}

// FuzzBinXML decodes one chunk with weft's BinXML decoder both ways: on the
// planned path, straight to raw events, and on the element path that also
// renders XML. Neither may panic, and every record both decode must come
// out the same.
func FuzzBinXML(f *testing.F) {
	f.Add(buildChunk(testRecords(1, 3)))
	if fuzzing() {
		paths, _ := filepath.Glob(filepath.Join(repoRoot(f), "..", "shared", "corpus", "*", "*.evtx"))
		for _, path := range paths {
			if b, err := os.ReadFile(path); err == nil && len(b) >= fileHeaderSize+chunkSize {
				f.Add(b[fileHeaderSize : fileHeaderSize+chunkSize])
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		chunk := make([]byte, chunkSize)
		n := copy(chunk, data)
		decode := func(keepXML bool) []recordResult {
			env := &chunkEnv{name: "fuzz", opts: Options{Decoder: decoderWeftOnly, KeepXML: keepXML, Now: fixedNow}, held: newHeldIDs(nil), templates: newTemplateCache()}
			out := decodeChunk(chunk, n, chunkRef{}, env)
			for _, r := range out {
				if r.err != nil && strings.Contains(r.err.Error(), "panicked") {
					t.Fatalf("decoder panicked: %v", r.err)
				}
			}
			return out
		}
		planned, elements := decode(false), decode(true)
		byOffset := map[int64]*event.Raw{}
		for _, r := range elements {
			if r.raw != nil {
				byOffset[r.raw.Origin.Offset] = r.raw
			}
		}
		for _, r := range planned {
			if r.raw == nil {
				continue
			}
			e, ok := byOffset[r.raw.Origin.Offset]
			if !ok {
				continue
			}
			ec := *e
			ec.XML = ""
			if !reflect.DeepEqual(r.raw, &ec) {
				t.Errorf("record at %#x: planned %+v, elements %+v", r.raw.Origin.Offset, r.raw, &ec)
			}
		}
	})
}
