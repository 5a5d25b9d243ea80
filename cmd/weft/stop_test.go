package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRunStopInMemory: with the streams in memory, an alert a receiver
// has not taken when shutdown_timeout runs out is lost, and weft run says
// so and exits 1, within the bound, instead of 0.
func TestRunStopInMemory(t *testing.T) {
	t.Parallel()
	reached := make(chan struct{}, 1)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case reached <- struct{}{}:
		default:
		}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // before srv.Close
	dir := t.TempDir()
	config := filepath.Join(dir, "weft.yaml")
	writeFile(t, config, fmt.Sprintf("sources:\n  - type: files\n    paths: [%q]\nsinks:\n  - type: webhook\n    url: %q\n",
		filepath.Join(fixtures, "mmc-positive.xml"), srv.URL))
	stop := startRun(t, config, "--shutdown-timeout", "1s")
	select {
	case <-reached:
	case <-testContext(t).Done():
		code, stderr := stop()
		t.Fatalf("the sink never tried the receiver (exit %d):\n%s", code, stderr)
	}
	stopped := time.Now()
	code, stderr := stop()
	took := time.Since(stopped)
	if code != exitFailure {
		t.Errorf("exit %d, want %d:\n%s", code, exitFailure, stderr)
	}
	if !strings.Contains(stderr, "what was not delivered is lost: the streams are kept in memory") {
		t.Errorf("the error does not say the alert is lost:\n%s", stderr)
	}
	// The bound plus the stop itself.
	if took > 20*time.Second {
		t.Errorf("stopping took %s with shutdown_timeout 1s", took)
	}
}
