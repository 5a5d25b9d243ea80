package eql

import (
	"testing"

	"github.com/weft-dev/weft/event"
)

// FuzzQuery checks that no input makes the parser, compiler or matcher
// panic, and that what parses prints back to an equivalent query.
func FuzzQuery(f *testing.F) {
	for _, s := range []string{
		`process where process.name : ("a*", "b?") and not x in~ (1, "2")`,
		"sequence by host.id with maxspan=1m [network where a >= 1] by b [process where startsWith~(c, \"x\")] by d until [any where e regex \"[a-z]+\"] by f",
		`any where length(concat(a, "\u{41}", """raw\""")) / 2 % 3 == -1.5e3`,
		"process where `x-y`.z != null // c\n/* d */",
		`file where between~(a, "\\", ".", true) like "*" or cidrMatch(?ip, "::1/128")`,
		"sequence by a with maxspan=1s ![x where b] [y where true] ![z where c] with runs=2 [w where d] ![v where true] | tail 3",
		"sample by a [x where b > 1] by c [y where true] by c",
		"any where true | head 5 | tail 2",
		`any where a : 1 and b : (c, -2, "d*", null) and e : number("5") and f : (g or h)`,
	} {
		f.Add(s)
	}
	doc := event.Document{"a": "xyz", "b": []any{int64(1), "2"}, "ip": "::1", "host": map[string]any{"id": "h"}}
	f.Fuzz(func(t *testing.T, src string) {
		q, err := Parse(src)
		if err != nil {
			return
		}
		again, err := Parse(q.String())
		if err != nil {
			t.Fatalf("canonical form %q does not parse: %v", q.String(), err)
		}
		if again.String() != q.String() {
			t.Fatalf("canonical form is not stable: %q vs %q", q.String(), again.String())
		}
		p, err := Compile(q)
		if err != nil {
			return
		}
		p.Match(doc)
		if p.IsSequence() {
			s, err := p.NewSequence(SequenceOptions{MaxPending: 4})
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 3; i++ {
				s.Feed(doc, Ordinal{Time: base, Seq: uint64(i)}, "h")
			}
			s.Flush()
		}
		if p.IsSample() {
			s, err := p.NewSample(SampleOptions{MaxKeys: 4})
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 3; i++ {
				s.Feed(doc, Ordinal{Time: base, Seq: uint64(i)})
			}
			s.Results()
		}
	})
}
