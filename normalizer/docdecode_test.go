package normalizer

import (
	"reflect"
	"testing"

	"github.com/weft-dev/weft/bus"
	"github.com/weft-dev/weft/event"
)

// A prototype, for the lead, of a decoder of weft.ecs.* messages for bus:
// every consumer of documents (the correlator first) pays far more to
// decode a document with msgpack's reflection than the normalizer pays to
// make it (BenchmarkDecodeDocument). This one reads the same bytes into
// the same event.Document, but shares one copy of the message among all
// its strings and takes ECS keys, a small vocabulary, from a table instead
// of allocating each (BenchmarkDecodeDocumentInterned).

type docReader struct {
	rawReader
	keys map[string]string
}

func (d *docReader) key() (string, error) {
	k, err := d.string()
	if err != nil {
		return "", err
	}
	if s, ok := d.keys[k]; ok {
		return s, nil
	}
	return k, nil
}

func (d *docReader) value(depth int) (any, error) {
	if depth > 32 || d.pos >= len(d.s) {
		return nil, errMalformed
	}
	switch c := d.s[d.pos]; {
	case c == mpNil:
		d.pos++
		return nil, nil
	case c == mpTrue || c == mpFalse:
		d.pos++
		return c == mpTrue, nil
	case c&0xe0 == 0xa0 || c == mpStr8 || c == mpStr16 || c == mpStr32:
		return d.string()
	case c&0xf0 == 0x80 || c == mpMap16 || c == mpMap32:
		n, err := d.mapLen()
		if err != nil {
			return nil, err
		}
		m := make(map[string]any, n)
		for range n {
			k, err := d.key()
			if err != nil {
				return nil, err
			}
			if m[k], err = d.value(depth + 1); err != nil {
				return nil, err
			}
		}
		return m, nil
	case c&0xf0 == 0x90 || c == mpArr16 || c == mpArr32:
		n, err := d.arrayLen()
		if err != nil {
			return nil, err
		}
		list := make([]any, n)
		for i := range list {
			if list[i], err = d.value(depth + 1); err != nil {
				return nil, err
			}
		}
		return list, nil
	}
	return d.int()
}

func decodeDocuments(data []byte, keys map[string]string) (event.DocumentBatch, error) {
	d := docReader{rawReader: rawReader{s: string(data)}, keys: keys}
	n, err := d.arrayLen()
	if err != nil {
		return nil, err
	}
	out := make(event.DocumentBatch, n)
	for i := range out {
		v, err := d.value(0)
		if err != nil {
			return nil, err
		}
		m, _ := v.(map[string]any)
		out[i] = m
	}
	return out, nil
}

// ecsKeys is the key table: every name of the schema.
func ecsKeys() map[string]string {
	keys := map[string]string{}
	for _, nd := range newSchema().nodes {
		keys[nd.name] = nd.name
	}
	return keys
}

func TestDecodeDocumentsPrototype(t *testing.T) {
	t.Parallel()
	n := New()
	keys := ecsKeys()
	for i, r := range wireEvents() {
		data := append([]byte{0x91}, mustAppend(t, n, r)...)
		var want event.DocumentBatch
		if err := bus.Decode(data, &want); err != nil {
			t.Fatal(err)
		}
		got, err := decodeDocuments(data, keys)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("event %d: prototype decodes\n%v\nbus.Decode\n%v", i, got, want)
		}
	}
}

func mustAppend(t testing.TB, n *Normalizer, r *event.Raw) []byte {
	b, _ := n.AppendMsgpack(nil, r)
	return b
}

// BenchmarkDecodeDocumentInterned is BenchmarkDecodeDocument with the
// prototype decoder.
func BenchmarkDecodeDocumentInterned(b *testing.B) {
	keys := ecsKeys()
	for _, bm := range benchEvents() {
		b.Run(bm.name, func(b *testing.B) {
			data := append([]byte{0x91}, mustAppend(b, New(), bm.raw)...)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := decodeDocuments(data, keys); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
