package collector

import (
	"bytes"
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/0xrawsec/golang-evtx/evtx"
	"github.com/weft-dev/weft/event"
)

func discard(*event.Raw) error { return nil }

var (
	largeMiB  = flag.Int("bench.large", 64, "size in MiB of the synthesized EVTX file BenchmarkEVTX reads")
	benchEVTX = flag.String("bench.evtx", "", "more EVTX files for BenchmarkEVTX, comma-separated (such as a 1 GiB file of go run ./testdata/gen)")
)

// benchFile is one EVTX file held in memory, and how many records each
// reader gets from it.
type benchFile struct {
	name     string
	data     []byte
	records  int // weft's reader
	baseline int // golang-evtx FastEvents; -1 when it crashes on the file
}

// BenchmarkEVTX reads the same EVTX data with weft's reader and, as the
// baseline, with golang-evtx's File.FastEvents, reporting records/s and
// MB/s. Run it on one core and on all:
//
//	go test ./collector -run '^$' -bench EVTX -cpu 1,$(nproc)
//
// "corpus" is every file of ../shared/corpus on which FastEvents neither
// crashes nor loses records (the clean files: the comparison is fair only
// where both readers do the same work); "corpus-all" is every file, weft
// only; "large" is a file of -bench.large MiB made of the clean files'
// chunks end to end; "file=NAME" is each file given with -bench.evtx.
func BenchmarkEVTX(b *testing.B) {
	files := loadBenchCorpus(b)
	var clean []benchFile
	for _, f := range files {
		if f.baseline == f.records {
			clean = append(clean, f)
		}
	}
	if len(clean) == 0 {
		b.Skip("no clean corpus file")
	}
	large := synthesize(clean, *largeMiB<<20)
	b.Logf("%d files, %d clean; large file %d MiB, %d records", len(files), len(clean), len(large.data)>>20, large.records)
	sets := []struct {
		name  string
		files []benchFile
		base  bool
	}{
		{"corpus", clean, true},
		{"corpus-all", files, false},
		{"large", []benchFile{large}, true},
	}
	if *benchEVTX != "" {
		for _, path := range strings.Split(*benchEVTX, ",") {
			data, err := os.ReadFile(path)
			if err != nil {
				b.Fatal(err)
			}
			stats, err := ReadEVTX(context.Background(), bytes.NewReader(data), int64(len(data)), path, Options{}, discard, nil)
			if err != nil {
				b.Fatal(err)
			}
			f := benchFile{name: path, data: data, records: stats.Records}
			sets = append(sets, struct {
				name  string
				files []benchFile
				base  bool
			}{"file=" + filepath.Base(path), []benchFile{f}, true})
		}
	}
	for _, set := range sets {
		var size int64
		records := 0
		for _, f := range set.files {
			size += int64(len(f.data))
			records += f.records
		}
		for _, dec := range []string{DecoderWeft, DecoderGolangEVTX} {
			name := "weft/" + set.name
			if dec != DecoderWeft {
				name = "weft-" + dec + "/" + set.name
			}
			b.Run(name, func(b *testing.B) {
				b.SetBytes(size)
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				mallocs := ms.Mallocs
				for b.Loop() {
					for _, f := range set.files {
						if _, err := ReadEVTX(context.Background(), bytes.NewReader(f.data), int64(len(f.data)), f.name, Options{Decoder: dec}, discard, nil); err != nil {
							b.Fatal(err)
						}
					}
				}
				b.ReportMetric(float64(records)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
				runtime.ReadMemStats(&ms)
				b.ReportMetric(float64(ms.Mallocs-mallocs)/float64(b.N)/float64(records), "allocs/record")
			})
		}
		if !set.base {
			continue
		}
		b.Run("golang-evtx/"+set.name, func(b *testing.B) {
			b.SetBytes(size)
			for b.Loop() {
				for _, f := range set.files {
					fastEvents(f.data)
				}
			}
			b.ReportMetric(float64(records)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

var (
	benchCorpusOnce sync.Once
	benchCorpus     []benchFile
	benchCorpusErr  error
)

// loadBenchCorpus reads every .evtx file of the corpus and counts the
// records of each reader. FastEvents runs in a child process first: a
// panic in its goroutines ends the process, which no recover can stop.
func loadBenchCorpus(b *testing.B) []benchFile {
	root := filepath.Dir(corpusDir(b, "evtx-dirty"))
	benchCorpusOnce.Do(func() {
		if root, benchCorpusErr = filepath.EvalSymlinks(root); benchCorpusErr != nil {
			return
		}
		benchCorpusErr = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".evtx") {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			stats, err := ReadEVTX(context.Background(), bytes.NewReader(data), int64(len(data)), path, Options{}, discard, nil)
			if err != nil {
				return err
			}
			benchCorpus = append(benchCorpus, benchFile{name: path, data: data, records: stats.Records, baseline: probeFastEvents(path)})
			return nil
		})
	})
	if benchCorpusErr != nil {
		b.Fatal(benchCorpusErr)
	}
	return benchCorpus
}

// probeEnv names the file TestFastEventsProbe reads in a child process.
const probeEnv = "WEFT_FASTEVENTS_PROBE"

// probeFastEvents returns the records FastEvents gets from path, or -1
// when it crashes.
func probeFastEvents(path string) int {
	cmd := exec.Command(os.Args[0], "-test.run=^TestFastEventsProbe$", "-test.v")
	cmd.Env = append(os.Environ(), probeEnv+"="+path)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return -1
	}
	for line := range strings.Lines(string(out)) {
		if n, ok := strings.CutPrefix(strings.TrimSpace(line), "records="); ok {
			if v, err := strconv.Atoi(n); err == nil {
				return v
			}
		}
	}
	return -1
}

// TestFastEventsProbe is the child process of probeFastEvents; run
// directly it does nothing.
func TestFastEventsProbe(t *testing.T) {
	path := os.Getenv(probeEnv)
	if path == "" {
		t.Skip("runs as a child of the benchmarks")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan int, 1)
	go func() { done <- fastEvents(data) }()
	select {
	case n := <-done:
		fmt.Printf("records=%d\n", n)
	case <-time.After(time.Minute):
		t.Fatal("FastEvents hangs")
	}
}

// fastEvents reads data as golang-evtx's own tools do (evtx.OpenDirty):
// the header's chunk count is repaired by counting chunk magics when the
// file is marked dirty.
func fastEvents(data []byte) int {
	r := bytes.NewReader(data)
	f, _ := evtx.New(r)
	if f.Header.Verify() == evtx.ErrDirtyFile {
		_ = f.Header.Repair(r)
	}
	n := 0
	for range f.FastEvents() {
		n++
	}
	return n
}

// synthesize makes an EVTX file of about size bytes from the chunks of
// files, repeated as needed, with a header that counts them all.
func synthesize(files []benchFile, size int) benchFile {
	var chunks [][]byte
	for _, f := range files {
		for off := fileHeaderSize; off+chunkSize <= len(f.data); off += chunkSize {
			if c := f.data[off : off+chunkSize]; bytes.HasPrefix(c, chunkMagic) {
				chunks = append(chunks, c)
			}
		}
	}
	out := benchFile{name: "large.evtx", data: make([]byte, fileHeaderSize, size+fileHeaderSize)}
	copy(out.data, fileMagic)
	n := 0
	for len(out.data)+chunkSize <= size+fileHeaderSize && n < 0xFFFF {
		out.data = append(out.data, chunks[n%len(chunks)]...)
		n++
	}
	binary.LittleEndian.PutUint32(out.data[32:], fileHeaderFields)
	binary.LittleEndian.PutUint16(out.data[36:], 1)
	binary.LittleEndian.PutUint16(out.data[38:], 3)
	binary.LittleEndian.PutUint16(out.data[40:], fileHeaderSize)
	binary.LittleEndian.PutUint16(out.data[42:], uint16(n))
	reseal(out.data)
	stats, _ := ReadEVTX(context.Background(), bytes.NewReader(out.data), int64(len(out.data)), out.name, Options{}, discard, nil)
	out.records = stats.Records
	out.baseline = fastEvents(out.data)
	return out
}

// BenchmarkReadXML reads the positive fixture repeated to about 1 MB.
func BenchmarkReadXML(b *testing.B) {
	one, err := os.ReadFile(fixture(b, "mmc-positive.xml"))
	if err != nil {
		b.Fatal(err)
	}
	data := strings.Repeat(string(one), (1<<20)/len(one))
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := ReadXML(context.Background(), strings.NewReader(data), "bench.xml", Options{}, discard, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeChunks decodes the chunks of the Sysmon attack logs in
// memory, one after another on one goroutine: the decoder alone, without
// file reading or the chunk pipeline.
func BenchmarkDecodeChunks(b *testing.B) {
	var chunks [][]byte
	root := corpusDir(b, "evtx-attack")
	_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".evtx") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for off := fileHeaderSize; off+chunkSize <= len(data); off += chunkSize {
			if bytes.HasPrefix(data[off:], chunkMagic) {
				chunks = append(chunks, data[off:off+chunkSize])
			}
		}
		return nil
	})
	for _, dec := range []string{DecoderWeft, DecoderGolangEVTX} {
		b.Run(dec, func(b *testing.B) {
			env := &chunkEnv{name: "bench", opts: Options{Decoder: dec}, held: newHeldIDs(nil), templates: newTemplateCache()}
			records := 0
			for _, c := range chunks {
				records += len(decodeChunk(c, chunkSize, chunkRef{trusted: true}, env))
			}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			mallocs := ms.Mallocs
			for b.Loop() {
				for _, c := range chunks {
					decodeChunk(c, chunkSize, chunkRef{trusted: true}, env)
				}
			}
			runtime.ReadMemStats(&ms)
			b.ReportMetric(float64(ms.Mallocs-mallocs)/float64(b.N)/float64(records), "allocs/record")
			b.ReportMetric(float64(records)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
