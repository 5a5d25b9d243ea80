package eql

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pelletier/go-toml/v2"

	"github.com/weft-dev/weft/event"

	"github.com/weft-dev/weft/internal/repotest"
)

// literals gathers the constants a query compares with, so generated
// documents hit its conditions often.
func literals(q *Query) []any {
	var out []any
	walk := func(e Expr) {
		inspect(e, func(e Expr) {
			switch x := e.(type) {
			case *Literal:
				if x.Value != nil {
					out = append(out, x.Value)
				}
			case *PatternMatch:
				for _, p := range x.Patterns {
					out = append(out, p)
				}
			}
		})
	}
	for _, st := range stagesOf(q) {
		walk(st.Where)
	}
	return out
}

func stagesOf(q *Query) []*EventQuery {
	switch {
	case q.Event != nil:
		return []*EventQuery{q.Event}
	case q.Sequence != nil:
		var out []*EventQuery
		for _, s := range q.Sequence.Stages {
			out = append(out, &s.Query)
		}
		return out
	}
	var out []*EventQuery
	for _, s := range q.Sample.Filters {
		out = append(out, &s.Query)
	}
	return out
}

// randomDoc fills the query's fields with its own literals (sometimes
// altered), lists, numbers as strings, or nothing.
func randomDoc(rng *rand.Rand, q *Query, lits []any) event.Document {
	d := event.Document{}
	var cats []any
	for _, st := range stagesOf(q) {
		if st.Category != "" && rng.IntN(2) == 0 {
			cats = append(cats, st.Category)
		}
	}
	d.Set("event.category", cats)
	pick := func() any {
		if len(lits) == 0 || rng.IntN(8) == 0 {
			return []any{"x", int64(rng.IntN(3))}[rng.IntN(2)]
		}
		v := lits[rng.IntN(len(lits))]
		if s, ok := v.(string); ok && rng.IntN(4) == 0 {
			return s + "z"
		}
		return v
	}
	for _, f := range q.Fields() {
		if f == "event.category" {
			continue
		}
		switch rng.IntN(5) {
		case 0: // absent
		case 1:
			d.Set(f, []any{pick(), pick()})
		default:
			d.Set(f, pick())
		}
	}
	return d
}

// TestOptimizeKeepsResults compares every stage of optimized programs with
// the same programs compiled as written, on documents made to hit their
// conditions: reordering and specializing must never change a result.
func TestOptimizeKeepsResults(t *testing.T) {
	t.Parallel()
	queries := []string{
		`process where a == "x" and (b != "y" or c : "z*") and not d in ("p", "q") and e > 1`,
		`any where a != "x" or b == "y" and c regex~ "Z.*" or length(d) > 2`,
		`network where source.ip != "127.0.0.1" and destination.port >= 49152 and network.direction : ("incoming", "ingress")`,
	}
	if dir, err := findShared("corpus/elastic-rules/windows"); err == nil {
		files, _ := filepath.Glob(filepath.Join(dir, "*.toml"))
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var r struct{ Rule struct{ Query string } }
			if toml.Unmarshal(data, &r) == nil {
				queries = append(queries, r.Rule.Query)
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, src := range queries {
		q, err := Parse(src)
		if err != nil {
			continue
		}
		opt, err1 := Compile(q)
		plain, err2 := compile(&compiler{src: src, plain: true}, q)
		if err1 != nil || err2 != nil {
			continue
		}
		lits := literals(q)
		for i := 0; i < 200; i++ {
			d := randomDoc(rng, q, lits)
			cats := CategoriesOf(d)
			if a, b := opt.Stages(d, cats), plain.Stages(d, cats); a != b {
				t.Fatalf("%s\non %v: optimized %b, as written %b", src, d, a, b)
			}
		}
	}
}

// findShared is sharedDir without a testing.T: the ../shared folder beside
// the repository root.
func findShared(rel string) (string, error) {
	return repotest.SharedPath(rel)
}

// TestFieldCache: programs sharing a FieldCache give the results of
// programs without one, as long as Next is called per document; join keys
// are read from the document fed, even when another document was
// evaluated since (as the engine evaluates arrivals before it feeds
// reordered documents).
func TestFieldCache(t *testing.T) {
	t.Parallel()
	queries := []string{
		`process where process.name : "a*" and host.id == "h1"`,
		`process where host.id != "h2" or process.name == "b"`,
		`sequence by host.id [process where process.name == "a1"] by process.pid [process where process.name == "b1"] by process.pid`,
	}
	cache := NewFieldCache()
	var cached, plain []*Program
	for _, q := range queries {
		parsed, err := Parse(q)
		if err != nil {
			t.Fatal(err)
		}
		c, err := CompileCached(parsed, cache)
		if err != nil {
			t.Fatal(err)
		}
		cached, plain = append(cached, c), append(plain, mustCompile(t, q))
	}
	docs := []event.Document{
		doc("process", "d1", "process.name", "a1", "host.id", "h1", "process.pid", 7),
		doc("process", "d2", "process.name", "b1", "host.id", "h2", "process.pid", 7),
		doc("process", "d3", "process.name", "b1", "host.id", "h1", "process.pid", 7),
	}
	seq, _ := cached[2].NewSequence(SequenceOptions{})
	var hits []StageSet
	for _, d := range docs {
		cache.Next()
		cats := CategoriesOf(d)
		for i := range queries {
			if a, b := cached[i].Stages(d, cats), plain[i].Stages(d, cats); a != b {
				t.Errorf("%s on %s: cached %b, plain %b", queries[i], d["id"], a, b)
			}
		}
		hits = append(hits, cached[2].Stages(d, cats))
	}
	// Fed after all three were evaluated: d1 and d3 join on host h1.
	var got []string
	for i, d := range docs {
		for _, m := range seq.FeedStages(d, hits[i], Ordinal{Time: base.Add(time.Duration(i) * time.Second), Seq: uint64(i)}, "") {
			got = append(got, sampleIDs([]Match{m})...)
			if m.JoinKeys[0] != "h1" {
				t.Errorf("join keys %v", m.JoinKeys)
			}
		}
	}
	if len(got) != 1 || got[0] != "d1,d3" {
		t.Errorf("sequences %v, want d1,d3", got)
	}
}
