package main

import "testing"

// TestExampleConfig keeps weft.example.yaml loadable as the code changes.
func TestExampleConfig(t *testing.T) {
	cfg, err := loadConfig("../../weft.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Sinks) != 4 || len(cfg.Sources) != 3 || !cfg.Rules.seed() {
		t.Errorf("example config read as %+v", cfg)
	}
	t.Setenv("WEFT_WEBHOOK_URL", "http://127.0.0.1:9/hook")
	t.Setenv("WEFT_SLACK_URL", "https://127.0.0.1:9/slack")
	t.Setenv("WEFT_WEBHOOK_SECRET", "s3cret")
	for _, s := range cfg.Sinks {
		if s.Type == "jsonl" {
			continue // it would create /var/log/weft
		}
		sink, err := openSink(s, "test")
		if err != nil {
			t.Errorf("sink %s: %v", s.Name, err)
			continue
		}
		_ = sink.Close()
	}
}
