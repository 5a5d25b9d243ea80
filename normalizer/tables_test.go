package normalizer

import (
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/weft-dev/weft/internal/repotest"
)

// specPath finds the reference pipeline beside the repository
// (../shared/reference from the directory holding go.mod).
func specPath(t *testing.T) string {
	return repotest.Shared(t, "reference/elastic-sysmon-ingest-pipeline.yml")
}

// TestTablesMatchSpec checks the generated tables against the params of
// the reference pipeline, so a changed spec shows up as a failing test
// (regenerate with go generate).
func TestTablesMatchSpec(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(specPath(t))
	if err != nil {
		t.Fatal(err)
	}
	var pipeline struct {
		Processors []map[string]struct {
			Description string         `yaml:"description"`
			Tag         string         `yaml:"tag"`
			Params      map[string]any `yaml:"params"`
		} `yaml:"processors"`
	}
	if err := yaml.Unmarshal(raw, &pipeline); err != nil {
		t.Fatal(err)
	}
	params := func(match func(desc, tag string) bool) map[string]any {
		for _, p := range pipeline.Processors {
			if s, ok := p["script"]; ok && match(s.Description, s.Tag) {
				return s.Params
			}
		}
		t.Fatal("script not found in the spec")
		return nil
	}

	cats := params(func(_, tag string) bool { return tag == "Add ECS categorization fields" })
	for code, v := range cats {
		entry := v.(map[string]any)
		id, err := strconv.ParseUint(code, 10, 32)
		if err != nil {
			t.Errorf("categorization %q: not an event ID", code)
			continue
		}
		c, ok := sysmonCategorization(uint32(id))
		if !ok {
			t.Errorf("categorization %s missing", code)
			continue
		}
		if c.code != code {
			t.Errorf("categorization %s: code %v", code, c.code)
		}
		got := map[string]any{"action": c.action}
		for k, list := range map[string]list3{"category": c.category, "type": c.typ, "outcome": c.outcome} {
			if list.n > 0 {
				got[k] = list.values()
			}
		}
		if !reflect.DeepEqual(got, entry) {
			t.Errorf("categorization %s = %v, spec %v", code, got, entry)
		}
	}
	for code := range uint32(300) {
		_, inSpec := cats[fmt.Sprint(code)]
		if _, ok := sysmonCategorization(code); ok != inSpec {
			t.Errorf("categorization %d: known %v, in spec %v", code, ok, inSpec)
		}
	}

	lookups := []struct {
		name   string
		fn     func(string) (string, bool)
		params map[string]any
	}{
		{"dnsRecordType", dnsRecordType, params(func(d, _ string) bool { return strings.HasPrefix(d, "Splits the QueryResults") })},
		{"dnsStatusName", dnsStatusName, params(func(d, _ string) bool { return d == "Translate DNS Query status." })},
		{"registryHive", registryHive, params(func(d, _ string) bool { return d == "Set registry fields." })},
	}
	for _, l := range lookups {
		if len(l.params) == 0 {
			t.Errorf("%s: no params in spec", l.name)
		}
		for k, v := range l.params {
			if got, ok := l.fn(k); !ok || got != fmt.Sprint(v) {
				t.Errorf("%s(%q) = %q, %v; spec %q", l.name, k, got, ok, v)
			}
		}
		if _, ok := l.fn("no such key"); ok {
			t.Errorf("%s knows a key the spec lacks", l.name)
		}
	}
}
