package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExitCodes checks each code of the README's table on each command
// that can give it: 0 for a run that reached its end, 1 when weft could not
// do its job, 2 for a wrong command line, 3 for --strict over damaged input.
func TestExitCodes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	positive := filepath.Join(fixtures, "mmc-positive.xml")
	malformed := filepath.Join(fixtures, "malformed.xml")
	rule := filepath.Join("..", "..", "correlator", "rules", "incoming_dcom_lateral_movement_with_mmc.toml")
	unreadable := filepath.Join(dir, "cfg-dir.yaml")
	if err := os.Mkdir(unreadable, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"hunt ok", []string{"hunt", "--json", positive}, exitOK, "1 alert"},
		{"eql ok", []string{"eql", "any where true", positive}, exitOK, ""},
		{"damaged input without --strict", []string{"hunt", "--json", malformed}, exitOK, "1 error"},

		{"unknown command", []string{"huntt", "x"}, exitUsage, `unknown command "huntt" for "weft"; did you mean hunt?`},
		{"unknown subcommand", []string{"rules", "tset"}, exitUsage, `unknown command "tset"`},
		{"unknown config subcommand", []string{"config", "chek"}, exitUsage, `unknown command "chek" for "weft config"`},
		{"hunt without arguments", []string{"hunt"}, exitUsage, "usage: weft hunt PATH..."},
		{"eql without arguments", []string{"eql"}, exitUsage, "usage: weft eql QUERY"},
		{"rules test without arguments", []string{"rules", "test"}, exitUsage, "usage: weft rules test RULE PATH..."},
		{"rules test without a path", []string{"rules", "test", rule}, exitUsage, "requires at least 2 arg(s)"},
		{"dump without arguments", []string{"dump"}, exitUsage, "usage: weft dump PATH..."},
		{"version with an argument", []string{"version", "x"}, exitUsage, `unknown command "x"`},
		{"bad flag", []string{"hunt", "--nope", positive}, exitUsage, "unknown flag: --nope"},
		{"bad flag value", []string{"hunt", "--strict=maybe", positive}, exitUsage, "--strict"},
		{"bad query", []string{"eql", "proces wher", positive}, exitUsage, "query"},

		{"missing config", []string{"run", "--config", filepath.Join(dir, "none.yaml")}, exitFailure, "none.yaml"},
		{"unreadable config", []string{"run", "--config", unreadable}, exitFailure, "cfg-dir.yaml"},
		{"config check of a missing config", []string{"config", "check", "--config", filepath.Join(dir, "none.yaml")}, exitFailure, "none.yaml"},
		{"no input readable", []string{"hunt", filepath.Join(dir, "nope.evtx")}, exitFailure, "no readable"},

		{"hunt --strict", []string{"hunt", "--json", "--strict", malformed}, exitStrict, "--strict"},
		{"eql --strict", []string{"eql", "--strict", "any where true", malformed}, exitStrict, "--strict"},
		{"dump --strict", []string{"dump", "--strict", malformed}, exitStrict, "--strict"},
		{"normalize --strict", []string{"normalize", "--strict", malformed}, exitStrict, "--strict"},
		{"rules test --strict", []string{"rules", "test", "--strict", rule, malformed}, exitStrict, "--strict"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, _, errOut := runWeft(t, testContext(t), nil, tc.args...)
			if code != tc.code {
				t.Errorf("weft %s: exit %d, want %d; stderr:\n%s", strings.Join(tc.args, " "), code, tc.code, errOut)
			}
			if !strings.Contains(errOut, tc.stderr) {
				t.Errorf("weft %s: stderr does not say %q:\n%s", strings.Join(tc.args, " "), tc.stderr, errOut)
			}
		})
	}
}
