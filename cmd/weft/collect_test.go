package main

import (
	"bufio"
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weft-dev/weft/collector"

	"github.com/weft-dev/weft/internal/repotest"
)

// corpusDir is ../shared/corpus/<sub> beside the repository (found by
// walking up to go.mod); the test is skipped when it is absent.
func corpusDir(t *testing.T, sub string) string {
	return repotest.Shared(t, filepath.Join("corpus", sub))
}

// referenceCounts reads the reference column of evtx-dirty/EXPECTED.tsv.
func referenceCounts(t *testing.T, dir string) map[string]int {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "EXPECTED.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	header := true
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if header {
			header = false
			continue
		}
		f := strings.Split(line, "\t")
		n, err := strconv.Atoi(f[1])
		if err != nil {
			t.Fatalf("EXPECTED.tsv: %q", line)
		}
		out[f[0]] = n
	}
	return out
}

// TestDumpDirtyCorpus is the test: weft dump on every damaged
// sample exits 0 and prints at least the records the best reader recovers,
// but for records reported as using BinXML golang-evtx cannot parse.
func TestDumpDirtyCorpus(t *testing.T) {
	t.Parallel()
	dir := corpusDir(t, "evtx-dirty")
	for name, reference := range referenceCounts(t, dir) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runWeft(t, testContext(t), nil, "dump", filepath.Join(dir, name))
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			events := strings.Count(out, "\n")
			// Repeated warnings are summed up in the log (logagg).
			_, unsupported := loggedCount(t, errOut, "BinXML construct golang-evtx does not parse")
			if events+unsupported < reference {
				t.Errorf("%d events and %d records golang-evtx cannot parse, want %d", events, unsupported, reference)
			}
			if !strings.Contains(errOut, "weft dump: 1 file, "+plural(events, "event")) {
				t.Errorf("summary missing: %s", errOut)
			}
		})
	}
}

// TestWholeCorpus: no file anywhere in the corpus stops dump or hunt.
func TestWholeCorpus(t *testing.T) {
	t.Parallel()
	root := filepath.Dir(corpusDir(t, "evtx-dirty"))
	for _, args := range [][]string{
		{"dump", "--quiet", root},
		{"hunt", "--json", "--quiet", root},
	} {
		t.Run(args[0], func(t *testing.T) {
			t.Parallel()
			code, _, errOut := runWeft(t, testContext(t), nil, args...)
			if code != exitOK || !strings.Contains(errOut, "weft "+args[0]+": ") {
				t.Errorf("exit %d: %s", code, lastLines(errOut, 5))
			}
		})
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// TestDumpBadInputs runs dump over a folder of broken files beside a good
// one: one line per problem, naming the file; exit 0, or 3 with --strict.
func TestDumpBadInputs(t *testing.T) {
	t.Parallel()
	good, err := os.ReadFile(filepath.Join(corpusDir(t, "evtx-dirty"), "sysmon.evtx"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	claims := bytes.Clone(good[:4096+65536])
	claims[42] = 9 // the header's chunk count; its checksum no longer matches either
	noise := bytes.Repeat([]byte("not an event log "), 10000)
	for name, data := range map[string][]byte{
		"good.evtx":      good,
		"truncated.evtx": good[:4096+65536+20000],
		"empty.evtx":     nil,
		"noise.evtx":     noise,
		"claims.evtx":    claims,
	} {
		writeFile(t, filepath.Join(dir, name), string(data))
	}
	code, out, errOut := runWeft(t, testContext(t), nil, "dump", "--errors", dir)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for _, want := range []string{
		"truncated.evtx: chunk 1: offset 0x11000: chunk truncated to 20000 bytes",
		"empty.evtx: offset 0x0: empty file (0 bytes)",
		"noise.evtx: offset 0x0: not an event log",
		"claims.evtx: offset 0x0: file header checksum mismatch",
	} {
		n := 0
		for _, l := range lines {
			if strings.Contains(l, want) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d lines say %q:\n%s", n, want, out)
		}
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, dir) {
			t.Errorf("error line %q does not name its file", l)
		}
	}
	if !strings.Contains(errOut, "empty.evtx: 0 events, 1 error") || !strings.Contains(errOut, "weft dump: 5 files, ") {
		t.Errorf("per-file counts missing:\n%s", errOut)
	}
	for _, cmd := range [][]string{{"dump", "--strict", dir}, {"hunt", "--json", "--strict", dir}} {
		if code, _, errOut := runWeft(t, testContext(t), nil, cmd...); code != exitStrict {
			t.Errorf("%s --strict: exit %d, want %d: %s", cmd[0], code, exitStrict, lastLines(errOut, 3))
		}
	}
}

func TestProgressLine(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.evtx"), strings.Repeat("x", 4_000_000))
	writeFile(t, filepath.Join(dir, "b.evtx"), strings.Repeat("x", 6_000_000))
	counters := &collector.Counters{}
	var out bytes.Buffer
	inputs := []collector.Input{{Path: filepath.Join(dir, "a.evtx")}, {Path: filepath.Join(dir, "b.evtx")}}
	if newProgress(&out, false, inputs, counters) != nil {
		t.Fatal("progress shown when it should not be")
	}
	p := newProgress(&out, true, inputs, counters)
	start := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	p.start = start
	counters.Files.Add(1)
	counters.Bytes.Add(2_500_000)
	counters.Records.Add(5000)
	counters.Errors.Add(2)
	want := "1/2 files  2.5 MB/10.0 MB  2500 events/s  2 errors  ETA 0:06"
	if got := p.line(start.Add(2 * time.Second)); got != want {
		t.Errorf("line %q, want %q", got, want)
	}
	// A log line clears the status line first.
	p.draw()
	if _, err := p.Write([]byte("log line\n")); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); !strings.HasPrefix(got, "\r1/2 files") || !strings.HasSuffix(got, "\x1b[K\r\x1b[Klog line\n") {
		t.Errorf("output %q", got)
	}
	if clock(3725*time.Second) != "1:02:05" {
		t.Errorf("clock %s", clock(3725*time.Second))
	}
	// Nothing is shown on a pipe.
	a := &app{stderr: &out, stdout: &out}
	stop := a.startProgress(false, false, inputs, counters)
	stop()
	stop()
	if a.stderr != &out {
		t.Error("stderr not restored")
	}
}

// freePort returns a loopback port nobody listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
