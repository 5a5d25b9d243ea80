package bus

import (
	"bytes"
	"fmt"

	"github.com/vmihailenco/msgpack/v5"
)

// Encode writes a batch as msgpack. Maps are encoded with sorted keys so the
// same batch always gives the same bytes.
func Encode(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	enc.SetSortMapKeys(true)
	enc.SetCustomStructTag("msgpack")
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("bus: encode: %w", err)
	}
	return buf.Bytes(), nil
}

// Decode reads a msgpack batch into v. Numbers inside documents come back
// as int64, uint64 or float64 whatever width they were sent with. Messages
// come from the network: the structure is checked before anything is
// allocated for it.
func Decode(data []byte, v any) error {
	if err := validate(data); err != nil {
		return fmt.Errorf("bus: decode: %w", err)
	}
	dec := msgpack.NewDecoder(bytes.NewReader(data))
	dec.UseLooseInterfaceDecoding(true)
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("bus: decode: %w", err)
	}
	return nil
}
