package slack

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pelletier/go-toml/v2"

	"github.com/weft-dev/weft/sinks/internal/alerttest"

	"github.com/weft-dev/weft/internal/repotest"
)

func TestInvestigationSteps(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		note string
		want []string
	}{
		{
			name: "rule file headings",
			note: alerttest.Note,
			want: []string{
				"Review the network traffic logs to identify the source IP address that initiated the connection to the host running mmc.exe.",
				"Examine the process creation logs to confirm the parent-child relationship between mmc.exe and any suspicious processes.",
				"Check the source and destination ports (both should be >= 49152) involved in the network connection.",
			},
		},
		{
			name: "bold title, star bullets, CRLF",
			note: "**Triage and analysis**\r\n\r\n**Possible investigation steps**\r\n\r\n* One.\r\n* Two.\r\n\r\n**False positive analysis**\r\n\r\n* Not a step.\r\n",
			want: []string{"One.", "Two."},
		},
		{
			name: "section ends at the next heading",
			note: "#### Investigation steps\n- Only one.\n#### Response\n- Isolate.\n",
			want: []string{"Only one."},
		},
		{
			name: "numbered, wrapped and nested",
			note: "## Possible Investigation Steps\n1. First line\n   continues here.\n   - nested detail\n2) Second.\n\nParagraph text.\n3. Third.\n4. Fourth.\n",
			want: []string{"First line continues here.", "Second.", "Third."},
		},
		{
			name: "no such section",
			note: "## Triage\n- Look around.\n",
		},
		{name: "empty note"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := investigationSteps(tt.note, 3); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %q\nwant %q", got, tt.want)
			}
		})
	}
}

// sharedDir finds ../shared beside the repository root (the directory
// holding go.mod).
func sharedDir(t *testing.T) string {
	return repotest.Shared(t, ".")
}

// Every Elastic Windows rule whose guide has an investigation-steps
// section yields steps, so on-call readers get them for any rule.
func TestInvestigationStepsElasticRules(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(sharedDir(t), "corpus", "elastic-rules", "windows")
	files, _ := filepath.Glob(filepath.Join(dir, "*.toml"))
	if len(files) == 0 {
		t.Skipf("no rules in %s", dir)
	}
	withSection := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var rule struct {
			Rule struct {
				Note string `toml:"note"`
			} `toml:"rule"`
		}
		if err := toml.Unmarshal(b, &rule); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if !strings.Contains(strings.ToLower(rule.Rule.Note), "investigation steps") {
			continue
		}
		withSection++
		steps := investigationSteps(rule.Rule.Note, 3)
		if len(steps) == 0 {
			t.Errorf("%s: no investigation steps found", filepath.Base(f))
		}
		for _, s := range steps {
			if s == "" || strings.HasPrefix(s, "-") {
				t.Errorf("%s: malformed step %q", filepath.Base(f), s)
			}
		}
	}
	if withSection < 100 {
		t.Fatalf("only %d rules with an investigation-steps section; corpus changed?", withSection)
	}
}

// The published page of the seed rule titles the section in bold.
func TestInvestigationStepsSeedPage(t *testing.T) {
	t.Parallel()
	path := filepath.Join(sharedDir(t), "seed", "incoming-dcom-lateral-movement-with-mmc.md")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("seed rule page absent: %v", err)
	}
	steps := investigationSteps(string(b), 3)
	if len(steps) != 3 || !strings.HasPrefix(steps[0], "Review the network traffic logs") ||
		!strings.HasPrefix(steps[2], "Check the source and destination ports") {
		t.Fatalf("steps = %q", steps)
	}
}
