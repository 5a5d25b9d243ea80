package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHuntRulesPaths checks that rule mistakes are loud: a --rules path
// that does not exist or holds no rule file stops hunt (exit 1, naming the
// path), a rule file that does not load is an error of the summary (and
// --strict exits 3), and the summary says how many rules ran from where.
func TestHuntRulesPaths(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	positive := filepath.Join(fixtures, "mmc-positive.xml")
	seed, err := os.ReadFile(filepath.Join("..", "..", "correlator", "rules", "incoming_dcom_lateral_movement_with_mmc.toml"))
	if err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	notes := filepath.Join(dir, "notes")
	mixed := filepath.Join(dir, "mixed")
	good := filepath.Join(dir, "good")
	for _, d := range []string{empty, notes, mixed, good} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(notes, "README.md"), "not a rule")
	writeFile(t, filepath.Join(mixed, "seed.toml"), string(seed))
	writeFile(t, filepath.Join(mixed, "broken.toml"), "[rule]\nname = \"half a rule\"\n")
	writeFile(t, filepath.Join(good, "seed.toml"), string(seed))
	missing := filepath.Join(dir, "no-such-rules")

	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr []string
	}{
		{"seed only", []string{"hunt", "--json", positive}, exitOK,
			[]string{"1 alert, 0 errors, 1 rule in "}},
		{"missing path", []string{"hunt", "--rules", missing, positive}, exitFailure,
			[]string{"no-such-rules", "no such file"}},
		{"missing path with --strict", []string{"hunt", "--strict", "--rules", missing, positive}, exitFailure,
			[]string{"no-such-rules"}},
		{"empty folder", []string{"hunt", "--rules", empty, positive}, exitFailure,
			[]string{empty + " holds no rule file"}},
		{"folder without rule files", []string{"hunt", "--rules", notes, positive}, exitFailure,
			[]string{notes + " holds no rule file"}},
		{"one of two paths missing", []string{"hunt", "--rules", good, "--rules", missing, positive}, exitFailure,
			[]string{"no-such-rules"}},
		{"a rule that does not load", []string{"hunt", "--json", "--rules", mixed, positive}, exitOK,
			[]string{"broken.toml", "1 alert, 1 error, 1 rule (1 from " + mixed + ") in ", "(1 rule did not load)"}},
		{"a rule that does not load, --strict", []string{"hunt", "--json", "--strict", "--rules", mixed, positive}, exitStrict,
			[]string{"--strict: 1 rule did not load"}},
		{"rules from a folder", []string{"hunt", "--json", "--strict", "--rules", good, positive}, exitOK,
			[]string{"1 alert, 0 errors, 1 rule (1 from " + good + ") in "}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, _, errOut := runWeft(t, testContext(t), nil, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, errOut)
			}
			for _, want := range tc.stderr {
				if !strings.Contains(errOut, want) {
					t.Errorf("stderr does not say %q:\n%s", want, errOut)
				}
			}
		})
	}
}
