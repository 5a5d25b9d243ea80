package eql

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// runFlush feeds events like run and then flushes, returning the ids of
// each match as it came out; flushed marks where Flush began.
func runFlush(t *testing.T, query string, events []feed) (got []string, flushed int, st SequenceStats) {
	t.Helper()
	p, err := CompileString(query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	s, err := p.NewSequence(SequenceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ids := func(ms []Match) {
		for _, m := range ms {
			var parts []string
			for _, d := range m.Events {
				parts = append(parts, d["id"].(string))
			}
			got = append(got, strings.Join(parts, ","))
		}
	}
	for i, f := range events {
		ids(s.Feed(f.doc, Ordinal{Time: base.Add(f.at), Seq: uint64(i)}, f.part))
	}
	flushed = len(got)
	ids(s.Flush())
	return got, flushed, s.Stats()
}

// TestMissingEvents checks missing-event stages against the semantics of
// Elasticsearch's reference ("Missing events") and its engine: a middle
// missing stage rejects a sequence when such an event lies strictly
// between the positive events around it; leading and trailing ones when it
// lies inside the maxspan window that holds the sequence.
func TestMissingEvents(t *testing.T) {
	t.Parallel()
	const middle = `sequence by k with maxspan=1m [a where true] ![m where true] [b where true]`
	const leading = `sequence by k with maxspan=1m ![m where true] [a where true] [b where true]`
	const trailing = `sequence by k with maxspan=1m [a where true] [b where true] ![m where true]`
	const both = `sequence with maxspan=10m ![m where true] [n where true] ![m where true]`
	s := time.Second
	tests := []struct {
		name    string
		query   string
		events  []feed
		want    []string
		flushed int // how many of want come out before Flush
	}{
		{"middle: a missing event between rejects", middle, []feed{
			{0, doc("a", "a1", "k", 1), ""}, {10 * s, doc("m", "m1", "k", 1), ""}, {20 * s, doc("b", "b1", "k", 1), ""},
		}, nil, 0},
		{"middle: none between", middle, []feed{
			{0, doc("a", "a1", "k", 1), ""}, {20 * s, doc("b", "b1", "k", 1), ""},
		}, []string{"a1,b1"}, 1},
		{"middle: at the first event's time is not between", middle, []feed{
			{0, doc("a", "a1", "k", 1), ""}, {0, doc("m", "m1", "k", 1), ""}, {20 * s, doc("b", "b1", "k", 1), ""},
		}, []string{"a1,b1"}, 1},
		{"middle: at the next event's time is not between", middle, []feed{
			{0, doc("a", "a1", "k", 1), ""}, {20 * s, doc("m", "m1", "k", 1), ""}, {20 * s, doc("b", "b1", "k", 1), ""},
		}, []string{"a1,b1"}, 1},
		{"middle: another key's missing event", middle, []feed{
			{0, doc("a", "a1", "k", 1), ""}, {10 * s, doc("m", "m1", "k", 2), ""}, {20 * s, doc("b", "b1", "k", 1), ""},
		}, []string{"a1,b1"}, 1},
		{"middle: after the sequence", middle, []feed{
			{0, doc("a", "a1", "k", 1), ""}, {10 * s, doc("b", "b1", "k", 1), ""}, {20 * s, doc("m", "m1", "k", 1), ""},
		}, []string{"a1,b1"}, 1},
		{"middle: a rejected sequence still takes its place", `sequence with maxspan=1m [n where true] [n where true] ![m where true] [n where true]`, []feed{
			{0, doc("n", "n1"), ""}, {1 * s, doc("n", "n2"), ""}, {2 * s, doc("m", "m1"), ""},
			{3 * s, doc("n", "n3"), ""}, {4 * s, doc("n", "n4"), ""},
		}, []string{"n2,n3,n4"}, 1},
		{"middle: the missing stage's own join keys", `sequence with maxspan=1m [a where true] by p ![m where true] by q [b where true] by p`, []feed{
			{0, doc("a", "a1", "p", "x"), ""}, {10 * s, doc("m", "m1", "p", "y", "q", "x"), ""}, {20 * s, doc("b", "b1", "p", "x"), ""},
			{30 * s, doc("a", "a2", "p", "z"), ""}, {40 * s, doc("m", "m2", "p", "z", "q", "w"), ""}, {50 * s, doc("b", "b2", "p", "z"), ""},
		}, []string{"a2,b2"}, 1},
		{"middle: runs of a missing stage", `sequence by k with maxspan=1m [a where true] ![m where true] with runs=2 [b where true]`, []feed{
			{0, doc("a", "a1", "k", 1), ""}, {10 * s, doc("m", "m1", "k", 1), ""}, {20 * s, doc("b", "b1", "k", 1), ""},
			{30 * s, doc("a", "a2", "k", 1), ""}, {40 * s, doc("b", "b2", "k", 1), ""},
		}, []string{"a2,b2"}, 1},
		{"leading: within maxspan of the last event rejects", leading, []feed{
			{0, doc("m", "m1", "k", 1), ""}, {30 * s, doc("a", "a1", "k", 1), ""}, {50 * s, doc("b", "b1", "k", 1), ""},
		}, nil, 0},
		{"leading: the window is measured to the last event", leading, []feed{
			{0, doc("m", "m1", "k", 1), ""}, {30 * s, doc("a", "a1", "k", 1), ""}, {70 * s, doc("b", "b1", "k", 1), ""},
		}, []string{"a1,b1"}, 1},
		{"leading: at the first event's time is ignored, an earlier one counts", leading, []feed{
			{0, doc("m", "m1", "k", 1), ""}, {40 * s, doc("m", "m2", "k", 1), ""},
			{40 * s, doc("a", "a1", "k", 1), ""}, {45 * s, doc("b", "b1", "k", 1), ""},
		}, nil, 0},
		{"leading: at the first event's time alone", leading, []feed{
			{0, doc("m", "m1", "k", 1), ""}, {100 * s, doc("m", "m2", "k", 1), ""},
			{100 * s, doc("a", "a1", "k", 1), ""}, {110 * s, doc("b", "b1", "k", 1), ""},
		}, []string{"a1,b1"}, 1},
		{"leading: another key's", leading, []feed{
			{0, doc("m", "m1", "k", 2), ""}, {30 * s, doc("a", "a1", "k", 1), ""}, {50 * s, doc("b", "b1", "k", 1), ""},
		}, []string{"a1,b1"}, 1},
		{"trailing: within maxspan of the first event rejects", trailing, []feed{
			{0, doc("a", "a1", "k", 1), ""}, {10 * s, doc("b", "b1", "k", 1), ""}, {50 * s, doc("m", "m1", "k", 1), ""},
		}, nil, 0},
		{"trailing: after the window, reported when it passes", trailing, []feed{
			{0, doc("a", "a1", "k", 1), ""}, {10 * s, doc("b", "b1", "k", 1), ""}, {61 * s, doc("m", "m1", "k", 1), ""},
		}, []string{"a1,b1"}, 1},
		{"trailing: a later event of the partition closes the window", trailing, []feed{
			{0, doc("a", "a1", "k", 1), ""}, {10 * s, doc("b", "b1", "k", 1), ""}, {61 * s, doc("x", "x1"), ""},
		}, []string{"a1,b1"}, 1},
		{"trailing: at the last event's time is not after it", trailing, []feed{
			{0, doc("a", "a1", "k", 1), ""}, {10 * s, doc("b", "b1", "k", 1), ""}, {10 * s, doc("m", "m1", "k", 1), ""},
		}, []string{"a1,b1"}, 0},
		{"trailing: held until Flush when nothing follows", trailing, []feed{
			{0, doc("a", "a1", "k", 1), ""}, {10 * s, doc("b", "b1", "k", 1), ""},
		}, []string{"a1,b1"}, 0},
		{"leading and trailing: a gap wider than maxspan holds the event", both, []feed{
			{0, doc("m", "m1"), ""}, {5 * time.Minute, doc("n", "n1"), ""}, {11 * time.Minute, doc("m", "m2"), ""},
		}, []string{"n1"}, 1},
		{"leading and trailing: a narrower gap rejects", both, []feed{
			{0, doc("m", "m1"), ""}, {5 * time.Minute, doc("n", "n1"), ""}, {9 * time.Minute, doc("m", "m2"), ""},
		}, nil, 0},
		{"leading and trailing: nothing before accepts at once", both, []feed{
			{5 * time.Minute, doc("n", "n1"), ""}, {6 * time.Minute, doc("m", "m2"), ""},
		}, []string{"n1"}, 1},
		{"leading and trailing: nothing after accepts at the end", both, []feed{
			{0, doc("m", "m1"), ""}, {5 * time.Minute, doc("n", "n1"), ""},
		}, []string{"n1"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, flushed, _ := runFlush(t, tt.query, tt.events)
			if !reflect.DeepEqual(got, tt.want) || flushed != tt.flushed {
				t.Errorf("got %v (%d before Flush), want %v (%d before Flush)", got, flushed, tt.want, tt.flushed)
			}
		})
	}
}

// TestMissingLogoff runs the example of Elasticsearch's reference: logons
// not followed within 5 seconds by a logoff.
func TestMissingLogoff(t *testing.T) {
	t.Parallel()
	q := `sequence by host.name, user.name with maxspan=5s
  [ authentication where event.code : "4624" ]
  ![ authentication where event.code : "4647" ]`
	ev := func(id, code, user string) feed {
		return feed{doc: doc("authentication", id, "event.code", code, "host.name", "H", "user.name", user), part: "H"}
	}
	events := []feed{ev("on1", "4624", "ann"), ev("off1", "4647", "ann"), ev("on2", "4624", "ann"),
		ev("off2", "4647", "ann"), ev("on3", "4624", "bob"), ev("on4", "4624", "ann")}
	for i, at := range []time.Duration{0, 3 * time.Second, 10 * time.Second, 16 * time.Second, 17 * time.Second, 30 * time.Second} {
		events[i].at = at
	}
	got, flushed, st := runFlush(t, q, events)
	// on1 is followed by off1 within 5s; on2's logoff comes 6s later; on3
	// (another user) and on4 see no logoff at all. on2 is known once off2
	// passes its window, on3 once on4 does (same host), on4 only at the end.
	want := []string{"on2", "on3", "on4"}
	if !reflect.DeepEqual(got, want) || flushed != 2 || st.Discarded != 1 || st.Completed != 3 || st.Waiting != 0 {
		t.Errorf("got %v (%d before Flush), stats %+v; want %v", got, flushed, st, want)
	}
}

func TestMissingStagesLayout(t *testing.T) {
	t.Parallel()
	p, err := CompileString(`sequence with maxspan=1s ![a where true] [b where true] ![c where true] with runs=2 [d where true]`)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.MissingStages(), []bool{true, false, true, true, false}; !reflect.DeepEqual(got, want) {
		t.Errorf("MissingStages() = %v, want %v", got, want)
	}
	p, _ = CompileString(`sequence [a where true] [b where true]`)
	if p.MissingStages() != nil {
		t.Error("a sequence without missing stages reports some")
	}
}

// TestMissingStateIsBounded: a flood of leading missing events of distinct
// keys, or of sequences waiting on a trailing window, stays within
// MaxPending, and what is dropped is counted.
func TestMissingStateIsBounded(t *testing.T) {
	t.Parallel()
	for _, q := range []string{
		`sequence by k with maxspan=1h ![m where true] [a where true]`,
		`sequence by k with maxspan=1h [a where true] ![m where true]`,
	} {
		p := mustCompile(t, q)
		s, _ := p.NewSequence(SequenceOptions{MaxPending: 10})
		for i := 0; i < 1000; i++ {
			cat := "m"
			if strings.Contains(q, "[a where true] !") {
				cat = "a"
			}
			s.Feed(doc(cat, "x", "k", i), Ordinal{Time: base.Add(time.Duration(i) * time.Millisecond), Seq: uint64(i)}, "h")
		}
		st := s.Stats()
		if len(s.leads) > 10 || st.Waiting > 10 || st.Evicted != 990 {
			t.Errorf("%s: %d leading records, stats %+v", q, len(s.leads), st)
		}
	}
}
