package eql

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/weft-dev/weft/event"
)

var base = time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)

// doc builds a test event: its category, an id (for reading results) and
// dotted fields given as pairs.
func doc(cat, id string, kv ...any) event.Document {
	d := event.Document{"event": map[string]any{"category": []any{cat}}, "id": id}
	for i := 0; i+1 < len(kv); i += 2 {
		d.Set(kv[i].(string), kv[i+1])
	}
	return d
}

type feed struct {
	at   time.Duration // after base
	doc  event.Document
	part string
}

// run feeds events in the given order (ordinals follow that order unless
// the times say otherwise) and returns the ids of each match.
func run(t *testing.T, query string, opts SequenceOptions, events []feed) ([]string, SequenceStats) {
	t.Helper()
	p, err := CompileString(query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	s, err := p.NewSequence(opts)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i, f := range events {
		for _, m := range s.Feed(f.doc, Ordinal{Time: base.Add(f.at), Seq: uint64(i)}, f.part) {
			ids := make([]string, len(m.Events))
			for j, d := range m.Events {
				ids[j] = d["id"].(string)
			}
			out = append(out, strings.Join(ids, ","))
		}
	}
	return out, s.Stats()
}

func TestSequenceSemantics(t *testing.T) {
	t.Parallel()
	const byKeys = `sequence by host with maxspan=1m [a where true] by x [b where true] by y`
	tests := []struct {
		name   string
		query  string
		events []feed
		want   []string
	}{
		{"join on shared and stage keys", byKeys, []feed{
			{0, doc("a", "a1", "host", "h", "x", "k"), ""},
			{time.Second, doc("b", "b1", "host", "h", "y", "k"), ""},
		}, []string{"a1,b1"}},
		{"stage keys differ", byKeys, []feed{
			{0, doc("a", "a1", "host", "h", "x", "k"), ""},
			{time.Second, doc("b", "b1", "host", "h", "y", "other"), ""},
		}, nil},
		{"shared key differs", byKeys, []feed{
			{0, doc("a", "a1", "host", "h1", "x", "k"), ""},
			{time.Second, doc("b", "b1", "host", "h2", "y", "k"), ""},
		}, nil},
		{"keys compare as values: 5 joins 5.0", byKeys, []feed{
			{0, doc("a", "a1", "host", "h", "x", int64(5)), ""},
			{time.Second, doc("b", "b1", "host", "h", "y", 5.0), ""},
		}, []string{"a1,b1"}},
		{"keys compare as values: 5 does not join \"5\"", byKeys, []feed{
			{0, doc("a", "a1", "host", "h", "x", int64(5)), ""},
			{time.Second, doc("b", "b1", "host", "h", "y", "5"), ""},
		}, nil},
		{"keys are case-sensitive", byKeys, []feed{
			{0, doc("a", "a1", "host", "h", "x", "K"), ""},
			{time.Second, doc("b", "b1", "host", "h", "y", "k"), ""},
		}, nil},
		{"maxspan is inclusive", byKeys, []feed{
			{0, doc("a", "a1", "host", "h", "x", "k"), ""},
			{time.Minute, doc("b", "b1", "host", "h", "y", "k"), ""},
		}, []string{"a1,b1"}},
		{"one nanosecond past maxspan", byKeys, []feed{
			{0, doc("a", "a1", "host", "h", "x", "k"), ""},
			{time.Minute + time.Nanosecond, doc("b", "b1", "host", "h", "y", "k"), ""},
		}, nil},
		{"maxspan counts from the first event", `sequence by host with maxspan=10s [a where true] [b where true] [c where true]`, []feed{
			{0, doc("a", "a1", "host", "h"), ""},
			{6 * time.Second, doc("b", "b1", "host", "h"), ""},
			{11 * time.Second, doc("c", "c1", "host", "h"), ""},
		}, nil},
		{"null join key never joins", byKeys, []feed{
			{0, doc("a", "a1", "host", "h"), ""},
			{time.Second, doc("b", "b1", "host", "h"), ""},
		}, nil},
		{"null shared key never joins", byKeys, []feed{
			{0, doc("a", "a1", "x", "k"), ""},
			{time.Second, doc("b", "b1", "y", "k"), ""},
		}, nil},
		{"optional key joins null with null", `sequence by ?host [a where true] [b where true]`, []feed{
			{0, doc("a", "a1"), ""},
			{time.Second, doc("b", "b1"), ""},
		}, []string{"a1,b1"}},
		{"optional key still separates values", `sequence by ?host [a where true] [b where true]`, []feed{
			{0, doc("a", "a1", "host", "h"), ""},
			{time.Second, doc("b", "b1"), ""},
		}, nil},
		{"until between cancels", `sequence by id2 [a where true] [b where true] until [c where true]`, []feed{
			{0, doc("a", "a1", "id2", 1), ""},
			{time.Second, doc("c", "c1", "id2", 1), ""},
			{2 * time.Second, doc("b", "b1", "id2", 1), ""},
		}, nil},
		{"until after the sequence does not", `sequence by id2 [a where true] [b where true] until [c where true]`, []feed{
			{0, doc("a", "a1", "id2", 1), ""},
			{time.Second, doc("b", "b1", "id2", 1), ""},
			{2 * time.Second, doc("c", "c1", "id2", 1), ""},
		}, []string{"a1,b1"}},
		{"until before the sequence does not", `sequence by id2 [a where true] [b where true] until [c where true]`, []feed{
			{0, doc("c", "c1", "id2", 1), ""},
			{time.Second, doc("a", "a1", "id2", 1), ""},
			{2 * time.Second, doc("b", "b1", "id2", 1), ""},
		}, []string{"a1,b1"}},
		{"until of another key does not", `sequence by id2 [a where true] [b where true] until [c where true]`, []feed{
			{0, doc("a", "a1", "id2", 1), ""},
			{time.Second, doc("c", "c1", "id2", 2), ""},
			{2 * time.Second, doc("b", "b1", "id2", 1), ""},
		}, []string{"a1,b1"}},
		{"until with its own keys", `sequence [a where true] by p [b where true] by p until [c where true] by q`, []feed{
			{0, doc("a", "a1", "p", "x"), ""},
			{time.Second, doc("c", "c1", "q", "x"), ""},
			{2 * time.Second, doc("b", "b1", "p", "x"), ""},
		}, nil},
		{"most recent pending wins", `sequence [a where true] [b where true]`, []feed{
			{0, doc("a", "a1"), ""},
			{time.Second, doc("a", "a2"), ""},
			{2 * time.Second, doc("b", "b1"), ""},
			{3 * time.Second, doc("b", "b2"), ""},
		}, []string{"a2,b1"}},
		{"an event completes one sequence per stage", `sequence [a where true] [b where true] [c where true]`, []feed{
			{0, doc("a", "a1"), ""},
			{time.Second, doc("b", "b1"), ""},
			{2 * time.Second, doc("a", "a2"), ""},
			{3 * time.Second, doc("b", "b2"), ""},
			{4 * time.Second, doc("c", "c1"), ""},
			{5 * time.Second, doc("c", "c2"), ""},
		}, []string{"a2,b2,c1"}},
		{"an event matching two stages", `sequence [any where true] [any where true]`, []feed{
			{0, doc("x", "e1"), ""},
			{time.Second, doc("x", "e2"), ""},
			{2 * time.Second, doc("x", "e3"), ""},
		}, []string{"e1,e2", "e2,e3"}},
		{"runs", `sequence by k [a where true] with runs=3`, []feed{
			{0, doc("a", "a1", "k", 1), ""},
			{time.Second, doc("a", "a2", "k", 1), ""},
			{2 * time.Second, doc("a", "x1", "k", 2), ""},
			{3 * time.Second, doc("a", "a3", "k", 1), ""},
			{4 * time.Second, doc("a", "a4", "k", 1), ""},
		}, []string{"a1,a2,a3", "a2,a3,a4"}},
		{"events out of order do not advance", `sequence [a where true] [b where true]`, []feed{
			{2 * time.Second, doc("a", "a1"), ""},
			{time.Second, doc("b", "b1"), ""},
		}, nil},
		{"same time, later arrival", `sequence [a where true] [b where true]`, []feed{
			{time.Second, doc("a", "a1"), ""},
			{time.Second, doc("b", "b1"), ""},
		}, []string{"a1,b1"}},
		{"multi-valued category", `sequence [network where true] [process where true]`, []feed{
			{0, event.Document{"id": "n1", "event": map[string]any{"category": []any{"network", "host"}}}, ""},
			{time.Second, event.Document{"id": "p1", "event": map[string]any{"category": "process"}}, ""},
		}, []string{"n1,p1"}},
		{"conditions apply", `sequence [a where v > 1] [b where v : "x*"]`, []feed{
			{0, doc("a", "a0", "v", 1), ""},
			{time.Second, doc("b", "b0", "v", "xy"), ""},
			{2 * time.Second, doc("a", "a1", "v", 2), ""},
			{3 * time.Second, doc("b", "b1", "v", "yx"), ""},
			{4 * time.Second, doc("b", "b2", "v", "XY"), ""},
		}, []string{"a1,b2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, _ := run(t, tt.query, SequenceOptions{}, tt.events)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestSequenceStateMachineExample replays the example of Elasticsearch's
// "How sequence queries handle matches".
func TestSequenceStateMachineExample(t *testing.T) {
	t.Parallel()
	rows := []struct{ user, name string }{
		{"root", "attrib"}, {"root", "attrib"}, {"elkbee", "bash"}, {"root", "bash"},
		{"root", "bash"}, {"elkbee", "attrib"}, {"root", "attrib"}, {"elkbee", "bash"},
		{"root", "cat"}, {"elkbee", "cat"}, {"root", "cat"},
	}
	var events []feed
	for i, r := range rows {
		id := string(rune('1'+i%9)) + strings.Repeat("0", i/9)
		if i >= 9 {
			id = []string{"10", "11"}[i-9]
		}
		events = append(events, feed{time.Duration(i) * time.Second,
			doc("process", id, "user.name", r.user, "process.name", r.name), ""})
	}
	got, st := run(t, `sequence by user.name
  [process where process.name == "attrib"]
  [process where process.name == "bash"]
  [process where process.name == "cat"]`, SequenceOptions{}, events)
	want := []string{"2,4,9", "6,8,10"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if st.Pending != 1 || st.Completed != 2 {
		t.Errorf("stats %+v: want [7] pending and 2 completed", st)
	}
}

func TestSequenceJoinKeys(t *testing.T) {
	t.Parallel()
	p, err := CompileString(`sequence by host.id [a where true] by x [b where true] by y`)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := p.NewSequence(SequenceOptions{})
	s.Feed(doc("a", "a1", "host.id", "H", "x", int64(7)), Ordinal{Time: base}, "")
	ms := s.Feed(doc("b", "b1", "host.id", "H", "y", int32(7)), Ordinal{Time: base.Add(time.Second), Seq: 1}, "")
	if len(ms) != 1 || !reflect.DeepEqual(ms[0].JoinKeys, []any{"H", int64(7)}) {
		t.Fatalf("matches %+v", ms)
	}
}

func TestSequenceLimits(t *testing.T) {
	t.Parallel()
	q := `sequence by k with maxspan=10s [a where true] [b where true]`
	t.Run("max pending evicts the oldest", func(t *testing.T) {
		t.Parallel()
		got, st := run(t, q, SequenceOptions{MaxPending: 2}, []feed{
			{0, doc("a", "a1", "k", 1), ""},
			{time.Second, doc("a", "a2", "k", 2), ""},
			{2 * time.Second, doc("a", "a3", "k", 3), ""},
			{3 * time.Second, doc("b", "b1", "k", 1), ""},
			{4 * time.Second, doc("b", "b3", "k", 3), ""},
		})
		if !reflect.DeepEqual(got, []string{"a3,b3"}) || st.Evicted != 1 || st.Pending != 1 {
			t.Errorf("got %v %+v", got, st)
		}
	})
	t.Run("expiry is counted", func(t *testing.T) {
		t.Parallel()
		_, st := run(t, q, SequenceOptions{}, []feed{
			{0, doc("a", "a1", "k", 1), ""},
			{time.Second, doc("a", "a2", "k", 2), ""},
			{20 * time.Second, doc("x", "x1", "k", 3), ""},
		})
		if st.Expired != 2 || st.Pending != 0 {
			t.Errorf("stats %+v", st)
		}
	})
	t.Run("expiry runs on each partition's own clock", func(t *testing.T) {
		t.Parallel()
		got, st := run(t, q, SequenceOptions{}, []feed{
			{0, doc("a", "a1", "k", 1), "slow"},
			{time.Hour, doc("a", "z1", "k", 9), "fast"},
			{5 * time.Second, doc("b", "b1", "k", 1), "slow"},
		})
		if !reflect.DeepEqual(got, []string{"a1,b1"}) || st.Expired != 0 {
			t.Errorf("got %v %+v", got, st)
		}
	})
	t.Run("until is counted", func(t *testing.T) {
		t.Parallel()
		_, st := run(t, `sequence by k [a where true] [b where true] until [c where true]`, SequenceOptions{}, []feed{
			{0, doc("a", "a1", "k", 1), ""},
			{time.Second, doc("c", "c1", "k", 1), ""},
		})
		if st.Cancelled != 1 || st.Pending != 0 {
			t.Errorf("stats %+v", st)
		}
	})
}

func TestOrdinalCompare(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b Ordinal
		want int
	}{
		{Ordinal{Time: base}, Ordinal{Time: base.Add(1)}, -1},
		{Ordinal{Time: base, Seq: 5}, Ordinal{Time: base, Seq: 4}, 1},
		{Ordinal{Time: base, Tiebreaker: "10", Seq: 1}, Ordinal{Time: base, Tiebreaker: int64(9), Seq: 0}, 1},
		{Ordinal{Time: base, Tiebreaker: nil, Seq: 9}, Ordinal{Time: base, Tiebreaker: int64(1), Seq: 0}, -1},
		{Ordinal{Time: base, Tiebreaker: "b"}, Ordinal{Time: base, Tiebreaker: "a"}, 1},
		{Ordinal{Time: base, Seq: 3}, Ordinal{Time: base, Seq: 3}, 0},
	}
	for _, tt := range tests {
		if got := tt.a.Compare(tt.b); got != tt.want {
			t.Errorf("%+v vs %+v = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestNewSequenceOnEventQuery(t *testing.T) {
	t.Parallel()
	p, err := CompileString(`process where true`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.NewSequence(SequenceOptions{}); err == nil {
		t.Error("NewSequence on an event query should fail")
	}
}
