package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weft-dev/weft/bus"
	"github.com/weft-dev/weft/sinks"
	"github.com/weft-dev/weft/sinks/webhook"
)

var updateConfigGoldens = flag.Bool("update", false, "rewrite the golden files of testdata/config")

// TestConfigCorpus runs weft config check and weft run --dry-run on every
// broken config of testdata/config (NAME.yaml, with the environment of
// NAME.env when there is one) and checks that both print the same
// problems with the same exit code, and that they are the ones of
// NAME.golden (go test -run TestConfigCorpus -update rewrites them).
//
// Not parallel: the environment is the process's, as weft's sinks read
// their secrets from it.
func TestConfigCorpus(t *testing.T) {
	files, err := filepath.Glob("testdata/config/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 30 {
		t.Fatalf("%d configs in testdata/config, want at least 30", len(files))
	}
	for _, path := range files {
		name := strings.TrimSuffix(filepath.Base(path), ".yaml")
		t.Run(name, func(t *testing.T) {
			env := readEnvFile(t, strings.TrimSuffix(path, ".yaml")+".env")
			for k, v := range env {
				t.Setenv(k, v) // for the secrets sinks read
			}
			// Only the case's own variables: a WEFT_* variable of the
			// machine running the tests would be an unknown setting.
			getenv := func(k string) string { return env[k] }
			a := &app{getenv: getenv}
			code, out, errOut := runWeft(t, testContext(t), a, "config", "check", "--config", path)
			dry := &app{getenv: getenv}
			dryCode, dryOut, dryErr := runWeft(t, testContext(t), dry, "run", "--dry-run", "--config", path)
			// config check prints the problems on stdout, run on stderr,
			// then both the same summary on stderr.
			if code != dryCode || out+errOut != dryErr || dryOut != "" {
				t.Errorf("config check and run --dry-run disagree:\ncheck (exit %d):\n%s%s\nrun --dry-run (exit %d):\n%s%s",
					code, out, errOut, dryCode, dryOut, dryErr)
			}
			if code != exitFailure {
				t.Errorf("a broken config exits %d, want %d", code, exitFailure)
			}
			for _, l := range strings.Split(out, "\n") {
				msg := strings.TrimPrefix(l, path)
				for _, bad := range []string{"!!", "unmarshal", "time.Duration", "main.", "EOF", "yaml:", "reflect", "strconv"} {
					if strings.Contains(msg, bad) {
						t.Errorf("a problem speaks Go or YAML (%q): %s", bad, l)
					}
				}
			}
			got := fmt.Sprintf("%sexit %d\n", out, code)
			golden := strings.TrimSuffix(path, ".yaml") + ".golden"
			if *updateConfigGoldens {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (go test -run TestConfigCorpus -update writes it)", err)
			}
			if got != string(want) {
				t.Errorf("output differs from %s:\ngot:\n%s\nwant:\n%s", golden, got, want)
			}
			// Every problem of the file names its line and key path.
			fileLine := regexp.MustCompile(`^` + regexp.QuoteMeta(path) + `(:\d+)?: `)
			for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
				if !fileLine.MatchString(l) && !strings.HasPrefix(l, "WEFT_") {
					t.Errorf("problem without its file or variable: %q", l)
				}
			}
		})
	}
}

// readEnvFile reads NAME=value lines; a missing file is no environment.
func readEnvFile(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if ok && !strings.HasPrefix(k, "#") {
			env[k] = v
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return env
}

// TestConfigGood checks that the configs weft ships pass both checks:
// weft.example.yaml with its variables set (its alert file moved to a
// folder that exists here) and the README's example.
func TestConfigGood(t *testing.T) {
	dir := t.TempDir()
	example, err := os.ReadFile("../../weft.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(readme), "In short:\n\n```yaml\n")
	block, _, ok2 := strings.Cut(block, "```")
	if !ok || !ok2 {
		t.Fatal("README.md has no configuration example after \"In short:\"")
	}
	configs := map[string]string{
		"weft.example.yaml": regexp.MustCompile(`/var/(log|lib)/weft/`).ReplaceAllString(string(example), dir+"/"),
		"readme.yaml":       block,
	}
	t.Setenv("WEFT_WEBHOOK_URL", "https://127.0.0.1:9/hook")
	t.Setenv("WEFT_WEBHOOK_SECRET", "s3cret")
	t.Setenv("WEFT_SLACK_URL", "https://127.0.0.1:9/slack")
	// Only these: another WEFT_* variable of the machine running the tests
	// would be an unknown setting.
	getenv := func(k string) string {
		if k == "WEFT_WEBHOOK_URL" || k == "WEFT_WEBHOOK_SECRET" || k == "WEFT_SLACK_URL" {
			return os.Getenv(k)
		}
		return ""
	}
	for name, text := range configs {
		path := filepath.Join(dir, name)
		writeFile(t, path, text)
		for _, args := range [][]string{{"config", "check"}, {"run", "--dry-run"}} {
			code, out, errOut := runWeft(t, testContext(t), &app{getenv: getenv}, append(args, "--config", path)...)
			if code != exitOK || out != path+": ok\n" {
				t.Errorf("weft %s %s: exit %d\n%s%s", strings.Join(args, " "), name, code, out, errOut)
			}
		}
	}

	// Unset, the variables the example's sinks read are problems of their
	// own, on the lines that name them, in both.
	for _, k := range []string{"WEFT_WEBHOOK_URL", "WEFT_WEBHOOK_SECRET", "WEFT_SLACK_URL"} {
		t.Setenv(k, "")
	}
	path := filepath.Join(dir, "weft.example.yaml")
	code, out, _ := runWeft(t, testContext(t), &app{getenv: getenv}, "config", "check", "--config", path)
	dryCode, _, dryOut := runWeft(t, testContext(t), &app{getenv: getenv}, "run", "--dry-run", "--config", path)
	if code != exitFailure || dryCode != code || !strings.HasPrefix(dryOut, out) {
		t.Errorf("example without its variables: check exit %d, run --dry-run exit %d\n%s\n%s", code, dryCode, out, dryOut)
	}
	for _, want := range []string{
		"sinks[1].url_env: environment variable WEFT_WEBHOOK_URL is not set or empty",
		"sinks[1].secret_env: environment variable WEFT_WEBHOOK_SECRET is not set or empty",
		"sinks[2].url_env: environment variable WEFT_SLACK_URL is not set or empty",
	} {
		if !regexp.MustCompile(regexp.QuoteMeta(path) + `:\d+: ` + regexp.QuoteMeta(want)).MatchString(out) {
			t.Errorf("example without its variables does not say %q:\n%s", want, out)
		}
	}
}

// TestConfigEnv checks that WEFT_* variables reach every kind of key
// through the decoder of the file, replacing the file's values.
func TestConfigEnv(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"WEFT_BUS_URL":                "nats://127.0.0.1:4222",
		"WEFT_BUS_BATCH_SIZE":         "32",
		"WEFT_BUS_MAX_BYTES":          "512MiB",
		"WEFT_BUS_TLS_CA_FILE":        "/etc/ca.pem",
		"WEFT_CORRELATOR_LATENESS":    "1m30s",
		"WEFT_RULES_PATHS":            "[a.toml, b/]",
		"WEFT_RULES_SEED":             "false",
		"WEFT_SINKS":                  "[{type: webhook, name: out, url: 'https://h/x', max_retry_after: 1m}]",
		"WEFT_SOURCES":                "[{type: tcp, listen: 5140, max_event_size: 512KiB}]",
		"WEFT_CORRELATOR_MAX_PENDING": "",
	}
	a := &app{getenv: func(k string) string { return env[k] }}
	cfg := &config{}
	cfg.Correlator.MaxPending = 9
	cfg.Rules.Paths = []string{"from-file.toml"}
	d := &configDecoder{where: map[string]origin{}}
	d.overlayEnv(cfg, a.getenv)
	if len(d.problems) > 0 {
		t.Fatal(d.problems)
	}
	if cfg.Bus.URL != "nats://127.0.0.1:4222" || cfg.Bus.BatchSize != 32 || cfg.Bus.MaxBytes != 512<<20 ||
		cfg.Bus.TLS.CAFile != "/etc/ca.pem" || cfg.Correlator.Lateness != 90*time.Second ||
		cfg.Correlator.MaxPending != 9 || strings.Join(cfg.Rules.Paths, ",") != "a.toml,b/" || cfg.Rules.seed() {
		t.Errorf("config after the environment: %+v", cfg)
	}
	if len(cfg.Sinks) != 1 || cfg.Sinks[0].Name != "out" ||
		!reflect.DeepEqual(cfg.Sinks[0].options, &webhook.Config{URL: "https://h/x", HTTPOptions: sinks.HTTPOptions{MaxRetryAfter: time.Minute}}) {
		t.Errorf("WEFT_SINKS read as %+v", cfg.Sinks)
	}
	if len(cfg.Sources) != 1 || cfg.Sources[0].Listen.MaxEventSize != 512<<10 || cfg.Sources[0].Listen.Listen != "5140" {
		t.Errorf("WEFT_SOURCES read as %+v", cfg.Sources)
	}
	if o := d.where["sinks"]; o.env != "WEFT_SINKS" {
		t.Errorf("sinks come from %+v, want WEFT_SINKS", o)
	}
}

// TestConfigEnvNames checks that every key has its WEFT_* name and that
// flags and the names *_env keys give are known too.
func TestConfigEnvNames(t *testing.T) {
	t.Parallel()
	var names []string
	for _, k := range configEnvKeys() {
		names = append(names, k.name+"="+k.key)
	}
	for _, want := range []string{
		"WEFT_BUS_URL=bus.url", "WEFT_BUS_TLS_KEY_FILE=bus.tls.key_file", "WEFT_CORRELATOR_LATENESS=correlator.lateness",
		"WEFT_RULES_SIGMA_STATUS=rules.sigma.status", "WEFT_SINKS=sinks", "WEFT_SOURCES=sources", "WEFT_SHUTDOWN_TIMEOUT=shutdown_timeout",
	} {
		if !slices.Contains(names, want) {
			t.Errorf("no %s among %v", want, names)
		}
	}
	flags := flagEnvNames((&app{}).rootCmd())
	for _, want := range []string{"WEFT_LOG_LEVEL", "WEFT_NATS", "WEFT_DRY_RUN", "WEFT_METRICS_LISTEN", "WEFT_STRICT"} {
		if !slices.Contains(flags, want) {
			t.Errorf("flag variable %s unknown", want)
		}
	}
	cfg := &config{Bus: bus.Config{PasswordEnv: "WEFT_NATS_PW"}}
	cfg.Sinks = []sinkConfig{{Type: "webhook", options: &webhook.Config{URLEnv: "HOOK_URL", HeadersEnv: map[string]string{"Authorization": "WEFT_AUTH"}}}}
	refs := envReferences(reflectValue(cfg))
	for _, want := range []string{"WEFT_NATS_PW", "HOOK_URL", "WEFT_AUTH"} {
		if !slices.Contains(refs, want) {
			t.Errorf("%s, named by a *_env key, is not among %v", want, refs)
		}
	}
}
