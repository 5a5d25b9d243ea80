package normalizer

import (
	"bytes"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/weft-dev/weft/bus"
	"github.com/weft-dev/weft/event"
)

// filled returns an event.Raw with every field set, found by reflection:
// a field added to event.Raw, and not decoded, fails the tests below.
func filled(seed int) event.Raw {
	var r event.Raw
	var fill func(v reflect.Value)
	fill = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.String:
			v.SetString(fmt.Sprintf("%s-%d", v.Type().Name(), seed))
		case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			v.SetUint(uint64(seed%200 + 1))
		case reflect.Int, reflect.Int32, reflect.Int64:
			v.SetInt(int64(-seed - 1))
		case reflect.Slice:
			v.Set(reflect.MakeSlice(v.Type(), 2, 2))
			for i := range 2 {
				fill(v.Index(i))
			}
		case reflect.Struct:
			if v.Type() == reflect.TypeOf(time.Time{}) {
				v.Set(reflect.ValueOf(time.Unix(1709648551+int64(seed), int64(seed)*1000+7)))
				return
			}
			for i := range v.NumField() {
				fill(v.Field(i))
			}
		default:
			panic("filled: no value for " + v.Type().String())
		}
	}
	fill(reflect.ValueOf(&r).Elem())
	return r
}

func sameBatch(t *testing.T, what string, got, want []event.Raw) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d events, want %d", what, len(got), len(want))
	}
	for i := range got {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("%s: event %d\ngot  %+v\nwant %+v", what, i, got[i], want[i])
		}
	}
}

// TestDecodeRawBatch: the reader gives what bus.Decode gives, for every
// field, every time encoding and a reused batch.
func TestDecodeRawBatch(t *testing.T) {
	t.Parallel()
	zeroTime := filled(3)
	zeroTime.TimeCreated, zeroTime.Origin.Received = time.Time{}, time.Unix(1<<35, 0) // 12-byte forms
	secondsOnly := filled(4)
	secondsOnly.TimeCreated = time.Unix(1709648551, 0) // 4-byte form
	sparse := event.Raw{EventID: 4624, Channel: "Security", TimeCreated: time.Unix(1, 5)}
	batches := map[string][]event.Raw{
		"filled":       {filled(1), filled(2)},
		"time forms":   {zeroTime, secondsOnly},
		"sparse":       {sparse, {}},
		"fixtures":     {*processCreate(), *networkIngress(), *networkEgressIPv6()},
		"empty":        {},
		"long strings": {{Computer: string(bytes.Repeat([]byte("x"), 70000)), Data: []event.Field{{Name: "a", Value: string(bytes.Repeat([]byte("y"), 300))}}}},
	}
	var reused []event.Raw
	for name, in := range batches {
		data, err := bus.Encode(in)
		if err != nil {
			t.Fatal(err)
		}
		var want event.RawBatch
		if err := bus.Decode(data, &want); err != nil {
			t.Fatal(err)
		}
		got, err := decodeRawBatch(data, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		sameBatch(t, name, got, want)
		// A batch reused from a larger message leaves nothing behind.
		reused, err = decodeRawBatch(data, reused)
		if err != nil {
			t.Fatal(err)
		}
		sameBatch(t, name+" (reused)", reused, want)
	}
}

// TestDecodeRawBatchSkipsUnknown: keys a newer collector might add are
// skipped whatever their type, as bus.Decode skips them.
func TestDecodeRawBatchSkipsUnknown(t *testing.T) {
	t.Parallel()
	type newer struct {
		event.Raw `msgpack:",inline"`
		Extra     map[string]any `msgpack:"extra"`
		List      []any          `msgpack:"list"`
		F         float64        `msgpack:"f"`
		B         []byte         `msgpack:"b"`
		When      time.Time      `msgpack:"when"`
		N         int64          `msgpack:"n"`
	}
	in := []newer{{
		Raw:   *networkIngress(),
		Extra: map[string]any{"a": []any{1, "x", nil, true, 2.5, map[string]any{"b": -7}}, "big": int64(1) << 40},
		List:  []any{uint64(1) << 63, int8(-3), "s", bytes.Repeat([]byte{1}, 300)},
		F:     1.5, B: []byte("bin"), When: time.Unix(1, 2), N: -1 << 40,
	}}
	data, err := bus.Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	var want event.RawBatch
	if err := bus.Decode(data, &want); err != nil {
		t.Fatal(err)
	}
	got, err := decodeRawBatch(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	sameBatch(t, "newer", got, want)
}

func TestDecodeRawBatchRejects(t *testing.T) {
	t.Parallel()
	good, err := bus.Encode([]event.Raw{*networkIngress()})
	if err != nil {
		t.Fatal(err)
	}
	big := filled(5)
	big.RecordID = 1 << 63 // past the int64 the reader takes
	tooBig, err := bus.Encode([]event.Raw{big})
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"truncated":      good[:len(good)-3],
		"trailing bytes": append(append([]byte(nil), good...), 0x01),
		"not an array":   {0xa3, 'a', 'b', 'c'},
		// bus.Decode would try to allocate four billion events.
		"lying length":  {0xdd, 0xff, 0xff, 0xff, 0xff},
		"not msgpack":   []byte("not msgpack"),
		"event not map": {0x91, 0x05},
		"wrong type":    {0x91, 0x81, 0xa8, 'e', 'v', 'e', 'n', 't', '_', 'i', 'd', 0xa1, '1'},
		"too deep":      append(append([]byte{0x91, 0x81, 0xa1, 'z'}, bytes.Repeat([]byte{0x91}, 40)...), 0xc0),
		"huge id":       tooBig,
	} {
		if _, err := decodeRawBatch(data, nil); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// FuzzDecodeRawBatch: whatever the bytes, the reader never panics, and
// what it accepts bus.Decode reads the same. (What it rejects is not given
// to bus.Decode, which may try to allocate any count a message claims.)
func FuzzDecodeRawBatch(f *testing.F) {
	for _, in := range [][]event.Raw{{filled(1)}, {*processCreate(), *networkIngress()}, {}} {
		data, err := bus.Encode(in)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	raw, _ := msgpack.Marshal([]map[string]any{{"event_id": -1, "data": "x", "other": []any{1.5, nil}}})
	f.Add(raw)
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := decodeRawBatch(data, nil)
		if err != nil {
			return
		}
		var want event.RawBatch
		if err := bus.Decode(data, &want); err != nil {
			t.Fatalf("the reader accepted what bus.Decode rejects: %v", err)
		}
		sameBatch(t, "fuzz", got, want)
	})
}
