package eql

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/pelletier/go-toml/v2"

	"github.com/weft-dev/weft/internal/repotest"
)

// sharedDir finds ../shared beside the repository root (the directory that
// holds go.mod), or skips the test.
func sharedDir(t *testing.T, rel string) string {
	return repotest.Shared(t, rel)
}

// TestElasticRuleCorpus parses and compiles the query of every Elastic
// Windows rule and checks that the canonical form parses back to itself.
func TestElasticRuleCorpus(t *testing.T) {
	t.Parallel()
	dir := sharedDir(t, "corpus/elastic-rules/windows")
	files, err := filepath.Glob(filepath.Join(dir, "*.toml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no rules in %s: %v", dir, err)
	}
	sequences := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var r struct{ Rule struct{ Query string } }
		if err := toml.Unmarshal(data, &r); err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		q, err := Parse(r.Rule.Query)
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
			continue
		}
		p, err := Compile(q)
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
			continue
		}
		if p.IsSequence() {
			sequences++
		}
		again, err := Parse(q.String())
		if err != nil || again.String() != q.String() {
			t.Errorf("%s: canonical form does not parse back: %v\n%s", filepath.Base(f), err, q)
		}
	}
	if sequences == 0 {
		t.Error("no sequence rules compiled")
	}
	t.Logf("%d rules, %d sequences", len(files), sequences)
}
