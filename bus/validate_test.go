package bus

import (
	"testing"

	"github.com/weft-dev/weft/event"
)

func TestDecodeHostileLengths(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"array32 of 4G", []byte{0xdd, 0xff, 0xff, 0xff, 0xff}},
		{"map32 of 4G", []byte{0xdf, 0xff, 0xff, 0xff, 0xff}},
		{"str32 of 4G", []byte{0xdb, 0xff, 0xff, 0xff, 0xff, 'a'}},
		{"bin32 of 4G", []byte{0xc6, 0xff, 0xff, 0xff, 0xff}},
		{"ext32 of 4G", []byte{0xc9, 0xff, 0xff, 0xff, 0xff, 1}},
		{"nested array16", []byte{0x91, 0xdc, 0xff, 0xff}},
		{"empty", nil},
		{"trailing bytes", []byte{0x90, 0x90}},
		{"invalid code", []byte{0xc1}},
		{"deep", func() []byte {
			b := make([]byte, 200)
			for i := range b {
				b[i] = 0x91
			}
			return b
		}()},
	} {
		var out event.DocumentBatch
		if err := Decode(tc.data, &out); err == nil {
			t.Errorf("%s: Decode accepted % x", tc.name, tc.data)
		}
	}
}

// FuzzDecode: no input may panic the decoder or make it allocate beyond
// what the message's size allows.
func FuzzDecode(f *testing.F) {
	good, err := Encode(event.DocumentBatch{{"host": map[string]any{"name": "h", "ip": []any{"10.0.0.1"}}, "n": int64(-5), "f": 1.5, "b": true}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte{0xdd, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		var docs event.DocumentBatch
		_ = Decode(data, &docs)
		var raws event.RawBatch
		_ = Decode(data, &raws)
		var alerts event.AlertBatch
		_ = Decode(data, &alerts)
	})
}
