package eql

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/weft-dev/weft/event"
)

// acOccurrences lists every (literal, end) the automaton reports in s.
func acOccurrences(a *automaton, s string) [][2]int {
	var out [][2]int
	st := int32(0)
	for i := 0; i < len(s); i++ {
		st = a.next(st, s[i])
		o := st
		if a.out[o] < 0 {
			o = a.dict[o]
		}
		for ; o >= 0; o = a.dict[o] {
			out = append(out, [2]int{int(a.out[o]), i + 1})
		}
	}
	slices.SortFunc(out, func(x, y [2]int) int {
		if x[1] != y[1] {
			return x[1] - y[1]
		}
		return x[0] - y[0]
	})
	return out
}

// naiveOccurrences is acOccurrences by trying every literal at every
// position.
func naiveOccurrences(lits []string, s string) [][2]int {
	var out [][2]int
	for end := 1; end <= len(s); end++ {
		for id, l := range lits {
			if len(l) <= end && s[end-len(l):end] == l {
				out = append(out, [2]int{id, end})
			}
		}
	}
	return out
}

// TestAutomatonRandom: the automaton reports every occurrence of every
// literal, overlapping and nested ones included, over a small alphabet
// where they abound.
func TestAutomatonRandom(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	word := func(alpha string, min, n int) string {
		b := make([]byte, min+rng.IntN(n))
		for i := range b {
			b[i] = alpha[rng.IntN(len(alpha))]
		}
		return string(b)
	}
	for range 2000 {
		alpha := "abc\x00\xff"[:2+rng.IntN(4)]
		seen := map[string]bool{}
		var lits []string
		for range 1 + rng.IntN(12) {
			if l := word(alpha, 1, 5); !seen[l] {
				seen[l] = true
				lits = append(lits, l)
			}
		}
		a := newAutomaton(lits)
		for range 10 {
			s := word(alpha, 0, 30)
			if got, want := acOccurrences(a, s), naiveOccurrences(lits, s); !slices.Equal(got, want) {
				t.Fatalf("literals %q in %q: %v, every position says %v", lits, s, got, want)
			}
		}
	}
}

// multiAgrees checks that the shared search decides every node (a list of
// patterns) on v as matching each pattern with globMatch does.
func multiAgrees(t *testing.T, nodes [][]string, v string) {
	t.Helper()
	m := newMultiMatcher()
	type reg struct {
		pats    []string
		node    int32
		checked []int32
	}
	var regs []reg
	for _, ps := range nodes {
		var folds []*foldMatch
		var kept []string
		for _, p := range ps {
			if f := newFoldMatch(p); f != nil {
				folds = append(folds, f)
				kept = append(kept, p)
			}
		}
		if len(folds) == 0 {
			continue
		}
		node, checked := m.addNode(folds)
		regs = append(regs, reg{kept, node, checked})
	}
	if len(regs) == 0 {
		return
	}
	var buf [8]byte
	low := foldLower(v, buf[:])
	for gen := uint64(1); gen <= 2; gen++ { // a second document: marks of the first must not count
		m.scan(low, gen)
		for _, r := range regs {
			want := slices.ContainsFunc(r.pats, func(p string) bool { return globMatch(p, v, true) })
			if got := m.match(r.node, r.checked, low, gen); got != want {
				t.Fatalf("patterns %q against %q (document %d): %v, globMatch says %v", r.pats, v, gen, got, want)
			}
		}
		if gen == 1 {
			m.scan("\x01", gen+1) // nothing matches
			for _, r := range regs {
				want := slices.ContainsFunc(r.pats, func(p string) bool { return globMatch(p, "\x01", true) })
				if got := m.match(r.node, r.checked, "\x01", gen+1); got != want {
					t.Fatalf("patterns %q against \\x01: %v after a match on %q", r.pats, got, v)
				}
			}
			gen++
		}
	}
}

// TestMultiMatchRandom: on random patterns (grouped into field matches)
// and values over foldAlphabet, the shared search agrees with globMatch.
func TestMultiMatchRandom(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(5, 6))
	word := func(n int) string {
		var b strings.Builder
		for range rng.IntN(n) {
			b.WriteString(foldAlphabet[rng.IntN(len(foldAlphabet))])
		}
		return b.String()
	}
	for range 20000 {
		var nodes [][]string
		var all []string
		for range 1 + rng.IntN(4) {
			var ps []string
			for range 1 + rng.IntN(4) {
				p := word(6)
				switch rng.IntN(4) { // Sigma's shapes
				case 0:
					p = "*" + p + "*"
				case 1:
					p += "*"
				case 2:
					p = "*" + p
				}
				ps = append(ps, p)
				all = append(all, p)
			}
			nodes = append(nodes, ps)
		}
		v := word(12)
		if rng.IntN(2) == 0 {
			p := all[rng.IntN(len(all))]
			v = word(3) + strings.ToUpper(strings.NewReplacer("*", word(3), "?", "x").Replace(p)) + word(3)
		}
		multiAgrees(t, nodes, v)
	}
}

// FuzzMultiMatch compares the shared search with globMatch: the patterns
// are the lines of ps, each line a field match's patterns separated by
// '|'.
func FuzzMultiMatch(f *testing.F) {
	for _, s := range [][2]string{
		{"*-enc*|*\\powershell.exe\n*cmd*|c:\\windows\\*", "C:\\Windows\\System32\\CMD.exe -ENC x"},
		{"*ab*ab*|a*b\nab*|*ba\nabc", "ABAB"},
		{"*s*|*k*", "x\u017Fy\u212A"},
		{"* –enc *|*—a*", "ps –ENC x —A"},
		{"*\x00a\x00*|a*", "\x00A\x00"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, ps, v string) {
		var nodes [][]string
		for _, line := range strings.Split(ps, "\n") {
			nodes = append(nodes, strings.Split(line, "|"))
		}
		multiAgrees(t, nodes, v)
	})
}

// TestSharedSearchAgrees: random conditions of ':' patterns, like~, ==,
// and, or and not over a few fields, compiled with a field cache (shared
// search and prefilters, documents in turn through Next) and without,
// decide every random document alike — strings, lists, numbers, missing
// fields — over enough documents for the prefilters to reorder their
// clauses.
func TestSharedSearchAgrees(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 8))
	alpha := []string{"a", "A", "b", "k", "K", "s", "S", "-", " ", "\u212A", "\u017F", "é", "–", "1"}
	word := func(n int) string {
		var b strings.Builder
		for range rng.IntN(n) {
			b.WriteString(alpha[rng.IntN(len(alpha))])
		}
		return b.String()
	}
	fields := []string{"f1", "f2", "x.f3"}
	pattern := func() string {
		p := word(4)
		switch rng.IntN(5) {
		case 0:
			p = "*" + p + "*"
		case 1:
			p += "*"
		case 2:
			p = "*" + p
		case 3:
			p = word(2) + "*" + word(3) + "*" + word(2)
		}
		return `"` + p + `"`
	}
	var cond func(depth int) string
	cond = func(depth int) string {
		if depth <= 0 || rng.IntN(3) == 0 {
			f := fields[rng.IntN(len(fields))]
			switch rng.IntN(6) {
			case 0:
				return f + " == " + pattern()
			case 1:
				return f + " like~ " + pattern()
			case 2:
				return f + " : (" + pattern() + ", " + pattern() + ", " + pattern() + ")"
			}
			return f + " : " + pattern()
		}
		switch rng.IntN(5) {
		case 0:
			return "not (" + cond(depth-1) + ")"
		case 1, 2:
			return "(" + cond(depth-1) + " or " + cond(depth-1) + ")"
		}
		return "(" + cond(depth-1) + " and " + cond(depth-1) + ")"
	}
	value := func() any {
		switch rng.IntN(8) {
		case 0:
			return nil
		case 1:
			return []any{word(6), word(6)}
		case 2:
			return int64(rng.IntN(3))
		}
		return word(3) + strings.ToUpper(word(4)) + word(3)
	}
	cache := NewFieldCache()
	type pair struct{ cached, plain *Program }
	var progs []pair
	for range 300 {
		src := "any where " + cond(4)
		q, err := Parse(src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		c, err := CompileCached(q, cache)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		p, err := Compile(q)
		if err != nil {
			t.Fatal(err)
		}
		progs = append(progs, pair{c, p})
	}
	matched := 0
	for i := range 1500 {
		d := event.Document{}
		for _, f := range fields {
			if v := value(); v != nil {
				if f == "x.f3" {
					d["x"] = map[string]any{"f3": v}
				} else {
					d[f] = v
				}
			}
		}
		cache.Next()
		for _, p := range progs {
			got, want := p.cached.Match(d), p.plain.Match(d)
			if got != want {
				t.Fatalf("document %d %v: %s gives %v with the shared search, %v without", i, d, p.plain.Query().Source, got, want)
			}
			if got {
				matched++
			}
		}
	}
	if matched == 0 {
		t.Fatal("nothing matched: the comparison tested nothing")
	}
}
