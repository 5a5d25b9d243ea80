package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// streamingHunt runs weft hunt --json on standard input that the test
// writes: the positive fixture (one MMC DCOM attack) and then filler, more
// events of the same host that no rule wants, later in event time, so the
// collector publishes a batch and the host's clock passes the lateness.
// The input then stays open. It returns the alert lines as hunt prints them,
// the function that ends the input, and what the command returns.
type streamingHunt struct {
	lines   chan string
	closeIn func()
	code    chan int
	stderr  *lockedBuffer
}

func startStreamingHunt(t *testing.T, ctx context.Context, extra ...string) *streamingHunt {
	t.Helper()
	fixture, err := os.ReadFile(filepath.Join(fixtures, "mmc-positive.xml"))
	if err != nil {
		t.Fatal(err)
	}
	// A process creation of the same host by svchost: not the rule's.
	first, _, ok := strings.Cut(string(fixture), "\n")
	if !ok || !strings.Contains(first, "taskhostw.exe") {
		t.Fatalf("the fixture's first event is not the taskhostw process creation:\n%.200s", first)
	}
	var input strings.Builder
	input.Write(fixture)
	input.WriteByte('\n')
	// More than a batch (bus.DefaultBatchSize) of one host: the collector
	// publishes what it has read without waiting for the end of input.
	for i := range 300 {
		at := time.Date(2026, 11, 20, 10, 20, 0, 0, time.UTC).Add(time.Duration(i) * time.Second)
		ev := strings.Replace(first, "2026-11-20T10:14:31.5543210Z", at.Format("2006-01-02T15:04:05.0000000Z"), 1)
		ev = strings.Replace(ev, "2026-11-20 10:14:31.549", at.Format("2006-01-02 15:04:05.000"), 1)
		ev = strings.Replace(ev, "<EventRecordID>48211<", fmt.Sprintf("<EventRecordID>%d<", 60000+i), 1)
		input.WriteString(ev + "\n")
	}

	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	h := &streamingHunt{lines: make(chan string, 16), code: make(chan int, 1), stderr: &lockedBuffer{}}
	h.closeIn = func() { inW.Close() }
	t.Cleanup(func() { inW.Close(); outR.Close() })
	go func() {
		// Blocks until hunt has read it all; the pipe stays open after.
		_, _ = io.WriteString(inW, input.String())
	}()
	go func() {
		defer close(h.lines)
		sc := bufio.NewScanner(outR)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			h.lines <- sc.Text()
		}
	}()
	a := &app{stdin: inR, stdout: outW, stderr: h.stderr, getenv: func(string) string { return "" }}
	args := append([]string{"--log-level", "warn", "hunt", "--json", "--quiet"}, extra...)
	go func() {
		code := a.execute(ctx, append(args, "-"))
		outW.Close()
		h.code <- code
	}()
	return h
}

// firstAlert waits for hunt's first line and checks it is the attack's
// alert.
func (h *streamingHunt) firstAlert(t *testing.T, ctx context.Context) {
	t.Helper()
	select {
	case line, ok := <-h.lines:
		if !ok {
			t.Fatalf("hunt ended without an alert (exit %d):\n%s", <-h.code, h.stderr.String())
		}
		alerts := decodeAlerts(t, line)
		if got := field(alerts[0], "rule.name"); got != "Incoming DCOM Lateral Movement with MMC" {
			t.Fatalf("rule.name = %v", got)
		}
		if got := field(alerts[0], "host.name"); got != "WKS-FIN-07.corp.example" {
			t.Fatalf("host.name = %v", got)
		}
	case code := <-h.code:
		t.Fatalf("hunt ended (exit %d) before its input did, without an alert:\n%s", code, h.stderr.String())
	case <-ctx.Done():
		t.Fatalf("no alert while the input stays open: %v\n%s", ctx.Err(), h.stderr.String())
	}
}

// TestHuntStreamsAlerts proves an alert is printed once it is final, while
// the input is still open: hunt does not hold alerts to the end.
func TestHuntStreamsAlerts(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	h := startStreamingHunt(t, ctx, "--lateness", "1s")
	h.firstAlert(t, ctx)
	// Only now does the input end.
	h.closeIn()
	if code := <-h.code; code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, h.stderr.String())
	}
	for line := range h.lines {
		t.Errorf("more output after the alert: %s", line)
	}
	if !strings.Contains(h.stderr.String(), "1 alert, 0 errors") {
		t.Errorf("summary: %s", h.stderr.String())
	}
}

// TestHuntInterrupted interrupts a hunt whose input never ends, as SIGINT
// does (main's context is signal.NotifyContext's): hunt stops reading,
// keeps the alert it found, prints the summary saying "interrupted", and
// exits 130.
func TestHuntInterrupted(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	sigCtx, interrupt := context.WithCancel(ctx)
	defer interrupt()
	h := startStreamingHunt(t, sigCtx)
	h.firstAlert(t, ctx)
	interrupt() // the input is still open
	select {
	case code := <-h.code:
		if code != exitInterrupted {
			t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitInterrupted, h.stderr.String())
		}
	case <-ctx.Done():
		t.Fatal("hunt did not end after the interrupt")
	}
	errOut := h.stderr.String()
	for _, want := range []string{"1 alert, 0 errors", ", interrupted", "weft: interrupted"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr does not say %q:\n%s", want, errOut)
		}
	}
}

// TestHuntSortTable: --sort prints the table at the end, aligned, as
// before; without it, rows are printed as they come with the same columns.
func TestHuntSortTable(t *testing.T) {
	t.Parallel()
	for _, sorted := range []bool{false, true} {
		t.Run(fmt.Sprint("sort=", sorted), func(t *testing.T) {
			t.Parallel()
			args := []string{"hunt", filepath.Join(fixtures, "mmc-positive.xml")}
			if sorted {
				args = append(args, "--sort")
			}
			code, out, errOut := runWeft(t, testContext(t), nil, args...)
			if code != 0 {
				t.Fatalf("exit %d, stderr:\n%s", code, errOut)
			}
			lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
			if len(lines) != 2 {
				t.Fatalf("%d lines, want a header and a row:\n%s", len(lines), out)
			}
			// Columns line up: each header word starts where its cell does.
			for _, col := range []string{"SEVERITY", "RULE", "HOST"} {
				i := strings.Index(lines[0], col)
				if i <= 0 || lines[1][i-2:i] != "  " || lines[1][i] == ' ' {
					t.Errorf("column %s at %d does not line up:\n%s", col, i, out)
				}
			}
		})
	}
}
