package collector

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Values render as golang-evtx renders them in weft's reference path
// (binxml.go), so that the two decoders give the same raw events: times
// as Windows writes SystemTime, hex integers without padding, GUIDs in
// upper case without braces (the normalizer puts them in Windows' form),
// binary as upper-case hex, strings up to their NUL.

// fixedSize is the size of each fixed-size value type; 0 for the rest.
var fixedSize = [...]int{
	valInt8: 1, valUint8: 1, valInt16: 2, valUint16: 2, valInt32: 4, valUint32: 4,
	valInt64: 8, valUint64: 8, valReal32: 4, valReal64: 8, valBool: 4, valGUID: 16,
	valFileTime: 8, valSysTime: 16, valHexInt32: 4, valHexInt64: 8,
}

func typeSize(t uint8) int {
	if int(t) < len(fixedSize) {
		return fixedSize[t]
	}
	return 0
}

// appendValue appends the text of a substitution value (not BinXML).
func (c *bxChunk) appendValue(dst []byte, v bxValue) ([]byte, error) {
	end := int(v.off) + int(v.size)
	if end > len(c.data) {
		return dst, fmt.Errorf("value at chunk offset %#x runs past the chunk", v.off)
	}
	return appendValueBytes(dst, c.data[v.off:end], v.typ)
}

func appendValueBytes(dst, b []byte, typ uint8) ([]byte, error) {
	if typ&valArray != 0 {
		return appendArray(dst, b, typ&^valArray)
	}
	if n := typeSize(typ); n != 0 && len(b) != n {
		return dst, fmt.Errorf("value of type %#02x has %d bytes, want %d", typ, len(b), n)
	}
	switch typ {
	case valNull:
		return dst, nil
	case valString:
		return trimNULBytes(appendUTF16(dst, b), len(dst)), nil
	case valAnsi:
		return trimNULBytes(append(dst, b...), len(dst)), nil
	case valInt8:
		return strconv.AppendInt(dst, int64(int8(b[0])), 10), nil
	case valUint8:
		return strconv.AppendUint(dst, uint64(b[0]), 10), nil
	case valInt16:
		return strconv.AppendInt(dst, int64(int16(binary.LittleEndian.Uint16(b))), 10), nil
	case valUint16:
		return strconv.AppendUint(dst, uint64(binary.LittleEndian.Uint16(b)), 10), nil
	case valInt32:
		return strconv.AppendInt(dst, int64(int32(binary.LittleEndian.Uint32(b))), 10), nil
	case valUint32:
		return strconv.AppendUint(dst, uint64(binary.LittleEndian.Uint32(b)), 10), nil
	case valInt64:
		return strconv.AppendInt(dst, int64(binary.LittleEndian.Uint64(b)), 10), nil
	case valUint64:
		return strconv.AppendUint(dst, binary.LittleEndian.Uint64(b), 10), nil
	case valReal32:
		return strconv.AppendFloat(dst, float64(math.Float32frombits(binary.LittleEndian.Uint32(b))), 'g', -1, 32), nil
	case valReal64:
		return strconv.AppendFloat(dst, math.Float64frombits(binary.LittleEndian.Uint64(b)), 'f', 6, 64), nil
	case valBool:
		// golang-evtx, and so weft's reference path, reads only 1 as true.
		return strconv.AppendBool(dst, binary.LittleEndian.Uint32(b) == 1), nil
	case valBinary:
		return appendHexUpper(dst, b), nil
	case valGUID:
		return appendGUID(dst, b), nil
	case valSizeT:
		switch len(b) {
		case 4:
			return appendHex(dst, uint64(binary.LittleEndian.Uint32(b))), nil
		case 8:
			return appendHex(dst, binary.LittleEndian.Uint64(b)), nil
		}
		return dst, fmt.Errorf("size_t value of %d bytes", len(b))
	case valHexInt32:
		return appendHex(dst, uint64(binary.LittleEndian.Uint32(b))), nil
	case valHexInt64:
		return appendHex(dst, binary.LittleEndian.Uint64(b)), nil
	case valFileTime:
		return appendWindowsTime(dst, fileTime(binary.LittleEndian.Uint64(b))), nil
	case valSysTime:
		return appendWindowsTime(dst, sysTime(b)), nil
	case valSID:
		return appendSID(dst, b)
	}
	return dst, fmt.Errorf("unsupported value type %#02x (%d bytes)", typ, len(b))
}

// appendArray renders an array value where Windows has no element to
// repeat for it (an attribute): its items separated by commas.
func appendArray(dst, b []byte, typ uint8) ([]byte, error) {
	start := len(dst)
	err := eachItem(b, typ, func(item []byte, typ uint8) error {
		if len(dst) > start {
			dst = append(dst, ',')
		}
		var err error
		dst, err = appendValueBytes(dst, item, typ)
		return err
	})
	return dst, err
}

// arrayItems renders the items of an array value.
func (c *bxChunk) arrayItems(v bxValue) ([]string, error) {
	end := int(v.off) + int(v.size)
	if end > len(c.data) {
		return nil, fmt.Errorf("value at chunk offset %#x runs past the chunk", v.off)
	}
	var items []string
	err := eachItem(c.data[v.off:end], v.typ&^valArray, func(item []byte, typ uint8) error {
		s, err := appendValueBytes(nil, item, typ)
		items = append(items, string(s))
		return err
	})
	return items, err
}

// eachItem calls fn with the bytes of each item of an array of typ:
// strings each end with a NUL; SIDs say their own size; every other type
// is a run of fixed-size items.
func eachItem(b []byte, typ uint8, fn func([]byte, uint8) error) error {
	switch typ {
	case valString:
		for i := 0; i+1 < len(b); {
			j := i
			for j+1 < len(b) && (b[j] != 0 || b[j+1] != 0) {
				j += 2
			}
			if err := fn(b[i:j], typ); err != nil {
				return err
			}
			i = j + 2
		}
		return nil
	case valAnsi:
		for i := 0; i < len(b); {
			j := i
			for j < len(b) && b[j] != 0 {
				j++
			}
			if err := fn(b[i:j], typ); err != nil {
				return err
			}
			i = j + 1
		}
		return nil
	case valSID:
		for len(b) > 0 {
			if len(b) < 8 || 8+4*int(b[1]) > len(b) {
				return fmt.Errorf("SID array item runs past the value")
			}
			n := 8 + 4*int(b[1])
			if err := fn(b[:n], typ); err != nil {
				return err
			}
			b = b[n:]
		}
		return nil
	}
	n := typeSize(typ)
	if typ == valSizeT {
		n = 8
	}
	if n == 0 || len(b)%n != 0 {
		return fmt.Errorf("array of type %#02x: %d bytes", typ, len(b))
	}
	for i := 0; i < len(b); i += n {
		if err := fn(b[i:i+n], typ); err != nil {
			return err
		}
	}
	return nil
}

func trimNULBytes(b []byte, start int) []byte {
	for len(b) > start && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	return b
}

const hexUpper, hexLower = "0123456789ABCDEF", "0123456789abcdef"

func appendHexUpper(dst, b []byte) []byte {
	for _, c := range b {
		dst = append(dst, hexUpper[c>>4], hexUpper[c&15])
	}
	return dst
}

func appendHex(dst []byte, v uint64) []byte {
	return strconv.AppendUint(append(dst, '0', 'x'), v, 16)
}

// appendGUID writes a GUID as golang-evtx does: upper case, no braces.
func appendGUID(dst, g []byte) []byte {
	order := [16]int{3, 2, 1, 0, -1, 5, 4, -1, 7, 6, -1, 8, 9, -1, 10, 11}
	for _, i := range order {
		if i < 0 {
			dst = append(dst, '-')
			continue
		}
		dst = append(dst, hexUpper[g[i]>>4], hexUpper[g[i]&15])
	}
	for _, c := range g[12:] {
		dst = append(dst, hexUpper[c>>4], hexUpper[c&15])
	}
	return dst
}

func appendSID(dst, b []byte) ([]byte, error) {
	if len(b) < 8 || len(b) < 8+4*int(b[1]) {
		return dst, fmt.Errorf("SID of %d bytes is too short", len(b))
	}
	dst = append(dst, 'S', '-')
	dst = strconv.AppendUint(dst, uint64(b[0]), 10)
	var auth uint64
	for _, c := range b[2:8] {
		auth = auth<<8 | uint64(c)
	}
	dst = append(dst, '-')
	dst = strconv.AppendUint(dst, auth, 10)
	for i := range int(b[1]) {
		dst = append(dst, '-')
		dst = strconv.AppendUint(dst, uint64(binary.LittleEndian.Uint32(b[8+4*i:])), 10)
	}
	return dst, nil
}

// FILETIME counts 100 ns intervals since 1601.
const fileTimeUnixEpoch = 116444736000000000

func fileTime(ft uint64) time.Time {
	v := int64(ft) - fileTimeUnixEpoch
	sec, rem := v/1e7, v%1e7
	if rem < 0 {
		sec, rem = sec-1, rem+1e7
	}
	return time.Unix(sec, rem*100).UTC()
}

func sysTime(b []byte) time.Time {
	f := func(i int) int { return int(int16(binary.LittleEndian.Uint16(b[2*i:]))) }
	return time.Date(f(0), time.Month(f(1)), f(3), f(4), f(5), f(6), f(7)*int(time.Millisecond), time.UTC)
}

// appendWindowsTime writes t as Windows writes SystemTime: UTC, seven
// decimals. Years past 9999 fall back to time's own formatting.
func appendWindowsTime(dst []byte, t time.Time) []byte {
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(dst, windowsTime)
	}
	hour, minute, sec := t.Clock()
	dst = appendDigits(dst, year, 4)
	dst = append(dst, '-')
	dst = appendDigits(dst, int(month), 2)
	dst = append(dst, '-')
	dst = appendDigits(dst, day, 2)
	dst = append(dst, 'T')
	dst = appendDigits(dst, hour, 2)
	dst = append(dst, ':')
	dst = appendDigits(dst, minute, 2)
	dst = append(dst, ':')
	dst = appendDigits(dst, sec, 2)
	dst = append(dst, '.')
	dst = appendDigits(dst, t.Nanosecond()/100, 7)
	return append(dst, 'Z')
}

func appendDigits(dst []byte, v, width int) []byte {
	var buf [8]byte
	for i := width - 1; i >= 0; i-- {
		buf[i] = byte('0' + v%10)
		v /= 10
	}
	return append(dst, buf[:width]...)
}
