package eql

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/weft-dev/weft/event"
)

func stamped(d event.Document, at time.Duration) event.Document {
	d["@timestamp"] = base.Add(at).Format(time.RFC3339Nano)
	return d
}

func search(t *testing.T, query string, opts SearchOptions, docs ...event.Document) ([]string, *Search) {
	t.Helper()
	p, err := CompileString(query)
	if err != nil {
		t.Fatal(err)
	}
	s, err := p.NewSearch(opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range docs {
		s.Add(d)
	}
	ms, err := s.Run()
	if err != nil {
		t.Fatal(err)
	}
	return sampleIDs(ms), s
}

// TestSearchPipes checks head and tail as the pipe reference describes
// them: the earliest or the most recent results, in time order, applied
// one after the other.
func TestSearchPipes(t *testing.T) {
	t.Parallel()
	// Added out of time order: the search sorts.
	events := []event.Document{
		stamped(doc("process", "p3"), 3*time.Second),
		stamped(doc("process", "p1"), time.Second),
		stamped(doc("file", "f1"), 2*time.Second),
		stamped(doc("process", "p2"), 2*time.Second),
		stamped(doc("process", "p4"), 4*time.Second),
	}
	sequences := []event.Document{
		stamped(doc("a", "a1", "k", 1), 0), stamped(doc("b", "b1", "k", 1), time.Second),
		stamped(doc("a", "a2", "k", 2), 2*time.Second), stamped(doc("b", "b2", "k", 2), 3*time.Second),
		stamped(doc("a", "a3", "k", 3), 4*time.Second), stamped(doc("b", "b3", "k", 3), 5*time.Second),
	}
	tests := []struct {
		query string
		docs  []event.Document
		want  []string
	}{
		{`process where true`, events, []string{"p1", "p2", "p3", "p4"}},
		{`process where true | head 2`, events, []string{"p1", "p2"}},
		{`process where true | tail 2`, events, []string{"p3", "p4"}},
		{`process where true | tail 3 | head 2`, events, []string{"p2", "p3"}},
		{`process where true | head 3 | tail 1`, events, []string{"p3"}},
		{`process where true | head 0`, events, nil},
		{`process where true | head 10`, events, []string{"p1", "p2", "p3", "p4"}},
		{`sequence by k [a where true] [b where true] | head 1`, sequences, []string{"a1,b1"}},
		{`sequence by k [a where true] [b where true] | tail 2`, sequences, []string{"a2,b2", "a3,b3"}},
	}
	for _, tt := range tests {
		got, _ := search(t, tt.query, SearchOptions{}, tt.docs...)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.query, got, tt.want)
		}
	}
}

func TestSearchOrder(t *testing.T) {
	t.Parallel()
	same := func(id string, seq any) event.Document {
		d := stamped(doc("process", id), 0)
		d.Set("event.sequence", seq)
		return d
	}
	docs := []event.Document{same("s10", int64(10)), same("s9", int64(9)), same("none", nil)}
	got, _ := search(t, `process where true`, SearchOptions{Tiebreaker: "event.sequence"}, docs...)
	if want := []string{"none", "s9", "s10"}; !reflect.DeepEqual(got, want) {
		t.Errorf("with a tiebreaker %v, want %v (missing first, then numeric)", got, want)
	}
	got, _ = search(t, `process where true`, SearchOptions{}, docs...)
	if want := []string{"s10", "s9", "none"}; !reflect.DeepEqual(got, want) {
		t.Errorf("without %v, want %v (the order added)", got, want)
	}
	// A sequence whose trailing window closes late still comes out in
	// the order of its last event.
	seq := []event.Document{
		stamped(doc("a", "a1", "k", 1), 0), stamped(doc("b", "b1", "k", 1), time.Second),
		stamped(doc("a", "a2", "k", 2), 2*time.Second), stamped(doc("c", "c2", "k", 2), 3*time.Second),
	}
	got, _ = search(t, `sequence by k with maxspan=1h [a where true] [any where true] ![z where true]`, SearchOptions{}, seq...)
	if want := []string{"a1,b1", "a2,c2"}; !reflect.DeepEqual(got, want) {
		t.Errorf("sequences %v, want %v", got, want)
	}
}

func TestSearchTimestamps(t *testing.T) {
	t.Parallel()
	noTime := doc("process", "n")
	epoch := doc("process", "e")
	epoch["@timestamp"] = json.Number("1714557600000")
	digits := doc("process", "d")
	digits["@timestamp"] = "1714557599000"
	got, s := search(t, `process where true`, SearchOptions{}, noTime, epoch, digits)
	if !reflect.DeepEqual(got, []string{"d", "e"}) || s.Invalid() != 1 {
		t.Errorf("got %v, %d invalid", got, s.Invalid())
	}
	// Samples need no time.
	got, s = search(t, `sample by k [a where true] [b where true]`, SearchOptions{}, doc("a", "a", "k", 1), doc("b", "b", "k", 1))
	if !reflect.DeepEqual(got, []string{"a,b"}) || s.Invalid() != 0 {
		t.Errorf("sample got %v, %d invalid", got, s.Invalid())
	}
	if _, err := mustCompile(t, `process where true`).NewSearch(SearchOptions{Tiebreaker: "a b"}); err == nil {
		t.Error("a tiebreaker that is not a field was accepted")
	}
}

func mustCompile(t *testing.T, q string) *Program {
	t.Helper()
	p, err := CompileString(q)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestQueryFields(t *testing.T) {
	t.Parallel()
	tests := []struct {
		query string
		want  []string
	}{
		{`any where true`, []string{}},
		{`process where process.name : "x" and length(?user.name) > 2 and a.b in (c, "d")`,
			[]string{"a.b", "c", "event.category", "process.name", "user.name"}},
		{`sequence by host.id with maxspan=1s [network where -x < 1] by process.entity_id ![any where not y] by p until [process where z] by q`,
			[]string{"event.category", "host.id", "p", "process.entity_id", "q", "x", "y", "z"}},
		{`sample by h [any where f == 1] by o`, []string{"f", "h", "o"}},
	}
	for _, tt := range tests {
		q, err := Parse(tt.query)
		if err != nil {
			t.Fatal(err)
		}
		if got := q.Fields(); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.query, got, tt.want)
		}
	}
}
