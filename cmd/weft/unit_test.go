package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// unitFile is the [Service] section of a systemd unit: each key's values,
// in order.
type unitFile map[string][]string

func parseUnit(t *testing.T, path string) unitFile {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	u := unitFile{}
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[':
			section = strings.Trim(line, "[]")
		case section == "Service":
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("%s: %q is no key=value", path, line)
			}
			u[k] = append(u[k], v)
		}
	}
	return u
}

// writable is what the unit lets the service write under
// ProtectSystem=strict: ReadWritePaths and the directories systemd makes
// for it.
func (u unitFile) writable() []string {
	var out []string
	for _, v := range u["ReadWritePaths"] {
		for _, p := range strings.Fields(v) {
			out = append(out, strings.TrimLeft(p, "-+"))
		}
	}
	for key, base := range map[string]string{"StateDirectory": "/var/lib", "LogsDirectory": "/var/log", "CacheDirectory": "/var/cache", "RuntimeDirectory": "/run"} {
		for _, v := range u[key] {
			for _, d := range strings.Fields(v) {
				out = append(out, filepath.Join(base, d))
			}
		}
	}
	return out
}

// flag is the value of --name in the unit's ExecStart.
func (u unitFile) flag(name string) string {
	for _, cmd := range u["ExecStart"] {
		args := strings.Fields(cmd)
		for i, a := range args {
			if v, ok := strings.CutPrefix(a, name+"="); ok {
				return v
			}
			if a == name && i+1 < len(args) {
				return args[i+1]
			}
		}
	}
	return ""
}

func under(path string, dirs []string) bool {
	for _, d := range dirs {
		if rel, err := filepath.Rel(d, path); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
			return true
		}
	}
	return false
}

// TestServiceUnitFitsExampleConfig reads docs/weft.service and
// weft.example.yaml as shipped: every path the service writes (the
// --data-dir of ExecStart, bus.data_dir, each jsonl sink's file) must be
// writable under the unit's ProtectSystem=strict, every path it reads must
// not be hidden by ProtectHome, and the config ExecStart names must be
// where the unit's ConfigurationDirectory puts it. systemd-analyze verify
// checks the unit itself where it is installed.
func TestServiceUnitFitsExampleConfig(t *testing.T) {
	t.Parallel()
	u := parseUnit(t, "../../docs/weft.service")
	if got := u["ProtectSystem"]; len(got) != 1 || got[0] != "strict" {
		t.Fatalf("ProtectSystem %v: the test checks the paths a strict unit allows", got)
	}
	writable := u.writable()
	var cfg struct {
		Bus struct {
			DataDir string `yaml:"data_dir"`
		} `yaml:"bus"`
		Sources []struct {
			Type  string   `yaml:"type"`
			Paths []string `yaml:"paths"`
			Path  string   `yaml:"path"`
		} `yaml:"sources"`
		Sinks []struct {
			Type string `yaml:"type"`
			Path string `yaml:"path"`
		} `yaml:"sinks"`
	}
	data, err := os.ReadFile("../../weft.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	type use struct{ what, path string }
	writes := []use{{"ExecStart --data-dir", u.flag("--data-dir")}, {"bus.data_dir", cfg.Bus.DataDir}}
	for i, s := range cfg.Sinks {
		if s.Type == "jsonl" && s.Path != "" && s.Path != "-" {
			writes = append(writes, use{fmt.Sprintf("sinks[%d].path", i), s.Path})
		}
	}
	var reads []use
	for i, s := range cfg.Sources {
		for _, p := range append(s.Paths, s.Path) {
			if p != "" {
				reads = append(reads, use{fmt.Sprintf("sources[%d]", i), p})
			}
		}
	}
	if len(writes) < 3 || len(reads) < 2 {
		t.Fatalf("found writes %v and reads %v: the example config changed shape", writes, reads)
	}
	for _, w := range writes {
		switch {
		case w.path == "":
			t.Errorf("%s is not set", w.what)
		case !under(w.path, writable):
			t.Errorf("%s %s is not writable under docs/weft.service (ReadWritePaths and *Directory= give %v)", w.what, w.path, writable)
		}
	}
	if got := u["ProtectHome"]; len(got) == 1 && got[0] != "no" && got[0] != "false" {
		for _, r := range reads {
			if under(r.path, []string{"/home", "/root", "/run/user"}) {
				t.Errorf("%s %s is hidden by ProtectHome=%s", r.what, r.path, got[0])
			}
		}
	}
	if conf := u.flag("--config"); len(u["ConfigurationDirectory"]) != 1 || conf != filepath.Join("/etc", u["ConfigurationDirectory"][0], "weft.yaml") {
		t.Errorf("ExecStart --config %s, ConfigurationDirectory %v", conf, u["ConfigurationDirectory"])
	}

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed: the unit's own syntax is not verified")
	}
	// verify wants ExecStart's binary to exist: this test's stands in.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	unit, err := os.ReadFile("../../docs/weft.service")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "weft.service")
	writeFile(t, path, strings.ReplaceAll(string(unit), "/usr/local/bin/weft", self))
	out, err := exec.CommandContext(testContext(t), analyze, "verify", path).CombinedOutput()
	// verify exits 0 on unknown keys and bad values, which it only
	// prints: any word from it is a finding.
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
