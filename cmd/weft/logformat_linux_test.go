package main

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestLogFormatOnTerminal: on a real terminal (a pseudo-terminal) the
// default log format is the console's, in colour.
func TestLogFormatOnTerminal(t *testing.T) {
	t.Parallel()
	ptm, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer ptm.Close()
	if err := unix.IoctlSetPointerInt(int(ptm.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Skipf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetInt(int(ptm.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Skipf("ptsname: %v", err)
	}
	pts, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("open pts: %v", err)
	}
	defer pts.Close()
	if !isTerminal(pts) {
		t.Fatal("the pseudo-terminal is not taken for a terminal")
	}
	for _, tc := range []struct {
		noColor string
		colour  bool
	}{{"", true}, {"1", false}} {
		var buf bytes.Buffer
		a := &app{stderr: pts, logLevel: "info", logFormat: "auto", getenv: func(k string) string {
			if k == "NO_COLOR" {
				return tc.noColor
			}
			return ""
		}}
		w, err := logWriter(a.logFormat, &buf, isTerminal(a.stderr), a.getenv("NO_COLOR") != "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(`{"level":"warn","message":"skipped input"}` + "\n")); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		if strings.HasPrefix(out, "{") || strings.Contains(out, "\x1b[") != tc.colour || !strings.Contains(out, "skipped input") {
			t.Errorf("NO_COLOR=%q: %q", tc.noColor, out)
		}
	}
}
