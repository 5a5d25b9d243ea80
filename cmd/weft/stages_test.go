package main

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestStageCommandErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "weft.yaml")
	writeFile(t, cfg, "sinks:\n  - type: jsonl\n    path: "+filepath.Join(dir, "alerts.jsonl")+"\n")
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"collect without config", []string{"collect"}, exitUsage, "--config is required"},
		{"collect without sources", []string{"collect", "--config", cfg, "--nats", "nats://127.0.0.1:1"}, exitUsage, "no sources"},
		{"correlate without nats", []string{"correlate", "--config", cfg}, exitUsage, "--nats (or bus.url) is required"},
		{"correlate bad group", []string{"correlate", "--group", "eu.west"}, exitUsage, `group: "eu.west"`},
		{"correlate short group ttl", []string{"correlate", "--group-ttl", "10ms"}, exitUsage, "group_ttl: 10ms: want at least 1s"},
		{"correlate static shares are gone", []string{"correlate", "--share", "0/2"}, exitUsage, "unknown flag: --share"},
		{"sink unknown name", []string{"sink", "--config", cfg, "--name", "pager", "--nats", "nats://127.0.0.1:1"}, exitUsage, `--name "pager"`},
		{"normalize serve with paths", []string{"normalize", "--serve", "x.evtx"}, exitUsage, "--serve reads the bus"},
		{"normalize serve without nats", []string{"normalize", "--serve"}, exitUsage, "--nats (or bus.url) is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, _, errOut := runWeft(t, testContext(t), nil, tc.args...)
			if code != tc.code || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit %d naming %q", code, errOut, tc.code, tc.want)
			}
		})
	}
}

func TestLoopbackAddr(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"9464", "127.0.0.1:9464"},
		{":9464", "127.0.0.1:9464"},
		{"0.0.0.0:9464", "0.0.0.0:9464"},
		{"[::1]:0", "[::1]:0"},
		{"127.0.0.1:nope", ""},
	} {
		got, err := loopbackAddr(tc.in)
		if got != tc.want || (err != nil) != (tc.want == "") {
			t.Errorf("loopbackAddr(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}
