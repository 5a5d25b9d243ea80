package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestConfigCheck(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct {
		name, yaml string
		code       int
		want       []string
	}{
		{"valid", "bus:\n  batch_size: 64\ncorrelator:\n  lateness: 2s\nsinks:\n  - type: jsonl\n  - type: webhook\n    url: http://127.0.0.1:1/\n", exitOK, []string{"ok"}},
		{"top-level typo", "sinks: []\ncorelator: {}\n", exitFailure,
			[]string{`:2: corelator: unknown key "corelator"; did you mean "correlator"?`}},
		{"nested typo", "bus:\n  url: nats://127.0.0.1:4222\n  batch_sise: 3\n", exitFailure,
			[]string{`:3: bus.batch_sise: unknown key "batch_sise"; did you mean "batch_size"?`}},
		{"sink option typo", "sinks:\n  - type: jsonl\n  - type: webhook\n    ulr: http://127.0.0.1:1/\n", exitFailure,
			[]string{`:4: sinks[1].ulr: unknown key "ulr"; did you mean "url"? (a webhook sink)`}},
		{"sink delivery typo", "sinks:\n  - type: webhook\n    url: http://127.0.0.1:1/\n    delivery:\n      concurency: 2\n", exitFailure,
			[]string{`:5: sinks[0].delivery.concurency: unknown key "concurency"`}},
		{"no near key", "rules:\n  zzz: 1\n", exitFailure, []string{`:2: rules.zzz: unknown key "zzz"; known keys: paths, seed`}},
		{"wrong type", "correlator:\n  lateness: soon\n", exitFailure, []string{`:2: correlator.lateness: cannot unmarshal`}},
		{"invalid value", "sources:\n  - type: tape\n", exitFailure, []string{`sources[0].type "tape"`}},
		{"syntax", "bus: [\n", exitFailure, []string{"yaml:"}},
		{"shutdown timeout", "shutdown_timeout: 20s\n", exitOK, []string{"ok"}},
		{"negative shutdown timeout", "shutdown_timeout: -1s\n", exitFailure, []string{"shutdown_timeout must not be negative"}},
		{"shutdown timeout typo", "shutdown_timout: 20s\n", exitFailure, []string{`did you mean "shutdown_timeout"?`}},
		{"missing rules path", "rules:\n  paths:\n    - ../../correlator/rules\n    - /no/such/rules\n", exitFailure,
			[]string{`:4: rules.paths[1]: stat /no/such/rules: no such file or directory`}},
		{"rules folder without rules", "rules:\n  paths: [../../docs]\n", exitFailure,
			[]string{`rules.paths[0]: ../../docs holds no rule file`}},
		{"rules path", "rules:\n  paths: [../../correlator/rules]\n", exitOK, []string{"ok"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".yaml")
			writeFile(t, path, tc.yaml)
			code, out, errOut := runWeft(t, testContext(t), nil, "config", "check", "--config", path)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stdout %q stderr %q", code, tc.code, out, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output does not say %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestConfigEnv(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"WEFT_BUS_URL":                "nats://127.0.0.1:4222",
		"WEFT_BUS_BATCH_SIZE":         "32",
		"WEFT_CORRELATOR_LATENESS":    "7s",
		"WEFT_RULES_PATHS":            "[a.toml, b/]",
		"WEFT_SINKS":                  "[{type: jsonl, name: out}]",
		"WEFT_CORRELATOR_MAX_PENDING": "",
	}
	a := &app{getenv: func(k string) string { return env[k] }}
	cfg := &config{}
	cfg.Correlator.MaxPending = 9
	cfg.Rules.Paths = []string{"from-file.toml"}
	if err := a.applyConfigEnv(cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Bus.URL != "nats://127.0.0.1:4222" || cfg.Bus.BatchSize != 32 || cfg.Correlator.Lateness != 7*time.Second ||
		cfg.Correlator.MaxPending != 9 || strings.Join(cfg.Rules.Paths, ",") != "a.toml,b/" ||
		len(cfg.Sinks) != 1 || cfg.Sinks[0].Name != "out" {
		t.Errorf("config after the environment: %+v", cfg)
	}

	bad := &app{getenv: func(k string) string {
		if k == "WEFT_CORRELATOR_LATENESS" {
			return "soon"
		}
		return ""
	}}
	if err := bad.applyConfigEnv(&config{}); err == nil || !strings.Contains(err.Error(), "WEFT_CORRELATOR_LATENESS") {
		t.Errorf("a bad value gives %v, want an error naming WEFT_CORRELATOR_LATENESS", err)
	}
}
