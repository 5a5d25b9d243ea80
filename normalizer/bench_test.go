package normalizer

import (
	"testing"

	"github.com/weft-dev/weft/event"
)

func BenchmarkNormalize(b *testing.B) {
	for _, bm := range []struct {
		name string
		raw  *event.Raw
	}{
		{"ProcessCreate", processCreate()},
		{"ProcessCreateXML", processCreateXML()},
		{"NetworkConnect", networkIngress()},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Normalize(bm.raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
