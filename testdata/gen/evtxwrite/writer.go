package evtxwrite

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"time"
)

// EVTX layout constants (libevtx, "Windows XML Event Log (EVTX) format").
const (
	FileHeaderSize  = 4096  // the file header block
	ChunkSize       = 65536 // every chunk
	chunkHeaderSize = 128   // the part of a chunk header with fields
	firstRecord     = 512   // after the header and its two offset tables
	recordHeader    = 24    // magic, size, id, written time
	stringBuckets   = 64
	templateBuckets = 32
	// MaxChunks is how many chunks a file can count: the header holds a
	// 16-bit number.
	MaxChunks = 0xffff
	// recordsEnd is where a chunk's records must end: no real log fills
	// the last 8 bytes of a chunk, and libevtx drops a record that ends at
	// the chunk's very end.
	recordsEnd = ChunkSize - 8
)

// File and chunk flags as Windows sets them.
const (
	fileFlagDirty = 0x1 // the log is open, its header not yet final
	// chunkFlags is what every chunk of a Windows log carries at offset
	// 120; libevtx marks the field unknown, Windows writes 1.
	chunkFlags = 0x1
)

var (
	fileMagic   = []byte("ElfFile\x00")
	chunkMagic  = []byte("ElfChnk\x00")
	recordMagic = []byte("**\x00\x00")
	fragment    = []byte{0x0f, 0x01, 0x01, 0x00} // header token, version 1.1, flags
)

// BinXML tokens.
const (
	tokEOF          = 0x00
	tokOpenStart    = 0x01
	tokCloseStart   = 0x02
	tokCloseEmpty   = 0x03
	tokEnd          = 0x04
	tokValue        = 0x05
	tokAttribute    = 0x06
	tokTemplate     = 0x0c
	tokNormalSub    = 0x0d
	tokOptionalSub  = 0x0e
	flagMore        = 0x40 // on a start tag: attributes follow; on an attribute: another follows
	maxInstanceNest = 16
)

// Record is one event record.
type Record struct {
	// ID is the event record identifier. A file's records must be written
	// with consecutive ids, as Windows numbers them.
	ID uint64
	// Written is when the record was logged: the record header's time.
	Written time.Time
	// Event is the record's BinXML: the event's template instance.
	Event *Instance
}

// Stats sums up what a Writer wrote.
type Stats struct {
	Records int
	Chunks  int
	Bytes   int64 // file size
}

// Writer writes an EVTX file. Records go into the current chunk until one
// does not fit; the chunk is then finished (tables, CRC32s) and written,
// and a new one started. Close writes the last chunk and the final file
// header. Until then the header on disk says the log is dirty, as Windows
// leaves an open log.
type Writer struct {
	w       io.WriteSeeker
	c       *chunk
	rec     []byte
	next    uint64 // the id the next record must have; 0 before the first
	stats   Stats
	closed  bool
	written int64
}

// NewWriter starts an EVTX file at the start of w.
func NewWriter(w io.WriteSeeker) (*Writer, error) {
	wr := &Writer{w: w, c: newChunk(), rec: make([]byte, 0, ChunkSize)}
	if _, err := w.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("evtx file header: %w", err)
	}
	if err := wr.writeHeader(fileFlagDirty); err != nil {
		return nil, err
	}
	return wr, nil
}

var errChunkFull = errors.New("chunk full")

// Write adds a record.
func (w *Writer) Write(r Record) error {
	if w.closed {
		return errors.New("evtx: write after Close")
	}
	if r.ID == 0 {
		return errors.New("evtx: record id 0 (ids start at 1)")
	}
	if w.next != 0 && r.ID != w.next {
		return fmt.Errorf("evtx: record id %d out of sequence, want %d", r.ID, w.next)
	}
	err := w.place(r)
	if errors.Is(err, errChunkFull) && w.c.records > 0 {
		if err = w.flushChunk(); err != nil {
			return err
		}
		err = w.place(r)
	}
	if errors.Is(err, errChunkFull) {
		return fmt.Errorf("evtx: record %d: %d bytes do not fit in an empty chunk", r.ID, len(w.rec)+recordHeader+4)
	}
	if err != nil {
		return fmt.Errorf("evtx: record %d: %w", r.ID, err)
	}
	w.next = r.ID + 1
	w.stats.Records++
	return nil
}

// place encodes r into the current chunk, or leaves the chunk as it was.
func (w *Writer) place(r Record) error {
	c := w.c
	c.begin()
	off := c.free
	e := encoder{c: c, buf: w.rec[:0], base: off + recordHeader}
	e.buf = append(e.buf, fragment...)
	err := e.instance(r.Event, 0)
	e.u8(tokEOF)
	w.rec = e.buf
	if err != nil {
		c.rollback()
		return err
	}
	size := (recordHeader + len(e.buf) + 4 + 7) &^ 7
	if off+size > recordsEnd {
		c.rollback()
		return errChunkFull
	}
	d := c.data[off : off+size]
	copy(d, recordMagic)
	binary.LittleEndian.PutUint32(d[4:], uint32(size))
	binary.LittleEndian.PutUint64(d[8:], r.ID)
	binary.LittleEndian.PutUint64(d[16:], fileTime(r.Written))
	n := copy(d[recordHeader:], e.buf)
	clear(d[recordHeader+n : size-4])
	binary.LittleEndian.PutUint32(d[size-4:], uint32(size))
	c.commit(r.ID, off, size)
	return nil
}

func (w *Writer) flushChunk() error {
	if w.stats.Chunks >= MaxChunks {
		return fmt.Errorf("evtx: file full: %d chunks is the most a file header can count", MaxChunks)
	}
	w.c.finish()
	if _, err := w.w.Write(w.c.data[:]); err != nil {
		return fmt.Errorf("evtx: writing chunk %d: %w", w.stats.Chunks, err)
	}
	w.stats.Chunks++
	w.written += ChunkSize
	w.c.reset()
	return nil
}

// Close writes the last chunk and the final file header. It does not
// close the underlying writer.
func (w *Writer) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	if w.c.records > 0 {
		if err := w.flushChunk(); err != nil {
			return err
		}
	}
	if _, err := w.w.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("evtx file header: %w", err)
	}
	if err := w.writeHeader(0); err != nil {
		return err
	}
	if _, err := w.w.Seek(0, io.SeekEnd); err != nil {
		return fmt.Errorf("evtx: %w", err)
	}
	w.stats.Bytes = FileHeaderSize + w.written
	return nil
}

// Stats tells what has been written; Bytes is final after Close.
func (w *Writer) Stats() Stats { return w.stats }

func (w *Writer) writeHeader(flags uint32) error {
	h := make([]byte, FileHeaderSize)
	copy(h, fileMagic)
	chunks := w.stats.Chunks
	binary.LittleEndian.PutUint64(h[8:], 0) // first chunk number
	if chunks > 0 {
		binary.LittleEndian.PutUint64(h[16:], uint64(chunks-1)) // last chunk number
	}
	next := w.next
	if next == 0 {
		next = 1
	}
	binary.LittleEndian.PutUint64(h[24:], next)
	binary.LittleEndian.PutUint32(h[32:], chunkHeaderSize) // header size
	binary.LittleEndian.PutUint16(h[36:], 1)               // minor version
	binary.LittleEndian.PutUint16(h[38:], 3)               // major version
	binary.LittleEndian.PutUint16(h[40:], FileHeaderSize)  // chunk data offset
	binary.LittleEndian.PutUint16(h[42:], uint16(chunks))
	binary.LittleEndian.PutUint32(h[120:], flags)
	binary.LittleEndian.PutUint32(h[124:], crc32.ChecksumIEEE(h[:120]))
	if _, err := w.w.Write(h); err != nil {
		return fmt.Errorf("evtx: writing file header: %w", err)
	}
	return nil
}

// chunk is the chunk being filled, with its name and template tables.
// Changes made while encoding a record are provisional until commit, so a
// record that does not fit leaves no trace.
type chunk struct {
	data       [ChunkSize]byte
	free       int // where the next record goes
	records    int
	first      uint64
	last       uint64
	lastOffset int

	names     map[string]uint32     // name -> chunk offset of its definition
	strings   [stringBuckets]uint32 // bucket heads
	templates map[*Template]uint32  // template -> chunk offset of its definition
	tmpls     [templateBuckets]uint32

	newNames     []string
	newTemplates []*Template
	savedStrings [stringBuckets]uint32
	savedTmpls   [templateBuckets]uint32
}

func newChunk() *chunk {
	c := &chunk{names: map[string]uint32{}, templates: map[*Template]uint32{}}
	c.reset()
	return c
}

func (c *chunk) reset() {
	clear(c.data[:])
	c.free = firstRecord
	c.records, c.first, c.last, c.lastOffset = 0, 0, 0, 0
	clear(c.names)
	clear(c.templates)
	c.strings = [stringBuckets]uint32{}
	c.tmpls = [templateBuckets]uint32{}
}

func (c *chunk) begin() {
	c.newNames, c.newTemplates = c.newNames[:0], c.newTemplates[:0]
	c.savedStrings, c.savedTmpls = c.strings, c.tmpls
}

func (c *chunk) rollback() {
	for _, n := range c.newNames {
		delete(c.names, n)
	}
	for _, t := range c.newTemplates {
		delete(c.templates, t)
	}
	c.strings, c.tmpls = c.savedStrings, c.savedTmpls
}

func (c *chunk) commit(id uint64, off, size int) {
	if c.records == 0 {
		c.first = id
	}
	c.records++
	c.last = id
	c.lastOffset = off
	c.free = off + size
}

// finish writes the chunk header: record numbers and ids (the same, for a
// log that never wrapped), offsets, the string and template tables and
// both CRC32s.
func (c *chunk) finish() {
	d := c.data[:]
	copy(d, chunkMagic)
	binary.LittleEndian.PutUint64(d[8:], c.first)  // first event record number
	binary.LittleEndian.PutUint64(d[16:], c.last)  // last event record number
	binary.LittleEndian.PutUint64(d[24:], c.first) // first event record identifier
	binary.LittleEndian.PutUint64(d[32:], c.last)  // last event record identifier
	binary.LittleEndian.PutUint32(d[40:], chunkHeaderSize)
	binary.LittleEndian.PutUint32(d[44:], uint32(c.lastOffset))
	binary.LittleEndian.PutUint32(d[48:], uint32(c.free))
	binary.LittleEndian.PutUint32(d[52:], crc32.ChecksumIEEE(d[firstRecord:c.free]))
	binary.LittleEndian.PutUint32(d[120:], chunkFlags)
	for i, off := range c.strings {
		binary.LittleEndian.PutUint32(d[chunkHeaderSize+4*i:], off)
	}
	for i, off := range c.tmpls {
		binary.LittleEndian.PutUint32(d[chunkHeaderSize+4*stringBuckets+4*i:], off)
	}
	crc := crc32.NewIEEE()
	crc.Write(d[:120])
	crc.Write(d[chunkHeaderSize:firstRecord])
	binary.LittleEndian.PutUint32(d[124:], crc.Sum32())
}
