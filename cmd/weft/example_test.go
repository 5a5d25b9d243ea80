package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExampleConfig keeps weft.example.yaml loadable as the code changes,
// and its sinks buildable as weft run builds them (its alert file moved
// to a folder that exists here). Not parallel: the sinks read their
// secrets from the process's environment.
func TestExampleConfig(t *testing.T) {
	example, err := os.ReadFile("../../weft.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "weft.yaml")
	writeFile(t, path, strings.ReplaceAll(strings.ReplaceAll(string(example), "/var/log/weft/", dir+"/"), "/var/lib/weft/", dir+"/"))
	t.Setenv("WEFT_WEBHOOK_URL", "http://127.0.0.1:9/hook")
	t.Setenv("WEFT_SLACK_URL", "https://127.0.0.1:9/slack")
	t.Setenv("WEFT_WEBHOOK_SECRET", "s3cret")
	cfg, err := loadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Sinks) != 4 || len(cfg.Sources) != 3 || !cfg.Rules.seed() {
		t.Errorf("example config read as %+v", cfg)
	}
	for _, s := range cfg.Sinks {
		sink, err := openSink(s, "test")
		if err != nil {
			t.Errorf("sink %s: %v", s.Name, err)
			continue
		}
		_ = sink.Close()
	}
}
