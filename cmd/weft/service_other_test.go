//go:build !windows

package main

import (
	"strings"
	"testing"
)

func TestServiceIsWindowsOnly(t *testing.T) {
	t.Parallel()
	code, _, errOut := runWeft(t, testContext(t), nil, "service", "install", "--config", "weft.yaml")
	if code != exitFailure || !strings.Contains(errOut, "works on Windows only") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}
