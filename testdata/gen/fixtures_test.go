package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/weft-dev/weft/testdata/gen/scenario"
	"github.com/weft-dev/weft/testdata/gen/sysmon"

	"github.com/weft-dev/weft/internal/repotest"
)

var update = flag.Bool("update", false, "regenerate the committed fixtures in testdata/evtx")

func TestMain(m *testing.M) {
	log.SetOutput(io.Discard) // golang-evtx logs to the standard logger
	os.Exit(m.Run())
}

// repoRoot is the folder holding go.mod.
func repoRoot(t *testing.T) string {
	return repotest.Root(t)
}

// fixtureCommands reads the command lines of testdata/evtx/README.md.
func fixtureCommands(t *testing.T) [][]string {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot(t), "testdata", "evtx", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "go run ./testdata/gen "); ok {
			out = append(out, splitArgs(rest))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) < 3 {
		t.Fatalf("found %d command lines in testdata/evtx/README.md", len(out))
	}
	return out
}

// splitArgs splits a command line as a shell would, for the quoting
// quoteArgs writes: words, single-quoted strings and backslash escapes.
func splitArgs(s string) []string {
	var out []string
	var cur strings.Builder
	in, word := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'':
			in, word = !in, true
		case !in && c == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
			word = true
		case !in && (c == ' ' || c == '\t'):
			if word {
				out = append(out, cur.String())
				cur.Reset()
				word = false
			}
		default:
			cur.WriteByte(c)
			word = true
		}
	}
	if word {
		out = append(out, cur.String())
	}
	return out
}

// generated is a scenario written to a folder, with every record seen.
type generated struct {
	dir      string
	job      *job
	manifest *scenario.Manifest
	records  map[string][]observed // by file path relative to dir
}

type observed struct {
	id uint64
	ev sysmon.Event
}

func generate(t *testing.T, args []string, dir string) *generated {
	t.Helper()
	j, err := parse(args, io.Discard)
	if err != nil {
		t.Fatalf("%q: %v", args, err)
	}
	g := &generated{dir: dir, job: j, records: map[string][]observed{}}
	var mu sync.Mutex
	// Observe sees base names; map them back to paths under dir.
	rel := func(base string) string {
		if j.cfg.File != "" {
			return filepath.Join(filepath.Dir(j.cfg.File), base)
		}
		return filepath.Join(j.cfg.Dir, base)
	}
	j.cfg.Observe = func(file string, id uint64, ev *sysmon.Event) {
		mu.Lock()
		defer mu.Unlock()
		g.records[rel(file)] = append(g.records[rel(file)], observed{id, *ev})
	}
	if g.manifest, err = j.generate(context.Background(), dir); err != nil {
		t.Fatalf("%q: %v", args, err)
	}
	return g
}

// TestFixtures regenerates every committed fixture from the command line
// its README gives, and compares the bytes.
func TestFixtures(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	for _, args := range fixtureCommands(t) {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if *update {
				dir = root
			}
			g := generate(t, args, dir)
			if len(g.records) == 0 {
				t.Fatal("no records written")
			}
			for path := range g.records {
				compareFiles(t, filepath.Join(root, path), filepath.Join(dir, path))
			}
			compareFiles(t, filepath.Join(root, g.job.manifest), filepath.Join(dir, g.job.manifest))
			if !strings.Contains(g.manifest.Command, strings.Join(args, " ")) {
				t.Errorf("manifest command %q does not give the arguments", g.manifest.Command)
			}
		})
	}
}

func compareFiles(t *testing.T, committed, fresh string) {
	t.Helper()
	want, err := os.ReadFile(committed)
	if err != nil {
		t.Errorf("%v (go test ./testdata/gen -run TestFixtures -update writes it)", err)
		return
	}
	got, err := os.ReadFile(fresh)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is not what its command line writes now (%d bytes, regenerated %d); run go test ./testdata/gen -run TestFixtures -update if the change is meant", committed, len(want), len(got))
	}
}

func TestRunErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-hosts", "x"}, "invalid value"},
		{[]string{"-out", filepath.Join(dir, "a.evtx"), "extra"}, "unexpected arguments"},
		{[]string{"-start", "yesterday", "-out", filepath.Join(dir, "a.evtx")}, "-start"},
		{[]string{"-near-misses", "sideways", "-out", filepath.Join(dir, "a.evtx")}, "not a near-miss"},
		{[]string{"-near-misses", "attack", "-out", filepath.Join(dir, "a.evtx")}, "not a near-miss"},
		{[]string{}, "exactly one of File"},
		{[]string{"-hosts", "1", "-near-misses", "other-host", "-out", filepath.Join(dir, "a.evtx")}, "at least 2 hosts"},
	} {
		var stderr bytes.Buffer
		err := run(context.Background(), tc.args, &stderr)
		if err == nil || !strings.Contains(err.Error()+stderr.String(), tc.want) {
			t.Errorf("run %q: %v, want an error saying %q", tc.args, err, tc.want)
		}
	}
	var stderr bytes.Buffer
	out := filepath.Join(dir, "sub", "ok.evtx")
	if err := run(context.Background(), []string{"-span", "20m", "-rate", "0.1", "-near-misses", "all,udp", "-hosts", "2", "-out", out}, &stderr); err != nil {
		t.Fatal(err)
	}
	m, err := scenario.ReadManifest(filepath.Join(dir, "sub", "ok.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Alerts) != 1 || len(m.NearMisses) != len(scenario.NearMisses())+1 || !strings.Contains(stderr.String(), "1 attacks, 11 near-misses") {
		t.Errorf("manifest %d alerts, %d near-misses; stderr %s", len(m.Alerts), len(m.NearMisses), stderr.String())
	}
	if got := splitArgs(quoteArgs([]string{"a b", "it's", "-x", ""})); strings.Join(got, "|") != "a b|it's|-x|" {
		t.Errorf("quoteArgs does not round-trip: %q", got)
	}
}
