package correlator

import (
	"fmt"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/weft-dev/weft/correlator/eql"
	"github.com/weft-dev/weft/event"
)

// nonMatchingPool is traffic the seed rule has no use for, in the
// categories it reads (three in four documents) and others: the common
// case. Timestamps rise as in a live stream.
func nonMatchingPool() []event.Document {
	const size = 1 << 12
	pool := make([]event.Document, size)
	for i := range pool {
		at := t0.Add(time.Duration(i) * time.Millisecond)
		switch i % 4 {
		case 0: // network traffic of another process
			n := sysmonNetwork("WS01", at, i)
			n.Set("process.name", "svchost.exe")
			pool[i] = n
		case 1: // a process start whose parent is not mmc.exe
			p := sysmonProcess("WS01", at, i)
			p.Set("process.parent.name", "explorer.exe")
			pool[i] = p
		case 2: // mmc.exe talking on a low port
			n := sysmonNetwork("WS01", at, i)
			n.Set("destination.port", int64(135))
			pool[i] = n
		default: // file events
			pool[i] = event.Document{
				"@timestamp": at.Format(time.RFC3339Nano),
				"event":      map[string]any{"category": []any{"file"}, "type": []any{"creation"}},
				"host":       map[string]any{"name": "WS01", "id": "id-WS01"},
			}
		}
	}
	return pool
}

// fiftyRules is the seed rule and the first 49 of Elastic's Windows rules
// from the corpus, or, without the corpus, 49 synthesized rules of the
// same shapes (event queries and sequences on process, network, file and
// registry events).
func fiftyRules(b *testing.B) ([]*Rule, string) {
	rules := []*Rule{seedRule(b)}
	if dir, ok := corpusDir(); ok {
		loaded, _ := LoadRules(b.Context(), filepath.Join(dir, "corpus/elastic-rules/windows"))
		for _, r := range loaded {
			if len(rules) == 50 {
				break
			}
			rules = append(rules, r)
		}
		if len(rules) == 50 {
			return rules, "corpus"
		}
	}
	for i := len(rules); i < 50; i++ {
		q := fmt.Sprintf(`process where host.os.type == "windows" and event.type == "start" and process.name : "tool%d.exe" and process.args : ("-enc*", "/c")`, i)
		switch i % 3 {
		case 1:
			q = fmt.Sprintf(`sequence by host.id with maxspan=5m [file where event.type == "creation" and file.extension : "dll%d"] by file.path [process where event.type == "start"] by process.executable`, i)
		case 2:
			q = fmt.Sprintf(`registry where registry.path : "HKLM\\SOFTWARE\\Vendor%d\\*" and registry.data.strings : "*.exe"`, i)
		}
		rules = append(rules, &Rule{ID: fmt.Sprint("synth-", i), Name: fmt.Sprint("synth ", i), Type: "eql", Severity: "low", MaxSignals: 100, Interval: DefaultInterval, Query: q})
	}
	return rules, "synthesized"
}

func corpusDir() (string, bool) {
	dir, err := filepath.Abs("..")
	if err != nil {
		return "", false
	}
	p := filepath.Join(dir, "..", "shared")
	if _, err := filepath.Glob(p); err != nil {
		return "", false
	}
	if m, _ := filepath.Glob(filepath.Join(p, "corpus/elastic-rules/windows/*.toml")); len(m) == 0 {
		return "", false
	}
	return p, true
}

func benchEngine(b *testing.B, rules []*Rule, pool []event.Document) {
	newEngine := func() *Engine {
		e, err := Compile(rules, Options{Lateness: time.Second, Now: fixedClock})
		if err != nil {
			b.Fatal(err)
		}
		return e
	}
	e := newEngine()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%len(pool) == 0 && i > 0 {
			b.StopTimer()
			e = newEngine()
			b.StartTimer()
		}
		e.Process(pool[i%len(pool)])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkEngine measures documents per second through the engine.
// Figures are best read against "baseline" of the same run: the least any
// engine must do with a document, reading its event.category and host.id.
//
//	go test -run - -bench Engine -benchmem ./correlator/
func BenchmarkEngine(b *testing.B) {
	pool := nonMatchingPool()
	b.Run("baseline", func(b *testing.B) {
		host, _ := eql.CompileField("host.id")
		b.ReportAllocs()
		n := 0
		for i := 0; i < b.N; i++ {
			d := pool[i%len(pool)]
			eql.CategoriesOf(d).Each(func(string) { n++ })
			if s, ok := host.EvalString(d); ok {
				n += len(s)
			}
		}
		if n == 0 {
			b.Fatal("nothing read")
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("seed-nonmatching", func(b *testing.B) {
		benchEngine(b, []*Rule{seedRule(b)}, pool)
	})
	b.Run("seed-matching", func(b *testing.B) {
		// Every document starts or completes a sequence: the slow path.
		match := make([]event.Document, len(pool))
		for i := range match {
			at := t0.Add(time.Duration(i) * time.Millisecond)
			if i%2 == 0 {
				n := sysmonNetwork("WS01", at, i)
				n.Set("process.entity_id", fmt.Sprint("{mmc-", i, "}"))
				match[i] = n
			} else {
				p := sysmonProcess("WS01", at, i)
				p.Set("process.parent.entity_id", fmt.Sprint("{mmc-", i-1, "}"))
				match[i] = p
			}
		}
		benchEngine(b, []*Rule{seedRule(b)}, match)
	})
	b.Run("fifty-rules", func(b *testing.B) {
		rules, source := fiftyRules(b)
		b.Logf("%d rules (%s)", len(rules), source)
		benchEngine(b, rules, pool)
	})
}

// BenchmarkPendingMemory measures the heap a pending sequence of the seed
// rule holds: each iteration starts one more (a distinct mmc.exe process),
// none completes.
func BenchmarkPendingMemory(b *testing.B) {
	e, err := Compile([]*Rule{seedRule(b)}, Options{Lateness: Batch, Now: fixedClock, MaxPending: b.N + 1})
	if err != nil {
		b.Fatal(err)
	}
	docs := make([]event.Document, b.N)
	for i := range docs {
		n := sysmonNetwork("WS01", t0.Add(time.Duration(i)*time.Microsecond), i)
		n.Set("process.entity_id", fmt.Sprint("{6b6c9a4e-1c2d-6630-3a05-", i, "}"))
		docs[i] = n
	}
	// The documents themselves are the input's, not the engine's: only
	// what the engine adds counts. Batch mode holds them all, then Flush
	// turns them into pending sequences.
	for _, d := range docs {
		e.Process(d)
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	e.Flush()
	b.StopTimer()
	runtime.GC()
	runtime.ReadMemStats(&after)
	if p := e.Stats().Pending; p != b.N {
		b.Fatalf("%d pending, want %d", p, b.N)
	}
	b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/float64(b.N), "bytes/pending")
	runtime.KeepAlive(docs)
	runtime.KeepAlive(e)
}

// BenchmarkLoadSigmaRules is what weft hunt spends on SigmaHQ's Windows
// rules before it reads a document: loading the folder and building the
// engine.
func BenchmarkLoadSigmaRules(b *testing.B) {
	dir, ok := corpusDir()
	if !ok {
		b.Skip("../shared/corpus is absent")
	}
	sigmaDir := filepath.Join(dir, "corpus/sigma/rules/windows")
	b.ReportAllocs()
	cpu := processCPU()
	for b.Loop() {
		rules, _ := LoadRulesWith(b.Context(), LoadOptions{}, sigmaDir)
		if len(rules) == 0 {
			b.Fatal("no Sigma rule loaded")
		}
		if _, err := Compile(rules, Options{Lateness: Batch}); err != nil {
			b.Fatal(err)
		}
	}
	if cpu := processCPU() - cpu; cpu > 0 {
		// With the garbage collector's, which is on other threads.
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}
