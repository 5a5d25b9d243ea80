package main

import (
	"path/filepath"
	"regexp"
	"testing"
)

// TestDecoderFlag dumps and hunts the synthesized EVTX fixtures with both
// BinXML decoders: the events and the alerts must be the same, and an
// unknown decoder is a usage error.
func TestDecoderFlag(t *testing.T) {
	t.Parallel()
	dir := filepath.Join("..", "..", "testdata", "evtx")
	// Origins and alerts carry the time of the run.
	received := regexp.MustCompile(`"(received|created)":"[^"]*"`)
	for _, cmd := range [][]string{{"dump", "--quiet", dir}, {"hunt", "--json", "--quiet", dir}} {
		t.Run(cmd[0], func(t *testing.T) {
			t.Parallel()
			code, weft, errOut := runWeft(t, testContext(t), nil, cmd...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			code, reference, errOut := runWeft(t, testContext(t), nil, append([]string{cmd[0], "--decoder", "golang-evtx"}, cmd[1:]...)...)
			if code != 0 {
				t.Fatalf("--decoder golang-evtx: exit %d: %s", code, errOut)
			}
			if weft == "" || received.ReplaceAllString(weft, "") != received.ReplaceAllString(reference, "") {
				t.Errorf("the decoders disagree (%d and %d bytes of output)", len(weft), len(reference))
			}
		})
	}
	if code, _, errOut := runWeft(t, testContext(t), nil, "dump", "--decoder", "libevtx", dir); code != 2 {
		t.Errorf("--decoder libevtx: exit %d, want 2 (%s)", code, errOut)
	}
}
