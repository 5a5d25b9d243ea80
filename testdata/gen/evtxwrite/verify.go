package evtxwrite

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
)

// Verify checks the structure of a closed EVTX file of size bytes: the
// file header (magic, CRC32, version, chunk count and numbers, next record
// id, clean flags), and in every chunk the header CRC32 (bytes 0-120 and
// 128-512), the records CRC32, that the records end at least 8 bytes
// before the chunk does (as in every real log), record framing (magic, size, trailing size
// copy), consecutive record ids across the file, the header's first and
// last ids and offsets, and that every name in the common string table's
// buckets hashes to its bucket. The first problem found is returned,
// saying where.
func Verify(r io.ReaderAt, size int64) error {
	h := make([]byte, FileHeaderSize)
	if _, err := r.ReadAt(h, 0); err != nil {
		return fmt.Errorf("file header: %w", err)
	}
	if !bytes.Equal(h[:8], fileMagic) {
		return fmt.Errorf("file header: magic %q", h[:8])
	}
	if got, want := binary.LittleEndian.Uint32(h[124:]), crc32.ChecksumIEEE(h[:120]); got != want {
		return fmt.Errorf("file header: CRC32 %#08x, computed %#08x", got, want)
	}
	le := binary.LittleEndian
	switch {
	case le.Uint32(h[32:]) != chunkHeaderSize:
		return fmt.Errorf("file header: header size %d", le.Uint32(h[32:]))
	case le.Uint16(h[36:]) != 1 || le.Uint16(h[38:]) != 3:
		return fmt.Errorf("file header: version %d.%d, want 3.1", le.Uint16(h[38:]), le.Uint16(h[36:]))
	case le.Uint16(h[40:]) != FileHeaderSize:
		return fmt.Errorf("file header: chunk data offset %d", le.Uint16(h[40:]))
	case le.Uint32(h[120:]) != 0:
		return fmt.Errorf("file header: flags %#x, want 0 (clean, not full)", le.Uint32(h[120:]))
	}
	chunks := int(le.Uint16(h[42:]))
	if want := int64(FileHeaderSize) + int64(chunks)*ChunkSize; size != want {
		return fmt.Errorf("file of %d bytes, header counts %d chunks (%d bytes)", size, chunks, want)
	}
	if chunks > 0 && (le.Uint64(h[8:]) != 0 || le.Uint64(h[16:]) != uint64(chunks-1)) {
		return fmt.Errorf("file header: chunk numbers %d to %d for %d chunks", le.Uint64(h[8:]), le.Uint64(h[16:]), chunks)
	}
	c := make([]byte, ChunkSize)
	var next uint64
	for i := range chunks {
		off := int64(FileHeaderSize) + int64(i)*ChunkSize
		if _, err := r.ReadAt(c, off); err != nil {
			return fmt.Errorf("chunk %d: %w", i, err)
		}
		last, err := verifyChunk(c, next)
		if err != nil {
			return fmt.Errorf("chunk %d (offset %#x): %w", i, off, err)
		}
		next = last + 1
	}
	if chunks > 0 && le.Uint64(h[24:]) != next {
		return fmt.Errorf("file header: next record id %d, want %d", le.Uint64(h[24:]), next)
	}
	return nil
}

// verifyChunk checks one chunk and returns its last record id. want is
// the id its first record must have (0: any).
func verifyChunk(c []byte, want uint64) (uint64, error) {
	le := binary.LittleEndian
	if !bytes.Equal(c[:8], chunkMagic) {
		return 0, fmt.Errorf("magic %q", c[:8])
	}
	crc := crc32.NewIEEE()
	crc.Write(c[:120])
	crc.Write(c[chunkHeaderSize:firstRecord])
	if got := le.Uint32(c[124:]); got != crc.Sum32() {
		return 0, fmt.Errorf("header CRC32 %#08x, computed %#08x", got, crc.Sum32())
	}
	free := int(le.Uint32(c[48:]))
	if free < firstRecord || free > recordsEnd {
		return 0, fmt.Errorf("free space offset %#x (records must end by %#x)", free, recordsEnd)
	}
	if got := le.Uint32(c[52:]); got != crc32.ChecksumIEEE(c[firstRecord:free]) {
		return 0, fmt.Errorf("records CRC32 %#08x, computed %#08x", got, crc32.ChecksumIEEE(c[firstRecord:free]))
	}
	if le.Uint32(c[40:]) != chunkHeaderSize || le.Uint32(c[120:]) != chunkFlags {
		return 0, fmt.Errorf("header size %d, flags %#x", le.Uint32(c[40:]), le.Uint32(c[120:]))
	}
	first, last := le.Uint64(c[24:]), le.Uint64(c[32:])
	if le.Uint64(c[8:]) != first || le.Uint64(c[16:]) != last {
		return 0, fmt.Errorf("record numbers %d-%d differ from ids %d-%d", le.Uint64(c[8:]), le.Uint64(c[16:]), first, last)
	}
	if want != 0 && first != want {
		return 0, fmt.Errorf("first record id %d, want %d", first, want)
	}
	id, lastOff := first, 0
	for off := firstRecord; off < free; {
		if off+recordHeader+4 > free || !bytes.Equal(c[off:off+4], recordMagic) {
			return 0, fmt.Errorf("no record at %#x", off)
		}
		size := int(le.Uint32(c[off+4:]))
		switch {
		case size < recordHeader+4 || off+size > free:
			return 0, fmt.Errorf("record at %#x: size %d", off, size)
		case int(le.Uint32(c[off+size-4:])) != size:
			return 0, fmt.Errorf("record at %#x: size %d, trailing copy %d", off, size, le.Uint32(c[off+size-4:]))
		case le.Uint64(c[off+8:]) != id:
			return 0, fmt.Errorf("record at %#x: id %d, want %d", off, le.Uint64(c[off+8:]), id)
		}
		lastOff = off
		off += size
		id++
	}
	if id-1 != last || int(le.Uint32(c[44:])) != lastOff {
		return 0, fmt.Errorf("header says last record %d at %#x; records end with %d at %#x", last, le.Uint32(c[44:]), id-1, lastOff)
	}
	for b := range stringBuckets {
		seen := 0
		for off := le.Uint32(c[chunkHeaderSize+4*b:]); off != 0; off = le.Uint32(c[off:]) {
			if seen++; seen > 4096 || int(off)+8 > free {
				return 0, fmt.Errorf("string bucket %d: bad chain at %#x", b, off)
			}
			hash, n := le.Uint16(c[off+4:]), int(le.Uint16(c[off+6:]))
			if int(off)+8+2*n > free {
				return 0, fmt.Errorf("string bucket %d: name at %#x runs past the records", b, off)
			}
			u := make([]uint16, n)
			for i := range u {
				u[i] = le.Uint16(c[int(off)+8+2*i:])
			}
			name := string(utf16.Decode(u))
			if hash != nameHash(name) || int(hash)%stringBuckets != b {
				return 0, fmt.Errorf("string bucket %d: %q has hash %#04x, computed %#04x", b, name, hash, nameHash(name))
			}
		}
	}
	return last, nil
}

// Canonical parses a reader's rendering s of a value of type t and
// renders it as Value.String does, so that the output of different
// readers (GUIDs with or without braces, in either case; hexadecimal with
// or without padding; times with any precision) can be compared.
func Canonical(t Type, s string) (string, error) {
	switch t {
	case TypeNull, TypeString, TypeSID:
		return s, nil
	case TypeUInt8, TypeUInt16, TypeUInt32, TypeUInt64:
		v, err := strconv.ParseUint(s, 0, 64)
		if err != nil {
			return "", err
		}
		return strconv.FormatUint(v, 10), nil
	case TypeHexInt64:
		v, err := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(s), "0x"), 16, 64)
		if err != nil {
			return "", err
		}
		return "0x" + strconv.FormatUint(v, 16), nil
	case TypeBool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return "", err
		}
		return strconv.FormatBool(b), nil
	case TypeGUID:
		g, err := ParseGUID(s)
		if err != nil {
			return "", err
		}
		return g.String(), nil
	case TypeFileTime:
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00"} {
			if ts, err := time.Parse(layout, s); err == nil {
				return ts.UTC().Format(WindowsTime), nil
			}
		}
		return "", fmt.Errorf("time %q in no known layout", s)
	}
	return "", fmt.Errorf("no canonical form for %v", t)
}
