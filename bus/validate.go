package bus

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// maxDepth bounds nesting in a message; weft's documents nest a few levels.
const maxDepth = 64

var errTruncated = errors.New("msgpack: truncated")

// validate walks a msgpack value once and checks that every length it
// declares fits in the bytes that are left. The msgpack library trusts
// those lengths (its allocation limit does not apply to interface
// decoding), so five hostile bytes could make it allocate billions of
// elements; after this check no container can claim more elements than
// there are bytes to hold them.
func validate(data []byte) error {
	// pending counts the values still to read at each open level.
	pending := []uint64{1}
	i := 0
	for len(pending) > 0 {
		top := len(pending) - 1
		if pending[top] == 0 {
			pending = pending[:top]
			continue
		}
		pending[top]--
		if i >= len(data) {
			return errTruncated
		}
		c := data[i]
		i++
		var skip, elems uint64
		var n int // bytes of a length field that follows
		switch {
		case c <= 0x7f, c >= 0xe0, c == 0xc0, c == 0xc2, c == 0xc3:
		case c >= 0x80 && c <= 0x8f:
			elems = 2 * uint64(c&0x0f)
		case c >= 0x90 && c <= 0x9f:
			elems = uint64(c & 0x0f)
		case c >= 0xa0 && c <= 0xbf:
			skip = uint64(c & 0x1f)
		case c == 0xcc, c == 0xd0:
			skip = 1
		case c == 0xcd, c == 0xd1:
			skip = 2
		case c == 0xca, c == 0xce, c == 0xd2:
			skip = 4
		case c == 0xcb, c == 0xcf, c == 0xd3:
			skip = 8
		case c == 0xd4:
			skip = 2
		case c == 0xd5:
			skip = 3
		case c == 0xd6:
			skip = 5
		case c == 0xd7:
			skip = 9
		case c == 0xd8:
			skip = 17
		case c == 0xc4, c == 0xc7, c == 0xd9:
			n = 1
		case c == 0xc5, c == 0xc8, c == 0xda, c == 0xdc, c == 0xde:
			n = 2
		case c == 0xc6, c == 0xc9, c == 0xdb, c == 0xdd, c == 0xdf:
			n = 4
		default:
			return fmt.Errorf("msgpack: invalid code %#x at offset %d", c, i-1)
		}
		if n > 0 {
			if len(data)-i < n {
				return errTruncated
			}
			var l uint64
			switch n {
			case 1:
				l = uint64(data[i])
			case 2:
				l = uint64(binary.BigEndian.Uint16(data[i:]))
			case 4:
				l = uint64(binary.BigEndian.Uint32(data[i:]))
			}
			i += n
			switch {
			case c >= 0xdc && c <= 0xdd:
				elems = l
			case c >= 0xde:
				elems = 2 * l
			case c >= 0xc7 && c <= 0xc9:
				skip = l + 1 // the ext type byte
			default:
				skip = l
			}
		}
		if skip > uint64(len(data)-i) {
			return errTruncated
		}
		i += int(skip)
		if elems > 0 {
			// Every element takes at least one byte.
			if elems > uint64(len(data)-i) {
				return fmt.Errorf("msgpack: container of %d elements in %d bytes", elems, len(data)-i)
			}
			if len(pending) >= maxDepth {
				return errors.New("msgpack: nested too deeply")
			}
			pending = append(pending, elems)
		}
	}
	if i != len(data) {
		return fmt.Errorf("msgpack: %d bytes after the value", len(data)-i)
	}
	return nil
}
