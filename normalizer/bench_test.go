package normalizer

import (
	"testing"

	"github.com/weft-dev/weft/bus"
	"github.com/weft-dev/weft/event"
)

// benchEvents are the events the benchmarks map: Sysmon 1 as golang-evtx
// and as Windows render it, and Sysmon 3.
func benchEvents() []struct {
	name string
	raw  *event.Raw
} {
	return []struct {
		name string
		raw  *event.Raw
	}{
		{"ProcessCreate", processCreate()},
		{"ProcessCreateXML", processCreateXML()},
		{"NetworkConnect", networkIngress()},
	}
}

// BenchmarkNormalize maps one event into an event.Document, the nested
// maps of the event package.
func BenchmarkNormalize(b *testing.B) {
	for _, bm := range benchEvents() {
		b.Run(bm.name, func(b *testing.B) {
			n := New()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := n.Normalize(bm.raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkMap is the mapping alone: one event into the typed record both
// writers read, without writing a document.
func BenchmarkMap(b *testing.B) {
	for _, bm := range benchEvents() {
		b.Run(bm.name, func(b *testing.B) {
			n := New()
			b.ReportAllocs()
			for b.Loop() {
				if err := n.mapEvent(bm.raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkMsgpack maps one event into the msgpack bytes the stage
// publishes, the same bytes as bus.Encode of the document.
func BenchmarkMsgpack(b *testing.B) {
	for _, bm := range benchEvents() {
		b.Run(bm.name, func(b *testing.B) {
			n := New()
			var buf []byte
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if buf, err = n.AppendMsgpack(buf[:0], bm.raw); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(int64(len(buf)))
		})
	}
}

// BenchmarkDecodeDocument is what a consumer of weft.ecs.* pays per event
// to get an event.Document back from the bytes the stage publishes: the
// cost of the map representation on the other side of the bus.
func BenchmarkDecodeDocument(b *testing.B) {
	for _, bm := range benchEvents() {
		b.Run(bm.name, func(b *testing.B) {
			one, err := New().AppendMsgpack(nil, bm.raw)
			if err != nil {
				b.Fatal(err)
			}
			data := append([]byte{0x91}, one...) // a batch of one
			b.ReportAllocs()
			for b.Loop() {
				var batch event.DocumentBatch
				if err := bus.Decode(data, &batch); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecodeRaw decodes one raw event from a batch of 256, per event.
func BenchmarkDecodeRaw(b *testing.B) {
	raws := make([]event.Raw, 256)
	for i := range raws {
		raws[i] = *processCreate()
		raws[i].RecordID = uint64(i + 1)
	}
	data, err := bus.Encode(raws)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("bus.Decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var batch event.RawBatch
			if err := bus.Decode(data, &batch); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(raws)), "ns/event")
	})
	b.Run("decodeRawBatch", func(b *testing.B) {
		var batch []event.Raw
		b.ReportAllocs()
		for b.Loop() {
			if batch, err = decodeRawBatch(data, batch); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(raws)), "ns/event")
	})
}
