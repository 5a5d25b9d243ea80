package collector

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"time"
	"unicode/utf16"
)

// This file writes small EVTX files for tests: plain BinXML (no templates)
// in well-formed chunks, which the tests then damage on purpose.

// binxml writes BinXML tokens. base is the chunk offset of buf[0], since
// names are located by chunk offsets.
type binxml struct {
	buf  []byte
	base int
}

func (w *binxml) pos() int                { return w.base + len(w.buf) }
func (w *binxml) u8(v byte)               { w.buf = append(w.buf, v) }
func (w *binxml) u16(v int)               { w.buf = binary.LittleEndian.AppendUint16(w.buf, uint16(v)) }
func (w *binxml) u32(v int)               { w.buf = binary.LittleEndian.AppendUint32(w.buf, uint32(v)) }
func (w *binxml) utf16(s string) []uint16 { return utf16.Encode([]rune(s)) }

func (w *binxml) name(s string) {
	u := w.utf16(s)
	w.u32(0) // offset of the previous string in the hash bucket
	w.u16(0) // hash, unchecked
	w.u16(len(u))
	for _, c := range u {
		w.u16(int(c))
	}
	w.u16(0)
}

func (w *binxml) text(s string) {
	u := w.utf16(s)
	w.u8(0x05)
	w.u8(0x01) // string
	w.u16(len(u))
	for _, c := range u {
		w.u16(int(c))
	}
}

// open writes a start tag; the caller follows with closeStart or closeEmpty.
func (w *binxml) open(name string, attrs ...[2]string) {
	if len(attrs) == 0 {
		w.u8(0x01)
	} else {
		w.u8(0x41)
	}
	w.u32(0) // element size, unchecked
	w.u32(w.pos() + 4)
	w.name(name)
	if len(attrs) > 0 {
		w.u32(0) // attribute list size, unchecked
		for i, a := range attrs {
			if i == len(attrs)-1 {
				w.u8(0x06)
			} else {
				w.u8(0x46)
			}
			w.u32(w.pos() + 4)
			w.name(a[0])
			w.text(a[1])
		}
	}
}

func (w *binxml) closeStart() { w.u8(0x02) }
func (w *binxml) closeEmpty() { w.u8(0x03) }
func (w *binxml) end()        { w.u8(0x04) }

func (w *binxml) leaf(name, value string) {
	w.open(name)
	w.closeStart()
	if value != "" {
		w.text(value)
	}
	w.end()
}

// testRecord is what a synthetic record holds.
type testRecord struct {
	id   uint64
	data [][2]string
}

// sysmonEvent writes a whole event as plain BinXML.
func (w *binxml) sysmonEvent(r testRecord) {
	w.buf = append(w.buf, 0x0f, 0x01, 0x01, 0x00)
	w.open("Event", [2]string{"xmlns", eventNamespace})
	w.closeStart()
	w.open("System")
	w.closeStart()
	w.open("Provider", [2]string{"Name", "Microsoft-Windows-Sysmon"}, [2]string{"Guid", "{5770385f-c22a-43e0-bf4c-06f5698ffbd9}"})
	w.closeEmpty()
	w.leaf("EventID", "1")
	w.leaf("Version", "5")
	w.leaf("Level", "4")
	w.leaf("Task", "1")
	w.leaf("Opcode", "0")
	w.leaf("Keywords", "0x8000000000000000")
	w.open("TimeCreated", [2]string{"SystemTime", recordTime(r.id).Format(windowsTime)})
	w.closeEmpty()
	w.leaf("EventRecordID", fmt.Sprint(r.id))
	w.open("Correlation")
	w.closeEmpty()
	w.open("Execution", [2]string{"ProcessID", "3188"}, [2]string{"ThreadID", "4412"})
	w.closeEmpty()
	w.leaf("Channel", "Microsoft-Windows-Sysmon/Operational")
	w.leaf("Computer", "WKS-FIN-07.corp.example")
	w.open("Security", [2]string{"UserID", "S-1-5-18"})
	w.closeEmpty()
	w.end()
	w.open("EventData")
	w.closeStart()
	for _, d := range r.data {
		w.open("Data", [2]string{"Name", d[0]})
		w.closeStart()
		if d[1] != "" {
			w.text(d[1])
		}
		w.end()
	}
	w.end()
	w.end()
	w.u8(0x00)
}

func recordTime(id uint64) time.Time {
	return time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC).Add(time.Duration(id) * time.Second)
}

// record frames BinXML written at chunk offset off as an EVTX record.
func record(off int, id uint64, body func(w *binxml)) []byte {
	w := &binxml{base: off + recordHeaderSize}
	body(w)
	for (recordHeaderSize+len(w.buf)+4)%8 != 0 {
		w.u8(0)
	}
	size := recordHeaderSize + len(w.buf) + 4
	out := append([]byte(nil), recordMagic...)
	out = binary.LittleEndian.AppendUint32(out, uint32(size))
	out = binary.LittleEndian.AppendUint64(out, id)
	out = binary.LittleEndian.AppendUint64(out, 0) // written time, unused
	out = append(out, w.buf...)
	return binary.LittleEndian.AppendUint32(out, uint32(size))
}

// buildChunk makes a 64 KiB chunk of records.
func buildChunk(records []testRecord) []byte {
	c := make([]byte, chunkSize)
	off, lastOff := firstRecord, firstRecord
	for _, r := range records {
		rec := record(off, r.id, func(w *binxml) { w.sysmonEvent(r) })
		copy(c[off:], rec)
		lastOff = off
		off += len(rec)
	}
	copy(c, chunkMagic)
	first, last := records[0].id, records[len(records)-1].id
	binary.LittleEndian.PutUint64(c[8:], first)
	binary.LittleEndian.PutUint64(c[16:], last)
	binary.LittleEndian.PutUint64(c[24:], first)
	binary.LittleEndian.PutUint64(c[32:], last)
	binary.LittleEndian.PutUint32(c[40:], chunkHeaderSize)
	binary.LittleEndian.PutUint32(c[48:], uint32(off))
	binary.LittleEndian.PutUint32(c[44:], uint32(lastOff))
	sealChunk(c)
	return c
}

// sealChunk writes a chunk's checksums, as Windows does when it flushes:
// the records' and then the header's, which covers the former.
func sealChunk(c []byte) {
	if free := binary.LittleEndian.Uint32(c[48:]); free >= firstRecord && free <= chunkSize {
		binary.LittleEndian.PutUint32(c[recordsCRCOffset:], crc32.ChecksumIEEE(c[firstRecord:free]))
	}
	binary.LittleEndian.PutUint32(c[checksumOffset:], crc32.Update(crc32.ChecksumIEEE(c[:flagsOffset]), crc32.IEEETable, c[chunkHeaderSize:firstRecord]))
}

// reseal writes every checksum of a file again after a test changed it,
// so that only the change itself is damage.
func reseal(f []byte) []byte {
	if len(f) >= fileHeaderFields {
		binary.LittleEndian.PutUint32(f[checksumOffset:], crc32.ChecksumIEEE(f[:flagsOffset]))
	}
	for off := fileHeaderSize; off+chunkSize <= len(f); off += chunkSize {
		if c := f[off : off+chunkSize]; string(c[:len(chunkMagic)]) == string(chunkMagic) {
			sealChunk(c)
		}
	}
	return f
}

// buildEVTX makes a file of chunks, placed in the order given.
func buildEVTX(chunks ...[]byte) []byte {
	f := make([]byte, fileHeaderSize)
	copy(f, fileMagic)
	binary.LittleEndian.PutUint32(f[32:], 128)
	binary.LittleEndian.PutUint16(f[36:], 1)
	binary.LittleEndian.PutUint16(f[38:], 3)
	binary.LittleEndian.PutUint16(f[40:], fileHeaderSize)
	binary.LittleEndian.PutUint16(f[42:], uint16(len(chunks)))
	binary.LittleEndian.PutUint32(f[checksumOffset:], crc32.ChecksumIEEE(f[:flagsOffset]))
	for _, c := range chunks {
		f = append(f, c...)
	}
	return f
}

// testRecords makes records first..last with a little EventData each.
func testRecords(first, last uint64) []testRecord {
	var rs []testRecord
	for id := first; id <= last; id++ {
		rs = append(rs, testRecord{id: id, data: [][2]string{
			{"RuleName", "-"},
			{"Image", fmt.Sprintf(`C:\Windows\System32\proc%d.exe`, id)},
			{"CommandLine", fmt.Sprintf(`proc%d.exe /x "a & b"`, id)},
			{"Empty", ""},
		}})
	}
	return rs
}
