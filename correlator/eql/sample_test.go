package eql

import (
	"reflect"
	"strings"
	"testing"

	"github.com/weft-dev/weft/event"
)

func sampleIDs(ms []Match) []string {
	var out []string
	for _, m := range ms {
		var parts []string
		for _, d := range m.Events {
			parts = append(parts, d["id"].(string))
		}
		out = append(out, strings.Join(parts, ","))
	}
	return out
}

// hostDocs are events of three hosts for the three filters of the
// reference's sample example: uptime > 0, port > 100, bool == true.
func hostDocs() []event.Document {
	mk := func(id, host string, kv ...any) event.Document {
		return doc("alert", id, append([]any{"host", host}, kv...)...)
	}
	return []event.Document{
		mk("e1", "A", "uptime", 0, "port", 1234),
		mk("e2", "A", "uptime", 5, "port", 1, "bool", true),
		mk("e3", "A", "port", 65000, "bool", true),
		mk("e4", "B", "uptime", 1, "port", 1234, "bool", false),
		mk("e5", "B", "uptime", 1, "port", 1234, "bool", true),
		mk("e6", "C", "uptime", 3),
		mk("e7", "B", "bool", true),
	}
}

const hostSample = `sample by host [any where uptime > 0] [any where port > 100] [any where bool == true]`

func TestSampleBatch(t *testing.T) {
	t.Parallel()
	p, err := CompileString(hostSample)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := p.NewSample(SampleOptions{Batch: true})
	for i, d := range hostDocs() {
		if m := s.Feed(d, Ordinal{Seq: uint64(i)}); m != nil {
			t.Fatalf("batch mode reported %v before Results", sampleIDs(m))
		}
	}
	ms := s.Results()
	// A: uptime>0 only e2; port>100 e1, e3; bool e2, e3: e2, e1, e3.
	// B: bool is true only on e5 and e7, and e5 is the one uptime>0 or
	// port>100 event left after e4: e4, e5, e7. C has one event only.
	if got, want := sampleIDs(ms), []string{"e2,e1,e3", "e4,e5,e7"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("samples %v, want %v", got, want)
	}
	if !reflect.DeepEqual(ms[0].JoinKeys, []any{"A"}) || !reflect.DeepEqual(ms[1].JoinKeys, []any{"B"}) {
		t.Errorf("join keys %v %v", ms[0].JoinKeys, ms[1].JoinKeys)
	}
	if ms[1].End.Seq != 6 {
		t.Errorf("End %+v, want the latest event's ordinal", ms[1].End)
	}
	if st := s.Stats(); st.Completed != 2 || st.Keys != 1 {
		t.Errorf("stats %+v: want 2 samples and C still held", st)
	}
}

func TestSampleStreaming(t *testing.T) {
	t.Parallel()
	p, _ := CompileString(hostSample)
	s, _ := p.NewSample(SampleOptions{})
	var got []string
	for i, d := range hostDocs() {
		for _, id := range sampleIDs(s.Feed(d, Ordinal{Seq: uint64(i)})) {
			got = append(got, d["id"].(string)+":"+id)
		}
	}
	// Each sample comes out with the event that completes it, once.
	if want := []string{"e3:e2,e1,e3", "e7:e4,e5,e7"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if more := s.Feed(doc("alert", "e8", "host", "A", "uptime", 9), Ordinal{Seq: 8}); more != nil {
		t.Errorf("a key reported a second sample: %v", sampleIDs(more))
	}
}

// TestSampleEarlyChoice shows the one difference between streaming and
// batch: d1 matches both filters; streaming reports d2,d1 as soon as it
// can, while over the whole input Elasticsearch's backtracking prefers
// d1 for the first filter and takes d3 for the second.
func TestSampleEarlyChoice(t *testing.T) {
	t.Parallel()
	p, _ := CompileString(`sample by k [any where f1] [any where f2]`)
	docs := []event.Document{
		doc("x", "d1", "k", 1, "f1", true, "f2", true),
		doc("x", "d2", "k", 1, "f1", true),
		doc("x", "d3", "k", 1, "f2", true),
	}
	stream, _ := p.NewSample(SampleOptions{})
	batch, _ := p.NewSample(SampleOptions{Batch: true})
	var got []string
	for i, d := range docs {
		got = append(got, sampleIDs(stream.Feed(d, Ordinal{Seq: uint64(i)}))...)
		batch.Feed(d, Ordinal{Seq: uint64(i)})
	}
	if !reflect.DeepEqual(got, []string{"d2,d1"}) {
		t.Errorf("streaming %v", got)
	}
	if b := sampleIDs(batch.Results()); !reflect.DeepEqual(b, []string{"d1,d3"}) {
		t.Errorf("batch %v", b)
	}
}

func TestSampleKeys(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		query string
		docs  []event.Document
		want  []string
		keys  [][]any
	}{
		{"per-filter keys join across fields", `sample by host [a where true] by os [b where true] by op_sys`, []event.Document{
			doc("a", "a1", "host", "H", "os", "win10"),
			doc("b", "b1", "host", "H", "op_sys", "linux"),
			doc("b", "b2", "host", "H", "op_sys", "win10"),
		}, []string{"a1,b2"}, [][]any{{"H", "win10"}}},
		{"a null key never joins", `sample by x [a where true] [b where true]`, []event.Document{
			doc("a", "a1"), doc("b", "b1"),
		}, nil, nil},
		{"an optional key joins null with null", `sample by ?x [a where true] [b where true]`, []event.Document{
			doc("a", "a1"), doc("b", "b1"),
		}, []string{"a1,b1"}, [][]any{{nil}}},
		{"samples are ordered by key, null first", `sample by ?x [a where true] [b where true]`, []event.Document{
			doc("a", "a1", "x", "b"), doc("b", "b1", "x", "b"),
			doc("a", "a2", "x", "B"), doc("b", "b2", "x", "B"),
			doc("a", "a3"), doc("b", "b3"),
		}, []string{"a3,b3", "a2,b2", "a1,b1"}, [][]any{{nil}, {"B"}, {"b"}}},
		{"one event cannot fill two filters", `sample by k [any where true] [any where true]`, []event.Document{
			doc("x", "x1", "k", 1), doc("x", "y1", "k", 2), doc("x", "x2", "k", 1),
		}, []string{"x1,x2"}, [][]any{{int64(1)}}},
		{"only the first N candidates count", `sample by k [any where f] [any where g]`, []event.Document{
			doc("x", "x1", "k", 1, "f", true, "g", true),
			doc("x", "x2", "k", 1, "f", true, "g", true),
			doc("x", "x3", "k", 1, "f", true, "g", true),
		}, []string{"x1,x2"}, [][]any{{int64(1)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := CompileString(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			s, _ := p.NewSample(SampleOptions{Batch: true})
			for i, d := range tt.docs {
				s.Feed(d, Ordinal{Seq: uint64(i)})
			}
			ms := s.Results()
			var keys [][]any
			for _, m := range ms {
				keys = append(keys, m.JoinKeys)
			}
			if got := sampleIDs(ms); !reflect.DeepEqual(got, tt.want) || !reflect.DeepEqual(keys, tt.keys) {
				t.Errorf("got %v %v, want %v %v", got, keys, tt.want, tt.keys)
			}
		})
	}
}

func TestSampleMaxKeys(t *testing.T) {
	t.Parallel()
	p, _ := CompileString(`sample by k [a where true] [b where true]`)
	s, _ := p.NewSample(SampleOptions{MaxKeys: 2})
	for i := 0; i < 3; i++ {
		s.Feed(doc("a", "a", "k", i), Ordinal{Seq: uint64(i)})
	}
	if got := s.Feed(doc("b", "b0", "k", 0), Ordinal{Seq: 9}); got != nil {
		t.Errorf("an evicted key completed: %v", sampleIDs(got))
	}
	if st := s.Stats(); st.Evicted != 2 || st.Keys != 2 { // k=0, then k=1 to make room for k=0 again
		t.Errorf("stats %+v", st)
	}
	if _, err := p.NewSequence(SequenceOptions{}); err == nil {
		t.Error("NewSequence on a sample query should fail")
	}
}
