package sigma

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/weft-dev/weft/correlator/eql"
)

const corpus = "../../../shared/corpus/sigma"

// TestCorpusCompiles compiles every SigmaHQ Windows rule onto an EQL
// program and reports what does not compile, by reason.
func TestCorpusCompiles(t *testing.T) {
	t.Parallel()
	for _, dir := range []string{"rules/windows", "rules-threat-hunting/windows", "rules-emerging-threats"} {
		root := filepath.Join(corpus, dir)
		if _, err := os.Stat(root); err != nil {
			t.Skipf("SigmaHQ corpus not found (%v); it lives in ../shared", err)
		}
		var total, ok int
		reasons := map[string]int{}
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yml") {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			f, err := Parse(data)
			if err != nil {
				t.Errorf("%s: %v", path, err)
				return nil
			}
			for _, r := range f.Rules {
				total++
				q, err := r.Query(Options{})
				if err == nil {
					_, err = eql.Compile(q)
				}
				if err != nil {
					var ue *UnsupportedError
					var le *LogSourceError
					switch {
					case errors.As(err, &ue):
						reasons[ue.Error()]++
					case errors.As(err, &le):
						reasons[le.Error()]++
					default:
						t.Errorf("%s: %v", path, err)
					}
					continue
				}
				ok++
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for k := range reasons {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			t.Logf("%s: %d× %s", dir, reasons[k], k)
		}
		t.Logf("%s: %d of %d rules compile (%.1f%%)", dir, ok, total, 100*float64(ok)/float64(total))
	}
}
