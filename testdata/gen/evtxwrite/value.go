package evtxwrite

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Type is a BinXML value type. Only the types Windows uses for the events
// this package writes are supported.
type Type uint8

// The supported value types, with the numbers BinXML gives them.
const (
	TypeNull     Type = 0x00
	TypeString   Type = 0x01 // UTF-16LE, no terminator
	TypeUInt8    Type = 0x04
	TypeUInt16   Type = 0x06
	TypeUInt32   Type = 0x08
	TypeUInt64   Type = 0x0a
	TypeBool     Type = 0x0d // 32-bit, 0 or 1
	TypeGUID     Type = 0x0f
	TypeFileTime Type = 0x11
	TypeSID      Type = 0x13
	TypeHexInt64 Type = 0x15 // a UInt64 rendered in hexadecimal
	TypeBinXML   Type = 0x21 // a nested fragment: a template instance
)

func (t Type) String() string {
	switch t {
	case TypeNull:
		return "Null"
	case TypeString:
		return "String"
	case TypeUInt8:
		return "UInt8"
	case TypeUInt16:
		return "UInt16"
	case TypeUInt32:
		return "UInt32"
	case TypeUInt64:
		return "UInt64"
	case TypeBool:
		return "Bool"
	case TypeGUID:
		return "GUID"
	case TypeFileTime:
		return "FileTime"
	case TypeSID:
		return "SID"
	case TypeHexInt64:
		return "HexInt64"
	case TypeBinXML:
		return "BinXml"
	}
	return fmt.Sprintf("Type(%#02x)", uint8(t))
}

func (t Type) supported() bool {
	switch t {
	case TypeNull, TypeString, TypeUInt8, TypeUInt16, TypeUInt32, TypeUInt64, TypeBool,
		TypeGUID, TypeFileTime, TypeSID, TypeHexInt64, TypeBinXML:
		return true
	}
	return false
}

// Value is one substitution value of a template instance. The zero Value
// is NULL, which drops the element or attribute of an optional
// substitution, as Windows renders it.
type Value struct {
	typ  Type
	num  uint64 // integers, booleans, FILETIME ticks
	str  string // strings
	raw  []byte // GUID and SID bytes, as stored
	inst *Instance
}

// Null is the NULL value.
func Null() Value { return Value{} }

// String is a Unicode string value.
func String(s string) Value { return Value{typ: TypeString, str: s} }

// UInt8 is an unsigned 8-bit value.
func UInt8(v uint8) Value { return Value{typ: TypeUInt8, num: uint64(v)} }

// UInt16 is an unsigned 16-bit value.
func UInt16(v uint16) Value { return Value{typ: TypeUInt16, num: uint64(v)} }

// UInt32 is an unsigned 32-bit value.
func UInt32(v uint32) Value { return Value{typ: TypeUInt32, num: uint64(v)} }

// UInt64 is an unsigned 64-bit value.
func UInt64(v uint64) Value { return Value{typ: TypeUInt64, num: v} }

// HexInt64 is a 64-bit value that renders in hexadecimal (Keywords, LogonId).
func HexInt64(v uint64) Value { return Value{typ: TypeHexInt64, num: v} }

// Bool is a boolean (win:Boolean, stored in 32 bits).
func Bool(b bool) Value {
	v := Value{typ: TypeBool}
	if b {
		v.num = 1
	}
	return v
}

// FileTime is a FILETIME: 100-nanosecond ticks since 1601-01-01 UTC.
// Precision below 100 ns is dropped; a time before 1601 (the zero
// time.Time among them) is 0.
func FileTime(t time.Time) Value { return Value{typ: TypeFileTime, num: fileTime(t)} }

// BinXML nests a template instance, the way an event's EventData travels
// inside its System template.
func BinXML(in *Instance) Value { return Value{typ: TypeBinXML, inst: in} }

// Type tells the value's type.
func (v Value) Type() Type { return v.typ }

// String renders the value as Windows renders it in event XML: integers
// in decimal, HexInt64 as 0x without padding, booleans as true/false,
// GUIDs in braces (lower case, as wevtutil writes Sysmon's), times with
// seven fractional digits. NULL renders as "".
func (v Value) String() string {
	switch v.typ {
	case TypeString:
		return v.str
	case TypeUInt8, TypeUInt16, TypeUInt32, TypeUInt64:
		return strconv.FormatUint(v.num, 10)
	case TypeHexInt64:
		return "0x" + strconv.FormatUint(v.num, 16)
	case TypeBool:
		return strconv.FormatBool(v.num != 0)
	case TypeGUID:
		return guidFromDisk(v.raw).String()
	case TypeSID:
		return SID{b: v.raw}.String()
	case TypeFileTime:
		return FileTimeToTime(v.num).Format(WindowsTime)
	case TypeBinXML:
		return "[BinXml]"
	}
	return ""
}

// WindowsTime is how Windows renders a FILETIME in event XML.
const WindowsTime = "2006-01-02T15:04:05.0000000Z"

// secondsTo1970 is the time from FILETIME's epoch, 1601-01-01, to Unix's.
const secondsTo1970 = 11644473600

func fileTime(t time.Time) uint64 {
	secs := t.Unix() + secondsTo1970
	if secs < 0 {
		return 0 // before 1601: FILETIME has nothing earlier
	}
	return uint64(secs)*1e7 + uint64(t.Nanosecond()/100)
}

// FileTimeToTime converts FILETIME ticks to a UTC time.
func FileTimeToTime(ticks uint64) time.Time {
	return time.Unix(int64(ticks/1e7)-secondsTo1970, int64(ticks%1e7)*100).UTC()
}

// GUID is a GUID in its canonical text order: the 16 bytes as
// "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" reads them. It is stored in EVTX
// with its first three groups little-endian, as Windows stores GUIDs.
type GUID [16]byte

// ParseGUID reads "{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}", braces optional,
// any case.
func ParseGUID(s string) (GUID, error) {
	var g GUID
	t := strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}")
	if len(t) != 36 || t[8] != '-' || t[13] != '-' || t[18] != '-' || t[23] != '-' {
		return g, fmt.Errorf("GUID %q: want xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", s)
	}
	b, err := hex.DecodeString(t[0:8] + t[9:13] + t[14:18] + t[19:23] + t[24:])
	if err != nil {
		return g, fmt.Errorf("GUID %q: %w", s, err)
	}
	copy(g[:], b)
	return g, nil
}

// String renders the GUID in braces, lower case.
func (g GUID) String() string {
	h := hex.EncodeToString(g[:])
	return "{" + h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:] + "}"
}

// Value makes a GUID value of it.
func (g GUID) Value() Value {
	return Value{typ: TypeGUID, raw: g.disk()}
}

// disk is the GUID as Windows stores it: Data1, Data2 and Data3
// little-endian, Data4 as it reads.
func (g GUID) disk() []byte {
	raw := []byte{g[3], g[2], g[1], g[0], g[5], g[4], g[7], g[6]}
	return append(raw, g[8:]...)
}

func guidFromDisk(b []byte) GUID {
	var g GUID
	if len(b) != 16 {
		return g
	}
	g = GUID{b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6]}
	copy(g[8:], b[8:])
	return g
}

// SID is a Windows security identifier in its binary form.
type SID struct{ b []byte }

// ParseSID reads "S-1-5-21-…".
func ParseSID(s string) (SID, error) {
	parts := strings.Split(s, "-")
	if len(parts) < 3 || parts[0] != "S" {
		return SID{}, fmt.Errorf("SID %q: want S-R-A[-S…]", s)
	}
	rev, err := strconv.ParseUint(parts[1], 10, 8)
	if err != nil {
		return SID{}, fmt.Errorf("SID %q: revision: %w", s, err)
	}
	auth, err := strconv.ParseUint(parts[2], 10, 48)
	if err != nil {
		return SID{}, fmt.Errorf("SID %q: authority: %w", s, err)
	}
	subs := parts[3:]
	if len(subs) > 15 {
		return SID{}, fmt.Errorf("SID %q: %d sub-authorities, at most 15", s, len(subs))
	}
	b := []byte{byte(rev), byte(len(subs))}
	// The identifier authority is 48 bits, big-endian.
	b = append(b, byte(auth>>40), byte(auth>>32), byte(auth>>24), byte(auth>>16), byte(auth>>8), byte(auth))
	for _, p := range subs {
		v, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return SID{}, fmt.Errorf("SID %q: sub-authority: %w", s, err)
		}
		b = binary.LittleEndian.AppendUint32(b, uint32(v))
	}
	return SID{b: b}, nil
}

// String renders the SID as S-R-A-S….
func (s SID) String() string {
	if len(s.b) < 8 {
		return ""
	}
	var auth uint64
	for _, c := range s.b[2:8] {
		auth = auth<<8 | uint64(c)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "S-%d-%d", s.b[0], auth)
	for i := 8; i+4 <= len(s.b); i += 4 {
		fmt.Fprintf(&b, "-%d", binary.LittleEndian.Uint32(s.b[i:]))
	}
	return b.String()
}

// Value makes a SID value of it.
func (s SID) Value() Value { return Value{typ: TypeSID, raw: s.b} }
