//go:build unix

package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// BenchmarkSigmaHunt runs the weft binary, as users run it, over the
// scenario (see benchScenario; WEFT_BENCH_DIR for a large one) in the same
// run: weft dump (decoding and normalizing only), weft hunt with the seed
// rule, with Elastic's Windows rules, with all of SigmaHQ's Windows rules,
// and with both. It reports events per second and the peak resident
// memory of the process (ru_maxrss), so the figures compare as ratios.
func BenchmarkSigmaHunt(b *testing.B) {
	elastic := filepath.Join(sigmaCorpus, "..", "elastic-rules", "windows")
	sigmaRules := filepath.Join(sigmaCorpus, "rules", "windows")
	for _, dir := range []string{elastic, sigmaRules} {
		if _, err := os.Stat(dir); err != nil {
			b.Skipf("rule corpus not present (%v): it lives in ../shared beside the clone", err)
		}
	}
	dir, m := benchScenario(b)
	bin := filepath.Join(b.TempDir(), "weft")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	cases := []struct {
		name string
		args []string
	}{
		{"dump", []string{"dump", dir}},
		{"hunt=seed", []string{"hunt", "--json", dir}},
		{"hunt=elastic", []string{"hunt", "--json", "--no-seed", "--rules", elastic, dir}},
		{"hunt=sigma", []string{"hunt", "--json", "--no-seed", "--rules", sigmaRules, dir}},
		{"hunt=elastic+sigma", []string{"hunt", "--json", "--no-seed", "--rules", elastic, "--rules", sigmaRules, dir}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(scenarioBytes(m))
			var peak int64
			var busy time.Duration
			for b.Loop() {
				cmd := exec.Command(bin, append([]string{"--log-level", "error"}, c.args...)...)
				cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
				start := time.Now()
				if err := cmd.Run(); err != nil {
					b.Fatalf("%v: %v", c.args, err)
				}
				busy += time.Since(start)
				if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
					peak = max(peak, int64(ru.Maxrss)*maxrssUnit)
				}
			}
			b.ReportMetric(float64(m.Events)*float64(b.N)/busy.Seconds(), "events/s")
			b.ReportMetric(float64(peak)/(1<<20), "peak-MiB")
		})
	}
}
