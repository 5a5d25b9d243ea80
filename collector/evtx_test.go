package collector

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/weft-dev/weft/event"
)

func seq(first, last uint64) []uint64 {
	var s []uint64
	for i := first; i <= last; i++ {
		s = append(s, i)
	}
	return s
}

func TestReadEVTXSynthetic(t *testing.T) {
	t.Parallel()
	res := readEVTXBytes(t, buildEVTX(buildChunk(testRecords(1, 3))), Options{KeepXML: true, Now: fixedNow})
	if res.err != nil || len(res.errs) > 0 {
		t.Fatalf("err %v, reports:\n%s", res.err, res.errorText())
	}
	if got := res.ids(); !slices.Equal(got, seq(1, 3)) {
		t.Fatalf("record ids %v", got)
	}
	e := res.events[1]
	if e.Provider != "Microsoft-Windows-Sysmon" || e.EventID != 1 || e.Version != 5 || e.Level != 4 ||
		e.Task != 1 || e.Keywords != "0x8000000000000000" || !e.TimeCreated.Equal(recordTime(2)) ||
		e.ProcessID != 3188 || e.ThreadID != 4412 || e.Computer != "WKS-FIN-07.corp.example" || e.UserSID != "S-1-5-18" {
		t.Errorf("System fields wrong: %+v", e)
	}
	wantData := []event.Field{{Name: "RuleName", Value: "-"}, {Name: "Image", Value: `C:\Windows\System32\proc2.exe`},
		{Name: "CommandLine", Value: `proc2.exe /x "a & b"`}, {Name: "Empty", Value: ""}}
	if !slices.Equal(e.Data, wantData) {
		t.Errorf("data %v, want %v", e.Data, wantData)
	}
	if e.Origin.Kind != event.SourceEVTX || e.Origin.Path != "test.evtx" || e.Origin.Chunk != 0 || e.Origin.Offset <= fileHeaderSize+firstRecord {
		t.Errorf("origin %+v", e.Origin)
	}
	// The XML rendered from BinXML reads back as the same event.
	back := readXMLString(t, e.XML, Options{Now: fixedNow})
	if len(back.events) != 1 || !slices.Equal(back.events[0].Data, e.Data) || back.events[0].TimeCreated != e.TimeCreated {
		t.Errorf("rendered XML does not read back: %q\n%s", e.XML, back.errorText())
	}
	if res.stats.Records != 3 || res.stats.Bytes != fileHeaderSize+chunkSize {
		t.Errorf("stats %+v", res.stats)
	}
}

// TestReadEVTXDamage damages a well-formed file in one place each and
// checks what is still read and how the damage is reported. Damage left
// unsealed shows in the checksums too, as it does in real files; resealed,
// only the damage itself is left to find.
func TestReadEVTXDamage(t *testing.T) {
	t.Parallel()
	c0, c1, c2 := buildChunk(testRecords(1, 20)), buildChunk(testRecords(21, 40)), buildChunk(testRecords(41, 60))
	// A log that wrapped: the oldest chunk sits in the middle of the file.
	good := func() []byte { return buildEVTX(c1, c2, c0) }
	recordOffset := func(f []byte, chunk, nth int) int {
		off := fileHeaderSize + chunk*chunkSize + firstRecord
		for range nth {
			off += int(binary.LittleEndian.Uint32(f[off+4:]))
		}
		return off
	}
	chunkAt := func(f []byte, chunk int) []byte {
		return f[fileHeaderSize+chunk*chunkSize : fileHeaderSize+(chunk+1)*chunkSize]
	}
	// overwritten makes a chunk that declares ids 21-30 but holds those
	// and then the records given, as a chunk Windows was rewriting.
	overwritten := func(extra []testRecord) []byte {
		c := buildChunk(append(testRecords(21, 30), extra...))
		binary.LittleEndian.PutUint64(c[24:], 21)
		binary.LittleEndian.PutUint64(c[32:], 30)
		sealChunk(c)
		return c
	}
	all := seq(1, 60)
	// A records checksum mismatch whose chunk was read whole is a warning.
	const readAll = "; every record of the chunk was read"
	tests := []struct {
		name    string
		file    func() []byte
		want    []uint64
		reports []string // substrings of the reports, one each, in order
	}{
		{"intact, chunks out of place", good, all, nil},
		{"file header zeroed", func() []byte { f := good(); clear(f[:fileHeaderSize]); return f },
			all, []string{"test.evtx: offset 0x0: damaged file header"}},
		{"file header checksum broken", func() []byte { f := good(); f[checksumOffset]++; return f },
			all, []string{"offset 0x0: file header checksum mismatch"}},
		{"file header cut off", func() []byte { return good()[:100] }, nil, []string{"file header truncated (100 bytes)"}},
		{"empty file", func() []byte { return nil }, nil, []string{"test.evtx: offset 0x0: empty file"}},
		{"header declares more chunks than the file holds", func() []byte {
			f := good()
			binary.LittleEndian.PutUint16(f[42:], 5)
			return reseal(f)
		}, all, []string{"offset 0x31000: file header declares 5 chunks, the file ends after 3: it was cut short"}},
		{"chunk magic broken: records carved", func() []byte { f := good(); copy(chunkAt(f, 1), "XXXXXXXX"); return f },
			all, []string{`chunk 1: offset 0x11000: bad chunk magic "XXXXXXXX"; reading the records left in it`}},
		{"chunk header zeroed: records carved", func() []byte { f := good(); clear(chunkAt(f, 0)[:firstRecord]); return f },
			all, []string{"chunk 0: offset 0x1000: chunk slot has no chunk header (zeros); reading the records left in it"}},
		{"chunk magic broken, no records left", func() []byte {
			f := good()
			copy(chunkAt(f, 1), "XXXXXXXX")
			clear(chunkAt(f, 1)[firstRecord:])
			return f
		}, append(seq(1, 20), seq(21, 40)...), []string{`chunk 1: offset 0x11000: bad chunk magic "XXXXXXXX"`}},
		{"trailing garbage is not a chunk", func() []byte { return append(good(), 1, 2, 3) }, all, nil},
		{"last chunk cut in its header", func() []byte { return append(good(), "ElfChnk\x00 and some"...) },
			all, []string{"chunk 3: offset 0x31000: chunk cut off after 17 bytes"}},
		{"last chunk cut in a record", func() []byte { f := good(); return f[:recordOffset(f, 2, 10)+100] },
			append(seq(1, 10), seq(21, 60)...), []string{"chunk 2: offset 0x21000: chunk truncated", "chunk 2: record 11: offset 0x25948: record cut off by the end of the file"}},
		{"records zeroed", func() []byte {
			f := good()
			clear(f[recordOffset(f, 2, 15) : fileHeaderSize+3*chunkSize])
			return f
		}, append(seq(1, 15), seq(21, 60)...), []string{"chunk 2: offset 0x21000: records checksum mismatch", "chunk 2: offset 0x27d10: zeros where records should be"}},
		{"record size broken, BinXML intact", func() []byte {
			f := good()
			binary.LittleEndian.PutUint32(f[recordOffset(f, 2, 4)+4:], 0xFFFF0)
			return f
		}, all, []string{"each record is checked on its own" + readAll}},
		{"record size and BinXML broken", func() []byte {
			f := good()
			off := recordOffset(f, 2, 4)
			binary.LittleEndian.PutUint32(f[off+4:], 0xFFFF0)
			f[off+recordHeaderSize] = 0x99
			return reseal(f)
		}, slices.Delete(seq(1, 60), 4, 5), []string{"chunk 2: record 5: offset 0x22e80: bad record size 1048560 (BinXML at chunk offset 0x1e98: unexpected token 0x99 at the top level); skipped 1824 bytes to the next record header"}},
		{"record size never written", func() []byte {
			f := good()
			off := recordOffset(f, 0, 3)
			size := binary.LittleEndian.Uint32(f[off+4:])
			binary.LittleEndian.PutUint32(f[off+4:], 0)
			binary.LittleEndian.PutUint32(f[off+int(size)-4:], 0)
			return reseal(f)
		}, all, nil},
		{"record magic broken", func() []byte { f := good(); copy(f[recordOffset(f, 0, 0):], "XXXX"); return f },
			slices.Delete(seq(1, 60), 20, 21), []string{"chunk 0: offset 0x1000: records checksum mismatch", "chunk 0: offset 0x1200: no record header; skipped"}},
		{"record BinXML garbled", func() []byte {
			f := good()
			copy(f[recordOffset(f, 1, 7)+recordHeaderSize:], []byte{0x0f, 0x01, 0x01, 0x00, 0x99})
			return f
		}, slices.Delete(seq(1, 60), 47, 48), []string{"chunk 1: offset 0x11000: records checksum mismatch", "chunk 1: record 48: offset 0x14418: BinXML at chunk offset 0x3434: unexpected token 0x99 at the top level"}},
		{"free space offset broken", func() []byte {
			f := good()
			binary.LittleEndian.PutUint32(f[fileHeaderSize+48:], 3)
			return reseal(f)
		}, all, []string{"chunk 0: offset 0x1000: chunk free-space offset 0x3 out of range"}},
		{"chunk tables damaged", func() []byte { f := good(); chunkAt(f, 1)[200] ^= 0xFF; return f },
			all, []string{"chunk 1: offset 0x11000: chunk header checksum mismatch"}},
		{"checksums never written", func() []byte {
			f := buildEVTX(c1, c2, c0)
			for _, off := range []int{0, fileHeaderSize, fileHeaderSize + chunkSize, fileHeaderSize + 2*chunkSize} {
				f[off+flagsOffset] |= flagNoCRC32
				clear(f[off+checksumOffset : off+checksumOffset+4])
			}
			clear(f[fileHeaderSize+recordsCRCOffset : fileHeaderSize+recordsCRCOffset+4])
			return f
		}, all, nil},
		{"whole chunk zeroed", func() []byte { f := good(); clear(chunkAt(f, 0)); return f },
			append(seq(1, 20), seq(41, 60)...), []string{"chunk 0: offset 0x1000: chunk slot holds zeros among the file's chunks: its records are gone"}},
		{"random bytes in a chunk", func() []byte {
			f := good()
			rng := rand.New(rand.NewPCG(1, 2))
			for i := range chunkAt(f, 1)[3000:9000] {
				chunkAt(f, 1)[3000+i] = byte(rng.Uint32())
			}
			return f
		}, nil, nil},
		{"chunk being rewritten: new records kept", func() []byte {
			return buildEVTX(c0, overwritten(testRecords(101, 104)), c2)
		}, append(append(seq(1, 30), seq(101, 104)...), seq(41, 60)...), nil},
		{"chunk being rewritten: stale copies dropped", func() []byte {
			return buildEVTX(c0, overwritten(testRecords(5, 8)), c2)
		}, append(seq(1, 30), seq(41, 60)...), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := tc.file()
			res := readEVTXBytes(t, f, Options{})
			if res.err != nil {
				t.Fatalf("read failed: %v", res.err)
			}
			if tc.name == "random bytes in a chunk" {
				// Whatever the bytes, the other chunks are whole and the
				// damage is reported.
				if ids := res.ids(); len(ids) < 40 || !slices.Equal(ids[:40], seq(1, 40)) || len(ids) >= 60 || len(res.errs) == 0 {
					t.Errorf("record ids %v, reports:\n%s", ids, res.errorText())
				}
			} else {
				if got := res.ids(); !slices.Equal(got, tc.want) {
					t.Errorf("record ids %v\nwant %v\nreports:\n%s", got, tc.want, res.errorText())
				}
				if len(res.errs) != len(tc.reports) {
					t.Fatalf("want %d reports %q, got:\n%s", len(tc.reports), tc.reports, res.errorText())
				}
				for i, want := range tc.reports {
					if !strings.Contains(res.errs[i].Error(), want) {
						t.Errorf("report %d is %q, want it to contain %q", i, res.errs[i], want)
					}
				}
			}
			for _, e := range res.errs {
				if !strings.HasPrefix(e.Error(), "test.evtx: ") || strings.Contains(e.Error(), "\n") {
					t.Errorf("report %q is not one line naming the file", e)
				}
			}
			warnings := 0
			for _, e := range res.errs {
				if IsWarning(e) != strings.HasSuffix(e.Error(), readAll) {
					t.Errorf("report %q: warning %v", e, IsWarning(e))
				}
				if IsWarning(e) {
					warnings++
				}
			}
			if res.stats.Errors != len(res.errs)-warnings || res.stats.Warnings != warnings || res.stats.Records != len(res.events) {
				t.Errorf("stats %+v, reported %d (%d warnings), emitted %d", res.stats, len(res.errs), warnings, len(res.events))
			}
			if res.stats.Bytes != int64(len(f)) {
				t.Errorf("stats count %d bytes of %d", res.stats.Bytes, len(f))
			}
		})
	}
}

// TestReadEVTXSelfReferencingTemplate feeds a template whose definition
// points at itself: the library would recurse until the runtime kills the
// process. The record must come back as an error instead.
func TestReadEVTXSelfReferencingTemplate(t *testing.T) {
	t.Parallel()
	c := buildChunk(testRecords(1, 2))
	off := firstRecord
	off += int(binary.LittleEndian.Uint32(c[off+4:])) // the second record
	body := off + recordHeaderSize
	def := body + 4 + 10 // after the fragment header and the instance header
	bad := []byte{0x0f, 0x01, 0x01, 0x00, 0x0c, 0x00, 0, 0, 0, 0}
	bad = binary.LittleEndian.AppendUint32(bad, uint32(def))
	// The definition: unknown, id, size, fragment header, then an instance
	// of the very same definition.
	bad = append(bad, make([]byte, 4+16+4)...)
	bad = append(bad, 0x0f, 0x01, 0x01, 0x00, 0x0c, 0x00, 0, 0, 0, 0)
	bad = binary.LittleEndian.AppendUint32(bad, uint32(def))
	copy(c[body:], bad)
	sealChunk(c)
	res := readEVTXBytes(t, buildEVTX(c), Options{})
	if got := res.ids(); !slices.Equal(got, []uint64{1}) {
		t.Errorf("record ids %v, want [1]", got)
	}
	if len(res.errs) != 1 || res.errs[0].Record != 2 || !strings.Contains(res.errs[0].Error(), "BinXML") {
		t.Errorf("want one BinXML error for record 2, got:\n%s", res.errorText())
	}
}

func TestReadEVTXStops(t *testing.T) {
	t.Parallel()
	f := buildEVTX(buildChunk(testRecords(1, 5)), buildChunk(testRecords(6, 10)))
	stop := errors.New("stop")
	n := 0
	_, err := ReadEVTX(context.Background(), strings.NewReader(string(f)), int64(len(f)), "x.evtx", Options{}, func(r *event.Raw) error {
		n++
		if r.RecordID == 7 {
			return stop
		}
		return nil
	}, nil)
	if !errors.Is(err, stop) || n != 7 || !strings.Contains(err.Error(), "x.evtx: chunk 1: record 7") {
		t.Errorf("got %v after %d events, want stop after 7", err, n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ReadEVTX(ctx, strings.NewReader(string(f)), int64(len(f)), "x.evtx", Options{}, func(*event.Raw) error { return nil }, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled read returned %v", err)
	}
}

type expectedCounts struct {
	reference  int
	golangEVTX int // -1 when the column is not a number
}

// readExpected parses evtx-dirty/EXPECTED.tsv.
func readExpected(t *testing.T, path string) map[string]expectedCounts {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]expectedCounts{}
	sc := bufio.NewScanner(f)
	var cols []string
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, "\t")
		if cols == nil {
			cols = fields
			continue
		}
		row := map[string]string{}
		for i, c := range cols {
			if i < len(fields) {
				row[c] = fields[i]
			}
		}
		ref, err := strconv.Atoi(row["reference"])
		if err != nil {
			t.Fatalf("EXPECTED.tsv: %s: reference %q", row["file"], row["reference"])
		}
		// "114+panic" still promises 114 records; only the numeric prefix counts.
		golang := -1
		if n, err := strconv.Atoi(strings.SplitN(row["golang_evtx"], "+", 2)[0]); err == nil {
			golang = n
		}
		out[row["file"]] = expectedCounts{reference: ref, golangEVTX: golang}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestReadEVTXCorpus reads every damaged and attack sample. None may panic
// or fail the read; each must give at least what golang-evtx alone gives,
// and the reference count but for records reported as using a BinXML
// construct golang-evtx lacks.
func TestReadEVTXCorpus(t *testing.T) {
	t.Parallel()
	dirty := corpusDir(t, "evtx-dirty")
	expected := readExpected(t, filepath.Join(dirty, "EXPECTED.tsv"))
	var files []string
	for _, dir := range []string{dirty, corpusDir(t, "evtx-attack")} {
		err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(path, ".evtx") {
				files = append(files, path)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(files) < len(expected) {
		t.Fatalf("found %d files, EXPECTED.tsv lists %d", len(files), len(expected))
	}
	for _, path := range files {
		rel, _ := filepath.Rel(filepath.Dir(dirty), path)
		t.Run(rel, func(t *testing.T) {
			t.Parallel()
			emit, report, res := collect(t)
			// Records come in the order the file stores them. (Record ids
			// need not rise: several attack samples merge channels.)
			var last int64
			inChunk := -1
			counting := func(r *event.Raw) error {
				if r.Origin.Chunk == inChunk && r.Origin.Offset <= last {
					t.Errorf("record at %#x after %#x in chunk %d", r.Origin.Offset, last, inChunk)
				}
				last, inChunk = r.Origin.Offset, r.Origin.Chunk
				return emit(r)
			}
			stats, err := ReadFile(context.Background(), path, Options{}, counting, report)
			if err != nil {
				t.Fatalf("read failed: %v", err)
			}
			if stats.Records != len(res.events) || stats.Errors+stats.Warnings != len(res.errs) {
				t.Errorf("stats %+v disagree with %d events, %d reports", stats, len(res.events), len(res.errs))
			}
			want, listed := expected[filepath.Base(path)]
			if listed && filepath.Dir(path) == dirty {
				t.Logf("%d records, %d errors (reference %d, golang-evtx %d)", stats.Records, stats.Errors, want.reference, want.golangEVTX)
				if stats.Records < want.golangEVTX {
					t.Errorf("%d records, fewer than golang-evtx's %d", stats.Records, want.golangEVTX)
				}
				// Every record the best reader recovers, weft's decoder
				// recovers too (golang-evtx alone misses the CAPI2 ones).
				if stats.Records < want.reference {
					t.Errorf("%d records, fewer than the reference %d", stats.Records, want.reference)
				}
			} else {
				t.Logf("%d records, %d errors", stats.Records, stats.Errors)
				if stats.Records == 0 {
					t.Errorf("no records")
				}
			}
			for _, e := range res.errs {
				if e.Path != path || e.Err == nil {
					t.Errorf("report not located: %+v", e)
				}
			}
		})
	}
}

// TestReadEVTXGolden pins the mapping of real Sysmon records: process
// creation and network connection, as the rule needs them.
func TestReadEVTXGolden(t *testing.T) {
	t.Parallel()
	path := filepath.Join(corpusDir(t, "evtx-attack"), "Lateral Movement", "LM_sysmon_3_DCOM_ShellBrowserWindow_ShellWindows.evtx")
	emit, report, res := collect(t)
	if _, err := ReadFile(context.Background(), path, Options{KeepXML: true, Now: fixedNow}, emit, report); err != nil || len(res.errs) > 0 {
		t.Fatalf("%v %s", err, res.errorText())
	}
	if len(res.events) != 3 {
		t.Fatalf("%d events", len(res.events))
	}
	for _, e := range res.events {
		e.Origin.Path = filepath.Base(e.Origin.Path)
	}
	compareGolden(t, "dcom-shellwindows-evtx.json", res.events)
}
